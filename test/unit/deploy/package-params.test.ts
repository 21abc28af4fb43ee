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
  'self:custom.dbap.kmsKeyArns': '',
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

describe('kmsKeyArns at package time (serverless-vars.cjs)', () => {
  const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const kmsActions = (resources: Record<string, unknown>) =>
    JSON.stringify(resources).match(/"kms:[A-Za-z]+"/g) ?? [];

  it('grants no KMS action by default, and the listed keys only when given', async () => {
    const none = await withParams({});
    expect(kmsActions(none.resources.Resources)).toEqual([]);
    const some = await withParams({ 'self:custom.dbap.kmsKeyArns': ` ${key} ,` });
    expect(kmsActions(some.resources.Resources)).toContain('"kms:Decrypt"');
    expect(JSON.stringify(some.resources.Resources)).toContain(key);
  });

  it('refuses an alias or a key id, naming the parameter and the bad entries', async () => {
    await expect(
      withParams({ 'self:custom.dbap.kmsKeyArns': `${key},alias/db-keys,1234abcd` }),
    ).rejects.toThrow(/parameter kmsKeyArns must list KMS key ARNs .*got "alias\/db-keys", "1234abcd"/);
  });
});
