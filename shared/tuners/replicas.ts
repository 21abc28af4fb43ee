/**
 * The replicas tuner: discover sources (Aurora clusters, plain RDS primaries) -> observe readers
 * (status, ownership, routing, CPU / connections / lag) -> planReplicas (pure) -> executePlan
 * (shared guards) -> record the stabilization recommendations -> summary.
 *
 * Scale-out actions are guarded against the source (cluster or primary); removal and routing
 * actions against the replica itself, so the executor's "created" consent (ownership tag AND
 * recorded id) and the opt-out tag apply to the very instance that would be deleted.
 */
import {
  type DBCluster,
  type DBInstance,
  DBInstanceNotFoundFault,
  DescribeAccountAttributesCommand,
  DescribeDBInstancesCommand,
} from '@aws-sdk/client-rds';
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import { z } from 'zod';
import { createReplicaAdapter } from '../adapters/rds-replicas.ts';
import { listReplicaRoutes } from '../adapters/route53-routing.ts';
import { aws } from '../aws/clients.ts';
import { getConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { ReplicasSection } from '../config/sections/replicas.ts';
import { lookupTarget } from '../control/target-lookup.ts';
import { clock } from '../core/clock.ts';
import type {
  AlarmSpec,
  Target,
  TunerRunRequest,
  TunerRunSummary,
  TunerSettings,
} from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import { executePlan } from '../core/executor.ts';
import type { Action, Decision, Plan, ResourceRef } from '../core/model.ts';
import { finishRun, recordObservationFailure } from '../core/run.ts';
import { resolveTarget } from '../core/settings.ts';
import { type DiscoveredTarget, discoverFleet } from '../discovery/index.ts';
import { hasTag, tagListToMap } from '../discovery/select.ts';
import { getMetrics, type SeriesRequest } from '../metrics/index.ts';
import {
  DEFAULT_ACCOUNT_INSTANCE_QUOTA,
  planReplicas,
  type ReaderObservation,
  type Recommendation,
  type ReplicaObservation,
  type ReplicaPolicySettings,
  type SourceFamily,
} from '../policies/replicas.ts';
import { priceTable } from '../pricing.ts';
import { stateStore } from '../state/index.ts';
import { notEnabledNote, openTunerRun, type TunerRunDeps } from './common.ts';
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
    instanceClasses: o.instanceClasses ?? section.instanceClasses,
    availabilityZones: o.availabilityZones ?? section.availabilityZones,
    ...(o.routing ? { routing: o.routing } : {}),
    ...(o.schedule ? { schedule: o.schedule } : {}),
    prices: priceTable(config.prices),
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
    const out = await aws().rds.send(new DescribeAccountAttributesCommand({}));
    const q = out.AccountQuotas?.find((a) => a.AccountQuotaName === 'DBInstances');
    if (q?.Max !== undefined) return { used: q.Used ?? instanceCount, quota: q.Max };
  } catch {
    // Not every account (or the simulator) answers it: fall back on the count and the config.
  }
  return { used: instanceCount, quota: fallbackQuota };
}

function metricSeries(ids: string[]): SeriesRequest[] {
  const out: SeriesRequest[] = [];
  for (const id of ids) {
    const metric = (metricName: string) => ({
      namespace: 'AWS/RDS',
      metricName,
      dimensions: { DBInstanceIdentifier: id },
    });
    out.push(
      { id: `${id}|cpu`, kind: 'gauge', statistic: 'Average', metric: metric('CPUUtilization') },
      { id: `${id}|conn`, kind: 'gauge', statistic: 'Average', metric: metric('DatabaseConnections') },
      { id: `${id}|connmax`, kind: 'gauge', statistic: 'Maximum', metric: metric('DatabaseConnections') },
      { id: `${id}|lag`, kind: 'gauge', statistic: 'Maximum', metric: metric('ReplicaLag') },
      // Performance Insights counter metric (published to CloudWatch when PI is on): sessions on CPU.
      { id: `${id}|dbloadcpu`, kind: 'gauge', statistic: 'Average', metric: metric('DBLoadCPU') },
    );
  }
  return out;
}

/**
 * vCPUs of an instance class from its size (EC2 naming of the current generations: medium and
 * large 2, xlarge 4, Nxlarge 4N); undefined for sizes it cannot tell.
 */
