import {
  DynamoDBServiceException,
  LimitExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  DEFAULT_WORKLOAD_MIX,
  type DynamodbWorkloadMix,
  publishedCounts,
} from '../../backtest/models/dynamodb-workload.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, utcDay } from '../clock.ts';
import type { SimAccount } from '../engine.ts';
import { errorMetadata, serviceError } from '../errors.ts';
import { MinuteSeries, registerMetricResolver, seriesSource } from '../metrics.ts';
import { arr, decodeToken, num, page, readTags, rec, str, tagList } from '../paging.ts';
import { type Input, registerOperations } from '../registry.ts';
import { constant, type Workload } from '../workload.ts';

/**
 * Simulated DynamoDB: tables and GSIs with provisioned or on-demand capacity, the UpdateTable
 * rules of aws-facts.md (DynamoDB provisioned capacity) and a per-minute consumption model:
 *
 * - demand (capacity units per second, read and write separately) comes from the workload;
 * - provisioned capacity P serves up to P x 60 units a minute; unused capacity is banked, up to
 *   300 s worth (P x 300), and spent when demand exceeds P, so consumed can exceed provisioned
 *   while the bank lasts (aws-facts.md: "Burst capacity: up to 300 s of unused capacity is kept");
 * - what is not served is throttled: `<Read|Write>ProvisionedThroughputThrottleEvents`, counted
 *   per request and per batch item with the client's retries (the workload mix,
 *   shared/backtest/models/dynamodb-workload.ts), plus `<Read|Write>ThrottleEvents` and
 *   `ThrottledRequests` (a request once);
 * - a hot key: `hotKeyShare` of the demand goes to one partition, capped at 3,000 RCU / 1,000 WCU
 *   per second (aws-facts.md, adaptive capacity cap); the excess is throttled as
 *   `<Read|Write>KeyRangeThroughputThrottleEvents` whatever the table's utilization;
 * - on-demand tables serve all demand and are billed per request unit (`costUsd`).
 * Counters and consumed capacity have no datapoint in minutes without requests/throttles.
 */

export type BillingMode = 'PROVISIONED' | 'PAY_PER_REQUEST';

export interface DdbWorkload {
  /** Read demand in RCU per second. */
  read?: Workload;
  /** Write demand in WCU per second. */
  write?: Workload;
  /** Share of the demand that lands on one partition key (hot key), 0-1. */
  hotKeyShare?: number;
  /** Capacity units per item (default 1): converts units to request and event counts. */
  readUnitsPerRequest?: number;
  writeUnitsPerRequest?: number;
  /** Batches and client retries (default: the backtest's realistic mix, SDK default retries). */
  mix?: DynamodbWorkloadMix;
}

export interface GsiSpec {
  name: string;
  read?: number;
  write?: number;
  workload?: DdbWorkload;
}

export interface TableSpec {
  name: string;
  billingMode?: BillingMode;
  read?: number;
  write?: number;
  gsis?: GsiSpec[];
  tags?: Record<string, string>;
  itemCount?: number;
  sizeBytes?: number;
  workload?: DdbWorkload;
}

interface Budget {
  decreasesToday: number;
  dayKey: string;
  lastDecreaseAt?: number;
  lastIncreaseAt?: number;
}

interface CapacitySetting {
  from: number;
  billingMode: BillingMode;
  read: number;
  write: number;
}

export interface CapacityNode {
  /** Table name, or the index name for a GSI. */
  name: string;
  read: number;
  write: number;
  budget: Budget;
  status: string;
  timeline: CapacitySetting[];
  workload: DdbWorkload;
  series: MinuteSeries;
}

export interface DdbTable extends CapacityNode {
  arn: string;
  billingMode: BillingMode;
  gsis: Map<string, CapacityNode>;
  tags: Map<string, string>;
  createdAt: number;
  itemCount: number;
  sizeBytes: number;
  /** Times of switches to on-demand, for the 4-per-rolling-24 h rule. */
  toOnDemandAt: number[];
  lastUpdateToPayPerRequest?: number;
}

