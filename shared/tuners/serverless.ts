/**
 * The Aurora Serverless v2 bounds tuner: discover the managed clusters with a
 * ServerlessV2ScalingConfiguration (DescribeDBClusters, their db.serverless members from
 * DescribeDBInstances) -> observe (CloudWatch: each member's ServerlessDatabaseCapacity,
 * ACUUtilization, DatabaseConnections, CPUUtilization, FreeableMemory, BufferCacheHitRatio; the
 * last hour at 60 s and the last days at 15 min) -> drift check (a person's new bounds win and
 * become the bounds handed back) -> bounds policy -> executePlan (shared guards, write-ahead
 * intent) -> the person's bounds kept in the tuner state.
 *
 * While db-autopilot is paused, a run only hands the person's bounds back, exactly (the bounds
 * before db-autopilot's first change, or the ones a person set since). `revert` replays a
 * decision's recorded prior bounds through the same adapter.
 *
 * How the bounds are decided: shared/policies/serverless-bounds.ts. How a change is applied:
 * shared/adapters/aurora-serverless.ts.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  type DBCluster,
  DBClusterNotFoundFault,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
} from '@aws-sdk/client-rds';
import {
  boundsOf,
  createServerlessAdapter,
  type ServerlessBoundsParams,
} from '../adapters/aurora-serverless.ts';
import { rdsClient } from '../aws/clients.ts';
import { getConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { ServerlessSection } from '../config/sections/serverless.ts';
import type {
  AlarmSpec,
  ResourceHistory,
  RunContext,
  StateStore,
  Target,
  TunerRunRequest,
  TunerRunSummary,
} from '../core/contracts.ts';
import { checkDrift, lastAppliedChange } from '../core/drift.ts';
import { executePlan } from '../core/executor.ts';
import type { Action, Decision, Plan } from '../core/model.ts';
import { finishRun, outOfTime, recordObservationFailure, selectRequested } from '../core/run.ts';
import { resolveSettings, resolveTarget } from '../core/settings.ts';
import { type DiscoveredTarget, discoverFleet } from '../discovery/index.ts';
import { getMetrics, type MetricsResult, type SeriesRequest } from '../metrics/index.ts';
import {
  DEFAULT_SERVERLESS_SETTINGS,
  historyDaysRead,
  planServerlessBounds,
  type ServerlessObservation,
  type ServerlessSettings,
} from '../policies/serverless-bounds.ts';
import { pricesFor } from '../pricing.ts';
import {
  notEnabledNote,
  openTunerRun,
  REPEAT_FINDING_MS,
  type TunerRunDeps,
  withoutRepeats,
} from './common.ts';
import type { TunerRegistration } from './registry.ts';

const MINUTE = 60_000;
/** The profile is read in 15-minute buckets (GetMetricData at 900 s: 7 days = 672 points a series). */
const HISTORY_PERIOD_SECONDS = 900;
const KINDS: Action['kind'][] = ['set-serverless-bounds'];

type Cluster = DiscoveredTarget<DBCluster>;

interface Member {
  id: string;
  writer: boolean;
  tier: number;
}

/** The policy's settings from the config section and the price table. */
export function serverlessPolicySettings(
  section: ServerlessSection,
  prices: Record<string, number>,
): ServerlessSettings {
  return {
    ...DEFAULT_SERVERLESS_SETTINGS,
    warmFraction: section.warmFraction,
    sharpWarmFraction: section.sharpWarmFraction,
    sharpRiseRatio: section.sharpRiseRatio,
    recentMinutes: section.recentMinutes,
    lookaheadMinutes: section.lookaheadMinutes,
    profileDays: section.profileDays,
    maxHeadroom: section.maxHeadroom,
    maxCapacityCeiling: section.maxCapacityCeiling,
    minCapacityFloor: section.minCapacityFloor,
    idleHoursForPause: section.idleHoursForPause,
    allowAutoPause: section.allowAutoPause,
    secondsUntilAutoPause: section.secondsUntilAutoPause,
    minChangeAcu: section.minChangeAcu,
    steadyRatio: section.steadyRatio,
    acuHourUsd: prices['aurora.serverless.acuHour'] ?? DEFAULT_SERVERLESS_SETTINGS.acuHourUsd,
  };
}

