import { z } from 'zod';
import { AUTO_PAUSE_SECONDS, MAX_ACU } from '../../aws/aurora-serverless.ts';
import { tunerBase } from '../common.ts';

/** A capacity in Aurora capacity units: a multiple of 0.5 (RDS API reference, ServerlessV2ScalingConfiguration). */
const acu = (min: number) =>
  z
    .number()
    .min(min)
    .max(MAX_ACU)
    .refine((v) => Number.isInteger(v * 2), { message: 'a capacity in 0.5 ACU steps (0.5, 1, 1.5, ...)' });

/**
 * Aurora Serverless v2 capacity bounds (issue 24): MinCapacity / MaxCapacity / SecondsUntilAutoPause
 * of the managed clusters' ServerlessV2ScalingConfiguration. How they are decided:
 * shared/policies/serverless-bounds.ts; AWS's ranges: shared/aws/aurora-serverless.ts.
 */
export const serverlessSection = z
  .object({
    ...tunerBase,
    /**
     * Cooldown between two bound changes of one cluster. A bound change takes effect at once with
     * no restart (Aurora User Guide, aurora-serverless-v2-administration), so it is short by
     * default (one 5-minute schedule): a minimum raised ahead of a peak, or a maximum raised when
     * ACUUtilization sits at 100%, must not wait half an hour.
     */
    cooldownMinutes: z.number().int().min(0).max(1440).default(5),
    /** MinCapacity = this fraction of the peak expected in the look-ahead (a ramp starts warm). */
    warmFraction: z.number().gt(0).max(1).default(0.6),
    /**
     * MinCapacity = this fraction of the expected peak when history shows it arriving in a step
     * (see sharpRiseRatio): scaling from a low capacity cannot follow a step (the scaling rate
     * depends on the current capacity: Aurora User Guide, aurora-serverless-v2.setting-capacity).
     */
    sharpWarmFraction: z.number().gt(0).max(1).default(0.85),
    /** A bucket of the day whose peak was at least this many times the previous bucket's, on one day, is a step. */
    sharpRiseRatio: z.number().gt(1).max(100).default(2),
    /** Minutes of the newest published capacity that count as the current load (a floor under the minimum). */
    recentMinutes: z.number().int().min(1).max(60).default(10),
    /** Minutes ahead whose history (same time of day, last profileDays days) sets the minimum. */
    lookaheadMinutes: z.number().int().min(5).max(240).default(30),
    /** Days of history in the time-of-day profile (read at 15 min; CloudWatch keeps 300 s data 63 days). */
    profileDays: z.number().int().min(1).max(14).default(7),
    /** MaxCapacity = highest capacity of the profile x this. */
    maxHeadroom: z.number().min(1).max(4).default(1.5),
    /** The cost guard: MaxCapacity is never set above this (ACU). */
    maxCapacityCeiling: acu(1).default(MAX_ACU),
    /** MinCapacity is never set below this, auto-pause aside (MinCapacity 0 comes only from allowAutoPause). */
    minCapacityFloor: acu(0.5).default(0.5),
    /** No connection for this many hours: recommend (or, with allowAutoPause, set) auto-pause. */
    idleHoursForPause: z.number().min(1).max(168).default(4),
    /** Set MinCapacity 0 (auto-pause) on idle clusters rather than only recommend it. */
    allowAutoPause: z.boolean().default(false),
    secondsUntilAutoPause: z
      .number()
      .int()
      .min(AUTO_PAUSE_SECONDS.min)
      .max(AUTO_PAUSE_SECONDS.max)
      .default(300),
    /** Change MinCapacity only when it moves by at least this many ACU. */
    minChangeAcu: z.number().min(0.5).max(64).default(1),
    /** Hourly mean capacity p10 / p90 at or above this: steady enough to advise a provisioned class. */
    steadyRatio: z.number().gt(0).max(1).default(0.6),
    /** Window of the recent observation (60 s periods). */
    lookbackMinutes: z.number().int().min(15).max(180).default(60),
  })
  .strict()
  .refine((s) => s.minCapacityFloor <= s.maxCapacityCeiling, {
    message: 'minCapacityFloor must not exceed maxCapacityCeiling',
    path: ['minCapacityFloor'],
  });

export type ServerlessSection = z.infer<typeof serverlessSection>;
