import { z } from 'zod';
import { tunerBase } from '../common.ts';

/**
 * Idle and oversized RDS / Aurora instances (issue 25): recommend only. Stopping, deleting or
 * downsizing a database is a person's call; db-autopilot says what it would save and why.
 */
export const rightsizingSection = z
  .object({
    ...tunerBase,
    /** No connections at all for this many days: idle (Trusted Advisor's idle check uses 7). */
    idleDays: z.number().int().min(1).max(14).default(7),
    /** CPU and connections far below the class for this many days: oversized. */
    oversizedDays: z.number().int().min(7).max(14).default(14),
    /** Hourly maximum CPU at its 95th percentile below this (percent): a candidate. */
    cpuP95BelowPercent: z.number().gt(0).max(100).default(30),
    /** The smaller class must keep the 95th percentile of hourly maximum CPU at or below this. */
    targetCpuPercent: z.number().gt(0).max(100).default(60),
    /** ...and the highest hour's maximum CPU at or below this. */
    peakCpuPercent: z.number().gt(0).max(100).default(85),
    /** Peak connections must stay below this fraction of the smaller class's default max_connections. */
    connectionsFraction: z.number().gt(0).max(1).default(0.5),
    /** Hours of the window that must have datapoints before anything is said (fraction). */
    minCoverage: z.number().gt(0).max(1).default(0.9),
  })
  .strict();

export type RightsizingSection = z.infer<typeof rightsizingSection>;
