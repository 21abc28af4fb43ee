import type { AlarmSpec } from '../../shared/core/contracts.ts';

/**
 * A DynamoDB table's write-throttling alarm as a tuner would declare it (1 minute, any throttle
 * event), with `overrides` (threshold, key, description) applied.
 */
export function writeThrottleSpec(resourceId: string, overrides: Partial<AlarmSpec> = {}): AlarmSpec {
  return {
    tuner: 'dynamodb',
    resourceId,
    key: 'WriteThrottle',
    namespace: 'AWS/DynamoDB',
    metricName: 'WriteThrottleEvents',
    dimensions: { TableName: resourceId },
    statistic: 'Sum',
    periodSeconds: 60,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    threshold: 0,
    comparison: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    description: `write throttling on ${resourceId}`,
    ...overrides,
  };
}
