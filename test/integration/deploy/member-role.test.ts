import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigFile, parseConfig } from '../../../shared/config/load.ts';
import type { Config } from '../../../shared/config/schema.ts';
import {
  buildRoles,
  type DeployOptions,
  KMS_KEY_ARN,
  kmsStatements,
  ownStatements,
  type Statement,
  statementsFor,
} from '../../../shared/deploy/iam.ts';
import {
  KMS_KEY_ARNS_PATTERN,
  MEMBER_FUNCTIONS,
  MEMBER_TEMPLATE_PATH,
  memberRoleTemplate,
  memberRoleYaml,
  memberStatements,
} from '../../../shared/deploy/member-role.ts';
import { checkPolicies, checkTrust, type Json } from './iam-check.ts';

/**
 * The fleet member role template (issue 27): generated from the same IAM generator as the
 * central roles (never stale), and passing the same least-privilege check as the packaged template.
 */

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const example = loadConfigFile(join(ROOT, 'db-autopilot.yml'));
const committed = readFileSync(join(ROOT, MEMBER_TEMPLATE_PATH), 'utf8');
const template = parse(committed) as {
  Resources: Record<string, { Type: string; Properties: Record<string, Json> }>;
  Parameters: Record<string, unknown>;
};

const central: DeployOptions = {
  service: 'db-autopilot',
  stage: 'prod',
  alarmPrefix: 'dbap-',
  dashboardName: 'db-autopilot',
  pauseParameter: '/db-autopilot/paused',
  slackWebhookParameter: '/db-autopilot/slack-webhook-url',
  databaseSecretPrefix: 'db-autopilot/',
  routingHostedZoneIds: [],
};

describe('the member account role template (shared/deploy/member-account-role.yml)', () => {
  it('is what the IAM generator writes today (npm run member:template), so it cannot drift', () => {
    expect(committed).toBe(memberRoleYaml(example));
  });

  it('is one role named db-autopilot-member', () => {
    const roles = Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Role');
    expect(roles).toHaveLength(1);
    expect(roles[0]?.Properties.RoleName).toBe('db-autopilot-member');
  });

  it('passes the package test IAM check: no wildcard action, every mutation tag- or prefix-scoped', () => {
    expect(checkPolicies(template.Resources, { anyRegion: true })).toEqual([]);
  });

  it('trusts only the central account, narrowed to its fleet worker role, with the external id', () => {
    expect(checkTrust(template.Resources, { CentralAccountId: '210987654321' })).toEqual([]);
    const trust = template.Resources.MemberRole?.Properties.AssumeRolePolicyDocument as {
      Statement: Array<Record<string, Json>>;
    };
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]).toMatchObject({
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } },
        ArnLike: {
          'aws:PrincipalArn': {
            'Fn::Sub': 'arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralRoleName}',
          },
        },
      },
    });
    expect(template.Parameters).toHaveProperty('ExternalId');
  });

  it("holds exactly the fleet tuners' central permissions (same actions, conditions; any Region)", () => {
    const centralActions = new Set(
      MEMBER_FUNCTIONS.flatMap((fn) => ownStatements(fn, example, central).flatMap((s) => s.Action)),
    );
    const memberActions = new Set(memberStatements(example).flatMap((s) => s.Action));
    for (const a of ['tag:GetResources', 'cloudwatch:GetMetricData']) centralActions.add(a);
    expect([...memberActions].sort()).toEqual([...centralActions].sort());
    expect(JSON.stringify(memberStatements(example))).not.toContain('${AWS::Region}');
  });

  it('follows the configuration: other tag keys give other conditions', () => {
    const other = parseConfig(
      // A tuner in apply mode (observe mode grants no writes, so no tag conditions either).
      "version: 1\ndefaults:\n  mode: apply\ntags:\n  managed: { key: 'team:autotune', value: 'yes' }\ntuners:\n  iops: {}\n",
      'other.yml',
    );
    const text = memberRoleYaml(other);
    expect(text).toContain('aws:ResourceTag/team:autotune');
    expect(text).not.toContain('aws:ResourceTag/db-autopilot:managed');
  });
});

