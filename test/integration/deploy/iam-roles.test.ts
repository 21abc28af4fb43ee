import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import type { Config } from '../../../shared/config/schema.ts';
import {
  buildRoles,
  type DeployOptions,
  FUNCTIONS,
  type FunctionName,
  statementsFor,
} from '../../../shared/deploy/iam.ts';
import { REPLICA_NAME_PREFIX } from '../../../shared/policies/replicas.ts';
import { STATE_WRITERS } from '../../../shared/state/keys.ts';
import { DEPLOY_OPTIONS } from '../../support/iam/options.ts';
import { checkPolicies, type Json, resolveArn, writeActionsOnDatabasesAlarmsRouting } from './iam-check.ts';

/**
 * The role generator (shared/deploy/iam.ts) without packaging: the example configuration and
 * generated ones give policies that pass the least-privilege rules, grant what the code calls,
 * and scope names the way the code names things.
 */

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
/** The shipped example observes (every tuner read-only); most checks below are of it in apply mode. */
const shippedText = readFileSync(join(ROOT, 'db-autopilot.yml'), 'utf8');
const shipped = parseConfig(shippedText, 'db-autopilot.yml');
const exampleText = shippedText.replace(/^ {2}mode: observe$/m, '  mode: apply');
const example = parseConfig(exampleText, 'db-autopilot.yml');

const options = DEPLOY_OPTIONS;

const resourcesFor = (config: Config, o = options) => ({
  ...buildRoles(config, o),
  StateTable: { Type: 'AWS::DynamoDB::Table' },
  ReportTopic: { Type: 'AWS::SNS::Topic' },
});

const actions = (fn: FunctionName, config = example) =>
  new Set(statementsFor(fn, config, options).flatMap((s) => s.Action));

