/**
 * Capacity mode advisor: provisioned or on-demand, whichever costs less per month over the
 * observed use at equal service. Provisioned is priced from the capacity the table had
 * (ProvisionedRead/WriteCapacityUnits) where that served its use, at each period's peak over the
 * target where it did not or where nothing is known (`pricedSchedule`).
 * Pure: (usage, config, prices, history, now) -> Plan.
 *
 * Rules (aws-facts.md, DynamoDB provisioned capacity; DynamoDB Developer Guide, "Considerations
 * when switching capacity modes"): provisioned -> on-demand at most 4 times in a rolling 24 h
 * (older rule: once a day); on-demand -> provisioned any time. CloudWatch keeps 300 s data for
 * 63 days and 1 h data for 455 days, so 14 days at either period is available (aws-facts.md, CloudWatch).
 * Prices: shared/pricing.ts (us-east-1 list prices; the config's `prices` override them).
 * On-demand bills one read request unit per 4 KB strongly consistent read and one write request
 * unit per 1 KB write, the same units ConsumedRead/WriteCapacityUnits count.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { Action, Evidence, Plan, ResourceRef } from '../core/model.ts';
import { HOURS_PER_MONTH, type PriceTable, price } from '../pricing.ts';
import type { CapacityPair, TableClass } from './dynamodb-observation.ts';
import { dynamodbPriceKey } from './dynamodb-price.ts';

export const AWS_MAX_SWITCHES_TO_ON_DEMAND_PER_24H = 4;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export type BillingMode = 'PROVISIONED' | 'PAY_PER_REQUEST';

/** Use of one table (GSIs summed in), per period, oldest first; the last period ends at `end`. */
export interface UsageSeries {
  periodSeconds: number;
  end: string;
  /** Sum of consumed read / write units per period (null = no datapoint: counted as unknown). */
  readUnits: Array<number | null>;
  writeUnits: Array<number | null>;
  /** Peak per-second rate within each period (Maximum of the per-minute sums / 60), if known. */
  readPeakPerSecond?: Array<number | null>;
  writePeakPerSecond?: Array<number | null>;
  /**
   * Capacity the table had in each period (ProvisionedRead/WriteCapacityUnits, Average; GSIs
   * summed in), if known; null = not provisioned then (on-demand) or unknown.
   */
  readProvisioned?: Array<number | null>;
  writeProvisioned?: Array<number | null>;
  /** The part of each period's units that went unserved (throttled, estimated), if known. */
  readUnservedUnits?: Array<number | null>;
  writeUnservedUnits?: Array<number | null>;
}

export interface ModeSwitch {
  at: string;
  to: BillingMode;
}

export interface ModeCosts {
  provisionedMonthly: number;
  onDemandMonthly: number;
  /** Average provisioned capacity we would run, and average use, in units per second. */
  avgProvisioned: CapacityPair;
  avgUsed: CapacityPair;
  /** Capacity db-autopilot would provision for the latest period. */
  lastProvisioned: CapacityPair;
  /** Share of the known periods (read and write) priced from the capacity the table had. */
  fromHistory: number;
  coverage: number;
  hoursCovered: number;
}

/** Utilization below which on-demand is cheaper for a steady load at fixed provisioned capacity. */
export function breakEvenUtilization(
  prices: PriceTable,
  dim: 'read' | 'write',
  tableClass?: TableClass,
): number {
  const hourly = price(prices, dynamodbPriceKey(dim === 'read' ? 'rcuHour' : 'wcuHour', tableClass));
  const perMillion = price(
    prices,
    dynamodbPriceKey(dim === 'read' ? 'onDemandReadPerMillion' : 'onDemandWritePerMillion', tableClass),
  );
  // One unit provisioned for an hour at utilization u serves 3600 u request units.
  return hourly / ((3600 * perMillion) / 1e6);
}

/** Monthly costs of a given provisioned schedule and of on-demand for the same use. */
export function monthlyCostsFor(
  periodSeconds: number,
  provisioned: CapacityPair[],
  used: Array<{ read: number; write: number }>,
  prices: PriceTable,
  tableClass?: TableClass,
): { provisionedMonthly: number; onDemandMonthly: number } {
  const hours = (used.length * periodSeconds) / 3600;
  if (hours <= 0) return { provisionedMonthly: 0, onDemandMonthly: 0 };
  let prov = 0;
  let od = 0;
  const rcu = price(prices, dynamodbPriceKey('rcuHour', tableClass));
  const wcu = price(prices, dynamodbPriceKey('wcuHour', tableClass));
  const rru = price(prices, dynamodbPriceKey('onDemandReadPerMillion', tableClass)) / 1e6;
  const wru = price(prices, dynamodbPriceKey('onDemandWritePerMillion', tableClass)) / 1e6;
  for (let i = 0; i < used.length; i++) {
    const p = provisioned[i] ?? { read: 0, write: 0 };
    const u = used[i] ?? { read: 0, write: 0 };
    prov += (p.read * rcu + p.write * wcu) * (periodSeconds / 3600);
    od += u.read * rru + u.write * wru;
  }
  const scale = HOURS_PER_MONTH / hours;
  return { provisionedMonthly: prov * scale, onDemandMonthly: od * scale };
}

