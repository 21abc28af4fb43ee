/**
 * Series arithmetic for the IOPS policy (shared/policies/iops.ts): CloudWatch series as the tuner
 * reads them (oldest first, one value per period, null = no datapoint). Pure.
 */
import type { Evidence } from '../core/model.ts';
import { round2 } from './iops-cost.ts';

/** A metric series, oldest first, one value per period (null = no datapoint). */
export interface MetricSeries {
  start: string;
  periodSeconds: number;
  values: Array<number | null>;
  statistic: string;
}

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

export function present(values: Array<number | null>): number[] {
  return values.filter((v): v is number => v !== null && Number.isFinite(v));
}

/** Nearest-rank percentile of the present values, null when none. */
export function percentile(values: Array<number | null>, p: number): number | null {
  const xs = present(values).sort((x, y) => x - y);
  if (xs.length === 0) return null;
  const rank = Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1));
  return xs[rank] ?? null;
}

export function maxOf(values: Array<number | null>): number | null {
  const xs = present(values);
  return xs.length === 0 ? null : Math.max(...xs);
}

export function minOf(values: Array<number | null>): number | null {
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

export function windowOf(series: MetricSeries): Evidence['window'] {
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

/** Least-squares slope of a per-period series, in units per hour (0 with fewer than 10 points). */
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

/**
 * A least-squares trend with its t-statistic (slope / its standard error): how sure the data is
 * that demand is moving at all. Fewer than 3 points: no trend (slope 0, t 0).
 */
export function trendFit(
  values: Array<number | null>,
  periodSeconds: number,
): { slopePerHour: number; t: number; points: number } {
  const pts: Array<[number, number]> = [];
  values.forEach((v, i) => {
    if (v !== null && Number.isFinite(v)) pts.push([i, v]);
  });
  const n = pts.length;
  if (n < 3) return { slopePerHour: 0, t: 0, points: n };
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of pts) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  if (sxx === 0) return { slopePerHour: 0, t: 0, points: n };
  const slope = sxy / sxx;
  const sse = pts.reduce((a, [x, y]) => a + (y - my - slope * (x - mx)) ** 2, 0);
  const se = Math.sqrt(sse / (n - 2) / sxx);
  const t = se === 0 ? (slope === 0 ? 0 : Number.POSITIVE_INFINITY) * Math.sign(slope) : slope / se;
  return { slopePerHour: slope * (3600 / periodSeconds), t: Number.isNaN(t) ? 0 : t, points: n };
}

/** Per period, the larger of read and write latency (either alone when the other is missing). */
export function combineLatency(read?: MetricSeries, write?: MetricSeries): Array<number | null> {
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
