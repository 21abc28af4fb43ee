/**
 * How Provisioned IOPS are decided (issue 8). A pure function from an observation of one RDS
 * instance, its settings and the time to a Plan: no SDK, no clock, no randomness.
 *
 * 1. Diagnosis before buying: if the instance class is the limit (EBSIOBalance% low, or demand at
 *    the class's EBS maximum), report it instead of buying IOPS; a gp2 volume whose BurstBalance
 *    drains gets a gp3 recommendation with its cost change (a `set-storage-type` action only when
 *    the config allows storage-type changes).
 * 2. Raise so that peak demand sits at `targetUtilization`. When the storage is saturated, the
 *    served IOPS hide demand: it is estimated with Little's law (a closed workload's demand at
 *    normal latency = served x observed latency / normal latency), capped by `maxRaiseFactor`.
 *    A raise also covers the forecast peak of the lock-out that follows it.
 * 3. Lower only after `scaleDownStabilizationMinutes` of low use, never below the peak forecast
 *    for the lock-out a change causes (>= 6 h: same hours a day earlier, and the recent peak).
 * 4. Clamp to the config's min/max and cost ceiling, AWS's valid range for engine, storage type and
 *    size, and the instance class's EBS maximum (shared/aws/rds-storage-limits.ts).
 * 5. Every mutating action carries the storage-change rules (shared/policies/iops-ledger.ts) that
 *    the executor enforces: optimization, 6 h wait, 4 per 24 h, status, non-storage pending.
 */

import {
  classEbsLimit,
  effectiveStorageIops,
  GP2_BURST_IOPS,
  GP3_LARGE_INCLUDED_IOPS,
  GP3_LARGE_INCLUDED_MIBPS,
  GP3_SMALL_BASELINE_IOPS,
  GP3_STRIPING_GIB,
  gp2BaselineIops,
  gp3ThroughputFor,
  type IopsRange,
  minStorageForIops,
  type RdsStorageType,
  STORAGE_CHANGE_WAIT_MS,
  validIopsRange,
} from '../aws/rds-storage-limits.ts';
import type { IopsSection } from '../config/sections/iops.ts';
import type { Action, Evidence, Plan, ResourceRef, RuleCheck } from '../core/model.ts';
import type { PriceTable } from '../pricing.ts';
import { round2, type StorageConfig, storageMonthlyCost } from './iops-cost.ts';
import { type StorageLedger, storageChangeRules } from './iops-ledger.ts';

/** The IOPS policy's settings (the config's `tuners.iops` section, resolved). */
export interface IopsPolicySettings {
  targetUtilization: number;
  tolerance: number;
  scaleDownTolerance: number;
  minMonthlySavingUsd: number;
  minIops: number;
  maxIops: number;
  monthlyCostCeilingUsd?: number;
  scaleDownStabilizationMinutes: number;
  lockoutForecastHours: number;
  forecastUtilization: number;
  saturationUtilization: number;
  maxRaiseFactor: number;
  normalLatencyMs: number;
  burstBalanceLowPercent: number;
  ebsBalanceLowPercent: number;
  classLimitUtilization: number;
  allowStorageGrowthForIops: boolean;
  allowStorageTypeChange: boolean;
}

/** A metric series, oldest first, one value per period (null = no datapoint). */
export interface MetricSeries {
  start: string;
  periodSeconds: number;
  values: Array<number | null>;
  statistic: string;
}

export interface RdsStorageInstance {
  id: string;
  arn?: string;
  engine: string;
  instanceClass: string;
  storageType: RdsStorageType;
  allocatedGiB: number;
  /** Provisioned IOPS (io1/io2, gp3 >= 400 GiB); undefined otherwise. */
  iops?: number;
  throughputMibps?: number;
  multiAz?: boolean;
}

export interface IopsObservation {
  instance: RdsStorageInstance;
  /** The raise window (`lookbackMinutes`), at 60 s: Average per minute. */
  recent: {
    readIops: MetricSeries;
    writeIops: MetricSeries;
    diskQueueDepth?: MetricSeries;
    /** Seconds, as CloudWatch publishes them. */
    readLatency?: MetricSeries;
    writeLatency?: MetricSeries;
    /** Percent (gp2 only). */
    burstBalance?: MetricSeries;
    /** Percent (smaller classes only). */
    ebsIoBalance?: MetricSeries;
  };
  /**
   * The long window: at least `scaleDownStabilizationMinutes` and, for the seasonal forecast,
   * 24 h + the lock-out. `totalIops` is the peak (read + write) per period.
   */
  history: { totalIops: MetricSeries; latency?: MetricSeries };
  ledger: StorageLedger;
}

export interface IopsDecisionDetail {
  effectiveIops: number;
  demandPeak: number | null;
  demandEstimate: number | null;
  saturated: boolean;
  forecastPeak: number | null;
  stabilizationPeak: number | null;
  bounds?: { min: number; max: number; limitedBy: string[] };
}