/**
 * The capacity db-autopilot would provision in each period: the period's peak rate (or its
 * average when no peak is known) over the target utilization, within the bounds; decreases
 * only once the stabilization window has passed (kept as "the max over the window").
 */
export function provisionedSchedule(usage: UsageSeries, config: DynamodbConfig): CapacityPair[] {
  const n = usage.readUnits.length;
  const windowPeriods = Math.max(
    1,
    Math.ceil((config.scaleDownStabilizationMinutes * 60) / usage.periodSeconds),
  );
  const need = (dim: 'read' | 'write', i: number): number => {
    const peak = (dim === 'read' ? usage.readPeakPerSecond : usage.writePeakPerSecond)?.[i];
    const sumUnits = (dim === 'read' ? usage.readUnits : usage.writeUnits)[i];
    const rate = peak ?? (sumUnits ?? 0) / usage.periodSeconds;
    return Math.ceil(rate / config.targetUtilization);
  };
  const out: CapacityPair[] = [];
  for (let i = 0; i < n; i++) {
    const pair: CapacityPair = { read: 0, write: 0 };
    for (const dim of ['read', 'write'] as const) {
      let m = 0;
      for (let j = Math.max(0, i - windowPeriods + 1); j <= i; j++) m = Math.max(m, need(dim, j));
      pair[dim] = Math.min(config.maxCapacity, Math.max(config.minCapacity, m));
    }
    out.push(pair);
  }
  return out;
}

/**
 * The capacity to price in one period at the service on-demand gives. A period the table served
 * whole: what it had (no more than full service needed: an over-provisioned table is priced as
 * db-autopilot would run it). A period where it left use unserved: full service (its peak over
 * the target), since the capacity it lacked had to be there before the demand came, which the
 * history does not show a policy could do. No history (on-demand, unknown): full service.
 */
export function equalServiceCapacity(
  had: number | null | undefined,
  unservedUnits: number | null | undefined,
  full: number,
): number {
  if (had === null || had === undefined || !Number.isFinite(had)) return full;
  if ((unservedUnits ?? 0) > 0) return full;
  return Math.min(Math.max(0, had), full);
}

/** Whether period i of a dimension is priced from what the table had (known, nothing unserved). */
function servedFromHistory(usage: UsageSeries, dim: 'read' | 'write', i: number): boolean {
  const had = (dim === 'read' ? usage.readProvisioned : usage.writeProvisioned)?.[i];
  const lost = (dim === 'read' ? usage.readUnservedUnits : usage.writeUnservedUnits)?.[i] ?? 0;
  return had !== null && had !== undefined && Number.isFinite(had) && lost <= 0;
}

/**
 * The provisioned capacity priced in each period. With the table's provisioned-capacity history
 * (ProvisionedRead/WriteCapacityUnits), what its capacity policy really ran (holds after peaks and
 * AWS's decrease limits included) where it served its use, full service where it did not
 * (`equalServiceCapacity`); without it (on-demand periods, unknown), what full service
 * needs (`provisionedSchedule`: each period's peak over the target).
 */
export function pricedSchedule(usage: UsageSeries, config: DynamodbConfig): CapacityPair[] {
  const full = provisionedSchedule(usage, config);
  return full.map((need, i) => ({
    read: equalServiceCapacity(usage.readProvisioned?.[i], usage.readUnservedUnits?.[i], need.read),
    write: equalServiceCapacity(usage.writeProvisioned?.[i], usage.writeUnservedUnits?.[i], need.write),
  }));
}

