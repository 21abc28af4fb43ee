import { DBClusterNotFoundFault, InvalidDBClusterStateFault, RDSServiceException } from '@aws-sdk/client-rds';
import { AUTO_PAUSE_DEFAULT_SECONDS, GIB_PER_ACU, invalidBounds } from '../../aws/aurora-serverless.ts';
import { MINUTE_MS } from '../clock.ts';
import type { SimAccount } from '../engine.ts';
import { errorMetadata, serviceError } from '../errors.ts';
import { type FrameWriter, MinuteSeries } from '../metrics.ts';
import { num, rec, str } from '../paging.ts';
import { type Input, registerOperations } from '../registry.ts';
import {
  type CapacityState,
  DEFAULT_SERVERLESS_PARAMS,
  initialState,
  type ServerlessBounds,
  type ServerlessParams,
  stepMinute,
} from '../serverless-capacity.ts';
import type { Workload } from '../workload.ts';
import { type AuroraCluster, describeCluster, type RdsInstance } from './rds.ts';

/**
 * Simulated Aurora Serverless v2 (issue 24): clusters whose instances use the `db.serverless`
 * class, their ServerlessV2ScalingConfiguration behind DescribeDBClusters / ModifyDBCluster, and
 * the metrics CloudWatch publishes for each instance (and, averaged, for the cluster): through the
 * CloudWatch simulator, so with the world's publication delay.
 *
 * Capacity follows demand minute by minute through shared/sim/serverless-capacity.ts (the model the
 * backtest shares): 0.5 ACU steps within the bounds, scale-up faster from a higher capacity, gradual
 * scale-down, a cold buffer cache for new capacity, auto-pause after SecondsUntilAutoPause without
 * connections and a 15 s resume. Readers in promotion tiers 0 and 1 scale with the writer (Aurora
 * User Guide, aurora-serverless-v2-administration, "Choosing the promotion tier"); readers in tiers
 * 2-15 scale on their own demand.
 *
 * ModifyDBCluster rules (RDS API reference, ModifyDBCluster and ServerlessV2ScalingConfiguration;
 * shared/aws/aurora-serverless.ts): DBClusterNotFoundFault, InvalidDBClusterStateFault when the
 * cluster is not `available`, InvalidParameterValue for capacities off the 0.5 ACU steps, outside
 * 1-256 (MaxCapacity), below 0.5 (MinCapacity, 0 only with auto-pause support) or a
 * SecondsUntilAutoPause outside 300-86,400; InvalidParameterCombination when MinCapacity exceeds
 * MaxCapacity. A capacity-range change takes effect at once, applied immediately or not (Aurora
 * User Guide, aurora-serverless-v2-administration).
 *
 * Published per instance (AWS/RDS, DBInstanceIdentifier; Aurora User Guide,
 * aurora-serverless-v2.viewing.monitoring): ServerlessDatabaseCapacity (ACU, the minute's
 * average), ACUUtilization (capacity / MaxCapacity, %), CPUUtilization (% of the current capacity,
 * capped at 100), FreeableMemory (bytes), DatabaseConnections, BufferCacheHitRatio (%),
 * ReadIOPS / WriteIOPS / DiskQueueDepth.
 */

export interface ServerlessClusterSpec {
  id: string;
  engine: 'aurora-postgresql' | 'aurora-mysql';
  engineVersion: string;
  tags?: Record<string, string>;
  bounds: { min: number; max: number; secondsUntilAutoPause?: number };
  writerId: string;
  /** Readers (db.serverless), with their promotion tier (default 1: they follow the writer). */
  readers?: Array<{ id: string; promotionTier?: number; acu?: Workload }>;
  workload: {
    /** ACU the writer's queries want (hidden truth: only the capacity it scales to is published). */
    acu: Workload;
    /** Client connections to the writer; none while demand is 0 (what lets it auto-pause). */
    connections?: Workload;
  };
  /** Overrides the capacity model's defaults (doubling time, cache warm-up, resume time...). */
  params?: Partial<ServerlessParams>;
}

interface Member {
  id: string;
  /** Its own demand (writer, tier 2+ readers); tier 0-1 readers copy the writer's capacity. */
  demand?: Workload;
  series: MinuteSeries;
}

interface ServerlessCluster {
  spec: ServerlessClusterSpec;
  params: ServerlessParams;
  /** The capacity range over time (a change applies from the minute it was made). */
  timeline: Array<{ from: number; bounds: ServerlessBounds }>;
  writer: Member;
}

const clustersBySim = new WeakMap<SimAccount, Map<string, ServerlessCluster>>();

