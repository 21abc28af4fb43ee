/**
 * Step 3 of the IOPS decision: how long the next change locks storage, and what demand that
 * lock-out must cover. A change blocks further storage changes until its optimization ends (or 6 h,
 * whichever is longer); optimization can take more than 24 h (aws-facts.md, RDS storage). The
 * lock-out is learned, not assumed: past optimizations' durations from RDS events ("Storage
 * optimization started" -> "completed") and the running one's StorageOperationPercentProgress;
 * before any is seen, `assumedOptimizationHours`. Pure.
 */
import { STORAGE_CHANGE_WAIT_MS } from '../aws/rds-storage-limits.ts';
import type { IopsObservation, IopsPolicySettings } from './iops.ts';
import type { StorageLedger } from './iops-ledger.ts';
import { type MetricSeries, maxOf, slice, trendPerHour } from './iops-series.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Minutes in `modifying` before the new IOPS are in effect (RDS: minutes; the simulator: 10). */
const MODIFY_MS = 10 * MINUTE_MS;
/** A running optimization's total is extrapolated from its progress once it reports at least this. */
const MIN_PROGRESS_PERCENT = 2;
/** The learned optimization time is the longest of this many recent ones. */
const LEARN_FROM = 3;
/**
 * A trend extrapolated over the lock-out is capped at this multiple of the recent peak, or at
 * one per 4 h of lock-out when that is more (never above maxRaiseFactor).
 */
const TREND_MAX_FACTOR = 3;
/** Day-over-day growth applied to yesterday's peaks is capped at this factor. */
const MAX_DAILY_GROWTH = 1.5;
/** A period whose latency is at least this multiple of normal was saturated. */
const SATURATED_LATENCY_RATIO = 1.5;
/** Round proposals up to a multiple of this (readable numbers, fewer tiny changes). */
export const IOPS_STEP = 100;

export interface Lockout {
  ms: number;
  /** How it was found: "learned from 2 optimizations", "running optimization 40% done", "assumed". */
  source: string;
}

/** The lock-out a change made now causes: max(6 h, lockoutForecastHours, modify + optimization). */
export function expectedLockout(ledger: StorageLedger, cfg: IopsPolicySettings, now: Date): Lockout {
  const learned = ledger.optimizationMinutes.slice(0, LEARN_FROM);
  let optMs: number | undefined;
  const sources: string[] = [];
  if (learned.length > 0) {
    optMs = Math.max(...learned) * MINUTE_MS;
    sources.push(
      `the longest of the last ${learned.length} optimization(s) took ${Math.round(Math.max(...learned))} min`,
    );
  }
  const p = ledger.percentProgress;
  if (ledger.optimizing && ledger.optimizingSince && p !== undefined && p >= MIN_PROGRESS_PERCENT) {
    const elapsed = now.getTime() - Date.parse(ledger.optimizingSince);
    const total = (elapsed * 100) / p;
    if (Number.isFinite(total) && total > 0) {
      optMs = Math.max(optMs ?? 0, total);
      sources.push(`the running optimization is ${p}% done after ${Math.round(elapsed / MINUTE_MS)} min`);
    }
  }
  if (optMs === undefined) {
    optMs = cfg.assumedOptimizationHours * HOUR_MS;
    sources.push(`no optimization seen yet: ${cfg.assumedOptimizationHours} h assumed`);
  }
  const ms = Math.max(STORAGE_CHANGE_WAIT_MS, cfg.lockoutForecastHours * HOUR_MS, MODIFY_MS + optMs);
  return { ms, source: sources.join('; ') };
}

export interface Forecast {
  lockoutMs: number;
  /** The peak the lock-out is expected to bring (max of known, estimated, trend). */
  forecastPeak: number;
  /** Peaks history already showed for this period (same hours a day earlier, the stabilization window). */
  knownPeak: number;
  stabilizationPeak: number | null;
  /** Whether the history reaches a day back (a lowering must hold a day). */
  hasDay: boolean;
  /** Coverage of the stabilization window by data (0..1). */
  stabilizationCoverage: number;
  seasonal: number | null;
  /** A peak seen a day ago within the next hour (a known peak arriving soon). */
  soonPeak: number | null;
  slopePerHour: number;
  trendPeak: number;
  surprise: boolean;
  /** IOPS that keep the forecast at the right utilization (rounded up). */
  wanted: number;
  /** IOPS that keep the estimated demand at the target utilization. */
  neededForPeak: number;
  history: MetricSeries;
  seasonalValues: Array<number | null>;
  stabilizationValues: Array<number | null>;
}

export function roundUp(n: number): number {
  return Math.ceil(n / IOPS_STEP) * IOPS_STEP;
}