export function compareModes(
  usage: UsageSeries,
  config: DynamodbConfig,
  prices: PriceTable,
  tableClass?: TableClass,
): ModeCosts {
  const full = provisionedSchedule(usage, config);
  const schedule = pricedSchedule(usage, config);
  const known: number[] = [];
  for (let i = 0; i < usage.readUnits.length; i++) {
    if (usage.readUnits[i] !== null || usage.writeUnits[i] !== null) known.push(i);
  }
  const used = known.map((i) => ({ read: usage.readUnits[i] ?? 0, write: usage.writeUnits[i] ?? 0 }));
  const prov = known.map((i) => schedule[i] ?? { read: config.minCapacity, write: config.minCapacity });
  const costs = monthlyCostsFor(usage.periodSeconds, prov, used, prices, tableClass);
  const n = Math.max(1, known.length);
  const fromHistory = known.reduce(
    (sum, i) =>
      sum +
      (servedFromHistory(usage, 'read', i) ? 0.5 : 0) +
      (servedFromHistory(usage, 'write', i) ? 0.5 : 0),
    0,
  );
  return {
    ...costs,
    avgProvisioned: {
      read: prov.reduce((s, p) => s + p.read, 0) / n,
      write: prov.reduce((s, p) => s + p.write, 0) / n,
    },
    avgUsed: {
      read: used.reduce((s, u) => s + u.read, 0) / n / usage.periodSeconds,
      write: used.reduce((s, u) => s + u.write, 0) / n / usage.periodSeconds,
    },
    lastProvisioned: full[full.length - 1] ?? { read: config.minCapacity, write: config.minCapacity },
    fromHistory: fromHistory / n,
    coverage: usage.readUnits.length ? known.length / usage.readUnits.length : 0,
    hoursCovered: (known.length * usage.periodSeconds) / 3600,
  };
}

export interface ModeAdvisorInput {
  tableName: string;
  tableRef?: ResourceRef;
  billingMode: BillingMode;
  usage: UsageSeries;
  config: DynamodbConfig;
  prices: PriceTable;
  now: Date;
  /** Past switches of this table (ours and others': BillingModeSummary, recorded decisions). */
  switches: ModeSwitch[];
  /** DescribeTable TableClassSummary (Standard-IA has its own prices). */
  tableClass?: TableClass;
  /**
   * Each GSI's own use (its Consumed* series): switching to provisioned sizes every GSI from
   * its own use, not the table's total. Without it, GSIs start like the table.
   */
  indexUsage?: Array<{ indexName: string; usage: UsageSeries }>;
  /** The table's own use without its GSIs (sizes the table when indexUsage is given). */
  tableUsage?: UsageSeries;
}

/** Starting capacity per resource when switching to provisioned: each from its own use. */
export function initialProvisioned(
  input: Pick<ModeAdvisorInput, 'usage' | 'tableUsage' | 'indexUsage' | 'config'>,
  fallback: CapacityPair,
): { table: CapacityPair; indexes?: Record<string, CapacityPair> } {
  const last = (u: UsageSeries): CapacityPair => {
    const s = provisionedSchedule(u, input.config);
    return s[s.length - 1] ?? { read: input.config.minCapacity, write: input.config.minCapacity };
  };
  if (!input.indexUsage?.length) return { table: fallback };
  return {
    table: input.tableUsage ? last(input.tableUsage) : fallback,
    indexes: Object.fromEntries(input.indexUsage.map((g) => [g.indexName, last(g.usage)])),
  };
}

export interface ModeAdvice {
  plan: Plan;
  costs: ModeCosts;
  /** The cheaper mode beyond the margin, or null when the difference is within it. */
  better: BillingMode | null;
  switchAllowed: boolean;
  whyNotSwitch?: string;
}