describe('the central fleet roles', () => {
  const fleetConfig = (fleet: string) =>
    parseConfig(`version: 1\nfleet:\n  externalId: ext-1\n  regions: [us-east-1]\n${fleet}`, 'fleet.yml');
  const resourcesFor = (config = example): Record<string, unknown> => ({
    ...buildRoles(config, central),
    StateTable: { Type: 'AWS::DynamoDB::Table' },
    ReportTopic: { Type: 'AWS::SNS::Topic' },
  });

  it('may assume only the member role: exact ARNs of the listed accounts', () => {
    const resources = resourcesFor(fleetConfig("  accounts: ['111111111111', '222222222222']\n"));
    expect(checkPolicies(resources)).toEqual([]);
    const worker = resources.FleetWorkerRole as {
      Properties: {
        RoleName: string;
        Policies: Array<{ PolicyDocument: { Statement: Array<{ Sid: string; Resource: unknown }> } }>;
      };
    };
    expect(worker.Properties.RoleName).toBe('db-autopilot-prod-fleet-worker');
    const assume = worker.Properties.Policies[0]?.PolicyDocument.Statement.find(
      (s) => s.Sid === 'AssumeMemberRole',
    );
    expect(assume?.Resource).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::111111111111:role/db-autopilot-member' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::222222222222:role/db-autopilot-member' },
    ]);
  });

  it('with organizational units, the member role in any account, and the planner may list the units', () => {
    const resources = resourcesFor(fleetConfig('  organizationalUnits: [ou-ab12-cd34ef56]\n'));
    expect(checkPolicies(resources)).toEqual([]);
    expect(JSON.stringify(resources.FleetPlannerRole)).toContain('organizations:ListAccountsForParent');
  });

  it('the check flags an AssumeRole into any other role', () => {
    const bad = {
      R: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Policies: [
            {
              PolicyDocument: {
                Statement: [
                  {
                    Sid: 'X',
                    Effect: 'Allow',
                    Action: ['sts:AssumeRole'],
                    Resource: 'arn:aws:iam::*:role/*',
                  },
                  {
                    Sid: 'Y',
                    Effect: 'Allow',
                    Action: ['sts:AssumeRole'],
                    Resource: 'arn:aws:iam::111111111111:role/OrganizationAccountAccessRole',
                  },
                ],
              },
            },
          ],
        },
      },
    };
    expect(checkPolicies(bad).map((v) => v.sid)).toEqual(['X', 'Y']);
  });

  it('the check flags a trust policy open to another account without an external id', () => {
    const open = {
      R: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: 'arn:aws:iam::111111111111:root' },
                Action: 'sts:AssumeRole',
              },
            ],
          },
        },
      },
    };
    expect(checkTrust(open)[0]?.problem).toContain('sts:ExternalId');
    const anyone = {
      R: {
        ...open.R,
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: '*' },
                Action: 'sts:AssumeRole',
                Condition: { StringEquals: { 'sts:ExternalId': 'x' } },
              },
            ],
          },
        },
      },
    };
    expect(checkTrust(anyone)[0]?.problem).toContain('not one account');
  });

  it('the Region wildcard is allowed only with anyRegion, and never a wildcard name', () => {
    const policy = (resource: string) => ({
      R: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Policies: [
            {
              PolicyDocument: {
                Statement: [
                  { Sid: 'A', Effect: 'Allow', Action: ['cloudwatch:PutMetricAlarm'], Resource: resource },
                ],
              },
            },
          ],
        },
      },
    });
    expect(checkPolicies(policy('arn:aws:cloudwatch:*:123456789012:alarm:dbap-*'))).toHaveLength(1);
    expect(
      checkPolicies(policy('arn:aws:cloudwatch:*:123456789012:alarm:dbap-*'), { anyRegion: true }),
    ).toEqual([]);
    expect(
      checkPolicies(policy('arn:aws:cloudwatch:*:123456789012:alarm:*'), { anyRegion: true }),
    ).toHaveLength(1);
    expect(checkPolicies(policy('arn:aws:cloudwatch:*:*:alarm:dbap-*'), { anyRegion: true })).toHaveLength(1);
  });
});

