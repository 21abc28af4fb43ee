import {
  DBClusterNotFoundFault,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  InstanceQuotaExceededFault,
  InsufficientDBInstanceCapacityFault,
  InvalidDBClusterStateFault,
  InvalidDBInstanceStateFault,
  RDSServiceException,
  StorageQuotaExceededFault,
} from '@aws-sdk/client-rds';
import { effectiveStorageIops } from '../../aws/rds-storage-limits.ts';
import { seededRandom } from '../../core/random.ts';
import { vcpusOf } from '../../policies/replica-cost.ts';
import { HOUR_MS, MINUTE_MS } from '../clock.ts';
import type { SimAccount } from '../engine.ts';
import { errorMetadata, serviceError } from '../errors.ts';
import { MinuteSeries, registerMetricResolver, type StepFn, seriesSource } from '../metrics.ts';
import { arr, bool, decodeToken, num, page, readTags, rec, str, tagList, toMs } from '../paging.ts';
import {
  ClassBurst,
  drawOptimizationMinutes,
  OPTIMIZATION_TIME,
  type OptimizationTime,
  type PublishedIo,
  publishIo,
  STORAGE_WORLD,
  type StorageWorld,
} from '../rds-storage-model.ts';
import { type Input, registerOperations } from '../registry.ts';
import { constant, type Workload } from '../workload.ts';
import { proxyByArn } from './rds-proxy.ts';

/**
 * Simulated RDS: instances (standalone, read replicas, Aurora cluster members), Aurora clusters,
 * events, tags, and the change rules of aws-facts.md (RDS storage and Provisioned IOPS, Read replicas).
 *
 * Status life cycle: ModifyDBInstance with ApplyImmediately moves the instance to `modifying`
 * (durations.modifyMs), then, when storage changed, `storage-optimization` (durations.storageOptimizationMs,
 * StorageOperationStatus "Optimizing"), then `available`. New replicas are `creating` for
 * durations.replicaCreateMs (Aurora readers durations.auroraReaderCreateMs); deletes are `deleting`
 * for durations.deleteMs. The new IOPS/storage take effect in the metrics when `modifying` ends.
 */

export type RdsEngine =
  | 'postgres'
  | 'mysql'
  | 'mariadb'
  | 'aurora-postgresql'
  | 'aurora-mysql'
  | 'oracle-ee'
  | 'sqlserver-se';
export type StorageType = 'gp2' | 'gp3' | 'io1' | 'io2' | 'standard' | 'aurora';

export interface RdsWorkload {
  /** Demand for I/O operations per second (read + write). */
  iops?: Workload;
  /** Share of the IOPS that are reads (default 0.6). */
  readFraction?: number;
  /** CPU demand in % of this instance's class (capped at 100 in the metrics). */
  cpu?: Workload;
  connections?: Workload;
  /** Replicas: ReplicaLag in seconds (default 0.4). */
  replicaLagSeconds?: Workload;
  /** Free storage as a fraction of the allocated storage (default 0.4), constant or over time. */
  freeStorageFraction?: number | Workload;
}

/**
 * Settings a read replica must copy from its source (issue 19; aws-facts.md, learned from
 * review). Defaults are what RDS gives an instance created without them: the VPC's default
 * security group, no Enhanced Monitoring, no Performance Insights, the default CA and the
 * engine's default parameter group.
 */
export interface InstanceSettings {
  vpcSecurityGroupIds: string[];
  monitoringInterval: number;
  monitoringRoleArn?: string;
  performanceInsights: boolean;
  caCertificate: string;
  publiclyAccessible: boolean;
  parameterGroup: string;
  storageEncrypted: boolean;
  /** IAM database authentication (IAMDatabaseAuthenticationEnabled); absent = off. */
  iamDatabaseAuthentication?: boolean;
}

export const VPC_DEFAULT_SECURITY_GROUP = 'sg-0default0vpc';

export function defaultSettings(engine: RdsEngine, version: string): InstanceSettings {
  const major = version.split('.')[0] ?? '';
  return {
    vpcSecurityGroupIds: [VPC_DEFAULT_SECURITY_GROUP],
    monitoringInterval: 0,
    performanceInsights: false,
    caCertificate: 'rds-ca-rsa2048-g1',
    publiclyAccessible: false,
    parameterGroup: `default.${engine}${major}`,
    storageEncrypted: false,
  };
}

export interface RdsInstanceSpec {
  id: string;
  engine: RdsEngine;
  engineVersion?: string;
  instanceClass: string;
  storageType?: StorageType;
  allocatedStorage?: number;
  iops?: number;
  storageThroughput?: number;
  /** Storage autoscaling's ceiling (MaxAllocatedStorage); unset: autoscaling off. */
  maxAllocatedStorage?: number;
  clusterId?: string;
  /** Aurora: the cluster's writer. */
  writer?: boolean;
  replicaSourceId?: string;
  backupRetentionPeriod?: number;
  multiAZ?: boolean;
  tags?: Record<string, string>;
  status?: string;
  promotionTier?: number;
  /** Creation time (ms); defaults to the account's history start. */
  createdAt?: number;
  workload?: RdsWorkload;
  settings?: Partial<InstanceSettings>;
}

export interface AuroraClusterSpec {
  id: string;
  engine: 'aurora-postgresql' | 'aurora-mysql';
  engineVersion?: string;
  backupRetentionPeriod?: number;
  tags?: Record<string, string>;
  status?: string;
  workload?: {
    /** Total reader CPU demand in % of one reader (spread over the available readers). */
    readerCpu?: Workload;
    /** Total reader connections (spread over the available readers). */
    readerConnections?: Workload;
    readerIops?: Workload;
  };
}

interface StorageConfig {
  from: number;
  instanceClass: string;
  storageType: StorageType;
  allocatedStorage: number;
  iops?: number;
  storageThroughput?: number;
}

export interface RdsInstance {
  id: string;
  arn: string;
  resourceId: string;
  engine: RdsEngine;
  engineVersion: string;
  instanceClass: string;
  storageType: StorageType;
  allocatedStorage: number;
  iops?: number;
  storageThroughput?: number;
  maxAllocatedStorage?: number;
  status: string;
  clusterId?: string;
  isWriter: boolean;
  replicaSourceId?: string;
  backupRetentionPeriod: number;
  multiAZ: boolean;
  az: string;
  tags: Map<string, string>;
  createdAt: number;
  availableAt: number;
  deletedAt?: number;
  promotionTier?: number;
  /** Modifications waiting for the maintenance window (ApplyImmediately false). */
  pending: Record<string, unknown>;
  /** Modifications being applied (shown in PendingModifiedValues while `modifying`). */
  inFlight: Record<string, unknown>;
  /** Times of storage modifications (any actor), for the 6 h / 4-per-24 h rule. */
  storageChanges: number[];
  optimizingUntil?: number;
  optimizingStartedAt?: number;
  timeline: StorageConfig[];
  workload: RdsWorkload;
  series: MinuteSeries;
  settings: InstanceSettings;
}

export interface AuroraCluster {
  id: string;
  arn: string;
  engine: 'aurora-postgresql' | 'aurora-mysql';
  engineVersion: string;
  status: string;
  backupRetentionPeriod: number;
  tags: Map<string, string>;
  createdAt: number;
  /** Every instance that was ever a member (deleted ones keep deletedAt), for the load split. */
  members: string[];
  workload: NonNullable<AuroraClusterSpec['workload']>;
  /** Aurora Serverless v2: the cluster's capacity range now (shared/sim/services/aurora-serverless.ts). */
  serverless?: { min: number; max: number; secondsUntilAutoPause: number };
}

export interface RdsEvent {
  SourceIdentifier: string;
  SourceType: 'db-instance' | 'db-cluster';
  Message: string;
  EventCategories: string[];
  Date: Date;
  SourceArn: string;
}

