// Resolved by serverless.yml at package/deploy time: `${file(./shared/deploy/serverless-vars.cjs):roles}`.
// Loads and validates the db-autopilot configuration (an invalid config fails `serverless package`
// with the path and line of every problem) and generates one IAM role per function from it.
const path = require('node:path');
const { require: tsRequire } = require('tsx/cjs/api');

function load(resolveVariable) {
  return (async () => {
    const configFile = await resolveVariable('self:custom.dbap.configFile');
    const file = path.resolve(__dirname, '..', '..', configFile);
    const { loadConfigFile } = tsRequire('../config/load.ts', __filename);
    const { buildRoles } = tsRequire('./iam.ts', __filename);
    const { stateTableResource } = tsRequire('./state-table.ts', __filename);
    let config;
    try {
      config = loadConfigFile(file);
    } catch (error) {
      // Serverless prints this message and stops: nothing is packaged from an invalid config.
      // osls prints `error.stack`: make it the message alone (path:line of every problem, no frames).
      const clean = new Error(error.message);
      clean.stack = error.message;
      throw clean;
    }
    const options = {
      service: await resolveVariable('self:service'),
      stage: await resolveVariable('sls:stage'),
      alarmPrefix: await resolveVariable('self:custom.dbap.alarmPrefix'),
      dashboardName: await resolveVariable('self:custom.dbap.dashboardName'),
      pauseParameter: await resolveVariable('self:custom.dbap.pauseParameter'),
      slackWebhookParameter: await resolveVariable('self:custom.dbap.slackWebhookParameter'),
      databaseSecretPrefix: await resolveVariable('self:custom.dbap.databaseSecretPrefix'),
      routingHostedZoneIds: String(await resolveVariable('self:custom.dbap.routingHostedZoneIds'))
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    };
    const stage = await resolveVariable('sls:stage');
    return { roles: buildRoles(config, options), stateTable: stateTableResource(stage), config };
  })();
}

module.exports = async ({ resolveVariable }) => {
  const { roles, stateTable } = await load(resolveVariable);
  const list = async (name) =>
    String(await resolveVariable(`self:custom.dbap.${name}`))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return {
    resources: { Resources: { ...roles, StateTable: stateTable } },
    vpc: { subnetIds: await list('vpcSubnetIds'), securityGroupIds: await list('vpcSecurityGroupId') },
  };
};