export function vcpusOf(instanceClass: string): number | undefined {
  const size = instanceClass.split('.')[2] ?? '';
  if (size === 'micro' || size === 'small' || size === 'medium' || size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const n = /^(\d+)xlarge$/.exec(size);
  return n ? 4 * Number(n[1]) : undefined;
}

function meanOf(values: Array<number | null> | undefined): number | null {
  const known = (values ?? []).filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
}

function maxOf(values: Array<number | null> | undefined): number | null {
  const known = (values ?? []).filter((v): v is number => v !== null);
  return known.length === 0 ? null : Math.max(...known);
}

/** DBLoadCPU (average sessions on CPU) as a percentage of the class's CPU; null when unknown. */
function cpuDemand(dbLoadCpu: number | null, instanceClass: string | undefined): number | null {
  const vcpus = instanceClass ? vcpusOf(instanceClass) : undefined;
  return dbLoadCpu === null || vcpus === undefined ? null : (dbLoadCpu / vcpus) * 100;
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
      rds: () => aws().rds,
      route53: () => aws().route53,
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
  let sources = findSources(fleet.rdsInstances, fleet.auroraClusters, new Set(Object.keys(section.sources)));
  const wanted = request.resourceIds;
  if (wanted) {
    sources = sources.filter(
      (s) =>
        wanted.includes(s.target.ref.id) ||
        s.readers.some((r) => wanted.includes(r.DBInstanceIdentifier ?? '')),
    );
    for (const id of wanted) {
      const known = sources.some(
        (s) => s.target.ref.id === id || s.readers.some((r) => r.DBInstanceIdentifier === id),
      );
      if (!known) notes.push(`${id}: not a managed Aurora cluster, RDS source or one of their replicas`);
    }
  }
  const account = await accountUsage(
    fleet.rdsInstances.length,
    section.accountInstanceQuota ?? DEFAULT_ACCOUNT_INSTANCE_QUOTA,
  );

  // One batched metrics read for every reader (and writer) of every source.
  const start = new Date(now.getTime() - section.lookbackMinutes * 60_000);
  const window = { start: start.toISOString(), end: now.toISOString(), periodSeconds: 60 };
  const instanceIds = sources.flatMap((s) =>
    [...s.readers, ...(s.writer ? [s.writer] : []), ...(s.primary ? [s.primary] : [])]
      .map((r) => r.DBInstanceIdentifier)
      .filter((id): id is string => !!id),
  );
  const series = new Map<string, Array<number | null>>();
  if (instanceIds.length > 0) {
    try {
      const result = await getMetrics({
        series: metricSeries([...new Set(instanceIds)]),
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
  }

  const decisions: Decision[] = [];
  for (const source of sources) {
    const sourceId = source.target.ref.id;
    try {
      const policy = sourceSettings(config, section, sourceId);
      const settings = guardSettings(config, section, policy);
      let routes = new Map<string, ResourceRecordSet>();
      if (source.family === 'rds' && policy.routing) {
        routes = await listReplicaRoutes(aws().route53, policy.routing);
      }
      const readers: ReaderObservation[] = [];
      for (const db of source.readers) {
        const id = db.DBInstanceIdentifier ?? '';
        const tags = tagListToMap(db.TagList);
        readers.push({
          id,
          status: db.DBInstanceStatus ?? 'unknown',
          instanceClass: db.DBInstanceClass ?? 'unknown',
          ...(db.AvailabilityZone ? { availabilityZone: db.AvailabilityZone } : {}),
          cpuPercent: meanOf(series.get(`${id}|cpu`)),
          cpuDemandPercent: cpuDemand(meanOf(series.get(`${id}|dbloadcpu`)), db.DBInstanceClass),
          connections: meanOf(series.get(`${id}|conn`)),
          maxConnections: maxOf(series.get(`${id}|connmax`)),
          replicaLagSeconds: maxOf(series.get(`${id}|lag`)),
          ownershipTag: hasTag(tags, config.tags.createdBy),
          recordedCreated: await store.wasCreatedByUs(id),
          routed: source.family === 'aurora' || routes.has(id),
          ...(db.Endpoint?.Address ? { endpoint: db.Endpoint.Address } : {}),
        });
      }
      const writerId = (source.writer ?? source.primary)?.DBInstanceIdentifier;
      const observation: ReplicaObservation = {
        family: source.family,
        source: {
          id: sourceId,
          ...(source.target.ref.arn ? { arn: source.target.ref.arn } : {}),
          status: (source.cluster ? source.cluster.Status : source.primary?.DBInstanceStatus) ?? 'unknown',
          engine: (source.cluster ? source.cluster.Engine : source.primary?.Engine) ?? 'unknown',
          backupRetentionPeriod:
            (source.cluster ? source.cluster.BackupRetentionPeriod : source.primary?.BackupRetentionPeriod) ??
            0,
          ...((source.writer ?? source.primary)?.DBInstanceClass
            ? { instanceClass: (source.writer ?? source.primary)?.DBInstanceClass }
            : {}),
          cpuPercent: writerId ? meanOf(series.get(`${writerId}|cpu`)) : null,
        },
        readers,
        account: { instancesUsed: account.used, instanceQuota: account.quota },
        window,
      };
      const history = await store.getHistory('replicas', sourceId, now);
      const result = planReplicas(
        observation,
        policy,
        { recommendations: recommendationsFrom(history.tunerState) },
        now,
      );
      if (!run.dryRun) {
        await store.putTunerState('replicas', sourceId, { ...history.tunerState, ...result.tunerState });
      }
      const readerTargets = new Map(
        source.readers.map((db) => [db.DBInstanceIdentifier, replicaTarget(config, source, db)]),
      );
      for (const part of splitPlan(result.plan)) {
        const target = part.resource.id === sourceId ? source.target : readerTargets.get(part.resource.id);
        if (!target) continue;
        // The source's history was read after discovery: a scale-out another run applied since
        // then makes this plan stale (replicas have no cooldown by default).
        const planHistory = part.resource.id === sourceId ? { planHistory: history } : {};
        decisions.push(
          ...(await executePlan({ plan: part, target, settings, adapter, run, store, ...planHistory })),
        );
      }
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
  if (ref.kind !== 'rds-instance') return lookupTarget(aws().tagging, config, 'replicas', ref);
  let db: DBInstance | undefined;
  try {
    const out = await aws().rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: ref.id }));
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
  const source = await lookupTarget(aws().tagging, config, 'replicas', sourceRef);
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
      rds: () => aws().rds,
      route53: () => aws().route53,
      store: stateStore(),
      createdByTag: config.tags.createdBy,
      now: () => clock().now(),
    })(action, target);
  },
  alarms: (targets) => replicaAlarms(targets),
  target: (ref) => revertTarget(ref, getConfig()),
};