// aws-facts.md, DynamoDB: per-partition cap of adaptive capacity, 3,000 RCU / 1,000 WCU.
const PARTITION_CAP = { read: 3000, write: 1000 } as const;
// aws-facts.md, DynamoDB: 300 s of unused capacity kept for bursts.
const BURST_SECONDS = 300;
// aws-facts.md, DynamoDB: "Per table default max 40,000 RCU and 40,000 WCU ...; 80,000 per account".
export const TABLE_MAX_UNITS = 40_000;
export const ACCOUNT_MAX_UNITS = 80_000;
// aws-facts.md, DynamoDB prices (us-east-1).
const PRICE = { rcuHour: 0.00013, wcuHour: 0.00065, readPerMillion: 0.125, writePerMillion: 0.625 };

export class DynamoState {
  readonly tables = new Map<string, DdbTable>();
  durations = { updateMs: 60_000 };

  constructor(private readonly sim: SimAccount) {}

  addTable(spec: TableSpec): DdbTable {
    const createdAt = this.sim.historyStartMs;
    const billingMode = spec.billingMode ?? 'PROVISIONED';
    const table: DdbTable = {
      ...this.node(spec.name, billingMode, spec.read ?? 5, spec.write ?? 5, spec.workload ?? {}, createdAt),
      arn: this.sim.arn('dynamodb', `table/${spec.name}`),
      billingMode,
      gsis: new Map(),
      tags: new Map(Object.entries(spec.tags ?? {})),
      createdAt,
      itemCount: spec.itemCount ?? 100_000,
      sizeBytes: spec.sizeBytes ?? 50_000_000,
      toOnDemandAt: [],
    };
    for (const g of spec.gsis ?? []) {
      const workload = g.workload ?? { write: spec.workload?.write ?? constant(0) };
      table.gsis.set(g.name, this.node(g.name, billingMode, g.read ?? 5, g.write ?? 5, workload, createdAt));
    }
    this.tables.set(table.name, table);
    return table;
  }

  private node(
    name: string,
    billingMode: BillingMode,
    read: number,
    write: number,
    workload: DdbWorkload,
    createdAt: number,
  ): CapacityNode {
    const node: CapacityNode = {
      name,
      read,
      write,
      budget: { decreasesToday: 0, dayKey: utcDay(this.sim.nowMs()) },
      status: 'ACTIVE',
      timeline: [{ from: createdAt, billingMode, read, write }],
      workload,
      series: undefined as unknown as MinuteSeries,
    };
    node.series = new MinuteSeries(Math.floor(this.sim.historyStartMs / MINUTE_MS), consumptionStep(node));
    return node;
  }

  /** Cost in USD between two times: provisioned capacity-hours, or on-demand request units. */
  costUsd(tableName: string, fromMs: number, toMs: number): number {
    const table = this.tables.get(tableName);
    if (!table) return 0;
    let total = 0;
    for (const node of [table, ...table.gsis.values()]) {
      const read = seriesSource(this.sim, node.series, 'ConsumedReadCapacityUnits');
      const write = seriesSource(this.sim, node.series, 'ConsumedWriteCapacityUnits');
      for (let m = Math.floor(fromMs / MINUTE_MS); m < Math.floor(toMs / MINUTE_MS); m++) {
        const s = settingAt(node, m * MINUTE_MS);
        if (s.billingMode === 'PROVISIONED') {
          total += (s.read * PRICE.rcuHour + s.write * PRICE.wcuHour) / 60;
        } else {
          total +=
            ((read(m)?.value ?? 0) * PRICE.readPerMillion + (write(m)?.value ?? 0) * PRICE.writePerMillion) /
            1e6;
        }
      }
    }
    return total;
  }
}

function settingAt(node: CapacityNode, tMs: number): CapacitySetting {
  let s = node.timeline[0] as CapacitySetting;
  for (const c of node.timeline) if (c.from <= tMs) s = c;
  return s;
}

/**
 * The metric names of each dimension, spelled out once: a name built per minute is a new string
 * whose hash the metric columns compute again on every write.
 */
