/**
 * DynamoDB provisioned capacity: how much to provision, per table and per GSI, read and write
 * separately. Pure: (observation, config, floors, now) -> Plan. No SDK, no clock.
 *
 * Rules enforced here (aws-facts.md, DynamoDB provisioned capacity; DynamoDB Developer Guide,
 * "Service, account, and table quotas" and the UpdateTable API reference):
 * - per table 40,000 RCU and 40,000 WCU by default, GSIs included; 80,000 per account; minimum 1;
 * - decreases: the budget in dynamodb-decrease-budget.ts, per table and per GSI;
 * - never combine an increase with a decrease in one UpdateTable (dynamic-dynamodb #103: the
 *   increase was lost): increases and decreases are two actions, increases first;
 * - while the table (or a GSI) is not ACTIVE no UpdateTable is accepted: defer.
 * - throttle metrics count requests, not capacity units: unserved demand is converted with the
 *   consumed units per successful request and capped per step.
 * - KeyRangeThroughputThrottleEvents at low table utilization is a hot partition (more capacity
 *   does not fix it); AccountLimitThrottleEvents is the account quota: both are findings.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { Action, Evidence, Plan, ResourceRef, RuleCheck } from '../core/model.ts';
import { HOURS_PER_MONTH, type PriceTable, price } from '../pricing.ts';
import { type DecreaseLedger, decreaseAllowance, maySpendDecrease } from './dynamodb-decrease-budget.ts';

export type CapacityDim = 'read' | 'write';
export const DIMS: readonly CapacityDim[] = ['read', 'write'];

export interface CapacityPair {
  read: number;
  write: number;
}

/** Per-period counters for one dimension of a table or GSI, oldest first, the last ending at observedAt. */
export interface DimensionMetrics {
  periodSeconds: number;
  /** Sum of Consumed{Read,Write}CapacityUnits per period (missing datapoint = 0: a counter). */
  consumedUnits: number[];
  /** SampleCount of SuccessfulRequestLatency for this dimension's operations per period (optional). */
  successfulRequests?: number[];
  /** {Read,Write}ProvisionedThroughputThrottleEvents (table or GSI capacity), Sum per period. */
  provisionedThrottleEvents: number[];
  /** {Read,Write}KeyRangeThroughputThrottleEvents (partition limit), Sum per period. */
  keyRangeThrottleEvents: number[];
  /** {Read,Write}AccountLimitThrottleEvents, Sum per period. */
  accountLimitThrottleEvents: number[];
}

export interface ScalableTargetObservation {
  /** Application Auto Scaling ResourceId: table/<name> or table/<name>/index/<gsi>. */
  resourceId: string;
  scalableDimension: string;
  minCapacity: number;
  maxCapacity: number;
  policyName?: string;
  /** Target tracking TargetValue (percent). */
  targetValue?: number;
  disableScaleIn?: boolean;
}

export interface CapacityResourceObservation {
  /** null = the table itself, otherwise the GSI name. */
  indexName: string | null;
  /** IndexStatus for a GSI, TableStatus for the table. */
  status: string;
  provisioned: CapacityPair;
  decreases: DecreaseLedger;
  /** DescribeTable LastIncreaseDateTime. */
  lastIncreaseAt?: string;
  metrics: Record<CapacityDim, DimensionMetrics>;
  /** Application Auto Scaling targets on this resource, when there are any. */
  scalableTargets?: Partial<Record<CapacityDim, ScalableTargetObservation>>;
}

export interface TableObservation {
  tableName: string;
  arn?: string;
  observedAt: string;
  billingMode: 'PROVISIONED' | 'PAY_PER_REQUEST';
  table: CapacityResourceObservation;
  indexes: CapacityResourceObservation[];
  limits: {
    /** DescribeLimits TableMax{Read,Write}CapacityUnits (GSIs included). */
    tableMax: CapacityPair;
    /** DescribeLimits AccountMax{Read,Write}CapacityUnits. */
    accountMax: CapacityPair;
    /** Provisioned capacity of the whole account now (all tables and GSIs, this one included). */
    accountProvisioned: CapacityPair;
  };
}

/** A capacity floor from pre-warming or the alarm fast path, with why. */
export interface CapacityFloor {
  indexName: string | null;
  dim: CapacityDim;
  units: number;
  reason: string;
  evidence: Evidence[];
  /** Structured detail for reports (a pre-warm: period, past peak times and values). */
  detail?: Record<string, unknown>;
}

/** One resource's new capacity inside a set-capacity action (both dims, as UpdateTable needs). */
export interface CapacityUpdate {
  indexName: string | null;
  read: number;
  write: number;
}

