/**
 * The DynamoDB tuner: discover tables (+ GSIs) -> observe (DescribeTable, CloudWatch, scalable
 * targets) -> capacity policy (+ pre-warm floors, alarm lifts) -> Application Auto Scaling
 * actions -> executePlan (shared guards) -> capacity mode advisor (hourly) -> summary.
 *
 * The policies are pure (shared/policies/dynamodb-*.ts, prewarm.ts); this file only gathers what
 * they need and records what they decided.
 */
import { isDeepStrictEqual } from 'node:util';
import { DescribeLimitsCommand, type TableDescription } from '@aws-sdk/client-dynamodb';
import {
  applyScalingTarget,
  describeScalableTargetsFor,
  scalableResourceId,
} from '../adapters/app-autoscaling.ts';
import { applyDynamodbCapacity } from '../adapters/dynamodb-capacity.ts';
import { dynamodbClient } from '../aws/clients.ts';
import type { Config } from '../config/schema.ts';
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type {
  Adapter,
  AlarmSpec,
  HistoryOptions,
  ResourceHistory,
  RunContext,
  StateStore,
  Target,
  TunerRunRequest,
  TunerRunSummary,
  TunerSettings,
} from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import { executePlan } from '../core/executor.ts';
import type { Action, Decision, Plan } from '../core/model.ts';
import { finishRun, outOfTime, recordObservationFailure, selectRequested } from '../core/run.ts';
import { resolveSettings } from '../core/settings.ts';
import { accountProvisioned as accountProvisionedCapacity } from '../discovery/account-capacity.ts';
import { type DiscoveredTarget, discoverFleet } from '../discovery/index.ts';
import { getMetrics, type MetricsResult, type SeriesRequest } from '../metrics/index.ts';
import {
  type CadenceConfig,
  type CadenceDecision,
  type CadenceInput,
  cadenceOfPlan,
  chooseCadence,
  DEFAULT_CADENCE,
  isDue,
} from '../policies/dynamodb-cadence.ts';
import {
  type CapacityDim,
  type CapacityFloor,
  type CapacityPair,
  type CapacityResourceObservation,
  DIMS,
  type DimensionMetrics,
  demandSeries,
  leaseNotApplied,
  metricDimensions,
  metricPrefix,
  planScalingTargets,
  planTableCapacity,
  resourceId,
  resourceKey,
  type ScalableTargetObservation,
  type ScalingLifts,
  type ScalingPlan,
  scalingFloors,
  type TableObservation,
  unitsPerRequest,
} from '../policies/dynamodb-capacity.ts';
import { type DemandShape, learnDemandShape, shapeKey } from '../policies/dynamodb-demand-shape.ts';
import { adviseCapacityMode, type ModeSwitch, type UsageSeries } from '../policies/dynamodb-mode-advisor.ts';
import { gsiStatus } from '../policies/dynamodb-observation.ts';
import { learnRecurringPeaks, type PeakModel, prewarmFloorAt } from '../policies/prewarm.ts';
import { type PriceTable, pricesFor } from '../pricing.ts';
import { RECENT_DECISIONS, RECENT_WINDOW_MS } from '../state/keys.ts';
import { notEnabledNote, openTunerRun, type TunerRunDeps } from './common.ts';
import {
  handBackStopped,
  handBackTables,
  handRestore,
  liftedTables,
  saveLiftedIndex,
  storedLifts,
} from './dynamodb-handback.ts';
import {
  type ExplainedCapacity,
  OBSERVED_FIELDS,
  OBSERVED_PART,
  type ObservationReads,
  type PrewarmState,
  storedPart,
  type TableTunerState,
  tableTunerState,
} from './dynamodb-state.ts';
import type { TunerRegistration } from './registry.ts';

export type { ExplainedCapacity, ObservationReads };

const MINUTE = 60_000;
/** Newest minutes not yet complete in CloudWatch (getMetrics' default publicationDelaySeconds). */
const UNPUBLISHED_MINUTES = 3;
/** Re-learn recurring peaks at most this often (the history query is 15 days long). */
const RELEARN_MS = 60 * MINUTE;
/** Run the mode advisor at most this often per table (14 days of metrics). */
const ADVISE_EVERY_MS = 60 * MINUTE;
/** Repeat the same capacity mode recommendation only after this long. */
const RECOMMEND_REPEAT_MS = 24 * 60 * MINUTE;
/** Report the same finding (hot key, account limit) again only after this long. */
const FINDING_REPEAT_MS = 6 * 60 * MINUTE;

/** Tests pass their own adapter; default: UpdateTable / Application Auto Scaling. */
export type DynamodbRunDeps = TunerRunDeps;

/** Dispatches an action to the adapter that applies it. */
export const dynamodbAdapter: Adapter = (action, target) =>
  action.kind === 'set-scaling-target'
    ? applyScalingTarget(action, target)
    : applyDynamodbCapacity(action, target);

function ddbMetric(tableName: string, indexName: string | null, metricName: string) {
  return { namespace: 'AWS/DynamoDB', metricName, dimensions: metricDimensions(tableName, indexName) };
}

function sid(tableName: string, indexName: string | null, name: string): string {
  return `${tableName}|${indexName ?? ''}|${name}`;
}

/**
 * The CloudWatch series the capacity policy reads for one table or GSI (DynamoDB metrics and
 * dimensions), per dimension: consumed capacity and provisioned-throughput throttle events every
 * run, the key-range and account-limit throttle events when `causes` (throttleCausesDue).
 */
export function capacitySeries(tableName: string, indexName: string | null, causes = true): SeriesRequest[] {
  const metric = (metricName: string) => ddbMetric(tableName, indexName, metricName);
  const out: SeriesRequest[] = [];
  for (const dim of DIMS) {
    const consumed = `Consumed${metricPrefix(dim)}CapacityUnits`;
    out.push(
      {
        id: sid(tableName, indexName, `${dim}:consumed`),
        kind: 'counter',
        statistic: 'Sum',
        metric: metric(consumed),
      },
      {
        id: sid(tableName, indexName, `${dim}:prov`),
        kind: 'counter',
        statistic: 'Sum',
        metric: metric(`${metricPrefix(dim)}ProvisionedThroughputThrottleEvents`),
      },
    );
    if (!causes) continue;
    out.push(
      {
        id: sid(tableName, indexName, `${dim}:key`),
        kind: 'counter',
        statistic: 'Sum',
        metric: metric(`${metricPrefix(dim)}KeyRangeThroughputThrottleEvents`),
      },
      {
        id: sid(tableName, indexName, `${dim}:acct`),
        kind: 'counter',
        statistic: 'Sum',
        metric: metric(`${metricPrefix(dim)}AccountLimitThrottleEvents`),
      },
    );
  }
  return out;
}

/**
 * Whether this observation reads a table's key-range and account-limit throttle events (4 of the
 * 8 metrics per table or GSI). They only make findings (a hot key, the account quota: advice that
 * capacity cannot fix, repeated at most every 6 hours), each summed over the newest
 * `lookbackMinutes`. They are skipped only when the next observation (one interval like the last
 * one later) still covers every minute since the last read: with the 2-minute schedule and the
 * default 5-minute lookback, every other run; a finding comes at most a run later. Alarm and
 * manual runs, and a table without reads recorded, always read them.
 */
