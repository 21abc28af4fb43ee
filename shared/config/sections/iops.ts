import { z } from 'zod';
import { tunerBase } from '../common.ts';

/**
 * Provisioned IOPS tuner (issue 8). Every threshold the policy (shared/policies/iops.ts) uses
 * lives here with its default; the AWS rules themselves are in shared/aws/rds-storage-limits.ts.
 */
export const iopsSection = z
  .object({
    ...tunerBase,
    /** Raise so that peak demand sits at this fraction of the provisioned IOPS. */
    targetUtilization: z.number().gt(0).max(1).default(0.7),
    /**
     * Utilization for a peak history already showed for the coming lock-out (the same hours a day
     * earlier, the stabilization window): it is known, so less headroom than for a surprise.
     */
    forecastUtilization: z.number().gt(0).max(1).default(0.85),
    /** Raise only when the needed IOPS exceed the current by more than this fraction (HPA-style band). */
    tolerance: z.number().min(0).max(1).default(0.1),
    /** Lower only when the needed IOPS are below the current by more than this fraction. */
    scaleDownTolerance: z.number().min(0).max(0.9).default(0.25),
    /** Lower only when it saves at least this much per month (a change locks storage for >= 6 h). */
    minMonthlySavingUsd: z.number().min(0).default(5),
    minIops: z.number().int().min(100).default(1000),
    maxIops: z.number().int().min(100).max(256_000).default(64_000),
    /** Ceiling on the instance's monthly storage + IOPS (+ gp3 throughput) bill, in USD. */
    monthlyCostCeilingUsd: z.number().min(0).optional(),
    /** Window of the raise decision (the recent peak), read at 60 s. */
    lookbackMinutes: z
      .number()
      .int()
      .min(5)
      .max(60 * 24 * 14)
      .default(60),
    /** Lower only after this long a stretch of low use (its peak is the floor). */
    scaleDownStabilizationMinutes: z
      .number()
      .int()
      .min(0)
      .max(60 * 24 * 14)
      .default(180),
    /**
     * A storage change locks further changes for 6 h or longer (aws-facts.md): never go below the
     * peak forecast for this long (same hours a day earlier, and the recent peak). Minimum 6 h.
     */
    lockoutForecastHours: z.number().min(6).max(72).default(6),
    /**
     * How long a storage-optimization is taken to last before db-autopilot has seen one on this
     * instance (RDS events, StorageOperationPercentProgress): it then plans with what it saw.
     * AWS: usually hours, sometimes more than 24 h (aws-facts.md, RDS storage): until it knows,
     * db-autopilot plans for a day.
     */
    assumedOptimizationHours: z.number().min(0).max(96).default(24),
    /**
     * A lowering is optional and locks storage like any change: while locked, a surge cannot be
     * answered. No lowering while this instance's expected lock-out (learned, or assumed before an
     * optimization was seen) is longer than this many hours; it is reported instead.
     */
    maxLoweringLockoutHours: z.number().min(6).max(96).default(12),
    /** Utilization at which the storage is considered saturated (served IOPS hit the ceiling). */
    saturationUtilization: z.number().gt(0).max(1).default(0.95),
    /** Largest single raise, as a factor of the current IOPS, when demand hides behind saturation. */
    maxRaiseFactor: z.number().min(1).max(20).default(10),
    /**
     * Unsaturated Read/WriteLatency (ms), an upper bound: the policy uses the history's 10th
     * percentile when lower (SSD-backed EBS: 1-2 ms; aws-facts.md: expect < 10 ms).
     */
    normalLatencyMs: z.number().gt(0).default(2),
    /** gp2: BurstBalance below this (percent) is draining (aws-facts.md: alarm < 20%). */
    burstBalanceLowPercent: z.number().min(0).max(100).default(20),
    /** EBSIOBalance% below this means the instance class, not the storage, is the limit. */
    ebsBalanceLowPercent: z.number().min(0).max(100).default(20),
    /**
     * IOPS above the instance class's sustained EBS baseline only while EBSIOBalance% stays at or
     * above this over the window (burst with balance to spare); otherwise the baseline caps them.
     */
    ebsBalanceSparePercent: z.number().min(0).max(100).default(90),
    /**
     * Storage safety: below this much free space (percent of allocated) no storage change is made,
     * so storage autoscaling (at 10% free) or a person can grow the disk without waiting behind it;
     * a lowering needs twice this.
     */
    freeStorageLowPercent: z.number().min(0).max(100).default(15),
    /** Demand at this fraction of the class's EBS maximum means the class is the limit. */
    classLimitUtilization: z.number().gt(0).max(1).default(0.95),
    /** Alarm fast path: DiskQueueDepth above this (aws-facts.md: alarm > 64). */
    diskQueueDepthAlarm: z.number().gt(0).default(64),
    /** Alarm fast path: Read/WriteLatency above this, in seconds (aws-facts.md: expect < 10 ms). */
    latencyAlarmSeconds: z.number().gt(0).default(0.02),
    allowStorageGrowthForIops: z.boolean().default(false),
    allowStorageTypeChange: z.boolean().default(false),
  })
  .strict();

export type IopsSection = z.infer<typeof iopsSection>;
