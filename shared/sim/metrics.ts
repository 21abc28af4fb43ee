import type { SimAccount } from './engine.ts';

/**
 * Metric histories, computed lazily minute by minute from the workload models.
 *
 * A resource owns a MinuteSeries: a step function that, called for each minute in order from the
 * account's history start, writes that minute's datapoints (value and, for per-request metrics,
 * a sample count). Minutes are computed once and kept in columns (typed arrays in pages, see
 * Column), so a 14-day query over a small fleet and a 1-hour query over thousands of resources are
 * both cheap.
 * Only finished minutes exist: minute m is readable once the clock is past its end.
 *
 * A minute with no datapoint (NaN) is "missing": counters (throttle events) write nothing in
 * quiet minutes, as CloudWatch does (aws-facts.md, CloudWatch: "Throttle and error counters have
 * no datapoint in quiet minutes").
 */
export interface MinutePoint {
  /** Gauge value, or the minute's Sum for counters and consumed capacity. */
  value: number;
  /** Samples in the minute (requests for per-request metrics, 1 for gauges). */
  count: number;
  /**
   * Share of the minute's samples CloudWatch has published (default 1). The newest published
   * minute is partial (services/cloudwatch.ts): its Sum and SampleCount hold this share, its
   * Average, Maximum, Minimum and percentiles are those of the samples that arrived.
   */
  published?: number;
}

export interface FrameWriter {
  /** Records a datapoint for this minute. Omit the call (or pass undefined) for no datapoint. */
  put(metric: string, value: number | undefined, count?: number): void;
}

export type StepFn = (minute: number, out: FrameWriter) => void;

/** Minutes per page of a metric column (a power of two: index arithmetic is a shift and a mask). */
const PAGE_BITS = 11;
const PAGE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE - 1;

/**
 * One metric's minutes, in pages of PAGE minutes allocated when a datapoint is first written in
 * them: a counter that is quiet for days (throttle events) holds no page for those days, and the
 * column never copies itself to grow. Sample counts get pages only where a count other than 1 was
 * written (gauges never do).
 */
interface Column {
  v: Array<Float64Array | undefined>;
  c: Array<Float64Array | undefined>;
}

export class MinuteSeries implements FrameWriter {
  private computed = 0;
  private readonly cols = new Map<string, Column>();
  private current = 0;

  constructor(
    readonly startMinute: number,
    private readonly step: StepFn,
  ) {}

  /** Computes every minute before `endMinuteExclusive` that is not computed yet. */
  ensure(endMinuteExclusive: number): void {
    const target = endMinuteExclusive - this.startMinute;
    if (target <= this.computed) return;
    for (let i = this.computed; i < target; i++) {
      this.current = i;
      this.step(this.startMinute + i, this);
    }
    this.computed = target;
  }

  put(metric: string, value: number | undefined, count = 1): void {
    if (value === undefined || !Number.isFinite(value)) return;
    let col = this.cols.get(metric);
    if (!col) {
      col = { v: [], c: [] };
      this.cols.set(metric, col);
    }
    const page = this.current >>> PAGE_BITS;
    const at = this.current & PAGE_MASK;
    let v = col.v[page];
    if (!v) {
      v = new Float64Array(PAGE).fill(Number.NaN);
      col.v[page] = v;
    }
    v[at] = value;
    let c = col.c[page];
    if (!c && count !== 1) {
      c = new Float64Array(PAGE).fill(1);
      col.c[page] = c;
    }
    if (c) c[at] = count;
  }

  get(metric: string, minute: number): MinutePoint | undefined {
    const i = minute - this.startMinute;
    if (i < 0 || i >= this.computed) return undefined;
    const col = this.cols.get(metric);
    if (!col) return undefined;
    const page = i >>> PAGE_BITS;
    const v = col.v[page]?.[i & PAGE_MASK];
    if (v === undefined || Number.isNaN(v)) return undefined;
    return { value: v, count: col.c[page]?.[i & PAGE_MASK] ?? 1 };
  }
}

/** A readable metric: the datapoint of one minute, or undefined (no datapoint). */
export type MetricSource = (minute: number) => MinutePoint | undefined;

export type MetricResolver = (
  sim: SimAccount,
  metricName: string,
  dimensions: Record<string, string>,
) => MetricSource | undefined;

const resolvers = new Map<string, MetricResolver[]>();

/** Adds a source of metrics for a namespace (tuner engineers: add yours in your own sim file). */
export function registerMetricResolver(namespace: string, resolver: MetricResolver): void {
  const list = resolvers.get(namespace) ?? [];
  if (!list.includes(resolver)) list.push(resolver);
  resolvers.set(namespace, list);
}

export function resolveMetric(
  sim: SimAccount,
  namespace: string,
  metricName: string,
  dimensions: Record<string, string>,
): MetricSource | undefined {
  for (const r of resolvers.get(namespace) ?? []) {
    const source = r(sim, metricName, dimensions);
    if (source) return source;
  }
  return undefined;
}

/** Reads a series for a resource, making sure the minutes up to the clock are computed. */
export function seriesSource(sim: SimAccount, series: MinuteSeries, metric: string): MetricSource {
  return (minute) => {
    const end = sim.completedMinutes();
    if (minute >= end) return undefined;
    series.ensure(Math.min(end, minute + 1));
    return series.get(metric, minute);
  };
}

/** CloudWatch statistics over the minutes of one period. */
export function aggregate(points: MinutePoint[], stat: string): number | undefined {
  if (points.length === 0) return undefined;
  switch (stat) {
    case 'Average': {
      const s = points.reduce((a, p) => a + p.value * (p.published ?? 1), 0);
      const n = points.reduce((a, p) => a + p.count * (p.published ?? 1), 0);
      return n > 0 ? s / n : 0;
    }
    case 'Sum':
      return points.reduce((a, p) => a + p.value * (p.published ?? 1), 0);
    case 'SampleCount':
      return points.reduce((a, p) => a + Math.round(p.count * (p.published ?? 1)), 0);
    case 'Maximum':
      return points.reduce((a, p) => Math.max(a, p.value), Number.NEGATIVE_INFINITY);
    case 'Minimum':
      return points.reduce((a, p) => Math.min(a, p.value), Number.POSITIVE_INFINITY);
    default: {
      const m = /^p(\d{1,2}(?:\.\d+)?)$/.exec(stat);
      if (!m?.[1]) return undefined;
      const q = Number(m[1]) / 100;
      const sorted = points.map((p) => p.value).sort((a, b) => a - b);
      const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
      return sorted[idx];
    }
  }
}

export function isSupportedStat(stat: string): boolean {
  return (
    ['Average', 'Sum', 'SampleCount', 'Maximum', 'Minimum'].includes(stat) || /^p\d{1,2}(\.\d+)?$/.test(stat)
  );
}
