import { z } from 'zod';
import { tunerBase } from '../common.ts';

/**
 * Capacity mode advisor (issue #11). `allowSwitch: false` = recommend only.
 * AWS: provisioned -> on-demand at most 4 times in a rolling 24 h (older rule: once a day),
 * on-demand -> provisioned any time (aws-facts.md, DynamoDB provisioned capacity).
 */
export const dynamodbModeAdvisorSection = z
  .object({
    enabled: z.boolean().default(true),
    allowSwitch: z.boolean().default(false),
    /** Days of history compared (CloudWatch keeps 300 s data 63 days, 1 h data 455 days). */
    lookbackDays: z.number().int().min(1).max(14).default(14),
    periodSeconds: z.union([z.literal(300), z.literal(3600)]).default(3600),
    /** Switch/recommend only when the other mode is cheaper by at least this fraction (no flapping on noise). */
    marginFraction: z.number().min(0).max(1).default(0.15),
    /** Minimum time between two switches of the same table (either direction). */
    minHoursBetweenSwitches: z
      .number()
      .min(0)
      .max(24 * 30)
      .default(24),
    /** Our own cap on switches to on-demand in a rolling 24 h; AWS allows 4. */
    maxSwitchesToOnDemandPer24h: z.number().int().min(0).max(4).default(1),
    /** Share of the periods in the history that must have data before advising. */
    minCoverage: z.number().min(0).max(1).default(0.5),
    /** Hours of use needed before advising (a bursty new table goes on-demand early). */
    minHistoryHours: z
      .number()
      .min(1)
      .max(14 * 24)
      .default(6),
  })
  .strict();

/** Pre-warming before recurring peaks learned from history (issue #11). */
export const dynamodbPrewarmSection = z
  .object({
    enabled: z.boolean().default(true),
    /** Raise capacity this many minutes before an expected peak. */
    leadMinutes: z.number().int().min(1).max(120).default(5),
    /** Keep the pre-warm this long after the expected peak start before releasing it. */
    holdMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(5),
    /** Shortest and longest period searched for recurrence (minutes). */
    minPeriodMinutes: z.number().int().min(5).default(10),
    maxPeriodMinutes: z
      .number()
      .int()
      .min(10)
      .max(14 * 24 * 60)
      .default(7 * 24 * 60),
    /** A peak must have recurred at least this many times at the detected period. */
    minOccurrences: z.number().int().min(2).default(2),
    /** A peak is a value at least this many times the median of the history. */
    peakFactor: z.number().min(1).default(2),
    /** Minimum autocorrelation of the history at the detected period. */
    minCorrelation: z.number().min(0).max(1).default(0.3),
    /** How much history to learn from (minutes). */
    historyMinutes: z
      .number()
      .int()
      .min(60)
      .max(15 * 24 * 60)
      .default(15 * 24 * 60),
  })
  .strict();

/** Working with Application Auto Scaling on tables that have scalable targets. */
export const dynamodbAutoScalingSection = z
  .object({
    /** db-autopilot owns scale-in (DisableScaleIn on the target tracking policy) so both do not spend the same budget. */
    ownScaleIn: z.boolean().default(true),
    /** Keep the lifted minimum this long after an alarm fast-path raise before handing back. */
    liftMinutes: z.number().int().min(0).default(60),
  })
  .strict();