export interface CapacityParams extends Record<string, unknown> {
  tableName: string;
  direction: 'increase' | 'decrease';
  updates: CapacityUpdate[];
}

export interface DimensionAssessment {
  indexName: string | null;
  dim: CapacityDim;
  provisioned: number;
  /** Capacity units per second, peak of the recent window. */
  consumedRate: number;
  unservedRate: number;
  demandRate: number;
  /** Peak demand over the stabilization window (scale-down). */
  stableDemandRate: number;
  unitsPerRequest: number;
  provisionedThrottles: number;
  keyRangeThrottles: number;
  accountLimitThrottles: number;
  unservedCapped: boolean;
  /** Proposed capacity before table/account limits. */
  desired: number;
  direction: 'up' | 'down' | 'hold';
  why: string;
}

export function resourceKey(indexName: string | null): string {
  return indexName ?? '(table)';
}

export function resourceId(tableName: string, indexName: string | null): string {
  return indexName === null ? tableName : `${tableName}/index/${indexName}`;
}

/** The Read/Write part of a dimension's CloudWatch metric names. */
export function metricPrefix(dim: CapacityDim): 'Read' | 'Write' {
  return dim === 'read' ? 'Read' : 'Write';
}

/** The AWS/DynamoDB CloudWatch dimensions of a table or GSI. */
export function metricDimensions(tableName: string, indexName: string | null): Record<string, string> {
  return indexName ? { TableName: tableName, GlobalSecondaryIndexName: indexName } : { TableName: tableName };
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += Number.isFinite(x) ? x : 0;
  return s;
}

function tail(xs: readonly number[], n: number): number[] {
  return n <= 0 ? [] : xs.slice(Math.max(0, xs.length - n));
}

function at(xs: readonly number[] | undefined, i: number): number {
  const v = xs?.[i];
  return v !== undefined && Number.isFinite(v) ? v : 0;
}

function periodsIn(minutes: number, periodSeconds: number): number {
  return Math.max(1, Math.ceil((minutes * 60) / periodSeconds));
}

/**
 * Capacity units consumed per successful request over the window: the conversion from throttle
 * events (requests) to capacity units. Falls back to 1 unit per request when no request count
 * is known (one strongly consistent 4 KB read / one 1 KB write).
 */
export function unitsPerRequest(m: DimensionMetrics, periods: number): number {
  if (!m.successfulRequests) return 1;
  const units = sum(tail(m.consumedUnits, periods));
  const requests = sum(tail(m.successfulRequests, periods));
  if (requests <= 0 || units <= 0) return 1;
  return units / requests;
}

/**
 * Demand per period in capacity units per second: consumed + unserved, where unserved is the
 * provisioned-throughput throttle events times units per request, capped per step at
 * `maxUnservedFactor` x provisioned (client retries inflate throttle counts).
 */
export function demandSeries(
  m: DimensionMetrics,
  provisioned: number,
  upr: number,
  maxUnservedFactor: number,
): { demand: number[]; consumed: number[]; unserved: number[]; capped: boolean } {
  const n = m.consumedUnits.length;
  const demand: number[] = [];
  const consumed: number[] = [];
  const unserved: number[] = [];
  let capped = false;
  const cap = maxUnservedFactor * Math.max(provisioned, 1);
  for (let i = 0; i < n; i++) {
    const c = at(m.consumedUnits, i) / m.periodSeconds;
    let u = (at(m.provisionedThrottleEvents, i) * upr) / m.periodSeconds;
    if (u > cap) {
      u = cap;
      capped = true;
    }
    consumed.push(c);
    unserved.push(u);
    demand.push(c + u);
  }
  return { demand, consumed, unserved, capped };
}

function windowOf(observedAt: string, periods: number, periodSeconds: number): Evidence['window'] {
  const end = Date.parse(observedAt);
  return {
    start: new Date(end - periods * periodSeconds * 1000).toISOString(),
    end: observedAt,
    periodSeconds,
  };
}