export function throttleCausesDue(
  now: Date,
  trigger: string,
  lookbackMinutes: number,
  last: ObservationReads | undefined,
): boolean {
  if (trigger !== 'schedule' || !last) return true;
  const interval = now.getTime() - Date.parse(last.at);
  const since = now.getTime() - Date.parse(last.causesAt);
  if (!(interval > 0) || !(since >= 0)) return true;
  return since + interval > lookbackMinutes * MINUTE;
}

/**
 * SampleCount of consumed capacity = successful requests: the units-per-request conversion of
 * throttle events (requests) into capacity units. It is read only where it can change a decision
 * (requestSeriesNeeded): a dimension with provisioned-throughput throttle events in the window,
 * or a table whose recurring peaks are re-learned this run (15 days of throttles converted at the
 * recent ratio). Elsewhere no event is converted, so the ratio is not needed (2 of 10 metrics).
 */
export function requestSeries(tableName: string, indexName: string | null, dim: CapacityDim): SeriesRequest {
  return {
    id: sid(tableName, indexName, `${dim}:requests`),
    kind: 'counter',
    statistic: 'SampleCount',
    metric: ddbMetric(tableName, indexName, `Consumed${metricPrefix(dim)}CapacityUnits`),
  };
}

/**
 * The successful-request series a run still needs after the first read (requestSeries): each
 * (table or GSI, dimension) with provisioned throttle events in its published periods, and every
 * dimension of the tables in `relearning`.
 */
export function requestSeriesNeeded(
  m: MetricsResult,
  resources: ReadonlyArray<{ tableName: string; indexName: string | null }>,
  relearning: ReadonlySet<string>,
): SeriesRequest[] {
  const out: SeriesRequest[] = [];
  for (const r of resources) {
    for (const dim of DIMS) {
      const throttled = values(m, sid(r.tableName, r.indexName, `${dim}:prov`)).some((v) => v > 0);
      if (throttled || relearning.has(r.tableName)) out.push(requestSeries(r.tableName, r.indexName, dim));
    }
  }
  return out;
}

/**
 * The published periods of a counter series: CloudWatch publishes late, so the newest periods
 * with no datapoint anywhere are unknown and left out (never read as 0); the newest published
 * ones may still be filling (a lower bound).
 */
function values(m: MetricsResult, id: string): number[] {
  return (m.series.get(id)?.values ?? []).slice(0, m.publishedPoints).map((v) => v ?? 0);
}

function dimMetrics(
  m: MetricsResult,
  tableName: string,
  indexName: string | null,
  dim: CapacityDim,
): DimensionMetrics {
  const get = (n: string) => values(m, sid(tableName, indexName, `${dim}:${n}`));
  const requestsRead = m.series.has(sid(tableName, indexName, `${dim}:requests`));
  return {
    periodSeconds: m.periodSeconds,
    consumedUnits: get('consumed'),
    ...(requestsRead ? { successfulRequests: get('requests') } : {}),
    provisionedThrottleEvents: get('prov'),
    keyRangeThrottleEvents: get('key'),
    accountLimitThrottleEvents: get('acct'),
  };
}

function pairOf(pt: { ReadCapacityUnits?: number; WriteCapacityUnits?: number } | undefined): CapacityPair {
  return { read: pt?.ReadCapacityUnits ?? 0, write: pt?.WriteCapacityUnits ?? 0 };
}

interface Limits {
  tableMax: CapacityPair;
  accountMax: CapacityPair;
}

/** DescribeLimits, bounded by the config's values (which default to AWS's default quotas). */
async function readLimits(section: DynamodbConfig, notes: string[]): Promise<Limits> {
  const fallback: Limits = {
    tableMax: { read: section.tableMaxCapacity, write: section.tableMaxCapacity },
    accountMax: { read: section.accountMaxCapacity, write: section.accountMaxCapacity },
  };
  try {
    const out = await dynamodbClient().send(new DescribeLimitsCommand({}));
    return {
      tableMax: {
        read: Math.min(out.TableMaxReadCapacityUnits ?? Infinity, section.tableMaxCapacity),
        write: Math.min(out.TableMaxWriteCapacityUnits ?? Infinity, section.tableMaxCapacity),
      },
      accountMax: {
        read: Math.min(out.AccountMaxReadCapacityUnits ?? Infinity, section.accountMaxCapacity),
        write: Math.min(out.AccountMaxWriteCapacityUnits ?? Infinity, section.accountMaxCapacity),
      },
    };
  } catch (error) {
    notes.push(`DescribeLimits failed (${publicMessage(error)}): using the configured quotas`);
    return fallback;
  }
}

/**
 * Observes many tables at once: one GetMetricData plan for all their series (the fewest calls,
 * shared/metrics) and one DescribeScalableTargets per 50 resources, then DescribeTable (from
 * discovery) per table.
 */
export async function observeTables(input: {
  tables: TableDescription[];
  section: DynamodbConfig;
  limits: Limits;
  accountProvisioned: CapacityPair;
  now: Date;
  notes: string[];
  /** Tables whose recurring peaks are re-learned this run (they need successful requests). */
  relearning?: ReadonlySet<string>;
  /** Tables whose key-range and account-limit throttle events are read (throttleCausesDue; default all). */
  throttleCauses?: ReadonlySet<string>;
}): Promise<Map<string, TableObservation>> {
  const { section, now } = input;
  // + the minutes CloudWatch has not published whole yet (values() leaves them out).
  const minutes =
    Math.max(section.scaleDownStabilizationMinutes, section.lookbackMinutes) + 1 + UNPUBLISHED_MINUTES;
  const end = new Date(Math.floor(now.getTime() / MINUTE) * MINUTE);
  const gsisOf = (t: TableDescription) => (t.GlobalSecondaryIndexes ?? []).filter((g) => g.IndexName);
  const out = new Map<string, TableObservation>();
  if (!input.tables.length) return out;
  const series = input.tables.flatMap((t) => {
    const causes = input.throttleCauses?.has(t.TableName ?? '') ?? true;
    return [
      ...capacitySeries(t.TableName ?? '', null, causes),
      ...gsisOf(t).flatMap((g) => capacitySeries(t.TableName ?? '', g.IndexName ?? '', causes)),
    ];
  });
  const span = { start: new Date(end.getTime() - minutes * MINUTE), end, periodSeconds: 60, now };
  const m = await getMetrics({ series, ...span });
  // Second read, only where a decision can depend on it: successful requests (requestSeries).
  const more = requestSeriesNeeded(
    m,
    input.tables.flatMap((t) => [
      { tableName: t.TableName ?? '', indexName: null },
      ...gsisOf(t).map((g) => ({ tableName: t.TableName ?? '', indexName: g.IndexName ?? '' })),
    ]),
    input.relearning ?? new Set(),
  );
  if (more.length) {
    const extra = await getMetrics({ series: more, ...span });
    for (const [id, r] of extra.series) m.series.set(id, r);
  }
  let targets = new Map<string, Partial<Record<CapacityDim, ScalableTargetObservation>>>();
  try {
    targets = await describeScalableTargetsFor(
      input.tables.flatMap((t) => [
        scalableResourceId(t.TableName ?? '', null),
        ...gsisOf(t).map((g) => scalableResourceId(t.TableName ?? '', g.IndexName ?? '')),
      ]),
    );
  } catch (error) {
    input.notes.push(`DescribeScalableTargets failed (${publicMessage(error)}): treated as none`);
  }
  for (const table of input.tables) {
    const name = table.TableName ?? '';
    const resource = (
      indexName: string | null,
      status: string | undefined,
      pt: TableDescription['ProvisionedThroughput'],
    ): CapacityResourceObservation => ({
      indexName,
      status: status ?? 'ACTIVE',
      provisioned: pairOf(pt),
      decreases: {
        numberOfDecreasesToday: pt?.NumberOfDecreasesToday ?? 0,
        lastDecreaseAt: pt?.LastDecreaseDateTime?.toISOString(),
      },
      lastIncreaseAt: pt?.LastIncreaseDateTime?.toISOString(),
      metrics: {
        read: dimMetrics(m, name, indexName, 'read'),
        write: dimMetrics(m, name, indexName, 'write'),
      },
      scalableTargets: targets.get(scalableResourceId(name, indexName)),
    });
    out.set(name, {
      tableName: name,
      arn: table.TableArn,
      observedAt: end.toISOString(),
      billingMode:
        table.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
      tableClass:
        table.TableClassSummary?.TableClass === 'STANDARD_INFREQUENT_ACCESS'
          ? 'STANDARD_INFREQUENT_ACCESS'
          : 'STANDARD',
      // aws-facts.md ("Learned from review"): a global table is detected by DescribeTable Replicas.
      ...(table.Replicas?.length ? { replicaRegions: table.Replicas.map((r) => r.RegionName ?? '?') } : {}),
      table: resource(null, table.TableStatus, table.ProvisionedThroughput),
      indexes: gsisOf(table).map((g) => resource(g.IndexName ?? '', gsiStatus(g), g.ProvisionedThroughput)),
      limits: { ...input.limits, accountProvisioned: input.accountProvisioned },
    });
  }
  return out;
}

