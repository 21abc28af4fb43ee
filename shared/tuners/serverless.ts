/**
 * The Aurora Serverless v2 bounds tuner: discover the managed clusters with a
 * ServerlessV2ScalingConfiguration (DescribeDBClusters, their db.serverless members from
 * DescribeDBInstances) -> observe (CloudWatch: each member's ServerlessDatabaseCapacity,
 * ACUUtilization, DatabaseConnections, CPUUtilization, FreeableMemory, BufferCacheHitRatio; the
 * last hour at 60 s and the last days at 15 min; hourly, the last days' DatabaseConnections at 60 s
 * to learn recurring spikes from, and db-autopilot's own changes of those days:
 * ./serverless-inputs.ts) -> drift check (a person's new bounds win and become the bounds handed
 * back) -> bounds policy -> executePlan (shared guards, write-ahead intent) -> the person's bounds
 * kept in the tuner state.
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
import type { Action, Decision } from '../core/model.ts';
import { finishRun, outOfTime, recordObservationFailure, selectRequested } from '../core/run.ts';
import { resolveSettings, resolveTarget } from '../core/settings.ts';
import { type DiscoveredTarget, discoverFleet } from '../discovery/index.ts';
import { getMetrics, type MetricsResult, type SeriesRequest } from '../metrics/index.ts';
import {
  DEFAULT_SERVERLESS_SETTINGS,
  historyDaysRead,
  minimumInEffect,
  planServerlessBounds,
  type ServerlessObservation,
  type ServerlessSettings,
} from '../policies/serverless-bounds.ts';
import type { LearnedSpikes } from '../policies/serverless-spikes.ts';
import { pricesFor } from '../pricing.ts';
import {
  notEnabledNote,
  openTunerRun,
  REPEAT_FINDING_MS,
  type TunerRunDeps,
  withoutRepeats,
} from './common.ts';
import type { TunerRegistration } from './registry.ts';
import { changedClusters, handBackCluster, saveChangedIndex } from './serverless-handback.ts';
import {
  learnedSpikes,
  mainState,
  minimumChanges,
  PERSON_BOUNDS,
  readMinuteConnections,
  spikesDue,
  storedPersonBounds,
} from './serverless-inputs.ts';

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

/**
 * What the policy sees: DescribeDBClusters and the published metrics, nothing hidden; the spikes
 * learned from them, and the minimum in effect per bucket from db-autopilot's own decisions.
 */
function observe(
  c: Cluster,
  members: Member[],
  read: { recent: MetricsResult; hist: MetricsResult },
  own: { spikes?: LearnedSpikes; decisions: Decision[] },
  now: Date,
): ServerlessObservation {
  const { recent, hist } = read;
  const bounds = boundsOf(c.raw) as ServerlessBoundsParams;
  const r = (key: string, how: 'max' | 'sum' | 'min') =>
    combined(recent, 'r', members, key, how, recent.publishedPoints);
  const h = (key: string, how: 'max' | 'sum' | 'min') =>
    combined(hist, 'h', members, key, how, hist.completePoints);
  const lastBucket = hist.timestamps[hist.completePoints - 1];
  const historyEnd = lastBucket
    ? new Date(Date.parse(lastBucket) + HISTORY_PERIOD_SECONDS * 1000).toISOString()
    : now.toISOString();
  const lastMinute = recent.timestamps[recent.publishedPoints - 1];
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
      ...(lastMinute ? { end: new Date(Date.parse(lastMinute) + MINUTE).toISOString() } : {}),
    },
    ...(own.spikes ? { spikes: own.spikes.spikes } : {}),
    history: {
      periodMinutes: HISTORY_PERIOD_SECONDS / 60,
      capacityMax: h('capacityMax', 'max'),
      capacityMean: h('capacityMean', 'max'),
      connectionsMax: h('connectionsMax', 'sum'),
      end: historyEnd,
      minInEffect: minimumInEffect(minimumChanges(own.decisions), {
        end: historyEnd,
        periodMinutes: HISTORY_PERIOD_SECONDS / 60,
        count: hist.completePoints,
      }),
    },
  };
}

/**
 * The person's bounds (handed back on pause): refreshed while db-autopilot has changed nothing, or
 * after drift; undefined when the stored ones are malformed and db-autopilot's are in effect.
 */
