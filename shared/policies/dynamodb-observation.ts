/**
 * What the DynamoDB capacity policy reads: DescribeTable, DescribeLimits, Application Auto
 * Scaling and the CloudWatch series AWS publishes for a table and its GSIs (no demand, no
 * unserved units: those are estimated in dynamodb-demand.ts), plus the small naming helpers every
 * step shares. Pure types and functions.
 */
import type { Evidence } from '../core/model.ts';
import type { DecreaseLedger } from './dynamodb-decrease-budget.ts';

export type CapacityDim = 'read' | 'write';
export type TableClass = 'STANDARD' | 'STANDARD_INFREQUENT_ACCESS';
export const DIMS: readonly CapacityDim[] = ['read', 'write'];

export interface CapacityPair {
  read: number;
  write: number;
}

/** Per-period counters for one dimension of a table or GSI, oldest first, the last ending at observedAt. */
export interface DimensionMetrics {
  periodSeconds: number;
  /** Sum of Consumed{Read,Write}CapacityUnits per period (missing datapoint = 0: a counter). */
  consumedUnits: number[];
  /** SampleCount of SuccessfulRequestLatency for this dimension's operations per period (optional). */
  successfulRequests?: number[];
  /** {Read,Write}ProvisionedThroughputThrottleEvents (table or GSI capacity), Sum per period. */
  provisionedThrottleEvents: number[];
  /** {Read,Write}KeyRangeThroughputThrottleEvents (partition limit), Sum per period. */
  keyRangeThrottleEvents: number[];
  /** {Read,Write}AccountLimitThrottleEvents, Sum per period. */
  accountLimitThrottleEvents: number[];
}

export interface ScalableTargetObservation {
  /** Application Auto Scaling ResourceId: table/<name> or table/<name>/index/<gsi>. */
  resourceId: string;
  scalableDimension: string;
  minCapacity: number;
  maxCapacity: number;
  policyName?: string;
  /** Target tracking TargetValue (percent). */
  targetValue?: number;
  disableScaleIn?: boolean;
  /** The whole target tracking policy as DescribeScalingPolicies returns it (to restore it exactly). */
  policy?: TrackingPolicy;
}

/**
 * A target tracking scaling policy, whole: PutScalingPolicy replaces all of it, so what a person
 * set (cooldowns, metric) is kept and restored exactly (aws-facts.md, "Learned from review").
 */
export interface TrackingPolicy {
  policyName: string;
  targetValue: number;
  disableScaleIn?: boolean;
  scaleInCooldown?: number;
  scaleOutCooldown?: number;
  /** PredefinedMetricSpecification.PredefinedMetricType, when predefined. */
  predefinedMetricType?: string;
  /** PredefinedMetricSpecification.ResourceLabel, if any. */
  resourceLabel?: string;
  /** CustomizedMetricSpecification as returned, when the policy uses one. */
  customizedMetric?: Record<string, unknown>;
}

export interface CapacityResourceObservation {
  /** null = the table itself, otherwise the GSI name. */
  indexName: string | null;
  /**
   * IndexStatus for a GSI, TableStatus for the table; a GSI that is CREATING and Backfilling is
   * `BACKFILLING` (BACKFILLING_STATUS): UpdateTable is accepted for the table and the other indexes
   * then, and the index itself is left alone (its write capacity feeds the backfill).
   */
  status: string;
  provisioned: CapacityPair;
  decreases: DecreaseLedger;
  /** DescribeTable LastIncreaseDateTime. */
  lastIncreaseAt?: string;
  metrics: Record<CapacityDim, DimensionMetrics>;
  /** Application Auto Scaling targets on this resource, when there are any. */
  scalableTargets?: Partial<Record<CapacityDim, ScalableTargetObservation>>;
}

export interface TableObservation {
  tableName: string;
  arn?: string;
  observedAt: string;
  billingMode: 'PROVISIONED' | 'PAY_PER_REQUEST';
  /** DescribeTable TableClassSummary.TableClass (default STANDARD): Standard-IA has its own prices. */
  tableClass?: TableClass;
  /**
   * Regions of the other replicas when this is a global table (DescribeTable `Replicas`). A
   * global table is never tuned from one Region's metrics (aws-facts.md): recommend only.
   */
  replicaRegions?: string[];
  table: CapacityResourceObservation;
  indexes: CapacityResourceObservation[];
  limits: {
    /** DescribeLimits TableMax{Read,Write}CapacityUnits (GSIs included). */
    tableMax: CapacityPair;
    /** DescribeLimits AccountMax{Read,Write}CapacityUnits. */
    accountMax: CapacityPair;
    /** Provisioned capacity of the whole account now (all tables and GSIs, this one included). */
    accountProvisioned: CapacityPair;
  };
}

