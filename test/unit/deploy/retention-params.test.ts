import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// serverless.yml resolves `${file(./shared/deploy/serverless-vars.cjs):resources}` at package
// time with osls's resolveVariable; here the same module with the default parameters of
// serverless.yml and one retention parameter changed.
const require = createRequire(import.meta.url);
const resolveResources = require('../../../shared/deploy/serverless-vars.cjs') as (ctx: {
  resolveVariable: (name: string) => Promise<unknown>;
}) => Promise<{ resources: { Resources: Record<string, unknown> } }>;

const defaults: Record<string, unknown> = {
  'self:custom.dbap.configFile': 'db-autopilot.yml',
  'self:provider.region': 'us-east-1',
  'self:service': 'db-autopilot',
  'sls:stage': 'dev',
  'self:custom.dbap.alarmPrefix': 'dbap-',
  'self:custom.dbap.dashboardName': 'db-autopilot',
  'self:custom.dbap.pauseParameter': '/db-autopilot/paused',
  'self:custom.dbap.slackWebhookParameter': '/db-autopilot/slack-webhook-url',
  'self:custom.dbap.databaseSecretPrefix': 'db-autopilot/',
  'self:custom.dbap.routingHostedZoneIds': '',
  'self:custom.dbap.fleetSchedule': 'rate(15 minutes)',
  'self:custom.dbap.vpcSubnetIds': 'subnet-00000000000000000',
  'self:custom.dbap.vpcSecurityGroupId': 'sg-00000000000000000',
  'self:custom.dbap.auditTtlDays': '400',
  'self:custom.dbap.noopTtlDays': '30',
};

function withParams(overrides: Record<string, unknown>) {
  const values = { ...defaults, ...overrides };
  return resolveResources({
    resolveVariable: async (name) => {
      if (!(name in values)) throw new Error(`test: unexpected variable ${name}`);
      return values[name];
    },
  });
}

describe('retention parameters at package time (serverless-vars.cjs)', () => {
  it('packages with the default retention and with any whole number of days', async () => {
    await expect(withParams({})).resolves.toHaveProperty('resources.Resources.StateTable');
    await expect(withParams({ 'self:custom.dbap.noopTtlDays': '7' })).resolves.toBeDefined();
  });

  it.each([
    ['noopTtlDays', '0'],
    ['noopTtlDays', '1.5'],
    ['auditTtlDays', 'forever'],
    ['auditTtlDays', '-30'],
  ])('refuses %s=%s, naming the parameter and the value', async (name, value) => {
    await expect(withParams({ [`self:custom.dbap.${name}`]: value })).rejects.toThrow(
      new RegExp(`parameter ${name} must be a whole number of days >= 1, got "${value}".*--param=${name}=`),
    );
  });
});