/** Recorded with every undo: reverting is itself a storage change (aws-facts.md, RDS storage). */
export const UNDO_WAIT_NOTE =
  'undoing is another storage change: it waits 6 h after this one (or until optimization ends, whichever is longer) and counts toward 4 storage changes per 24 h';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Round proposals up to a multiple of this (readable numbers, fewer tiny changes). */
const IOPS_STEP = 100;
/** Need at least this share of the stabilization window to have data before lowering. */
const MIN_COVERAGE = 0.9;
/** Fewer datapoints than this (and no saturation): too little to decide on. */
const MIN_RECENT_POINTS = 10;
/** A trend extrapolated over the lock-out is capped at this multiple of the recent peak. */
const TREND_MAX_FACTOR = 3;
/** While saturated and climbing: slope over the last points, extrapolated this far ahead. */
const RAMP_LOOKBACK_POINTS = 10;
const RAMP_AHEAD_MINUTES = 15;
/** Saturated demand that grew by more than this factor over the last CLIMB_POINTS minutes is still climbing. */
const CLIMB_POINTS = 3;
const CLIMB_FACTOR = 1.2;
/** Wait at most this many saturated minutes for a climb to level off before raising anyway. */
const MAX_CLIMB_WAIT_MINUTES = 15;
/** Day-over-day growth applied to yesterday's peaks is capped at this factor. */
const MAX_DAILY_GROWTH = 1.5;

// ---------------------------------------------------------------- series helpers

export function sumSeries(a: MetricSeries, b: MetricSeries): Array<number | null> {
  const n = Math.max(a.values.length, b.values.length);
  const out: Array<number | null> = [];
  for (let i = 0; i < n; i++) {
    const x = a.values[i] ?? null;
    const y = b.values[i] ?? null;
    out.push(x === null && y === null ? null : (x ?? 0) + (y ?? 0));
  }
  return out;
}

function present(values: Array<number | null>): number[] {
  return values.filter((v): v is number => v !== null && Number.isFinite(v));
}

/** Nearest-rank percentile of the present values, null when none. */
export function percentile(values: Array<number | null>, p: number): number | null {
  const xs = present(values).sort((x, y) => x - y);
  if (xs.length === 0) return null;
  const rank = Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1));
  return xs[rank] ?? null;
}

function maxOf(values: Array<number | null>): number | null {
  const xs = present(values);
  return xs.length === 0 ? null : Math.max(...xs);
}

function minOf(values: Array<number | null>): number | null {
  const xs = present(values);
  return xs.length === 0 ? null : Math.min(...xs);
}

/** Values of a series whose period starts in [from, to). */
export function slice(series: MetricSeries, from: number, to: number): Array<number | null> {
  const start = Date.parse(series.start);
  const step = series.periodSeconds * 1000;
  const out: Array<number | null> = [];
  series.values.forEach((v, i) => {
    const t = start + i * step;
    if (t >= from && t < to) out.push(v);
  });
  return out;
}

function windowOf(series: MetricSeries): Evidence['window'] {
  const start = Date.parse(series.start);
  return {
    start: series.start,
    end: new Date(start + series.values.length * series.periodSeconds * 1000).toISOString(),
    periodSeconds: series.periodSeconds,
  };
}

/** At most `points` values for a sparkline (max per bucket, so peaks survive). */
export function downsample(values: Array<number | null>, points = 60): Array<number | null> {
  if (values.length <= points) return values.map((v) => (v === null ? null : round2(v)));
  const size = Math.ceil(values.length / points);
  const out: Array<number | null> = [];
  for (let i = 0; i < values.length; i += size) {
    const m = maxOf(values.slice(i, i + size));
    out.push(m === null ? null : round2(m));
  }
  return out;
}

function roundUp(n: number): number {
  return Math.ceil(n / IOPS_STEP) * IOPS_STEP;
}

// ---------------------------------------------------------------- the policy

export interface IopsPolicyInput {
  observation: IopsObservation;
  settings: IopsPolicySettings;
  prices: PriceTable;
  now: Date;
}

export interface IopsPolicyResult {
  plan: Plan;
  detail: IopsDecisionDetail;
}