function clusters(sim: SimAccount): Map<string, ServerlessCluster> {
  let map = clustersBySim.get(sim);
  if (!map) {
    map = new Map();
    clustersBySim.set(sim, map);
  }
  return map;
}

function boundsAt(c: ServerlessCluster, t: number): ServerlessBounds {
  let bounds = c.timeline[0]?.bounds as ServerlessBounds;
  for (const entry of c.timeline) if (entry.from <= t) bounds = entry.bounds;
  return bounds;
}

/** The capacity model of one instance with its own demand, minute by minute (in order). */
function capacityStep(c: ServerlessCluster, demand: Workload, connections: Workload | undefined) {
  let state: CapacityState | undefined;
  return (minute: number, out: FrameWriter) => {
    const t = minute * MINUTE_MS;
    const bounds = boundsAt(c, t);
    const d = Math.max(0, demand(t));
    state ??= initialState(bounds, d, c.params);
    const coldShare = state.capacity > 0 ? Math.max(0, 1 - state.warm / state.capacity) : 1;
    const { next, result } = stepMinute(state, d, bounds, c.params);
    state = next;
    const served = Math.max(0, d - result.unserved);
    out.put('ServerlessDatabaseCapacity', result.averageCapacity);
    out.put('ACUUtilization', Math.min(100, result.acuUtilization));
    if (result.averageCapacity <= 0) {
      out.put('DatabaseConnections', 0);
      return;
    }
    // About 70% CPU when demand fills the capacity (Aurora keeps headroom); a capacity short of
    // demand shows as CPU pinned at 100%, never as the demand itself.
    out.put(
      'CPUUtilization',
      Math.min(100, (70 * served) / result.averageCapacity + (result.saturated ? 30 : 0)),
    );
    out.put('FreeableMemory', Math.max(0, result.averageCapacity - 0.75 * served) * GIB_PER_ACU * 1024 ** 3);
    out.put('DatabaseConnections', d > 0 ? Math.max(1, Math.round(connections?.(t) ?? 10 * d)) : 0);
    out.put('BufferCacheHitRatio', 99.5 - 25 * coldShare);
    putIo(out, served, coldShare);
  };
}

/**
 * Instance I/O as Aurora publishes it for every instance (ReadIOPS, WriteIOPS, DiskQueueDepth):
 * about 100 IOPS per ACU of work, more reads while the buffer cache is cold. A sim-only figure.
 */
function putIo(out: FrameWriter, servedAcu: number, coldShare: number): void {
  const reads = 60 * servedAcu * (1 + coldShare);
  const writes = 40 * servedAcu;
  out.put('ReadIOPS', reads);
  out.put('WriteIOPS', writes);
  out.put('DiskQueueDepth', (reads + writes) / 1000);
}

/** A tier 0-1 reader: the writer's capacity (Aurora scales it with the writer), little load of its own. */
function followerStep(writer: Member) {
  return (minute: number, out: FrameWriter) => {
    writer.series.ensure(minute + 1);
    const capacity = writer.series.get('ServerlessDatabaseCapacity', minute)?.value;
    const util = writer.series.get('ACUUtilization', minute)?.value;
    out.put('ServerlessDatabaseCapacity', capacity);
    out.put('ACUUtilization', util);
    if (!capacity) return out.put('DatabaseConnections', 0);
    out.put('CPUUtilization', 5);
    putIo(out, 0.05 * capacity, 0);
    out.put('FreeableMemory', capacity * 0.9 * GIB_PER_ACU * 1024 ** 3);
    out.put('DatabaseConnections', 0);
    out.put('BufferCacheHitRatio', writer.series.get('BufferCacheHitRatio', minute)?.value);
  };
}

