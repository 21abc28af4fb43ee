import { redact } from '../core/errors.ts';
import { logger } from '../handler/observability.ts';
import { getMetrics } from '../metrics/fetch.ts';
import type { SeriesRequest } from '../metrics/plan.ts';
import type { ImpactMinutes } from './resource-days.ts';

/**
 * What the users felt, from the metrics AWS published (never a simulator's internal state): per
 * resource, the minutes of the window in which
 * - a DynamoDB table or GSI throttled (ReadThrottleEvents + WriteThrottleEvents, Sum per minute > 0);
 * - an RDS instance was saturated (DiskQueueDepth average >= SATURATED_QUEUE_DEPTH, or CPUUtilization
 *   average >= SATURATED_CPU_PERCENT): requests waited on storage or CPU.
 * Other kinds (an Aurora cluster, a PostgreSQL table) are not measured (null).
 * Sources: DynamoDB Developer Guide "DynamoDB Metrics and dimensions" (throttle events have no
 * datapoint in quiet minutes: a counter, missing = 0); RDS User Guide "Amazon CloudWatch metrics
 * for Amazon RDS" (DiskQueueDepth: I/O requests waiting; aws-facts.md "RDS signals for IOPS").
 */
export const SATURATED_QUEUE_DEPTH = 10;
export const SATURATED_CPU_PERCENT = 95;

export interface ImpactTarget {
  resource: string;
  resourceKind: string;
  /** A table's GSIs: a minute throttled on any of them counts for the table. */
  indexes?: string[];
}

function seriesFor(t: ImpactTarget, i: number): SeriesRequest[] {
  if (t.resourceKind === 'dynamodb-table' || t.resourceKind === 'dynamodb-gsi') {
    const [table = t.resource, , index] = t.resource.split('/');
    const dimensions: Record<string, string> =
      t.resourceKind === 'dynamodb-gsi' && index
        ? { TableName: table, GlobalSecondaryIndexName: index }
        : { TableName: table };
    const m = (metricName: string, dims: Record<string, string>) => ({
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensions: dims,
    });
    const throttles = (id: string, dims: Record<string, string>): SeriesRequest => ({
      id,
      kind: 'counter',
      statistic: 'Sum',
      sumOf: [m('ReadThrottleEvents', dims), m('WriteThrottleEvents', dims)],
    });
    return [
      throttles(`t${i}`, dimensions),
      ...(t.indexes ?? []).map((gsi, k) =>
        throttles(`t${i}g${k}`, { TableName: table, GlobalSecondaryIndexName: gsi }),
      ),
    ];
  }
  if (t.resourceKind === 'rds-instance') {
    const m = (metricName: string) => ({
      namespace: 'AWS/RDS',
      metricName,
      dimensions: { DBInstanceIdentifier: t.resource },
    });
    return [
      { id: `q${i}`, kind: 'gauge', statistic: 'Average', metric: m('DiskQueueDepth') },
      { id: `c${i}`, kind: 'gauge', statistic: 'Average', metric: m('CPUUtilization') },
    ];
  }
  return [];
}

/** Minutes throttled or saturated per resource over [start, end); null where not measured or unreadable. */
export async function measureImpact(
  targets: ImpactTarget[],
  window: { start: Date; end: Date },
  now: Date,
): Promise<Record<string, ImpactMinutes | null>> {
  const out: Record<string, ImpactMinutes | null> = {};
  const series = targets.flatMap((t, i) => seriesFor(t, i));
  if (series.length === 0) return out;
  try {
    const result = await getMetrics({ series, start: window.start, end: window.end, periodSeconds: 60, now });
    targets.forEach((t, i) => {
      const get = (id: string) => result.series.get(id)?.values ?? [];
      if (t.resourceKind === 'rds-instance') {
        const queue = get(`q${i}`);
        const cpu = get(`c${i}`);
        if (queue.length === 0 && cpu.length === 0) return;
        let minutes = 0;
        for (let k = 0; k < Math.max(queue.length, cpu.length); k++) {
          if ((queue[k] ?? 0) >= SATURATED_QUEUE_DEPTH || (cpu[k] ?? 0) >= SATURATED_CPU_PERCENT) minutes++;
        }
        out[t.resource] = { minutes, signal: 'saturated' };
      } else if (t.resourceKind.startsWith('dynamodb')) {
        const all = [get(`t${i}`), ...(t.indexes ?? []).map((_, k) => get(`t${i}g${k}`))];
        const length = Math.max(...all.map((v) => v.length));
        let minutes = 0;
        for (let k = 0; k < length; k++) if (all.some((v) => (v[k] ?? 0) > 0)) minutes++;
        out[t.resource] = { minutes, signal: 'throttled' };
      }
    });
  } catch (error) {
    logger.warn('impact minutes not measured', {
      error: error instanceof Error ? redact(error.message) : 'unknown',
    });
  }
  return out;
}
