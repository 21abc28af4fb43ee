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
import { type MetricSeries, maxOf, percentile, slice, trendFit } from './iops-series.ts';
import { KNEE_LATENCY_RATIO as SATURATED_LATENCY_RATIO } from './iops-signals.ts';

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
/** Round proposals up to a multiple of this (readable numbers, fewer tiny changes). */
export const IOPS_STEP = 100;

export interface Lockout {
  ms: number;
  /** How it was found: "learned from 2 optimizations", "running optimization 40% done", "assumed". */
  source: string;
  /** Seen on this instance (RDS events, PercentProgress), not assumed. */
  learned: boolean;
}

/** The lock-out a change made now causes: max(6 h, lockoutForecastHours, modify + optimization). */
export function expectedLockout(ledger: StorageLedger, cfg: IopsPolicySettings, now: Date): Lockout {
  const past = ledger.optimizationMinutes.slice(0, LEARN_FROM);
  let optMs: number | undefined;
  const sources: string[] = [];
  if (past.length > 0) {
    optMs = Math.max(...past) * MINUTE_MS;
    sources.push(
      `the longest of the last ${past.length} optimization(s) took ${Math.round(Math.max(...past))} min`,
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
  const learned = optMs !== undefined;
  if (optMs === undefined) {
    optMs = cfg.assumedOptimizationHours * HOUR_MS;
    sources.push(`no optimization seen yet: ${cfg.assumedOptimizationHours} h assumed`);
  }
  const ms = Math.max(STORAGE_CHANGE_WAIT_MS, cfg.lockoutForecastHours * HOUR_MS, MODIFY_MS + optMs);
  return { ms, source: sources.join('; '), learned };
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
  /** Day-over-day growth applied to yesterday's peaks (compounded over the horizon). */
  growth: number;
  /** Whether that growth was measured (both days have data for the same hours); a lowering needs it. */
  growthKnown: boolean;
  /** The utilization the forecast peak is sized at (forecast, or target for a surprise). */
  peakUtilization: number;
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

/** What the forecast reads: the observation (its history is served IOPS) and the demand estimates. */
export interface ForecastInput {
  obs: IopsObservation;
  /** Peak demand per history period (served, scaled up where latency shows saturation: demandHistory). */
  demand: MetricSeries;
  cfg: IopsPolicySettings;
  now: Date;
  /** The current demand estimate (step 1). */
  current: number;
  recentP99: number;
  lockoutMs: number;
  /** Per minute of the recent window: served IOPS, scaled by the pressure while saturated. */
  recentDemand: Array<number | null>;
}

/**
 * The forecast of demand over the lock-out, as named steps: the peaks history already showed
 * (stabilization window, same hours a day earlier grown by the day-over-day growth), and, without
 * a day of history, the recent trend (or the level of a cycle already seen); then the IOPS that
 * keep that forecast at the right utilization.
 */
export function forecastLockout(x: ForecastInput): Forecast {
  const { cfg, lockoutMs } = x;
  const hist = x.demand;
  const t = x.now.getTime();
  const stab = stabilizationWindow(hist, t, cfg.scaleDownStabilizationMinutes * MINUTE_MS);
  const daily = dailyGrowth(x.obs.history.totalIops, t, lockoutMs);
  const growth = (daily ?? 1) ** Math.max(1, lockoutMs / DAY_MS);
  const hasDay = reachesBack(hist, t - DAY_MS);
  const seasonalValues = slice(hist, t - DAY_MS, t - DAY_MS + lockoutMs);
  const seasonalRaw = hasDay ? maxOf(seasonalValues) : null;
  const seasonal = seasonalRaw === null ? null : seasonalRaw * growth;
  const soonRaw = maxOf(slice(hist, t - DAY_MS, t - DAY_MS + HOUR_MS));
  const soonPeak = soonRaw === null ? null : soonRaw * growth;
  const trend = coldStartTrend(x, seasonal === null);
  const knownPeak = Math.max(seasonal ?? 0, stab.peak ?? 0);
  const isSurprise = (v: number) => v > knownPeak * (1 + cfg.tolerance);
  const atUtilization = (v: number) => v / (isSurprise(v) ? cfg.targetUtilization : cfg.forecastUtilization);
  // An extrapolated trend is already the end of the horizon: it is kept at the forecast utilization.
  const trendNeed = trend.extrapolated ? trend.peak / cfg.forecastUtilization : atUtilization(trend.peak);
  const wanted = roundUp(Math.max(knownPeak / cfg.forecastUtilization, atUtilization(x.current), trendNeed));
  return {
    lockoutMs,
    forecastPeak: Math.max(knownPeak, x.current, trend.peak),
    knownPeak,
    stabilizationPeak: stab.peak,
    stabilizationCoverage: stab.coverage,
    hasDay,
    growth,
    growthKnown: daily !== null,
    peakUtilization:
      !trend.extrapolated && isSurprise(Math.max(x.current, trend.peak))
        ? cfg.targetUtilization
        : cfg.forecastUtilization,
    seasonal,
    soonPeak,
    slopePerHour: trend.slopePerHour,
    trendPeak: trend.peak,
    surprise: isSurprise(Math.max(x.current, trend.peak)),
    wanted,
    neededForPeak: roundUp(x.current / cfg.targetUtilization),
    history: hist,
    seasonalValues,
    stabilizationValues: stab.values,
  };
}

const DAY_MS = 24 * HOUR_MS;

/** The peak of the stabilization window and how much of it has data (0..1). */
export function stabilizationWindow(
  hist: MetricSeries,
  t: number,
  stabMs: number,
): { peak: number | null; coverage: number; values: Array<number | null> } {
  const values = slice(hist, t - stabMs, t);
  const expected = stabMs / (hist.periodSeconds * 1000);
  const coverage = expected > 0 ? values.filter((v) => v !== null).length / expected : 1;
  return { peak: maxOf(values), coverage, values };
}

/** Whether the history has data from `from` on (one period of slack). */
export function reachesBack(hist: MetricSeries, from: number): boolean {
  const first = hist.values.findIndex((v) => v !== null);
  return (
    first >= 0 &&
    Date.parse(hist.start) + first * hist.periodSeconds * 1000 <= from + hist.periodSeconds * 1000
  );
}

/** Fewer hours than this seen on both days: no day-over-day growth is measured (null). */
const MIN_GROWTH_HOURS = 2;

/**
 * Day-over-day growth: the median of the last window against the median of the same hours a day
 * earlier, over the hours BOTH days have data (a short first day is not compared with a full
 * one), clamped to [1, MAX_DAILY_GROWTH]; null when not measurable. Served IOPS (a saturated yesterday reads low, so the
 * growth errs high) and medians (a one-off spike such as a flash sale is not growth).
 */
export function dailyGrowth(served: MetricSeries, t: number, windowMs: number): number | null {
  const first = served.values.findIndex((v) => v !== null);
  if (first < 0) return null;
  const firstAt = Date.parse(served.start) + first * served.periodSeconds * 1000;
  const span = Math.min(windowMs, DAY_MS, t - DAY_MS - firstAt);
  if (span < MIN_GROWTH_HOURS * HOUR_MS) return null;
  const today = percentile(slice(served, t - span, t), 50);
  const yesterday = percentile(slice(served, t - DAY_MS - span, t - DAY_MS), 50);
  if (today === null || yesterday === null || yesterday <= 0) return null;
  return Math.min(MAX_DAILY_GROWTH, Math.max(1, today / yesterday));
}

/** A level counts as a cycle's peak when demand later fell to this share of it. */
const CYCLE_TROUGH = 0.6;

/**
 * Without a day of history: the recent trend extrapolated over the lock-out, capped at a multiple
 * of what was served (the saturated estimate is too noisy to multiply); a climb toward a level a
 * cycle already reached earlier (demand rose to it and fell back) repeats that level instead.
 */
export function coldStartTrend(
  x: ForecastInput,
  noSeasonal: boolean,
): { peak: number; slopePerHour: number; extrapolated: boolean } {
  const { cfg, lockoutMs } = x;
  const recent = x.obs.recent.readIops;
  const slopePerHour = noSeasonal ? clearTrendPerHour(x.recentDemand, recent.periodSeconds) : 0;
  // The cap grows with the lock-out (a long one cannot be corrected for a long time).
  const trendCap = Math.min(cfg.maxRaiseFactor, Math.max(TREND_MAX_FACTOR, lockoutMs / (4 * HOUR_MS)));
  const base = Math.max(x.recentP99, x.current);
  const projected = Math.min(
    base + Math.max(0, slopePerHour) * (lockoutMs / HOUR_MS),
    Math.max(base, x.recentP99 * trendCap),
  );
  const t = x.now.getTime();
  const recentMs = recent.values.length * recent.periodSeconds * 1000;
  const earlier = cyclePeak(slice(x.demand, t - DAY_MS, t - recentMs));
  if (earlier !== null && x.current <= earlier * (1 + cfg.tolerance)) {
    const level = Math.max(earlier, x.current) * (1 + cfg.tolerance);
    if (level < projected) return { peak: level, slopePerHour, extrapolated: false };
  }
  return { peak: projected, slopePerHour, extrapolated: projected > base };
}

/** A trend needs this many minutes of data and a t-statistic this large to be extrapolated. */
const MIN_TREND_POINTS = 10;
const MIN_TREND_T = 3;

/**
 * The recent trend (IOPS per hour) when the data is clear about it, else 0: a trend from a few
 * noisy minutes, extrapolated over a lock-out of hours, would buy many times the demand.
 */
export function clearTrendPerHour(values: Array<number | null>, periodSeconds: number): number {
  const fit = trendFit(values, periodSeconds);
  return fit.points >= MIN_TREND_POINTS && Math.abs(fit.t) >= MIN_TREND_T ? fit.slopePerHour : 0;
}

/** The highest level in `values` if demand fell back to CYCLE_TROUGH of it afterwards, else null. */
export function cyclePeak(values: Array<number | null>): number | null {
  let peak: number | null = null;
  let troughAfter = Number.POSITIVE_INFINITY;
  for (const v of values) {
    if (v === null) continue;
    if (peak === null || v > peak) {
      peak = v;
      troughAfter = Number.POSITIVE_INFINITY;
    } else troughAfter = Math.min(troughAfter, v);
  }
  return peak !== null && troughAfter <= CYCLE_TROUGH * peak ? peak : null;
}

/**
 * History of demand: peak served IOPS per period, scaled up by how far the period's latency rose
 * past SATURATED_LATENCY_RATIO x normal when it was saturated (served IOPS are capped by what was
 * provisioned; latency shows part of the rest).
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
    // Noise moves latency by tens of percent, and a volume near its limit is slower before any IO
    // waits beyond it (the knee): only the rise past SATURATED_LATENCY_RATIO counts as demand.
    return ratio >= SATURATED_LATENCY_RATIO ? v * Math.min(maxFactor, ratio / SATURATED_LATENCY_RATIO) : v;
  });
  return { ...served, values };
}
