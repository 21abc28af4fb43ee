import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPolicies,
  isMutating,
  literalNamePrefix,
  MUTATING_VERBS,
  type PolicyStatement,
  resolveArn,
  tagConditionKeys,
} from './iam-check.ts';

// The checker the package test runs on the generated template must be able to fail: these
// hand-made policies break each rule once.

const role = (statements: PolicyStatement[]) => ({
  Type: 'AWS::IAM::Role',
  Properties: {
    Policies: [{ PolicyName: 'p', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
  },
});

const templateWith = (statements: PolicyStatement[]) => ({
  BadRole: role(statements),
  StateTable: { Type: 'AWS::DynamoDB::Table', Properties: {} },
});

const arn = (s: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:${s}` });

describe('IAM policy checker', () => {
  it('flags a whole-account or whole-service action', () => {
    const v = checkPolicies(
      templateWith([
        { Sid: 'All', Effect: 'Allow', Action: '*', Resource: '*' },
        {
          Sid: 'AllRds',
          Effect: 'Allow',
          Action: ['rds:*'],
          Resource: arn(`rds:\${AWS::Region}:\${AWS::AccountId}:db:dbap-*`),
        },
      ]),
    );
    expect(v.map((x) => `${x.sid} ${x.action}`)).toEqual(expect.arrayContaining(['All *', 'AllRds rds:*']));
    expect(v.filter((x) => x.problem.includes('whole-service'))).toHaveLength(2);
  });

  it('flags a mutating RDS action on db:* without a tag condition', () => {
    const v = checkPolicies(
      templateWith([
        {
          Sid: 'ModifyAll',
          Effect: 'Allow',
          Action: ['rds:ModifyDBInstance'],
          Resource: arn(`rds:\${AWS::Region}:\${AWS::AccountId}:db:*`),
        },
      ]),
    );
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ role: 'BadRole', sid: 'ModifyAll', action: 'rds:ModifyDBInstance' });
    expect(v[0]?.problem).toContain('arn:aws:rds:us-east-1:123456789012:db:*');
  });

  it('flags mutating DynamoDB, Application Auto Scaling, CloudWatch and SSM actions on unscoped resources', () => {
    const v = checkPolicies(
      templateWith([
        {
          Sid: 'T',
          Effect: 'Allow',
          Action: 'dynamodb:UpdateTable',
          Resource: arn(`dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/*`),
        },
        {
          Sid: 'A',
          Effect: 'Allow',
          Action: 'application-autoscaling:RegisterScalableTarget',
          Resource: '*',
        },
        {
          Sid: 'C',
          Effect: 'Allow',
          Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:SetAlarmState'],
          Resource: arn(`cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:*`),
        },
        { Sid: 'D', Effect: 'Allow', Action: 'cloudwatch:PutDashboard', Resource: '*' },
        {
          Sid: 'S',
          Effect: 'Allow',
          Action: ['ssm:PutParameter', 'ssm:LabelParameterVersion'],
          Resource: 'arn:aws:ssm:*:*:parameter/db-autopilot/paused',
        },
      ]),
    );
    expect(v.map((x) => x.action).sort()).toEqual(
      [
        'application-autoscaling:RegisterScalableTarget',
        'cloudwatch:PutDashboard',
        'cloudwatch:PutMetricAlarm',
        'cloudwatch:SetAlarmState',
        'dynamodb:UpdateTable',
        'ssm:LabelParameterVersion',
        'ssm:PutParameter',
      ].sort(),
    );
  });

  it('flags a wildcard action that could match a mutating verb', () => {
    const v = checkPolicies(
      templateWith([{ Sid: 'W', Effect: 'Allow', Action: 'rds:Modify*', Resource: '*' }]),
    );
    expect(v.map((x) => x.action)).toEqual(['rds:Modify*']);
  });

  it('flags NotAction and NotResource, and a resource it cannot resolve', () => {
    const v = checkPolicies(
      templateWith([
        { Sid: 'N', Effect: 'Allow', NotAction: 'iam:*', Resource: '*' },
        {
          Sid: 'R',
          Effect: 'Allow',
          Action: 'rds:DeleteDBInstance',
          NotResource: 'arn:aws:rds:us-east-1:1:db:prod',
        },
        {
          Sid: 'U',
          Effect: 'Allow',
          Action: 'rds:DeleteDBInstance',
          Resource: { Ref: 'SomeParameterNotInTemplate' },
        },
      ]),
    );
    expect(v.map((x) => x.sid)).toEqual(['N', 'R', 'R', 'U']);
  });

  it('does not accept a negative or wildcard tag condition as scoping', () => {
    const v = checkPolicies(
      templateWith([
        {
          Sid: 'NotEquals',
          Effect: 'Allow',
          Action: 'rds:ModifyDBInstance',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:ResourceTag/db-autopilot': 'off' } },
        },
        {
          Sid: 'AnyValue',
          Effect: 'Allow',
          Action: 'rds:ModifyDBInstance',
          Resource: '*',
          Condition: { StringLike: { 'aws:ResourceTag/db-autopilot': '*' } },
        },
        {
          Sid: 'OtherKey',
          Effect: 'Allow',
          Action: 'rds:ModifyDBInstance',
          Resource: '*',
          Condition: { StringEquals: { 'aws:PrincipalTag/team': 'dba' } },
        },
      ]),
    );
    expect(v.map((x) => x.sid)).toEqual(['NotEquals', 'AnyValue', 'OtherKey']);
  });

  it('accepts tag conditions, literal name prefixes, exact ARNs, template resources and read-only actions', () => {
    const v = checkPolicies(
      templateWith([
        {
          Sid: 'Tagged',
          Effect: 'Allow',
          Action: ['rds:ModifyDBInstance'],
          Resource: arn(`rds:\${AWS::Region}:\${AWS::AccountId}:db:*`),
          Condition: { StringEquals: { 'aws:ResourceTag/db-autopilot': 'managed' } },
        },
        {
          Sid: 'Requested',
          Effect: 'Allow',
          Action: ['rds:CreateDBInstanceReadReplica'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:RequestTag/created-by': 'db-autopilot' } },
        },
        {
          Sid: 'Prefixed',
          Effect: 'Allow',
          Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms'],
          Resource: arn(`cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:dbap-*`),
        },
        {
          Sid: 'Exact',
          Effect: 'Allow',
          Action: ['ssm:PutParameter'],
          Resource: arn(`ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/db-autopilot/paused`),
        },
        {
          Sid: 'Own',
          Effect: 'Allow',
          Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
          Resource: [
            { 'Fn::GetAtt': ['StateTable', 'Arn'] },
            { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['StateTable', 'Arn'] }, '/index/*']] },
          ],
        },
        {
          Sid: 'Read',
          Effect: 'Allow',
          Action: ['rds:DescribeDBInstances', 'cloudwatch:GetMetricData'],
          Resource: '*',
        },
        { Sid: 'OtherService', Effect: 'Allow', Action: ['ec2:CreateNetworkInterface'], Resource: '*' },
      ]),
    );
    expect(v).toEqual([]);
  });

  it('accepts the Application Auto Scaling namespace condition as scoping, and only there', () => {
    const target = arn(`application-autoscaling:\${AWS::Region}:\${AWS::AccountId}:scalable-target/*`);
    const aas = [
      'application-autoscaling:RegisterScalableTarget',
      'application-autoscaling:PutScalingPolicy',
    ];
    const v = checkPolicies(
      templateWith([
        {
          Sid: 'Namespace',
          Effect: 'Allow',
          Action: aas,
          Resource: target,
          Condition: { StringEquals: { 'application-autoscaling:service-namespace': 'dynamodb' } },
        },
        {
          Sid: 'AnyNamespace',
          Effect: 'Allow',
          Action: aas,
          Resource: target,
          Condition: { StringLike: { 'application-autoscaling:service-namespace': '*' } },
        },
        {
          Sid: 'NamespaceIfExists',
          Effect: 'Allow',
          Action: aas,
          Resource: target,
          Condition: { StringEqualsIfExists: { 'application-autoscaling:service-namespace': 'dynamodb' } },
        },
        {
          Sid: 'OtherService',
          Effect: 'Allow',
          Action: ['dynamodb:UpdateTable'],
          Resource: '*',
          Condition: { StringEquals: { 'application-autoscaling:service-namespace': 'dynamodb' } },
        },
      ]),
    );
    expect([...new Set(v.map((x) => x.sid))]).toEqual(['AnyNamespace', 'NamespaceIfExists', 'OtherService']);
  });

  it('lets only ModifyDBProxyTargetGroup on target-group:* go unscoped', () => {
    const targetGroups = arn(`rds:\${AWS::Region}:\${AWS::AccountId}:target-group:*`);
    const v = checkPolicies(
      templateWith([
        { Sid: 'Pool', Effect: 'Allow', Action: ['rds:ModifyDBProxyTargetGroup'], Resource: targetGroups },
        { Sid: 'OtherAction', Effect: 'Allow', Action: ['rds:ModifyDBProxy'], Resource: targetGroups },
        {
          Sid: 'OtherResource',
          Effect: 'Allow',
          Action: ['rds:ModifyDBProxyTargetGroup'],
          Resource: arn(`rds:\${AWS::Region}:\${AWS::AccountId}:db:*`),
        },
      ]),
    );
    expect(v.map((x) => x.sid)).toEqual(['OtherAction', 'OtherResource']);
  });

  it('classifies actions by verb prefix', () => {
    for (const a of [
      'rds:ModifyDBInstance',
      'rds:CreateDBInstanceReadReplica',
      'rds:DeleteDBInstance',
      'rds:RebootDBInstance',
      'rds:AddTagsToResource',
      'dynamodb:UpdateTable',
      'application-autoscaling:PutScalingPolicy',
      'application-autoscaling:DeregisterScalableTarget',
      'cloudwatch:TagResource',
      'cloudwatch:SetAlarmState',
      'ssm:LabelParameterVersion',
      'ssm:DeleteParameter',
      'rds:*',
      'rds:Del*',
    ]) {
      expect(isMutating(a), a).toBe(true);
    }
    for (const a of [
      'rds:DescribeDBInstances',
      'ssm:GetParameter',
      'cloudwatch:ListTagsForResource',
      'rds:Describe*',
    ]) {
      expect(isMutating(a), a).toBe(false);
    }
  });

  it('any mutating verb on an unscoped ARN is flagged, whatever the rest of the name (property)', () => {
    const service = fc.constantFrom('rds', 'dynamodb', 'application-autoscaling', 'cloudwatch', 'ssm');
    const verb = fc.constantFrom(...MUTATING_VERBS);
    const rest = fc.stringMatching(/^[A-Z][A-Za-z]{0,15}$/);
    const unscoped = fc.constantFrom(
      '*',
      'arn:aws:rds:us-east-1:123456789012:db:*',
      'arn:aws:dynamodb:*:*:table/*',
    );
    fc.assert(
      fc.property(service, verb, rest, unscoped, (s, v, r, res) => {
        const violations = checkPolicies(
          templateWith([{ Sid: 'X', Effect: 'Allow', Action: `${s}:${v}${r}`, Resource: res }]),
        );
        return violations.length === 1;
      }),
    );
  });

  it('resolves Fn::Sub, Fn::Join, Ref and Fn::GetAtt', () => {
    const resources = { StateTable: {} };
    expect(resolveArn(arn(`rds:\${AWS::Region}:\${AWS::AccountId}:db:dbap-*`), resources)).toBe(
      'arn:aws:rds:us-east-1:123456789012:db:dbap-*',
    );
    expect(resolveArn({ 'Fn::Sub': `\${StateTable.Arn}/index/*` }, resources)).toBe(
      '@resource:StateTable/index/*',
    );
    expect(resolveArn({ Ref: 'Missing' }, resources)).toBeUndefined();
    expect(resolveArn({ 'Fn::Sub': `arn:aws:x:\${Unknown}` }, resources)).toBeUndefined();
  });

  it('finds the literal prefix of the resource name', () => {
    expect(literalNamePrefix('arn:aws:rds:us-east-1:1:db:dbap-*')).toBe('dbap-');
    expect(literalNamePrefix('arn:aws:rds:us-east-1:1:db:*')).toBe('');
    expect(literalNamePrefix('arn:aws:dynamodb:us-east-1:1:table/*')).toBe('');
    expect(literalNamePrefix('arn:aws:cloudwatch::1:dashboard/db-autopilot')).toBeUndefined();
    expect(literalNamePrefix('arn:aws:rds:*:1:db:dbap-*')).toBe('');
    expect(literalNamePrefix('*')).toBe('');
  });

  it('reads only positive tag conditions', () => {
    expect(tagConditionKeys({ StringEquals: { 'aws:ResourceTag/a': 'b', 'aws:SourceVpc': 'v' } })).toEqual([
      'aws:ResourceTag/a',
    ]);
    expect(tagConditionKeys({ 'ForAnyValue:StringEquals': { 'aws:RequestTag/a': ['b'] } })).toEqual([
      'aws:RequestTag/a',
    ]);
    // True when the tag is missing: no scoping at all.
    expect(tagConditionKeys({ 'ForAllValues:StringEquals': { 'aws:RequestTag/a': ['b'] } })).toEqual([]);
    expect(tagConditionKeys({ StringEqualsIfExists: { 'aws:ResourceTag/a': 'b' } })).toEqual([]);
    expect(tagConditionKeys({ Null: { 'aws:ResourceTag/a': 'false' } })).toEqual([]);
  });
});
