/**
 * How AWS's own state shows each kind of change db-autopilot makes, for intents whose response was
 * lost or whose run died (shared/core/intent.ts). Read-only describe calls; a check that cannot
 * tell answers `unknown` and a later run asks again.
 */
import {
  DashboardNotFoundError,
  DescribeAlarmsCommand,
  GetDashboardCommand,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DBProxyNotFoundFault,
  DBProxyTargetGroupNotFoundFault,
  DescribeDBInstancesCommand,
  DescribeDBProxyTargetGroupsCommand,
} from '@aws-sdk/client-rds';
import { cloudwatchClient, dynamodbClient, rdsClient } from '../aws/clients.ts';
import type { IntentCheck } from '../core/contracts.ts';
import { registerIntentCheck } from '../core/intent.ts';
import type { Decision } from '../core/model.ts';
import { serverlessBoundsCheck } from './aurora-serverless.ts';

type Verdict = Awaited<ReturnType<IntentCheck>>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

async function instance(id: string): Promise<DBInstance | undefined> {
  try {
    const out = await rdsClient().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return out.DBInstances?.[0];
  } catch (error) {
    if (error instanceof DBInstanceNotFoundFault) return undefined;
    throw error;
  }
}

/** The adapter parameters the intended action carried. */
const paramsOf = (intent: Decision): Record<string, unknown> => intent.params ?? {};

/**
 * set-iops / set-storage-type: DescribeDBInstances shows the new values at once, or in
 * PendingModifiedValues while the modification is under way (ApplyImmediately).
 */
export const storageCheck: IntentCheck = async (intent) => {
  const db = await instance(intent.resource);
  if (!db) return { verdict: 'not-applied', detail: `${intent.resource} does not exist` };
  const pending = db.PendingModifiedValues ?? {};
  if (intent.action === 'set-iops') return iopsCheck(intent, db);
  const to = intent.to as { storageType?: string } | string | undefined;
  const want = str(paramsOf(intent).StorageType) ?? (typeof to === 'string' ? to : to?.storageType);
  if (!want) return { verdict: 'unknown', detail: 'the intent names no storage type' };
  if (db.StorageType === want || pending.StorageType === want)
    return { verdict: 'applied', detail: `DescribeDBInstances shows storage type ${want}` };
  return { verdict: 'not-applied', detail: `storage type is ${db.StorageType}, not ${want}` };
};

/**
 * set-iops: the planned IOPS, or, where the adapter capped the plan at the edge
 * DescribeValidDBInstanceModifications allowed (shared/adapters/rds-iops.ts capAtValidEdge), a value
 * that moved from `from` toward the plan and stopped short of it: applied at that value (recorded
 * as `to`, so the next run neither retries nor takes it for a person's change). The check runs
 * holding the resource's lock within seconds of the call, or on the next run for a dead one.
 */
function iopsCheck(intent: Decision, db: DBInstance): Verdict {
  const want = num(paramsOf(intent).Iops) ?? num(intent.to);
  if (want === undefined) return { verdict: 'unknown', detail: 'the intent names no IOPS value' };
  const pending = db.PendingModifiedValues?.Iops;
  if (db.Iops === want || pending === want)
    return { verdict: 'applied', detail: `DescribeDBInstances shows ${want} IOPS` };
  const from = num(intent.from);
  const seen = pending ?? db.Iops;
  if (from !== undefined && seen !== undefined && seen !== from && between(seen, from, want))
    return {
      verdict: 'applied',
      detail: `DescribeDBInstances shows ${seen} IOPS (${want} capped at the valid edge)`,
      appliedTo: seen,
    };
  return {
    verdict: 'not-applied',
    detail: `DescribeDBInstances shows ${db.Iops ?? 'no'} IOPS, not ${want}`,
  };
}

/** `v` on the way from `a` to `b` (either direction), `a` excluded. */
function between(v: number, a: number, b: number): boolean {
  return a < b ? v > a && v < b : v < a && v > b;
}

/** The replica an add-replica / remove-replica intent names (its params, else its undo's). */
function replicaOf(intent: Decision): string | undefined {
  const undo = intent.undo?.params ?? {};
  const undoRef = undo.resource as { id?: unknown } | string | undefined;
  return (
    str(paramsOf(intent).replicaId) ??
    str(undo.replicaId) ??
    (typeof undoRef === 'string' ? undoRef : str(undoRef?.id))
  );
}

