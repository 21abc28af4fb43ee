import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { cloudwatchClient } from '../../aws/clients.ts';

/** The insights read the last 24 h of one AWS/RDS metric in 5-minute periods. */
const PERIOD_SECONDS = 300;
const WINDOW_MS = 86_400_000;

export function lastDayWindow(now: Date): { start: string; end: string; periodSeconds: number } {
  return {
    start: new Date(now.getTime() - WINDOW_MS).toISOString(),
    end: now.toISOString(),
    periodSeconds: PERIOD_SECONDS,
  };
}

/**
 * One AWS/RDS metric over lastDayWindow(now) in one GetMetricData call, oldest first (non-finite
 * values as null). Throws when the call fails.
 */
export async function lastDayOfRdsMetric(
  id: string,
  metricName: string,
  dimension: { Name: string; Value: string },
  stat: 'Average' | 'Maximum',
  now: Date,
): Promise<Array<number | null>> {
  const out = await cloudwatchClient().send(
    new GetMetricDataCommand({
      StartTime: new Date(now.getTime() - WINDOW_MS),
      EndTime: now,
      ScanBy: 'TimestampAscending',
      MetricDataQueries: [
        {
          Id: id,
          MetricStat: {
            Metric: { Namespace: 'AWS/RDS', MetricName: metricName, Dimensions: [dimension] },
            Period: PERIOD_SECONDS,
            Stat: stat,
          },
        },
      ],
    }),
  );
  const values = out.MetricDataResults?.find((r) => r.Id === id)?.Values ?? [];
  return values.map((v) => (Number.isFinite(v) ? v : null));
}