export function decideIops(input: IopsPolicyInput): IopsPolicyResult {
  const { observation: obs, settings: cfg, prices, now } = input;
  const inst = obs.instance;
  const ref: ResourceRef = { kind: 'rds-instance', id: inst.id, arn: inst.arn };
  const dims = { DBInstanceIdentifier: inst.id };
  const ev = (
    metric: string,
    statistic: string,
    value: number | null,
    series: MetricSeries,
    values: Array<number | null>,
    unit?: string,
    threshold?: number,
  ): Evidence => ({
    metric,
    statistic,
    value: value === null ? null : round2(value),
    unit,
    window: windowOf(series),
    namespace: 'AWS/RDS',
    dimensions: dims,
    series: downsample(values),
    threshold,
  });

  // ---- what the volume delivers and what was asked of it
  const total = sumSeries(obs.recent.readIops, obs.recent.writeIops);
  const p99 = percentile(total, 99);
  const p95 = percentile(total, 95);
  const peak = maxOf(total);
  const effective = effectiveStorageIops(inst.storageType, inst.allocatedGiB, inst.iops);
  // gp2 serves up to its burst level while BurstBalance lasts (aws-facts.md table).
  const servedCeiling =
    inst.storageType === 'gp2' ? Math.max(effective, GP2_BURST_IOPS) : Math.max(effective, 1);
  const latencyValues = combineLatency(obs.recent.readLatency, obs.recent.writeLatency);
  const latencyP95 = percentile(latencyValues, 95);
  const normalLatencySec = normalLatency(obs, cfg) / 1000;
  const saturated = p99 !== null && p99 >= cfg.saturationUtilization * servedCeiling;
  let demandEstimate = p99;
  /** Saturated and still climbing steeply for only a few minutes: size the raise once it levels off. */
  let climbing: { minutes: number; from: number; to: number } | undefined;
  if (saturated && p99 !== null) {
    // Little's law for a closed workload (a connection pool): demand at normal latency =
    // served x latency / normal latency, minute by minute, capped by maxRaiseFactor.
    const perMinute = total.map((v, i) => {
      const l = latencyValues[i] ?? null;
      if (v === null) return null;
      return l === null ? v : v * Math.min(cfg.maxRaiseFactor, Math.max(1, l / normalLatencySec));
    });
    demandEstimate = Math.max(peak ?? p99, percentile(perMinute, 99) ?? p99);
    // Still climbing (a flash sale ramps up within minutes): allow for the climb to go on until
    // the new IOPS are in effect, at most doubling the estimate.
    const recentSlope = trendPerHour(
      perMinute.slice(-RAMP_LOOKBACK_POINTS),
      obs.recent.readIops.periodSeconds,
    );
    if (recentSlope > 0) {
      demandEstimate = Math.min(demandEstimate + (recentSlope * RAMP_AHEAD_MINUTES) / 60, demandEstimate * 2);
    }
    const d = present(perMinute);
    const last = d[d.length - 1];
    const before = d[d.length - 1 - CLIMB_POINTS];
    const saturatedMinutes = total.filter(
      (v) => v !== null && v >= cfg.saturationUtilization * servedCeiling,
    ).length;
    if (
      last !== undefined &&
      before !== undefined &&
      last > before * CLIMB_FACTOR &&
      saturatedMinutes < MAX_CLIMB_WAIT_MINUTES
    ) {
      climbing = { minutes: saturatedMinutes, from: before, to: last };
    }
  }

  const evidence: Evidence[] = [
    ev('ReadIOPS+WriteIOPS', 'p99', p99, obs.recent.readIops, total, 'Count/Second', effective),
    ev('ReadIOPS+WriteIOPS', 'p95', p95, obs.recent.readIops, total, 'Count/Second'),
    ev('ReadIOPS+WriteIOPS', 'Maximum', peak, obs.recent.readIops, total, 'Count/Second'),
  ];
  if (obs.recent.diskQueueDepth) {
    const q = obs.recent.diskQueueDepth;
    evidence.push(ev('DiskQueueDepth', 'Maximum', maxOf(q.values), q, q.values, 'Count'));
  }
  if (latencyValues.length > 0 && obs.recent.readLatency) {
    evidence.push(
      ev(
        'Read/WriteLatency',
        'p95',
        latencyP95,
        obs.recent.readLatency,
        latencyValues,
        'Seconds',
        normalLatencySec,
      ),
    );
  }

  const detail: IopsDecisionDetail = {
    effectiveIops: effective,
    demandPeak: peak,
    demandEstimate,
    saturated,
    forecastPeak: null,
    stabilizationPeak: null,
  };
  const rules = storageChangeRules(obs.ledger, now);
  const plan = (actions: Action[], noopReason?: string): IopsPolicyResult => ({
    plan: {
      tuner: 'iops',
      resource: ref,
      observedAt: now.toISOString(),
      actions,
      noopReason: actions.length === 0 ? noopReason : undefined,
      noopEvidence: actions.length === 0 ? evidence : undefined,
    },
    detail,
  });

  if (p99 === null || demandEstimate === null) {
    return plan([], 'no ReadIOPS/WriteIOPS datapoints in the window: demand unknown, nothing changed');
  }
  if (climbing) {
    // A change locks storage for >= 6 h: a raise sized in the middle of a steep climb (a flash
    // sale goes 10x within minutes) would be too small and could not be corrected for hours.
    return plan(
      [],
      `saturated for ${climbing.minutes} min and demand still climbing steeply (${Math.round(climbing.from)} -> ${Math.round(climbing.to)} IOPS in ${CLIMB_POINTS} min): sizing the raise when it levels off (at most ${MAX_CLIMB_WAIT_MINUTES} min)`,
    );
  }
  if (!saturated && present(total).length < MIN_RECENT_POINTS) {
    return plan(
      [],
      `only ${present(total).length} datapoints in the window: too few to decide (not saturated)`,
    );
  }

  const current: StorageConfig = {
    storageType: inst.storageType,
    allocatedGiB: inst.allocatedGiB,
    iops: inst.iops,
    throughputMibps: inst.throughputMibps,
    multiAz: inst.multiAz,
  };
  const currentCost = storageMonthlyCost(current, prices);

  // ---- 1. diagnosis before buying: is the instance class the limit?
  const classLimit = classEbsLimit(inst.instanceClass);
  const ebsBalanceMin = obs.recent.ebsIoBalance ? minOf(obs.recent.ebsIoBalance.values) : null;
  if (obs.recent.ebsIoBalance) {
    const b = obs.recent.ebsIoBalance;
    evidence.push(
      ev('EBSIOBalance%', 'Minimum', ebsBalanceMin, b, b.values, 'Percent', cfg.ebsBalanceLowPercent),
    );
  }
  const balanceLow = ebsBalanceMin !== null && ebsBalanceMin < cfg.ebsBalanceLowPercent;
  const atClassMax =
    classLimit !== undefined && peak !== null && peak >= cfg.classLimitUtilization * classLimit.maxIops;
  if (balanceLow || atClassMax) {
    const why = balanceLow
      ? `EBSIOBalance% fell to ${round2(ebsBalanceMin ?? 0)}% (< ${cfg.ebsBalanceLowPercent}%): the instance class ${inst.instanceClass} is out of EBS burst`
      : `peak ${Math.round(peak ?? 0)} IOPS is at the EBS maximum of ${inst.instanceClass} (${classLimit?.maxIops} IOPS)`;
    return plan([
      {
        tuner: 'iops',
        resource: ref,
        kind: 'finding',
        from: { instanceClass: inst.instanceClass, iops: effective },
        to: { instanceClass: 'a larger class' },
        reason: `${why}; more storage IOPS would buy nothing (aws-facts.md, RDS signals for IOPS). Consider a larger instance class.`,
        evidence,
        monthlyCostDelta: 0,
        undo: null,
        mutating: false,
        severity: 'warning',
        params: { classLimit: classLimit ?? null },
      },
    ]);
  }

  // ---- gp2 with a draining BurstBalance: recommend gp3 (aws-facts.md: BurstBalance alarm < 20%).
  if (inst.storageType === 'gp2') {
    const bb = obs.recent.burstBalance;
    const bbMin = bb ? minOf(bb.values) : null;
    const bbFirst = bb ? (present(bb.values)[0] ?? null) : null;
    if (bb)
      evidence.push(
        ev('BurstBalance', 'Minimum', bbMin, bb, bb.values, 'Percent', cfg.burstBalanceLowPercent),
      );
    const bbLast = bb ? (present(bb.values).at(-1) ?? null) : null;
    const overBaseline = p95 !== null && p95 > gp2BaselineIops(inst.allocatedGiB);
    // Draining: below the alarm level (aws-facts.md: BurstBalance < 20%), or demand above the
    // baseline while the balance fell by 10 points or more within the window.
    const draining =
      bbMin !== null &&
      (bbMin < cfg.burstBalanceLowPercent ||
        (overBaseline && bbFirst !== null && bbLast !== null && bbFirst - bbLast >= 10));
    if (draining) {
      return plan([
        gp3Recommendation(inst, ref, cfg, prices, currentCost, evidence, rules, demandEstimate, bbMin),
      ]);
    }
    return plan([], `gp2: BurstBalance ${bbMin === null ? 'unknown' : `${round2(bbMin)}%`} is not draining`);
  }

  // ---- 2/3. what the next lock-out needs. A change blocks further storage changes for 6 h or
  // longer (aws-facts.md), so every level chosen must hold for that long.
  const lockoutMs = Math.max(cfg.lockoutForecastHours * HOUR_MS, STORAGE_CHANGE_WAIT_MS);
  // Served IOPS hide demand while saturated: scale history by its latency ratio (Little's law).
  const hist = demandHistory(
    obs.history.totalIops,
    obs.history.latency,
    normalLatencySec,
    cfg.maxRaiseFactor,
  );
  const t = now.getTime();
  const stabMs = cfg.scaleDownStabilizationMinutes * MINUTE_MS;
  const stabValues = slice(hist, t - stabMs, t);
  const stabPeak = maxOf(stabValues);
  const seasonalValues = slice(hist, t - 24 * HOUR_MS, t - 24 * HOUR_MS + lockoutMs);
  // Day-over-day growth: the peak of the last lock-out-long window against the same window a day
  // earlier (1x to 1.5x), applied to yesterday's peaks.
  const lastLockout = maxOf(slice(hist, t - lockoutMs, t));
  const sameYesterday = maxOf(slice(hist, t - 24 * HOUR_MS - lockoutMs, t - 24 * HOUR_MS));
  const growth =
    lastLockout !== null && sameYesterday !== null && sameYesterday > 0
      ? Math.min(MAX_DAILY_GROWTH, Math.max(1, lastLockout / sameYesterday))
      : 1;
  const seasonalRaw = maxOf(seasonalValues);
  const seasonal = seasonalRaw === null ? null : seasonalRaw * growth;
  /** A peak seen a day ago within the next hour (a known peak arriving soon). */
  const soonRaw = maxOf(slice(hist, t - 24 * HOUR_MS, t - 23 * HOUR_MS));
  const soonPeak = soonRaw === null ? null : soonRaw * growth;
  // Without a day of history, extrapolate the recent trend over the lock-out (capped).
  const slopePerHour = seasonal === null ? trendPerHour(total, obs.recent.readIops.periodSeconds) : 0;
  const extrapolated = Math.min(
    p99 + Math.max(0, slopePerHour) * (lockoutMs / HOUR_MS),
    p99 * TREND_MAX_FACTOR,
  );
  // A climb toward (or just past) a level already reached in the last day, before the recent
  // window, repeats that level (a cycle): it is forecast there, not extrapolated past it.
  const recentMs = obs.recent.readIops.values.length * obs.recent.readIops.periodSeconds * 1000;
  const dayPeakBefore = maxOf(slice(hist, t - 24 * HOUR_MS, t - recentMs));
  const trendPeak =
    dayPeakBefore !== null && demandEstimate <= dayPeakBefore * (1 + cfg.tolerance)
      ? Math.min(extrapolated, Math.max(dayPeakBefore, demandEstimate) * (1 + cfg.tolerance))
      : extrapolated;
  /** Peaks history already showed for this period: known, so `forecastUtilization` applies. */
  const knownPeak = Math.max(seasonal ?? 0, stabPeak ?? 0);
  // A value more than `tolerance` above the known peak is a surprise: it gets the reactive headroom.
  const isSurprise = (x: number) => x > knownPeak * (1 + cfg.tolerance);
  const surprise = isSurprise(Math.max(demandEstimate, trendPeak));
  const atUtilization = (x: number) => x / (isSurprise(x) ? cfg.targetUtilization : cfg.forecastUtilization);
  const forecastPeak = Math.max(knownPeak, demandEstimate, trendPeak);
  detail.forecastPeak = forecastPeak;
  detail.stabilizationPeak = stabPeak;
  const desiredRaw = Math.max(
    knownPeak / cfg.forecastUtilization,
    atUtilization(demandEstimate),
    atUtilization(trendPeak),
  );
  const wanted = roundUp(desiredRaw);
  const neededForPeak = roundUp(demandEstimate / cfg.targetUtilization);
  if (seasonal !== null) {
    evidence.push(
      ev(
        'ReadIOPS+WriteIOPS',
        'Maximum (same hours yesterday)',
        seasonal,
        hist,
        seasonalValues,
        'Count/Second',
      ),
    );
  }
  evidence.push(
    ev(
      'ReadIOPS+WriteIOPS',
      `Maximum over ${cfg.scaleDownStabilizationMinutes} min`,
      stabPeak,
      hist,
      stabValues,
      'Count/Second',
    ),
  );

  // ---- 4. the bounds for this storage
  let gib = inst.allocatedGiB;
  let range: IopsRange = validIopsRange(inst.engine, inst.storageType, gib);
  let growTo: number | undefined;
  const rangeMax = range.settable ? range.max : range.fixedIops;
  if (wanted > rangeMax && (saturated || neededForPeak > rangeMax) && cfg.allowStorageGrowthForIops) {
    // Growing storage only to unlock IOPS is a full data copy across 400 GiB and cannot be undone:
    // only when the config allows it (aws-facts.md, RDS storage).
    const target = Math.min(wanted, cfg.maxIops, classLimit?.maxIops ?? Infinity);
    const size = minStorageForIops(inst.engine, inst.storageType, target, gib);
    if (size !== undefined && size > gib) {
      growTo = size;
      gib = size;
      range = validIopsRange(inst.engine, inst.storageType, gib);
    }
  }

  if (!range.settable) {
    const limited = saturated || neededForPeak > range.fixedIops;
    if (!limited) return plan([], `${range.note}; demand ${Math.round(p99)} IOPS fits`);
    const hint =
      inst.storageType === 'gp3' && inst.allocatedGiB < GP3_STRIPING_GIB
        ? ' Growing to 400 GiB would unlock 12,000-64,000 IOPS (a one-way full data copy; set allowStorageGrowthForIops to let db-autopilot do it), or move to io1/io2.'
        : '';
    return plan([
      {
        tuner: 'iops',
        resource: ref,
        kind: 'finding',
        from: { storageType: inst.storageType, iops: effective },
        to: { iopsNeeded: neededForPeak },
        reason: `demand ${Math.round(demandEstimate)} IOPS needs ${neededForPeak} IOPS but ${range.note}.${hint}`,
        evidence,
        monthlyCostDelta: 0,
        undo: null,
        mutating: false,
        severity: 'warning',
      },
    ]);
  }

  const limitedBy: string[] = [];
  const lo = Math.max(range.min, cfg.minIops);
  let hi = range.max;
  const consider = (value: number, label: string) => {
    if (value < hi) hi = value;
    if (value < wanted) limitedBy.push(label);
  };
  if (range.max < wanted) limitedBy.push(`AWS valid range (${range.note}, max ${range.max} at ${gib} GiB)`);
  consider(cfg.maxIops, `config maxIops ${cfg.maxIops}`);
  if (classLimit)
    consider(classLimit.maxIops, `${inst.instanceClass} EBS maximum ${classLimit.maxIops} IOPS`);
  if (cfg.monthlyCostCeilingUsd !== undefined) {
    const ceilingIops = maxIopsUnderCeiling(inst, gib, cfg.monthlyCostCeilingUsd, prices);
    consider(ceilingIops, `monthly cost ceiling $${cfg.monthlyCostCeilingUsd}`);
  }
  if (lo > hi) {
    // Nothing valid inside every bound (e.g. the ceiling is below AWS's minimum): do not act.
    return plan([
      {
        tuner: 'iops',
        resource: ref,
        kind: 'finding',
        from: effective,
        to: null,
        reason: `no IOPS value satisfies every bound (min ${lo} > max ${hi}: ${limitedBy.join('; ') || 'bounds'})`,
        evidence,
        monthlyCostDelta: 0,
        undo: null,
        mutating: false,
        severity: 'warning',
      },
    ]);
  }
  detail.bounds = { min: lo, max: hi, limitedBy };

  const currentIops = inst.iops ?? effective;
  const clamp = (n: number) => Math.min(hi, Math.max(lo, n));
  const pct = (n: number) => `${Math.round(100 * n)}%`;

  let target: number | undefined;
  let why = '';
  if (currentIops > hi && growTo === undefined) {
    target = hi;
    why = `current ${currentIops} IOPS is above the allowed maximum (${limitedBy.join('; ') || `max ${hi}`})`;
  } else if (
    saturated ||
    growTo !== undefined ||
    currentIops < lo ||
    // Raise when demand nears the current level (or a known peak arrives within the hour); the
    // level then covers the whole lock-out. A rising trend alone never triggers a raise: a raise
    // made too early would lock out the one that is needed later.
    (wanted > currentIops * (1 + cfg.tolerance) &&
      (demandEstimate / cfg.targetUtilization > currentIops * (1 + cfg.tolerance) ||
        (soonPeak ?? 0) / cfg.forecastUtilization > currentIops))
  ) {
    // Saturation means the forecast fell short: the observed demand gets the reactive headroom.
    target = clamp(saturated ? Math.max(wanted, roundUp(demandEstimate / cfg.targetUtilization)) : wanted);
    why = saturated
      ? `storage is saturated (p99 ${Math.round(p99)} of ${effective} IOPS, latency p95 ${fmtMs(latencyP95)}): estimated demand ${Math.round(demandEstimate)} IOPS`
      : `peak demand ${Math.round(p99)} IOPS is ${pct(p99 / currentIops)} of ${currentIops}`;
    why += `; raised to ${target} so the ${Math.round(lockoutMs / HOUR_MS)} h lock-out forecast peak (${Math.round(forecastPeak)} IOPS`;
    why += surprise
      ? `, above anything seen for these hours) sits at ${pct(cfg.targetUtilization)}`
      : `, seen in the last day) sits at ${pct(cfg.forecastUtilization)}`;
    if (slopePerHour > 0 && trendPeak > knownPeak) why += `; rising ${Math.round(slopePerHour)} IOPS/h`;
  } else if (wanted < currentIops * (1 - cfg.scaleDownTolerance)) {
    // Lower only after a full stabilization window of low use, never below the lock-out forecast.
    const expected = stabMs / (hist.periodSeconds * 1000);
    const coverage = expected > 0 ? present(stabValues).length / expected : 1;
    if (coverage < MIN_COVERAGE) {
      return plan(
        [],
        `not lowering: only ${Math.round(coverage * 100)}% of the ${cfg.scaleDownStabilizationMinutes}-minute stabilization window has data`,
      );
    }
    target = clamp(wanted);
    why = `peak demand over the last ${Math.round(cfg.scaleDownStabilizationMinutes / 60)} h was ${Math.round(stabPeak ?? 0)} IOPS and the ${Math.round(lockoutMs / HOUR_MS)} h lock-out forecast is ${Math.round(forecastPeak)} IOPS: ${currentIops} is more than needed; lowered to ${target}`;
  } else {
    return plan(
      [],
      `${currentIops} IOPS fits: peak ${Math.round(p99)} IOPS (${pct(p99 / currentIops)}), stabilization-window peak ${Math.round(stabPeak ?? 0)}, lock-out forecast ${Math.round(forecastPeak)}`,
    );
  }

  if (target === undefined || (target === currentIops && growTo === undefined)) {
    return plan([], `already at ${currentIops} IOPS (${limitedBy.join('; ') || 'no change needed'})`);
  }
  if (limitedBy.length > 0 && target < wanted) why += ` (capped: ${limitedBy.join('; ')})`;

  const next: StorageConfig = {
    storageType: inst.storageType,
    allocatedGiB: gib,
    iops: target,
    throughputMibps: inst.storageType === 'gp3' ? gp3ThroughputFor(target, inst.throughputMibps) : undefined,
    multiAz: inst.multiAz,
  };
  const delta = round2(storageMonthlyCost(next, prices) - currentCost);
  if (target < currentIops && -delta < cfg.minMonthlySavingUsd) {
    return plan(
      [],
      `lowering to ${target} would save only $${round2(-delta)}/month (< $${cfg.minMonthlySavingUsd}); not worth a 6 h storage lock-out`,
    );
  }

  const params: Record<string, unknown> = { AllocatedStorage: gib, Iops: target };
  if (next.throughputMibps !== undefined) params.StorageThroughput = next.throughputMibps;
  if (growTo !== undefined) params.growsStorage = true;
  const undoParams: Record<string, unknown> = {
    AllocatedStorage: gib,
    Iops: currentIops,
    waitRule: UNDO_WAIT_NOTE,
  };
  if (inst.storageType === 'gp3')
    undoParams.StorageThroughput = inst.throughputMibps ?? GP3_LARGE_INCLUDED_MIBPS;
  const action: Action = {
    tuner: 'iops',
    resource: ref,
    kind: 'set-iops',
    from: currentIops,
    to: target,
    reason:
      why +
      (growTo !== undefined
        ? `; storage grows ${inst.allocatedGiB} -> ${gib} GiB (allowed by allowStorageGrowthForIops; cannot be undone)`
        : ''),
    evidence,
    monthlyCostDelta: delta,
    undo: {
      kind: 'set-iops',
      params: undoParams,
      ...(growTo !== undefined
        ? { impossibleBecause: 'storage never shrinks: only the IOPS can be set back' }
        : {}),
    },
    mutating: true,
    numericTarget: target,
    rules,
    params,
    severity: target > currentIops ? (saturated ? 'warning' : 'info') : 'info',
  };
  return plan([action]);
}

