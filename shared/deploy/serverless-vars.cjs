// Resolved by serverless.yml at package/deploy time: `${file(./shared/deploy/serverless-vars.cjs):resources}` and `:vpc`.
// Loads and validates the db-autopilot configuration (an invalid config fails `serverless package`
// with the path and line of every problem), generates one IAM role per function and the state table.
const path = require('node:path');
const { require: tsRequire } = require('tsx/cjs/api');

/** A comma-separated `custom.dbap` variable as a list (blank entries dropped). */
async function listVariable(resolveVariable, name) {
  return String(await resolveVariable(`self:custom.dbap.${name}`))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function load(resolveVariable) {
  const configFile = await resolveVariable('self:custom.dbap.configFile');
  const file = path.resolve(__dirname, '..', '..', configFile);
  const { loadConfigFile } = tsRequire('../config/load.ts', __filename);
  const { buildRoles, KMS_KEY_ARN } = tsRequire('./iam.ts', __filename);
  const { stateTableResource } = tsRequire('./state-table.ts', __filename);
  const { buildFailureAlarms } = tsRequire('./failure-alarms.ts', __filename);
  const { buildFleetResources } = tsRequire('./fleet-resources.ts', __filename);
  const { parseTtlDays } = tsRequire('../state/table-definition.ts', __filename);
  // The configuration's region must be the Region being packaged / deployed to (osls --region).
  const deployRegion = await resolveVariable('self:provider.region');
  let config;
  try {
    config = loadConfigFile(file, { deployRegion });
  } catch (error) {
    // Serverless prints this message and stops: nothing is packaged from an invalid config.
    // osls prints `error.stack`: make it the message alone (path:line of every problem, no frames).
    const clean = new Error(error.message);
    clean.stack = error.message;
    throw clean;
  }
  // The retention parameters become the functions' AUDIT_TTL_DAYS / NOOP_TTL_DAYS: a bad value
  // stops the package here instead of every function's cold start.
  for (const name of ['auditTtlDays', 'noopTtlDays']) {
    const raw = await resolveVariable(`self:custom.dbap.${name}`);
    try {
      parseTtlDays(`parameter ${name}`, raw, 1);
    } catch (error) {
      const clean = new Error(`serverless.yml: ${error.message} (--param=${name}=<days>)`);
      clean.stack = clean.message;
      throw clean;
    }
  }
  const options = {
    service: await resolveVariable('self:service'),
    stage: await resolveVariable('sls:stage'),
    alarmPrefix: await resolveVariable('self:custom.dbap.alarmPrefix'),
    dashboardName: await resolveVariable('self:custom.dbap.dashboardName'),
    pauseParameter: await resolveVariable('self:custom.dbap.pauseParameter'),
    slackWebhookParameter: await resolveVariable('self:custom.dbap.slackWebhookParameter'),
    databaseSecretPrefix: await resolveVariable('self:custom.dbap.databaseSecretPrefix'),
    routingHostedZoneIds: await listVariable(resolveVariable, 'routingHostedZoneIds'),
    kmsKeyArns: await listVariable(resolveVariable, 'kmsKeyArns'),
  };
  const badKeys = options.kmsKeyArns.filter((arn) => !KMS_KEY_ARN.test(arn));
  if (badKeys.length > 0) {
    const clean = new Error(
      `serverless.yml: parameter kmsKeyArns must list KMS key ARNs (arn:aws:kms:<region>:<account>:key/<key id>; not aliases), got "${badKeys.join('", "')}"`,
    );
    clean.stack = clean.message;
    throw clean;
  }
  return {
    roles: buildRoles(config, options),
    stateTable: stateTableResource(options.stage),
    alarms: buildFailureAlarms({ service: options.service, stage: options.stage }),
    fleet: buildFleetResources(config, options, await resolveVariable('self:custom.dbap.fleetSchedule')),
  };
}

module.exports = async ({ resolveVariable }) => {
  const { roles, stateTable, alarms, fleet } = await load(resolveVariable);
  return {
    resources: { Resources: { ...roles, StateTable: stateTable, ...alarms, ...fleet } },
    vpc: {
      subnetIds: await listVariable(resolveVariable, 'vpcSubnetIds'),
      securityGroupIds: await listVariable(resolveVariable, 'vpcSecurityGroupId'),
    },
  };
};