const DIMENSION_METRICS = {
  read: {
    provisioned: 'ProvisionedReadCapacityUnits',
    consumed: 'ConsumedReadCapacityUnits',
    provisionedThrottles: 'ReadProvisionedThroughputThrottleEvents',
    keyRangeThrottles: 'ReadKeyRangeThroughputThrottleEvents',
    throttles: 'ReadThrottleEvents',
  },
  write: {
    provisioned: 'ProvisionedWriteCapacityUnits',
    consumed: 'ConsumedWriteCapacityUnits',
    provisionedThrottles: 'WriteProvisionedThroughputThrottleEvents',
    keyRangeThrottles: 'WriteKeyRangeThroughputThrottleEvents',
    throttles: 'WriteThrottleEvents',
  },
} as const;

const DIMENSIONS = ['read', 'write'] as const;

function consumptionStep(node: CapacityNode) {
  const bank = { read: Number.NaN, write: Number.NaN };
  return (minute: number, out: { put(m: string, v: number | undefined, c?: number): void }) => {
    const t = minute * MINUTE_MS + MINUTE_MS - 1;
    const s = settingAt(node, t);
    let throttledRequests = 0;
    let servedRequests = 0;
    for (const dim of DIMENSIONS) {
      const names = DIMENSION_METRICS[dim];
      const perSecond = Math.max(0, node.workload[dim]?.(t) ?? 0);
      const upr =
        (dim === 'read' ? node.workload.readUnitsPerRequest : node.workload.writeUnitsPerRequest) ?? 1;
      let demand = perSecond * 60;
      let keyUnserved = 0;
      const share = node.workload.hotKeyShare ?? 0;
      if (share > 0) {
        keyUnserved = Math.max(0, perSecond * share - PARTITION_CAP[dim]) * 60;
        demand -= keyUnserved;
      }
      let consumed = demand;
      if (s.billingMode === 'PROVISIONED') {
        const p = s[dim];
        const perMinute = p * 60;
        let b = bank[dim];
        if (Number.isNaN(b)) b = p * BURST_SECONDS;
        if (demand <= perMinute) {
          b = Math.min(p * BURST_SECONDS, b + (perMinute - demand));
        } else {
          const extra = Math.min(demand - perMinute, b);
          b -= extra;
          consumed = perMinute + extra;
        }
        bank[dim] = b;
        out.put(names.provisioned, p);
      } else {
        bank[dim] = Number.NaN;
      }
      // Published as AWS counts it (the backtest's workload mix: per request and per batch item,
      // the SDK's default retries included): shared/backtest/models/dynamodb-workload.ts.
      const mix = node.workload.mix ?? DEFAULT_WORKLOAD_MIX;
      const prov = publishedCounts(demand, consumed, upr, mix);
      const key = publishedCounts(demand + keyUnserved, demand, upr, mix);
      const requests = prov.successfulRequests;
      servedRequests += requests;
      if (consumed > 0) out.put(names.consumed, consumed, Math.max(1, Math.round(requests)));
      const provEvents = Math.round(prov.throttleEvents);
      const keyEvents = Math.round(key.throttleEvents);
      if (provEvents > 0) out.put(names.provisionedThrottles, provEvents);
      if (keyEvents > 0) out.put(names.keyRangeThrottles, keyEvents);
      if (provEvents + keyEvents > 0) out.put(names.throttles, provEvents + keyEvents);
      throttledRequests += Math.round(prov.throttledRequests + key.throttledRequests);
    }
    if (throttledRequests > 0) out.put('ThrottledRequests', throttledRequests);
    if (servedRequests > 0)
      out.put('SuccessfulRequestLatency', 4.5 * servedRequests, Math.round(servedRequests));
  };
}

const meta = errorMetadata;

function tableNotFound(name: string): Error {
  // DynamoDB API reference, DescribeTable/UpdateTable errors: ResourceNotFoundException.
  return new ResourceNotFoundException({
    message: `Requested resource not found: Table: ${name} not found`,
    $metadata: meta(),
  });
}

function validation(message: string): Error {
  return serviceError(DynamoDBServiceException, 'ValidationException', message);
}