function gp3Recommendation(
  inst: RdsStorageInstance,
  ref: ResourceRef,
  cfg: IopsPolicySettings,
  prices: PriceTable,
  currentCost: number,
  evidence: Evidence[],
  rules: RuleCheck[],
  demand: number,
  burstMin: number | null,
): Action {
  const large = inst.allocatedGiB >= GP3_STRIPING_GIB;
  const gp3Iops = large ? GP3_LARGE_INCLUDED_IOPS : GP3_SMALL_BASELINE_IOPS;
  const next: StorageConfig = {
    storageType: 'gp3',
    allocatedGiB: inst.allocatedGiB,
    iops: large ? gp3Iops : undefined,
    throughputMibps: large ? GP3_LARGE_INCLUDED_MIBPS : undefined,
    multiAz: inst.multiAz,
  };
  const delta = round2(storageMonthlyCost(next, prices) - currentCost);
  const fits = demand <= cfg.targetUtilization * gp3Iops;
  const reason =
    `gp2 BurstBalance is draining (${burstMin === null ? 'unknown' : `${round2(burstMin)}%`} at its lowest in the window, falling under demand above the baseline); ` +
    `gp2 gives ${gp2BaselineIops(inst.allocatedGiB)} IOPS baseline at ${inst.allocatedGiB} GiB, gp3 gives ${gp3Iops} IOPS without bursting ` +
    `for $${delta >= 0 ? '+' : ''}${delta}/month.` +
    (fits ? '' : ` Demand ${Math.round(demand)} IOPS exceeds that too: consider io1/io2 or >= 400 GiB gp3.`) +
    ' Moving standard <-> Provisioned IOPS storage can take up to days; gp2 -> gp3 runs online but is a storage change (6 h wait).';
  const params: Record<string, unknown> = { StorageType: 'gp3', AllocatedStorage: inst.allocatedGiB };
  if (large) {
    params.Iops = gp3Iops;
    params.StorageThroughput = GP3_LARGE_INCLUDED_MIBPS;
  }
  const mutating = cfg.allowStorageTypeChange;
  return {
    tuner: 'iops',
    resource: ref,
    kind: mutating ? 'set-storage-type' : 'recommend',
    from: { storageType: 'gp2', allocatedGiB: inst.allocatedGiB, iops: gp2BaselineIops(inst.allocatedGiB) },
    to: { storageType: 'gp3', allocatedGiB: inst.allocatedGiB, iops: gp3Iops },
    reason: mutating ? reason : `${reason} (allowStorageTypeChange is off: recommendation only)`,
    evidence,
    monthlyCostDelta: delta,
    undo: mutating
      ? {
          kind: 'set-storage-type',
          params: { StorageType: 'gp2', AllocatedStorage: inst.allocatedGiB, waitRule: UNDO_WAIT_NOTE },
        }
      : null,
    mutating,
    rules: mutating ? rules : undefined,
    params,
    severity: 'warning',
  };
}

