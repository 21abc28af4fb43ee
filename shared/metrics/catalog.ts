import type { SeriesRequest } from './plan.ts';

/**
 * The metrics db-autopilot reads per resource, with their missing-data semantics.
 * Sources: RDS User Guide "Amazon CloudWatch metrics for Amazon RDS"; DynamoDB Developer Guide
 * "DynamoDB Metrics and dimensions"; aws-facts.md "RDS signals for IOPS", "DynamoDB".
 * Counters (events per period) have no datapoint in quiet periods: missing = 0. Gauges: unknown.
 */

export function rdsInstanceSeries(dbInstanceIdentifier: string): SeriesRequest[] {
  const metric = (metricName: string) => ({
    namespace: 'AWS/RDS',
    metricName,
    dimensions: { DBInstanceIdentifier: dbInstanceIdentifier },
  });
  const id = (name: string) => `rds:${dbInstanceIdentifier}:${name}`;
  return [
    { id: id('ReadIOPS'), kind: 'gauge', statistic: 'Average', metric: metric('ReadIOPS') },
    { id: id('WriteIOPS'), kind: 'gauge', statistic: 'Average', metric: metric('WriteIOPS') },
    { id: id('DiskQueueDepth'), kind: 'gauge', statistic: 'Average', metric: metric('DiskQueueDepth') },
    { id: id('CPUUtilization'), kind: 'gauge', statistic: 'Average', metric: metric('CPUUtilization') },
  ];
}

/** Table (or GSI, when `indexName` is given) capacity and throttling. */
export function dynamodbSeries(tableName: string, indexName?: string): SeriesRequest[] {
  const dimensions: Record<string, string> = indexName
    ? { TableName: tableName, GlobalSecondaryIndexName: indexName }
    : { TableName: tableName };
  const metric = (metricName: string) => ({ namespace: 'AWS/DynamoDB', metricName, dimensions });
  const key = indexName ? `${tableName}/index/${indexName}` : tableName;
  const id = (name: string) => `ddb:${key}:${name}`;
  return [
    {
      id: id('ConsumedReadCapacityUnits'),
      kind: 'counter',
      statistic: 'Sum',
      metric: metric('ConsumedReadCapacityUnits'),
    },
    {
      id: id('ConsumedWriteCapacityUnits'),
      kind: 'counter',
      statistic: 'Sum',
      metric: metric('ConsumedWriteCapacityUnits'),
    },
    { id: id('ReadThrottleEvents'), kind: 'counter', statistic: 'Sum', metric: metric('ReadThrottleEvents') },
    {
      id: id('WriteThrottleEvents'),
      kind: 'counter',
      statistic: 'Sum',
      metric: metric('WriteThrottleEvents'),
    },
  ];
}
