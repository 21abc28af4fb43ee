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
  const period = new PeriodStatistic(stat);
  for (const p of points) period.add(p);
  return period.value();
}

/**
 * One CloudWatch statistic of one period, fed its minutes one by one: what `aggregate` returns for
 * the same points in the same order (the same sums, in the same order, so the same floating-point
 * result), without an array of the period's points. GetMetricData and alarm evaluation read
 * millions of minutes per simulated hour at fleet scale; they fold each minute in as it is read.
 */
export class PeriodStatistic {
  private readonly kind: 'Average' | 'Sum' | 'SampleCount' | 'Maximum' | 'Minimum' | 'percentile' | 'unknown';
  private readonly quantile: number = 0;
  private n = 0;
  private sum = 0;
  private samples = 0;
  private extreme = 0;
  private values: number[] = [];

  constructor(stat: string) {
    if (
      stat === 'Average' ||
      stat === 'Sum' ||
      stat === 'SampleCount' ||
      stat === 'Maximum' ||
      stat === 'Minimum'
    ) {
      this.kind = stat;
    } else {
      const m = /^p(\d{1,2}(?:\.\d+)?)$/.exec(stat);
      this.kind = m?.[1] ? 'percentile' : 'unknown';
      if (m?.[1]) this.quantile = Number(m[1]) / 100;
    }
    this.reset();
  }

  /** Starts a new period. */
  reset(): void {
    this.n = 0;
    this.sum = 0;
    this.samples = 0;
    this.extreme = this.kind === 'Minimum' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    if (this.values.length > 0) this.values = [];
  }

  add(p: MinutePoint): void {
    this.n += 1;
    switch (this.kind) {
      case 'Average':
        this.sum += p.value * (p.published ?? 1);
        this.samples += p.count * (p.published ?? 1);
        return;
      case 'Sum':
        this.sum += p.value * (p.published ?? 1);
        return;
      case 'SampleCount':
        this.samples += Math.round(p.count * (p.published ?? 1));
        return;
      case 'Maximum':
        this.extreme = Math.max(this.extreme, p.value);
        return;
      case 'Minimum':
        this.extreme = Math.min(this.extreme, p.value);
        return;
      case 'percentile':
        this.values.push(p.value);
        return;
      default:
        return;
    }
  }

  /** The statistic of the minutes added since the last reset (undefined: none, or unknown stat). */
  value(): number | undefined {
    if (this.n === 0) return undefined;
    switch (this.kind) {
      case 'Average':
        return this.samples > 0 ? this.sum / this.samples : 0;
      case 'Sum':
        return this.sum;
      case 'SampleCount':
        return this.samples;
      case 'Maximum':
      case 'Minimum':
        return this.extreme;
      case 'percentile': {
        const sorted = this.values.sort((a, b) => a - b);
        const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(this.quantile * sorted.length) - 1));
        return sorted[idx];
      }
      default:
        return undefined;
    }
  }
}

export function isSupportedStat(stat: string): boolean {
  return (
    ['Average', 'Sum', 'SampleCount', 'Maximum', 'Minimum'].includes(stat) || /^p\d{1,2}(\.\d+)?$/.test(stat)
  );
}