/**
 * Each scalable target's lease after this run: the lease of an action that applied, the old one
 * where its action did not (change cap, ConcurrentUpdateException: retried next run).
 */
export function leasesAfter(
  scaling: ScalingPlan,
  actions: readonly Action[],
  decisions: readonly Decision[],
): ScalingLifts {
  const out: ScalingLifts = { ...scaling.lifts };
  scaling.actions.forEach((a, j) => {
    const change = scaling.changes[j];
    const i = actions.indexOf(a);
    if (!change || i < 0) return;
    const next =
      decisions[i]?.outcome === 'applied' ? change.next : leaseNotApplied(out[change.key], change.next);
    if (next) out[change.key] = next;
    else delete out[change.key];
  });
  return out;
}

/** Capacity per resource as DescribeTable shows it (drift compares it with our last change). */
function capacityNow(obs: TableObservation): Record<string, CapacityPair> {
  return Object.fromEntries(
    [obs.table, ...obs.indexes].map((r) => [resourceKey(r.indexName), { ...r.provisioned }]),
  );
}

/** Per resource, the highest capacity db-autopilot's own changes explain (tuner state). */

/** The capacity explained after this run's applied capacity changes (max of from and to). */
export function explainedAfter(
  known: ExplainedCapacity | undefined,
  obs: TableObservation,
  actions: readonly Action[],
  decisions: readonly Decision[],
): ExplainedCapacity {
  // What is there now is explained from here on (our changes, a respected drift, AAS), with
  // what this run's own changes set; `known` is what the previous run left.
  const out: ExplainedCapacity = { ...(known ?? {}), ...capacityNow(obs) };
  actions.forEach((a, i) => {
    if (decisions[i]?.outcome !== 'applied' || (a.kind !== 'set-capacity' && a.kind !== 'prewarm')) return;
    const from = (a.from ?? {}) as Record<string, CapacityPair | undefined>;
    for (const [k, to] of Object.entries((a.to ?? {}) as Record<string, CapacityPair | undefined>)) {
      if (!to) continue;
      const f = from[k] ?? to;
      out[k] = { read: Math.max(f.read, to.read), write: Math.max(f.write, to.write) };
    }
  });
  return out;
}

/**
 * Drift (shared/core/drift.ts): capacity raised above what db-autopilot's own changes explain,
 * per resource (the table and each GSI, each compared with what the last run left it at and
 * what its own changes since set), on resources without a scalable target: a person raising
 * before an event. Recorded; the executor's drift guard then leaves the table alone for
 * driftBackoffMinutes, so the raise is respected. A decrease held back by the budget and
 * Application Auto Scaling's own changes are not drift.
 */
async function capacityDrift(
  obs: TableObservation,
  explained: ExplainedCapacity | undefined,
  store: StateStore,
  settings: TunerSettings,
  now: Date,
): Promise<string | undefined> {
  if (obs.table.status !== 'ACTIVE' || !explained) return undefined;
  const found: string[] = [];
  for (const r of [obs.table, ...obs.indexes]) {
    const k = resourceKey(r.indexName);
    const known = explained[k];
    if (r.scalableTargets || !known) continue;
    const raised = DIMS.filter((d) => r.provisioned[d] > known[d]);
    if (!raised.length) continue;
    found.push(
      `${resourceId(obs.tableName, r.indexName)}: db-autopilot left ${raised.map((d) => `${d} at most ${known[d]}`).join(', ')} but found ${raised.map((d) => `${d} ${r.provisioned[d]}`).join(', ')}`,
    );
  }
  if (!found.length) return undefined;
  const detail = found.join('; ');
  await store.recordDrift('dynamodb', obs.tableName, detail, now, settings.driftBackoffMinutes, {
    observed: capacityNow(obs),
  });
  return `${obs.tableName}: capacity raised outside db-autopilot (${detail}); respected, backing off ${settings.driftBackoffMinutes} min`;
}

/** Whether a table's recurring peaks and demand shape are re-learned this run (hourly). */
function relearnDue(prewarm: PrewarmState | undefined, now: Date): boolean {
  return !prewarm || now.getTime() - Date.parse(prewarm.learnedAt) >= RELEARN_MS;
}

/** The reads a table's state keeps after this observation (`at`: the last scheduled one; alarm runs come between). */
function readsAfter(
  last: ObservationReads | undefined,
  run: RunContext,
  causesRead: boolean,
): ObservationReads {
  const now = run.now.toISOString();
  return {
    at: run.trigger === 'schedule' || !last ? now : last.at,
    causesAt: causesRead || !last ? now : last.causesAt,
  };
}

/** The tables whose key-range and account-limit throttle events this run reads (throttleCausesDue). */
function throttleCausesTables(
  due: ReadonlyArray<DiscoveredTarget<TableDescription>>,
  histories: ReadonlyMap<string, ResourceHistory>,
  run: RunContext,
  lookbackMinutes: number,
): Set<string> {
  const out = new Set<string>();
  for (const t of due) {
    const { state } = tableTunerState(histories.get(t.ref.id));
    if (throttleCausesDue(run.now, run.trigger, lookbackMinutes, state.reads)) out.add(t.ref.id);
  }
  return out;
}

