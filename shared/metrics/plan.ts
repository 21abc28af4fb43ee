import type { MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import { ValidationError } from '../core/errors.ts';
import { zodIssues } from '../handler/wrap.ts';

/**
 * Pure planning of GetMetricData requests: "these series, this window, this period, these
 * statistics" -> the fewest requests. No SDK call, no clock (`now` is an argument).
 *
 * Limits (CloudWatch API reference, GetMetricData; aws-facts.md "CloudWatch"):
 * - at most 500 MetricDataQuery structures per request (metric math expressions and their
 *   inputs included), and at most 100,800 datapoints returned per request;
 * - so the fewest calls is max(ceil(queries / 500), ceil(datapoints / 100,800)).
 * Retention (same page): periods < 60 s are kept 3 hours, 60 s 15 days, 300 s 63 days,
 * 3600 s 455 days.
 */
export const MAX_QUERIES_PER_REQUEST = 500;
export const MAX_DATAPOINTS_PER_REQUEST = 100_800;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** [age of the window start, finest period kept that long], finest first. */
export const RETENTION: ReadonlyArray<{ maxAgeMs: number; minPeriodSeconds: number }> = [
  { maxAgeMs: 3 * HOUR_MS, minPeriodSeconds: 1 },
  { maxAgeMs: 15 * DAY_MS, minPeriodSeconds: 60 },
  { maxAgeMs: 63 * DAY_MS, minPeriodSeconds: 300 },
  { maxAgeMs: 455 * DAY_MS, minPeriodSeconds: 3600 },
];

const statistic = z.union([
  z.enum(['Average', 'Sum', 'Maximum', 'Minimum', 'SampleCount']),
  z
    .string()
    .regex(/^p\d{1,2}(\.\d{1,2})?$/, 'a statistic: Average, Sum, Maximum, Minimum, SampleCount or pNN'),
]);

export const metricRefSchema = z
  .object({
    namespace: z.string().min(1).max(255),
    metricName: z.string().min(1).max(255),
    dimensions: z.record(z.string().min(1).max(255), z.string().min(1).max(1024)).default({}),
  })
  .strict();

export const seriesRequestSchema = z
  .object({
    /** The caller's key for this series (unique in one query). */
    id: z.string().min(1),
    /**
     * counter: no datapoint means nothing happened (throttle events, errors): missing = 0.
     * gauge: no datapoint means unknown (IOPS, CPU, queue depth): missing = null.
     * (aws-facts.md "CloudWatch": throttle and error counters have no datapoint in quiet minutes.)
     */
    kind: z.enum(['counter', 'gauge']),
    statistic,
    /** One metric, or the sum of several (e.g. ReadIOPS + WriteIOPS) when only the sum is wanted. */
    metric: metricRefSchema.optional(),
    sumOf: z.array(metricRefSchema).min(2).max(10).optional(),
  })
  .strict()
  .refine((s) => (s.metric === undefined) !== (s.sumOf === undefined), {
    message: 'give exactly one of metric or sumOf',
  });

export const metricsQuerySchema = z
  .object({
    series: z.array(seriesRequestSchema),
    start: z.date(),
    end: z.date(),
    periodSeconds: z.number().int().positive(),
    now: z.date(),
    /**
     * How long after a period ends CloudWatch has all of it (aws-facts.md, CloudWatch: the newest
     * one to a few minutes are missing or still filling). Until then a counter with no datapoint
     * is unknown (null), not zero. Default 180 s: a 2-minute publication delay plus the minute
     * still filling.
     */
    publicationDelaySeconds: z.number().int().min(0).max(3600).default(180),
  })
  .strict()
  .refine((q) => q.end.getTime() > q.start.getTime(), { message: 'end must be after start', path: ['end'] })
  .refine((q) => new Set(q.series.map((s) => s.id)).size === q.series.length, {
    message: 'series ids must be unique',
    path: ['series'],
  });

export type MetricRef = z.input<typeof metricRefSchema>;
export type SeriesRequest = z.input<typeof seriesRequestSchema>;
export type MetricsQuery = z.input<typeof metricsQuerySchema>;
type ParsedQuery = z.output<typeof metricsQuerySchema>;
type ParsedSeries = ParsedQuery['series'][number];

export function parseMetricsQuery(input: MetricsQuery): ParsedQuery {
  const result = metricsQuerySchema.safeParse(input);
  if (!result.success) {
    const issues = zodIssues(result.error, 'metricsQuery');
    throw new ValidationError(
      `invalid metrics query: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  return result.data;
}

/**
 * The period to use: at least the requested one, at least the finest period CloudWatch still
 * keeps for data as old as the window start, and a multiple of it. Periods of 60 s or more are
 * multiples of 60; high-resolution periods are 1, 5, 10 or 30 s (GetMetricData MetricStat.Period).
 */
export function effectivePeriod(requestedSeconds: number, start: Date, now: Date): number {
  const age = now.getTime() - start.getTime();
  const tier = RETENTION.find((r) => age <= r.maxAgeMs);
  if (!tier) {
    throw new ValidationError(
      `metrics query: the window starts ${Math.round(age / DAY_MS)} days ago; CloudWatch keeps data for 455 days`,
    );
  }
  let period = Math.max(requestedSeconds, tier.minPeriodSeconds);
  if (period < 60) {
    period = [1, 5, 10, 30].find((p) => p >= period) ?? 60;
  } else {
    const unit = Math.max(60, tier.minPeriodSeconds);
    period = Math.ceil(period / unit) * unit;
  }
  return period;
}

/** The aligned grid every series is returned on: [start, end) in steps of the period. */
export interface Grid {
  startMs: number;
  endMs: number;
  periodSeconds: number;
  points: number;
}

export function gridFor(start: Date, end: Date, periodSeconds: number): Grid {
  const p = periodSeconds * 1000;
  const startMs = Math.floor(start.getTime() / p) * p;
  const endMs = Math.ceil(end.getTime() / p) * p;
  return { startMs, endMs, periodSeconds, points: Math.round((endMs - startMs) / p) };
}

/** A unit that must travel in one request: a plain metric, or a math expression with its inputs. */
export interface QueryGroup {
  queries: MetricDataQuery[];
  /** Datapoints the group returns (only queries with ReturnData count). */
  datapoints: number;
  /** Which caller series and which part of it each returned query id fills. */
  outputs: Array<{ queryId: string; seriesIndex: number; part: number }>;
}

export interface RequestPlan {
  grid: Grid;
  requests: QueryGroup[][];
  /** Metric math was used for these series (sum computed by CloudWatch). */
  mathSeries: Set<number>;
  queryCount: number;
  datapointCount: number;
  /** max(ceil(queries / 500), ceil(datapoints / 100,800)) for the plan without metric math. */
  minCalls: number;
}

export function minCallsFor(queries: number, datapoints: number): number {
  return Math.max(
    Math.ceil(queries / MAX_QUERIES_PER_REQUEST),
    Math.ceil(datapoints / MAX_DATAPOINTS_PER_REQUEST),
  );
}

function toDimensions(d: Record<string, string>) {
  return Object.entries(d)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([Name, Value]) => ({ Name, Value }));
}

function metricQuery(
  id: string,
  ref: z.output<typeof metricRefSchema>,
  stat: string,
  period: number,
  returnData: boolean,
): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: ref.namespace,
        MetricName: ref.metricName,
        Dimensions: toDimensions(ref.dimensions),
      },
      Period: period,
      Stat: stat,
    },
    ReturnData: returnData,
  };
}

/** Query ids must start with a lower-case letter (GetMetricData MetricDataQuery.Id). */
function queryId(n: number): string {
  return `q${n.toString(36)}`;
}

/**
 * Chooses how many sum series to compute with metric math. Math replaces k returned series by
 * one expression (k inputs with ReturnData false + 1 expression = one more query, k - 1 fewer
 * returned series): it saves calls only when datapoints, not queries, are the binding limit.
 */
function chooseMath(series: ParsedSeries[], points: number): Set<number> {
  let queries = 0;
  let datapoints = 0;
  const sums: Array<{ index: number; saves: number }> = [];
  series.forEach((s, index) => {
    const n = s.sumOf?.length ?? 1;
    queries += n;
    datapoints += n * points;
    if (s.sumOf) sums.push({ index, saves: (n - 1) * points });
  });
  sums.sort((a, b) => b.saves - a.saves);
  let best = minCallsFor(queries, datapoints);
  let bestK = 0;
  let q = queries;
  let d = datapoints;
  sums.forEach((s, i) => {
    q += 1;
    d -= s.saves;
    const calls = minCallsFor(q, d);
    if (calls < best) {
      best = calls;
      bestK = i + 1;
    }
  });
  return new Set(sums.slice(0, bestK).map((s) => s.index));
}

/**
 * Builds the requests: groups first-fit-decreasing into bins of at most 500 queries and
 * 100,800 datapoints. With series of equal length (one window per call) this reaches
 * max(ceil(queries / 500), ceil(datapoints / 100,800)) whenever the datapoints of one series
 * divide the cap evenly enough, which holds for every window CloudWatch retains at its period.
 */
export function planRequests(query: ParsedQuery): RequestPlan {
  const period = effectivePeriod(query.periodSeconds, query.start, query.now);
  const grid = gridFor(query.start, query.end, period);
  const math = chooseMath(query.series, grid.points);
  let n = 0;
  const groups: QueryGroup[] = [];
  let plainQueries = 0;
  query.series.forEach((s, seriesIndex) => {
    const refs = s.sumOf ?? (s.metric ? [s.metric] : []);
    plainQueries += refs.length;
    if (math.has(seriesIndex)) {
      const inputs = refs.map((ref) => metricQuery(queryId(n++), ref, s.statistic, period, false));
      // Counters: a missing input minute is zero, so fill before adding; gauges: a sum with an
      // unknown part is unknown, so plain addition (no datapoint where any input has none).
      const terms = inputs.map((q) => (s.kind === 'counter' ? `FILL(${q.Id}, 0)` : `${q.Id}`));
      const expr: MetricDataQuery = {
        Id: queryId(n++),
        Expression: terms.join(' + '),
        Period: period,
        ReturnData: true,
      };
      groups.push({
        queries: [...inputs, expr],
        datapoints: grid.points,
        outputs: [{ queryId: expr.Id ?? '', seriesIndex, part: 0 }],
      });
    } else {
      refs.forEach((ref, part) => {
        const q = metricQuery(queryId(n++), ref, s.statistic, period, true);
        groups.push({
          queries: [q],
          datapoints: grid.points,
          outputs: [{ queryId: q.Id ?? '', seriesIndex, part }],
        });
      });
    }
  });

  const sorted = [...groups].sort(
    (a, b) => b.datapoints - a.datapoints || b.queries.length - a.queries.length,
  );
  const bins: Array<{ groups: QueryGroup[]; queries: number; datapoints: number }> = [];
  const minQ = sorted.reduce((m, g) => Math.min(m, g.queries.length), MAX_QUERIES_PER_REQUEST);
  const minD = sorted.reduce((m, g) => Math.min(m, g.datapoints), MAX_DATAPOINTS_PER_REQUEST);
  let open = 0; // bins before `open` cannot take even the smallest group: never scan them again
  for (const g of sorted) {
    let placed = false;
    for (let i = open; i < bins.length; i++) {
      const bin = bins[i];
      if (!bin) continue;
      if (
        bin.queries + g.queries.length <= MAX_QUERIES_PER_REQUEST &&
        bin.datapoints + g.datapoints <= MAX_DATAPOINTS_PER_REQUEST
      ) {
        bin.groups.push(g);
        bin.queries += g.queries.length;
        bin.datapoints += g.datapoints;
        placed = true;
        break;
      }
    }
    if (!placed) {
      if (g.queries.length > MAX_QUERIES_PER_REQUEST) {
        throw new ValidationError('metrics query: one series needs more than 500 queries');
      }
      bins.push({ groups: [g], queries: g.queries.length, datapoints: g.datapoints });
    }
    while (open < bins.length) {
      const b = bins[open];
      if (
        b &&
        (b.queries + minQ > MAX_QUERIES_PER_REQUEST || b.datapoints + minD > MAX_DATAPOINTS_PER_REQUEST)
      ) {
        open++;
      } else break;
    }
  }
  const queryCount = groups.reduce((a, g) => a + g.queries.length, 0);
  const datapointCount = groups.reduce((a, g) => a + g.datapoints, 0);
  return {
    grid,
    requests: bins.map((b) => b.groups),
    mathSeries: math,
    queryCount,
    datapointCount,
    minCalls: minCallsFor(plainQueries, plainQueries * grid.points),
  };
}