/** A capacity floor from pre-warming or the alarm fast path, with why. */
export interface CapacityFloor {
  indexName: string | null;
  dim: CapacityDim;
  units: number;
  reason: string;
  evidence: Evidence[];
  /** Structured detail for reports (a pre-warm: period, past peak times and values). */
  detail?: Record<string, unknown>;
}

/** One resource's new capacity inside a set-capacity action (both dims, as UpdateTable needs). */
export interface CapacityUpdate {
  indexName: string | null;
  read: number;
  write: number;
  /**
   * A decrease: when it was planned (the observation's time). The adapter refuses it when
   * anyone raised the resource after that (DescribeTable LastIncreaseDateTime): no stale decrease.
   * Absent when the same plan raises the resource first (the decrease starts from that raise).
   */
  plannedAt?: string;
}

export interface CapacityParams extends Record<string, unknown> {
  tableName: string;
  direction: 'increase' | 'decrease';
  updates: CapacityUpdate[];
}

export interface DimensionAssessment {
  indexName: string | null;
  dim: CapacityDim;
  provisioned: number;
  /** Capacity units per second, peak of the recent window. */
  consumedRate: number;
  unservedRate: number;
  demandRate: number;
  /** Peak demand over the stabilization window (scale-down). */
  stableDemandRate: number;
  /** Peak demand of the newest 2 periods (where a falling demand settled). */
  settledDemandRate: number;
  unitsPerRequest: number;
  provisionedThrottles: number;
  keyRangeThrottles: number;
  accountLimitThrottles: number;
  unservedCapped: boolean;
  /** Proposed capacity before table/account limits. */
  desired: number;
  direction: 'up' | 'down' | 'hold';
  why: string;
}

export function resourceKey(indexName: string | null): string {
  return indexName ?? '(table)';
}

export function resourceId(tableName: string, indexName: string | null): string {
  return indexName === null ? tableName : `${tableName}/index/${indexName}`;
}

/** The Read/Write part of a dimension's CloudWatch metric names. */
export function metricPrefix(dim: CapacityDim): 'Read' | 'Write' {
  return dim === 'read' ? 'Read' : 'Write';
}

/** The AWS/DynamoDB CloudWatch dimensions of a table or GSI. */
export function metricDimensions(tableName: string, indexName: string | null): Record<string, string> {
  return indexName ? { TableName: tableName, GlobalSecondaryIndexName: indexName } : { TableName: tableName };
}

export function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += Number.isFinite(x) ? x : 0;
  return s;
}

export function tail(xs: readonly number[], n: number): number[] {
  return n <= 0 ? [] : xs.slice(Math.max(0, xs.length - n));
}

export function periodsIn(minutes: number, periodSeconds: number): number {
  return Math.max(1, Math.ceil((minutes * 60) / periodSeconds));
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function windowOf(observedAt: string, periods: number, periodSeconds: number): Evidence['window'] {
  const end = Date.parse(observedAt);
  return {
    start: new Date(end - periods * periodSeconds * 1000).toISOString(),
    end: observedAt,
    periodSeconds,
  };
}

/** The table itself or one of its GSIs. */
export function resourceOf(
  obs: TableObservation,
  indexName: string | null,
): CapacityResourceObservation | undefined {
  return indexName === null ? obs.table : obs.indexes.find((i) => i.indexName === indexName);
}

/**
 * A GSI being built whose backfill has begun: "Once the index begins backfilling, you can use
 * UpdateTable to perform other operations" (DynamoDB API reference, UpdateTable), so it does not
 * hold the table's capacity changes back; it is not tuned itself ("If the write capacity of the
 * index is too low, incoming write activity during the backfill phase might be throttled":
 * DynamoDB metrics, OnlineIndexConsumedWriteCapacity).
 */
export const BACKFILLING_STATUS = 'BACKFILLING';

/** The status a GSI is observed with (DescribeTable IndexStatus and Backfilling). */
export function gsiStatus(index: { IndexStatus?: string; Backfilling?: boolean }): string {
  if (index.IndexStatus === 'CREATING' && index.Backfilling === true) return BACKFILLING_STATUS;
  return index.IndexStatus ?? 'ACTIVE';
}