function mustGetTable(sim: SimAccount, name: string | undefined): DdbTable {
  const byArn = name?.startsWith('arn:') ? name.split('/')[1] : name;
  const t = byArn ? sim.dynamodb.tables.get(byArn) : undefined;
  if (!t || !byArn) throw tableNotFound(byArn ?? '');
  return t;
}

function rollDay(node: CapacityNode, now: number): void {
  const today = utcDay(now);
  if (node.budget.dayKey !== today) node.budget = { ...node.budget, dayKey: today, decreasesToday: 0 };
}

/** aws-facts.md, DynamoDB: 4 decreases at any time in a UTC day, then 1 more after an hour without one. */
export function decreaseAllowed(node: CapacityNode, now: number): boolean {
  rollDay(node, now);
  if (node.budget.decreasesToday < 4) return true;
  return node.budget.lastDecreaseAt === undefined || now - node.budget.lastDecreaseAt >= HOUR_MS;
}

function throughputView(node: CapacityNode, billing: BillingMode, now: number): Record<string, unknown> {
  rollDay(node, now);
  return {
    ReadCapacityUnits: billing === 'PROVISIONED' ? node.read : 0,
    WriteCapacityUnits: billing === 'PROVISIONED' ? node.write : 0,
    NumberOfDecreasesToday: node.budget.decreasesToday,
    LastDecreaseDateTime:
      node.budget.lastDecreaseAt !== undefined ? new Date(node.budget.lastDecreaseAt) : undefined,
    LastIncreaseDateTime:
      node.budget.lastIncreaseAt !== undefined ? new Date(node.budget.lastIncreaseAt) : undefined,
  };
}