export function personBoundsAfter(
  history: ResourceHistory,
  observed: ServerlessBoundsParams,
  drifted: boolean,
): ServerlessBoundsParams | undefined {
  const kept = storedPersonBounds(history);
  if (drifted || !kept || !lastAppliedChange(history, KINDS)) return observed;
  // Malformed while db-autopilot's range is in effect: the person's is unknown (observed is ours);
  // the record stays as it is and the hand-back says so (serverless-handback.ts).
  return 'bounds' in kept ? kept.bounds : undefined;
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

interface Readings {
  recent: MetricsResult;
  hist: MetricsResult;
  /** The 60-s connections of the clusters whose spikes are due to be learned again. */
  minutes?: MetricsResult;
}

async function tuneCluster(
  x: ClusterRun,
  c: Cluster,
  members: Member[],
  read: Readings,
  history: ResourceHistory,
): Promise<{ decisions: Decision[]; ours: boolean }> {
  const { run, store } = x;
  const id = c.ref.id;
  const ids = members.map((m) => m.id);
  const spikes = await learnedSpikes(store, id, history, ids, read.minutes, run.now);
  // db-autopilot's own decisions over the history's days (the minimum in effect) and the last hours (repeats).
  const own = await store.listDecisions({
    since: read.hist.timestamps[0] ?? run.now.toISOString(),
    tuner: 'serverless',
    resource: id,
  });
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
  const obs = observe(c, members, read, { ...(spikes ? { spikes } : {}), decisions: own }, run.now);
  const plan = planServerlessBounds(obs, x.policy, x.prices);
  const since = run.now.getTime() - REPEAT_FINDING_MS;
  withoutRepeats(
    plan,
    own.filter((d) => Date.parse(d.at) >= since),
    run.now,
  );
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
  if (person && !isDeepStrictEqual(person, history.tunerState?.[PERSON_BOUNDS]))
    await store.putTunerState('serverless', id, { ...mainState(history), personBounds: person });
  // db-autopilot's range in effect after this run (to hand back if the cluster leaves the config).
  const applied = decisions.find((d) => d.action === 'set-serverless-bounds' && d.outcome === 'applied');
  const now = (applied?.to as ServerlessBoundsParams | undefined) ?? observed;
  const ours = !isDeepStrictEqual(now, person) && (!!applied || !!lastAppliedChange(history, KINDS));
  return { decisions, ours };
}

/**
 * Reads both windows for every member of every cluster in two batched GetMetricData reads, and the
 * 60-s connections of `learning` (the members of clusters whose spikes are due) in a third.
 */
async function readMetrics(
  section: ServerlessSection,
  members: Member[],
  learning: Member[],
  now: Date,
): Promise<Readings> {
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
  const minutes = await readMinuteConnections(
    learning.map((m) => m.id),
    historyDaysRead(section),
    now,
  );
  return { recent, hist, ...(minutes ? { minutes } : {}) };
}

/**
 * The managed Serverless v2 clusters the run tunes (those a run for named clusters names), and the
 * indexed clusters db-autopilot changed that are no longer managed (`gone`: handed back) or no
 * longer exist (`deleted`).
 */
async function discoverClusters(
  config: Config,
  section: ServerlessSection,
  request: TunerRunRequest,
  notes: string[],
  indexed: readonly string[],
) {
  const fleet = await discoverFleet({
    kinds: ['aurora-cluster'],
    selector: section.resources,
    tagKeys: config.tags,
    includeUnmanaged: indexed.length > 0,
  });
  notes.push(...fleet.notes);
  const serverless = fleet.auroraClusters.filter(isServerless);
  const targets = selectRequested(
    serverless.filter((c) => c.managed),
    request.resourceIds,
    notes,
    (id) => `${id}: not a managed Aurora Serverless v2 cluster`,
  );
  const asked = (id: string) => !request.resourceIds || request.resourceIds.includes(id);
  const gone = serverless.filter((c) => !c.managed && indexed.includes(c.ref.id) && asked(c.ref.id));
  const found = new Set(fleet.auroraClusters.map((c) => c.ref.id));
  const deleted = indexed.filter((id) => !found.has(id) && asked(id));
  for (const id of deleted)
    notes.push(`${id}: no longer exists; db-autopilot had set its capacity range: nothing to hand back`);
  return { targets, gone, deleted };
}

export async function runServerless(
  request: TunerRunRequest,
  deps: TunerRunDeps = {},
): Promise<TunerRunSummary> {
  const { config, store, started } = await openTunerRun('serverless', request, deps);
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
  const indexed = await changedClusters(store, run.now);
  const { targets, gone, deleted } = await discoverClusters(config, section, request, notes, indexed);
  const next = new Set(indexed.filter((id) => !deleted.includes(id)));
  const decisions: Decision[] = [];
  // Clusters that left the config (or the managed tag) get the person's range back.
  for (const c of gone) {
    const back = await handBackCluster(x, c, 'cluster no longer managed');
    decisions.push(...back.decisions);
    if (back.settled) next.delete(c.ref.id);
  }
  if (targets.length > 0) decisions.push(...(await tuneClusters(x, targets, request, notes, next)));
  await saveChangedIndex(store, indexed, next);
  return finishRun(started, decisions, notes);
}

/** Tunes each managed cluster (an opted-out one is handed back), keeping `changed` (the index) up to date. */
async function tuneClusters(
  x: ClusterRun,
  targets: Cluster[],
  request: TunerRunRequest,
  notes: string[],
  changed: Set<string>,
): Promise<Decision[]> {
  // One cluster's members unreadable (throttled past the SDK's retries, a cluster deleted meanwhile)
  // fails that cluster only, recorded; the others are tuned.
  const membersOf = new Map<string, Member[] | { failed: unknown }>();
  for (const c of targets)
    membersOf.set(c.ref.id, await serverlessMembers(c.raw).catch((error: unknown) => ({ failed: error })));
  const members = (id: string) => {
    const m = membersOf.get(id);
    return Array.isArray(m) ? m : [];
  };
  const histories = new Map<string, ResourceHistory>();
  // (A history that cannot be read now is read again, and its failure recorded, with the cluster's turn.)
  for (const c of targets) {
    const h = c.optedOut
      ? undefined
      : await x.store.getHistory('serverless', c.ref.id, x.run.now).catch(() => undefined);
    if (h) histories.set(c.ref.id, h);
  }
  const learning = targets.filter((c) => {
    const h = histories.get(c.ref.id);
    return h !== undefined && spikesDue(h, x.run.now);
  });
  const read = await readMetrics(
    x.section,
    targets.flatMap((c) => members(c.ref.id)),
    learning.flatMap((c) => members(c.ref.id)),
    x.run.now,
  );
  notes.push(...read.recent.notes, ...read.hist.notes, ...(read.minutes?.notes ?? []));
  const decisions: Decision[] = [];
  for (const c of targets) {
    if (outOfTime(request, c.ref.id, notes)) break;
    try {
      const got = membersOf.get(c.ref.id);
      // An opted-out cluster is not tuned: db-autopilot's last bounds are handed back.
      if (c.optedOut) {
        const back = await handBackCluster(x, c, 'cluster opted out');
        decisions.push(...back.decisions);
        if (back.settled) changed.delete(c.ref.id);
        continue;
      }
      if (got && !Array.isArray(got)) throw got.failed;
      const history =
        histories.get(c.ref.id) ?? (await x.store.getHistory('serverless', c.ref.id, x.run.now));
      const tuned = await tuneCluster(x, c, members(c.ref.id), read, history);
      decisions.push(...tuned.decisions);
      if (tuned.ours) changed.add(c.ref.id);
      else changed.delete(c.ref.id);
    } catch (error) {
      decisions.push(await recordObservationFailure(x.store, x.run, c.ref, x.settings.mode, error));
    }
  }
  return decisions;
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
  const notes: string[] = [];
  const indexed = await changedClusters(store, run.now);
  const request = {
    trigger: run.trigger,
    dryRun: false,
    override: false,
    idempotencyKey: run.idempotencyKey,
  };
  const { targets, gone, deleted } = await discoverClusters(config, section, request, notes, indexed);
  const settings = { ...resolveSettings(config, 'serverless'), cooldownMinutes: 0 };
  const adapter = createServerlessAdapter({ now: () => run.now });
  // One run object for every hand-back (decision ids are numbered per run object).
  const acting: RunContext = { ...run, paused: false };
  const next = new Set(indexed.filter((id) => !deleted.includes(id)));
  const decisions: Decision[] = [];
  for (const c of [...targets, ...gone]) {
    const why = c.managed ? 'db-autopilot is paused' : 'db-autopilot is paused; cluster no longer managed';
    const back = await handBackCluster({ run: acting, store, settings, adapter }, c, why);
    decisions.push(...back.decisions);
    if (back.settled) next.delete(c.ref.id);
  }
  await saveChangedIndex(store, indexed, next);
  return decisions;
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
