/**
 * Step 5 of the IOPS decision: raise, lower or hold, within the bounds (HPA-style: a tolerance band
 * around the current level, a stabilization window before lowering). Then the stabilize step:
 * storage safety and the change budget decide whether the recommendation may be acted on, and a
 * lowering must save enough to be worth a lock-out. Pure.
 */
import type { IopsPolicySettings } from './iops.ts';
import type { IopsBounds } from './iops-bounds.ts';
import { round2 } from './iops-cost.ts';
import type { Forecast } from './iops-forecast.ts';
import type { StorageSafety } from './iops-safety.ts';

const HOUR_MS = 3_600_000;
/** Need at least this share of the stabilization window to have data before lowering. */
const MIN_COVERAGE = 0.9;

export type Recommendation =
  | { change: true; target: number; why: string }
  | { change: false; reason: string };

export interface RecommendInput {
  current: number;
  bounds: Extract<IopsBounds, { settable: true }>;
  forecast: Forecast;
  /** The forecast over the longer horizon a lowering must hold for. */
  lowering: Forecast;
  demand: number;
  p99: number;
  saturated: boolean;
  latencyMs: number | null;
  cfg: IopsPolicySettings;
  lockoutSource: string;
  /** Whether the lock-out was seen on this instance (not assumed). */
  lockoutLearned: boolean;
}

const pct = (n: number) => `${Math.round(100 * n)}%`;

export function recommendIops(i: RecommendInput): Recommendation {
  const { current, bounds: b, forecast: f, cfg } = i;
  const clamp = (n: number) => Math.min(b.hi, Math.max(b.lo, n));
  const lockoutH = Math.round(f.lockoutMs / HOUR_MS);
  const capped = (target: number) =>
    b.limitedBy.length > 0 && target < f.wanted ? ` (capped: ${b.limitedBy.join('; ')})` : '';
  if (current > b.hi && b.growTo === undefined) {
    const cls = b.classCap && b.classCap.iops === b.hi ? ' the instance class cannot use them:' : '';
    return {
      change: true,
      target: b.hi,
      why: `current ${current} IOPS is above the allowed maximum;${cls} ${b.limitedBy.join('; ') || `max ${b.hi}`}`,
    };
  }
  const urgent = i.saturated || b.growTo !== undefined || current < b.lo;
  // Raise when demand nears the current level (or a known peak arrives within the hour); the
  // level then covers the whole lock-out. A rising trend alone never triggers a raise.
  const nearing =
    f.wanted > current * (1 + cfg.tolerance) &&
    (i.demand / cfg.targetUtilization > current * (1 + cfg.tolerance) ||
      (f.soonPeak ?? 0) / cfg.forecastUtilization > current);
  const worth = raiseWorthLockout(f, current, cfg);
  if (!urgent && nearing && !worth.worth) return { change: false, reason: worth.reason };
  const raise = urgent || nearing;
  if (raise) {
    const target = clamp(i.saturated ? Math.max(f.wanted, f.neededForPeak) : f.wanted);
    let why = i.saturated
      ? `storage is saturated (p99 ${Math.round(i.p99)} IOPS served, latency p95 ${i.latencyMs === null ? 'unknown' : `${round2(i.latencyMs)} ms`}): estimated demand ${Math.round(i.demand)} IOPS`
      : `peak demand ${Math.round(i.p99)} IOPS is ${pct(i.p99 / current)} of ${current}`;
    why += `; raised to ${target} so the ${lockoutH} h lock-out (${i.lockoutSource}) forecast peak (${Math.round(f.forecastPeak)} IOPS`;
    why += f.surprise ? ', above anything seen for these hours' : ', seen in the last day';
    why += `) sits at ${pct(f.peakUtilization)}`;
    if (f.slopePerHour > 0 && f.trendPeak > f.knownPeak)
      why += `; rising ${Math.round(f.slopePerHour)} IOPS/h`;
    return { change: true, target, why: why + capped(target) };
  }
  const low = i.lowering;
  if (low.wanted < current * (1 - cfg.scaleDownTolerance)) {
    if (!low.hasDay) {
      return {
        change: false,
        reason: `not lowering: less than a day of history, and a lowering must hold at least a day (${current} IOPS; forecast ${Math.round(low.forecastPeak)})`,
      };
    }
    const blind = loweringWorthLockout(
      { ms: f.lockoutMs, source: i.lockoutSource, learned: i.lockoutLearned },
      cfg,
    );
    if (!blind.worth) return { change: false, reason: blind.reason };
    if (!low.growthKnown) {
      return {
        change: false,
        reason: `not lowering: day-over-day growth not measured yet (fewer than 2 h seen on both days), and a lowering must hold ${Math.round(low.lockoutMs / HOUR_MS)} h (${current} IOPS; forecast ${Math.round(low.forecastPeak)} before growth)`,
      };
    }
    if (f.stabilizationCoverage < MIN_COVERAGE) {
      return {
        change: false,
        reason: `not lowering: only ${Math.round(f.stabilizationCoverage * 100)}% of the ${cfg.scaleDownStabilizationMinutes}-minute stabilization window has data`,
      };
    }
    const target = clamp(low.wanted);
    const lowH = Math.round(low.lockoutMs / HOUR_MS);
    return {
      change: true,
      target,
      why: `peak demand over the last ${Math.round(cfg.scaleDownStabilizationMinutes / 60)} h was ${Math.round(f.stabilizationPeak ?? 0)} IOPS and the forecast over the ${lowH} h a lowering must hold for (at least a day and twice the ${lockoutH} h lock-out: ${i.lockoutSource}) is ${Math.round(low.forecastPeak)} IOPS: ${current} is more than needed; lowered to ${target}`,
    };
  }
  return {
    change: false,
    reason: `${current} IOPS fits: peak ${Math.round(i.p99)} IOPS (${pct(i.p99 / current)}), stabilization-window peak ${Math.round(f.stabilizationPeak ?? 0)}, ${lockoutH} h lock-out forecast ${Math.round(f.forecastPeak)}`,
  };
}