export function describeTableView(sim: SimAccount, t: DdbTable): Record<string, unknown> {
  const now = sim.nowMs();
  return {
    TableName: t.name,
    TableArn: t.arn,
    TableId: `sim-${t.name}`,
    TableStatus: t.status,
    CreationDateTime: new Date(t.createdAt),
    ItemCount: t.itemCount,
    TableSizeBytes: t.sizeBytes,
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    BillingModeSummary: {
      BillingMode: t.billingMode,
      LastUpdateToPayPerRequestDateTime:
        t.lastUpdateToPayPerRequest !== undefined ? new Date(t.lastUpdateToPayPerRequest) : undefined,
    },
    ProvisionedThroughput: throughputView(t, t.billingMode, now),
    GlobalSecondaryIndexes:
      t.gsis.size > 0
        ? [...t.gsis.values()].map((g) => ({
            IndexName: g.name,
            IndexArn: `${t.arn}/index/${g.name}`,
            IndexStatus: g.status,
            KeySchema: [{ AttributeName: `${g.name}_pk`, KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
            ProvisionedThroughput: throughputView(g, t.billingMode, now),
          }))
        : undefined,
  };
}

interface CapacityChange {
  node: CapacityNode;
  label: string;
  read: number;
  write: number;
}

function readThroughput(v: unknown, label: string): { read: number; write: number } {
  const pt = rec(v);
  const read = num(pt.ReadCapacityUnits);
  const write = num(pt.WriteCapacityUnits);
  // DynamoDB API reference, ProvisionedThroughput: both required, minimum 1.
  if (read === undefined || write === undefined) {
    throw validation(
      `One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits are required for ${label}`,
    );
  }
  if (!Number.isInteger(read) || !Number.isInteger(write) || read < 1 || write < 1) {
    throw validation(
      `One or more parameter values were invalid: Provisioned throughput for ${label} must be whole numbers of at least 1 (ReadCapacityUnits ${read}, WriteCapacityUnits ${write})`,
    );
  }
  return { read, write };
}

/**
 * UpdateTable as DynamoDB answers it: the table must be idle and the request well formed -> a
 * billing-mode switch (to on-demand: counted against its daily limit; to provisioned: with every
 * node's throughput) or capacity changes, each checked against AWS's limits (per table, unchanged
 * value, daily decreases, the account's total) before any is applied.
 */
function updateTable(sim: SimAccount, input: Input): object {
  const t = mustGetTable(sim, str(input.TableName));
  const now = sim.nowMs();
  checkTableIdle(t);
  const billing = str(input.BillingMode) as BillingMode | undefined;
  const gsiUpdates = arr(input.GlobalSecondaryIndexUpdates).map(rec);
  checkUpdateRequest(t, input, billing, gsiUpdates);
  if (billing === 'PAY_PER_REQUEST' && t.billingMode === 'PROVISIONED') {
    switchToOnDemand(sim, t, now);
    return { TableDescription: describeTableView(sim, t) };
  }
  const changes = requestedChanges(t, input, gsiUpdates);
  if (billing === 'PROVISIONED' && t.billingMode === 'PAY_PER_REQUEST') {
    switchToProvisioned(sim, t, changes);
    return { TableDescription: describeTableView(sim, t) };
  }
  checkCapacityChanges(t, changes, now);
  checkAccountLimit(sim, changes);
  applyCapacityChanges(sim, t, changes, now);
  return { TableDescription: describeTableView(sim, t) };
}

/** aws-facts.md, DynamoDB: "While the table is UPDATING no other UpdateTable is accepted." */
function checkTableIdle(t: DdbTable): void {
  // Message as DynamoDB returns it (ResourceInUseException).
  if (t.status !== 'ACTIVE' || [...t.gsis.values()].some((g) => g.status !== 'ACTIVE')) {
    throw new ResourceInUseException({
      message: `Attempt to change a resource which is still in use: Table is being updated: ${t.name}`,
      $metadata: meta(),
    });
  }
}

/** Something to change, and no throughput for a table that is (or becomes) on-demand. */
function checkUpdateRequest(
  t: DdbTable,
  input: Input,
  billing: BillingMode | undefined,
  gsiUpdates: Array<Record<string, unknown>>,
): void {
  if (input.ProvisionedThroughput === undefined && billing === undefined && gsiUpdates.length === 0) {
    throw validation(
      'At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required',
    );
  }
  const targetMode = billing ?? t.billingMode;
  if (
    targetMode === 'PAY_PER_REQUEST' &&
    (input.ProvisionedThroughput !== undefined || gsiUpdates.length > 0)
  ) {
    // DynamoDB API reference, UpdateTable: throughput is not allowed in on-demand mode.
    throw validation(
      'One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
    );
  }
}

/** aws-facts.md, DynamoDB: provisioned -> on-demand up to 4 times in a rolling 24 h. */
function switchToOnDemand(sim: SimAccount, t: DdbTable, now: number): void {
  const recent = t.toOnDemandAt.filter((x) => now - x < DAY_MS);
  if (recent.length >= 4) {
    throw new LimitExceededException({
      message: `Subscriber limit exceeded: Updates to PayPerRequest have been attempted 4 times in the last 24 hours for table ${t.name}.`,
      $metadata: meta(),
    });
  }
  t.toOnDemandAt.push(now);
  t.lastUpdateToPayPerRequest = now;
  setMode(sim, t, 'PAY_PER_REQUEST');
}

/** The table's and its indexes' requested throughput (only Update of an existing index). */
function requestedChanges(
  t: DdbTable,
  input: Input,
  gsiUpdates: Array<Record<string, unknown>>,
): CapacityChange[] {
  const changes: CapacityChange[] = [];
  if (input.ProvisionedThroughput !== undefined) {
    changes.push({
      node: t,
      label: `table ${t.name}`,
      ...readThroughput(input.ProvisionedThroughput, `table ${t.name}`),
    });
  }
  for (const u of gsiUpdates) {
    const update = rec(u.Update);
    if (u.Create !== undefined || u.Delete !== undefined) {
      throw validation('The simulated account supports only Update in GlobalSecondaryIndexUpdates');
    }
    const name = str(update.IndexName) ?? '';
    const g = t.gsis.get(name);
    // DynamoDB API reference, UpdateTable errors: ResourceNotFoundException for an unknown index.
    if (!g)
      throw new ResourceNotFoundException({
        message: `Requested resource not found: Index: ${name} not found`,
        $metadata: meta(),
      });
    changes.push({
      node: g,
      label: `index ${name}`,
      ...readThroughput(update.ProvisionedThroughput, `index ${name}`),
    });
  }
  return changes;
}

/** aws-facts.md, DynamoDB: on-demand -> provisioned any time, with the table's and every index's throughput. */
function switchToProvisioned(sim: SimAccount, t: DdbTable, changes: CapacityChange[]): void {
  if (!changes.some((c) => c.node === t)) {
    throw validation(
      'One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED',
    );
  }
  for (const g of t.gsis.values()) {
    if (!changes.some((c) => c.node === g)) {
      throw validation(
        `One or more parameter values were invalid: ProvisionedThroughput must be specified for index: ${g.name} when BillingMode is PROVISIONED`,
      );
    }
  }
  for (const c of changes) {
    c.node.read = c.read;
    c.node.write = c.write;
  }
  setMode(sim, t, 'PROVISIONED');
}

/** Each change within the per-table maximum, an actual change, and (a decrease) within the day's budget. */
function checkCapacityChanges(t: DdbTable, changes: CapacityChange[], now: number): void {
  for (const c of changes) {
    // aws-facts.md, DynamoDB: per table default max 40,000 RCU and 40,000 WCU.
    if (c.read > TABLE_MAX_UNITS || c.write > TABLE_MAX_UNITS) {
      throw new LimitExceededException({
        message: `Subscriber limit exceeded: Provisioned throughput for ${c.label} cannot exceed ${TABLE_MAX_UNITS} read or write capacity units (requested ReadCapacityUnits ${c.read}, WriteCapacityUnits ${c.write}).`,
        $metadata: meta(),
      });
    }
    if (c.read === c.node.read && c.write === c.node.write) {
      // Message as DynamoDB returns it for an unchanged value (ValidationException).
      throw validation(
        `The provisioned throughput for the ${c.node === t ? 'table' : 'index'} will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the ${c.label}: ${c.node.read}. Requested ReadCapacityUnits: ${c.read}. Current WriteCapacityUnits provisioned for the ${c.label}: ${c.node.write}. Requested WriteCapacityUnits: ${c.write}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.`,
      );
    }
  }
  // aws-facts.md, DynamoDB: a request that decreases table and GSI "is rejected whole if either is over".
  for (const c of changes) {
    const decreases = c.read < c.node.read || c.write < c.node.write;
    if (decreases && !decreaseAllowed(c.node, now)) {
      const last = c.node.budget.lastDecreaseAt ?? now;
      // Message as DynamoDB returns it (LimitExceededException, "Subscriber limit exceeded: ...").
      throw new LimitExceededException({
        message: `Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: ${c.node.budget.decreasesToday}. Last decrease at ${new Date(last).toISOString()}. Next decrease can be made at ${new Date(last + HOUR_MS).toISOString()} (${c.label})`,
        $metadata: meta(),
      });
    }
  }
}

/** aws-facts.md, DynamoDB: 80,000 RCU / WCU per account, counted with the changes applied. */
function checkAccountLimit(sim: SimAccount, changes: CapacityChange[]): void {
  let totalRead = 0;
  let totalWrite = 0;
  for (const table of sim.dynamodb.tables.values()) {
    if (table.billingMode !== 'PROVISIONED') continue;
    for (const n of [table, ...table.gsis.values()]) {
      const c = changes.find((x) => x.node === n);
      totalRead += c ? c.read : n.read;
      totalWrite += c ? c.write : n.write;
    }
  }
  if (totalRead > ACCOUNT_MAX_UNITS || totalWrite > ACCOUNT_MAX_UNITS) {
    throw new LimitExceededException({
      message: `Subscriber limit exceeded: the account's provisioned throughput would exceed ${ACCOUNT_MAX_UNITS} read or write capacity units.`,
      $metadata: meta(),
    });
  }
}

/**
 * Accepted: the new throughput set, the decrease/increase budget counted, the table UPDATING until
 * `updateMs` later. A request that raises one dimension and lowers another is accepted by AWS and
 * counts as a decrease (and an increase); db-autopilot never sends one (aws-facts.md,
 * dynamic-dynamodb #103).
 */
function applyCapacityChanges(sim: SimAccount, t: DdbTable, changes: CapacityChange[], now: number): void {
  for (const c of changes) {
    const decreases = c.read < c.node.read || c.write < c.node.write;
    const increases = c.read > c.node.read || c.write > c.node.write;
    rollDay(c.node, now);
    if (decreases) {
      c.node.budget.decreasesToday += 1;
      c.node.budget.lastDecreaseAt = now;
    }
    if (increases) c.node.budget.lastIncreaseAt = now;
    c.node.read = c.read;
    c.node.write = c.write;
    c.node.status = 'UPDATING';
  }
  t.status = 'UPDATING';
  sim.after(sim.dynamodb.durations.updateMs, () => {
    t.status = 'ACTIVE';
    for (const c of changes) {
      c.node.status = 'ACTIVE';
      c.node.timeline.push({ from: sim.nowMs(), billingMode: t.billingMode, read: c.read, write: c.write });
    }
  });
}

function setMode(sim: SimAccount, t: DdbTable, mode: BillingMode): void {
  t.status = 'UPDATING';
  sim.after(sim.dynamodb.durations.updateMs, () => {
    t.billingMode = mode;
    t.status = 'ACTIVE';
    for (const n of [t, ...t.gsis.values()]) {
      n.timeline.push({ from: sim.nowMs(), billingMode: mode, read: n.read, write: n.write });
    }
  });
}

function listTables(sim: SimAccount, input: Input): object {
  const names = [...sim.dynamodb.tables.keys()].sort();
  const limit = num(input.Limit) ?? 100;
  // DynamoDB API reference, ListTables: Limit 1-100.
  if (limit < 1 || limit > 100)
    throw validation(
      `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100`,
    );
  const start = str(input.ExclusiveStartTableName);
  const from = start ? names.findIndex((n) => n > start) : 0;
  const slice = from < 0 ? [] : names.slice(from, from + limit);
  const more = from >= 0 && from + limit < names.length;
  return { TableNames: slice, LastEvaluatedTableName: more ? slice.at(-1) : undefined };
}

function listTagsOfResource(sim: SimAccount, input: Input): object {
  const t = mustGetTable(sim, str(input.ResourceArn));
  const scope = `ddb-tags:${t.name}`;
  const p = page(tagList(t.tags), decodeToken(str(input.NextToken), scope) ?? 0, 50, scope);
  return { Tags: p.items, NextToken: p.next };
}

registerOperations('dynamodb', {
  // DynamoDB API reference, DescribeLimits; aws-facts.md, DynamoDB: 40,000 per table, 80,000 per account.
  DescribeLimits: () => ({
    AccountMaxReadCapacityUnits: ACCOUNT_MAX_UNITS,
    AccountMaxWriteCapacityUnits: ACCOUNT_MAX_UNITS,
    TableMaxReadCapacityUnits: TABLE_MAX_UNITS,
    TableMaxWriteCapacityUnits: TABLE_MAX_UNITS,
  }),
  ListTables: listTables,
  DescribeTable: (sim, input) => ({ Table: describeTableView(sim, mustGetTable(sim, str(input.TableName))) }),
  UpdateTable: updateTable,
  ListTagsOfResource: listTagsOfResource,
  TagResource: (sim, input) => {
    const t = mustGetTable(sim, str(input.ResourceArn));
    for (const [k, v] of readTags(input.Tags)) t.tags.set(k, v);
    return {};
  },
  UntagResource: (sim, input) => {
    const t = mustGetTable(sim, str(input.ResourceArn));
    for (const k of arr(input.TagKeys)) t.tags.delete(String(k));
    return {};
  },
});

registerMetricResolver('AWS/DynamoDB', (sim, metric, dims) => {
  const t = dims.TableName ? sim.dynamodb.tables.get(dims.TableName) : undefined;
  if (!t) return undefined;
  const node = dims.GlobalSecondaryIndexName ? t.gsis.get(dims.GlobalSecondaryIndexName) : t;
  return node ? seriesSource(sim, node.series, metric) : undefined;
});