/** Adds an Aurora Serverless v2 cluster (writer and readers of class db.serverless) to the account. */
export function addServerlessCluster(sim: SimAccount, spec: ServerlessClusterSpec): AuroraCluster {
  const bounds: ServerlessBounds = {
    min: spec.bounds.min,
    max: spec.bounds.max,
    secondsUntilAutoPause: spec.bounds.secondsUntilAutoPause ?? 300,
  };
  const cluster = sim.rds.addCluster({
    id: spec.id,
    engine: spec.engine,
    engineVersion: spec.engineVersion,
    tags: spec.tags,
  });
  cluster.serverless = { ...bounds };
  const start = Math.floor(sim.historyStartMs / MINUTE_MS);
  const c: ServerlessCluster = {
    spec,
    params: { ...DEFAULT_SERVERLESS_PARAMS, ...spec.params },
    timeline: [{ from: 0, bounds }],
    writer: undefined as unknown as Member,
  };
  const member = (id: string, tier: number, writer: boolean): RdsInstance =>
    sim.rds.addInstance({
      id,
      engine: spec.engine,
      engineVersion: spec.engineVersion,
      instanceClass: 'db.serverless',
      clusterId: spec.id,
      writer,
      promotionTier: tier,
      tags: spec.tags,
    });
  member(spec.writerId, 0, true);
  c.writer = {
    id: spec.writerId,
    demand: spec.workload.acu,
    series: new MinuteSeries(start, capacityStep(c, spec.workload.acu, spec.workload.connections)),
  };
  sim.rds.customSteps.set(spec.writerId, (m, out) => copy(c.writer.series, m, out));
  for (const r of spec.readers ?? []) {
    const tier = r.promotionTier ?? 1;
    member(r.id, tier, false);
    const series =
      tier <= 1 || !r.acu
        ? new MinuteSeries(start, followerStep(c.writer))
        : new MinuteSeries(start, capacityStep(c, r.acu, undefined));
    sim.rds.customSteps.set(r.id, (m, out) => copy(series, m, out));
  }
  clusters(sim).set(spec.id, c);
  return cluster;
}

const PUBLISHED = [
  'ServerlessDatabaseCapacity',
  'ACUUtilization',
  'CPUUtilization',
  'FreeableMemory',
  'DatabaseConnections',
  'BufferCacheHitRatio',
  'ReadIOPS',
  'WriteIOPS',
  'DiskQueueDepth',
] as const;

/** The instance's minute as its capacity model computed it. */
function copy(series: MinuteSeries, minute: number, out: FrameWriter): void {
  series.ensure(minute + 1);
  for (const m of PUBLISHED) out.put(m, series.get(m, minute)?.value);
}

/** The capacity range in effect now (tests). */
export function serverlessBounds(sim: SimAccount, clusterId: string): ServerlessBounds | undefined {
  const c = clusters(sim).get(clusterId);
  return c ? boundsAt(c, sim.nowMs()) : undefined;
}

const invalid = (message: string) => serviceError(RDSServiceException, 'InvalidParameterValue', message);

/** The new range from a ModifyDBCluster request, or AWS's error for the first rule it breaks. */
function nextBounds(cluster: AuroraCluster, current: ServerlessBounds, input: Input): ServerlessBounds {
  const req = rec(input.ServerlessV2ScalingConfiguration);
  const min = num(req.MinCapacity) ?? current.min;
  const next: ServerlessBounds = {
    min,
    max: num(req.MaxCapacity) ?? current.max,
    // A nonzero minimum removes SecondsUntilAutoPause; a minimum back at 0 without it gets the
    // default 300 s again (RDS API reference, ServerlessV2ScalingConfigurationInfo).
    secondsUntilAutoPause:
      num(req.SecondsUntilAutoPause) ??
      (min === 0 && current.min === 0 ? current.secondsUntilAutoPause : AUTO_PAUSE_DEFAULT_SECONDS),
  };
  if (next.min > next.max)
    throw serviceError(
      RDSServiceException,
      'InvalidParameterCombination',
      `MinCapacity (${next.min}) must be less than or equal to MaxCapacity (${next.max}).`,
    );
  const why = invalidBounds(next, cluster.engine, cluster.engineVersion);
  if (why) throw invalid(why);
  return next;
}

function modifyDBCluster(sim: SimAccount, input: Input): object {
  const id = str(input.DBClusterIdentifier) ?? '';
  const cluster = sim.rds.clusters.get(id);
  // RDS API reference, ModifyDBCluster errors: DBClusterNotFoundFault, InvalidDBClusterStateFault.
  if (!cluster)
    throw new DBClusterNotFoundFault({
      message: `DBCluster ${id} not found.`,
      $metadata: errorMetadata(404),
    });
  if (cluster.status !== 'available')
    throw new InvalidDBClusterStateFault({
      message: `DBCluster ${id} is not in available state.`,
      $metadata: errorMetadata(),
    });
  const c = clusters(sim).get(id);
  if (input.ServerlessV2ScalingConfiguration !== undefined && c) {
    const now = sim.nowMs();
    const next = nextBounds(cluster, boundsAt(c, now), input);
    c.timeline.push({ from: now, bounds: next });
    cluster.serverless = { ...next };
    sim.rds.event(
      cluster,
      `Set the Aurora Serverless v2 capacity range to ${next.min}-${next.max} ACU`,
      ['configuration change'],
      'db-cluster',
    );
  }
  return { DBCluster: describeCluster(sim, cluster) };
}

registerOperations('rds', { ModifyDBCluster: modifyDBCluster });