/** The forecast of demand over the lock-out (see the file comment of shared/policies/iops.ts). */
export function forecastLockout(
  obs: IopsObservation,
  cfg: IopsPolicySettings,
  now: Date,
  demand: number,
  recentP99: number,
  lockoutMs: number,
  recentDemand: Array<number | null>,
): Forecast {
  const hist = obs.history.totalIops;
  const t = now.getTime();
  const stabMs = cfg.scaleDownStabilizationMinutes * MINUTE_MS;
  const stabValues = slice(hist, t - stabMs, t);
  const stabPeak = maxOf(stabValues);
  const expected = stabMs / (hist.periodSeconds * 1000);
  const coverage = expected > 0 ? stabValues.filter((v) => v !== null).length / expected : 1;
  const seasonalValues = slice(hist, t - 24 * HOUR_MS, t - 24 * HOUR_MS + lockoutMs);
  // Day-over-day growth: the last lock-out-long window against the same window a day earlier.
  const lastLockout = maxOf(slice(hist, t - Math.min(lockoutMs, 24 * HOUR_MS), t));
  const sameYesterday = maxOf(
    slice(hist, t - 24 * HOUR_MS - Math.min(lockoutMs, 24 * HOUR_MS), t - 24 * HOUR_MS),
  );
  const daily =
    lastLockout !== null && sameYesterday !== null && sameYesterday > 0
      ? Math.min(MAX_DAILY_GROWTH, Math.max(1, lastLockout / sameYesterday))
      : 1;
  // A horizon longer than a day compounds the day-over-day growth.
  const growth = daily ** Math.max(1, lockoutMs / (24 * HOUR_MS));
  // "Yesterday" needs a day of history (with a lock-out of a day or more the window reaches now).
  const firstData = hist.values.findIndex((v) => v !== null);
  const hasDay =
    firstData >= 0 &&
    Date.parse(hist.start) + firstData * hist.periodSeconds * 1000 <=
      t - 24 * HOUR_MS + hist.periodSeconds * 1000;
  const seasonalRaw = hasDay ? maxOf(seasonalValues) : null;
  const seasonal = seasonalRaw === null ? null : seasonalRaw * growth;
  const soonRaw = maxOf(slice(hist, t - 24 * HOUR_MS, t - 23 * HOUR_MS));
  const soonPeak = soonRaw === null ? null : soonRaw * growth;
  // Without a day of history, extrapolate the recent trend over the lock-out (capped).
  const recent = obs.recent.readIops;
  const slopePerHour = seasonal === null ? trendPerHour(recentDemand, recent.periodSeconds) : 0;
  // The cap grows with the lock-out (a long one cannot be corrected for a long time).
  const trendCap = Math.min(cfg.maxRaiseFactor, Math.max(TREND_MAX_FACTOR, lockoutMs / (4 * HOUR_MS)));
  const base = Math.max(recentP99, demand);
  const extrapolated = Math.min(base + Math.max(0, slopePerHour) * (lockoutMs / HOUR_MS), base * trendCap);
  // A climb toward (or just past) a level already reached in the last day repeats that level.
  const recentMs = recent.values.length * recent.periodSeconds * 1000;
  const dayPeakBefore = maxOf(slice(hist, t - 24 * HOUR_MS, t - recentMs));
  const trendPeak =
    dayPeakBefore !== null && demand <= dayPeakBefore * (1 + cfg.tolerance)
      ? Math.min(extrapolated, Math.max(dayPeakBefore, demand) * (1 + cfg.tolerance))
      : extrapolated;
  const knownPeak = Math.max(seasonal ?? 0, stabPeak ?? 0);
  const isSurprise = (x: number) => x > knownPeak * (1 + cfg.tolerance);
  const atUtilization = (x: number) => x / (isSurprise(x) ? cfg.targetUtilization : cfg.forecastUtilization);
  const wanted = roundUp(
    Math.max(knownPeak / cfg.forecastUtilization, atUtilization(demand), atUtilization(trendPeak)),
  );
  return {
    lockoutMs,
    forecastPeak: Math.max(knownPeak, demand, trendPeak),
    knownPeak,
    stabilizationPeak: stabPeak,
    stabilizationCoverage: coverage,
    hasDay,
    seasonal,
    soonPeak,
    slopePerHour,
    trendPeak,
    surprise: isSurprise(Math.max(demand, trendPeak)),
    wanted,
    neededForPeak: roundUp(demand / cfg.targetUtilization),
    history: hist,
    seasonalValues,
    stabilizationValues: stabValues,
  };
}

/**
 * History of demand: peak served IOPS per period, scaled up by the period's latency ratio when it
 * was saturated (served IOPS are capped by what was provisioned; latency shows part of the rest).
 */
export function demandHistory(
  served: MetricSeries,
  latency: MetricSeries | undefined,
  normalLatencySec: number,
  maxFactor: number,
): MetricSeries {
  if (!latency || latency.periodSeconds !== served.periodSeconds || latency.start !== served.start)
    return served;
  const values = served.values.map((v, i) => {
    const l = latency.values[i] ?? null;
    if (v === null || l === null || normalLatencySec <= 0) return v;
    const ratio = l / normalLatencySec;
    // Noise moves latency by tens of percent: only a clear rise counts as saturation.
    return ratio >= SATURATED_LATENCY_RATIO ? v * Math.min(maxFactor, ratio) : v;
  });
  return { ...served, values };
}