/** add-replica: the deterministic replica name exists (in any state but deleting). */
export const addReplicaCheck: IntentCheck = async (intent) => {
  const id = replicaOf(intent);
  if (!id) return { verdict: 'unknown', detail: 'the intent names no replica' };
  const db = await instance(id);
  if (!db || db.DBInstanceStatus === 'deleting')
    return { verdict: 'not-applied', detail: `${id} does not exist` };
  return { verdict: 'applied', detail: `${id} exists (${db.DBInstanceStatus})` };
};

/** remove-replica: the replica is gone or being deleted. */
export const removeReplicaCheck: IntentCheck = async (intent) => {
  const id = replicaOf(intent);
  if (!id) return { verdict: 'unknown', detail: 'the intent names no replica' };
  const db = await instance(id);
  if (!db) return { verdict: 'applied', detail: `${id} no longer exists` };
  if (db.DBInstanceStatus === 'deleting') return { verdict: 'applied', detail: `${id} is being deleted` };
  return { verdict: 'not-applied', detail: `${id} still exists (${db.DBInstanceStatus})` };
};

/**
 * set-capacity / prewarm: DescribeTable's LastIncreaseDateTime / LastDecreaseDateTime of the table
 * or a GSI at or after the intent (the change happened), or the capacity already as intended.
 */
export const capacityCheck: IntentCheck = async (intent) => {
  const p = paramsOf(intent);
  const tableName = str(p.tableName);
  const updates = Array.isArray(p.updates) ? (p.updates as Array<Record<string, unknown>>) : [];
  if (!tableName || updates.length === 0) return { verdict: 'unknown', detail: 'the intent names no table' };
  let table: Awaited<ReturnType<typeof describeTable>>;
  try {
    table = await describeTable(tableName);
  } catch (error) {
    if (error instanceof ResourceNotFoundException)
      return { verdict: 'not-applied', detail: `table ${tableName} does not exist` };
    throw error;
  }
  const since = Date.parse(intent.at);
  const seen: string[] = [];
  for (const u of updates) {
    const index = str(u.indexName);
    const pt = index
      ? table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === index)?.ProvisionedThroughput
      : table?.ProvisionedThroughput;
    const label = index ?? 'table';
    const changedAt = [pt?.LastIncreaseDateTime, pt?.LastDecreaseDateTime]
      .map((d) => d?.getTime() ?? 0)
      .some((t) => t >= since);
    if (changedAt)
      return { verdict: 'applied', detail: `${label} capacity changed at or after ${intent.at}` };
    if (pt?.ReadCapacityUnits === num(u.read) && pt?.WriteCapacityUnits === num(u.write)) seen.push(label);
  }
  if (seen.length === updates.length)
    return { verdict: 'applied', detail: `${seen.join(', ')} already at the intended capacity` };
  return { verdict: 'not-applied', detail: `no capacity change on ${tableName} since ${intent.at}` };
};

/** set-capacity-mode: the table's billing mode is the intended one. */
export const capacityModeCheck: IntentCheck = async (intent) => {
  const p = paramsOf(intent);
  const tableName = str(p.tableName);
  const want = str(p.billingMode);
  if (!tableName || !want) return { verdict: 'unknown', detail: 'the intent names no table or mode' };
  const table = await describeTable(tableName);
  const mode = table?.BillingModeSummary?.BillingMode ?? 'PROVISIONED';
  return mode === want
    ? { verdict: 'applied', detail: `${tableName} is ${want}` }
    : { verdict: 'not-applied', detail: `${tableName} is ${mode}, not ${want}` };
};

async function alarm(name: string): Promise<MetricAlarm | undefined> {
  const out = await cloudwatchClient().send(
    new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ['MetricAlarm'] }),
  );
  return out.MetricAlarms?.find((a) => a.AlarmName === name);
}

/**
 * put-alarm: the alarm exists and CloudWatch's AlarmConfigurationUpdatedTimestamp (set by every
 * PutMetricAlarm: CloudWatch API reference, MetricAlarm) is at or after the intent.
 */
export const putAlarmCheck: IntentCheck = async (intent) => {
  const name = str(paramsOf(intent).name) ?? intent.resource;
  const found = await alarm(name);
  if (!found) return { verdict: 'not-applied', detail: `alarm ${name} does not exist` };
  const updatedAt = found.AlarmConfigurationUpdatedTimestamp?.getTime();
  if (updatedAt !== undefined && updatedAt >= Date.parse(intent.at))
    return {
      verdict: 'applied',
      detail: `alarm ${name} was configured at ${new Date(updatedAt).toISOString()}`,
    };
  return { verdict: 'not-applied', detail: `alarm ${name} was last configured before ${intent.at}` };
};

