/**
 * Step 1 of the IOPS decision: what the volume served and what its latency and queue say about
 * demand it could not serve. Only what CloudWatch publishes (ReadIOPS/WriteIOPS served, capped
 * by what is provisioned; Read/WriteLatency; DiskQueueDepth; EBSIOBalance%; BurstBalance;
 * FreeStorageSpace): demand above the provisioned IOPS is never given, it is estimated, and the
 * estimate is rough (noisy signals, a queue bounded by the application's sessions). Pure.
 */
import { effectiveStorageIops, GP2_BURST_IOPS } from '../aws/rds-storage-limits.ts';
import type { Evidence } from '../core/model.ts';
import type { IopsObservation, IopsPolicySettings } from './iops.ts';
import { round2 } from './iops-cost.ts';
import {
  combineLatency,
  downsample,
  type MetricSeries,
  maxOf,
  minOf,
  percentile,
  present,
  sumSeries,
  trendPerHour,
  windowOf,
} from './iops-series.ts';

export interface IopsSignals {
  /** ReadIOPS + WriteIOPS per minute (served). */
  total: Array<number | null>;
  p99: number | null;
  p95: number | null;
  peak: number | null;
  /** The IOPS the volume delivers now (settable or not). */
  effective: number;
  /** What served IOPS top out at (gp2: its burst level). */
  servedCeiling: number;
  saturated: boolean;
  saturatedMinutes: number;
  latency: Array<number | null>;
  latencyP95: number | null;
  normalLatencySec: number;
  ebsBalanceMin: number | null;
  freeBytesMin: number | null;
}

export interface DemandEstimate {
  /** Peak demand (IOPS) the volume was asked for, as well as the signals tell. */
  value: number | null;
  /** Per minute: served IOPS, scaled by the pressure while saturated (for the trend). */
  perMinute: Array<number | null>;
  /** Saturated and still climbing steeply for a few minutes: size the raise once it levels off. */
  climbing?: { minutes: number; from: number; to: number };
}

/**
 * How much slower than normal a volume is at its limit before demand exceeds it (queueing near
 * full utilization; noise adds tens of percent on top): a period at least this slow was
 * saturated, and only the rise past it counts as demand above what was served.
 */
export const KNEE_LATENCY_RATIO = 1.5;
/** While saturated and climbing: slope over the last points, extrapolated this far ahead. */
const RAMP_LOOKBACK_POINTS = 10;
const RAMP_AHEAD_MINUTES = 15;
/** Saturated demand that grew by more than this factor over CLIMB_POINTS minutes is still climbing. */
const CLIMB_POINTS = 3;
const CLIMB_FACTOR = 1.2;
/** Wait at most this many saturated minutes for a climb to level off before raising anyway. */
export const MAX_CLIMB_WAIT_MINUTES = 10;
/** Fewer saturated minutes than this: too early to size a raise (the start of a climb). */
const MIN_SATURATED_TO_SIZE = 3;
/** The saturated estimate is the high percentile of the last minutes (robust to one noisy minute). */
const ESTIMATE_POINTS = 10;
const ESTIMATE_PERCENTILE = 80;

export function readSignals(obs: IopsObservation, cfg: IopsPolicySettings): IopsSignals {
  const inst = obs.instance;
  const total = sumSeries(obs.recent.readIops, obs.recent.writeIops);
  const p99 = percentile(total, 99);
  const effective = effectiveStorageIops(inst.storageType, inst.allocatedGiB, inst.iops, inst.engine);
  // gp2 serves up to its burst level while BurstBalance lasts (aws-facts.md table).
  const servedCeiling =
    inst.storageType === 'gp2' ? Math.max(effective, GP2_BURST_IOPS) : Math.max(effective, 1);
  const latency = combineLatency(obs.recent.readLatency, obs.recent.writeLatency);
  const atCeiling = (v: number | null) => v !== null && v >= cfg.saturationUtilization * servedCeiling;
  return {
    total,
    p99,
    p95: percentile(total, 95),
    peak: maxOf(total),
    effective,
    servedCeiling,
    saturated: atCeiling(p99),
    saturatedMinutes: total.filter(atCeiling).length,
    latency,
    latencyP95: percentile(latency, 95),
    normalLatencySec: normalLatency(obs, cfg) / 1000,
    ebsBalanceMin: obs.recent.ebsIoBalance ? minOf(obs.recent.ebsIoBalance.values) : null,
    freeBytesMin: obs.recent.freeStorageSpace ? minOf(obs.recent.freeStorageSpace.values) : null,
  };
}

/**
 * How far above what was served demand went, per minute: the geometric mean of the latency ratio
 * and the queue ratio (each against an unsaturated volume: latency at normal, queue = served x
 * normal latency, Little's law), clamped to [1, maxRaiseFactor]. The knee is not taken off here:
 * the normal latency may be an upper bound (a history saturated throughout), and a raise that
 * falls short stays saturated through a lock-out. Two noisy signals averaged; a
 * closed workload's IOs in flight are bounded by its sessions, so a large excess reads low.
 */
export function pressurePerMinute(
  obs: IopsObservation,
  s: IopsSignals,
  cfg: IopsPolicySettings,
): Array<number | null> {
  const queue = obs.recent.diskQueueDepth?.values ?? [];
  return s.total.map((served, i) => {
    if (served === null || served <= 0) return null;
    const ratios: number[] = [];
    const l = s.latency[i] ?? null;
    if (l !== null && s.normalLatencySec > 0) ratios.push(l / s.normalLatencySec);
    const q = queue[i] ?? null;
    if (q !== null && s.normalLatencySec > 0) ratios.push(q / (served * s.normalLatencySec));
    if (ratios.length === 0) return 1;
    const g = Math.exp(ratios.reduce((a, r) => a + Math.log(Math.max(r, 1e-6)), 0) / ratios.length);
    return Math.min(cfg.maxRaiseFactor, Math.max(1, g));
  });
}