/** Highest IOPS whose monthly storage bill stays within the ceiling (at `gib`). */
export function maxIopsUnderCeiling(
  inst: RdsStorageInstance,
  gib: number,
  ceilingUsd: number,
  prices: PriceTable,
): number {
  const base: StorageConfig = {
    storageType: inst.storageType,
    allocatedGiB: gib,
    iops: 0,
    throughputMibps: inst.throughputMibps,
    multiAz: inst.multiAz,
  };
  if (inst.storageType === 'gp3') {
    const included = gib >= GP3_STRIPING_GIB ? GP3_LARGE_INCLUDED_IOPS : GP3_SMALL_BASELINE_IOPS;
    const fixed = storageMonthlyCost({ ...base, iops: included }, prices);
    const unit = storageMonthlyCost({ ...base, iops: included + 1000 }, prices) - fixed;
    if (unit <= 0) return Number.MAX_SAFE_INTEGER;
    return included + Math.floor(((ceilingUsd - fixed) / unit) * 1000);
  }
  const fixed = storageMonthlyCost(base, prices);
  const unit = storageMonthlyCost({ ...base, iops: 1000 }, prices) - fixed;
  if (unit <= 0) return Number.MAX_SAFE_INTEGER;
  return Math.floor(((ceilingUsd - fixed) / unit) * 1000);
}

