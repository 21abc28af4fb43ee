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

export async function getMetrics(
  query: MetricsQuery,
  options: GetMetricsOptions = {},
): Promise<MetricsResult> {
  const parsed = parseMetricsQuery(query);
  const plan = planRequests(parsed);
  const { grid } = plan;
  const periodMs = grid.periodSeconds * 1000;
  const startTime = new Date(grid.startMs);
  const endTime = new Date(grid.endMs);

  // parts[seriesIndex][part] = values on the grid, NaN = no datapoint (compact while reading).
  const parts: Float64Array[][] = parsed.series.map((s, index) => {
    const n = plan.mathSeries.has(index) ? 1 : (s.sumOf?.length ?? 1);
    return Array.from({ length: n }, () => new Float64Array(grid.points).fill(Number.NaN));
  });
  const status: string[] = parsed.series.map(() => 'Complete');
  const notes: string[] = [];
  let calls = 0;
  let throttledRetries = 0;

  const absorb = (
    r: MetricDataResult,
    byId: Map<string, { seriesIndex: number; part: number }>,
    finalPage: boolean,
  ) => {
    const target = r.Id ? byId.get(r.Id) : undefined;
    if (!target) return;
    const values = parts[target.seriesIndex]?.[target.part];
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
    // PartialData on a page that has a NextToken just means "more to come".
    if (code === 'PartialData' && !finalPage) return;
    const prev = status[target.seriesIndex] ?? 'Complete';
    if ((STATUS_RANK[code] ?? 2) > (STATUS_RANK[prev] ?? 0)) status[target.seriesIndex] = code;
    if (code !== 'Complete' && code !== 'PartialData') {
      const msg = (r.Messages ?? []).map((m) => `${m.Code ?? ''} ${m.Value ?? ''}`.trim()).join('; ');
      notes.push(`metrics: ${parsed.series[target.seriesIndex]?.id}: ${code}${msg ? ` (${msg})` : ''}`);
    }
  };

  await mapLimit(plan.requests, options.concurrency ?? 10, async (groups) => {
    const queries: MetricDataQuery[] = groups.flatMap((g) => g.queries);
    const byId = new Map<string, { seriesIndex: number; part: number }>();
    for (const g of groups) for (const o of g.outputs) byId.set(o.queryId, o);
    let nextToken: string | undefined;
    do {
      calls++;
      const out = await cloudwatchClient().send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: startTime,
          EndTime: endTime,
          ScanBy: 'TimestampAscending',
          NextToken: nextToken,
        }),
      );
      throttledRetries += Math.max(0, (out.$metadata?.attempts ?? 1) - 1);
      const token = out.NextToken;
      for (const r of out.MetricDataResults ?? []) absorb(r, byId, !token);
      for (const m of out.Messages ?? []) notes.push(`metrics: ${m.Code ?? ''} ${m.Value ?? ''}`.trim());
      nextToken = token;
    } while (nextToken);
  });

  const timestamps = Array.from({ length: grid.points }, (_, i) =>
    new Date(grid.startMs + i * periodMs).toISOString(),
  );
  const nowMs = parsed.now.getTime();
  const delayMs = parsed.publicationDelaySeconds * 1000;
  // Periods [start + i p, start + (i+1) p) with (i+1) p + delay <= now - start are complete.
  const completePoints = Math.max(
    0,
    Math.min(grid.points, Math.floor((nowMs - delayMs - grid.startMs) / periodMs)),
  );
  let publishedPoints = completePoints;
  for (const ps of parts) {
    for (const p of ps) {
      for (let i = grid.points - 1; i >= publishedPoints; i--) {
        if (!Number.isNaN(p[i] ?? Number.NaN)) {
          publishedPoints = i + 1;
          break;
        }
      }
    }
  }
  const series = new Map<string, SeriesResult>();
  parsed.series.forEach((s, index) => {
    const ps = parts[index] ?? [];
    const st = status[index] ?? 'Complete';
    // PartialData left without a NextToken: a gap may be data CloudWatch did not return.
    const failed = st !== 'Complete';
    const values = new Array<number | null>(grid.points);
    for (let i = 0; i < grid.points; i++) {
      // A counter's empty period counts as zero only once the period is old enough to be
      // published whole and the read was complete; a newer period or a failed or partial read
      // stays unknown.
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
    series.set(s.id, { id: s.id, kind: s.kind, values, status: st });
  });

  return {
    periodSeconds: grid.periodSeconds,
    timestamps,
    completePoints,
    publishedPoints,
    series,
    calls,
    minCalls: plan.minCalls,
    throttledRetries,
    notes,
  };
}