/** Instance class limits (EC2 EBS-optimized maximum IOPS); a sim-only table for the metrics. */
const CLASS_MAX_IOPS: Record<string, number> = {
  'db.t3.medium': 11_800,
  'db.t4g.medium': 11_800,
  'db.m5.large': 18_750,
  'db.m6g.large': 20_000,
  'db.m6g.xlarge': 20_000,
  'db.r5.large': 18_750,
  'db.r6g.large': 20_000,
  'db.r6g.xlarge': 20_000,
  'db.r6g.2xlarge': 20_000,
  'db.r6g.4xlarge': 20_000,
  'db.r6g.8xlarge': 30_000,
};

/**
 * Performance Insights' counter metrics, published to CloudWatch only where PI is on: DBLoadCPU =
 * sessions running or waiting on CPU (the run queue: demand / 100 x vCPUs, bounded by the open
 * connections, since a session waits in one connection), DBLoad = DBLoadCPU + non-CPU waits.
 */
function putDbLoad(
  out: { put(m: string, v: number | undefined): void },
  instanceClass: string,
  cpuDemandPercent: number,
  connections: number,
): void {
  const vcpus = vcpusOf(instanceClass) ?? 2;
  const wanting = (vcpus * Math.max(0, cpuDemandPercent)) / 100;
  const dbLoadCpu = Math.min(wanting, Math.max(vcpus, connections));
  const nonCpu = 0.05 * vcpus;
  out.put('DBLoadCPU', dbLoadCpu);
  out.put('DBLoadNonCPU', nonCpu);
  out.put('DBLoad', dbLoadCpu + nonCpu);
}

// aws-facts.md, RDS storage: gp2 baseline 3 IOPS/GiB (min 100, max 16,000), bursting to 3,000;
// credit bucket of 5.4 million I/O credits (RDS User Guide, CHAP_Storage "gp2 storage").
const GP2_CREDITS = 5_400_000;