/**
 * History of demand: peak served IOPS per period, scaled up by the period's latency ratio when
 * it was saturated (served IOPS are capped by what was provisioned; latency shows the rest).
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
    return v * Math.min(maxFactor, Math.max(1, l / normalLatencySec));
  });
  return { ...served, values };
}

/** Least-squares slope of a per-period series, in IOPS per hour (0 with too few points). */
export function trendPerHour(values: Array<number | null>, periodSeconds: number): number {
  const pts: Array<[number, number]> = [];
  values.forEach((v, i) => {
    if (v !== null && Number.isFinite(v)) pts.push([i, v]);
  });
  if (pts.length < 10) return 0;
  const n = pts.length;
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * (3600 / periodSeconds);
}

function combineLatency(read?: MetricSeries, write?: MetricSeries): Array<number | null> {
  if (!read && !write) return [];
  const r = read?.values ?? [];
  const w = write?.values ?? [];
  const n = Math.max(r.length, w.length);
  const out: Array<number | null> = [];
  for (let i = 0; i < n; i++) {
    const a = r[i] ?? null;
    const b = w[i] ?? null;
    out.push(a === null ? b : b === null ? a : Math.max(a, b));
  }
  return out;
}

/** Unsaturated latency (ms): the 10th percentile of the history's latency, at most the configured one. */
function normalLatency(obs: IopsObservation, cfg: IopsPolicySettings): number {
  // Never above the configured normal latency: a history that was saturated throughout would
  // otherwise make saturation look normal.
  const lat = obs.history.latency ? percentile(obs.history.latency.values, 10) : null;
  return lat !== null && lat > 0 ? Math.min(lat * 1000, cfg.normalLatencyMs) : cfg.normalLatencyMs;
}