function arnsFor(fn: FunctionName, action: string, config = example): Array<string | undefined> {
  const resources = resourcesFor(config);
  return statementsFor(fn, config, options)
    .filter((s) => s.Action.includes(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
    .map((r) => resolveArn(r as Json, resources));
}

describe('observe mode is read-only (issue 23)', () => {
  it('the shipped example is observe-only and its roles hold no database, alarm or Route 53 write', () => {
    expect(shipped.defaults.mode).toBe('observe');
    expect(writeActionsOnDatabasesAlarmsRouting(resourcesFor(shipped))).toEqual([]);
    // ...while they still read what a plan needs.
    expect(actions('iops-tuner', shipped)).toContain('rds:DescribeDBInstances');
    expect(actions('dynamodb-tuner', shipped)).toContain('dynamodb:DescribeTable');
    expect(actions('replica-scaler', shipped)).toContain('route53:ListResourceRecordSets');
  });

  it('the same configuration in apply mode holds them (the check can fail)', () => {
    const writes = writeActionsOnDatabasesAlarmsRouting(resourcesFor(example));
    for (const w of [
      'IopsTunerRole/ModifyTaggedInstances rds:ModifyDBInstance',
      'ReplicaScalerRole/ReadRouting route53:ChangeResourceRecordSets',
      'DynamodbTunerRole/UpdateTaggedTables dynamodb:UpdateTable',
      'AlarmReconcilerRole/OwnAlarms cloudwatch:PutMetricAlarm',
      'AlarmReconcilerRole/OwnDashboard cloudwatch:PutDashboard',
      'ControlRole/ModifyProxyTargetGroups rds:ModifyDBProxyTargetGroup',
    ]) {
      expect(writes).toContain(w);
    }
  });

  it('grants writes tuner by tuner: only the tuner in apply mode (and the alarms it declares)', () => {
    const config = structuredClone(shipped);
    if (config.tuners.dynamodb) config.tuners.dynamodb.mode = 'apply';
    const writes = writeActionsOnDatabasesAlarmsRouting(resourcesFor(config));
    expect(writes.filter((w) => w.includes('rds:') || w.includes('route53:'))).toEqual([]);
    expect(writes).toContain('DynamodbTunerRole/UpdateTaggedTables dynamodb:UpdateTable');
    expect(writes).toContain('AlarmHandlerRole/UpdateTaggedTables dynamodb:UpdateTable');
    expect(writes).toContain('AlarmReconcilerRole/OwnAlarms cloudwatch:PutMetricAlarm');
    expect(writes.some((w) => w.startsWith('IopsTunerRole/'))).toBe(false);
  });
});

describe('generated IAM roles', () => {
  it('pass the least-privilege rules for the example configuration', () => {
    expect(checkPolicies(resourcesFor(example))).toEqual([]);
  });

  it('scope replica deletion to the names and tag the replica scaler gives its replicas', () => {
    const arns = arnsFor('replica-scaler', 'rds:DeleteDBInstance');
    expect(arns).toEqual([`arn:aws:rds:us-east-1:123456789012:db:${REPLICA_NAME_PREFIX}*`]);
    const del = statementsFor('replica-scaler', example, options).find((s) =>
      s.Action.includes('rds:DeleteDBInstance'),
    );
    expect(del?.Condition).toEqual({
      StringEquals: { [`aws:ResourceTag/${example.tags.createdBy.key}`]: example.tags.createdBy.value },
    });
  });

  it('let the replica scaler replicate sources listed by identifier (no tag needed on them)', () => {
    const ids = example.tuners.replicas?.resources.identifiers ?? [];
    expect(ids.length).toBeGreaterThan(0);
    const arns = arnsFor('replica-scaler', 'rds:CreateDBInstanceReadReplica');
    for (const id of ids) expect(arns).toContain(`arn:aws:rds:us-east-1:123456789012:db:${id}`);
    const aurora = arnsFor('replica-scaler', 'rds:CreateDBInstance');
    for (const id of ids) expect(aurora).toContain(`arn:aws:rds:us-east-1:123456789012:cluster:${id}`);
  });

  it('let the replica scaler change the Route 53 zones the configuration routes reads through', () => {
    const zones = Object.values(example.tuners.replicas?.sources ?? {}).flatMap((s) =>
      s.routing ? [s.routing.hostedZoneId.replace(/^\/hostedzone\//, '')] : [],
    );
    expect(zones.length).toBeGreaterThan(0);
    const arns = arnsFor('replica-scaler', 'route53:ChangeResourceRecordSets');
    for (const z of zones) expect(arns).toContain(`arn:aws:route53:::hostedzone/${z}`);
  });

  it('give the alarm handler every permission of the tuners it runs in-process, and control those it reverts', () => {
    const handler = actions('alarm-handler');
    const control = actions('control');
    for (const tuner of ['iops-tuner', 'replica-scaler', 'dynamodb-tuner'] as const) {
      const needed = [...actions(tuner)].filter((a) => !a.startsWith('logs:'));
      expect(
        needed.filter((a) => !handler.has(a)),
        `alarm-handler lacks ${tuner}'s`,
      ).toEqual([]);
      const mutating = needed.filter((a) => /:(Create|Modify|Delete|Update|Put|Register|Change)/.test(a));
      expect(
        mutating.filter((a) => !control.has(a)),
        `control lacks ${tuner}'s`,
      ).toEqual([]);
    }
  });

  it('let every function read the pause flag (tuners obey it, control and the digest report it)', () => {
    for (const fn of FUNCTIONS) {
      expect(arnsFor(fn, 'ssm:GetParameter'), fn).toContain(
        'arn:aws:ssm:us-east-1:123456789012:parameter/db-autopilot/paused',
      );
    }
  });

  it('grant the read calls the tuners and insights make', () => {
    expect(actions('dynamodb-tuner')).toContain('dynamodb:DescribeLimits');
    for (const a of [
      'rds:DescribeDBProxies',
      'rds:DescribeDBProxyTargetGroups',
      'rds:DescribeDBProxyTargets',
    ]) {
      expect(actions('pg-insights')).toContain(a);
    }
    expect(actions('replica-scaler')).toContain('rds:DescribeAccountAttributes');
    expect(actions('iops-tuner')).toContain('rds:DescribeValidDBInstanceModifications');
  });

  it('let the report read the Slack webhook the configuration names, and nothing reads it elsewhere', () => {
    const text = exampleText.replace(
      'webhookParameter: /db-autopilot/slack-webhook-url',
      'webhookParameter: /shop/ops/slack-url',
    );
    const config = parseConfig(text, 'db-autopilot.yml');
    expect(config.notifications.slack?.webhookParameter).toBe('/shop/ops/slack-url');
    const arns = arnsFor('report', 'ssm:GetParameter', config);
    expect(arns).toContain('arn:aws:ssm:us-east-1:123456789012:parameter/shop/ops/slack-url');
    for (const fn of ['iops-tuner', 'replica-scaler', 'dynamodb-tuner', 'control'] as const) {
      expect(arnsFor(fn, 'ssm:GetParameter', config)).not.toContain(
        'arn:aws:ssm:us-east-1:123456789012:parameter/shop/ops/slack-url',
      );
    }
  });

  it('let the database functions read a secret the configuration names outside the prefix', () => {
    const text = exampleText.replace('secretId: db-autopilot/orders', 'secretId: prod/orders-db');
    const config = parseConfig(text, 'db-autopilot.yml');
    expect(arnsFor('pg-maintenance', 'secretsmanager:GetSecretValue', config)).toContain(
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders-db-??????',
    );
  });

  it('pass the rules whatever identifiers, zones and prefixes are configured (property)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { maxLength: 4 }),
        fc.uniqueArray(name, { maxLength: 4 }),
        fc.uniqueArray(name, { maxLength: 4 }),
        fc.array(fc.stringMatching(/^Z[A-Z0-9]{4,12}$/), { maxLength: 3 }),
        fc.stringMatching(/^[a-z][a-z0-9]{0,6}-$/),
        (iops, replicas, tables, zones, alarmPrefix) => {
          const config = structuredClone(example);
          if (config.tuners.iops) config.tuners.iops.resources.identifiers = iops;
          if (config.tuners.replicas) config.tuners.replicas.resources.identifiers = replicas;
          if (config.tuners.dynamodb) config.tuners.dynamodb.resources.identifiers = tables;
          const violations = checkPolicies(
            resourcesFor(config, { ...options, routingHostedZoneIds: zones, alarmPrefix }),
          );
          return violations.length === 0;
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('least privilege on the state table and the ownership tags (issue 21)', () => {
  const writeActions = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

  it.each([...FUNCTIONS])(
    '%s writes only the state partitions of the tuners it runs for (LeadingKeys)',
    (fn) => {
      const statements = statementsFor(fn, example, options);
      const writes = statements.filter((s) => s.Action.some((a) => writeActions.includes(a)));
      // A function that owns nothing (the fleet planner and report) writes nothing.
      expect(writes.length).toBe(STATE_WRITERS[fn].length > 0 ? 1 : 0);
      // The fleet worker writes its tuners' items in every member scope, the others only at home.
      const scope = fn === 'fleet-worker' ? '' : 'home#';
      for (const s of writes) {
        const leading = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
        expect(leading, `${fn} ${s.Sid}`).toEqual(STATE_WRITERS[fn].map((o) => `${o}#${scope}*`));
      }
    },
  );

  it('gives no role a way to add the managed tag, and the created-by tag only on dbap-* ARNs (and the groups creating one uses)', () => {
    const managedKey = example.tags.managed.key;
    const createdKey = example.tags.createdBy.key;
    for (const fn of FUNCTIONS) {
      for (const s of statementsFor(fn, example, options)) {
        if (!s.Action.some((a) => /AddTagsToResource|TagResource|CreateDBInstance/.test(a))) continue;
        const keys = s.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys'];
        const resources = (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) =>
          JSON.stringify(r),
        );
        if (s.Action.includes('rds:AddTagsToResource')) {
          expect(keys, `${fn} ${s.Sid}`).toBeDefined();
          expect(keys).not.toContain(managedKey);
          expect(resources.every((r) => r.includes(':db:dbap-*'))).toBe(true);
        }
        if (JSON.stringify(s.Condition ?? {}).includes(`aws:RequestTag/${createdKey}`)) {
          // dbap-* instances, or the groups a request creating one uses (create actions only).
          const groups = resources.filter((r) => /:(pg|og|subgrp):\*"/.test(r));
          expect(
            resources.every((r) => r.includes(':db:dbap-*') || groups.includes(r)),
            `${fn} ${s.Sid}`,
          ).toBe(true);
          if (groups.length > 0)
            expect(s.Action.sort(), `${fn} ${s.Sid}`).toEqual([
              'rds:CreateDBInstance',
              'rds:CreateDBInstanceReadReplica',
            ]);
        }
        expect(JSON.stringify(s.Condition ?? {})).not.toContain(`aws:RequestTag/${managedKey}`);
      }
    }
  });
});

describe('customer-managed KMS keys (kmsKeyArns)', () => {
  const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const withKeys = { ...options, kmsKeyArns: [key] };
  const kms = (fn: FunctionName, o: DeployOptions = withKeys) =>
    statementsFor(fn, example, o).filter((s) => s.Action.some((a) => a.startsWith('kms:')));

  it('grants no KMS action to any role when no key is listed', () => {
    for (const fn of FUNCTIONS) expect(kms(fn, options), fn).toEqual([]);
  });

  it('lets exactly the roles that create RDS instances create grants on the keys, through RDS, for AWS resources only', () => {
    const creators = FUNCTIONS.filter((fn) =>
      statementsFor(fn, example, options).some((s) =>
        s.Action.some((a) => a === 'rds:CreateDBInstanceReadReplica' || a === 'rds:CreateDBInstance'),
      ),
    );
    expect(creators).toEqual(expect.arrayContaining(['replica-scaler', 'alarm-handler']));
    for (const fn of FUNCTIONS) {
      const grant = kms(fn).find((s) => s.Action.includes('kms:CreateGrant'));
      if (!creators.includes(fn)) {
        expect(grant, fn).toBeUndefined();
        continue;
      }
      expect(grant?.Resource, fn).toEqual([key]);
      expect(grant?.Condition, fn).toEqual({
        StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' },
        Bool: { 'kms:GrantIsForAWSResource': 'true' },
      });
      expect(
        kms(fn).some((s) => s.Action.includes('kms:DescribeKey')),
        fn,
      ).toBe(true);
    }
  });

  it('lets the roles that read secrets or the Slack parameter decrypt, only through Secrets Manager / Systems Manager', () => {
    const decrypt = (fn: FunctionName) =>
      kms(fn).find((s) => s.Sid === 'DecryptSecrets' && s.Action.includes('kms:Decrypt'));
    for (const fn of ['pg-maintenance', 'pg-insights'] as const) {
      expect(decrypt(fn)?.Condition, fn).toEqual({
        StringLike: { 'kms:ViaService': ['secretsmanager.*.amazonaws.com'] },
      });
    }
    for (const fn of ['report', 'digest'] as const) {
      expect(decrypt(fn)?.Condition, fn).toEqual({
        StringLike: { 'kms:ViaService': ['secretsmanager.*.amazonaws.com', 'ssm.*.amazonaws.com'] },
      });
    }
    expect(decrypt('iops-tuner')).toBeUndefined();
    expect(decrypt('dynamodb-tuner')).toBeUndefined();
  });

  it('lets exactly the roles that read Performance Insights decrypt its data and make data keys, only through RDS', () => {
    const readers = FUNCTIONS.filter((fn) =>
      statementsFor(fn, example, options).some((s) => s.Action.some((a) => a.startsWith('pi:'))),
    );
    expect(readers).toContain('pg-insights');
    for (const fn of FUNCTIONS) {
      const pi = kms(fn).find((s) => s.Sid === 'PerformanceInsightsCustomerManagedKeys');
      if (!readers.includes(fn)) {
        expect(pi, fn).toBeUndefined();
        continue;
      }
      expect(pi?.Action, fn).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(pi?.Condition, fn).toEqual({ StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' } });
    }
  });

  it('names the keys, never every key, and still passes the least-privilege rules', () => {
    for (const fn of FUNCTIONS) for (const s of kms(fn)) expect(s.Resource, `${fn} ${s.Sid}`).toEqual([key]);
    expect(checkPolicies(resourcesFor(example, withKeys))).toEqual([]);
  });
});
