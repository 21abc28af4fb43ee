/**
 * What the replicas policy reads and decides with: the observation of one source (an Aurora
 * cluster or a plain RDS primary) as DescribeDBInstances, DescribeDBClusters, Route 53
 * ListResourceRecordSets, Application Auto Scaling DescribeScalableTargets and CloudWatch
 * GetMetricData show it, and the settings from the config section. Only series AWS publishes:
 * no demand, no unserved work.
 */
import type { PriceTable } from '../pricing.ts';

export type SourceFamily = 'aurora' | 'rds';

export interface ReaderObservation {
  id: string;
  /** DBInstanceStatus: available, creating, deleting, failed, storage-full, incompatible-*, ... */
  status: string;
  instanceClass: string;
  availabilityZone?: string;
  /** Mean CPUUtilization (%, at most 100) over the window; null = no datapoints. */
  cpuPercent: number | null;
  /**
   * Mean DBLoadCPU over the window: average active sessions running or waiting on CPU, published
   * to CloudWatch only where Performance Insights is on. Above the class's vCPUs it says how far
   * the readers are beyond saturation (the run queue). Omitted or null: not published.
   */
  dbLoadCpu?: number | null;
  /** vCPUs of the instance class (to read DBLoadCPU as a percentage); omitted = unknown. */
  vcpus?: number;
  /** Mean DatabaseConnections over the window; null = no datapoints. */
  connections: number | null;
  /** Highest DatabaseConnections over the window (drain check); null = unknown. */
  maxConnections: number | null;
  /**
   * Highest replication lag over the window in seconds: plain RDS `ReplicaLag` (s), Aurora
   * `AuroraReplicaLag` (ms) / 1000; -1 = replication not running; null = unknown.
   */
  replicaLagSeconds: number | null;
  /** The ownership tag (config.tags.createdBy) is on the instance. */
  ownershipTag: boolean;
  /** The state store recorded that db-autopilot created this id. */
  recordedCreated: boolean;
  /** Plain RDS: a weighted record routes reads to it. Aurora readers are always behind the reader endpoint. */
  routed: boolean;
  /** Endpoint address, for the routing record. */
  endpoint?: string;
  /** InstanceCreateTime (ISO): how long a `creating` replica has been at it. */
  createdAt?: string;
  /**
   * Settings of the replica that do not match its source / cluster (security groups, monitoring,
   * Performance Insights, CA certificate, ...): empty = verified; omitted = not checked.
   */
  mismatches?: string[];
}

/** One weighted record of the read record set (plain RDS routing). */
export interface RouteRecord {
  setIdentifier: string;
  /** The CNAME's value (an instance endpoint). */
  value: string;
  weight: number;
  healthCheckId?: string;
}

export interface SourceStorage {
  type: string;
  allocatedGiB: number;
  iops?: number;
  throughputMiBps?: number;
}

export interface ReplicaObservation {
  family: SourceFamily;
  source: {
    /** Aurora cluster id, or the plain RDS source DB instance id. */
    id: string;
    arn?: string;
    status: string;
    engine: string;
    backupRetentionPeriod: number;
    /** The writer's class, used for new readers when no class is configured or seen. */
    instanceClass?: string;
    /** Writer CPU, used only when there is no reader to measure. */
    cpuPercent?: number | null;
    /** Plain RDS: the source's endpoint (the fallback record's value). */
    endpoint?: string;
    /** Plain RDS: the storage every read replica copies (and is billed for). */
    storage?: SourceStorage;
  };
  readers: ReaderObservation[];
  account: { instancesUsed: number; instanceQuota: number };
  window: { start: string; end: string; periodSeconds: number };
  /** Plain RDS with routing: the weighted records of the read name as Route 53 lists them. */
  routes?: RouteRecord[];
  /** Aurora Auto Scaling registered on the cluster (DescribeScalableTargets, rds:cluster:ReadReplicaCount). */
  autoScaling?: { resourceId: string; minCapacity: number; maxCapacity: number };
}

export interface ScheduleEntry {
  days: Array<'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'>;
  start: string;
  end: string;
  readers: number;
}

export interface ReplicaRoutingSettings {
  hostedZoneId: string;
  recordName: string;
  ttlSeconds: number;
  weight: number;
  /** The record that keeps the name resolving: the source's endpoint, never removed. */
  fallback: { setIdentifier: string; weight: number };
  /** Attach a Route 53 health check (CloudWatch-alarm based) to each replica's record. */
  healthChecks?: boolean;
}

export interface ReplicaPolicySettings {
  minReaders: number;
  maxReaders: number;
  targetCpuPercent: number;
  targetConnectionsPerReader?: number;
  tolerance: number;
  scaleInStabilizationMinutes: number;
  maxReplicaLagSeconds: number;
  drainConnectionThreshold: number;
  /**
   * A replica being created always counts as a reader (so its pending capacity is never added
   * twice). true: no add at all while one is being created; false (default): add only when the
   * demand needs more readers than exist, those being created included.
   */
  waitForCreatingReplicas?: boolean;
  /** A replica `creating` for longer than this is stuck: reported, not counted as capacity. */
  stuckCreatingMinutes?: number;
  instanceClasses: string[];
  availabilityZones: string[];
  /** Plain RDS: reads are routed through a Route 53 weighted record set. Ignored for Aurora. */
  routing?: ReplicaRoutingSettings;
  schedule?: ScheduleEntry[];
  prices: PriceTable;
}

export interface Recommendation {
  at: string;
  readers: number;
}

export interface ReplicaPolicyHistory {
  /** Recommendations of earlier runs (any order); older than the window are ignored. */
  recommendations: Recommendation[];
}

export interface ReplicaTunerState extends Record<string, unknown> {
  recommendations: Recommendation[];
}
