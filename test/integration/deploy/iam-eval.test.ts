import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../shared/config/load.ts';
import { DYNAMODB_SCALABLE_DIMENSIONS } from '../../../shared/deploy/iam.ts';
import { type AuthRequest, conditionHolds, evaluate } from '../../support/iam/evaluate.ts';
import { functionRoles } from '../../support/iam/replay.ts';
import type { PolicyStatement } from './iam-check.ts';

// The evaluator the IAM replay (test/e2e/iam-replay-*.test.ts) uses must be able to deny: these
// requests break each rule it models once, and the statement db-autopilot shipped before the
// Application Auto Scaling fix is denied on a person's untagged target.

const TARGET = 'arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0a1b2c3d4e5f';
const aasRequest = (context: AuthRequest['context'] = {}): AuthRequest => ({
  action: 'application-autoscaling:RegisterScalableTarget',
  resource: TARGET,
  context: {
    'application-autoscaling:service-namespace': 'dynamodb',
    'application-autoscaling:scalable-dimension': 'dynamodb:table:ReadCapacityUnits',
    ...context,
  },
  call: 'autoscaling:RegisterScalableTarget',
  client: 'autoscaling',
});
const sub = (s: string) => ({ 'Fn::Sub': s });

/** shared/deploy/iam.ts before the fix: the managed tag on the scalable target itself. */
const OLD_TAGGED_TARGETS: PolicyStatement = {
  Sid: 'TuneTaggedScalableTargets',
  Effect: 'Allow',
  Action: ['application-autoscaling:RegisterScalableTarget', 'application-autoscaling:PutScalingPolicy'],
  Resource: sub(
    'arn:${AWS::Partition}:application-autoscaling:${AWS::Region}:${AWS::AccountId}:scalable-target/*',
  ),
  Condition: { StringEquals: { 'aws:ResourceTag/db-autopilot:managed': 'true' } },
};

const NAMESPACE_SCOPED: PolicyStatement = {
  ...OLD_TAGGED_TARGETS,
  Sid: 'TuneDynamoDbScalableTargets',
  Condition: {
    StringEquals: {
      'application-autoscaling:service-namespace': 'dynamodb',
      'application-autoscaling:scalable-dimension': ['dynamodb:table:ReadCapacityUnits'],
    },
  },
};

