import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigFile, parseConfig } from '../../../shared/config/load.ts';
import { buildRoles, type DeployOptions, ownStatements } from '../../../shared/deploy/iam.ts';
import {
  MEMBER_FUNCTIONS,
  MEMBER_TEMPLATE_PATH,
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
      "version: 1\ntags:\n  managed: { key: 'team:autotune', value: 'yes' }\n",
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
