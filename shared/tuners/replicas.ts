/**
 * The replicas tuner: discover sources (Aurora clusters, plain RDS primaries) -> observe readers
 * (status, ownership, routing, CPU / connections / lag) -> planReplicas (pure) -> executePlan
 * (shared guards) -> record the stabilization recommendations -> summary.
 *
 * Scale-out actions are guarded against the source (cluster or primary); removal and routing
 * actions against the replica itself, so the executor's "created" consent (ownership tag AND
 * recorded id) and the opt-out tag apply to the very instance that would be deleted.
 */

import { isDeepStrictEqual } from 'node:util';
import { DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling';
import {
  type DBCluster,
  type DBInstance,
  DBInstanceNotFoundFault,
  DescribeAccountAttributesCommand,
  DescribeDBInstancesCommand,
} from '@aws-sdk/client-rds';
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import { z } from 'zod';
import { createReplicaAdapter, SOURCE_TAG } from '../adapters/rds-replicas.ts';
import { listReplicaRoutes } from '../adapters/route53-routing.ts';
import {
  autoscalingClient,
  cloudwatchClient,
  rdsClient,
  route53Client,
  taggingClient,
} from '../aws/clients.ts';
import { getConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { ReplicasSection } from '../config/sections/replicas.ts';
import { lookupTarget } from '../control/target-lookup.ts';
import { clock } from '../core/clock.ts';
import type {
  Adapter,
  AlarmSpec,
  RunContext,
  StateStore,
  Target,
  TunerRunRequest,
  TunerRunSummary,
  TunerSettings,
} from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import { executePlan } from '../core/executor.ts';
import type { Action, Decision, Plan, ResourceRef } from '../core/model.ts';
import { adoptIfIntended } from '../core/ownership.ts';
import { finishRun, outOfTime, recordObservationFailure, selectRequested } from '../core/run.ts';
import { resolveTarget } from '../core/settings.ts';
import { type DiscoveredTarget, discoverFleet } from '../discovery/index.ts';
import { hasTag, tagListToMap } from '../discovery/select.ts';
import { getMetrics, type SeriesRequest } from '../metrics/index.ts';
import { replicaNameMinute, vcpusOf } from '../policies/replica-cost.ts';
import { planStandaloneReplicas } from '../policies/replica-orphans.ts';
import {
  DEFAULT_ACCOUNT_INSTANCE_QUOTA,
  planReplicas,
  type ReaderObservation,
  type Recommendation,
  type ReplicaObservation,
  type ReplicaPolicySettings,
  type RouteRecord,
  type SourceFamily,
} from '../policies/replicas.ts';
import { pricesFor } from '../pricing.ts';
import { stateStore } from '../state/index.ts';
import {
  notEnabledNote,
  openTunerRun,
  REPEAT_FINDING_MS,
  type TunerRunDeps,
  withoutRepeats,
} from './common.ts';
import type { TunerRegistration } from './registry.ts';

const PLAIN_RDS_ENGINES = /^(mysql|mariadb|postgres)$/;

/** Backtests and tests pass their own adapter; default: the AWS adapter. */
export type ReplicaRunDeps = TunerRunDeps;

interface Source {
  family: SourceFamily;
  target: DiscoveredTarget;
  cluster?: DBCluster;
  primary?: DBInstance;
  readers: DBInstance[];
  writer?: DBInstance;
}

/** Resolved per-source policy settings: the section's values overridden by `sources[id]`. */
export function sourceSettings(
  config: Config,
  section: ReplicasSection,
  sourceId: string,
): ReplicaPolicySettings {
  const o = section.sources[sourceId] ?? {};
  const minReaders = o.minReaders ?? section.minReaders;
  return {
    minReaders,
    maxReaders: Math.max(minReaders, o.maxReaders ?? section.maxReaders),
    targetCpuPercent: o.targetCpuPercent ?? section.targetCpuPercent,
    ...((o.targetConnectionsPerReader ?? section.targetConnectionsPerReader) !== undefined
      ? { targetConnectionsPerReader: o.targetConnectionsPerReader ?? section.targetConnectionsPerReader }
      : {}),
    tolerance: o.tolerance ?? section.tolerance,
    scaleInStabilizationMinutes: o.scaleInStabilizationMinutes ?? section.scaleInStabilizationMinutes,
    maxReplicaLagSeconds: o.maxReplicaLagSeconds ?? section.maxReplicaLagSeconds,
    drainConnectionThreshold: o.drainConnectionThreshold ?? section.drainConnectionThreshold,
    waitForCreatingReplicas: o.waitForCreatingReplicas ?? section.waitForCreatingReplicas,
    stuckCreatingMinutes: o.stuckCreatingMinutes ?? section.stuckCreatingMinutes,
    instanceClasses: o.instanceClasses ?? section.instanceClasses,
    availabilityZones: o.availabilityZones ?? section.availabilityZones,
    ...(o.routing ? { routing: o.routing } : {}),
    ...(o.schedule ? { schedule: o.schedule } : {}),
    prices: pricesFor(config),
  };
}

/** The guard settings for one source (bounds = its reader bounds). */
export function guardSettings(
  config: Config,
  section: ReplicasSection,
  policy: ReplicaPolicySettings,
): TunerSettings {
  return {
    mode: section.mode ?? config.defaults.mode,
    min: policy.minReaders,
    max: policy.maxReaders,
    // Replicas rely on the stabilization window and "a creating replica counts" rather than a
    // cooldown (HPA style); a configured cooldown still applies.
    cooldownMinutes: section.cooldownMinutes ?? 0,
    maxChangesPerRun: section.maxChangesPerRun ?? config.defaults.maxChangesPerRun,
    driftBackoffMinutes: config.defaults.driftBackoffMinutes,
    lockLeaseSeconds: config.defaults.lockLeaseSeconds,
  };
}

const recommendationsSchema = z.array(z.object({ at: z.string(), readers: z.number().int().min(0) }));

/** Recorded recommendations, validated (a malformed state is ignored, never trusted). */
export function recommendationsFrom(state: Record<string, unknown> | undefined): Recommendation[] {
  const parsed = recommendationsSchema.safeParse(state?.recommendations);
  return parsed.success ? parsed.data : [];
}

/**
 * Whether this run's recommendations only repeat the newest stored one (same reader count, a
 * newer time): every run appends one (the scale-in stabilization window, shared/policies/
 * replica-load.ts), so the state changes on every run. Such a write may be held for the run's
 * BatchWriteItem (StateStore.putTunerState `held`): a process killed before its flush loses only
 * that repeat, and the same count, recommended one run earlier, still holds a scale-in (it leaves
 * the window one run sooner). A new count is written at once.
 */
export function sameNewestReaders(
  stored: readonly Recommendation[],
  next: readonly Recommendation[],
): boolean {
  const newest = (list: readonly Recommendation[]) =>
    list.reduce<Recommendation | undefined>(
      (a, r) => (!a || Date.parse(r.at) >= Date.parse(a.at) ? r : a),
      undefined,
    );
  const before = newest(stored);
  const after = newest(next);
  return (
    before !== undefined &&
    after !== undefined &&
    after.readers === before.readers &&
    Date.parse(after.at) > Date.parse(before.at)
  );
}

/**
 * The sources to scale: every managed Aurora cluster, and every managed plain RDS primary that
 * has read replicas or is named under `tuners.replicas.sources` (an instance whose application
 * reads no replica and that nobody configured has nothing to scale).
 */
function findSources(
  instances: Array<DiscoveredTarget<DBInstance>>,
  clusters: Array<DiscoveredTarget<DBCluster>>,
  configured: ReadonlySet<string>,
): Source[] {
  const all = instances.map((t) => t.raw);
  const sources: Source[] = [];
  for (const c of clusters) {
    // Aurora Serverless v1 has no DB instances to add (its capacity scales by ACUs).
    if (!c.managed || c.raw.EngineMode === 'serverless') continue;
    const members = new Map((c.raw.DBClusterMembers ?? []).map((m) => [m.DBInstanceIdentifier, m]));
    const inCluster = all.filter((db) => db.DBClusterIdentifier === c.ref.id);
    const writer = inCluster.find((db) => members.get(db.DBInstanceIdentifier)?.IsClusterWriter === true);
    const readers = inCluster.filter((db) => db !== writer);
    sources.push({ family: 'aurora', target: c, cluster: c.raw, readers, ...(writer ? { writer } : {}) });
  }
  for (const t of instances) {
    const db = t.raw;
    if (!t.managed || db.DBClusterIdentifier || db.ReadReplicaSourceDBInstanceIdentifier) continue;
    if (!PLAIN_RDS_ENGINES.test(db.Engine ?? '')) continue;
    const readers = all.filter((r) => r.ReadReplicaSourceDBInstanceIdentifier === t.ref.id);
    if (readers.length === 0 && !configured.has(t.ref.id)) continue;
    sources.push({ family: 'rds', target: t, primary: db, readers });
  }
  return sources;
}

async function accountUsage(
  instanceCount: number,
  fallbackQuota: number,
): Promise<{ used: number; quota: number }> {
  try {
    const out = await rdsClient().send(new DescribeAccountAttributesCommand({}));
    const q = out.AccountQuotas?.find((a) => a.AccountQuotaName === 'DBInstances');
    if (q?.Max !== undefined) return { used: q.Used ?? instanceCount, quota: q.Max };
  } catch {
    // Not every account (or the simulator) answers it: fall back on the count and the config.
  }
  return { used: instanceCount, quota: fallbackQuota };
}

/**
 * The series the observation reads: a reader's CPU, connections (average and peak), lag and
 * DBLoadCPU; of a source's writer or primary only its CPU (observeSource reads nothing else of it:
 * asking for its connections, lag and DBLoadCPU would be metrics requested, paid for and never read).
 * The lag metric each reader publishes: Aurora readers AuroraReplicaLag (ms), RDS replicas ReplicaLag (s).
 */
export function metricSeries(
  readerIds: Iterable<string>,
  writerIds: Iterable<string>,
  auroraIds: ReadonlySet<string>,
): SeriesRequest[] {
  const metric = (id: string, metricName: string) => ({
    namespace: 'AWS/RDS',
    metricName,
    dimensions: { DBInstanceIdentifier: id },
  });
  const cpu = (id: string): SeriesRequest => ({
    id: `${id}|cpu`,
    kind: 'gauge',
    statistic: 'Average',
    metric: metric(id, 'CPUUtilization'),
  });
  const readers = new Set(readerIds);
  const out: SeriesRequest[] = [];
  for (const id of readers) {
    out.push(
      cpu(id),
      { id: `${id}|conn`, kind: 'gauge', statistic: 'Average', metric: metric(id, 'DatabaseConnections') },
      { id: `${id}|connmax`, kind: 'gauge', statistic: 'Maximum', metric: metric(id, 'DatabaseConnections') },
      {
        id: `${id}|lag`,
        kind: 'gauge',
        statistic: 'Maximum',
        metric: metric(id, auroraIds.has(id) ? 'AuroraReplicaLag' : 'ReplicaLag'),
      },
      // Performance Insights counter metric (published to CloudWatch when PI is on): sessions on CPU.
      { id: `${id}|dbloadcpu`, kind: 'gauge', statistic: 'Average', metric: metric(id, 'DBLoadCPU') },
    );
  }
  for (const id of new Set(writerIds)) if (!readers.has(id)) out.push(cpu(id));
  return out;
}

export { vcpusOf };

function meanOf(values: Array<number | null> | undefined): number | null {
  const known = (values ?? []).filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
}

function maxOf(values: Array<number | null> | undefined): number | null {
  const known = (values ?? []).filter((v): v is number => v !== null);
  return known.length === 0 ? null : Math.max(...known);
}

const groupIds = (db: DBInstance) =>
  (db.VpcSecurityGroups ?? [])
    .map((g) => g.VpcSecurityGroupId ?? '')
    .sort()
    .join(',');

/**
 * What a replica does not share with the instance it must match (issue 19): a plain RDS replica
 * with its source (security groups, monitoring, Performance Insights, CA certificate, public
 * accessibility), an Aurora reader with the cluster's reference reader (parameter group,
 * Performance Insights, monitoring). Empty = verified.
 */
export function mismatchesWith(
  family: SourceFamily,
  replica: DBInstance,
  reference: DBInstance | undefined,
): string[] {
  if (!reference) return [];
  const checks: Array<[string, unknown, unknown]> =
    family === 'rds'
      ? [
          ['security groups', groupIds(replica), groupIds(reference)],
          ['monitoring interval', replica.MonitoringInterval ?? 0, reference.MonitoringInterval ?? 0],
          [
            'Performance Insights',
            replica.PerformanceInsightsEnabled === true,
            reference.PerformanceInsightsEnabled === true,
          ],
          ['CA certificate', replica.CACertificateIdentifier, reference.CACertificateIdentifier],
          [
            'public accessibility',
            replica.PubliclyAccessible === true,
            reference.PubliclyAccessible === true,
          ],
          [
            'IAM database authentication',
            replica.IAMDatabaseAuthenticationEnabled === true,
            reference.IAMDatabaseAuthenticationEnabled === true,
          ],
        ]
      : [
          [
            'parameter group',
            replica.DBParameterGroups?.[0]?.DBParameterGroupName,
            reference.DBParameterGroups?.[0]?.DBParameterGroupName,
          ],
          [
            'Performance Insights',
            replica.PerformanceInsightsEnabled === true,
            reference.PerformanceInsightsEnabled === true,
          ],
          ['monitoring interval', replica.MonitoringInterval ?? 0, reference.MonitoringInterval ?? 0],
        ];
  return checks
    .filter(([, a, b]) => a !== b)
    .map(([what, a, b]) => `${what} ${String(a ?? 'none')} instead of ${String(b ?? 'none')}`);
}

/** The instance new readers must match: the plain source, or an Aurora reader a person made, else the writer. */
function referenceOf(source: Source, config: Config): DBInstance | undefined {
  if (source.primary) return source.primary;
  const theirs = source.readers.find(
    (r) => !hasTag(tagListToMap(r.TagList), config.tags.createdBy) && r.DBInstanceStatus !== 'deleting',
  );
  return theirs ?? source.writer;
}

/** DescribeScalableTargets takes at most 50 ResourceIds per call (Application Auto Scaling API reference). */
const CLUSTERS_PER_DESCRIBE = 50;

/** Aurora Auto Scaling of a cluster (undefined: none registered), from the run's one read. */
export type AuroraAutoScalingOf = (clusterId: string) => Promise<ReplicaObservation['autoScaling']>;

/**
 * Aurora Auto Scaling registered on the run's Aurora clusters (Application Auto Scaling,
 * rds:cluster:ReadReplicaCount): one DescribeScalableTargets naming up to 50 clusters (every page),
 * read when the first cluster is observed, instead of one call per cluster and run. When that read
 * fails, each cluster's observation fails with its error, as each cluster's own read did.
 */
export function auroraAutoScalingOf(clusterIds: string[]): AuroraAutoScalingOf {
  let read: Promise<Map<string, NonNullable<ReplicaObservation['autoScaling']>>> | undefined;
  return async (clusterId) => {
    read ??= readAuroraAutoScaling([...new Set(clusterIds)]);
    return (await read).get(clusterId);
  };
}

async function readAuroraAutoScaling(
  clusterIds: string[],
): Promise<Map<string, NonNullable<ReplicaObservation['autoScaling']>>> {
  const found = new Map<string, NonNullable<ReplicaObservation['autoScaling']>>();
  for (let i = 0; i < clusterIds.length; i += CLUSTERS_PER_DESCRIBE) {
    const ResourceIds = clusterIds.slice(i, i + CLUSTERS_PER_DESCRIBE).map((id) => `cluster:${id}`);
    let NextToken: string | undefined;
    do {
      const out = await autoscalingClient().send(
        new DescribeScalableTargetsCommand({
          ServiceNamespace: 'rds',
          ResourceIds,
          ScalableDimension: 'rds:cluster:ReadReplicaCount',
          NextToken,
        }),
      );
      for (const t of out.ScalableTargets ?? []) {
        const id = t.ResourceId?.startsWith('cluster:') ? t.ResourceId.slice('cluster:'.length) : undefined;
        if (id === undefined || found.has(id)) continue;
        found.set(id, {
          resourceId: t.ResourceId ?? `cluster:${id}`,
          minCapacity: t.MinCapacity ?? 0,
          maxCapacity: t.MaxCapacity ?? 0,
        });
      }
      NextToken = out.NextToken;
    } while (NextToken);
  }
  return found;
}

function routeRecords(routes: Map<string, ResourceRecordSet>): RouteRecord[] {
  return [...routes.entries()].map(([setIdentifier, rs]) => ({
    setIdentifier,
    value: rs.ResourceRecords?.[0]?.Value ?? '',
    weight: rs.Weight ?? 0,
    ...(rs.HealthCheckId ? { healthCheckId: rs.HealthCheckId } : {}),
  }));
}

function sourceStorage(db: DBInstance | undefined): ReplicaObservation['source']['storage'] {
  if (!db?.StorageType || db.AllocatedStorage === undefined) return undefined;
  return {
    type: db.StorageType,
    allocatedGiB: db.AllocatedStorage,
    ...(db.Iops !== undefined ? { iops: db.Iops } : {}),
    ...(db.StorageThroughput !== undefined ? { throughputMiBps: db.StorageThroughput } : {}),
  };
}

/** A replica's consent facts: its own tags; managed when its source is. */
function replicaTarget(config: Config, source: Source, db: DBInstance): Target {
  const tags = tagListToMap(db.TagList);
  const id = db.DBInstanceIdentifier ?? '';
  return {
    ref: { kind: 'rds-instance', id, ...(db.DBInstanceArn ? { arn: db.DBInstanceArn } : {}) },
    tags,
    managed: source.target.managed,
    created: hasTag(tags, config.tags.createdBy),
    optedOut: hasTag(tags, config.tags.optOut) || source.target.optedOut,
  };
}

/** Groups a plan's actions by the resource they act on (source first), one plan each. */
export function splitPlan(plan: Plan): Plan[] {
  if (plan.actions.length === 0) return [plan];
  const groups = new Map<string, Action[]>();
  for (const a of plan.actions) {
    const list = groups.get(a.resource.id) ?? [];
    list.push(a);
    groups.set(a.resource.id, list);
  }
  const out: Plan[] = [];
  const sourceActions = groups.get(plan.resource.id);
  if (sourceActions) out.push({ ...plan, actions: sourceActions });
  for (const [id, actions] of groups) {
    if (id === plan.resource.id) continue;
    const first = actions[0];
    if (first) out.push({ ...plan, resource: first.resource, actions });
  }
  return out;
}

interface ObserveInput {
  config: Config;
  source: Source;
  policy: ReplicaPolicySettings;
  series: Map<string, Array<number | null>>;
  store: StateStore;
  account: { used: number; quota: number };
  window: ReplicaObservation['window'];
  autoScaling: AuroraAutoScalingOf;
  now: Date;
}

/**
 * Created consent's recorded half: the record, or, for a tagged reader without one, db-autopilot's
 * own logged intent to create it (adopted: write-ahead ownership, issue 21).
 */
async function recordedCreated(input: ObserveInput, db: DBInstance, tagged: boolean): Promise<boolean> {
  const id = db.DBInstanceIdentifier ?? '';
  if (await input.store.wasCreatedByUs('replicas', id)) return true;
  if (!tagged) return false;
  const sourceId = input.source.target.ref.id;
  const createdAt = db.InstanceCreateTime ? new Date(db.InstanceCreateTime).toISOString() : undefined;
  return (await adoptIfIntended(input.store, 'replicas', { id, sourceId, createdAt }, input.now)).adopted;
}

/**
 * When a reader was created: InstanceCreateTime, which AWS gives only once the instance is created;
 * while it is being created, the minute db-autopilot's own replica name carries (a stuck create
 * is then still found, and a pinned step waits from it). Nothing for another's reader being created.
 */
function createdAtOf(db: DBInstance): { createdAt?: string } {
  if (db.InstanceCreateTime) return { createdAt: new Date(db.InstanceCreateTime).toISOString() };
  const named =
    db.DBInstanceStatus === 'creating' ? replicaNameMinute(db.DBInstanceIdentifier ?? '') : undefined;
  return named ? { createdAt: named } : {};
}

/** One source as AWS describes it: readers with their published metrics, records, Aurora Auto Scaling. */
async function observeSource(input: ObserveInput): Promise<ReplicaObservation> {
  const { config, source, policy, series } = input;
  const sourceId = source.target.ref.id;
  let routes = new Map<string, ResourceRecordSet>();
  if (source.family === 'rds' && policy.routing) {
    routes = await listReplicaRoutes(route53Client(), policy.routing);
  }
  const records = routeRecords(routes);
  const reference = referenceOf(source, config);
  const readers: ReaderObservation[] = [];
  for (const db of source.readers) {
    const id = db.DBInstanceIdentifier ?? '';
    const endpoint = db.Endpoint?.Address;
    const vcpus = db.DBInstanceClass ? vcpusOf(db.DBInstanceClass) : undefined;
    readers.push({
      id,
      status: db.DBInstanceStatus ?? 'unknown',
      instanceClass: db.DBInstanceClass ?? 'unknown',
      ...(db.AvailabilityZone ? { availabilityZone: db.AvailabilityZone } : {}),
      cpuPercent: meanOf(series.get(`${id}|cpu`)),
      dbLoadCpu: meanOf(series.get(`${id}|dbloadcpu`)),
      ...(vcpus !== undefined ? { vcpus } : {}),
      connections: meanOf(series.get(`${id}|conn`)),
      maxConnections: maxOf(series.get(`${id}|connmax`)),
      // AuroraReplicaLag is in milliseconds, ReplicaLag in seconds (-1: replication not running).
      replicaLagSeconds: lagSeconds(source.family, maxOf(series.get(`${id}|lag`))),
      ownershipTag: hasTag(tagListToMap(db.TagList), config.tags.createdBy),
      recordedCreated: await recordedCreated(
        input,
        db,
        hasTag(tagListToMap(db.TagList), config.tags.createdBy),
      ),
      routed:
        source.family === 'aurora' ||
        records.some(
          (r) => r.setIdentifier === id || (endpoint !== undefined && sameName(r.value, endpoint)),
        ),
      ...(endpoint ? { endpoint } : {}),
      ...createdAtOf(db),
      mismatches: reference === db ? [] : mismatchesWith(source.family, db, reference),
    });
  }
  const writer = source.writer ?? source.primary;
  const c = source.cluster;
  return {
    family: source.family,
    source: {
      id: sourceId,
      ...(source.target.ref.arn ? { arn: source.target.ref.arn } : {}),
      status: (c ? c.Status : source.primary?.DBInstanceStatus) ?? 'unknown',
      engine: (c ? c.Engine : source.primary?.Engine) ?? 'unknown',
      backupRetentionPeriod: (c ? c.BackupRetentionPeriod : source.primary?.BackupRetentionPeriod) ?? 0,
      ...(writer?.DBInstanceClass ? { instanceClass: writer.DBInstanceClass } : {}),
      cpuPercent: writer?.DBInstanceIdentifier
        ? meanOf(series.get(`${writer.DBInstanceIdentifier}|cpu`))
        : null,
      ...(source.primary?.Endpoint?.Address ? { endpoint: source.primary.Endpoint.Address } : {}),
      ...(source.primary ? { storage: sourceStorage(source.primary) } : {}),
    },
    readers,
    account: { instancesUsed: input.account.used, instanceQuota: input.account.quota },
    window: input.window,
    ...(source.family === 'rds' && policy.routing ? { routes: records } : {}),
    ...(c ? { autoScaling: await input.autoScaling(sourceId) } : {}),
  };
}

function lagSeconds(family: SourceFamily, value: number | null): number | null {
  if (value === null || family === 'rds' || value < 0) return value;
  return value / 1000;
}

const sameName = (a: string, b: string) =>
  a.toLowerCase().replace(/\.+$/, '') === b.toLowerCase().replace(/\.+$/, '');

/** The managed sources, narrowed to the requested resources (an unknown id is noted). */
function selectSources(
  fleet: Awaited<ReturnType<typeof discoverFleet>>,
  section: NonNullable<Config['tuners']['replicas']>,
  wanted: string[] | undefined,
  notes: string[],
): Source[] {
  const sources = findSources(
    fleet.rdsInstances,
    fleet.auroraClusters,
    new Set(Object.keys(section.sources)),
  );
  return selectRequested(
    sources,
    wanted,
    notes,
    (id) => `${id}: not a managed Aurora cluster, RDS source or one of their replicas`,
    (s, id) => s.target.ref.id === id || s.readers.some((r) => r.DBInstanceIdentifier === id),
  );
}

/** One batched metrics read for every reader (and writer) of every source. */
async function readSourceMetrics(
  sources: Source[],
  start: Date,
  now: Date,
  notes: string[],
): Promise<Map<string, Array<number | null>>> {
  const idsOf = (dbs: Array<DBInstance | undefined>) =>
    dbs.map((db) => db?.DBInstanceIdentifier).filter((id): id is string => !!id);
  const readerIds = sources.flatMap((s) => idsOf(s.readers));
  const writerIds = sources.flatMap((s) => idsOf([s.writer, s.primary]));
  const series = new Map<string, Array<number | null>>();
  if (readerIds.length + writerIds.length === 0) return series;
  try {
    const auroraIds = new Set(sources.filter((s) => s.family === 'aurora').flatMap((s) => idsOf(s.readers)));
    const result = await getMetrics({
      series: metricSeries(readerIds, writerIds, auroraIds),
      start,
      end: now,
      periodSeconds: 60,
      now,
    });
    for (const [id, s] of result.series) series.set(id, s.values);
    notes.push(...result.notes);
  } catch (error) {
    notes.push(`metrics could not be read (${publicMessage(error)}): readers count as unmeasured`);
  }
  return series;
}

/** Observe, decide and act for one source; each part of the plan against its own resource. */
async function tuneSource(
  source: Source,
  ctx: {
    config: Config;
    section: NonNullable<Config['tuners']['replicas']>;
    series: Map<string, Array<number | null>>;
    store: StateStore;
    account: Awaited<ReturnType<typeof accountUsage>>;
    window: { start: string; end: string; periodSeconds: number };
    autoScaling: AuroraAutoScalingOf;
    run: RunContext;
    now: Date;
    adapter: Adapter;
  },
): Promise<Decision[]> {
  const { config, section, store, run, now } = ctx;
  const sourceId = source.target.ref.id;
  const policy = sourceSettings(config, section, sourceId);
  const settings = guardSettings(config, section, policy);
  const observation = await observeSource({
    config,
    source,
    policy,
    series: ctx.series,
    store,
    account: ctx.account,
    window: ctx.window,
    autoScaling: ctx.autoScaling,
    now: run.now,
  });
  const history = await store.getHistory('replicas', sourceId, now);
  const result = planReplicas(
    observation,
    policy,
    { recommendations: recommendationsFrom(history.tunerState) },
    now,
  );
  // Written only when it changed; held for the run's BatchWriteItem when only the newest time moved.
  const state = JSON.parse(JSON.stringify({ ...history.tunerState, ...result.tunerState }));
  if (!run.dryRun && !isDeepStrictEqual(history.tunerState, state)) {
    await store.putTunerState('replicas', sourceId, state, undefined, {
      held: sameNewestReaders(recommendationsFrom(history.tunerState), result.tunerState.recommendations),
    });
  }
  const readerTargets = new Map(
    source.readers.map((db) => [db.DBInstanceIdentifier, replicaTarget(config, source, db)]),
  );
  const decisions: Decision[] = [];
  for (const part of splitPlan(result.plan)) {
    const target = part.resource.id === sourceId ? source.target : readerTargets.get(part.resource.id);
    if (!target) continue;
    // The source's history was read after discovery: a scale-out another run applied since
    // then makes this plan stale (replicas have no cooldown by default).
    const planHistory = part.resource.id === sourceId ? { planHistory: history } : {};
    decisions.push(
      ...(await executePlan({
        plan: part,
        target,
        settings,
        adapter: ctx.adapter,
        run,
        store,
        ...planHistory,
      })),
    );
  }
  return decisions;
}

/**
 * Instances db-autopilot created as plain RDS read replicas that are standalone now (source
 * deleted, or promoted): no source lists them, so they are reported here (shared/policies/
 * replica-orphans.ts), at most once per REPEAT_FINDING_MS; never deleted.
 */
async function reportStandalone(
  fleet: Awaited<ReturnType<typeof discoverFleet>>,
  request: TunerRunRequest,
  ctx: { config: Config; section: ReplicasSection; store: StateStore; run: RunContext; now: Date },
): Promise<Decision[]> {
  const { config, section, store, run, now } = ctx;
  const found: Array<{ db: DBInstance; target: DiscoveredTarget<DBInstance> }> = [];
  for (const t of fleet.rdsInstances) {
    const db = t.raw;
    if (db.ReadReplicaSourceDBInstanceIdentifier || db.DBClusterIdentifier) continue;
    if (request.resourceIds && !request.resourceIds.includes(t.ref.id)) continue;
    if (!hasTag(tagListToMap(db.TagList), config.tags.createdBy)) continue;
    if (await store.wasCreatedByUs('replicas', t.ref.id)) found.push({ db, target: t });
  }
  const plans = planStandaloneReplicas(
    found.map(({ db, target }) => ({
      id: target.ref.id,
      ...(target.ref.arn ? { arn: target.ref.arn } : {}),
      status: db.DBInstanceStatus ?? 'unknown',
      instanceClass: db.DBInstanceClass ?? 'unknown',
      ...formerSourceOf(db),
      ...(sourceStorage(db) ? { storage: sourceStorage(db) } : {}),
    })),
    pricesFor(config),
    now,
  );
  const decisions: Decision[] = [];
  for (const plan of plans) {
    const id = plan.resource.id;
    const since = new Date(now.getTime() - REPEAT_FINDING_MS).toISOString();
    withoutRepeats(plan, await store.listDecisions({ since, tuner: 'replicas', resource: id }), now);
    const tags = tagListToMap(found.find((f) => f.target.ref.id === id)?.db.TagList);
    const target: Target = {
      ref: plan.resource,
      tags,
      managed: false,
      created: true,
      optedOut: hasTag(tags, config.tags.optOut),
    };
    const settings = guardSettings(config, section, sourceSettings(config, section, id));
    decisions.push(...(await executePlan({ plan, target, settings, adapter: noAdapter, run, store })));
  }
  return decisions;
}

function formerSourceOf(db: DBInstance): { formerSource?: string } {
  const source = tagListToMap(db.TagList)[SOURCE_TAG];
  return source ? { formerSource: source } : {};
}

/** Findings only: nothing reaches an adapter (the executor records them). */
const noAdapter: Adapter = async (action) => ({
  status: 'skipped',
  reason: `${action.kind} is never applied here`,
});

export async function runReplicas(
  request: TunerRunRequest,
  deps: ReplicaRunDeps = {},
): Promise<TunerRunSummary> {
  const { config, store, now, started } = await openTunerRun('replicas', request, deps);
  if (started.run.paused || started.duplicate) return finishRun(started, []);
  const { run } = started;
  const section = config.tuners.replicas;
  if (!section?.enabled) return finishRun(started, [], [notEnabledNote('replicas')]);
  const adapter =
    deps.adapter ??
    createReplicaAdapter({
      rds: () => rdsClient(),
      route53: () => route53Client(),
      cloudwatch: () => cloudwatchClient(),
      store,
      createdByTag: config.tags.createdBy,
      now: () => run.now,
    });

  const fleet = await discoverFleet({
    kinds: ['rds-instance', 'aurora-cluster'],
    selector: section.resources,
    tagKeys: config.tags,
    includeUnmanaged: true,
  });
  const notes = [...fleet.notes];
  const sources = selectSources(fleet, section, request.resourceIds, notes);
  const account = await accountUsage(
    fleet.rdsInstances.length,
    section.accountInstanceQuota ?? DEFAULT_ACCOUNT_INSTANCE_QUOTA,
  );
  const start = new Date(now.getTime() - section.lookbackMinutes * 60_000);
  const window = { start: start.toISOString(), end: now.toISOString(), periodSeconds: 60 };
  const series = await readSourceMetrics(sources, start, now, notes);
  const autoScaling = auroraAutoScalingOf(
    sources.filter((s) => s.family === 'aurora').map((s) => s.target.ref.id),
  );

  const decisions: Decision[] = [];
  for (const source of sources) {
    // Like every tuner loop: stop before a source rather than be cut off half-way through its changes.
    if (outOfTime(request, source.target.ref.id, notes)) break;
    try {
      decisions.push(
        ...(await tuneSource(source, {
          config,
          section,
          series,
          store,
          account,
          window,
          autoScaling,
          run,
          now,
          adapter,
        })),
      );
    } catch (error) {
      decisions.push(
        await recordObservationFailure(
          store,
          run,
          source.target.ref,
          section.mode ?? config.defaults.mode,
          error,
        ),
      );
    }
  }
  try {
    decisions.push(...(await reportStandalone(fleet, request, { config, section, store, run, now })));
  } catch (error) {
    notes.push(`replicas that became standalone could not be checked: ${publicMessage(error)}`);
  }
  return finishRun(started, decisions, notes);
}

/**
 * The alarms the fast path needs: average reader CPU of an Aurora cluster above the target plus
 * the tolerance for 2 of 2 minutes (Aurora publishes CPUUtilization with Role=READER per cluster).
 */
export function replicaAlarms(targets: Target[], config: Config = getConfig()): AlarmSpec[] {
  const section = config.tuners.replicas;
  if (!section) return [];
  return targets
    .filter((t) => t.ref.kind === 'aurora-cluster' && t.managed && !t.optedOut)
    .map((t) => {
      const s = sourceSettings(config, section, t.ref.id);
      return {
        tuner: 'replicas' as const,
        resourceId: t.ref.id,
        key: 'reader_cpu_high',
        namespace: 'AWS/RDS',
        metricName: 'CPUUtilization',
        dimensions: { DBClusterIdentifier: t.ref.id, Role: 'READER' },
        statistic: 'Average' as const,
        periodSeconds: 60,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        threshold: Math.min(100, Math.round(s.targetCpuPercent * (1 + s.tolerance))),
        comparison: 'GreaterThanThreshold' as const,
        treatMissingData: 'notBreaching' as const,
        description: `db-autopilot replicas: reader CPU of ${t.ref.id} above ${s.targetCpuPercent}% (+${s.tolerance * 100}%): add readers now`,
      };
    });
}

/**
 * Consent facts for `revert`: the undo of a scale-out names the replica (not managed by the config
 * itself: it is managed when its source is, as in a run), the undo of a scale-in names the source.
 * undefined when the resource no longer exists.
 */
export async function revertTarget(ref: ResourceRef, config: Config): Promise<Target | undefined> {
  if (ref.kind !== 'rds-instance') return lookupTarget(taggingClient(), config, 'replicas', ref);
  let db: DBInstance | undefined;
  try {
    const out = await rdsClient().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: ref.id }));
    db = out.DBInstances?.[0];
  } catch (error) {
    if (error instanceof DBInstanceNotFoundFault) return undefined;
    throw error;
  }
  if (!db) return undefined;
  const tags = tagListToMap(db.TagList);
  const sourceRef: ResourceRef | undefined = db.DBClusterIdentifier
    ? { kind: 'aurora-cluster', id: db.DBClusterIdentifier }
    : db.ReadReplicaSourceDBInstanceIdentifier
      ? { kind: 'rds-instance', id: db.ReadReplicaSourceDBInstanceIdentifier }
      : undefined;
  // A plain primary (the source of a scale-in being reverted) is its own source.
  if (!sourceRef) return resolveTarget({ config, tuner: 'replicas', ref, tags });
  const source = await lookupTarget(taggingClient(), config, 'replicas', sourceRef);
  return {
    ref: { ...ref, ...(db.DBInstanceArn ? { arn: db.DBInstanceArn } : {}) },
    tags,
    managed: source?.managed === true,
    created: hasTag(tags, config.tags.createdBy),
    optedOut: hasTag(tags, config.tags.optOut) || source?.optedOut === true,
  };
}

export const registration: TunerRegistration = {
  run: (request) => runReplicas(request),
  adapter: (action, target) => {
    const config = getConfig();
    return createReplicaAdapter({
      rds: () => rdsClient(),
      route53: () => route53Client(),
      cloudwatch: () => cloudwatchClient(),
      store: stateStore(),
      createdByTag: config.tags.createdBy,
      now: () => clock().now(),
    })(action, target);
  },
  alarms: (targets) => replicaAlarms(targets),
  target: (ref) => revertTarget(ref, getConfig()),
};
