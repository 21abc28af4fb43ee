/**
 * Throttling that more capacity does not fix, reported as findings beside the capacity plan:
 * - hot key: partition-limit throttling (KeyRangeThroughputThrottleEvents) while the table has
 *   capacity to spare (adaptive capacity is capped at 3,000 RCU / 1,000 WCU per partition);
 * - account limit: AccountLimitThrottleEvents, the account quota is reached.
 * (aws-facts.md, DynamoDB provisioned capacity, burst and adaptive capacity.)
 *
 * Pure.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { Action, ResourceRef } from '../core/model.ts';
import {
  type DimensionAssessment,
  metricDimensions,
  metricPrefix,
  periodsIn,
  resourceId,
  resourceOf,
  round2,
  type TableObservation,
  windowOf,
} from './dynamodb-observation.ts';

type Cause = 'hot-key' | 'account-limit';

function findingAction(
  obs: TableObservation,
  tableRef: ResourceRef,
  a: DimensionAssessment,
  cause: Cause,
  reason: string,
  config: DynamodbConfig,
): Action {
  const D = metricPrefix(a.dim);
  const period = resourceOf(obs, a.indexName)?.metrics[a.dim].periodSeconds ?? 60;
  const w = windowOf(obs.observedAt, periodsIn(config.lookbackMinutes, period), period);
  return {
    tuner: 'dynamodb',
    resource: tableRef,
    kind: 'finding',
    from: null,
    to: null,
    reason,
    evidence: [
      {
        metric:
          cause === 'hot-key' ? `${D}KeyRangeThroughputThrottleEvents` : `${D}AccountLimitThrottleEvents`,
        statistic: 'Sum',
        value: cause === 'hot-key' ? a.keyRangeThrottles : a.accountLimitThrottles,
        unit: 'requests',
        window: w,
        namespace: 'AWS/DynamoDB',
        dimensions: metricDimensions(obs.tableName, a.indexName),
      },
      {
        metric: 'table utilization (consumed / provisioned)',
        statistic: 'peak',
        value: a.provisioned > 0 ? round2(a.consumedRate / a.provisioned) : null,
        window: w,
        threshold: config.hotKeyUtilization,
      },
    ],
    monthlyCostDelta: 0,
    undo: null,
    mutating: false,
    params: { cause, indexName: a.indexName, dim: a.dim },
    severity: 'warning',
  };
}

/** Hot-key and account-limit findings of the assessed dimensions. */
export function throttleFindings(
  assessments: readonly DimensionAssessment[],
  obs: TableObservation,
  tableRef: ResourceRef,
  config: DynamodbConfig,
): Action[] {
  const out: Action[] = [];
  for (const a of assessments) {
    const name = resourceId(obs.tableName, a.indexName);
    const utilization = a.provisioned > 0 ? a.consumedRate / a.provisioned : 0;
    if (a.keyRangeThrottles > 0 && (utilization < config.hotKeyUtilization || a.provisionedThrottles === 0)) {
      const reason = `hot key on ${name} (${a.dim}): ${a.keyRangeThrottles} partition-limit throttle events at ${Math.round(utilization * 100)}% utilization; more capacity does not fix a hot partition (adaptive capacity is capped at 3,000 RCU / 1,000 WCU per partition): spread the key or cache it`;
      out.push(findingAction(obs, tableRef, a, 'hot-key', reason, config));
    }
    if (a.accountLimitThrottles > 0) {
      const reason = `account limit throttling on ${name} (${a.dim}): ${a.accountLimitThrottles} events; the account's ${a.dim} quota (${obs.limits.accountMax[a.dim]} units) is reached: ask AWS for a quota increase, capacity here cannot help`;
      out.push(findingAction(obs, tableRef, a, 'account-limit', reason, config));
    }
  }
  return out;
}