/** A stable numeric seed from an instance id (the metric noise is the same on every read). */
function hashSeed(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface StorageMinute extends PublishedIo {
  limit: number;
  burstBalance?: number;
  ebsIoBalance?: number;
}

/**
 * One minute of an instance's storage: the IOPS the volume delivers (aws-facts.md, RDS storage
 * table; gp2 bursts on its credit bucket), capped by what the class lets through (its EBS burst
 * balance, shared/sim/rds-storage-model.ts), then served IOPS and the noisy latency / queue depth.
 */
function storageMinute(
  cfg: StorageConfig & { engine: string },
  demand: number,
  cls: { burst: ClassBurst | undefined },
  gp2: { credits: number },
  world: StorageWorld,
  rnd: () => number,
): StorageMinute {
  const unknownClassMax = CLASS_MAX_IOPS[cfg.instanceClass] ?? 40_000;
  let storageLimit: number;
  let burstBalance: number | undefined;
  if (cfg.storageType === 'gp2') {
    const baseline = Math.min(16_000, Math.max(100, 3 * cfg.allocatedStorage));
    const burstCeiling = cfg.allocatedStorage >= 1000 ? baseline : Math.max(baseline, 3000);
    const wanted = Math.min(demand, burstCeiling, unknownClassMax);
    let served: number;
    if (wanted <= baseline) {
      served = wanted;
      gp2.credits = Math.min(GP2_CREDITS, gp2.credits + (baseline - wanted) * 60);
    } else {
      const extra = Math.min((wanted - baseline) * 60, gp2.credits);
      gp2.credits -= extra;
      served = baseline + extra / 60;
    }
    storageLimit = served >= demand ? Math.max(served, baseline) : served;
    burstBalance = (gp2.credits / GP2_CREDITS) * 100;
  } else if (cfg.storageType === 'gp3') {
    // The engine's gp3 row: striped from 400 GiB (Oracle 200 GiB, SQL Server never).
    storageLimit = effectiveStorageIops('gp3', cfg.allocatedStorage, cfg.iops, cfg.engine);
  } else if (cfg.storageType === 'aurora') {
    storageLimit = unknownClassMax;
  } else if (cfg.storageType === 'standard') {
    storageLimit = 200;
  } else {
    storageLimit = cfg.iops ?? 1000;
  }
  const burst = cls.burst?.serve(Math.min(demand, storageLimit));
  const limit = Math.max(1, Math.min(storageLimit, burst?.ceiling ?? unknownClassMax));
  const io = publishIo(demand, limit, world, rnd);
  return { ...io, limit, burstBalance, ebsIoBalance: burst?.balancePct };
}

export class RdsState {
  readonly instances = new Map<string, RdsInstance>();
  /** Deleted instances keep their metric history. */
  readonly deleted = new Map<string, RdsInstance>();
  readonly clusters = new Map<string, AuroraCluster>();
  readonly events: RdsEvent[] = [];
  /** Classes that answer InsufficientDBInstanceCapacity on create/modify (tests, demo). */
  readonly unavailableClasses = new Set<string>();
  /** The storage queueing model (noise, sessions, signal strength): shared/sim/rds-storage-model.ts. */
  storageWorld: StorageWorld = { ...STORAGE_WORLD };
  /**
   * Storage-optimization time after a storage change, drawn per change (median 4 h, a tail past
   * 24 h, aws-facts.md) unless `durations.storageOptimizationMs` fixes it (tests).
   */
  storageOptimization: OptimizationTime & { seed: number } = { ...OPTIMIZATION_TIME, seed: 1 };
  durations: {
    modifyMs: number;
    storageOptimizationMs?: number;
    replicaCreateMs: number;
    replicaCreatePerGiBMs: number;
    auroraReaderCreateMs: number;
    coldCacheMs: number;
    deleteMs: number;
  } = {
    modifyMs: 10 * MINUTE_MS,
    /**
     * Plain RDS read replica: a snapshot of the source restored and caught up, so creation grows
     * with the storage size (RDS User Guide, "Working with DB instance read replicas": minutes to
     * hours): replicaCreateMs + replicaCreatePerGiBMs x AllocatedStorage (100 GiB: 25 min).
     */
    replicaCreateMs: 15 * MINUTE_MS,
    replicaCreatePerGiBMs: 6_000,
    /** Aurora reader: no data copy (shared cluster volume), instance provisioning only. */
    auroraReaderCreateMs: 12 * MINUTE_MS,
    /** A new reader's buffer cache is cold: its CPU per query is higher, fading over this time. */
    coldCacheMs: 20 * MINUTE_MS,
    deleteMs: 5 * MINUTE_MS,
  };
  /** Default account quotas (aws-facts.md, Read replicas: 40 DB instances; RDS quotas page: 100,000 GiB). */
  quotas = { dbInstances: 40, allocatedStorageGiB: 100_000 };
  /** Workload of a replica created through the API (default: idle until the application reads from it). */
  newReplicaWorkload: (source: RdsInstance) => RdsWorkload = () => ({
    cpu: constant(3),
    connections: constant(0),
    iops: constant(20),
  });

  /**
   * Instances whose minutes another model computes (Aurora Serverless v2 instances:
   * shared/sim/services/aurora-serverless.ts), by instance id.
   */
  readonly customSteps = new Map<string, StepFn>();

  constructor(private readonly sim: SimAccount) {}

  addInstance(spec: RdsInstanceSpec): RdsInstance {
    const createdAt = spec.createdAt ?? this.sim.historyStartMs;
    const isAurora = spec.engine.startsWith('aurora');
    const storageType: StorageType = spec.storageType ?? (isAurora ? 'aurora' : 'gp3');
    const allocatedStorage = spec.allocatedStorage ?? (isAurora ? 1 : 100);
    const inst: RdsInstance = {
      id: spec.id,
      arn: this.sim.arn('rds', `db:${spec.id}`),
      resourceId: `db-${hashId(spec.id)}`,
      engine: spec.engine,
      engineVersion: spec.engineVersion ?? defaultVersion(spec.engine),
      instanceClass: spec.instanceClass,
      storageType,
      allocatedStorage,
      iops: spec.iops,
      storageThroughput: spec.storageThroughput,
      maxAllocatedStorage: spec.maxAllocatedStorage,
      status: spec.status ?? 'available',
      clusterId: spec.clusterId,
      isWriter: spec.writer ?? false,
      replicaSourceId: spec.replicaSourceId,
      backupRetentionPeriod: spec.backupRetentionPeriod ?? (spec.replicaSourceId ? 0 : 7),
      multiAZ: spec.multiAZ ?? false,
      az: `${this.sim.region}a`,
      tags: new Map(Object.entries(spec.tags ?? {})),
      createdAt,
      availableAt: createdAt,
      promotionTier: spec.promotionTier,
      pending: {},
      inFlight: {},
      storageChanges: [],
      timeline: [
        {
          from: createdAt,
          instanceClass: spec.instanceClass,
          storageType,
          allocatedStorage,
          iops: spec.iops,
          storageThroughput: spec.storageThroughput,
        },
      ],
      workload: spec.workload ?? {},
      series: undefined as unknown as MinuteSeries,
      settings: {
        ...defaultSettings(spec.engine, spec.engineVersion ?? defaultVersion(spec.engine)),
        ...spec.settings,
      },
    };
    inst.series = new MinuteSeries(Math.floor(this.sim.historyStartMs / MINUTE_MS), this.instanceStep(inst));
    this.instances.set(inst.id, inst);
    if (inst.clusterId) this.clusters.get(inst.clusterId)?.members.push(inst.id);
    return inst;
  }

  addCluster(spec: AuroraClusterSpec): AuroraCluster {
    const c: AuroraCluster = {
      id: spec.id,
      arn: this.sim.arn('rds', `cluster:${spec.id}`),
      engine: spec.engine,
      engineVersion: spec.engineVersion ?? defaultVersion(spec.engine),
      status: spec.status ?? 'available',
      backupRetentionPeriod: spec.backupRetentionPeriod ?? 7,
      tags: new Map(Object.entries(spec.tags ?? {})),
      createdAt: this.sim.historyStartMs,
      members: [],
      workload: spec.workload ?? {},
    };
    this.clusters.set(c.id, c);
    for (const inst of this.instances.values()) if (inst.clusterId === c.id) c.members.push(inst.id);
    return c;
  }

  get(id: string): RdsInstance | undefined {
    return this.instances.get(id) ?? this.deleted.get(id);
  }

  replicasOf(sourceId: string): RdsInstance[] {
    return [...this.instances.values()].filter((i) => i.replicaSourceId === sourceId);
  }

  event(
    inst: { id: string; arn: string },
    message: string,
    categories: string[],
    type: RdsEvent['SourceType'] = 'db-instance',
  ) {
    this.events.push({
      SourceIdentifier: inst.id,
      SourceType: type,
      Message: message,
      EventCategories: categories,
      Date: this.sim.clock.now(),
      SourceArn: inst.arn,
    });
  }

  /** The storage/class configuration in effect at a time. */
  configAt(inst: RdsInstance, tMs: number): StorageConfig {
    let cfg = inst.timeline[0] as StorageConfig;
    for (const c of inst.timeline) if (c.from <= tMs) cfg = c;
    return cfg;
  }

  /** Available readers of a cluster at a time (deleted ones until their deletion). */
  activeReaders(cluster: AuroraCluster, tMs: number): number {
    let n = 0;
    for (const id of cluster.members) {
      const m = this.get(id);
      if (!m || m.isWriter) continue;
      if (m.availableAt <= tMs && (m.deletedAt === undefined || m.deletedAt > tMs)) n++;
    }
    return n;
  }

  private instanceStep(inst: RdsInstance) {
    const gp2 = { credits: GP2_CREDITS };
    let classBurst: { cls: string; burst: ClassBurst | undefined } | undefined;
    const seed = hashSeed(inst.id);
    const noise = (minute: number) => seededRandom(seed ^ Math.imul(minute, 2_654_435_761));
    return (minute: number, out: { put(m: string, v: number | undefined, c?: number): void }) => {
      const t = minute * MINUTE_MS + MINUTE_MS - 1;
      if (t < inst.availableAt || (inst.deletedAt !== undefined && t >= inst.deletedAt)) return;
      const custom = this.customSteps.get(inst.id);
      if (custom) return custom(minute, out);
      const cfg = this.configAt(inst, t);
      if (classBurst?.cls !== cfg.instanceClass) {
        classBurst = { cls: cfg.instanceClass, burst: ClassBurst.of(cfg.instanceClass) };
      }
      const w = inst.workload;
      const cluster = inst.clusterId ? this.clusters.get(inst.clusterId) : undefined;
      let cpuDemand = (w.cpu?.(t) ?? 10) * this.coldCacheFactor(inst, t);
      let connections = w.connections?.(t) ?? 5;
      let iopsDemand = w.iops?.(t) ?? 100;
      if (cluster && !inst.isWriter) {
        const readers = Math.max(1, this.activeReaders(cluster, t));
        cpuDemand += ((cluster.workload.readerCpu?.(t) ?? 0) / readers) * this.coldCacheFactor(inst, t);
        connections += (cluster.workload.readerConnections?.(t) ?? 0) / readers;
        iopsDemand += (cluster.workload.readerIops?.(t) ?? 0) / readers;
      } else if (cluster && inst.isWriter && this.activeReaders(cluster, t) === 0) {
        cpuDemand += cluster.workload.readerCpu?.(t) ?? 0;
        connections += cluster.workload.readerConnections?.(t) ?? 0;
      }
      // The IOPS the storage can deliver this minute (aws-facts.md, RDS storage table), what the
      // class lets through (its EBS burst balance), and the noisy latency / queue depth
      // (shared/sim/rds-storage-model.ts).
      const io = storageMinute(
        { ...cfg, engine: inst.engine },
        iopsDemand,
        classBurst,
        gp2,
        this.storageWorld,
        noise(minute),
      );
      const served = io.served;
      const readFraction = w.readFraction ?? 0.6;
      const utilisation = io.limit > 0 ? iopsDemand / io.limit : 0;
      out.put('ReadIOPS', served * readFraction);
      out.put('WriteIOPS', served * (1 - readFraction));
      out.put('DiskQueueDepth', io.diskQueueDepth);
      out.put('ReadLatency', io.readLatency);
      out.put('WriteLatency', io.writeLatency);
      out.put('ReadThroughput', served * readFraction * 16_384);
      out.put('WriteThroughput', served * (1 - readFraction) * 16_384);
      out.put('CPUUtilization', Math.min(100, cpuDemand + Math.max(0, utilisation - 1) * 10));
      out.put('DatabaseConnections', Math.round(connections));
      if (cfg.storageType !== 'aurora') {
        const free = w.freeStorageFraction;
        const fraction = typeof free === 'function' ? free(t) : (free ?? 0.4);
        out.put('FreeStorageSpace', cfg.allocatedStorage * Math.max(0, fraction) * 1024 ** 3);
      }
      if (io.burstBalance !== undefined) out.put('BurstBalance', io.burstBalance);
      // EBSIOBalance% / EBSByteBalance% only for classes with a burst balance (aws-facts.md).
      if (io.ebsIoBalance !== undefined) {
        out.put('EBSIOBalance%', io.ebsIoBalance);
        out.put('EBSByteBalance%', io.ebsIoBalance);
      }
      // Aurora readers publish AuroraReplicaLag (ms), plain RDS replicas ReplicaLag (s).
      if (cluster && !inst.isWriter) out.put('AuroraReplicaLag', (w.replicaLagSeconds?.(t) ?? 0.02) * 1000);
      else if (inst.replicaSourceId) out.put('ReplicaLag', w.replicaLagSeconds?.(t) ?? 0.4);
      if (inst.settings.performanceInsights) putDbLoad(out, cfg.instanceClass, cpuDemand, connections);
    };
  }

  /** A reader created during the run starts with a cold cache: up to 1.5 x the CPU per query. */
  coldCacheFactor(inst: RdsInstance, t: number): number {
    if (inst.createdAt <= this.sim.historyStartMs || (!inst.replicaSourceId && !inst.clusterId)) return 1;
    const warm = this.durations.coldCacheMs;
    const since = t - inst.availableAt;
    if (warm <= 0 || since >= warm || since < 0) return 1;
    return 1 + 0.5 * (1 - since / warm);
  }
}

function defaultVersion(engine: RdsEngine): string {
  if (engine === 'postgres') return '16.4';
  if (engine === 'aurora-postgresql') return '16.4';
  if (engine === 'aurora-mysql') return '8.0.mysql_aurora.3.07.1';
  if (engine === 'mysql') return '8.0.39';
  if (engine === 'mariadb') return '10.11.9';
  return '19';
}

function hashId(id: string): string {
  let h = 5381;
  for (let i = 0; i < id.length; i++) h = (h * 33 + id.charCodeAt(i)) >>> 0;
  return h.toString(36).toUpperCase().padStart(8, 'X').slice(0, 8);
}

const meta = errorMetadata;

function notFound(id: string): Error {
  // RDS API reference, DescribeDBInstances / ModifyDBInstance errors: DBInstanceNotFound,
  // message as the service returns it ("DBInstance <id> not found.").
  return new DBInstanceNotFoundFault({ message: `DBInstance ${id} not found.`, $metadata: meta() });
}

function notAvailable(): Error {
  // aws-facts.md, RDS errors seen in the wild: InvalidDBInstanceState ("not in available state").
  return new InvalidDBInstanceStateFault({
    message: 'Database instance is not in available state.',
    $metadata: meta(),
  });
}

function combination(message: string): Error {
  return serviceError(RDSServiceException, 'InvalidParameterCombination', message);
}

function mustGet(sim: SimAccount, id: string | undefined): RdsInstance {
  const inst = id ? sim.rds.instances.get(id) : undefined;
  if (!inst || !id) throw notFound(id ?? '');
  return inst;
}

function pageSize(v: unknown): number {
  const n = num(v);
  if (n === undefined) return 100;
  // RDS API reference, MaxRecords: "Default: 100. Constraints: Minimum 20, maximum 100."
  if (n < 20 || n > 100) {
    throw serviceError(
      RDSServiceException,
      'InvalidParameterValue',
      `Invalid value ${n} for MaxRecords. Must be between 20 and 100`,
    );
  }
  return n;
}

function pendingView(inst: RdsInstance): Record<string, unknown> {
  const merged = { ...inst.pending, ...inst.inFlight };
  const out: Record<string, unknown> = {};
  for (const k of [
    'DBInstanceClass',
    'AllocatedStorage',
    'Iops',
    'StorageType',
    'StorageThroughput',
    'BackupRetentionPeriod',
    'MultiAZ',
  ]) {
    if (merged[k] !== undefined) out[k] = merged[k];
  }
  return out;
}

export function describeInstance(sim: SimAccount, inst: RdsInstance): Record<string, unknown> {
  const cluster = inst.clusterId ? sim.rds.clusters.get(inst.clusterId) : undefined;
  const optimizing = inst.status === 'storage-optimization' && inst.optimizingUntil !== undefined;
  const progress =
    optimizing && inst.optimizingStartedAt !== undefined && inst.optimizingUntil !== undefined
      ? Math.min(
          99,
          Math.floor(
            ((sim.nowMs() - inst.optimizingStartedAt) / (inst.optimizingUntil - inst.optimizingStartedAt)) *
              100,
          ),
        )
      : undefined;
  return {
    DBInstanceIdentifier: inst.id,
    DBInstanceArn: inst.arn,
    DbiResourceId: inst.resourceId,
    DBInstanceClass: inst.instanceClass,
    Engine: inst.engine,
    EngineVersion: inst.engineVersion,
    DBInstanceStatus: inst.status,
    AllocatedStorage: inst.allocatedStorage,
    ...(inst.maxAllocatedStorage !== undefined ? { MaxAllocatedStorage: inst.maxAllocatedStorage } : {}),
    StorageType: inst.storageType,
    Iops: inst.iops,
    StorageThroughput: inst.storageThroughput,
    MultiAZ: inst.multiAZ,
    AvailabilityZone: inst.az,
    BackupRetentionPeriod: inst.backupRetentionPeriod,
    // AWS sets InstanceCreateTime once the instance is created: none while it is being created.
    ...(inst.status === 'creating' ? {} : { InstanceCreateTime: new Date(inst.createdAt) }),
    Endpoint:
      inst.status === 'creating'
        ? undefined
        : {
            Address: `${inst.id}.abc123.${sim.region}.rds.amazonaws.com`,
            Port: inst.engine.includes('mysql') || inst.engine === 'mariadb' ? 3306 : 5432,
          },
    DBClusterIdentifier: inst.clusterId,
    PromotionTier: cluster ? (inst.promotionTier ?? 1) : undefined,
    ReadReplicaSourceDBInstanceIdentifier: inst.replicaSourceId,
    ReadReplicaDBInstanceIdentifiers: sim.rds.replicasOf(inst.id).map((r) => r.id),
    PendingModifiedValues: pendingView(inst),
    StorageOperationStatus: optimizing ? 'Optimizing' : undefined,
    StorageOperationPercentProgress: progress,
    PreferredMaintenanceWindow: 'sun:05:00-sun:05:30',
    ...settingsView(inst),
    TagList: tagList(inst.tags),
  };
}

/** The replica-relevant settings as DescribeDBInstances shows them. */
function settingsView(inst: RdsInstance): Record<string, unknown> {
  const s = inst.settings;
  return {
    VpcSecurityGroups: s.vpcSecurityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    MonitoringInterval: s.monitoringInterval,
    ...(s.monitoringRoleArn ? { MonitoringRoleArn: s.monitoringRoleArn } : {}),
    PerformanceInsightsEnabled: s.performanceInsights,
    CACertificateIdentifier: s.caCertificate,
    PubliclyAccessible: s.publiclyAccessible,
    IAMDatabaseAuthenticationEnabled: s.iamDatabaseAuthentication === true,
    DBParameterGroups: [{ DBParameterGroupName: s.parameterGroup, ParameterApplyStatus: 'in-sync' }],
    StorageEncrypted: s.storageEncrypted,
  };
}

/** Settings given on a create call; what is left out gets RDS's default (or, for `inherit`, the source's). */
function settingsFromInput(input: Input, defaults: InstanceSettings): InstanceSettings {
  const groups = arr(input.VpcSecurityGroupIds).map(String);
  const monitoring = num(input.MonitoringInterval);
  return {
    ...defaults,
    ...(groups.length > 0 ? { vpcSecurityGroupIds: groups } : {}),
    ...(monitoring !== undefined ? { monitoringInterval: monitoring } : {}),
    ...(str(input.MonitoringRoleArn) ? { monitoringRoleArn: str(input.MonitoringRoleArn) } : {}),
    ...(bool(input.EnablePerformanceInsights) !== undefined
      ? { performanceInsights: bool(input.EnablePerformanceInsights) === true }
      : {}),
    ...(str(input.CACertificateIdentifier)
      ? { caCertificate: str(input.CACertificateIdentifier) as string }
      : {}),
    ...(bool(input.PubliclyAccessible) !== undefined
      ? { publiclyAccessible: bool(input.PubliclyAccessible) === true }
      : {}),
    ...(str(input.DBParameterGroupName) ? { parameterGroup: str(input.DBParameterGroupName) as string } : {}),
    // RDS API reference (CreateDBInstance / CreateDBInstanceReadReplica):
    // EnableIAMDatabaseAuthentication "By default, mapping isn't enabled".
    iamDatabaseAuthentication: bool(input.EnableIAMDatabaseAuthentication) === true,
  };
}

export function describeCluster(sim: SimAccount, c: AuroraCluster): Record<string, unknown> {
  const members = c.members
    .map((id) => sim.rds.instances.get(id))
    .filter((m): m is RdsInstance => m !== undefined);
  return {
    DBClusterIdentifier: c.id,
    DBClusterArn: c.arn,
    Engine: c.engine,
    EngineVersion: c.engineVersion,
    Status: c.status,
    BackupRetentionPeriod: c.backupRetentionPeriod,
    Endpoint: `${c.id}.cluster-abc123.${sim.region}.rds.amazonaws.com`,
    ReaderEndpoint: `${c.id}.cluster-ro-abc123.${sim.region}.rds.amazonaws.com`,
    DBClusterMembers: members.map((m) => ({
      DBInstanceIdentifier: m.id,
      IsClusterWriter: m.isWriter,
      PromotionTier: m.promotionTier ?? 1,
      DBClusterParameterGroupStatus: 'in-sync',
    })),
    ...(c.serverless
      ? {
          // RDS API reference, ServerlessV2ScalingConfigurationInfo: SecondsUntilAutoPause "is only
          // shown when the minimum capacity for the cluster is set to 0 ACUs".
          ServerlessV2ScalingConfiguration: {
            MinCapacity: c.serverless.min,
            MaxCapacity: c.serverless.max,
            ...(c.serverless.min === 0 ? { SecondsUntilAutoPause: c.serverless.secondsUntilAutoPause } : {}),
          },
        }
      : {}),
    TagList: tagList(c.tags),
  };
}

const STORAGE_KEYS = ['AllocatedStorage', 'Iops', 'StorageType', 'StorageThroughput'] as const;
const MODIFY_KEYS = [...STORAGE_KEYS, 'DBInstanceClass', 'BackupRetentionPeriod', 'MultiAZ'] as const;

interface IopsRange {
  min: number;
  max: number;
  minRatio: number;
  maxRatio: number;
}

/**
 * Valid Provisioned IOPS for a storage type, size and engine (aws-facts.md, RDS storage table and
 * "Learned from review": SQL Server's io1 ratio is 1-50 (1,000-64,000 IOPS, from 20 GiB, no
 * striping); Oracle stripes gp3 and io1 at 200 GiB; MySQL, MariaDB and PostgreSQL at 400 GiB).
 */
export function validIops(
  storageType: StorageType,
  size: number,
  engine = 'postgres',
): IopsRange | undefined {
  const sqlServer = engine.startsWith('sqlserver');
  const stripe = gp3StripeGiB(engine) || 400;
  if (storageType === 'io1') {
    if (sqlServer) return { min: 1000, max: 64_000, minRatio: 1, maxRatio: 50 };
    return { min: 1000, max: size < stripe ? 19_950 : 256_000, minRatio: 0.5, maxRatio: 50 };
  }
  if (storageType === 'io2') return { min: 1000, max: 256_000, minRatio: 0.5, maxRatio: 1000 };
  if (storageType === 'gp3' && sqlServer) return { min: 3000, max: 16_000, minRatio: 0, maxRatio: 500 };
  if (storageType === 'gp3' && size >= stripe)
    return { min: 12_000, max: 64_000, minRatio: 0, maxRatio: 500 };
  return undefined;
}

/** The gp3 striping size: Oracle 200 GiB, SQL Server none (0), the others 400 GiB. */
function gp3StripeGiB(engine: string): number {
  if (engine.startsWith('sqlserver')) return 0;
  return engine.startsWith('oracle') ? 200 : 400;
}

/** The smallest size a storage increase may ask for (10% more, rounded up to a whole GiB). */
export function minGrowth(size: number): number {
  return Math.ceil(Math.round(size * 110) / 100);
}

const isPiops = (t: StorageType) => t === 'io1' || t === 'io2';

/** The storage rules of ModifyDBInstance; throws AWS's error for the first one broken. */
function checkStorageChange(sim: SimAccount, inst: RdsInstance, input: Input): void {
  const now = sim.nowMs();
  // aws-facts.md, RDS storage: "InvalidParameterCombination ('previous storage change is being optimized')".
  if (
    inst.status === 'storage-optimization' ||
    (inst.optimizingUntil !== undefined && inst.optimizingUntil > now)
  ) {
    throw combination(
      "You can't currently modify the storage of this DB instance because the previous storage change is being optimized.",
    );
  }
  // aws-facts.md, RDS storage: "6 hours or until storage-optimization ends, whichever is longer"
  // (older rule) and "at most 4 storage changes in any 24 hours" (current page). Both enforced.
  const last = inst.storageChanges.at(-1);
  if (last !== undefined && now - last < 6 * HOUR_MS) {
    throw combination(
      `You can't currently modify the storage of this DB instance. Storage can be modified only once every 6 hours; the last storage modification was at ${new Date(last).toISOString()}.`,
    );
  }
  const recent = inst.storageChanges.filter((t) => now - t < 24 * HOUR_MS);
  if (recent.length >= 4) {
    throw combination(
      "You can't currently modify the storage of this DB instance. You can make at most 4 storage modifications in 24 hours.",
    );
  }
  const size = num(input.AllocatedStorage) ?? inst.allocatedStorage;
  const type = (str(input.StorageType) ?? inst.storageType) as StorageType;
  const iops = num(input.Iops);
  // aws-facts.md, RDS storage: "When the instance has Provisioned IOPS you must send AllocatedStorage
  // and Iops together" (cloud-custodian #6588, #8725).
  if (
    (isPiops(inst.storageType) || isPiops(type)) &&
    (input.Iops === undefined) !== (input.AllocatedStorage === undefined)
  ) {
    throw combination(
      'You must specify both the storage size and iops when modifying the storage size or iops on a DB instance that has provisioned iops.',
    );
  }
  // aws-facts.md, RDS storage: "Storage only grows; each size increase is at least 10%."
  if (size < inst.allocatedStorage) {
    throw combination(
      `Invalid storage size for engine name ${inst.engine} and storage type ${type}: ${size}`,
    );
  }
  if (size > inst.allocatedStorage && size < minGrowth(inst.allocatedStorage)) {
    throw combination(
      `Invalid storage size: the allocated storage must be increased by at least 10 percent (current ${inst.allocatedStorage} GiB, requested ${size} GiB).`,
    );
  }
  // aws-facts.md, RDS storage: gp3 under 400 GiB has a fixed 3,000 IOPS / 125 MiB/s baseline;
  // error text from the same section ("You can't specify IOPS ... storage size less than 400").
  const stripe = gp3StripeGiB(inst.engine);
  if (type === 'gp3' && size < stripe && (iops !== undefined || input.StorageThroughput !== undefined)) {
    throw combination(
      `You can't specify IOPS or storage throughput for engine ${inst.engine} and a storage size less than ${stripe}.`,
    );
  }
  if ((type === 'gp2' || type === 'standard') && iops !== undefined) {
    throw combination(`Invalid storage type for IOPS: ${type} does not support Provisioned IOPS.`);
  }
  const range = validIops(type, size, inst.engine);
  if (iops !== undefined && range) {
    if (iops < range.min || iops > range.max) {
      throw combination(
        `Invalid iops value for engine name ${inst.engine} and storage type ${type}: ${iops}. Valid range for ${size} GiB: ${range.min}-${range.max}.`,
      );
    }
    const ratio = iops / size;
    if (ratio < range.minRatio || ratio > range.maxRatio) {
      // Message format as AWS returns it ("Invalid iops to storage (GB) ratio ...: 50.0000").
      throw combination(
        `Invalid iops to storage (GB) ratio for engine name ${inst.engine} and storage type ${type}: ${ratio.toFixed(4)}`,
      );
    }
  }
  if (type === 'gp3' && size >= stripe && input.StorageThroughput !== undefined) {
    const tp = num(input.StorageThroughput) ?? 0;
    const effIops = iops ?? inst.iops ?? 12_000;
    // aws-facts.md, RDS storage table: gp3 >= 400 GiB throughput 500-4,000 MiB/s, <= 0.25 x IOPS.
    if (tp < 500 || tp > 4000 || tp > effIops * 0.25) {
      throw combination(`Invalid storage throughput for storage type gp3: ${tp} MiB/s with ${effIops} IOPS.`);
    }
  }
  // RDS quotas page: 100,000 GiB of storage per account by default.
  let total = 0;
  for (const i of sim.rds.instances.values()) total += i.storageType === 'aurora' ? 0 : i.allocatedStorage;
  if (total - inst.allocatedStorage + size > sim.rds.quotas.allocatedStorageGiB) {
    throw new StorageQuotaExceededFault({
      message:
        'The request cannot be processed because it would exceed the allowed storage quota for the account.',
      $metadata: meta(),
    });
  }
}

function applyModifications(sim: SimAccount, inst: RdsInstance, changes: Record<string, unknown>): void {
  const storageChanged = STORAGE_KEYS.some((k) => changes[k] !== undefined);
  const now = sim.nowMs();
  inst.status = 'modifying';
  inst.inFlight = changes;
  if (storageChanged) inst.storageChanges.push(now);
  sim.rds.event(
    inst,
    storageChanged
      ? 'Applying modification to allocated storage'
      : 'Applying modification to database instance',
    ['configuration change'],
  );
  sim.after(sim.rds.durations.modifyMs, () => {
    if (!sim.rds.instances.has(inst.id)) return;
    const t = sim.nowMs();
    if (changes.AllocatedStorage !== undefined) inst.allocatedStorage = Number(changes.AllocatedStorage);
    if (changes.Iops !== undefined) inst.iops = Number(changes.Iops);
    if (changes.StorageType !== undefined) inst.storageType = changes.StorageType as StorageType;
    if (changes.StorageThroughput !== undefined) inst.storageThroughput = Number(changes.StorageThroughput);
    if (changes.DBInstanceClass !== undefined) inst.instanceClass = String(changes.DBInstanceClass);
    if (changes.BackupRetentionPeriod !== undefined)
      inst.backupRetentionPeriod = Number(changes.BackupRetentionPeriod);
    if (changes.MultiAZ !== undefined) inst.multiAZ = Boolean(changes.MultiAZ);
    inst.timeline.push({
      from: t,
      instanceClass: inst.instanceClass,
      storageType: inst.storageType,
      allocatedStorage: inst.allocatedStorage,
      iops: inst.iops,
      storageThroughput: inst.storageThroughput,
    });
    inst.inFlight = {};
    if (storageChanged) {
      inst.status = 'storage-optimization';
      inst.optimizingStartedAt = t;
      inst.optimizingUntil = t + optimizationMs(sim, inst);
      sim.rds.event(inst, 'Finished applying modification to allocated storage', ['configuration change']);
      sim.rds.event(inst, 'Storage optimization started', ['configuration change']);
      sim.at(inst.optimizingUntil, () => {
        if (inst.status === 'storage-optimization') inst.status = 'available';
        inst.optimizingUntil = undefined;
        inst.optimizingStartedAt = undefined;
        sim.rds.event(inst, 'Storage optimization completed', ['configuration change']);
      });
    } else {
      inst.status = 'available';
      sim.rds.event(inst, 'Finished applying modification to DB instance', ['configuration change']);
    }
  });
}

/** How long this storage change's optimization runs: fixed when set, else its own draw. */
function optimizationMs(sim: SimAccount, inst: RdsInstance): number {
  const fixed = sim.rds.durations.storageOptimizationMs;
  if (fixed !== undefined) return fixed;
  const o = sim.rds.storageOptimization;
  return drawOptimizationMinutes(o, o.seed ^ hashSeed(inst.id), inst.storageChanges.length) * MINUTE_MS;
}

function modifyDBInstance(sim: SimAccount, input: Input): object {
  const inst = mustGet(sim, str(input.DBInstanceIdentifier));
  const requested: Record<string, unknown> = {};
  for (const k of MODIFY_KEYS) if (input[k] !== undefined) requested[k] = input[k];
  // Values equal to the current ones are not modifications.
  if (requested.AllocatedStorage === inst.allocatedStorage && requested.Iops === undefined)
    delete requested.AllocatedStorage;
  if (requested.StorageType === inst.storageType) delete requested.StorageType;
  if (requested.DBInstanceClass === inst.instanceClass) delete requested.DBInstanceClass;
  const storageRequested = STORAGE_KEYS.some((k) => requested[k] !== undefined);
  // aws-facts.md, RDS errors: InvalidParameterCombination ("No modifications were requested").
  if (Object.keys(requested).length === 0 && bool(input.ApplyImmediately) !== true) {
    throw combination('No modifications were requested');
  }
  // aws-facts.md, RDS storage: statuses in which to wait; `storage-full` still accepts storage/IOPS
  // changes; non-storage changes are accepted during storage-optimization.
  const okStatus =
    inst.status === 'available' ||
    inst.status === 'storage-full' ||
    (inst.status === 'storage-optimization' && !storageRequested);
  if (!okStatus) {
    if (storageRequested && inst.status === 'storage-optimization') checkStorageChange(sim, inst, input);
    throw notAvailable();
  }
  if (storageRequested) checkStorageChange(sim, inst, input);
  const cls = str(requested.DBInstanceClass);
  if (cls && sim.rds.unavailableClasses.has(cls)) {
    // aws-facts.md, RDS errors: InsufficientDBInstanceCapacity.
    throw new InsufficientDBInstanceCapacityFault({
      message: `Cannot modify the DB instance to class ${cls} in ${inst.az}: insufficient capacity.`,
      $metadata: meta(),
    });
  }
  if (bool(input.ApplyImmediately) === true) {
    // aws-facts.md, RDS storage: "ApplyImmediately=true also applies every modification already pending".
    const changes = { ...inst.pending, ...requested };
    inst.pending = {};
    if (Object.keys(changes).length === 0) throw combination('No modifications were requested');
    applyModifications(sim, inst, changes);
  } else {
    // aws-facts.md, RDS storage: "ApplyImmediately defaults to false: then the change waits for the
    // maintenance window and shows in PendingModifiedValues."
    inst.pending = { ...inst.pending, ...requested };
  }
  return { DBInstance: describeInstance(sim, inst) };
}

function describeDBInstances(sim: SimAccount, input: Input): object {
  const id = str(input.DBInstanceIdentifier);
  let list: RdsInstance[];
  if (id) {
    const inst = sim.rds.instances.get(id);
    if (!inst) throw notFound(id);
    list = [inst];
  } else {
    list = [...sim.rds.instances.values()];
    for (const f of arr(input.Filters).map(rec)) {
      const values = arr(f.Values).map(String);
      if (f.Name === 'db-cluster-id')
        list = list.filter((i) => i.clusterId !== undefined && values.includes(i.clusterId));
      if (f.Name === 'db-instance-id')
        list = list.filter((i) => values.includes(i.id) || values.includes(i.arn));
      if (f.Name === 'engine') list = list.filter((i) => values.includes(i.engine));
    }
  }
  const size = pageSize(input.MaxRecords);
  const offset = decodeToken(str(input.Marker), 'rds:DescribeDBInstances');
  if (offset === undefined)
    throw serviceError(RDSServiceException, 'InvalidParameterValue', 'Invalid Marker');
  const p = page(list, offset, size, 'rds:DescribeDBInstances');
  return { DBInstances: p.items.map((i) => describeInstance(sim, i)), Marker: p.next };
}

function describeDBClusters(sim: SimAccount, input: Input): object {
  const id = str(input.DBClusterIdentifier);
  let list: AuroraCluster[];
  if (id) {
    const c = sim.rds.clusters.get(id);
    // RDS API reference, DescribeDBClusters errors: DBClusterNotFoundFault.
    if (!c) throw new DBClusterNotFoundFault({ message: `DBCluster ${id} not found.`, $metadata: meta() });
    list = [c];
  } else {
    list = [...sim.rds.clusters.values()];
  }
  const size = pageSize(input.MaxRecords);
  const offset = decodeToken(str(input.Marker), 'rds:DescribeDBClusters');
  if (offset === undefined)
    throw serviceError(RDSServiceException, 'InvalidParameterValue', 'Invalid Marker');
  const p = page(list, offset, size, 'rds:DescribeDBClusters');
  return { DBClusters: p.items.map((c) => describeCluster(sim, c)), Marker: p.next };
}

function describeValidDBInstanceModifications(sim: SimAccount, input: Input): object {
  const inst = mustGet(sim, str(input.DBInstanceIdentifier));
  const size = inst.allocatedStorage;
  const grow = minGrowth(size);
  const storage = (['gp2', 'gp3', 'io1', 'io2'] as const).map((type) => {
    const range = validIops(type, size, inst.engine);
    return {
      StorageType: type,
      StorageSize: [
        { From: size, To: size, Step: 1 },
        { From: grow, To: 65_536, Step: 1 },
      ],
      ProvisionedIops: range
        ? [{ From: range.min, To: Math.min(range.max, Math.floor(size * range.maxRatio)), Step: 1 }]
        : [],
      IopsToStorageRatio: range ? [{ From: range.minRatio, To: range.maxRatio }] : [],
      StorageThroughputToIopsRatio:
        type === 'gp3' && size >= gp3StripeGiB(inst.engine) ? [{ From: 0, To: 0.25 }] : [],
      ProvisionedStorageThroughput:
        type === 'gp3' && size >= gp3StripeGiB(inst.engine) ? [{ From: 500, To: 4000, Step: 1 }] : [],
      SupportsStorageAutoscaling: true,
    };
  });
  if (inst.storageType === 'aurora') {
    return { ValidDBInstanceModificationsMessage: { Storage: [], ValidProcessorFeatures: [] } };
  }
  return { ValidDBInstanceModificationsMessage: { Storage: storage, ValidProcessorFeatures: [] } };
}

function describeEvents(sim: SimAccount, input: Input): object {
  const now = sim.nowMs();
  const duration = num(input.Duration);
  const start =
    toMs(input.StartTime) ?? (duration !== undefined ? now - duration * MINUTE_MS : now - HOUR_MS);
  const end = toMs(input.EndTime) ?? now;
  const source = str(input.SourceIdentifier);
  const type = str(input.SourceType);
  const categories = arr(input.EventCategories).map(String);
  const list = sim.rds.events.filter(
    (e) =>
      e.Date.getTime() >= start &&
      e.Date.getTime() <= end &&
      (!source || e.SourceIdentifier === source) &&
      (!type || e.SourceType === type) &&
      (categories.length === 0 || e.EventCategories.some((c) => categories.includes(c))),
  );
  const size = pageSize(input.MaxRecords);
  const offset = decodeToken(str(input.Marker), 'rds:DescribeEvents') ?? 0;
  const p = page(list, offset, size, 'rds:DescribeEvents');
  return { Events: p.items, Marker: p.next };
}

function checkInstanceQuota(sim: SimAccount): void {
  let live = 0;
  for (const i of sim.rds.instances.values()) if (i.status !== 'deleting') live++;
  // aws-facts.md, Read replicas: "Default account quota: 40 DB instances".
  if (live >= sim.rds.quotas.dbInstances) {
    throw new InstanceQuotaExceededFault({
      message: `The request cannot be processed because it would exceed the maximum number of DB instances allowed (${sim.rds.quotas.dbInstances}).`,
      $metadata: meta(),
    });
  }
}

function checkCapacity(sim: SimAccount, cls: string): void {
  if (sim.rds.unavailableClasses.has(cls)) {
    // aws-facts.md, RDS errors: InsufficientDBInstanceCapacity; issue #9 (try the next class or AZ).
    throw new InsufficientDBInstanceCapacityFault({
      message: `Cannot create a database instance because there is not enough capacity for ${cls} in the requested Availability Zone.`,
      $metadata: meta(),
    });
  }
}

function checkNewId(sim: SimAccount, id: string | undefined): string {
  if (!id)
    throw serviceError(RDSServiceException, 'InvalidParameterValue', 'DBInstanceIdentifier is required.');
  if (sim.rds.instances.has(id)) {
    // RDS API reference, CreateDBInstance errors: DBInstanceAlreadyExists.
    throw new DBInstanceAlreadyExistsFault({ message: 'DB instance already exists', $metadata: meta() });
  }
  return id;
}

function createDBInstanceReadReplica(sim: SimAccount, input: Input): object {
  const source = mustGet(sim, str(input.SourceDBInstanceIdentifier));
  const id = checkNewId(sim, str(input.DBInstanceIdentifier));
  if (source.status !== 'available') throw notAvailable();
  // aws-facts.md, Read replicas: "Source needs backup retention > 0". Message as RDS returns it.
  if (source.backupRetentionPeriod === 0) {
    throw new InvalidDBInstanceStateFault({
      message:
        'Automated backups are not enabled for this database instance. To enable automated backups, use ModifyDBInstance to set the backup retention period to a non-zero value.',
      $metadata: meta(),
    });
  }
  // aws-facts.md, Read replicas: "up to 15 read replicas per source (5 for Oracle, SQL Server)".
  const limit = source.engine.startsWith('oracle') || source.engine.startsWith('sqlserver') ? 5 : 15;
  if (sim.rds.replicasOf(source.id).length >= limit) {
    throw new InstanceQuotaExceededFault({
      message: `Cannot create more than ${limit} read replicas for the source DB instance ${source.id}.`,
      $metadata: meta(),
    });
  }
  checkInstanceQuota(sim);
  const cls = str(input.DBInstanceClass) ?? source.instanceClass;
  checkCapacity(sim, cls);
  const inst = sim.rds.addInstance({
    id,
    engine: source.engine,
    engineVersion: source.engineVersion,
    instanceClass: cls,
    storageType: source.storageType,
    allocatedStorage: source.allocatedStorage,
    iops: source.iops,
    storageThroughput: source.storageThroughput,
    // Never kinder than AWS: storage autoscaling only when asked for (the API names no default).
    maxAllocatedStorage: num(input.MaxAllocatedStorage),
    replicaSourceId: source.id,
    backupRetentionPeriod: 0,
    tags: Object.fromEntries(readTags(input.Tags)),
    status: 'creating',
    createdAt: sim.nowMs(),
    workload: sim.rds.newReplicaWorkload(source),
    // Same Region: parameter group and encryption are inherited; the rest falls back to RDS's
    // defaults unless given (the security group to the VPC's default group).
    settings: settingsFromInput(input, {
      ...defaultSettings(source.engine, source.engineVersion),
      parameterGroup: source.settings.parameterGroup,
      storageEncrypted: source.settings.storageEncrypted,
    }),
  });
  const d = sim.rds.durations;
  inst.availableAt = sim.nowMs() + d.replicaCreateMs + d.replicaCreatePerGiBMs * source.allocatedStorage;
  sim.rds.event(inst, 'DB instance created as a read replica', ['creation']);
  sim.at(inst.availableAt, () => {
    if (inst.status === 'creating') inst.status = 'available';
    sim.rds.event(inst, 'DB instance available', ['availability']);
  });
  return { DBInstance: describeInstance(sim, inst) };
}

function createDBInstance(sim: SimAccount, input: Input): object {
  const id = checkNewId(sim, str(input.DBInstanceIdentifier));
  const clusterId = str(input.DBClusterIdentifier);
  const cls = str(input.DBInstanceClass);
  if (!cls) throw serviceError(RDSServiceException, 'InvalidParameterValue', 'DBInstanceClass is required.');
  if (!clusterId) {
    checkInstanceQuota(sim);
    checkCapacity(sim, cls);
    const inst = sim.rds.addInstance({
      id,
      engine: (str(input.Engine) ?? 'postgres') as RdsEngine,
      instanceClass: cls,
      storageType: (str(input.StorageType) ?? 'gp3') as StorageType,
      allocatedStorage: num(input.AllocatedStorage) ?? 20,
      iops: num(input.Iops),
      backupRetentionPeriod: num(input.BackupRetentionPeriod) ?? 1,
      tags: Object.fromEntries(readTags(input.Tags)),
      status: 'creating',
      createdAt: sim.nowMs(),
    });
    inst.availableAt = sim.nowMs() + sim.rds.durations.replicaCreateMs;
    sim.at(inst.availableAt, () => {
      if (inst.status === 'creating') inst.status = 'available';
    });
    return { DBInstance: describeInstance(sim, inst) };
  }
  const cluster = sim.rds.clusters.get(clusterId);
  if (!cluster)
    throw new DBClusterNotFoundFault({ message: `DBCluster ${clusterId} not found.`, $metadata: meta() });
  if (cluster.status !== 'available') {
    // RDS API reference, CreateDBInstance errors: InvalidDBClusterStateFault.
    throw new InvalidDBClusterStateFault({
      message: `DBCluster ${clusterId} is not in available state.`,
      $metadata: meta(),
    });
  }
  const readers = cluster.members.map((m) => sim.rds.instances.get(m)).filter((m) => m && !m.isWriter).length;
  // aws-facts.md, Read replicas: Aurora "up to 15" replicas per cluster.
  if (readers >= 15) {
    throw new InstanceQuotaExceededFault({
      message: `Cannot create more than 15 Aurora Replicas in DB cluster ${clusterId}.`,
      $metadata: meta(),
    });
  }
  checkInstanceQuota(sim);
  checkCapacity(sim, cls);
  const writer = cluster.members.map((m) => sim.rds.instances.get(m)).find((m) => m?.isWriter);
  const inst = sim.rds.addInstance({
    id,
    engine: cluster.engine,
    engineVersion: cluster.engineVersion,
    instanceClass: cls,
    clusterId,
    promotionTier: num(input.PromotionTier) ?? 1,
    tags: Object.fromEntries(readTags(input.Tags)),
    status: 'creating',
    createdAt: sim.nowMs(),
    workload: { cpu: constant(writer ? 5 : 10), connections: constant(2), iops: constant(50) },
    settings: settingsFromInput(input, {
      ...defaultSettings(cluster.engine, cluster.engineVersion),
      storageEncrypted: writer?.settings.storageEncrypted ?? false,
    }),
  });
  inst.availableAt = sim.nowMs() + sim.rds.durations.auroraReaderCreateMs;
  sim.rds.event(inst, 'DB instance created', ['creation']);
  sim.at(inst.availableAt, () => {
    if (inst.status === 'creating') inst.status = 'available';
    sim.rds.event(inst, 'DB instance available', ['availability']);
  });
  return { DBInstance: describeInstance(sim, inst) };
}

function deleteDBInstance(sim: SimAccount, input: Input): object {
  const inst = mustGet(sim, str(input.DBInstanceIdentifier));
  if (inst.status === 'deleting') {
    throw new InvalidDBInstanceStateFault({
      message: `Instance ${inst.id} is already being deleted.`,
      $metadata: meta(),
    });
  }
  if (!inst.clusterId) {
    const skip = bool(input.SkipFinalSnapshot) === true;
    const snapshot = str(input.FinalDBSnapshotIdentifier);
    // aws-facts.md, Read replicas: delete with SkipFinalSnapshot: true; "a final snapshot id is
    // rejected for replicas". Messages as RDS returns them.
    if (inst.replicaSourceId && snapshot) {
      throw combination('FinalDBSnapshotIdentifier can not be specified when deleting a replica instance');
    }
    if (!skip && !snapshot)
      throw combination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
  }
  inst.status = 'deleting';
  sim.rds.event(inst, 'DB instance deleting', ['deletion']);
  const out = { DBInstance: describeInstance(sim, inst) };
  sim.after(sim.rds.durations.deleteMs, () => {
    inst.deletedAt = sim.nowMs();
    sim.rds.instances.delete(inst.id);
    sim.rds.deleted.set(inst.id, inst);
    sim.rds.event(inst, 'DB instance deleted', ['deletion']);
    // RDS User Guide, USER_ReadRepl: deleting a source without deleting its read replicas in the
    // same Region promotes each of them to a standalone DB instance (tags and name kept).
    for (const replica of sim.rds.replicasOf(inst.id)) {
      replica.replicaSourceId = undefined;
      sim.rds.event(replica, 'Read replica has been promoted: its source was deleted', ['read replica']);
    }
  });
  return out;
}

function findTagged(sim: SimAccount, arn: string | undefined): { tags: Map<string, string> } {
  for (const i of sim.rds.instances.values()) if (i.arn === arn) return i;
  for (const c of sim.rds.clusters.values()) if (c.arn === arn) return c;
  const proxy = proxyByArn(sim, arn);
  if (proxy) return proxy;
  throw notFound(arn?.split(':').pop() ?? '');
}

function describeAccountAttributes(sim: SimAccount): object {
  let used = 0;
  let storage = 0;
  for (const i of sim.rds.instances.values()) {
    used++;
    storage += i.storageType === 'aurora' ? 0 : i.allocatedStorage;
  }
  // RDS API reference, DescribeAccountAttributes: AccountQuotas with Used and Max per quota name.
  return {
    AccountQuotas: [
      { AccountQuotaName: 'DBInstances', Used: used, Max: sim.rds.quotas.dbInstances },
      { AccountQuotaName: 'AllocatedStorage', Used: storage, Max: sim.rds.quotas.allocatedStorageGiB },
      { AccountQuotaName: 'DBClusters', Used: sim.rds.clusters.size, Max: 40 },
    ],
  };
}

registerOperations('rds', {
  DescribeAccountAttributes: describeAccountAttributes,
  DescribeDBInstances: describeDBInstances,
  DescribeDBClusters: describeDBClusters,
  ModifyDBInstance: modifyDBInstance,
  DescribeValidDBInstanceModifications: describeValidDBInstanceModifications,
  DescribeEvents: describeEvents,
  CreateDBInstanceReadReplica: createDBInstanceReadReplica,
  CreateDBInstance: createDBInstance,
  DeleteDBInstance: deleteDBInstance,
  ListTagsForResource: (sim, input) => ({ TagList: tagList(findTagged(sim, str(input.ResourceName)).tags) }),
  AddTagsToResource: (sim, input) => {
    const r = findTagged(sim, str(input.ResourceName));
    for (const [k, v] of readTags(input.Tags)) r.tags.set(k, v);
    return {};
  },
  RemoveTagsFromResource: (sim, input) => {
    const r = findTagged(sim, str(input.ResourceName));
    for (const k of arr(input.TagKeys)) r.tags.delete(String(k));
    return {};
  },
});

registerMetricResolver('AWS/RDS', (sim, metric, dims) => {
  const id = dims.DBInstanceIdentifier;
  if (id !== undefined) {
    const inst = sim.rds.get(id);
    return inst ? seriesSource(sim, inst.series, metric) : undefined;
  }
  const clusterId = dims.DBClusterIdentifier;
  const cluster = clusterId ? sim.rds.clusters.get(clusterId) : undefined;
  if (!cluster) return undefined;
  const role = dims.Role;
  // Cluster-level metrics (DBClusterIdentifier, Role=READER|WRITER): the average over the members
  // with that role that have a datapoint in the minute.
  return (minute) => {
    const points = cluster.members
      .map((m) => sim.rds.get(m))
      .filter(
        (m): m is RdsInstance =>
          m !== undefined && (role === undefined || (role === 'WRITER') === m.isWriter),
      )
      .map((m) => seriesSource(sim, m.series, metric)(minute))
      .filter((p) => p !== undefined);
    if (points.length === 0) return undefined;
    return { value: points.reduce((a, p) => a + p.value, 0) / points.length, count: 1 };
  };
});
