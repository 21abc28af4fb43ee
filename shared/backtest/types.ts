/**
 * Shared vocabulary of the backtest harness: the three kinds, their minute-level observations
 * (what a policy may see of the past), their model state (what DescribeTable /
 * DescribeDBInstances would tell it now), the change requests a policy returns, and results.
 */

export type Kind = 'dynamodb' | 'iops' | 'replicas';
export const KINDS = ['dynamodb', 'iops', 'replicas'] as const satisfies readonly Kind[];

/**
 * Every policy a report can hold, in the order of tables and charts. `aws-on-demand` exists for
 * dynamodb only (omitted from other kinds' reports); `static-peak` is the peak with the target's
 * headroom, `static-exact` the bare peak.
 */
export const POLICY_NAMES = [
  'db-autopilot',
  'aws-target-tracking',
  'aws-on-demand',
  'static-peak',
  'static-exact',
  'oracle',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

// ---------------------------------------------------------------- traces

export interface DynamodbTrace {
  kind: 'dynamodb';
  /** Demand in capacity units per second, one value per minute. */
  read: number[];
  write: number[];
  source: string;
}
export interface IopsTrace {
  kind: 'iops';
  /** Demand in IO operations per second (ReadIOPS + WriteIOPS the workload wants), per minute. */
  iops: number[];
  source: string;
}
export interface ReplicasTrace {
  kind: 'replicas';
  /** Total reader CPU demand in percent of one reader (250 = two and a half readers busy). */
  cpu: number[];
  source: string;
}
export type Trace = DynamodbTrace | IopsTrace | ReplicasTrace;
export type TraceOf<K extends Kind> = Extract<Trace, { kind: K }>;

export function traceLength(trace: Trace): number {
  switch (trace.kind) {
    case 'dynamodb':
      return trace.read.length;
    case 'iops':
      return trace.iops.length;
    case 'replicas':
      return trace.cpu.length;
  }
}

// ---------------------------------------------------------------- observations (walk-forward history rows)

export interface DynamodbDimensionObservation {
  /** Provisioned{Read,Write}CapacityUnits in effect during the minute (0 in on-demand mode). */
  provisioned: number;
  /** Consumed{Read,Write}CapacityUnits Sum / 60: units per second served (what CloudWatch's Sum / 60 shows). */
  consumed: number;
  /** SuccessfulRequestLatency SampleCount over this dimension's operations (= Consumed* SampleCount). */
  successfulRequests: number;
  /** {Read,Write}ProvisionedThroughputThrottleEvents Sum: per request and per batch item, retries included. */
  provisionedThrottleEvents: number;
  /** {Read,Write}KeyRangeThroughputThrottleEvents Sum (partition limit). */
  keyRangeThrottleEvents: number;
  /** {Read,Write}AccountLimitThrottleEvents Sum. */
  accountLimitThrottleEvents: number;
}
/**
 * One minute of a table as CloudWatch publishes it: nothing hidden (no demand, no unserved
 * units). Throttling shows only as events and requests (models/dynamodb-workload.ts).
 */
export interface DynamodbObservation {
  minute: number;
  /** ISO time of the start of the minute. */
  at: string;
  mode: 'provisioned' | 'on-demand';
  read: DynamodbDimensionObservation;
  write: DynamodbDimensionObservation;
  /** ThrottledRequests Sum: requests with any throttled item (a batch counts once). */
  throttledRequests: number;
}
/**
 * One minute of an RDS instance as CloudWatch publishes it (AWS/RDS, 60 s): nothing else. Demand
 * and the unserved part are hidden truth the model keeps to score (test/unit/iops/honest-world.test.ts
 * checks that no field of this type carries them).
 */
export interface IopsObservation {
  minute: number;
  at: string;
  /** DescribeDBInstances `Iops` in effect during the minute. */
  provisionedIops: number;
  /** ReadIOPS / WriteIOPS (Average, Count/Second): what was served. */
  readIops: number;
  writeIops: number;
  /** ReadLatency / WriteLatency (Average, Seconds). */
  readLatency: number;
  writeLatency: number;
  /** DiskQueueDepth (Average, Count). */
  diskQueueDepth: number;
  /** FreeStorageSpace (Average, Bytes). */
  freeStorageSpace: number;
  /** EBSIOBalance% (Minimum), only for instance classes with a burst balance. */
  ebsIoBalance?: number;
  status: 'available' | 'modifying' | 'storage-optimization';
}
export interface ReplicasObservation {
  minute: number;
  at: string;
  /** Readers able to serve during the minute (DescribeDBInstances: available). */
  readers: number;
  /** Readers requested but still being created (DescribeDBInstances: creating). */
  pendingReaders: number;
  /** CPUUtilization averaged over the available readers (Role=READER, 0-100, capped). */
  avgReaderCpu: number;
  /**
   * DBLoadCPU averaged over the available readers: sessions running or waiting on CPU,
   * published only where Performance Insights is on (null when off or no reader).
   */
  dbLoadCpu: number | null;
}
export type ObservationOf<K extends Kind> = K extends 'dynamodb'
  ? DynamodbObservation
  : K extends 'iops'
    ? IopsObservation
    : ReplicasObservation;

// ---------------------------------------------------------------- model state (what Describe* shows now)

export interface DynamodbState {
  mode: 'provisioned' | 'on-demand';
  read: number;
  write: number;
  /** The table is UPDATING until this minute (exclusive); no UpdateTable is accepted before. */
  updatingUntil: number;
  /** A change requested but not in effect yet. */
  pending?: { at: number; mode: 'provisioned' | 'on-demand'; read: number; write: number };
  /** Decreases in the current UTC day (DescribeTable's NumberOfDecreasesToday). */
  decreasesToday: number;
  lastDecreaseMinute?: number;
  lastIncreaseMinute?: number;
  /** Minutes of the switches to on-demand (rolling 24 h limit). */
  onDemandSwitches: number[];
}
export interface IopsState {
  iops: number;
  status: 'available' | 'modifying' | 'storage-optimization';
  pending?: { at: number; iops: number };
  /** No storage change is accepted before this minute (scoring and baselines only: RDS does not say it). */
  lockedUntil: number;
  changeMinutes: number[];
  /** StorageOperationPercentProgress while optimizing. */
  percentProgress?: number;
  /** Minute the running storage-optimization started ("Storage optimization started" event). */
  optimizingSince?: number;
  /** Optimizations that have ended, as their start and "completed" events show them. */
  completedOptimizations: Array<{ start: number; end: number }>;
  allocatedGiB: number;
  instanceClass?: string;
}
export interface ReplicasState {
  /** Readers available now. */
  readers: number;
  /** Minutes at which the readers being created become available. */
  pendingReadyAt: number[];
}
export type StateOf<K extends Kind> = K extends 'dynamodb'
  ? DynamodbState
  : K extends 'iops'
    ? IopsState
    : ReplicasState;

// ---------------------------------------------------------------- change requests

/** One UpdateTable: new read/write capacity and/or a mode switch. */
export interface DynamodbRequest {
  mode?: 'provisioned' | 'on-demand';
  read?: number;
  write?: number;
}
/** One ModifyDBInstance with a new Iops value. */
export interface IopsRequest {
  iops: number;
}
/** The reader count wanted (creations and deletions follow from it). */
export interface ReplicasRequest {
  readers: number;
}
export type RequestOf<K extends Kind> = K extends 'dynamodb'
  ? DynamodbRequest
  : K extends 'iops'
    ? IopsRequest
    : ReplicasRequest;

/** What the change-rules model answers, in the shape of an adapter's ActResult. */
export type ChangeResult =
  | { status: 'applied'; effectiveAt: number }
  | { status: 'deferred'; until: number; reason: string }
  | { status: 'skipped'; reason: string };

// ---------------------------------------------------------------- results

export interface PolicyMetrics {
  available: true;
  /** Demand not served, in percent of all demand. */
  unservedPct: number;
  /** Minutes with throttling (dynamodb), demand above provisioned IOPS (iops), readers over threshold (replicas). */
  saturationMinutes: number;
  /** USD over the whole trace. */
  cost: number;
  /** Changes accepted by the model (UpdateTable calls, IOPS modifications, reader-count changes). */
  changes: number;
  /** Requests the change rules refused or deferred. */
  refused: number;
  detail: Record<string, number>;
}
export interface PolicyUnavailable {
  available: false;
  reason: string;
}
export type PolicyResult = PolicyMetrics | PolicyUnavailable;

/** Capacity per minute for charts: one or two named series. */
export type CapacitySeries = Record<string, number[]>;

export interface PolicyRun {
  result: PolicyResult;
  capacity?: CapacitySeries;
}

export interface BacktestReport {
  kind: Kind;
  trace: string;
  minutes: number;
  policies: Partial<Record<PolicyName, PolicyResult>>;
  /** Demand and capacity series for the chart (not printed with --json). */
  series: { demand: CapacitySeries; capacity: Partial<Record<PolicyName, CapacitySeries>> };
}