const isServerless = (c: Cluster) => boundsOf(c.raw) !== undefined;

/** The cluster's db.serverless instances (DescribeDBClusters' members carry no instance class). */
async function serverlessMembers(cluster: DBCluster): Promise<Member[]> {
  const id = cluster.DBClusterIdentifier ?? '';
  const out = await rdsClient().send(
    new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: [id] }] }),
  );
  const serverless = new Set(
    (out.DBInstances ?? [])
      .filter((i) => i.DBInstanceClass === 'db.serverless')
      .map((i) => i.DBInstanceIdentifier),
  );
  return (cluster.DBClusterMembers ?? [])
    .filter((m) => serverless.has(m.DBInstanceIdentifier))
    .map((m) => ({
      id: m.DBInstanceIdentifier ?? '',
      writer: m.IsClusterWriter === true,
      tier: m.PromotionTier ?? 1,
    }));
}

const RECENT = [
  ['capacity', 'ServerlessDatabaseCapacity', 'Average'],
  ['acuUtilization', 'ACUUtilization', 'Maximum'],
  ['connections', 'DatabaseConnections', 'Maximum'],
  ['cpu', 'CPUUtilization', 'Maximum'],
  ['freeableMemory', 'FreeableMemory', 'Minimum'],
  ['bufferCacheHitRatio', 'BufferCacheHitRatio', 'Minimum'],
] as const;
const HISTORY = [
  ['capacityMax', 'ServerlessDatabaseCapacity', 'Maximum'],
  ['capacityMean', 'ServerlessDatabaseCapacity', 'Average'],
  ['connectionsMax', 'DatabaseConnections', 'Maximum'],
] as const;

function seriesOf(
  prefix: string,
  members: Member[],
  metrics: ReadonlyArray<readonly [string, string, string]>,
): SeriesRequest[] {
  return members.flatMap((m) =>
    metrics.map(([key, metricName, statistic]) => ({
      id: `${prefix}:${m.id}:${key}`,
      kind: 'gauge' as const,
      statistic,
      metric: { namespace: 'AWS/RDS', metricName, dimensions: { DBInstanceIdentifier: m.id } },
    })),
  );
}

/**
 * One series over the members, point by point: the busiest instance (max) for capacity and CPU
 * (the bounds apply to every instance), the sum of connections, the lowest memory and hit ratio;
 * cut at `points` (the newest published, or complete, minute).
 */
function combined(
  result: MetricsResult,
  prefix: string,
  members: Member[],
  key: string,
  how: 'max' | 'sum' | 'min',
  points: number,
): Array<number | null> {
  const columns = members.map((m) => result.series.get(`${prefix}:${m.id}:${key}`)?.values ?? []);
  return Array.from({ length: points }, (_, i) => {
    const vs = columns.map((c) => c[i]).filter((v): v is number => typeof v === 'number');
    if (vs.length === 0) return null;
    if (how === 'sum') return vs.reduce((a, b) => a + b, 0);
    return how === 'max' ? Math.max(...vs) : Math.min(...vs);
  });
}