/**
 * Whether a raise that nothing forces (not saturated, within bounds) is worth the lock-out it
 * causes. Every storage change locks storage for at least 6 h and until its optimization ends,
 * which the tuner only sees by watching it (status `storage-optimization`, PercentProgress): while
 * locked, a surge cannot be answered. Unlocked, a surge costs only the minutes to notice it and
 * modify. So a raise ahead of demand is made only when the forecast over the lock-out would
 * saturate the current level; otherwise the slot is kept for when it is needed.
 */
export function raiseWorthLockout(
  f: Pick<Forecast, 'forecastPeak' | 'lockoutMs'>,
  current: number,
  cfg: Pick<IopsPolicySettings, 'saturationUtilization'>,
): { worth: true } | { worth: false; reason: string } {
  const limit = cfg.saturationUtilization * current;
  if (f.forecastPeak >= limit) return { worth: true };
  return {
    worth: false,
    reason: `holding ${current} IOPS: the ${Math.round(f.lockoutMs / HOUR_MS)} h forecast peak ${Math.round(f.forecastPeak)} IOPS stays below saturation (${pct(cfg.saturationUtilization)} = ${Math.round(limit)}); a raise now would lock storage changes for no service gained, keeping the slot for a surge`,
  };
}

/**
 * Whether a lowering is worth the lock-out it causes. A lowering is never needed (it saves money)
 * and leaves the instance with less headroom for as long as storage stays locked: a surge then
 * cannot be answered. So no lowering while the lock-out this instance's optimizations showed
 * (RDS events, PercentProgress) is longer than `maxLoweringLockoutHours`. Before any was seen the
 * first lowering is allowed (under the day-long horizon): it is also how the lock-out is learned.
 */
export function loweringWorthLockout(
  lockout: { ms: number; source: string; learned: boolean },
  cfg: Pick<IopsPolicySettings, 'maxLoweringLockoutHours'>,
): { worth: true } | { worth: false; reason: string } {
  if (!lockout.learned || lockout.ms <= cfg.maxLoweringLockoutHours * HOUR_MS) return { worth: true };
  return {
    worth: false,
    reason: `not lowering: a storage change here locks further changes for about ${Math.round(lockout.ms / HOUR_MS)} h (${lockout.source}); a lowering would leave a surge unanswered that long (at most ${cfg.maxLoweringLockoutHours} h, maxLoweringLockoutHours)`,
  };
}

/**
 * Whether a recommended change may be made: storage safety first (no change when free space is
 * low or autoscaling may need the slot; no lowering without room to spare), then a lowering must
 * save at least `minMonthlySavingUsd` to be worth a lock-out. Undefined = go ahead.
 */
export function stabilize(
  rec: { target: number; current: number; monthlyCostDelta: number },
  safety: StorageSafety,
  cfg: IopsPolicySettings,
): string | undefined {
  const lowering = rec.target < rec.current;
  if (safety.blockAll) return `not changing IOPS ${rec.current} -> ${rec.target}: ${safety.blockAll}`;
  if (lowering && safety.blockLowering)
    return `not lowering IOPS ${rec.current} -> ${rec.target}: ${safety.blockLowering}`;
  if (lowering && -rec.monthlyCostDelta < cfg.minMonthlySavingUsd) {
    return `lowering to ${rec.target} would save only $${round2(-rec.monthlyCostDelta)}/month (< $${cfg.minMonthlySavingUsd}); not worth a storage lock-out`;
  }
  return undefined;
}
