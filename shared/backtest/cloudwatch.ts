import { z } from 'zod';
import { ValidationError } from '../core/errors.ts';
import { getMetrics, type SeriesRequest } from '../metrics/index.ts';
import type { Kind, Trace } from './types.ts';

/**
 * `--from-cloudwatch RESOURCE`: up to 14 days of one resource's 1-minute metrics, read with
 * GetMetricData through shared/metrics (fewest calls, NextToken paging, throttling retries;
 * 60 s data is kept 15 days: aws-facts.md "CloudWatch"), turned into a demand trace.
 * - dynamodb (table name): ConsumedRead/WriteCapacityUnits Sum per minute / 60. Throttled
 *   demand is not in CloudWatch in capacity units, so the trace is a LOWER bound of demand
 *   when the table throttled (ThrottledRequests counts requests; the note says how many).
 * - iops (DB instance id): ReadIOPS + WriteIOPS, Average per minute.
 * - replicas (Aurora cluster id): CPUUtilization Sum per minute over the READER role =
 *   total reader CPU in percent of one reader.
 * Missing gauge minutes repeat the previous value (0 at the start); counters count 0.
 */
export const resourceIdSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._-]+$/, 'a table name, DB instance or cluster identifier (letters, digits, . _ -)');

export const MAX_CLOUDWATCH_DAYS = 14;

export interface FromCloudWatchInput {
  kind: Kind;
  resource: string;
  /** End of the window (the caller's clock; tests pass a fixed time). */
  now: Date;
  days?: number;
}

export interface FromCloudWatchResult {
  trace: Trace;
  calls: number;
  notes: string[];
}

function seriesFor(kind: Kind, id: string): SeriesRequest[] {
  switch (kind) {
    case 'dynamodb': {
      const dims = { TableName: id };
      return [
        {
          id: 'read',
          kind: 'counter',
          statistic: 'Sum',
          metric: { namespace: 'AWS/DynamoDB', metricName: 'ConsumedReadCapacityUnits', dimensions: dims },
        },
        {
          id: 'write',
          kind: 'counter',
          statistic: 'Sum',
          metric: { namespace: 'AWS/DynamoDB', metricName: 'ConsumedWriteCapacityUnits', dimensions: dims },
        },
        {
          id: 'throttled',
          kind: 'counter',
          statistic: 'Sum',
          metric: { namespace: 'AWS/DynamoDB', metricName: 'ThrottledRequests', dimensions: dims },
        },
      ];
    }
    case 'iops': {
      const dims = { DBInstanceIdentifier: id };
      return [
        {
          id: 'iops',
          kind: 'gauge',
          statistic: 'Average',
          sumOf: [
            { namespace: 'AWS/RDS', metricName: 'ReadIOPS', dimensions: dims },
            { namespace: 'AWS/RDS', metricName: 'WriteIOPS', dimensions: dims },
          ],
        },
      ];
    }
    case 'replicas':
      return [
        {
          id: 'cpu',
          kind: 'gauge',
          statistic: 'Sum',
          metric: {
            namespace: 'AWS/RDS',
            metricName: 'CPUUtilization',
            dimensions: { DBClusterIdentifier: id, Role: 'READER' },
          },
        },
      ];
  }
}

function toMinutes(values: Array<number | null>, periodSeconds: number, divisor: number): number[] {
  const repeat = Math.max(1, Math.round(periodSeconds / 60));
  const out: number[] = [];
  let previous = 0;
  for (const v of values) {
    const value = v === null ? previous : Math.max(0, v / divisor);
    previous = value;
    for (let i = 0; i < repeat; i++) out.push(Math.round(value * 100) / 100);
  }
  return out;
}

export async function traceFromCloudWatch(input: FromCloudWatchInput): Promise<FromCloudWatchResult> {
  const resource = resourceIdSchema.safeParse(input.resource);
  if (!resource.success) {
    throw new ValidationError(
      `--from-cloudwatch "${input.resource}": ${resource.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  const days = Math.min(MAX_CLOUDWATCH_DAYS, Math.max(1 / 24, input.days ?? MAX_CLOUDWATCH_DAYS));
  const end = new Date(Math.floor(input.now.getTime() / 60_000) * 60_000);
  const start = new Date(end.getTime() - Math.round(days * 1440) * 60_000);
  const result = await getMetrics({
    series: seriesFor(input.kind, resource.data),
    start,
    end,
    periodSeconds: 60,
    now: input.now,
  });
  const values = (id: string): Array<number | null> => result.series.get(id)?.values ?? [];
  const p = result.periodSeconds;
  const source = `cloudwatch:${input.kind}/${resource.data} ${start.toISOString()}..${end.toISOString()}`;
  const notes = [...result.notes];
  let trace: Trace;
  switch (input.kind) {
    case 'dynamodb': {
      // Sum over the period of consumed units / seconds = units per second.
      trace = {
        kind: 'dynamodb',
        read: toMinutes(values('read'), p, p),
        write: toMinutes(values('write'), p, p),
        source,
      };
      const throttled = values('throttled').reduce<number>((a, v) => a + (v ?? 0), 0);
      if (throttled > 0) {
        notes.push(
          `${throttled} throttled requests in the window: their demand is not in the consumed metrics, so this trace under-states demand`,
        );
      }
      break;
    }
    case 'iops':
      trace = { kind: 'iops', iops: toMinutes(values('iops'), p, 1), source };
      break;
    case 'replicas':
      trace = { kind: 'replicas', cpu: toMinutes(values('cpu'), p, 1), source };
      break;
  }
  const length =
    trace.kind === 'dynamodb'
      ? trace.read.length
      : trace.kind === 'iops'
        ? trace.iops.length
        : trace.cpu.length;
  if (length === 0)
    throw new ValidationError(`no CloudWatch data for ${input.kind} resource ${resource.data}`);
  return { trace, calls: result.calls, notes };
}