/** What the policy sees: DescribeDBClusters and the published metrics, nothing hidden. */
function observe(
  c: Cluster,
  members: Member[],
  recent: MetricsResult,
  hist: MetricsResult,
  now: Date,
): ServerlessObservation {
  const bounds = boundsOf(c.raw) as ServerlessBoundsParams;
  const r = (key: string, how: 'max' | 'sum' | 'min') =>
    combined(recent, 'r', members, key, how, recent.publishedPoints);
  const h = (key: string, how: 'max' | 'sum' | 'min') =>
    combined(hist, 'h', members, key, how, hist.completePoints);
  const lastBucket = hist.timestamps[hist.completePoints - 1];
  return {
    clusterId: c.ref.id,
    engine: c.raw.Engine ?? 'aurora-postgresql',
    engineVersion: c.raw.EngineVersion ?? '',
    observedAt: now.toISOString(),
    status: c.raw.Status,
    current: bounds,
    followingReaders: members.filter((m) => !m.writer && m.tier <= 1).length,
    recent: {
      capacity: r('capacity', 'max'),
      acuUtilization: r('acuUtilization', 'max'),
      connections: r('connections', 'sum'),
      cpu: r('cpu', 'max'),
      freeableMemory: r('freeableMemory', 'min'),
      bufferCacheHitRatio: r('bufferCacheHitRatio', 'min'),
    },
    history: {
      periodMinutes: HISTORY_PERIOD_SECONDS / 60,
      capacityMax: h('capacityMax', 'max'),
      capacityMean: h('capacityMean', 'max'),
      connectionsMax: h('connectionsMax', 'sum'),
      end: lastBucket
        ? new Date(Date.parse(lastBucket) + HISTORY_PERIOD_SECONDS * 1000).toISOString()
        : now.toISOString(),
    },
  };
}

/** The person's bounds (handed back on pause): refreshed while db-autopilot has changed nothing, or after drift. */
export function personBoundsAfter(
  history: ResourceHistory,
  observed: ServerlessBoundsParams,
  drifted: boolean,
): ServerlessBoundsParams {
  const kept = (history.tunerState?.personBounds as ServerlessBoundsParams | undefined) ?? undefined;
  if (drifted || !kept || !lastAppliedChange(history, KINDS)) return observed;
  return kept;
}

interface ClusterRun {
  run: RunContext;
  store: StateStore;
  section: ServerlessSection;
  policy: ServerlessSettings;
  prices: Record<string, number>;
  settings: ReturnType<typeof resolveSettings>;
  adapter: ReturnType<typeof createServerlessAdapter>;
}

async function tuneCluster(
  x: ClusterRun,
  c: Cluster,
  members: Member[],
  recent: MetricsResult,
  hist: MetricsResult,
): Promise<Decision[]> {
  const { run, store } = x;
  const id = c.ref.id;
  const history = await store.getHistory('serverless', id, run.now);
  const observed = boundsOf(c.raw) as ServerlessBoundsParams;
  const { verdict, history: seen } = await checkDrift({
    observed,
    history,
    kinds: KINDS,
    store,
    tuner: 'serverless',
    resourceId: id,
    settings: x.settings,
    now: run.now,
  });
  const plan = planServerlessBounds(observe(c, members, recent, hist, run.now), x.policy, x.prices);
  const since = new Date(run.now.getTime() - REPEAT_FINDING_MS).toISOString();
  withoutRepeats(plan, await store.listDecisions({ since, tuner: 'serverless', resource: id }), run.now);
  const decisions = await executePlan({
    plan,
    target: c,
    settings: x.settings,
    adapter: x.adapter,
    run,
    store,
    planHistory: seen,
  });
  const person = personBoundsAfter(history, observed, verdict.drifted);
  if (!isDeepStrictEqual(person, history.tunerState?.personBounds))
    await store.putTunerState('serverless', id, { ...history.tunerState, personBounds: person });
  return decisions;
}

/** Reads both windows for every member of every cluster in two batched GetMetricData reads. */
async function readMetrics(section: ServerlessSection, members: Member[], now: Date) {
  const recent = await getMetrics({
    series: seriesOf('r', members, RECENT),
    start: new Date(now.getTime() - section.lookbackMinutes * MINUTE),
    end: now,
    periodSeconds: 60,
    now,
  });
  // The profile's days, and the whole same weekday a week ago (a quiet weekday is learned from it).
  const histStart = new Date(now.getTime() - historyDaysRead(section) * 1440 * MINUTE);
  const hist = await getMetrics({
    series: seriesOf('h', members, HISTORY),
    start: new Date(
      Math.floor(histStart.getTime() / (HISTORY_PERIOD_SECONDS * 1000)) * HISTORY_PERIOD_SECONDS * 1000,
    ),
    end: now,
    periodSeconds: HISTORY_PERIOD_SECONDS,
    now,
  });
  return { recent, hist };
}