/** Why a switch is not allowed now, or undefined when it is. */
export function switchBlockedBecause(
  to: BillingMode,
  switches: readonly ModeSwitch[],
  config: DynamodbConfig,
  now: Date,
): string | undefined {
  const a = config.modeAdvisor;
  if (!a.allowSwitch) return 'the config does not allow switching (modeAdvisor.allowSwitch: false)';
  const t = now.getTime();
  const last = switches.reduce((m, s) => Math.max(m, Date.parse(s.at)), Number.NEGATIVE_INFINITY);
  if (Number.isFinite(last) && t - last < a.minHoursBetweenSwitches * HOUR_MS) {
    return `last switch at ${new Date(last).toISOString()}, less than ${a.minHoursBetweenSwitches} h ago`;
  }
  if (to === 'PAY_PER_REQUEST') {
    const recent = switches.filter((s) => s.to === 'PAY_PER_REQUEST' && t - Date.parse(s.at) < DAY_MS).length;
    // AWS: at most 4 switches to on-demand in a rolling 24 h (aws-facts.md); ours may be lower.
    const cap = Math.min(AWS_MAX_SWITCHES_TO_ON_DEMAND_PER_24H, a.maxSwitchesToOnDemandPer24h);
    if (recent >= cap) return `${recent} switch(es) to on-demand in the last 24 h (limit ${cap})`;
  }
  return undefined;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function modeEvidence(tableName: string, costs: ModeCosts, window: Evidence['window']): Evidence[] {
  return [
    {
      metric: 'monthly cost, provisioned at equal service',
      statistic: 'estimate',
      value: round2(costs.provisionedMonthly),
      unit: 'USD',
      window,
    },
    {
      metric: 'periods priced from the capacity the table had (ProvisionedCapacityUnits, no throttling)',
      statistic: 'share',
      value: round2(costs.fromHistory * 100),
      unit: 'Percent',
      window,
    },
    {
      metric: 'monthly cost, on-demand',
      statistic: 'estimate',
      value: round2(costs.onDemandMonthly),
      unit: 'USD',
      window,
    },
    {
      metric: 'ConsumedReadCapacityUnits',
      statistic: 'average per second',
      value: round2(costs.avgUsed.read),
      unit: 'units/s',
      window,
      namespace: 'AWS/DynamoDB',
      dimensions: { TableName: tableName },
    },
    {
      metric: 'ConsumedWriteCapacityUnits',
      statistic: 'average per second',
      value: round2(costs.avgUsed.write),
      unit: 'units/s',
      window,
      namespace: 'AWS/DynamoDB',
      dimensions: { TableName: tableName },
    },
  ];
}

export function adviseCapacityMode(input: ModeAdvisorInput): ModeAdvice {
  const { config, usage, now, prices } = input;
  const ref: ResourceRef = input.tableRef ?? { kind: 'dynamodb-table', id: input.tableName };
  const costs = compareModes(usage, config, prices, input.tableClass);
  const plan: Plan = { tuner: 'dynamodb-mode', resource: ref, observedAt: now.toISOString(), actions: [] };
  const end = Date.parse(usage.end);
  const window = {
    start: new Date(end - usage.readUnits.length * usage.periodSeconds * 1000).toISOString(),
    end: usage.end,
    periodSeconds: usage.periodSeconds,
  };
  const evidence = modeEvidence(input.tableName, costs, window);
  const a = config.modeAdvisor;
  if (costs.coverage < a.minCoverage || costs.hoursCovered < a.minHistoryHours) {
    plan.noopReason = `not enough history to advise (${costs.hoursCovered.toFixed(1)} h with data, ${Math.round(costs.coverage * 100)}% coverage; needs ${a.minHistoryHours} h and ${Math.round(a.minCoverage * 100)}%)`;
    plan.noopEvidence = evidence;
    return { plan, costs, better: null, switchAllowed: false };
  }
  const { provisionedMonthly: p, onDemandMonthly: o } = costs;
  let better: BillingMode | null = null;
  if (o < p * (1 - a.marginFraction)) better = 'PAY_PER_REQUEST';
  else if (p < o * (1 - a.marginFraction)) better = 'PROVISIONED';
  const current = input.billingMode;
  if (better === null || better === current) {
    plan.noopReason = `${current === 'PROVISIONED' ? 'provisioned' : 'on-demand'} is the right mode: provisioned $${p.toFixed(2)}/month vs on-demand $${o.toFixed(2)}/month (margin ${Math.round(a.marginFraction * 100)}%)`;
    plan.noopEvidence = evidence;
    return { plan, costs, better, switchAllowed: false };
  }
  const saving = better === 'PAY_PER_REQUEST' ? p - o : o - p;
  const label = better === 'PAY_PER_REQUEST' ? 'on-demand' : 'provisioned';
  const blocked = switchBlockedBecause(better, input.switches, config, now);
  // Start provisioned at what the latest period needs (the capacity tuner takes over from there).
  const initial = initialProvisioned(input, costs.lastProvisioned);
  const reason = `${input.tableName} costs $${saving.toFixed(2)}/month less on ${label}: provisioned at equal service $${p.toFixed(2)} (${Math.round(costs.fromHistory * 100)}% of periods priced from the capacity it had, the rest at their peak over the target) vs on-demand $${o.toFixed(2)} over ${Math.round(costs.hoursCovered / 24)} days of use (average use ${round2(costs.avgUsed.read)} RCU/s, ${round2(costs.avgUsed.write)} WCU/s)`;
  const action: Action = {
    tuner: 'dynamodb-mode',
    resource: ref,
    kind: blocked ? 'recommend' : 'set-capacity-mode',
    from: current,
    to: better,
    reason: blocked ? `${reason}; not switched: ${blocked}` : reason,
    evidence,
    monthlyCostDelta: -round2(saving),
    undo: blocked
      ? null
      : {
          kind: 'set-capacity-mode',
          params: {
            tableName: input.tableName,
            billingMode: current,
            provisioned: initial.table,
            ...(initial.indexes ? { indexes: initial.indexes } : {}),
          },
        },
    mutating: !blocked,
    params: {
      tableName: input.tableName,
      billingMode: better,
      ...(better === 'PROVISIONED'
        ? { provisioned: initial.table, ...(initial.indexes ? { indexes: initial.indexes } : {}) }
        : {}),
      monthlySaving: round2(saving),
    },
    rules: blocked
      ? undefined
      : [
          {
            rule: 'aws:dynamodb-on-demand-switches-24h',
            verdict: 'ok',
            reason: 'within 4 switches to on-demand per 24 h',
          },
        ],
    severity: 'info',
  };
  plan.actions.push(action);
  return { plan, costs, better, switchAllowed: !blocked, whyNotSwitch: blocked };
}
