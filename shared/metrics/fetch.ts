import {
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { cloudwatchClient, OPERATION_RATES, setOperationLimiter } from '../aws/clients.ts';
import { mapLimit, type RateLimiter } from './limits.ts';
import { type MetricsQuery, parseMetricsQuery, planRequests, type RequestPlan } from './plan.ts';

/**
 * Reads many CloudWatch series with the fewest GetMetricData calls (see plan.ts), within the
 * account's 50 TPS GetMetricData quota (aws-facts.md "CloudWatch"; CloudWatch service quotas),
 * following NextToken (also when a result says PartialData), and making missing datapoints
 * explicit: a counter with no datapoint is 0 once its period is old enough to be complete
 * (`publicationDelaySeconds` after its end), else unknown (null); a gauge with no datapoint is
 * unknown. CloudWatch publishes late (aws-facts.md, CloudWatch), so the newest periods are unknown
 * or partial: `completePoints` says how many of the grid's leading points are complete; a caller
 * that must not read a partial Sum cuts there. Throttling is retried by the SDK alone
 * (shared/aws/clients.ts: one retry layer, every attempt paced by the operation's rate limiter).
 */

/** Stay below the default 50 TPS GetMetricData quota, leaving room for other callers. */
export const GET_METRIC_DATA_TPS = OPERATION_RATES['cloudwatch:GetMetricData']?.perSecond ?? 40;

/**
 * Replaces the process-wide GetMetricData limiter (the demo compresses a day into seconds of real
 * time, where a real-time TPS pacing means nothing). Returns a function that restores the previous one.
 */
export function setSharedLimiter(limiter: RateLimiter): () => void {
  return setOperationLimiter('cloudwatch:GetMetricData', limiter);
}

export interface SeriesResult {
  id: string;
  kind: 'counter' | 'gauge';
  /** One value per grid timestamp (oldest first); null = unknown. */
  values: Array<number | null>;
  /** Complete, PartialData (no more pages were offered), InternalError, Forbidden. */
  status: string;
}

export interface MetricsResult {
  periodSeconds: number;
  /** Shared by every series: ISO timestamps of the aligned grid, oldest first. */
  timestamps: string[];
  /**
   * Leading grid points whose period ended at least `publicationDelaySeconds` before `now`: their
   * values are complete. Later points are unknown (null) or partial (a Sum still filling).
   */
  completePoints: number;
  /**
   * Leading grid points up to the newest period any series has a datapoint for (at least
   * `completePoints`): points in [completePoints, publishedPoints) are published but may be
   * partial; later points are not published yet.
   */
  publishedPoints: number;
  series: Map<string, SeriesResult>;
  /** GetMetricData requests made (NextToken pages included; the SDK's retries are in `throttledRetries`). */
  calls: number;
  /** Lower bound for this query: max(ceil(queries / 500), ceil(datapoints / 100,800)). */
  minCalls: number;
  /** Attempts the SDK retried (throttling or transient errors), from each response's `$metadata.attempts`. */
  throttledRetries: number;
  notes: string[];
}

export interface GetMetricsOptions {
  /** Requests in flight at once (default 10; with ~50-100 ms per call that is well under 50 TPS). */
  concurrency?: number;
}

const STATUS_RANK: Record<string, number> = { Complete: 0, PartialData: 1, InternalError: 2, Forbidden: 3 };

export function describePlan(query: MetricsQuery): RequestPlan {
  return planRequests(parseMetricsQuery(query));
}

type ParsedQuery = ReturnType<typeof parseMetricsQuery>;
type ParsedSeries = ParsedQuery['series'][number];

/**
 * The series a query asks for, as named steps: plan the fewest requests -> read every page of
 * every request onto the grid -> how many leading points are complete and published -> each
 * series' values (a counter's empty, complete period as 0, every other gap unknown).
 */
export async function getMetrics(
  query: MetricsQuery,
  options: GetMetricsOptions = {},
): Promise<MetricsResult> {
  const parsed = parseMetricsQuery(query);
  const plan = planRequests(parsed);
  const { grid } = plan;
  const read = await readAllPages(parsed, plan, options.concurrency ?? 10);
  const timestamps = Array.from({ length: grid.points }, (_, i) =>
    new Date(grid.startMs + i * grid.periodSeconds * 1000).toISOString(),
  );
  const completePoints = completePointsOf(parsed, plan);
  const publishedPoints = publishedPointsOf(read.parts, completePoints, grid.points);
  const series = new Map<string, SeriesResult>();
  parsed.series.forEach((s, index) => {
    const status = read.status[index] ?? 'Complete';
    const values = seriesValues(s, read.parts[index] ?? [], status, completePoints, grid.points);
    series.set(s.id, { id: s.id, kind: s.kind, values, status });
  });
  return {
    periodSeconds: grid.periodSeconds,
    timestamps,
    completePoints,
    publishedPoints,
    series,
    calls: read.calls,
    minCalls: plan.minCalls,
    throttledRetries: read.throttledRetries,
    notes: read.notes,
  };
}

/** What the pages said: values on the grid per series and part (NaN = no datapoint), statuses, notes. */
interface Readings {
  /** parts[seriesIndex][part] = values on the grid, NaN = no datapoint (compact while reading). */
  parts: Float64Array[][];
  /** The worst status any page gave each series. */
  status: string[];
  notes: string[];
  calls: number;
  throttledRetries: number;
}

/** Every request of the plan (`concurrency` at once), every NextToken page of each, onto the grid. */
async function readAllPages(parsed: ParsedQuery, plan: RequestPlan, concurrency: number): Promise<Readings> {
  const { grid } = plan;
  const read: Readings = {
    parts: parsed.series.map((s, index) => {
      const n = plan.mathSeries.has(index) ? 1 : (s.sumOf?.length ?? 1);
      return Array.from({ length: n }, () => new Float64Array(grid.points).fill(Number.NaN));
    }),
    status: parsed.series.map(() => 'Complete'),
    notes: [],
    calls: 0,
    throttledRetries: 0,
  };
  const startTime = new Date(grid.startMs);
  const endTime = new Date(grid.endMs);
  await mapLimit(plan.requests, concurrency, async (groups) => {
    const queries: MetricDataQuery[] = groups.flatMap((g) => g.queries);
    const byId = new Map<string, { seriesIndex: number; part: number }>();
    for (const g of groups) for (const o of g.outputs) byId.set(o.queryId, o);
    let nextToken: string | undefined;
    do {
      read.calls++;
      const out = await cloudwatchClient().send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: startTime,
          EndTime: endTime,
          ScanBy: 'TimestampAscending',
          NextToken: nextToken,
        }),
      );
      read.throttledRetries += Math.max(0, (out.$metadata?.attempts ?? 1) - 1);
      const token = out.NextToken;
      for (const r of out.MetricDataResults ?? []) {
        const target = r.Id ? byId.get(r.Id) : undefined;
        if (target) absorb(read, r, target, { parsed, plan, finalPage: !token });
      }
      for (const m of out.Messages ?? []) read.notes.push(`metrics: ${m.Code ?? ''} ${m.Value ?? ''}`.trim());
      nextToken = token;
    } while (nextToken);
  });
  return read;
}

