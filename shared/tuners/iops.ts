/**
 * The Provisioned IOPS tuner: discover RDS instances -> observe (DescribeDBInstances, CloudWatch,
 * DescribeEvents, DescribeValidDBInstanceModifications, the state table) -> drift check -> IOPS
 * policy -> executePlan (shared guards) -> summary. DescribeEvents is read once per run for the
 * whole account and DescribeValidDBInstanceModifications only when what it depends on changed:
 * each instance keeps a copy of both in its tuner state (shared/tuners/iops-describe-cache.ts).
 * Scheduled, from the alarm fast path (DiskQueueDepth, latency, BurstBalance alarms run it for one
 * instance at once, through the same guards), or by hand.
 *
 * How IOPS are decided: shared/policies/iops.ts. How a change is applied: shared/adapters/rds-iops.ts.
 * The storage-change ledger (RDS events + db-autopilot's records): shared/policies/iops-ledger.ts.
 */
import type { DBInstance } from '@aws-sdk/client-rds';
import {
  createIopsAdapter,
  describeAccountEvents,
  describeRecentEvents,
  describeValidStorage,
  storageStatusOf,
} from '../adapters/rds-iops.ts';
import { rdsClient } from '../aws/clients.ts';
import { asStorageType } from '../aws/rds-storage-limits.ts';
import { getConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { IopsSection } from '../config/sections/iops.ts';
import { clock } from '../core/clock.ts';
import type {
  Adapter,
  AlarmSpec,
  ResourceHistory,
  RunContext,
  StateStore,
  Target,
  TunerRunRequest,
  TunerRunSummary,
  TunerSettings,
} from '../core/contracts.ts';
import { checkDrift } from '../core/drift.ts';
import { publicMessage } from '../core/errors.ts';
import { executePlan } from '../core/executor.ts';
import type { Decision } from '../core/model.ts';
import { finishRun, outOfTime, recordObservationFailure, selectRequested } from '../core/run.ts';
import { resolveSettings } from '../core/settings.ts';
import { type DiscoveredTarget, discoverFleet } from '../discovery/index.ts';
import { getMetrics, type SeriesRequest } from '../metrics/index.ts';
import {
  decideIops,
  type IopsObservation,
  type IopsPolicySettings,
  type MetricSeries,
  policySettings,
  type ValidStorageOption,
} from '../policies/iops.ts';
import { buildStorageLedger, type RdsEventLike } from '../policies/iops-ledger.ts';
import { type PriceTable, pricesFor } from '../pricing.ts';
import { inWindow, RECENT_DECISIONS, RECENT_WINDOW_MS } from '../state/keys.ts';
import { notEnabledNote, openTunerRun, type TunerRunDeps, withoutRepeats } from './common.ts';
import {
  ACCOUNT_WINDOW_MS,
  cachedValidStorage,
  copyCovers,
  DESCRIBE_CACHE_PART,
  type DescribeCache,
  EVENTS_LOOKBACK_MS,
  fullReadEvery,
  mergeEvents,
  nextDescribeCache,
  readDescribeCache,
  validStorageKey,
} from './iops-describe-cache.ts';
import type { TunerRegistration } from './registry.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The long window is read at this period (max per period): 5 min keeps 25+ h under 400 points. */
const HISTORY_PERIOD_SECONDS = 300;

/** Tests pass their own adapter; default: ModifyDBInstance through shared/adapters/rds-iops.ts. */
export type IopsRunDeps = TunerRunDeps;

const RECENT_METRICS = [
  ['readIops', 'ReadIOPS', 'Average'],
  ['writeIops', 'WriteIOPS', 'Average'],
  ['diskQueueDepth', 'DiskQueueDepth', 'Average'],
  ['readLatency', 'ReadLatency', 'Average'],
  ['writeLatency', 'WriteLatency', 'Average'],
  ['burstBalance', 'BurstBalance', 'Minimum'],
  ['ebsIoBalance', 'EBSIOBalance%', 'Minimum'],
  ['freeStorageSpace', 'FreeStorageSpace', 'Minimum'],
] as const;

type RecentKey = (typeof RECENT_METRICS)[number][0];

function metric(id: string, name: string) {
  return { namespace: 'AWS/RDS', metricName: name, dimensions: { DBInstanceIdentifier: id } };
}

/**
 * The raise window's series of one instance. BurstBalance only for gp2: it is "the percent of
 * General Purpose SSD (gp2) burst-bucket I/O credits available" (RDS User Guide, rds-metrics), no
 * other storage publishes it, and the policy reads it only for gp2 (diagnoseGp2): asking for it
 * elsewhere is a metric requested (GetMetricData is billed per metric) that never has a datapoint.
 */
export function recentSeries(id: string, storageType: string | undefined): SeriesRequest[] {
  return RECENT_METRICS.filter(([key]) => key !== 'burstBalance' || storageType === 'gp2').map(
    ([key, name, statistic]) => ({
      id: `recent:${id}:${key}`,
      kind: 'gauge',
      statistic,
      metric: metric(id, name),
    }),
  );
}

function historySeries(id: string): SeriesRequest[] {
  return [
    {
      id: `hist:${id}:totalIops`,
      kind: 'gauge',
      statistic: 'Maximum',
      sumOf: [metric(id, 'ReadIOPS'), metric(id, 'WriteIOPS')],
    },
    { id: `hist:${id}:latency`, kind: 'gauge', statistic: 'Average', metric: metric(id, 'ReadLatency') },
    {
      id: `hist:${id}:freeStorageSpace`,
      kind: 'gauge',
      statistic: 'Minimum',
      metric: metric(id, 'FreeStorageSpace'),
    },
  ];
}

/** The long window: the stabilization window and, for the seasonal forecast, 24 h + the lock-out. */
export function historyMinutes(section: IopsSection): number {
  return Math.max(section.scaleDownStabilizationMinutes, 24 * 60 + section.lockoutForecastHours * 60);
}

/** Instances the IOPS tuner looks at: RDS storage (not Aurora, whose storage is the cluster's). */
function tunable(t: DiscoveredTarget<DBInstance>): boolean {
  return t.raw.DBClusterIdentifier === undefined && asStorageType(t.raw.StorageType) !== undefined;
}

/**
 * The instance's ledger events (shared/tuners/iops-describe-cache.ts): its kept copy with this run's
 * account-wide read merged in when the copy is recent enough, else its own DescribeEvents of the
 * last EVENTS_LOOKBACK_MS. Undefined when RDS could not be read (the ledger then uses db-autopilot's
 * records only).
 */
async function storageEvents(
  id: string,
  kept: DescribeCache | undefined,
  r: InstanceRun,
): Promise<{ items: RdsEventLike[]; full: boolean } | undefined> {
  if (kept?.events && copyCovers(kept, r.now, fullReadEvery(id))) {
    const account = await r.accountEvents();
    if (account) return { items: mergeEvents(kept.events.items, account.get(id) ?? [], r.now), full: false };
  }
  try {
    const events = await describeRecentEvents(rdsClient(), id, r.now, EVENTS_LOOKBACK_MS);
    return { items: mergeEvents([], events, r.now), full: true };
  } catch (error) {
    r.notes.push(
      `${id}: DescribeEvents failed (${publicMessage(error)}); the ledger uses db-autopilot's records only`,
    );
    return undefined;
  }
}

/**
 * Every instance's events of the last ACCOUNT_WINDOW_MS in one account-wide DescribeEvents, read
 * once per run when the first instance needs it; undefined (each instance is read on its own) when
 * RDS fails or the window holds too many pages.
 */
async function readAccountEvents(
  now: Date,
  notes: string[],
): Promise<Map<string, RdsEventLike[]> | undefined> {
  try {
    const byId = await describeAccountEvents(rdsClient(), new Date(now.getTime() - ACCOUNT_WINDOW_MS), now);
    if (!byId) notes.push('the account-wide DescribeEvents has too many pages; instances read one by one');
    return byId;
  } catch (error) {
    notes.push(`the account-wide DescribeEvents failed (${publicMessage(error)}); instances read one by one`);
    return undefined;
  }
}

/** DescribeValidDBInstanceModifications' storage options: the account's own valid ranges. */
async function validStorageOf(id: string, notes: string[]): Promise<ValidStorageOption[] | undefined> {
  try {
    return await describeValidStorage(rdsClient(), id);
  } catch (error) {
    notes.push(
      `${id}: DescribeValidDBInstanceModifications failed (${publicMessage(error)}); planned within the documented ranges only`,
    );
    return undefined;
  }
}

/**
 * The valid storage options of the instance's storage type (the only ones the policy reads:
 * iops-bounds.ts, validEdges): the kept ones while nothing they depend on changed, else read again.
 */
async function validStorageFor(
  inst: DBInstance,
  storageType: string,
  kept: DescribeCache | undefined,
  r: InstanceRun,
): Promise<{ key: string; options: ValidStorageOption[]; fresh: boolean } | undefined> {
  const key = validStorageKey(inst);
  const cached = cachedValidStorage(kept, key, r.now);
  if (cached) return { key, options: cached, fresh: false };
  const options = await validStorageOf(inst.DBInstanceIdentifier ?? '', r.notes);
  if (!options) return undefined;
  return { key, options: options.filter((o) => o.storageType === storageType), fresh: true };
}

/**
 * Writes the instance's copy of RDS's answers when it changed; a failed write is only a note. Held
 * for the run's BatchWriteItem (with its no-op records): a copy lost with a process that dies
 * before its flush only means RDS is read again for that instance next run.
 */
async function keepDescribeCache(
  id: string,
  kept: DescribeCache | undefined,
  read: Parameters<typeof nextDescribeCache>[2],
  r: InstanceRun,
): Promise<void> {
  const next = nextDescribeCache(kept, r.now, read);
  if (!next) return;
  try {
    await r.store.putTunerState('iops', id, next, DESCRIBE_CACHE_PART, { held: true });
  } catch (error) {
    r.notes.push(`${id}: RDS's answers were not kept (${publicMessage(error)}); read again next run`);
  }
}

/** The fleet's metrics, read in two batched calls: the recent window at 60 s, the long window at 5 min. */
interface FleetMetrics {
  recentStart: Date;
  /** One instance's series, or undefined when CloudWatch has no datapoint for it. */
  recent(id: string, key: RecentKey, statistic: string): MetricSeries | undefined;
  history(
    id: string,
    key: 'totalIops' | 'latency' | 'freeStorageSpace',
    statistic: string,
  ): MetricSeries | undefined;
  notes: string[];
}

async function readFleetMetrics(
  targets: Array<DiscoveredTarget<DBInstance>>,
  section: IopsSection,
  now: Date,
): Promise<FleetMetrics> {
  const ids = targets.map((t) => t.ref.id);
  const recentStart = new Date(now.getTime() - section.lookbackMinutes * MINUTE);
  const histStart = new Date(now.getTime() - historyMinutes(section) * MINUTE);
  const recent = await getMetrics({
    series: targets.flatMap((t) => recentSeries(t.ref.id, asStorageType(t.raw.StorageType))),
    start: recentStart,
    end: now,
    periodSeconds: 60,
    now,
  });
  const hist = await getMetrics({
    series: ids.flatMap(historySeries),
    start: histStart,
    end: now,
    periodSeconds: HISTORY_PERIOD_SECONDS,
    now,
  });
  const seriesOf = (result: typeof recent, key: string, statistic: string): MetricSeries | undefined => {
    const s = result.series.get(key);
    if (!s || s.values.every((v) => v === null)) return undefined;
    return {
      start: result.timestamps[0] ?? now.toISOString(),
      periodSeconds: result.periodSeconds,
      values: s.values,
      statistic,
    };
  };
  return {
    recentStart,
    recent: (id, key, statistic) => seriesOf(recent, `recent:${id}:${key}`, statistic),
    history: (id, key, statistic) => seriesOf(hist, `hist:${id}:${key}`, statistic),
    notes: [...recent.notes, ...hist.notes],
  };
}

/** The policy's observation of one instance: DescribeDBInstances, its metrics, the storage ledger. */
function observeInstance(
  inst: DBInstance,
  storageType: NonNullable<ReturnType<typeof asStorageType>>,
  m: FleetMetrics,
  ledger: IopsObservation['ledger'],
  validStorage: ValidStorageOption[] | undefined,
): IopsObservation {
  const id = inst.DBInstanceIdentifier ?? '';
  const pending = (inst.PendingModifiedValues ?? {}) as Record<string, unknown>;
  const empty: MetricSeries = {
    start: m.recentStart.toISOString(),
    periodSeconds: 60,
    values: [],
    statistic: 'Average',
  };
  const get = (key: RecentKey, statistic: string) => m.recent(id, key, statistic);
  return {
    instance: {
      id,
      arn: inst.DBInstanceArn,
      engine: inst.Engine ?? 'unknown',
      instanceClass: inst.DBInstanceClass ?? 'unknown',
      storageType,
      allocatedGiB: inst.AllocatedStorage ?? 0,
      // While a modification is applied, its target is what the instance is heading for.
      iops: typeof pending.Iops === 'number' ? pending.Iops : inst.Iops,
      throughputMibps: inst.StorageThroughput,
      multiAz: inst.MultiAZ,
      maxAllocatedGiB: inst.MaxAllocatedStorage,
    },
    recent: {
      readIops: get('readIops', 'Average') ?? empty,
      writeIops: get('writeIops', 'Average') ?? empty,
      diskQueueDepth: get('diskQueueDepth', 'Average'),
      readLatency: get('readLatency', 'Average'),
      writeLatency: get('writeLatency', 'Average'),
      burstBalance: get('burstBalance', 'Minimum'),
      ebsIoBalance: get('ebsIoBalance', 'Minimum'),
      freeStorageSpace: get('freeStorageSpace', 'Minimum'),
    },
    history: {
      totalIops: m.history(id, 'totalIops', 'Maximum') ?? { ...empty, periodSeconds: HISTORY_PERIOD_SECONDS },
      latency: m.history(id, 'latency', 'Average'),
      freeStorageSpace: m.history(id, 'freeStorageSpace', 'Minimum'),
    },
    ledger,
    validStorage,
  };
}

/** What every instance of one run shares. */
interface InstanceRun {
  run: RunContext;
  store: StateStore;
  now: Date;
  settings: TunerSettings;
  cfg: IopsPolicySettings;
  prices: PriceTable;
  adapter: Adapter;
  metrics: FleetMetrics;
  /** The account-wide DescribeEvents of this run, read once when first needed. */
  accountEvents: () => Promise<Map<string, RdsEventLike[]> | undefined>;
  notes: string[];
}

/**
 * This instance's own notable decisions of the last day, oldest first. The history holds the same
 * key range (the last RECENT_WINDOW_MS, newest first) up to RECENT_DECISIONS: when it holds fewer,
 * it is all of them and no second read is needed; else its own partition is read by key range.
 */
async function ownRecordsOf(
  store: StateStore,
  id: string,
  history: ResourceHistory,
  now: Date,
): Promise<Decision[]> {
  const since = new Date(now.getTime() - 24 * HOUR).toISOString();
  const until = now.toISOString();
  if (RECENT_WINDOW_MS === 24 * HOUR && history.recent.length < RECENT_DECISIONS)
    return history.recent.filter((d) => inWindow(d, since, until)).reverse();
  return store.listDecisions({ since, until, tuner: 'iops', resource: id });
}

/** One instance: ledger and drift, observation, decision, then the shared executor. */
async function tuneInstance(target: DiscoveredTarget<DBInstance>, r: InstanceRun): Promise<Decision[]> {
  const { store, now, settings } = r;
  const id = target.ref.id;
  const inst = target.raw;
  const storageType = asStorageType(inst.StorageType);
  if (!storageType) return [];
  const history = await store.getHistory('iops', id, now);
  const ownRecords = await ownRecordsOf(store, id, history, now);
  const kept = readDescribeCache(history.tunerState, id, r.notes);
  const events = await storageEvents(id, kept, r);
  const valid = await validStorageFor(inst, storageType, kept, r);
  await keepDescribeCache(id, kept, { events, valid }, r);
  const pending = (inst.PendingModifiedValues ?? {}) as Record<string, unknown>;
  // Drift: IOPS changed without a db-autopilot decision (a person, Terraform; storage
  // autoscaling never changes IOPS): record it and back off (shared/core/drift.ts). Not while a
  // modification is being applied: the old value is still shown then.
  const changing = inst.DBInstanceStatus === 'modifying' || pending.Iops !== undefined;
  const seen = changing
    ? history
    : (
        await checkDrift({
          observed: inst.Iops,
          history,
          kinds: ['set-iops'],
          store,
          tuner: 'iops',
          resourceId: id,
          settings,
          now,
        })
      ).history;
  const ledger = buildStorageLedger({
    instance: storageStatusOf(inst),
    events: events?.items ?? [],
    decisions: ownRecords,
  });
  const observation = observeInstance(inst, storageType, r.metrics, ledger, valid?.options);
  const { plan } = decideIops({ observation, settings: r.cfg, prices: r.prices, now });
  withoutRepeats(plan, ownRecords, now);
  if (seen.drift && seen !== history) {
    r.notes.push(`${id}: ${seen.drift.detail}; backing off until ${seen.drift.backoffUntil}`);
  }
  // planHistory: under the lock, a change another run (the alarm fast path and the schedule can
  // overlap) applied since this observation skips the stale plan (shared/core/guards.ts).
  return executePlan({ plan, target, settings, adapter: r.adapter, run: r.run, store, planHistory: seen });
}

export async function runIops(request: TunerRunRequest, deps: IopsRunDeps = {}): Promise<TunerRunSummary> {
  const { config, store, now, started } = await openTunerRun('iops', request, deps);
  if (started.run.paused || started.duplicate) return finishRun(started, []);
  const { run } = started;
  const section = config.tuners.iops;
  if (!section?.enabled) return finishRun(started, [], [notEnabledNote('iops')]);
  const adapter =
    deps.adapter ??
    createIopsAdapter({
      rds: () => rdsClient(),
      now: () => run.now,
      allowStorageGrowthForIops: section.allowStorageGrowthForIops,
    });
  const fleet = await discoverFleet({
    kinds: ['rds-instance'],
    selector: section.resources,
    tagKeys: config.tags,
  });
  const notes = [...fleet.notes];
  const targets = selectRequested(
    fleet.rdsInstances.filter(tunable),
    request.resourceIds,
    notes,
    (id) => `${id}: not a managed RDS instance with EBS storage`,
  );
  if (targets.length === 0) return finishRun(started, [], notes);
  const metrics = await readFleetMetrics(targets, section, now);
  notes.push(...metrics.notes);
  let accountEvents: Promise<Map<string, RdsEventLike[]> | undefined> | undefined;
  const each: InstanceRun = {
    run,
    store,
    now,
    settings: resolveSettings(config, 'iops'),
    cfg: policySettings(section),
    prices: pricesFor(config),
    adapter,
    metrics,
    accountEvents: () => {
      accountEvents ??= readAccountEvents(now, notes);
      return accountEvents;
    },
    notes,
  };
  const decisions: Decision[] = [];
  for (const target of targets) {
    if (outOfTime(request, target.ref.id, notes)) break;
    try {
      decisions.push(...(await tuneInstance(target, each)));
    } catch (error) {
      decisions.push(await recordObservationFailure(store, run, target.ref, each.settings.mode, error));
    }
  }
  return finishRun(started, decisions, notes);
}

/**
 * The alarms of the fast path, per managed RDS instance (aws-facts.md, RDS signals for IOPS):
 * DiskQueueDepth > 64, Read/WriteLatency above the configured seconds, BurstBalance < 20% (gp2
 * volumes only: only they publish it). None on an Aurora member or magnetic storage (the tuner
 * cannot act there); the reconciler deletes such alarms an earlier version created. One going to
 * ALARM runs this tuner for that instance at once, through the same guards.
 */
export function iopsAlarms(targets: Target[], config: Config = getConfig()): AlarmSpec[] {
  const section = config.tuners.iops;
  if (!section?.enabled) return [];
  const { burstBalanceLowPercent } = section;
  const base = (t: Target) => ({
    tuner: 'iops' as const,
    resourceId: t.ref.id,
    namespace: 'AWS/RDS',
    dimensions: { DBInstanceIdentifier: t.ref.id },
    treatMissingData: 'notBreaching' as const,
  });
  return targets
    .filter((t) => t.ref.kind === 'rds-instance' && t.managed && !t.optedOut && canAct(t))
    .flatMap((t): AlarmSpec[] => [
      {
        ...base(t),
        key: 'queue_depth_high',
        metricName: 'DiskQueueDepth',
        statistic: 'Average',
        periodSeconds: 60,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        threshold: section.diskQueueDepthAlarm,
        comparison: 'GreaterThanThreshold',
        description: `db-autopilot iops: DiskQueueDepth of ${t.ref.id} above ${section.diskQueueDepthAlarm}: storage IOPS may be saturated`,
      },
      ...(['Read', 'Write'] as const).map(
        (io): AlarmSpec => ({
          ...base(t),
          key: `${io.toLowerCase()}_latency_high`,
          metricName: `${io}Latency`,
          statistic: 'Average',
          periodSeconds: 60,
          evaluationPeriods: 3,
          datapointsToAlarm: 3,
          threshold: section.latencyAlarmSeconds,
          comparison: 'GreaterThanThreshold',
          description: `db-autopilot iops: ${io}Latency of ${t.ref.id} above ${section.latencyAlarmSeconds * 1000} ms`,
        }),
      ),
      ...(publishesBurstBalance(t) ? [burstAlarm(t)] : []),
    ]);

  function burstAlarm(t: Target): AlarmSpec {
    return {
      ...base(t),
      key: 'burst_balance_low',
      metricName: 'BurstBalance',
      statistic: 'Minimum',
      periodSeconds: 300,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: burstBalanceLowPercent,
      comparison: 'LessThanThreshold',
      description: `db-autopilot iops: gp2 BurstBalance of ${t.ref.id} below ${burstBalanceLowPercent}%: consider gp3`,
    };
  }
}

/** The instance as discovered (the reconciler passes discovered targets); absent for a bare Target. */
function rawOf(t: Target): DBInstance | undefined {
  return (t as Partial<DiscoveredTarget<DBInstance>>).raw;
}

/**
 * An alarm is paid for ($0.10 per alarm-month) and can only run this tuner: declare it only where
 * the tuner can act. Not on an Aurora cluster member: Aurora storage is the cluster volume, which
 * "automatically scales with the data in your cluster volume" (Aurora User Guide,
 * Aurora.Managing.Performance, Storage scaling:
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Performance.html),
 * and has no storage IOPS to provision (`tunable` skips it); nor on magnetic storage.
 */
function canAct(t: Target): boolean {
  const raw = rawOf(t);
  return raw === undefined || tunable({ ...t, raw });
}

/**
 * BurstBalance is "the percent of General Purpose SSD (gp2) burst-bucket I/O credits available"
 * (RDS User Guide, rds-metrics: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html;
 * aws-facts.md, storage table): gp3, io1 and io2 have no burst bucket, so an alarm on it there never
 * fires. Unknown storage (a bare Target) gets none either.
 */
function publishesBurstBalance(t: Target): boolean {
  return asStorageType(rawOf(t)?.StorageType) === 'gp2';
}

export const registration: TunerRegistration = {
  run: (request) => runIops(request),
  adapter: (action, target) =>
    createIopsAdapter({
      rds: () => rdsClient(),
      now: () => clock().now(),
      allowStorageGrowthForIops: getConfig().tuners.iops?.allowStorageGrowthForIops === true,
    })(action, target),
  alarms: (targets) => iopsAlarms(targets),
};