describe('IAM evaluator', () => {
  it('denies the old tag-only statement on a person-made (untagged) scalable target, allows it on a tagged one', () => {
    expect(evaluate([OLD_TAGGED_TARGETS], aasRequest()).allowed).toBe(false);
    expect(
      evaluate([OLD_TAGGED_TARGETS], aasRequest({ 'aws:ResourceTag/db-autopilot:managed': 'true' })).allowed,
    ).toBe(true);
  });

  it('allows the namespace-scoped statement for DynamoDB targets only', () => {
    expect(evaluate([NAMESPACE_SCOPED], aasRequest())).toEqual({
      allowed: true,
      sid: 'TuneDynamoDbScalableTargets',
    });
    expect(
      evaluate([NAMESPACE_SCOPED], aasRequest({ 'application-autoscaling:service-namespace': 'ecs' }))
        .allowed,
    ).toBe(false);
    expect(
      evaluate(
        [NAMESPACE_SCOPED],
        aasRequest({ 'application-autoscaling:scalable-dimension': 'dynamodb:table:WriteCapacityUnits' }),
      ).allowed,
    ).toBe(false);
  });

  it('matches actions case-insensitively with wildcards, and resources with wildcards after substitution', () => {
    const s: PolicyStatement = {
      Sid: 'S',
      Effect: 'Allow',
      Action: ['rds:Modify*'],
      Resource: sub('arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:dbap-*'),
    };
    const req = (action: string, resource: string): AuthRequest => ({
      action,
      resource,
      context: {},
      call: 'x',
      client: 'rds',
    });
    expect(
      evaluate([s], req('rds:modifydbinstance', 'arn:aws:rds:us-east-1:123456789012:db:dbap-x-1')).allowed,
    ).toBe(true);
    expect(
      evaluate([s], req('rds:ModifyDBInstance', 'arn:aws:rds:us-east-1:123456789012:db:orders')).allowed,
    ).toBe(false);
    expect(
      evaluate([s], req('rds:DeleteDBInstance', 'arn:aws:rds:us-east-1:123456789012:db:dbap-x-1')).allowed,
    ).toBe(false);
    expect(
      evaluate([s], req('rds:ModifyDBInstance', 'arn:aws:rds:eu-west-1:123456789012:db:dbap-x-1')).allowed,
    ).toBe(false);
  });

  it('maps template resources to the ARNs the test gives, and an explicit Deny wins', () => {
    const publish: PolicyStatement = {
      Sid: 'P',
      Effect: 'Allow',
      Action: 'sns:Publish',
      Resource: { Ref: 'ReportTopic' },
    };
    const topic = 'arn:aws:sns:us-east-1:123456789012:reports';
    const req: AuthRequest = {
      action: 'sns:Publish',
      resource: topic,
      context: {},
      call: 'sns:Publish',
      client: 'sns',
    };
    expect(evaluate([publish], req, { templateArns: { ReportTopic: topic } }).allowed).toBe(true);
    expect(evaluate([publish], req).allowed).toBe(false);
    const deny: PolicyStatement = { Sid: 'D', Effect: 'Deny', Action: '*', Resource: '*' };
    expect(evaluate([publish, deny], req, { templateArns: { ReportTopic: topic } })).toEqual({
      allowed: false,
      sid: 'D',
    });
  });

  it('evaluates set operators as IAM does when the key is missing', () => {
    // ForAllValues is true for a request without the key; ForAnyValue and plain operators are not.
    expect(conditionHolds('ForAllValues:StringEquals', 'aws:TagKeys', ['a'], undefined)).toBe(true);
    expect(conditionHolds('ForAllValues:StringEquals', 'aws:TagKeys', ['a'], ['a', 'b'])).toBe(false);
    expect(
      conditionHolds('ForAllValues:StringLike', 'dynamodb:LeadingKeys', ['iops#*'], ['iops#home#x']),
    ).toBe(true);
    expect(conditionHolds('ForAnyValue:StringEquals', 'aws:TagKeys', ['a'], undefined)).toBe(false);
    expect(conditionHolds('StringEquals', 'aws:ResourceTag/k', ['v'], undefined)).toBe(false);
    expect(conditionHolds('StringEqualsIfExists', 'aws:ResourceTag/k', ['v'], undefined)).toBe(true);
    expect(conditionHolds('StringNotEquals', 'aws:ResourceTag/k', ['v'], 'w')).toBe(true);
    expect(conditionHolds('Null', 'aws:ResourceTag/k', ['true'], undefined)).toBe(true);
  });

  it('refuses to guess: an unknown operator, NotAction and a multivalued key without a set operator throw', () => {
    expect(() => conditionHolds('DateGreaterThan', 'aws:CurrentTime', ['2020-01-01'], '2026-01-01')).toThrow(
      /not modelled/,
    );
    expect(() => conditionHolds('StringEquals', 'aws:TagKeys', ['a'], ['a'])).toThrow(/multivalued/);
    expect(() =>
      evaluate([{ Sid: 'N', Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }], aasRequest()),
    ).toThrow(/NotAction/);
  });
});

describe('the generated DynamoDB roles on Application Auto Scaling', () => {
  const config = loadConfigFile(join(import.meta.dirname, '../../../db-autopilot.yml'));
  config.defaults.mode = 'apply';
  const roles = functionRoles(['dynamodb-tuner', 'alarm-handler', 'control'], config);

  it('may change any DynamoDB capacity target, tagged or not, table or index', () => {
    for (const role of roles)
      for (const dim of DYNAMODB_SCALABLE_DIMENSIONS)
        for (const action of ['RegisterScalableTarget', 'PutScalingPolicy'])
          expect(
            evaluate(role.statements, {
              ...aasRequest({ 'application-autoscaling:scalable-dimension': dim }),
              action: `application-autoscaling:${action}`,
            }).allowed,
            `${role.name} ${action} ${dim}`,
          ).toBe(true);
  });

  it("may not change another service's scalable targets, nor deregister or delete policies", () => {
    for (const role of roles) {
      const ecs = aasRequest({
        'application-autoscaling:service-namespace': 'ecs',
        'application-autoscaling:scalable-dimension': 'ecs:service:DesiredCount',
      });
      expect(evaluate(role.statements, ecs).allowed, role.name).toBe(false);
      for (const action of ['DeregisterScalableTarget', 'DeleteScalingPolicy'])
        expect(
          evaluate(role.statements, { ...aasRequest(), action: `application-autoscaling:${action}` }).allowed,
        ).toBe(false);
    }
  });

  it('grants none of it in observe mode', () => {
    const observe = loadConfigFile(join(import.meta.dirname, '../../../db-autopilot.yml'));
    expect(observe.defaults.mode).toBe('observe');
    for (const role of functionRoles(['dynamodb-tuner', 'alarm-handler', 'control'], observe))
      expect(evaluate(role.statements, aasRequest()).allowed, role.name).toBe(false);
  });
});