function fmtMs(sec: number | null): string {
  return sec === null ? 'unknown' : `${round2(sec * 1000)} ms`;
}

/** The policy's settings from the config's `tuners.iops` section (every field has a default). */
export function policySettings(section: IopsSection): IopsPolicySettings {
  return {
    targetUtilization: section.targetUtilization,
    forecastUtilization: section.forecastUtilization,
    tolerance: section.tolerance,
    scaleDownTolerance: section.scaleDownTolerance,
    minMonthlySavingUsd: section.minMonthlySavingUsd,
    minIops: section.minIops,
    maxIops: section.maxIops,
    monthlyCostCeilingUsd: section.monthlyCostCeilingUsd,
    scaleDownStabilizationMinutes: section.scaleDownStabilizationMinutes,
    lockoutForecastHours: section.lockoutForecastHours,
    saturationUtilization: section.saturationUtilization,
    maxRaiseFactor: section.maxRaiseFactor,
    normalLatencyMs: section.normalLatencyMs,
    burstBalanceLowPercent: section.burstBalanceLowPercent,
    ebsBalanceLowPercent: section.ebsBalanceLowPercent,
    classLimitUtilization: section.classLimitUtilization,
    allowStorageGrowthForIops: section.allowStorageGrowthForIops,
    allowStorageTypeChange: section.allowStorageTypeChange,
  };
}