/** DynamoDB capacity tuner, mode advisor and pre-warming (owned by the DynamoDB issues). */
export const dynamodbSection = z
  .object({
    ...tunerBase,
    targetUtilization: z.number().min(0.2).max(0.9).default(0.7),
    minCapacity: z.number().int().min(1).default(1),
    maxCapacity: z.number().int().min(1).max(40_000).default(40_000),
    /**
     * Minutes after an increase (anyone's) before a decrease, and the window whose peak a decrease
     * must still serve. 5 (issue 18): short peaks are lowered sooner; measured on the honest
     * backtest suite, 15 held capacity after every peak for no fewer throttles.
     */
    scaleDownStabilizationMinutes: z.number().int().min(0).default(5),
    /**
     * Of the four decreases AWS allows back to back each UTC day, how many to keep for later
     * spikes, until the table's demand shape is learned (12 h of history). Once it is, the day's
     * decreases are planned against the learned peaks instead (policies/dynamodb-decrease-plan.ts).
     * 0 (issue 18): a kept reserve was rarely needed and held capacity up to an hour after peaks
     * (honest backtest suite: 2 -> 0 saves cost at equal unserved).
     */
    decreaseReserve: z.number().int().min(0).max(27).default(0),
    /** Minutes of recent metrics a scale-up looks at (the peak within them). */
    lookbackMinutes: z.number().int().min(1).max(60).default(5),
    /** Scale down only when the new capacity is this fraction below the current one. */
    scaleDownTolerance: z.number().min(0).max(0.9).default(0.2),
    /** Scale up when demand exceeds target utilization by this fraction (or anything is throttled). */
    scaleUpTolerance: z.number().min(0).max(1).default(0.05),
    /** Cap on unserved demand estimated from throttle events in one step, as a multiple of provisioned. */
    maxUnservedFactor: z.number().min(0).max(100).default(10),
    /** KeyRange throttling with table utilization below this is a hot key (a finding, not capacity). */
    hotKeyUtilization: z.number().min(0).max(1).default(0.5),
    /** AWS quotas (DescribeLimits): per table (GSIs included) and per account, per dimension. */
    tableMaxCapacity: z.number().int().min(1).default(40_000),
    accountMaxCapacity: z.number().int().min(1).default(80_000),
    autoScaling: dynamodbAutoScalingSection.default({ ownScaleIn: true, liftMinutes: 60 }),
    modeAdvisor: dynamodbModeAdvisorSection.default({
      enabled: true,
      allowSwitch: false,
      lookbackDays: 14,
      periodSeconds: 3600,
      marginFraction: 0.15,
      minHoursBetweenSwitches: 24,
      maxSwitchesToOnDemandPer24h: 1,
      minCoverage: 0.5,
      minHistoryHours: 6,
    }),
    /**
     * Observation cadence (issue 23): when enabled, a table far from every scale-up threshold is
     * observed every `slowMinutes` instead of at every scheduled run (GetMetricData is billed per
     * metric requested) and the throttling alarms run the tuner at once in between
     * (shared/policies/dynamodb-cadence.ts). Off by default: on the honest backtest suite every
     * slow cadence tried left more unserved than the DynamoDB goal allows (spikes from idle are
     * caught only once they throttle; 10 min / 0.8: 1.33 %, 6 / 0.3: 1.22 %, 4 / 0.5: 1.25 %,
     * off: 1.13 %, goal <= 1.19 %).
     */
    cadence: z
      .object({
        enabled: z.boolean().default(false),
        slowMinutes: z.number().int().min(1).max(60).default(10),
        nearFraction: z.number().min(0).max(1).default(0.8),
      })
      .strict()
      .default({ enabled: false, slowMinutes: 10, nearFraction: 0.8 }),
    prewarm: dynamodbPrewarmSection.default({
      enabled: true,
      leadMinutes: 5,
      holdMinutes: 5,
      minPeriodMinutes: 10,
      maxPeriodMinutes: 7 * 24 * 60,
      minOccurrences: 2,
      peakFactor: 2,
      minCorrelation: 0.3,
      historyMinutes: 15 * 24 * 60,
    }),
  })
  .strict();

export type DynamodbConfig = z.infer<typeof dynamodbSection>;
export type DynamodbModeAdvisorConfig = z.infer<typeof dynamodbModeAdvisorSection>;
export type DynamodbPrewarmConfig = z.infer<typeof dynamodbPrewarmSection>;