/**
 * One result's datapoints onto its series' part of the grid, and its status: PartialData on a page
 * that has a NextToken just means "more to come"; an error status is noted.
 */
function absorb(
  read: Readings,
  r: MetricDataResult,
  target: { seriesIndex: number; part: number },
  page: { parsed: ParsedQuery; plan: RequestPlan; finalPage: boolean },
): void {
  const { grid } = page.plan;
  const periodMs = grid.periodSeconds * 1000;
  const values = read.parts[target.seriesIndex]?.[target.part];
  if (!values) return;
  const ts = r.Timestamps ?? [];
  const vs = r.Values ?? [];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    const v = vs[i];
    if (t === undefined || v === undefined) continue;
    const idx = Math.round((t.getTime() - grid.startMs) / periodMs);
    if (idx >= 0 && idx < grid.points) values[idx] = v;
  }
  const code = r.StatusCode ?? 'Complete';
  if (code === 'PartialData' && !page.finalPage) return;
  const prev = read.status[target.seriesIndex] ?? 'Complete';
  if ((STATUS_RANK[code] ?? 2) > (STATUS_RANK[prev] ?? 0)) read.status[target.seriesIndex] = code;
  if (code !== 'Complete' && code !== 'PartialData') {
    const msg = (r.Messages ?? []).map((m) => `${m.Code ?? ''} ${m.Value ?? ''}`.trim()).join('; ');
    read.notes.push(
      `metrics: ${page.parsed.series[target.seriesIndex]?.id}: ${code}${msg ? ` (${msg})` : ''}`,
    );
  }
}

/** Periods [start + i p, start + (i+1) p) with (i+1) p + delay <= now - start are complete. */
function completePointsOf(parsed: ParsedQuery, plan: RequestPlan): number {
  const { grid } = plan;
  const periodMs = grid.periodSeconds * 1000;
  const delayMs = parsed.publicationDelaySeconds * 1000;
  return Math.max(
    0,
    Math.min(grid.points, Math.floor((parsed.now.getTime() - delayMs - grid.startMs) / periodMs)),
  );
}

/** Up to the newest point any series has a datapoint for, and at least the complete ones. */
function publishedPointsOf(parts: Float64Array[][], completePoints: number, points: number): number {
  let publishedPoints = completePoints;
  for (const ps of parts) {
    for (const p of ps) {
      for (let i = points - 1; i >= publishedPoints; i--) {
        if (!Number.isNaN(p[i] ?? Number.NaN)) {
          publishedPoints = i + 1;
          break;
        }
      }
    }
  }
  return publishedPoints;
}

/**
 * A series' value at each grid point, its parts summed. A counter's empty period counts as zero
 * only once the period is old enough to be published whole and the read was complete; a newer
 * period or a failed or partial read (PartialData left without a NextToken: a gap may be data
 * CloudWatch did not return) stays unknown.
 */
function seriesValues(
  s: ParsedSeries,
  ps: Float64Array[],
  status: string,
  completePoints: number,
  points: number,
): Array<number | null> {
  const failed = status !== 'Complete';
  const values = new Array<number | null>(points);
  for (let i = 0; i < points; i++) {
    const closed = i < completePoints;
    let sum: number | null = 0;
    for (const p of ps) {
      const raw = p[i];
      let v = raw === undefined || Number.isNaN(raw) ? null : raw;
      if (v === null && s.kind === 'counter' && closed && !failed) v = 0;
      if (v === null) {
        sum = null;
        break;
      }
      sum += v;
    }
    values[i] = sum;
  }
  return values;
}