async function discoverClusters(
  config: Config,
  section: ServerlessSection,
  request: TunerRunRequest,
  notes: string[],
) {
  const fleet = await discoverFleet({
    kinds: ['aurora-cluster'],
    selector: section.resources,
    tagKeys: config.tags,
  });
  notes.push(...fleet.notes);
  return selectRequested(
    fleet.auroraClusters.filter(isServerless),
    request.resourceIds,
    notes,
    (id) => `${id}: not a managed Aurora Serverless v2 cluster`,
  );
}

export async function runServerless(
  request: TunerRunRequest,
  deps: TunerRunDeps = {},
): Promise<TunerRunSummary> {
  const { config, store, now, started } = await openTunerRun('serverless', request, deps);
  if (started.duplicate) return finishRun(started, []);
  const section = config.tuners.serverless;
  if (started.run.paused)
    return finishRun(
      started,
      section?.enabled ? await handBackWhilePaused(started.run, section, config, store) : [],
    );
  const { run } = started;
  if (!section?.enabled) return finishRun(started, [], [notEnabledNote('serverless')]);
  const prices = pricesFor(config);
  const x: ClusterRun = {
    run,
    store,
    section,
    policy: serverlessPolicySettings(section, prices),
    prices,
    settings: resolveSettings(config, 'serverless'),
    adapter: deps.adapter ?? createServerlessAdapter({ now: () => run.now }),
  };
  const notes: string[] = [];
  const targets = await discoverClusters(config, section, request, notes);
  if (targets.length === 0) return finishRun(started, [], notes);
  const membersOf = new Map<string, Member[]>();
  for (const c of targets) membersOf.set(c.ref.id, await serverlessMembers(c.raw));
  const { recent, hist } = await readMetrics(section, [...membersOf.values()].flat(), now);
  notes.push(...recent.notes, ...hist.notes);
  const decisions: Decision[] = [];
  for (const c of targets) {
    if (outOfTime(request, c.ref.id, notes)) break;
    try {
      // An opted-out cluster is not tuned: db-autopilot's last bounds are handed back.
      if (c.optedOut) decisions.push(...(await handBackCluster(x, c, 'cluster opted out')));
      else decisions.push(...(await tuneCluster(x, c, membersOf.get(c.ref.id) ?? [], recent, hist)));
    } catch (error) {
      decisions.push(await recordObservationFailure(store, run, c.ref, x.settings.mode, error));
    }
  }
  return finishRun(started, decisions, notes);
}

/** The action that hands a cluster's bounds back to the person's, when db-autopilot's are in effect. */
export function handBackAction(c: Cluster, history: ResourceHistory, why: string): Action | undefined {
  const person = history.tunerState?.personBounds as ServerlessBoundsParams | undefined;
  const current = boundsOf(c.raw);
  const last = lastAppliedChange(history, KINDS);
  if (!person || !current || !last || isDeepStrictEqual(person, current)) return undefined;
  // Only db-autopilot's own bounds are handed back: a person's newer change stays.
  if (!isDeepStrictEqual(last.to, current)) return undefined;
  return {
    tuner: 'serverless',
    resource: c.ref,
    kind: 'set-serverless-bounds',
    from: current,
    to: person,
    reason: `${c.ref.id}: capacity range handed back to the person's ${person.min}-${person.max} ACU (${why})`,
    evidence: [],
    monthlyCostDelta: 0,
    undo: { kind: 'set-serverless-bounds', params: { clusterId: c.ref.id, bounds: current } },
    mutating: true,
    params: { clusterId: c.ref.id, bounds: person },
    severity: 'warning',
    // Only the person's own bounds: passes the opt-out guard (shared/core/guards.ts).
    restores: true,
  };
}

/**
 * Pausing db-autopilot hands every managed cluster's capacity range back to the person, exactly:
 * the only change a paused run makes, each recorded. No cooldown: stopping is not tuning.
 */