/** delete-alarm: the alarm is gone. */
export const deleteAlarmCheck: IntentCheck = async (intent) => {
  const name = str(paramsOf(intent).name) ?? intent.resource;
  return (await alarm(name))
    ? { verdict: 'not-applied', detail: `alarm ${name} still exists` }
    : { verdict: 'applied', detail: `alarm ${name} no longer exists` };
};

/** put-dashboard: the dashboard's body is the intended one (GetDashboard). */
export const putDashboardCheck: IntentCheck = async (intent) => {
  const name = intent.resource.replace(/^dashboard:/, '');
  const want = str(paramsOf(intent).body);
  if (!want) return { verdict: 'unknown', detail: 'the intent names no dashboard body' };
  let body: string | undefined;
  try {
    body = (await cloudwatchClient().send(new GetDashboardCommand({ DashboardName: name }))).DashboardBody;
  } catch (error) {
    // GetDashboard answers DashboardNotFoundError (error code ResourceNotFound) for a new dashboard.
    if (!(error instanceof DashboardNotFoundError || (error as Error).name === 'ResourceNotFound'))
      throw error;
  }
  return body === want
    ? { verdict: 'applied', detail: `dashboard ${name} has the intended body` }
    : {
        verdict: 'not-applied',
        detail: `dashboard ${name} ${body === undefined ? 'does not exist' : 'has another body'}`,
      };
};

/**
 * set-pool: the proxy's default target group has the intended connection pool (DescribeDBProxyTargetGroups;
 * an absent field is AWS's default: RDS API reference, ConnectionPoolConfiguration). Without it a
 * ModifyDBProxyTargetGroup whose answer was lost stayed recorded `failed` though the pool changed.
 */
export const proxyPoolCheck: IntentCheck = async (intent) => {
  const p = paramsOf(intent);
  const proxy = str(p.proxyName);
  const group = str(p.targetGroupName) ?? 'default';
  const want = p.pool as Record<string, unknown> | undefined;
  if (!proxy || !want) return { verdict: 'unknown', detail: 'the intent names no proxy or pool' };
  let pool: Record<string, unknown> | undefined;
  try {
    const out = await rdsClient().send(
      new DescribeDBProxyTargetGroupsCommand({ DBProxyName: proxy, TargetGroupName: group }),
    );
    const c = out.TargetGroups?.[0]?.ConnectionPoolConfig ?? {};
    pool = {
      maxConnectionsPercent: c.MaxConnectionsPercent ?? 100,
      maxIdleConnectionsPercent: c.MaxIdleConnectionsPercent ?? 50,
      connectionBorrowTimeoutSeconds: c.ConnectionBorrowTimeout ?? 120,
      sessionPinningFilters: c.SessionPinningFilters ?? [],
    };
  } catch (error) {
    if (error instanceof DBProxyNotFoundFault || error instanceof DBProxyTargetGroupNotFoundFault)
      return { verdict: 'not-applied', detail: `${proxy} (${group}) does not exist` };
    throw error;
  }
  const differs = Object.keys(pool).filter(
    (k) => JSON.stringify(pool?.[k]) !== JSON.stringify(want[k] ?? pool?.[k]),
  );
  return differs.length === 0
    ? { verdict: 'applied', detail: `${proxy} has the intended connection pool` }
    : { verdict: 'not-applied', detail: `${proxy} differs in ${differs.join(', ')}` };
};

async function describeTable(name: string) {
  return (await dynamodbClient().send(new DescribeTableCommand({ TableName: name }))).Table;
}

const registered: Array<[Decision['action'], IntentCheck]> = [
  ['set-iops', storageCheck],
  ['set-storage-type', storageCheck],
  ['add-replica', addReplicaCheck],
  ['remove-replica', removeReplicaCheck],
  ['set-capacity', capacityCheck],
  ['prewarm', capacityCheck],
  ['set-capacity-mode', capacityModeCheck],
  ['set-serverless-bounds', serverlessBoundsCheck],
  ['put-alarm', putAlarmCheck],
  ['delete-alarm', deleteAlarmCheck],
  ['put-dashboard', putDashboardCheck],
  ['set-pool', proxyPoolCheck],
];
for (const [kind, check] of registered) registerIntentCheck(kind, check);

export type { Verdict as IntentVerdict };