/** Peak demand: served IOPS when not saturated; when saturated, scaled up by the pressure. */
export function estimateDemand(
  obs: IopsObservation,
  s: IopsSignals,
  cfg: IopsPolicySettings,
): DemandEstimate {
  if (s.p99 === null) return { value: null, perMinute: s.total };
  if (!s.saturated) return { value: s.p99, perMinute: s.total };
  const pressure = pressurePerMinute(obs, s, cfg);
  const perMinute = s.total.map((v, i) => (v === null ? null : v * (pressure[i] ?? 1)));
  const lastSaturated = perMinute.filter((_, i) => {
    const v = s.total[i] ?? null;
    return v !== null && v >= cfg.saturationUtilization * s.servedCeiling;
  });
  let value = Math.max(
    s.peak ?? s.p99,
    percentile(lastSaturated.slice(-ESTIMATE_POINTS), ESTIMATE_PERCENTILE) ?? s.p99,
  );
  // Still climbing (a flash sale ramps up within minutes): allow for the climb to go on until the
  // new IOPS are in effect, at most doubling the estimate.
  const slope = trendPerHour(perMinute.slice(-RAMP_LOOKBACK_POINTS), obs.recent.readIops.periodSeconds);
  if (slope > 0) value = Math.min(value + (slope * RAMP_AHEAD_MINUTES) / 60, value * 2);
  // Never more than maxRaiseFactor times what the volume delivers (a guess beyond it is a guess).
  value = Math.min(value, s.servedCeiling * cfg.maxRaiseFactor);
  // Climbing: the median of 3 minutes now against 3 minutes earlier (one noisy minute is no climb).
  const d = present(perMinute);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const now = d.length >= 2 * CLIMB_POINTS ? med(d.slice(-CLIMB_POINTS)) : undefined;
  const before = d.length >= 2 * CLIMB_POINTS ? med(d.slice(-2 * CLIMB_POINTS, -CLIMB_POINTS)) : undefined;
  // Saturation that just began is sized once a few minutes show where it goes.
  const justBegan = s.saturatedMinutes < MIN_SATURATED_TO_SIZE;
  const climbing =
    (justBegan || (now !== undefined && before !== undefined && now > before * CLIMB_FACTOR)) &&
    s.saturatedMinutes < MAX_CLIMB_WAIT_MINUTES
      ? { minutes: s.saturatedMinutes, from: before ?? s.p99, to: now ?? value }
      : undefined;
  return { value, perMinute, climbing };
}

/**
 * Unsaturated latency (s x 1000 = ms): the median of the long window's latency, at most the
 * configured one (a history saturated throughout would otherwise make saturation look normal).
 */
function normalLatency(obs: IopsObservation, cfg: IopsPolicySettings): number {
  const lat = obs.history.latency ? percentile(obs.history.latency.values, 50) : null;
  return lat !== null && lat > 0 ? Math.min(lat * 1000, cfg.normalLatencyMs) : cfg.normalLatencyMs;
}

/** One piece of evidence on an AWS/RDS metric of the instance. */
export function rdsEvidence(
  instanceId: string,
  metric: string,
  statistic: string,
  value: number | null,
  series: MetricSeries,
  values: Array<number | null>,
  unit?: string,
  threshold?: number,
): Evidence {
  return {
    metric,
    statistic,
    value: value === null ? null : round2(value),
    unit,
    window: windowOf(series),
    namespace: 'AWS/RDS',
    dimensions: { DBInstanceIdentifier: instanceId },
    series: downsample(values),
    threshold,
  };
}

/** The evidence every IOPS decision carries: served IOPS, queue depth, latency, balances, free space. */
export function signalEvidence(obs: IopsObservation, s: IopsSignals, cfg: IopsPolicySettings): Evidence[] {
  const id = obs.instance.id;
  const r = obs.recent;
  const out: Evidence[] = [
    rdsEvidence(id, 'ReadIOPS+WriteIOPS', 'p99', s.p99, r.readIops, s.total, 'Count/Second', s.effective),
    rdsEvidence(id, 'ReadIOPS+WriteIOPS', 'p95', s.p95, r.readIops, s.total, 'Count/Second'),
    rdsEvidence(id, 'ReadIOPS+WriteIOPS', 'Maximum', s.peak, r.readIops, s.total, 'Count/Second'),
  ];
  if (r.diskQueueDepth) {
    const q = r.diskQueueDepth;
    out.push(rdsEvidence(id, 'DiskQueueDepth', 'Maximum', maxOf(q.values), q, q.values, 'Count'));
  }
  if (s.latency.length > 0 && r.readLatency) {
    out.push(
      rdsEvidence(
        id,
        'Read/WriteLatency',
        'p95',
        s.latencyP95,
        r.readLatency,
        s.latency,
        'Seconds',
        s.normalLatencySec,
      ),
    );
  }
  if (r.ebsIoBalance) {
    const b = r.ebsIoBalance;
    out.push(
      rdsEvidence(
        id,
        'EBSIOBalance%',
        'Minimum',
        s.ebsBalanceMin,
        b,
        b.values,
        'Percent',
        cfg.ebsBalanceLowPercent,
      ),
    );
  }
  if (r.freeStorageSpace) {
    const f = r.freeStorageSpace;
    out.push(rdsEvidence(id, 'FreeStorageSpace', 'Minimum', s.freeBytesMin, f, f.values, 'Bytes'));
  }
  return out;
}