export function assessDimension(
  r: CapacityResourceObservation,
  dim: CapacityDim,
  config: DynamodbConfig,
  now: Date,
): DimensionAssessment {
  const m = r.metrics[dim];
  const provisioned = r.provisioned[dim];
  const recentN = periodsIn(config.lookbackMinutes, m.periodSeconds);
  const stableN = periodsIn(
    Math.max(config.scaleDownStabilizationMinutes, config.lookbackMinutes),
    m.periodSeconds,
  );
  const upr = unitsPerRequest(m, stableN);
  const series = demandSeries(m, provisioned, upr, config.maxUnservedFactor);
  const recentDemand = tail(series.demand, recentN);
  const recentConsumed = tail(series.consumed, recentN);
  const demandRate = recentDemand.length ? Math.max(...recentDemand) : 0;
  const consumedRate = recentConsumed.length ? Math.max(...recentConsumed) : 0;
  const unservedRate = Math.max(0, ...tail(series.unserved, recentN));
  const stable = tail(series.demand, stableN);
  const stableDemandRate = stable.length ? Math.max(...stable) : 0;
  const provisionedThrottles = sum(tail(m.provisionedThrottleEvents, recentN));
  const keyRangeThrottles = sum(tail(m.keyRangeThrottleEvents, recentN));
  const accountLimitThrottles = sum(tail(m.accountLimitThrottleEvents, recentN));
  const target = config.targetUtilization;
  const lo = Math.max(config.minCapacity, 1, Math.ceil(consumedRate));
  const hi = Math.max(1, config.maxCapacity);
  const clamp = (x: number) => Math.min(hi, Math.max(lo, x));

  const upWanted = Math.ceil(demandRate / target);
  const base = {
    indexName: r.indexName,
    dim,
    provisioned,
    consumedRate,
    unservedRate,
    demandRate,
    stableDemandRate,
    unitsPerRequest: upr,
    provisionedThrottles,
    keyRangeThrottles,
    accountLimitThrottles,
    unservedCapped: series.capped,
  };
  const throttled = provisionedThrottles > 0;
  const overTarget = demandRate > provisioned * target * (1 + config.scaleUpTolerance);
  if ((throttled || overTarget) && clamp(upWanted) > provisioned) {
    return {
      ...base,
      desired: clamp(upWanted),
      direction: 'up',
      why: throttled
        ? `throttled: demand ${fmt(demandRate)}/s (consumed ${fmt(consumedRate)} + unserved ${fmt(unservedRate)}${series.capped ? ', capped' : ''})`
        : `demand ${fmt(demandRate)}/s is above ${Math.round(target * 100)}% of ${provisioned}`,
    };
  }
  if (provisioned < lo) {
    return { ...base, desired: lo, direction: 'up', why: `below the minimum ${lo}` };
  }
  if (provisioned > hi) {
    return { ...base, desired: hi, direction: 'down', why: `above the configured maximum ${hi}` };
  }
  const downWanted = clamp(Math.ceil(stableDemandRate / target));
  const sinceIncrease = r.lastIncreaseAt
    ? now.getTime() - Date.parse(r.lastIncreaseAt)
    : Number.POSITIVE_INFINITY;
  const stabilized = sinceIncrease >= config.scaleDownStabilizationMinutes * 60_000;
  const enoughHistory = m.consumedUnits.length >= stableN;
  if (
    downWanted < provisioned &&
    downWanted <= provisioned * (1 - config.scaleDownTolerance) &&
    stabilized &&
    enoughHistory &&
    !throttled
  ) {
    return {
      ...base,
      desired: downWanted,
      direction: 'down',
      why: `peak demand over ${config.scaleDownStabilizationMinutes} min was ${fmt(stableDemandRate)}/s`,
    };
  }
  return {
    ...base,
    desired: provisioned,
    direction: 'hold',
    why: !stabilized
      ? 'within the stabilization window after an increase'
      : !enoughHistory
        ? 'not enough history for the stabilization window'
        : 'within the target band',
  };
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function monthlyCapacityCost(pair: CapacityPair, prices: PriceTable): number {
  return (
    (pair.read * price(prices, 'dynamodb.rcuHour') + pair.write * price(prices, 'dynamodb.wcuHour')) *
    HOURS_PER_MONTH
  );
}

export interface CapacityPolicyInput {
  observation: TableObservation;
  config: DynamodbConfig;
  prices: PriceTable;
  now: Date;
  /** Capacity floors (pre-warming, alarm fast path lift); never above the bounds. */
  floors?: CapacityFloor[];
  tableRef?: ResourceRef;
}

export interface CapacityPolicyResult {
  plan: Plan;
  assessments: DimensionAssessment[];
  /** Final capacity per resource if every action applies. */
  proposed: Map<string, CapacityPair>;
}

function evidenceFor(a: DimensionAssessment, obs: TableObservation, config: DynamodbConfig): Evidence[] {
  const r = a.indexName === null ? obs.table : obs.indexes.find((i) => i.indexName === a.indexName);
  const m = r?.metrics[a.dim];
  const period = m?.periodSeconds ?? 60;
  const recentN = periodsIn(config.lookbackMinutes, period);
  const dims = metricDimensions(obs.tableName, a.indexName);
  const D = metricPrefix(a.dim);
  const w = windowOf(obs.observedAt, recentN, period);
  const ev: Evidence[] = [
    {
      metric: `Consumed${D}CapacityUnits`,
      statistic: 'Sum/period (per second, peak)',
      value: round2(a.consumedRate),
      unit: 'units/s',
      window: w,
      namespace: 'AWS/DynamoDB',
      dimensions: dims,
      series: m ? tail(m.consumedUnits, 30).map((x) => round2(x / period)) : undefined,
    },
    {
      metric: `${D}ProvisionedThroughputThrottleEvents`,
      statistic: 'Sum',
      value: a.provisionedThrottles,
      unit: 'requests',
      window: w,
      namespace: 'AWS/DynamoDB',
      dimensions: dims,
    },
    {
      metric: 'estimated demand (consumed + throttled requests x units per request)',
      statistic: 'peak',
      value: round2(a.demandRate),
      unit: 'units/s',
      window: w,
      threshold: round2(a.provisioned * config.targetUtilization),
    },
    {
      metric: 'units per successful request (SuccessfulRequestLatency SampleCount)',
      statistic: 'ratio',
      value: round2(a.unitsPerRequest),
      window: windowOf(obs.observedAt, periodsIn(config.scaleDownStabilizationMinutes, period), period),
    },
  ];
  return ev;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Fits the increases into AWS's per-table (GSIs included) and per-account limits: decreases may
 * not be applied (they are separate actions), so the others count at max(current, proposed).
 * Increases are scaled back proportionally when they do not fit. Returns notes on what was capped.
 */
function fitLimits(
  obs: TableObservation,
  current: Map<string, CapacityPair>,
  proposed: Map<string, CapacityPair>,
): string[] {
  const notes: string[] = [];
  for (const dim of DIMS) {
    let fixed = 0;
    let increases = 0;
    for (const [k, cur] of current) {
      const p = proposed.get(k) ?? cur;
      fixed += cur[dim];
      if (p[dim] > cur[dim]) increases += p[dim] - cur[dim];
    }
    if (increases <= 0) continue;
    const tableRoom = obs.limits.tableMax[dim] - fixed;
    const accountRoom = obs.limits.accountMax[dim] - obs.limits.accountProvisioned[dim];
    const room = Math.max(0, Math.min(tableRoom, accountRoom));
    if (increases <= room) continue;
    const f = room / increases;
    const which = tableRoom <= accountRoom ? 'table' : 'account';
    notes.push(
      `${dim} increase capped by the AWS ${which} limit (${which === 'table' ? obs.limits.tableMax[dim] : obs.limits.accountMax[dim]} units, ${which === 'table' ? 'GSIs included' : 'all tables'})`,
    );
    for (const [k, cur] of current) {
      const p = proposed.get(k);
      if (!p || p[dim] <= cur[dim]) continue;
      p[dim] = cur[dim] + Math.floor((p[dim] - cur[dim]) * f);
    }
  }
  return notes;
}

/** The capacity plan for one table and its GSIs. */
export function planTableCapacity(input: CapacityPolicyInput): CapacityPolicyResult {
  const { observation: obs, config, prices, now } = input;
  const tableRef: ResourceRef = input.tableRef ?? { kind: 'dynamodb-table', id: obs.tableName, arn: obs.arn };
  const base: Plan = { tuner: 'dynamodb', resource: tableRef, observedAt: obs.observedAt, actions: [] };
  const resources = [obs.table, ...obs.indexes];
  const current = new Map<string, CapacityPair>();
  const proposed = new Map<string, CapacityPair>();
  for (const r of resources) {
    current.set(resourceKey(r.indexName), { ...r.provisioned });
    proposed.set(resourceKey(r.indexName), { ...r.provisioned });
  }
  const assessments: DimensionAssessment[] = [];

  if (obs.billingMode !== 'PROVISIONED') {
    return {
      plan: { ...base, noopReason: 'on-demand table: no provisioned capacity to tune' },
      assessments,
      proposed,
    };
  }

  const findings: Action[] = [];
  for (const r of resources) {
    for (const dim of DIMS) {
      const a = assessDimension(r, dim, config, now);
      assessments.push(a);
      const p = proposed.get(resourceKey(r.indexName));
      if (!p) continue;
      // Hot key: partition-limit throttling while the table has capacity to spare (low
      // utilization, or no capacity throttling at all): more capacity would not fix it.
      const utilization = a.provisioned > 0 ? a.consumedRate / a.provisioned : 0;
      if (
        a.keyRangeThrottles > 0 &&
        (utilization < config.hotKeyUtilization || a.provisionedThrottles === 0)
      ) {
        findings.push(
          findingAction(
            obs,
            tableRef,
            r.indexName,
            dim,
            'hot-key',
            `hot key on ${resourceId(obs.tableName, r.indexName)} (${dim}): ${a.keyRangeThrottles} partition-limit throttle events at ${Math.round(utilization * 100)}% utilization; more capacity does not fix a hot partition (adaptive capacity is capped at 3,000 RCU / 1,000 WCU per partition): spread the key or cache it`,
            a,
            config,
          ),
        );
      }
      if (a.accountLimitThrottles > 0) {
        findings.push(
          findingAction(
            obs,
            tableRef,
            r.indexName,
            dim,
            'account-limit',
            `account limit throttling on ${resourceId(obs.tableName, r.indexName)} (${dim}): ${a.accountLimitThrottles} events; the account's ${dim} quota (${obs.limits.accountMax[dim]} units) is reached: ask AWS for a quota increase, capacity here cannot help`,
            a,
            config,
          ),
        );
      }
      if (a.direction !== 'hold') p[dim] = a.desired;
    }
  }

  // Floors (pre-warming, alarm lift): raise to the floor, never lower; within bounds.
  const floorReasons = new Map<string, CapacityFloor[]>();
  for (const f of input.floors ?? []) {
    const k = resourceKey(f.indexName);
    const p = proposed.get(k);
    const cur = current.get(k);
    if (!p || !cur) continue;
    const units = Math.min(Math.max(1, config.maxCapacity), Math.max(config.minCapacity, Math.ceil(f.units)));
    if (units > p[f.dim]) {
      p[f.dim] = units;
      floorReasons.set(k, [...(floorReasons.get(k) ?? []), f]);
    }
  }

  const limitNotes = fitLimits(obs, current, proposed);

  // Split into increases and decreases (never both in one UpdateTable).
  const incUpdates: CapacityUpdate[] = [];
  const incFrom: Record<string, CapacityPair> = {};
  const incTo: Record<string, CapacityPair> = {};
  const decNow: CapacityUpdate[] = [];
  const decLater: Array<{ update: CapacityUpdate; until: string; why: string }> = [];
  const decFrom: Record<string, CapacityPair> = {};
  const decTo: Record<string, CapacityPair> = {};
  const reasonsUp: string[] = [];
  const reasonsDown: string[] = [];
  const evidenceUp: Evidence[] = [];
  const evidenceDown: Evidence[] = [];
  let costUp = 0;
  let costDown = 0;
  let minDecreaseTarget = Number.POSITIVE_INFINITY;
  let maxIncreaseTarget = 0;
  for (const r of resources) {
    const k = resourceKey(r.indexName);
    const cur = current.get(k);
    const p = proposed.get(k);
    if (!cur || !p) continue;
    const up: CapacityPair = { read: Math.max(cur.read, p.read), write: Math.max(cur.write, p.write) };
    if (up.read > cur.read || up.write > cur.write) {
      incUpdates.push({ indexName: r.indexName, read: up.read, write: up.write });
      incFrom[k] = cur;
      incTo[k] = up;
      maxIncreaseTarget = Math.max(maxIncreaseTarget, up.read, up.write);
      costUp += monthlyCapacityCost({ read: up.read - cur.read, write: up.write - cur.write }, prices);
      for (const dim of DIMS) {
        if (up[dim] <= cur[dim]) continue;
        const a = assessments.find((x) => x.indexName === r.indexName && x.dim === dim);
        const floors = (floorReasons.get(k) ?? []).filter((f) => f.dim === dim);
        const why =
          floors.length && a?.direction !== 'up' ? floors.map((f) => f.reason).join('; ') : (a?.why ?? '');
        reasonsUp.push(`${resourceId(obs.tableName, r.indexName)} ${dim} ${cur[dim]} -> ${up[dim]}: ${why}`);
        if (a) evidenceUp.push(...evidenceFor(a, obs, config));
        for (const f of floors) evidenceUp.push(...f.evidence);
      }
    }
    // Decreases start from the post-increase capacity, so they never undo an increase.
    const down: CapacityPair = { read: Math.min(up.read, p.read), write: Math.min(up.write, p.write) };
    if (down.read < up.read || down.write < up.write) {
      const ledger = r.decreases;
      const allowance = decreaseAllowance(ledger, now);
      const spend = maySpendDecrease(ledger, now, config.decreaseReserve);
      const update = { indexName: r.indexName, read: down.read, write: down.write };
      const dimsDown = DIMS.filter((d) => down[d] < up[d]);
      const why = dimsDown
        .map((d) => {
          const a = assessments.find((x) => x.indexName === r.indexName && x.dim === d);
          return `${resourceId(obs.tableName, r.indexName)} ${d} ${up[d]} -> ${down[d]}: ${a?.why ?? ''}`;
        })
        .join('; ');
      const budgetText = `${allowance.usedToday} decrease(s) used today, AWS allows ${allowance.remainingToday} more today`;
      decFrom[k] = up;
      decTo[k] = down;
      minDecreaseTarget = Math.min(minDecreaseTarget, down.read, down.write);
      if (spend) {
        decNow.push(update);
        costDown += monthlyCapacityCost({ read: down.read - up.read, write: down.write - up.write }, prices);
        reasonsDown.push(`${why} (${budgetText})`);
      } else {
        const until = allowance.allowedNow
          ? new Date(
              Math.max(now.getTime(), Date.parse(ledger.lastDecreaseAt ?? obs.observedAt) + 3_600_000),
            ).toISOString()
          : allowance.nextSlotAt;
        decLater.push({
          update,
          until,
          why: `${why} (${budgetText}; ${allowance.allowedNow ? `keeping a reserve of ${config.decreaseReserve} for later spikes` : 'the next decrease slot'} at ${until})`,
        });
      }
      for (const d of dimsDown) {
        const a = assessments.find((x) => x.indexName === r.indexName && x.dim === d);
        if (a) evidenceDown.push(...evidenceFor(a, obs, config));
      }
    }
  }

  const notActive = resources.filter((r) => r.status !== 'ACTIVE');
  const updatingRule = (): RuleCheck[] =>
    notActive.length
      ? [
          {
            rule: 'aws:dynamodb-table-updating',
            verdict: 'defer',
            reason: `${notActive.map((r) => `${resourceId(obs.tableName, r.indexName)} is ${r.status}`).join(', ')}: UpdateTable is not accepted until ACTIVE`,
            until: new Date(now.getTime() + 60_000).toISOString(),
          },
        ]
      : [{ rule: 'aws:dynamodb-table-updating', verdict: 'ok' }];

  const actions: Action[] = [];
  if (incUpdates.length) {
    const applied = [...floorReasons.values()].flat();
    const params: CapacityParams = {
      tableName: obs.tableName,
      direction: 'increase',
      updates: incUpdates,
      ...(applied.length
        ? {
            floors: applied.map((f) => ({ indexName: f.indexName, dim: f.dim, units: f.units, ...f.detail })),
          }
        : {}),
    };
    actions.push({
      tuner: 'dynamodb',
      resource: tableRef,
      kind: floorsOnly(incUpdates, assessments) ? 'prewarm' : 'set-capacity',
      from: incFrom,
      to: incTo,
      reason: [...reasonsUp, ...limitNotes].join('; '),
      evidence: evidenceUp,
      monthlyCostDelta: round2(costUp),
      undo: {
        kind: 'set-capacity',
        params: { tableName: obs.tableName, direction: 'decrease', updates: toUpdates(incFrom) },
      },
      mutating: true,
      numericTarget: maxIncreaseTarget,
      rules: [...updatingRule(), { rule: 'aws:dynamodb-no-mixed-update', verdict: 'ok' }],
      params,
      severity: assessments.some((a) => a.direction === 'up' && a.provisionedThrottles > 0)
        ? 'warning'
        : 'info',
    });
  }
  if (decNow.length) {
    const params: CapacityParams = { tableName: obs.tableName, direction: 'decrease', updates: decNow };
    const from: Record<string, CapacityPair> = {};
    const to: Record<string, CapacityPair> = {};
    for (const u of decNow) {
      const k = resourceKey(u.indexName);
      if (decFrom[k]) from[k] = decFrom[k];
      if (decTo[k]) to[k] = decTo[k];
    }
    actions.push({
      tuner: 'dynamodb',
      resource: tableRef,
      kind: 'set-capacity',
      from,
      to,
      reason: reasonsDown.join('; '),
      evidence: evidenceDown,
      monthlyCostDelta: round2(costDown),
      undo: {
        kind: 'set-capacity',
        params: { tableName: obs.tableName, direction: 'increase', updates: toUpdates(from) },
      },
      mutating: true,
      numericTarget: minDecreaseTarget,
      rules: [
        ...updatingRule(),
        { rule: 'aws:dynamodb-decrease-budget', verdict: 'ok' },
        ...(incUpdates.length
          ? [
              {
                rule: 'aws:dynamodb-no-mixed-update',
                verdict: 'ok' as const,
                reason: 'separate from the increase, which goes first',
              },
            ]
          : []),
      ],
      params,
    });
  }
  for (const later of decLater) {
    const k = resourceKey(later.update.indexName);
    actions.push({
      tuner: 'dynamodb',
      resource: tableRef,
      kind: 'set-capacity',
      from: { [k]: decFrom[k] },
      to: { [k]: decTo[k] },
      reason: later.why,
      evidence: evidenceDown,
      monthlyCostDelta: 0,
      undo: null,
      mutating: true,
      numericTarget: Math.min(later.update.read, later.update.write),
      rules: [
        { rule: 'aws:dynamodb-decrease-budget', verdict: 'defer', reason: later.why, until: later.until },
      ],
      params: {
        tableName: obs.tableName,
        direction: 'decrease',
        updates: [later.update],
      } satisfies CapacityParams,
    });
  }
  actions.push(...findings);
  const plan: Plan = { ...base, actions };
  if (!actions.length) {
    plan.noopReason = assessments
      .map((a) => `${resourceId(obs.tableName, a.indexName)} ${a.dim} ${a.provisioned}: ${a.why}`)
      .join('; ');
    plan.noopEvidence = assessments.flatMap((a) => evidenceFor(a, obs, config).slice(0, 1));
  }
  return { plan, assessments, proposed };
}

function floorsOnly(updates: CapacityUpdate[], assessments: DimensionAssessment[]): boolean {
  return updates.every((u) =>
    assessments.filter((a) => a.indexName === u.indexName).every((a) => a.direction !== 'up'),
  );
}

function toUpdates(m: Record<string, CapacityPair>): CapacityUpdate[] {
  return Object.entries(m).map(([k, v]) => ({
    indexName: k === '(table)' ? null : k,
    read: v.read,
    write: v.write,
  }));
}

function findingAction(
  obs: TableObservation,
  tableRef: ResourceRef,
  indexName: string | null,
  dim: CapacityDim,
  cause: 'hot-key' | 'account-limit',
  reason: string,
  a: DimensionAssessment,
  config: DynamodbConfig,
): Action {
  const D = metricPrefix(dim);
  const r = indexName === null ? obs.table : obs.indexes.find((i) => i.indexName === indexName);
  const period = r?.metrics[dim].periodSeconds ?? 60;
  const dims = metricDimensions(obs.tableName, indexName);
  const w = windowOf(obs.observedAt, periodsIn(config.lookbackMinutes, period), period);
  return {
    tuner: 'dynamodb',
    resource: tableRef,
    kind: 'finding',
    from: null,
    to: null,
    reason,
    evidence: [
      {
        metric:
          cause === 'hot-key' ? `${D}KeyRangeThroughputThrottleEvents` : `${D}AccountLimitThrottleEvents`,
        statistic: 'Sum',
        value: cause === 'hot-key' ? a.keyRangeThrottles : a.accountLimitThrottles,
        unit: 'requests',
        window: w,
        namespace: 'AWS/DynamoDB',
        dimensions: dims,
      },
      {
        metric: 'table utilization (consumed / provisioned)',
        statistic: 'peak',
        value: a.provisioned > 0 ? round2(a.consumedRate / a.provisioned) : null,
        window: w,
        threshold: config.hotKeyUtilization,
      },
    ],
    monthlyCostDelta: 0,
    undo: null,
    mutating: false,
    params: { cause, indexName, dim },
    severity: 'warning',
  };
}

// ------------------------------------------------------------------ Application Auto Scaling

/** A scalable target's minimum lifted by db-autopilot after a raise, to hand back later. */
export interface ScalingLift {
  resourceId: string;
  scalableDimension: string;
  originalMin: number;
  liftedTo: number;
  until: string;
}

export type ScalingLifts = Record<string, ScalingLift>;

function liftKey(indexName: string | null, dim: CapacityDim): string {
  return `${resourceKey(indexName)}:${dim}`;
}

/**
 * Floors that keep db-autopilot from fighting Application Auto Scaling: while a lift is active,
 * capacity stays at the lifted minimum; where AWS's target tracking owns scale-in
 * (autoScaling.ownScaleIn false), db-autopilot never lowers capacity itself.
 */
export function scalingFloors(
  obs: TableObservation,
  config: DynamodbConfig,
  lifts: ScalingLifts,
  now: Date,
): CapacityFloor[] {
  const floors: CapacityFloor[] = [];
  for (const r of [obs.table, ...obs.indexes]) {
    for (const dim of DIMS) {
      const t = r.scalableTargets?.[dim];
      if (!t) continue;
      const lift = lifts[liftKey(r.indexName, dim)];
      if (lift && Date.parse(lift.until) > now.getTime()) {
        floors.push({
          indexName: r.indexName,
          dim,
          units: Math.min(lift.liftedTo, r.provisioned[dim]),
          reason: `the scalable target's minimum is lifted to ${lift.liftedTo} until ${lift.until}`,
          evidence: [],
        });
      } else if (!config.autoScaling.ownScaleIn) {
        floors.push({
          indexName: r.indexName,
          dim,
          units: r.provisioned[dim],
          reason: 'Application Auto Scaling owns scale-in on this target',
          evidence: [],
        });
      } else if (t.minCapacity > 0) {
        // db-autopilot owns scale-in, but the scalable target's own minimum still binds: target
        // tracking raises anything below it straight back, spending a decrease for nothing.
        floors.push({
          indexName: r.indexName,
          dim,
          units: Math.min(t.minCapacity, r.provisioned[dim]),
          reason: `the scalable target's minimum is ${t.minCapacity}: Application Auto Scaling would raise a lower capacity back`,
          evidence: [],
        });
      }
    }
  }
  return floors;
}

/**
 * Actions on the scalable targets of a table: keep the target tracking policy at the configured
 * target with DisableScaleIn where db-autopilot owns scale-in (so both do not spend the same
 * decrease budget, aws-facts.md "Native auto scaling"); lift the minimum to a raised capacity so
 * target tracking does not scale it straight back; hand the minimum back after `liftMinutes`.
 */
export function planScalingTargets(input: {
  observation: TableObservation;
  config: DynamodbConfig;
  proposed: Map<string, CapacityPair>;
  lifts: ScalingLifts;
  now: Date;
  tableRef?: ResourceRef;
}): { actions: Action[]; lifts: ScalingLifts } {
  const { observation: obs, config, now } = input;
  const tableRef: ResourceRef = input.tableRef ?? { kind: 'dynamodb-table', id: obs.tableName, arn: obs.arn };
  const lifts: ScalingLifts = { ...input.lifts };
  const actions: Action[] = [];
  const targetPercent = Math.round(config.targetUtilization * 100);
  for (const r of [obs.table, ...obs.indexes]) {
    for (const dim of DIMS) {
      const t = r.scalableTargets?.[dim];
      if (!t) continue;
      const key = liftKey(r.indexName, dim);
      const name = `${resourceId(obs.tableName, r.indexName)} ${dim}`;
      const params: Record<string, unknown> = {
        resourceId: t.resourceId,
        scalableDimension: t.scalableDimension,
      };
      const reasons: string[] = [];
      const wantDisable = config.autoScaling.ownScaleIn;
      if (t.policyName && (t.targetValue !== targetPercent || (t.disableScaleIn ?? false) !== wantDisable)) {
        params.policy = { policyName: t.policyName, targetValue: targetPercent, disableScaleIn: wantDisable };
        reasons.push(
          `target tracking at ${targetPercent}%${wantDisable ? ' with scale-in disabled: db-autopilot spends the decrease budget' : ''}`,
        );
      }
      const proposed = input.proposed.get(resourceKey(r.indexName))?.[dim] ?? r.provisioned[dim];
      const lift = lifts[key];
      if (proposed > r.provisioned[dim] && proposed > t.minCapacity) {
        params.minCapacity = proposed;
        if (proposed > t.maxCapacity) params.maxCapacity = proposed;
        lifts[key] = {
          resourceId: t.resourceId,
          scalableDimension: t.scalableDimension,
          originalMin: lift?.originalMin ?? t.minCapacity,
          liftedTo: proposed,
          until: new Date(now.getTime() + config.autoScaling.liftMinutes * 60_000).toISOString(),
        };
        reasons.push(
          `minimum lifted ${t.minCapacity} -> ${proposed} so target tracking does not scale the raise straight back`,
        );
      } else if (lift && Date.parse(lift.until) <= now.getTime()) {
        params.minCapacity = Math.min(lift.originalMin, t.maxCapacity);
        delete lifts[key];
        reasons.push(
          `minimum handed back ${t.minCapacity} -> ${lift.originalMin} after the stabilization window`,
        );
      }
      if (!reasons.length) continue;
      actions.push({
        tuner: 'dynamodb',
        resource: tableRef,
        kind: 'set-scaling-target',
        from: {
          minCapacity: t.minCapacity,
          maxCapacity: t.maxCapacity,
          targetValue: t.targetValue,
          disableScaleIn: t.disableScaleIn,
        },
        to: {
          minCapacity: params.minCapacity ?? t.minCapacity,
          maxCapacity: params.maxCapacity ?? t.maxCapacity,
          policy: params.policy,
        },
        reason: `${name}: ${reasons.join('; ')}`,
        evidence: [],
        monthlyCostDelta: 0,
        undo: {
          kind: 'set-scaling-target',
          params: {
            resourceId: t.resourceId,
            scalableDimension: t.scalableDimension,
            minCapacity: t.minCapacity,
            maxCapacity: t.maxCapacity,
          },
        },
        mutating: true,
        params,
      });
    }
  }
  return { actions, lifts };
}
