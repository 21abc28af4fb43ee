import {
  DescribeTableCommand,
  type GlobalSecondaryIndexUpdate,
  LimitExceededException,
  type ProvisionedThroughputDescription,
  RequestLimitExceeded,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  ThrottlingException,
  UpdateTableCommand,
  type UpdateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { dynamodbClient } from '../aws/clients.ts';
import { clock } from '../core/clock.ts';
import type { Adapter } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import type { Action, ActResult } from '../core/model.ts';
import { isThrottling } from '../metrics/limits.ts';
import { decreaseAllowance } from '../policies/dynamodb-decrease-budget.ts';
import { BACKFILLING_STATUS, gsiStatus } from '../policies/dynamodb-observation.ts';

/**
 * DynamoDB capacity changes: Action -> UpdateTable; SDK errors -> ActResult.
 *
 * - `set-capacity` / `prewarm` (params: CapacityParams): one UpdateTable with the table's
 *   ProvisionedThroughput and/or GlobalSecondaryIndexUpdates. The adapter re-reads DescribeTable
 *   and never sends an UpdateTable that mixes an increase with a decrease (aws-facts.md;
 *   dynamic-dynamodb #103: the increase was lost): an increase sends max(planned, current),
 *   a decrease min(planned, current), per dimension, for each resource.
 * - `set-capacity-mode` (params: billingMode, provisioned): UpdateTable BillingMode; switching to
 *   PROVISIONED needs throughput for the table and every GSI (UpdateTable API reference).
 * Errors (DynamoDB API reference, UpdateTable; aws-facts.md):
 * - table or a GSI not ACTIVE, or ResourceInUseException: deferred (UPDATING is waited out);
 * - LimitExceededException: deferred until the next decrease slot (or an hour for mode switches);
 * - throttling (ThrottlingException, RequestLimitExceeded): deferred a minute, retried next run;
 * - ResourceNotFoundException: skipped; anything else: failed with the error's name.
 */

const RETRY_MS = 60_000;

const updateSchema = z.object({
  indexName: z.string().min(1).nullable(),
  read: z.number().int().min(1),
  write: z.number().int().min(1),
  /** When a decrease was planned: it is stale once anyone raised this resource after it. */
  plannedAt: z.iso.datetime().optional(),
});
const capacityParamsSchema = z.object({
  tableName: z.string().min(3).max(255),
  direction: z.enum(['increase', 'decrease']),
  updates: z.array(updateSchema).min(1),
});
const pairSchema = z.object({ read: z.number().int().min(1), write: z.number().int().min(1) });
const modeParamsSchema = z.object({
  tableName: z.string().min(3).max(255),
  billingMode: z.enum(['PROVISIONED', 'PAY_PER_REQUEST']),
  provisioned: pairSchema.optional(),
  /** Each GSI's own starting capacity (from its own use); a GSI not listed starts like the table. */
  indexes: z.record(z.string().min(1), pairSchema).optional(),
});

function later(ms: number): string {
  return new Date(clock().now().getTime() + ms).toISOString();
}

function ledgerOf(pt: ProvisionedThroughputDescription | undefined) {
  return {
    numberOfDecreasesToday: pt?.NumberOfDecreasesToday ?? 0,
    lastDecreaseAt: pt?.LastDecreaseDateTime?.toISOString(),
  };
}

function translate(error: unknown, table: TableDescription | undefined, direction?: string): ActResult {
  if (error instanceof ResourceInUseException) {
    return {
      status: 'deferred',
      until: later(RETRY_MS),
      reason: `ResourceInUseException: ${publicMessage(error)}`,
    };
  }
  if (error instanceof LimitExceededException) {
    // A decrease over the budget waits for its next slot; anything else (mode switches, quotas) an hour.
    let until = later(3_600_000);
    if (direction === 'decrease' && table) {
      const now = clock().now();
      const slots = [
        table.ProvisionedThroughput,
        ...(table.GlobalSecondaryIndexes ?? []).map((g) => g.ProvisionedThroughput),
      ]
        .map((pt) => decreaseAllowance(ledgerOf(pt), now).nextSlotAt)
        .sort();
      const last = slots[slots.length - 1];
      if (last && Date.parse(last) > now.getTime()) until = last;
      else until = later(RETRY_MS);
    }
    return { status: 'deferred', until, reason: `LimitExceededException: ${publicMessage(error)}` };
  }
  if (error instanceof ThrottlingException || error instanceof RequestLimitExceeded || isThrottling(error)) {
    return {
      status: 'deferred',
      until: later(RETRY_MS),
      reason: `throttled by DynamoDB, retried next run: ${publicMessage(error)}`,
    };
  }
  if (error instanceof ResourceNotFoundException) {
    return { status: 'skipped', reason: `ResourceNotFoundException: ${publicMessage(error)}` };
  }
  return {
    status: 'failed',
    reason: publicMessage(error),
    code: error instanceof Error ? error.name : undefined,
  };
}

async function describe(tableName: string): Promise<TableDescription | undefined> {
  const out = await dynamodbClient().send(new DescribeTableCommand({ TableName: tableName }));
  return out.Table;
}

/**
 * Why UpdateTable would be refused now, or undefined. A GSI whose backfill has begun does not
 * block a change to the table or the other indexes (`gsiStatus`, UpdateTable API reference) unless
 * the change is to that index; a mode switch (`touches` undefined) waits for every index.
 */
function notActive(t: TableDescription, touches?: ReadonlySet<string>): string | undefined {
  if (t.TableStatus !== 'ACTIVE') return `table ${t.TableName} is ${t.TableStatus}`;
  const g = (t.GlobalSecondaryIndexes ?? []).find((x) => {
    if (x.IndexStatus === 'ACTIVE') return false;
    const backfilling = gsiStatus(x) === BACKFILLING_STATUS;
    return !backfilling || touches === undefined || touches.has(x.IndexName ?? '');
  });
  return g ? `index ${g.IndexName} is ${g.IndexStatus}` : undefined;
}

/**
 * A decrease planned before a later increase (anyone's: DescribeTable LastIncreaseDateTime) is
 * stale: the demand it was planned from is older than the raise (overlapping runs, the alarm fast
 * path, a person raising before an event). It is never applied.
 */
export function staleDecrease(
  pt: ProvisionedThroughputDescription,
  plannedAt: string | undefined,
): string | undefined {
  const raised = pt.LastIncreaseDateTime?.getTime();
  if (!plannedAt || raised === undefined) return undefined;
  if (raised <= Date.parse(plannedAt)) return undefined;
  return `stale decrease refused: capacity was raised at ${new Date(raised).toISOString()}, after this decrease was planned at ${plannedAt}`;
}

export type CapacityUpdatePlan =
  | { input: UpdateTableCommandInput; heldBack: string[] }
  | { skip: string }
  | { defer: string; until: string };

/**
 * The UpdateTable input for a capacity action against the table as it is now, or why there is none.
 * A decrease re-checks each resource's budget as AWS counts it (the table and each GSI separately,
 * from DescribeTable; aws-facts.md, DynamoDB): AWS rejects the whole request when any resource in
 * it is over its budget, so a resource whose decrease is not allowed now (another decrease since
 * the plan, e.g. Application Auto Scaling's scale-in) is held back and the others go ahead.
 */
export function capacityUpdateInput(
  params: z.infer<typeof capacityParamsSchema>,
  table: TableDescription,
  now: Date,
): CapacityUpdatePlan {
  const pick = (planned: number, current: number) =>
    params.direction === 'increase' ? Math.max(planned, current) : Math.min(planned, current);
  const input: UpdateTableCommandInput = { TableName: params.tableName };
  const gsiUpdates: GlobalSecondaryIndexUpdate[] = [];
  const heldBack: string[] = [];
  const nextSlots: string[] = [];
  for (const u of params.updates) {
    const label = u.indexName === null ? 'table' : `index ${u.indexName}`;
    const pt =
      u.indexName === null
        ? table.ProvisionedThroughput
        : table.GlobalSecondaryIndexes?.find((g) => g.IndexName === u.indexName)?.ProvisionedThroughput;
    if (!pt) return { skip: `${label} not found in DescribeTable` };
    const curR = pt.ReadCapacityUnits ?? 0;
    const curW = pt.WriteCapacityUnits ?? 0;
    const read = pick(u.read, curR);
    const write = pick(u.write, curW);
    if (read === curR && write === curW) continue;
    if (params.direction === 'decrease') {
      const stale = staleDecrease(pt, u.plannedAt);
      if (stale) {
        heldBack.push(`${label}: ${stale}`);
        continue;
      }
      const allowance = decreaseAllowance(ledgerOf(pt), now);
      if (!allowance.allowedNow) {
        heldBack.push(
          `${label}: ${allowance.usedToday} decreases today, next decrease allowed at ${allowance.nextSlotAt}`,
        );
        nextSlots.push(allowance.nextSlotAt);
        continue;
      }
    }
    const throughput = { ReadCapacityUnits: read, WriteCapacityUnits: write };
    if (u.indexName === null) input.ProvisionedThroughput = throughput;
    else gsiUpdates.push({ Update: { IndexName: u.indexName, ProvisionedThroughput: throughput } });
  }
  if (gsiUpdates.length) input.GlobalSecondaryIndexUpdates = gsiUpdates;
  if (!input.ProvisionedThroughput && !gsiUpdates.length) {
    if (heldBack.length && !nextSlots.length) return { skip: heldBack.join('; ') };
    if (nextSlots.length) {
      return {
        defer: `decrease budget spent (as AWS counts it): ${heldBack.join('; ')}`,
        until: nextSlots.sort()[0] ?? now.toISOString(),
      };
    }
    return { skip: 'already at that capacity' };
  }
  return { input, heldBack };
}

export const applyDynamodbCapacity: Adapter = async (action: Action): Promise<ActResult> => {
  if (action.kind === 'set-capacity-mode') return applyCapacityMode(action);
  if (action.kind !== 'set-capacity' && action.kind !== 'prewarm') {
    return { status: 'skipped', reason: `the DynamoDB capacity adapter does not apply ${action.kind}` };
  }
  const parsed = capacityParamsSchema.safeParse(action.params);
  if (!parsed.success) {
    return {
      status: 'failed',
      reason: `invalid capacity action params: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    };
  }
  const params = parsed.data;
  let table: TableDescription | undefined;
  try {
    table = await describe(params.tableName);
    if (!table) return { status: 'skipped', reason: `table ${params.tableName} not found` };
    // aws-facts.md, DynamoDB: while the table is UPDATING no other UpdateTable is accepted.
    const touches = new Set(params.updates.map((u) => u.indexName ?? '').filter(Boolean));
    const busy = notActive(table, touches);
    if (busy) return { status: 'deferred', until: later(RETRY_MS), reason: `${busy}: waiting for ACTIVE` };
    if (table.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST') {
      return { status: 'skipped', reason: `table ${params.tableName} is on-demand` };
    }
    const planned = capacityUpdateInput(params, table, clock().now());
    if ('skip' in planned) return { status: 'skipped', reason: planned.skip };
    if ('defer' in planned) return { status: 'deferred', until: planned.until, reason: planned.defer };
    const { input, heldBack } = planned;
    await dynamodbClient().send(new UpdateTableCommand(input));
    const parts = [
      input.ProvisionedThroughput
        ? `table ${input.ProvisionedThroughput.ReadCapacityUnits} RCU / ${input.ProvisionedThroughput.WriteCapacityUnits} WCU`
        : undefined,
      ...(input.GlobalSecondaryIndexUpdates ?? []).map(
        (g) =>
          `${g.Update?.IndexName} ${g.Update?.ProvisionedThroughput?.ReadCapacityUnits} RCU / ${g.Update?.ProvisionedThroughput?.WriteCapacityUnits} WCU`,
      ),
    ].filter(Boolean);
    const held = heldBack.length ? `; held back (decrease budget): ${heldBack.join('; ')}` : '';
    return { status: 'applied', detail: `UpdateTable: ${parts.join(', ')}${held}` };
  } catch (error) {
    return translate(error, table, params.direction);
  }
};

async function applyCapacityMode(action: Action): Promise<ActResult> {
  const parsed = modeParamsSchema.safeParse(action.params);
  if (!parsed.success) {
    return {
      status: 'failed',
      reason: `invalid capacity mode params: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    };
  }
  const p = parsed.data;
  let table: TableDescription | undefined;
  try {
    table = await describe(p.tableName);
    if (!table) return { status: 'skipped', reason: `table ${p.tableName} not found` };
    const busy = notActive(table);
    if (busy) return { status: 'deferred', until: later(RETRY_MS), reason: `${busy}: waiting for ACTIVE` };
    const current = table.BillingModeSummary?.BillingMode ?? 'PROVISIONED';
    if (current === p.billingMode) return { status: 'skipped', reason: `already ${p.billingMode}` };
    const input: UpdateTableCommandInput = { TableName: p.tableName, BillingMode: p.billingMode };
    if (p.billingMode === 'PROVISIONED') {
      const tp = p.provisioned ?? { read: 5, write: 5 };
      const throughput = { ReadCapacityUnits: tp.read, WriteCapacityUnits: tp.write };
      input.ProvisionedThroughput = throughput;
      // UpdateTable API reference: switching to PROVISIONED needs throughput for every GSI too;
      // they start like the table (the capacity tuner lowers them after its stabilization window).
      // Each GSI from its own use when the advisor sized it; otherwise like the table (the
      // capacity tuner lowers it after its stabilization window).
      const gsis = table.GlobalSecondaryIndexes ?? [];
      if (gsis.length) {
        input.GlobalSecondaryIndexUpdates = gsis.map((g) => {
          const own = g.IndexName ? p.indexes?.[g.IndexName] : undefined;
          return {
            Update: {
              IndexName: g.IndexName,
              ProvisionedThroughput: own
                ? { ReadCapacityUnits: own.read, WriteCapacityUnits: own.write }
                : throughput,
            },
          };
        });
      }
    }
    await dynamodbClient().send(new UpdateTableCommand(input));
    return { status: 'applied', detail: `UpdateTable BillingMode ${p.billingMode}` };
  } catch (error) {
    return translate(error, table);
  }
}