async function handBackWhilePaused(
  run: RunContext,
  section: ServerlessSection,
  config: Config,
  store: StateStore,
): Promise<Decision[]> {
  const targets = await discoverClusters(
    config,
    section,
    { trigger: run.trigger, dryRun: false, override: false, idempotencyKey: run.idempotencyKey },
    [],
  );
  const settings = { ...resolveSettings(config, 'serverless'), cooldownMinutes: 0 };
  const adapter = createServerlessAdapter({ now: () => run.now });
  // One run object for every hand-back (decision ids are numbered per run object).
  const acting: RunContext = { ...run, paused: false };
  const decisions: Decision[] = [];
  for (const c of targets)
    decisions.push(
      ...(await handBackCluster({ run: acting, store, settings, adapter }, c, 'db-autopilot is paused')),
    );
  return decisions;
}

/**
 * Hands one cluster's capacity range back to the person's (pause, opt-out tag), recorded. No
 * cooldown: stopping is not tuning; every other guard applies.
 */
async function handBackCluster(
  x: Pick<ClusterRun, 'run' | 'store' | 'settings' | 'adapter'>,
  c: Cluster,
  why: string,
): Promise<Decision[]> {
  const history = await x.store.getHistory('serverless', c.ref.id, x.run.now);
  const action = handBackAction(c, history, why);
  if (!action) return [];
  const plan: Plan = {
    tuner: 'serverless',
    resource: c.ref,
    observedAt: x.run.now.toISOString(),
    actions: [action],
  };
  const settings = { ...x.settings, cooldownMinutes: 0 };
  return executePlan({ plan, target: c, settings, adapter: x.adapter, run: x.run, store: x.store });
}

/**
 * The fast path: ACUUtilization at 99% or more for 3 minutes means demand is capped by
 * MaxCapacity; the alarm runs this tuner for that cluster at once, which doubles the maximum
 * (within the ceiling) through the same guards.
 */
export function serverlessAlarms(targets: Target[], config: Config = getConfig()): AlarmSpec[] {
  if (!config.tuners.serverless?.enabled) return [];
  return targets
    .filter((t) => t.ref.kind === 'aurora-cluster' && t.managed && !t.optedOut)
    .filter((t) => {
      const raw = (t as Partial<Cluster>).raw;
      return raw === undefined || boundsOf(raw) !== undefined;
    })
    .map((t) => ({
      tuner: 'serverless' as const,
      resourceId: t.ref.id,
      key: 'acu_capped',
      namespace: 'AWS/RDS',
      metricName: 'ACUUtilization',
      dimensions: { DBClusterIdentifier: t.ref.id },
      statistic: 'Maximum' as const,
      periodSeconds: 60,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      threshold: 99,
      comparison: 'GreaterThanOrEqualToThreshold' as const,
      treatMissingData: 'notBreaching' as const,
      description: `db-autopilot serverless: ACUUtilization of ${t.ref.id} at MaxCapacity: raise the maximum`,
    }));
}

/** Consent facts of one cluster for `revert`, from DescribeDBClusters' TagList. */
async function clusterTarget(ref: Target['ref']): Promise<Target | undefined> {
  if (ref.kind !== 'aurora-cluster') return undefined;
  const out = await rdsClient()
    .send(new DescribeDBClustersCommand({ DBClusterIdentifier: ref.id }))
    .catch((error: unknown) => {
      if (error instanceof DBClusterNotFoundFault) return undefined;
      throw error;
    });
  const cluster = out?.DBClusters?.[0];
  if (!cluster) return undefined;
  const tags = Object.fromEntries((cluster.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  return resolveTarget({
    config: getConfig(),
    tuner: 'serverless',
    ref: { ...ref, arn: cluster.DBClusterArn },
    tags,
  });
}

export const registration: TunerRegistration = {
  run: (request) => runServerless(request),
  adapter: createServerlessAdapter(),
  alarms: (targets) => serverlessAlarms(targets),
  target: clusterTarget,
};