describe("the member role's customer-managed KMS keys (KmsKeyArns, the deployment's kmsKeyArns)", () => {
  const applying = loadConfigFile(join(ROOT, 'db-autopilot.yml'));
  applying.defaults.mode = 'apply';
  const key = (n: number) =>
    `arn:aws:kms:eu-west-1:11111111111${n}:key/1234abcd-12ab-34cd-56ef-1234567890a${n}`;
  const pattern = new RegExp(KMS_KEY_ARNS_PATTERN);
  type Template = { Resources: Record<string, Json>; Conditions: Record<string, Json> };

  /** The template as CloudFormation would create it with `KmsKeyArns` set to `value`. */
  function deployedWith(config: Config, value: string): Template {
    const template = memberRoleTemplate(config) as Template;
    const hasKeys = value !== '';
    expect(template.Conditions.HasKmsKeys).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'KmsKeyArns' }, ''] }],
    });
    const resolve = (node: Json): Json | undefined => {
      if (Array.isArray(node)) return node.map(resolve).filter((n): n is Json => n !== undefined);
      if (node === null || typeof node !== 'object') return node;
      const o = node as Record<string, Json>;
      if ('Fn::If' in o) {
        const [condition, yes, no] = o['Fn::If'] as [string, Json, Json];
        expect(condition).toBe('HasKmsKeys');
        return resolve(hasKeys ? yes : no);
      }
      if (o.Ref === 'AWS::NoValue') return undefined;
      if ('Fn::Split' in o && JSON.stringify(o) === '{"Fn::Split":[",",{"Ref":"KmsKeyArns"}]}') {
        return value.split(',');
      }
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v) as Json]));
    };
    return { ...template, Resources: resolve(template.Resources as Json) as Record<string, Json> };
  }
  const statementsOf = (t: Template) =>
    (
      t.Resources.MemberRole as unknown as {
        Properties: { Policies: Array<{ PolicyDocument: { Statement: Statement[] } }> };
      }
    ).Properties.Policies[0]?.PolicyDocument.Statement ?? [];
  const kmsOf = (statements: Statement[]) =>
    statements.filter((s) => s.Action.some((a) => a.startsWith('kms:')));

  it('is a stack parameter, empty by default, checked by CloudFormation against the key ARN rule of kmsKeyArns', () => {
    expect(template.Parameters.KmsKeyArns).toMatchObject({
      Type: 'String',
      Default: '',
      AllowedPattern: KMS_KEY_ARNS_PATTERN,
    });
    expect(pattern.test('')).toBe(true);
    expect(pattern.test(`${key(1)},${key(2)}`)).toBe(true);
    for (const bad of [
      'arn:aws:kms:eu-west-1:111111111111:alias/db',
      `${key(1)},`,
      `${key(1)},,${key(2)}`,
      `${key(1)}, ${key(2)}`,
      '1234abcd-12ab-34cd-56ef-1234567890ab',
      '*',
    ])
      expect(pattern.test(bad), bad).toBe(false);
  });

  it('accepts a list exactly when every entry is a key ARN the deployment parameter accepts (property)', () => {
    const entry = fc.oneof(
      fc.integer({ min: 0, max: 9 }).map(key),
      fc.constantFrom('', ' ', 'alias/db', 'arn:aws:kms:eu-west-1:111111111111:alias/db', '*', 'key'),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 4 }), (entries) => {
        fc.pre(entries.every((e) => !e.includes(',')));
        const value = entries.join(',');
        // Stricter than the deployment's parameter, which trims entries and drops blank ones.
        const everyEntryAKey = entries.length > 0 && entries.every((e) => KMS_KEY_ARN.test(e));
        // Empty ([] or [""]) means no keys.
        expect(pattern.test(value)).toBe(value === '' || everyEntryAKey);
      }),
      { numRuns: 2000 },
    );
  });

  it('grants with keys what the main roles grant for the same calls (grants through RDS for new encrypted replicas), and nothing without', () => {
    const keys = [key(1), key(2)];
    const statements = statementsOf(deployedWith(applying, keys.join(',')));
    expect(kmsOf(statements)).toEqual(kmsStatements(memberStatements(applying), keys));
    const grant = kmsOf(statements).find((s) => s.Action.includes('kms:CreateGrant'));
    expect(grant?.Resource).toEqual(keys);
    expect(grant?.Condition).toEqual({
      StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' },
      Bool: { 'kms:GrantIsForAWSResource': 'true' },
    });
    const scaler = statementsFor('replica-scaler', applying, { ...central, kmsKeyArns: keys });
    expect(kmsOf(statements)).toEqual(kmsOf(scaler));
    expect(kmsOf(statementsOf(deployedWith(applying, '')))).toEqual([]);
    expect(statementsOf(deployedWith(applying, ''))).toEqual(memberStatements(applying));
  });

  it('passes the IAM check as written (conditional statements checked), which flags a wildcard inside Fn::If', () => {
    const written = memberRoleTemplate(applying) as { Resources: Record<string, Json> };
    expect(JSON.stringify(written)).toContain('Fn::If');
    expect(checkPolicies(written.Resources, { anyRegion: true })).toEqual([]);
    const role = structuredClone(written.Resources.MemberRole) as unknown as {
      Properties: { Policies: Array<{ PolicyDocument: { Statement: Json[] } }> };
    };
    role.Properties.Policies[0]?.PolicyDocument.Statement.push({
      'Fn::If': [
        'HasKmsKeys',
        { Sid: 'Wild', Effect: 'Allow', Action: ['rds:*'], Resource: '*' },
        { Ref: 'AWS::NoValue' },
      ],
    });
    expect(
      checkPolicies({ MemberRole: role as unknown as Json }, { anyRegion: true }).map((v) => v.sid),
    ).toContain('Wild');
  });

  it('still passes the least-privilege check with keys listed', () => {
    const t = deployedWith(applying, `${key(1)},${key(2)}`);
    expect(checkPolicies(t.Resources, { anyRegion: true })).toEqual([]);
  });
});