/** Provisioned tables whose peaks are re-learned this run: they read successful requests as well. */
function relearningTables(
  due: ReadonlyArray<DiscoveredTarget<TableDescription>>,
  histories: ReadonlyMap<string, ResourceHistory>,
  now: Date,
): Set<string> {
  const out = new Set<string>();
  for (const t of due) {
    if (t.raw.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST') continue;
    if (relearnDue(tableTunerState(histories.get(t.ref.id)).state.prewarm, now)) out.add(t.ref.id);
  }
  return out;
}

/**
 * Demand history for pre-warming, units per second: consumed plus unserved, where throttle events
 * (requests, inflated by client retries) are converted with the units per successful request seen
 * recently and capped per step like the capacity policy's (aws-facts.md, DynamoDB: throttle
 * metrics count events, not units; convert and cap each step).
 */
export function prewarmDemand(
  consumed: readonly number[],
  throttled: readonly number[],
  periodSeconds: number,
  r: Pick<CapacityResourceObservation, 'metrics' | 'provisioned'>,
  dim: CapacityDim,
  maxUnservedFactor: number,
): number[] {
  const recent = r.metrics[dim];
  const upr = unitsPerRequest(recent, recent.consumedUnits.length);
  const metrics: DimensionMetrics = {
    periodSeconds,
    consumedUnits: [...consumed],
    provisionedThrottleEvents: consumed.map((_, i) => throttled[i] ?? 0),
    keyRangeThrottleEvents: [],
    accountLimitThrottleEvents: [],
  };
  return demandSeries(metrics, r.provisioned[dim], upr, maxUnservedFactor).demand;
}

/** Demand history (consumed + unserved, per second) at 300 s for pre-warming. */
async function learnPeaks(obs: TableObservation, section: DynamodbConfig, now: Date): Promise<PrewarmState> {
  const period = 300;
  const end = new Date(Math.floor(now.getTime() / (period * 1000)) * period * 1000);
  const start = new Date(end.getTime() - Math.min(section.prewarm.historyMinutes, 15 * 1440) * MINUTE);
  const resources = [obs.table, ...obs.indexes];
  const series: SeriesRequest[] = resources.flatMap((r) =>
    DIMS.flatMap((dim) => {
      const metric = (metricName: string) => ddbMetric(obs.tableName, r.indexName, metricName);
      return [
        {
          id: sid(obs.tableName, r.indexName, `${dim}:h:consumed`),
          kind: 'counter' as const,
          statistic: 'Sum',
          metric: metric(`Consumed${metricPrefix(dim)}CapacityUnits`),
        },
        {
          id: sid(obs.tableName, r.indexName, `${dim}:h:prov`),
          kind: 'counter' as const,
          statistic: 'Sum',
          metric: metric(`${metricPrefix(dim)}ProvisionedThroughputThrottleEvents`),
        },
      ];
    }),
  );
  const m = await getMetrics({ series, start, end, periodSeconds: period, now });
  const models: Record<string, PeakModel> = {};
  const shapes: Record<string, DemandShape> = {};
  for (const r of resources) {
    for (const dim of DIMS) {
      const demand = prewarmDemand(
        values(m, sid(obs.tableName, r.indexName, `${dim}:h:consumed`)),
        values(m, sid(obs.tableName, r.indexName, `${dim}:h:prov`)),
        m.periodSeconds,
        r,
        dim,
        section.maxUnservedFactor,
      );
      const history = {
        start: m.timestamps[0] ?? start.toISOString(),
        periodSeconds: m.periodSeconds,
        values: demand,
      };
      models[shapeKey(r.indexName, dim)] = learnRecurringPeaks(history, now, section.prewarm);
      const shape = learnDemandShape(history, now);
      if (shape) shapes[shapeKey(r.indexName, dim)] = shape;
    }
  }
  return { learnedAt: now.toISOString(), models, shapes };
}

/** 14 days of use (table and GSIs summed) for the mode advisor, at the configured period. */
interface ModeUsage {
  usage: UsageSeries;
  /** The table's own use and each GSI's (switching to provisioned sizes each from its own use). */
  tableUsage?: UsageSeries;
  indexUsage?: Array<{ indexName: string; usage: UsageSeries }>;
}

/** The mode advisor's CloudWatch series: use (table and GSIs summed, and each on its own), and the
 * table's provisioned capacity and throttle events (summed) to price provisioned as it really ran. */
function usageSeriesRequests(obs: TableObservation): SeriesRequest[] {
  const resources = [obs.table, ...obs.indexes];
  const own = resources.length > 1 ? resources : [];
  const one = (name: (dim: CapacityDim) => string, dim: CapacityDim) =>
    resources.length > 1
      ? { sumOf: resources.map((r) => ddbMetric(obs.tableName, r.indexName, name(dim))) }
      : { metric: ddbMetric(obs.tableName, null, name(dim)) };
  const consumed = (dim: CapacityDim) => `Consumed${metricPrefix(dim)}CapacityUnits`;
  return DIMS.flatMap((dim) => [
    { id: `usage:${dim}`, kind: 'counter' as const, statistic: 'Sum', ...one(consumed, dim) },
    {
      id: `usage:${dim}:throttled`,
      kind: 'counter' as const,
      statistic: 'Sum',
      ...one((d) => `${metricPrefix(d)}ProvisionedThroughputThrottleEvents`, dim),
    },
    // Published only while the table is provisioned: an on-demand period is unknown (null).
    {
      id: `usage:${dim}:provisioned`,
      kind: 'gauge' as const,
      statistic: 'Average',
      ...one((d) => `Provisioned${metricPrefix(d)}CapacityUnits`, dim),
    },
    ...own.map((r) => ({
      id: `usage:${r.indexName ?? ''}:${dim}`,
      kind: 'counter' as const,
      statistic: 'Sum',
      metric: ddbMetric(obs.tableName, r.indexName, consumed(dim)),
    })),
  ]);
}

/**
 * The table's use per period with what it had and what went unserved: consumed + throttle events
 * x units per request (recent), capped per 300 s at `maxUnservedFactor` x the capacity it had, as
 * the capacity policy estimates demand (shared/policies/dynamodb-demand.ts).
 */
function tableUse(
  m: MetricsResult,
  obs: TableObservation,
  dim: CapacityDim,
  maxUnservedFactor: number,
): { units: Array<number | null>; unserved: Array<number | null>; provisioned: Array<number | null> } {
  const raw = (id: string) => m.series.get(id)?.values ?? [];
  const consumed = raw(`usage:${dim}`);
  const provisioned = raw(`usage:${dim}:provisioned`);
  const recent = obs.table.metrics[dim];
  const parts = demandSeries(
    {
      periodSeconds: m.periodSeconds,
      consumedUnits: consumed.map((v) => v ?? 0),
      provisionedThrottleEvents: raw(`usage:${dim}:throttled`).map((v) => v ?? 0),
      keyRangeThrottleEvents: [],
      accountLimitThrottleEvents: [],
    },
    provisioned.map((v) => v ?? 0),
    unitsPerRequest(recent, recent.consumedUnits.length),
    maxUnservedFactor,
  );
  const known = (i: number, v: number | undefined) =>
    consumed[i] === null ? null : (v ?? 0) * m.periodSeconds;
  return {
    units: parts.demand.map((v, i) => known(i, v)),
    unserved: parts.unserved.map((v, i) => known(i, v)),
    provisioned,
  };
}

/** 14 days of use (table and GSIs summed, and each on its own) for the mode advisor. */
async function usageFor(obs: TableObservation, section: DynamodbConfig, now: Date): Promise<ModeUsage> {
  const a = section.modeAdvisor;
  const fine = 300;
  const end = new Date(Math.floor(now.getTime() / (a.periodSeconds * 1000)) * a.periodSeconds * 1000);
  const start = new Date(end.getTime() - a.lookbackDays * 1440 * MINUTE);
  // 300 s data is kept 63 days (aws-facts.md, CloudWatch): sums per period, peaks per 5 minutes.
  const m = await getMetrics({ series: usageSeriesRequests(obs), start, end, periodSeconds: fine, now });
  const per = Math.max(1, Math.round(a.periodSeconds / m.periodSeconds));
  const chunks = <T>(xs: readonly T[], f: (chunk: T[]) => number | null) => {
    const out: Array<number | null> = [];
    for (let i = 0; i < xs.length; i += per) out.push(f(xs.slice(i, i + per)));
    return out;
  };
  const knownOf = (c: Array<number | null>) => c.filter((v): v is number => v !== null);
  const sumOf = (c: Array<number | null>) =>
    knownOf(c).length ? knownOf(c).reduce((s, v) => s + v, 0) : null;
  const peakOf = (c: Array<number | null>) =>
    knownOf(c).length ? Math.max(...knownOf(c)) / m.periodSeconds : null;
  // A period priced from what the table had only when it was provisioned throughout.
  const meanOf = (c: Array<number | null>) =>
    c.every((v) => v !== null) ? (sumOf(c) ?? 0) / c.length : null;
  const usageOf = (prefix: string): UsageSeries => {
    const r = m.series.get(`${prefix}read`)?.values ?? [];
    const w = m.series.get(`${prefix}write`)?.values ?? [];
    return {
      periodSeconds: per * m.periodSeconds,
      end: end.toISOString(),
      readUnits: chunks(r, sumOf),
      writeUnits: chunks(w, sumOf),
      readPeakPerSecond: chunks(r, peakOf),
      writePeakPerSecond: chunks(w, peakOf),
    };
  };
  const read = tableUse(m, obs, 'read', section.maxUnservedFactor);
  const write = tableUse(m, obs, 'write', section.maxUnservedFactor);
  const usage: UsageSeries = {
    periodSeconds: per * m.periodSeconds,
    end: end.toISOString(),
    readUnits: chunks(read.units, sumOf),
    writeUnits: chunks(write.units, sumOf),
    readPeakPerSecond: chunks(read.units, peakOf),
    writePeakPerSecond: chunks(write.units, peakOf),
    readProvisioned: chunks(read.provisioned, meanOf),
    writeProvisioned: chunks(write.provisioned, meanOf),
    readUnservedUnits: chunks(read.unserved, sumOf),
    writeUnservedUnits: chunks(write.unserved, sumOf),
  };
  if (obs.indexes.length === 0) return { usage };
  return {
    usage,
    tableUsage: usageOf('usage::'),
    indexUsage: obs.indexes.map((g) => ({
      indexName: g.indexName ?? '',
      usage: usageOf(`usage:${g.indexName}:`),
    })),
  };
}

/**
 * The mode decisions recorded for a table in the last 24 h beyond the mode history's: the rolling
 * 24 h limit on switches to on-demand (aws-facts.md) must count every switch of the window. The
 * history holds the notable decisions of the same window (RECENT_WINDOW_MS), newest first, up to
 * RECENT_DECISIONS: when it holds fewer, it is all of them (an applied switch is notable) and
 * nothing more is read; else the table's mode decisions of the day are listed.
 */
async function switchDecisions(
  store: StateStore,
  resource: string,
  now: Date,
  modeHistory: ResourceHistory,
): Promise<Decision[]> {
  const day = 24 * 3_600_000;
  if (RECENT_WINDOW_MS >= day && modeHistory.recent.length < RECENT_DECISIONS) return [];
  const since = new Date(now.getTime() - day).toISOString();
  return store.listDecisions({ since, until: now.toISOString(), tuner: 'dynamodb-mode', resource });
}

function switchesOf(
  table: TableDescription,
  history: ResourceHistory,
  lastDay: readonly Decision[] = [],
): ModeSwitch[] {
  const out: ModeSwitch[] = [];
  const last = table.BillingModeSummary?.LastUpdateToPayPerRequestDateTime;
  if (last) out.push({ at: last.toISOString(), to: 'PAY_PER_REQUEST' });
  for (const d of [...history.recent, ...lastDay]) {
    if (d.action === 'set-capacity-mode' && d.outcome === 'applied') {
      const to = d.to === 'PAY_PER_REQUEST' ? 'PAY_PER_REQUEST' : 'PROVISIONED';
      if (!out.some((s) => s.at === d.at && s.to === to)) out.push({ at: d.at, to });
    }
  }
  return out;
}

function settingsFor(config: Config, tuner: 'dynamodb' | 'dynamodb-mode'): TunerSettings {
  const s = resolveSettings(config, tuner);
  // The capacity policy has its own stabilization window and decrease budget: no extra cooldown
  // unless the section sets one (a cooldown would also delay increases).
  return { ...s, cooldownMinutes: config.tuners.dynamodb?.cooldownMinutes ?? 0 };
}

export async function runDynamodb(
  request: TunerRunRequest,
  deps: DynamodbRunDeps = {},
): Promise<TunerRunSummary> {
  const { config, store, started } = await openTunerRun('dynamodb', request, deps);
  const adapter = deps.adapter ?? dynamodbAdapter;
  const section = config.tuners.dynamodb;
  // Unlike the other tuners, a disabled section is reported even when paused or a duplicate.
  if (!section?.enabled) return finishRun(started, [], [notEnabledNote('dynamodb')]);
  if (started.duplicate) return finishRun(started, []);
  if (started.run.paused)
    return finishRun(started, await handBackWhilePaused(started.run, section, config, store));
  const { run } = started;
  const notes: string[] = [];
  const prices: PriceTable = pricesFor(config);
  // Only the managed tables are listed and described; the rest of the account's provisioned
  // capacity (the account quota) comes from an hourly refreshed sum (discovery/account-capacity.ts).
  const fleet = await discoverFleet({
    kinds: ['dynamodb-table'],
    selector: section.resources,
    tagKeys: config.tags,
  });
  notes.push(...fleet.notes);
  const accountProvisioned: CapacityPair = await accountProvisionedCapacity({
    managed: fleet.tables.map((t) => t.raw),
    store,
    now: run.now,
  });
  // Alarm fast path: a GSI alarm names "table/index/gsi": run its table.
  const tables: Array<DiscoveredTarget<TableDescription>> = selectRequested(
    fleet.tables.filter((t) => t.managed),
    request.resourceIds?.map((id) => id.split('/index/')[0] ?? id),
    notes,
    (id) => `${id}: not found among the managed DynamoDB tables`,
  );
  const histories = new Map<string, ResourceHistory>();
  for (const t of tables)
    histories.set(t.ref.id, await store.getHistory('dynamodb', t.ref.id, run.now, TABLE_HISTORY));
  const capacitySettings = settingsFor(config, 'dynamodb');
  // An opted-out table, or one no longer managed, gets the person's scaling settings back.
  const stopped = await handBackStopped({
    ...{ managed: fleet.tables, selected: tables, requested: request.resourceIds },
    ...{ run, config, settings: capacitySettings, adapter, store },
  });
  const tuned = tables.filter((t) => !t.optedOut);
  const due = dueTables(tuned, histories, section, run, notes);
  const limits = await readLimits(section, notes);
  const modeSettings = settingsFor(config, 'dynamodb-mode');
  const decisions: Decision[] = [...stopped.decisions];
  const failedObservation = (target: Target, error: unknown) =>
    recordObservationFailure(store, run, target.ref, capacitySettings.mode, error, {
      override: run.override,
    });
  const causesRead = throttleCausesTables(due, histories, run, section.lookbackMinutes);
  let observations = new Map<string, TableObservation>();
  try {
    observations = await observeTables({
      tables: due.map((t) => t.raw),
      section,
      limits,
      accountProvisioned,
      now: run.now,
      notes,
      relearning: relearningTables(due, histories, run.now),
      throttleCauses: causesRead,
    });
  } catch (error) {
    // Without metrics nothing can be decided: one failed decision per table says why.
    for (const target of due) decisions.push(await failedObservation(target, error));
    return finishRun(started, decisions, notes);
  }
  for (const target of due) {
    if (outOfTime(request, target.ref.id, notes)) break;
    try {
      decisions.push(
        ...(await tuneTable({
          target,
          section,
          config,
          observations,
          prices,
          run,
          store,
          adapter,
          capacitySettings,
          modeSettings,
          notes,
          history: histories.get(target.ref.id),
          throttleCausesRead: causesRead.has(target.ref.id),
        })),
      );
    } catch (error) {
      decisions.push(await failedObservation(target, error));
    }
  }
  await saveLiftedIndex(store, stopped, histories, decisions);
  return finishRun(started, decisions, notes);
}

/**
 * What a run reads of a table's history: its meta items and only the newest notable decision. A
 * table's tuning reads its tuner state, ledger, drift and intents (`pending`); of `recent`, only
 * the newest is read (the state store's repeat check of a skip or deferral; an intended decision
 * is also in `pending`). The executor re-reads the history in full under the lock before acting,
 * and the mode advisor reads its own. Each older decision was a ~1.5 KB item of a consistent read.
 */
const TABLE_HISTORY: HistoryOptions = { recentDecisions: 1 };

/** Observation cadence: a scheduled run observes only the tables whose time has come. */
function dueTables(
  tables: Array<DiscoveredTarget<TableDescription>>,
  histories: ReadonlyMap<string, ResourceHistory>,
  section: DynamodbConfig,
  run: RunContext,
  notes: string[],
): Array<DiscoveredTarget<TableDescription>> {
  return tables.filter((t) => {
    const { cadence } = tableTunerState(histories.get(t.ref.id)).state;
    const ok = !section.cadence.enabled || isDue(cadence?.nextAt, run.now, run.trigger);
    if (!ok && cadence)
      notes.push(`${t.ref.id}: next observed at ${cadence.nextAt.slice(11, 16)} (${cadence.reason})`);
    return ok;
  });
}

/**
 * Pausing db-autopilot hands Application Auto Scaling back to the person: every lifted minimum
 * and maximum and every target tracking policy db-autopilot changed is restored exactly (the
 * person's scale-in works again while db-autopilot does nothing). These restoring actions are the
 * only ones a paused run takes; each is recorded. Removal (README.md, "Removing db-autopilot"):
 * pause, let one DynamoDB run hand back, then remove the stack.
 */
async function handBackWhilePaused(
  run: RunContext,
  section: DynamodbConfig,
  config: Config,
  store: StateStore,
): Promise<Decision[]> {
  const fleet = await discoverFleet({
    kinds: ['dynamodb-table'],
    selector: section.resources,
    tagKeys: config.tags,
    includeUnmanaged: true,
  });
  // Every managed table, and every table the state table lists with lifts (no longer managed).
  const known = await liftedTables(store, run.now);
  const back = await handBackTables({
    targets: fleet.tables.filter((t) => t.managed || known.includes(t.ref.id)),
    ...{ run, config, settings: settingsFor(config, 'dynamodb'), adapter: dynamodbAdapter, store },
  });
  await saveLiftedIndex(store, { ...back, known }, new Map(), []);
  return back.decisions;
}

/** What the DynamoDB tuner keeps per table between runs (its tuner state). */
interface TuneTableInput {
  target: DiscoveredTarget<TableDescription>;
  section: DynamodbConfig;
  config: Config;
  observations: Map<string, TableObservation>;
  prices: PriceTable;
  run: RunContext;
  store: StateStore;
  adapter: Adapter;
  capacitySettings: TunerSettings;
  modeSettings: TunerSettings;
  notes: string[];
  /** Read by the run before it chose what to observe (the cadence). */
  history?: ResourceHistory;
  /** This observation read the key-range and account-limit throttle events (default yes). */
  throttleCausesRead?: boolean;
}

/** The table's valid stored state (dynamodb-state.ts); a malformed part is left out, said in the run's notes. */
function validStateOf(history: ResourceHistory, table: string, notes: string[]): TableTunerState {
  const { state, malformedParts } = tableTunerState(history);
  for (const m of malformedParts)
    notes.push(`${table}: stored ${m.part} is not valid (${m.why}): left out, rebuilt as if never stored`);
  return state;
}

/** The table's valid leases; a malformed one is treated as absent, said in the run's notes. */
function liftsFor(history: ResourceHistory, table: string, notes: string[]): ScalingLifts {
  const { lifts, malformed } = storedLifts(history.tunerState, table);
  for (const m of malformed)
    notes.push(
      `${table}: stored lease ${m.key} is not valid (${m.why}): treated as absent (not handed back); ${handRestore(m, table)}`,
    );
  return lifts;
}

/**
 * One table, in order: observe (this run's observation, what earlier runs left) -> decide
 * (pre-warm and lifted floors, capacity plan, scalable targets) -> guard (findings not
 * repeated; the executor's shared guards) -> act (executePlan) -> record (tuner state) -> the
 * capacity mode advice when it is due.
 */
async function tuneTable(input: TuneTableInput): Promise<Decision[]> {
  const { target, section, run, store } = input;
  const now = run.now;
  // Observe.
  const obs = input.observations.get(target.ref.id);
  if (!obs) throw new Error(`no observation of ${target.ref.id}`);
  const history = input.history ?? (await store.getHistory('dynamodb', target.ref.id, now, TABLE_HISTORY));
  const state = validStateOf(history, target.ref.id, input.notes);
  // Decide.
  const prewarm = await peaksLearnedBy(obs, state.prewarm, section, now, input.notes);
  const lifts = liftsFor(history, target.ref.id, input.notes);
  const floors = [...prewarmFloors(obs, prewarm, section, now), ...scalingFloors(obs, section, lifts, now)];
  const drifted = await capacityDrift(obs, state.explained, store, input.capacitySettings, now);
  if (drifted) input.notes.push(drifted);
  const { plan, proposed, assessments } = planTableCapacity({
    observation: obs,
    config: section,
    prices: input.prices,
    now,
    floors,
    shapes: prewarm?.shapes,
    tableRef: target.ref,
  });
  const scaling = scalingPlanOf(obs, section, proposed, lifts, now, target);
  // Guard (the shared guards run in executePlan).
  const { actions, findings } = withoutRepeatedFindings(plan.actions, state.findings, now);
  const combined = inApplyOrder({ ...plan, actions }, scaling);
  // Act: planHistory: under the lock, a change another run (the alarm fast path and the schedule
  // can overlap) applied since this observation skips the stale plan (shared/core/guards.ts).
  const capacityDecisions = await executePlan({
    plan: combined,
    target,
    settings: input.capacitySettings,
    adapter: input.adapter,
    run,
    store,
    planHistory: history,
  });
  countAppliedCapacity(obs, combined.actions, capacityDecisions);
  // Record.
  const mode = section.modeAdvisor.enabled
    ? await modeAdviceDue(store, target.ref.id, run, state.modeAdvisedAt)
    : undefined;
  const modeAdvisedAt = mode ? (mode.due ? now.toISOString() : mode.lastAdvised) : state.modeAdvisedAt;
  await saveTunerState(store, target.ref.id, history, {
    lifts: leasesAfter(scaling, combined.actions, capacityDecisions),
    explained: explainedAfter(state.explained, obs, combined.actions, capacityDecisions),
    findings,
    ...(prewarm ? { prewarm } : {}),
    ...(modeAdvisedAt ? { modeAdvisedAt } : {}),
    reads: readsAfter(state.reads, run, input.throttleCausesRead !== false),
    observedAt: now.toISOString(),
    cadence: observationCadence({
      obs,
      assessments,
      actions: combined.actions,
      trigger: run.trigger,
      prewarm,
      section,
      now,
    }),
  });
  // Capacity mode advice, at most hourly (14 days of metrics per run would be wasteful).
  const advice = mode?.due && mode.history ? await adviseMode(input, obs, mode.history) : [];
  return [...capacityDecisions, ...advice];
}

/**
 * Hourly, from one demand history: recurring peaks (pre-warming) and the demand shape (the day's
 * decrease plan and the learned burst floor, used whether pre-warming is on or not). What was
 * learned before is kept when learning fails (noted) or is not due.
 */
async function peaksLearnedBy(
  obs: TableObservation,
  learned: PrewarmState | undefined,
  section: DynamodbConfig,
  now: Date,
  notes: string[],
): Promise<PrewarmState | undefined> {
  if (obs.billingMode !== 'PROVISIONED' || !relearnDue(learned, now)) return learned;
  try {
    return await learnPeaks(obs, section, now);
  } catch (error) {
    notes.push(`${obs.tableName}: could not learn recurring peaks (${publicMessage(error)})`);
    return learned;
  }
}

/** The capacity floors the learned recurring peaks ask for now (pre-warming, provisioned tables). */
function prewarmFloors(
  obs: TableObservation,
  prewarm: PrewarmState | undefined,
  section: DynamodbConfig,
  now: Date,
): CapacityFloor[] {
  if (!section.prewarm.enabled || obs.billingMode !== 'PROVISIONED') return [];
  const floors: CapacityFloor[] = [];
  for (const [key, model] of Object.entries(prewarm?.models ?? {})) {
    const [idx, dim] = key.split(':');
    const f = prewarmFloorAt(model, now, section.prewarm, section.targetUtilization);
    if (f && (dim === 'read' || dim === 'write')) {
      floors.push({
        indexName: idx ? idx : null,
        dim,
        units: f.units,
        reason: f.reason,
        evidence: f.evidence,
        detail: {
          prewarm: {
            expectedAt: f.peak.at,
            expectedPeak: f.peak.value,
            periodMinutes: f.peak.periodMinutes,
            pastPeaks: f.peak.history,
            learnedFrom: model.learnedFrom,
          },
        },
      });
    }
  }
  return floors;
}

/** The scalable targets' plan; a global table is recommend-only: its targets are left as they are. */
function scalingPlanOf(
  obs: TableObservation,
  section: DynamodbConfig,
  proposed: ReturnType<typeof planTableCapacity>['proposed'],
  lifts: ScalingLifts,
  now: Date,
  target: DiscoveredTarget<TableDescription>,
): ScalingPlan {
  if (obs.replicaRegions?.length) return { actions: [], changes: [], lifts };
  return planScalingTargets({
    observation: obs,
    config: section,
    proposed,
    lifts,
    now,
    tableRef: target.ref,
  });
}

/**
 * A finding (hot key, account limit) is reported once per FINDING_REPEAT_MS, not every run: the
 * actions without the findings reported since, and when each finding was last reported.
 */
function withoutRepeatedFindings(
  planned: readonly Action[],
  reported: Record<string, string> | undefined,
  now: Date,
): { actions: Action[]; findings: Record<string, string> } {
  const findings = { ...(reported ?? {}) };
  const actions = planned.filter((a) => {
    if (a.kind !== 'finding') return true;
    const key = `${String(a.params?.cause)}:${String(a.params?.indexName ?? '')}:${String(a.params?.dim)}`;
    const last = findings[key];
    if (last && now.getTime() - Date.parse(last) < FINDING_REPEAT_MS) return false;
    findings[key] = now.toISOString();
    return true;
  });
  return { actions, findings };
}

/** Raise first (UpdateTable), then lift the scalable targets' minimum, then any decrease. */
function inApplyOrder(plan: Plan, scaling: ScalingPlan): Plan {
  const increases = plan.actions.filter(
    (a) => (a.params as { direction?: string } | undefined)?.direction === 'increase',
  );
  const rest = plan.actions.filter((a) => !increases.includes(a));
  const combined: Plan = { ...plan, actions: [...increases, ...scaling.actions, ...rest] };
  if (combined.actions.length) delete combined.noopReason;
  return combined;
}

/**
 * aws-facts.md, DynamoDB: the 80,000-unit account quota counts every table and GSI. The tables
 * of one run share one account total (observeTables), so what was applied here counts for the
 * tables planned after this one.
 */
function countAppliedCapacity(
  obs: TableObservation,
  actions: readonly Action[],
  decisions: readonly Decision[],
): void {
  actions.forEach((a, i) => {
    if (decisions[i]?.outcome !== 'applied') return;
    if (a.kind !== 'set-capacity' && a.kind !== 'prewarm') return;
    const from = (a.from ?? {}) as Record<string, CapacityPair | undefined>;
    const to = (a.to ?? {}) as Record<string, CapacityPair | undefined>;
    for (const [k, next] of Object.entries(to)) {
      const prev = from[k];
      if (!next || !prev) continue;
      for (const dim of DIMS) obs.limits.accountProvisioned[dim] += next[dim] - prev[dim];
    }
  });
}

/**
 * The capacity mode advice (due): records that it advised, advises from 14 days of use, and
 * acts on the advice unless it only repeats a recent recommendation (a manual run always acts).
 */
async function adviseMode(
  input: TuneTableInput,
  obs: TableObservation,
  modeHistory: ResourceHistory,
): Promise<Decision[]> {
  const { target, section, run, store } = input;
  const now = run.now;
  await store.putTunerState('dynamodb-mode', target.ref.id, {
    ...modeHistory.tunerState,
    lastAdvisedAt: now.toISOString(),
  });
  const { usage, tableUsage, indexUsage } = await usageFor(obs, section, now);
  // A global table: switching the mode in one Region switches every replica: recommend only.
  const global = (obs.replicaRegions?.length ?? 0) > 0;
  const advice = adviseCapacityMode({
    tableName: obs.tableName,
    tableRef: target.ref,
    billingMode: obs.billingMode,
    usage,
    ...(tableUsage ? { tableUsage } : {}),
    ...(indexUsage ? { indexUsage } : {}),
    ...(obs.tableClass ? { tableClass: obs.tableClass } : {}),
    config: global ? { ...section, modeAdvisor: { ...section.modeAdvisor, allowSwitch: false } } : section,
    prices: input.prices,
    now,
    switches: switchesOf(
      target.raw,
      modeHistory,
      await switchDecisions(store, target.ref.id, now, modeHistory),
    ),
  });
  if (repeatsRecommendation(advice.plan, modeHistory, now) && run.trigger !== 'manual') return [];
  // The mode history read for this advice is the plan's (not read again; re-read under the lock).
  return executePlan({
    plan: advice.plan,
    target,
    settings: input.modeSettings,
    adapter: input.adapter,
    run,
    store,
    planHistory: modeHistory,
  });
}

/** The same recommendation is repeated once a day, not every hour (a switch is never held back). */
function repeatsRecommendation(plan: Plan, modeHistory: ResourceHistory, now: Date): boolean {
  return (
    plan.actions.length > 0 &&
    plan.actions.every(
      (a) =>
        a.kind === 'recommend' &&
        modeHistory.recent.some(
          (d) =>
            d.action === 'recommend' &&
            d.to === a.to &&
            now.getTime() - Date.parse(d.at) < RECOMMEND_REPEAT_MS,
        ),
    )
  );
}

/**
 * Whether the hourly capacity mode advice is due. The mode advisor's own history is read only
 * when it may be: the DynamoDB tuner's state keeps when it last advised (`modeAdvisedAt`), so the
 * runs in between read nothing more (two queries per table and run saved).
 */
async function modeAdviceDue(
  store: StateStore,
  tableId: string,
  run: RunContext,
  knownAt: string | undefined,
): Promise<{ due: boolean; lastAdvised?: string; history?: ResourceHistory }> {
  const now = run.now.getTime();
  if (run.trigger !== 'manual' && knownAt && now - Date.parse(knownAt) < ADVISE_EVERY_MS) {
    return { due: false, lastAdvised: knownAt };
  }
  const history = await store.getHistory('dynamodb-mode', tableId, run.now);
  // Stored state is validated: a lastAdvisedAt that is not a time reads as never advised there.
  const stored = history.tunerState?.lastAdvisedAt;
  const storedAt = typeof stored === 'string' && Number.isFinite(Date.parse(stored)) ? stored : undefined;
  const lastAdvised = storedAt ?? history.recent[0]?.at;
  const due = run.trigger === 'manual' || !lastAdvised || now - Date.parse(lastAdvised) >= ADVISE_EVERY_MS;
  return { due, ...(lastAdvised ? { lastAdvised } : {}), history };
}

/**
 * Parts of a table's tuner state kept in items of their own: `prewarm` (the learned peaks and
 * demand shapes, ~3 KB a table) changes only when relearned, hourly; `observed` (dynamodb-state.ts
 * OBSERVED_PART: `reads`, `cadence`, `observedAt`: when the table was observed and is due again)
 * changes on every observation. The rest (`lifts`, `explained`, `findings`, `modeAdvisedAt`)
 * changes only with what a run did or found. Before, every run rewrote it all (1,804 puts for
 * 1,800 observations at 20 tables x 3 h), because `reads.at` and `cadence.nextAt` are times.
 */
export const TABLE_STATE_PARTS = ['prewarm'] as const;

/**
 * Writes a table's tuner state: each part of TABLE_STATE_PARTS on its own when it changed (or was
 * still inside the main item); the main item at once, with this observation, when the rest
 * changed; else only this observation, in the `observed` part as a held put (written with the
 * run's no-op records in one BatchWriteItem, StateStore.putTunerState `held`): lost in a crash,
 * the next run takes the table as due and reads its throttle causes again.
 */
async function saveTunerState(
  store: StateStore,
  tableId: string,
  stored: ResourceHistory,
  next: Record<string, unknown> & Pick<TableTunerState, 'reads' | 'cadence' | 'observedAt'>,
) {
  const main = JSON.parse(JSON.stringify(next)) as Record<string, unknown>;
  const storedMain: Record<string, unknown> = { ...stored.tunerState };
  const apart = new Set(stored.tunerStateParts ?? []);
  for (const part of TABLE_STATE_PARTS) {
    const value = storedPart(part, main[part]);
    delete main[part];
    if (apart.has(part)) delete storedMain[part];
    if (value === undefined) continue;
    if (!apart.has(part) || !isDeepStrictEqual(stored.tunerState?.[part], value))
      await store.putTunerState('dynamodb', tableId, value as Record<string, unknown>, part);
  }
  const observation: Record<string, unknown> = {};
  for (const field of OBSERVED_FIELDS) {
    observation[field] = main[field];
    delete storedMain[field];
  }
  delete storedMain[OBSERVED_PART];
  const rest = Object.fromEntries(Object.entries(main).filter(([k]) => !(k in observation)));
  if (!stored.tunerState || !isDeepStrictEqual(storedMain, rest))
    await store.putTunerState('dynamodb', tableId, main);
  else await store.putTunerState('dynamodb', tableId, observation, OBSERVED_PART, { held: true });
}

/**
 * When a scheduled run observes this table again (shared/policies/dynamodb-cadence.ts), from the
 * capacity policy's assessments, this run's plan and the learned recurring peaks.
 */
export function observationCadence(input: {
  obs: TableObservation;
  assessments: CadenceInput['assessments'];
  actions: readonly Action[];
  trigger: string;
  prewarm: PrewarmState | undefined;
  section: DynamodbConfig;
  now: Date;
}): CadenceDecision {
  const { section, now } = input;
  const cadence: CadenceConfig = { ...DEFAULT_CADENCE, ...section.cadence };
  return chooseCadence({
    now,
    assessments: input.assessments,
    ...cadenceOfPlan({ actions: [...input.actions] }),
    updating: [input.obs.table, ...input.obs.indexes].some((r) => r.status !== 'ACTIVE'),
    alarm: input.trigger === 'alarm',
    ...nextPeak(input.prewarm, section, now, cadence.slowMinutes),
    config: section,
    cadence,
  });
}

/** The first minute within `minutes` at which a learned recurring peak asks for a pre-warm. */
function nextPeak(
  prewarm: PrewarmState | undefined,
  section: DynamodbConfig,
  now: Date,
  minutes: number,
): { nextPeakAt?: string } {
  if (!section.prewarm.enabled || !prewarm) return {};
  for (let m = 0; m <= minutes; m++) {
    const at = new Date(now.getTime() + m * MINUTE);
    for (const model of Object.values(prewarm.models))
      if (prewarmFloorAt(model, at, section.prewarm, section.targetUtilization))
        return { nextPeakAt: at.toISOString() };
  }
  return {};
}

/** Throttling alarms for the fast path: per table and GSI, read and write (1 minute, any event). */
export function dynamodbAlarms(targets: Target[]): AlarmSpec[] {
  const out: AlarmSpec[] = [];
  for (const t of targets) {
    if (t.ref.kind !== 'dynamodb-table' && t.ref.kind !== 'dynamodb-gsi') continue;
    const [tableName, indexName] = t.ref.id.split('/index/');
    if (!tableName) continue;
    for (const dim of DIMS) {
      out.push({
        tuner: 'dynamodb',
        resourceId: t.ref.id,
        key: `throttle_${dim}`,
        namespace: 'AWS/DynamoDB',
        metricName: `${metricPrefix(dim)}ProvisionedThroughputThrottleEvents`,
        dimensions: metricDimensions(tableName, indexName ?? null),
        statistic: 'Sum',
        periodSeconds: 60,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        threshold: 0,
        comparison: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        description: `db-autopilot fast path: ${dim} capacity throttling on ${t.ref.id} raises capacity at once`,
      });
    }
  }
  return out;
}

export const registration: TunerRegistration = {
  run: (request) => runDynamodb(request),
  adapter: dynamodbAdapter,
  alarms: dynamodbAlarms,
};
