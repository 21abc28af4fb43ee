import type { BacktestPolicy } from '../plugins/types.ts';
import type { DynamodbObservation, DynamodbRequest } from '../types.ts';

/**
 * AWS's native DynamoDB auto scaling (Application Auto Scaling target tracking), as AWS
 * documents it (aws-facts.md, "Native auto scaling"; Application Auto Scaling User Guide,
 * "Target tracking scaling policies"; DynamoDB Developer Guide, "Managing throughput capacity
 * automatically with DynamoDB auto scaling"). Per dimension (read, write):
 * - AlarmHigh: Sum over 60 s of Consumed...CapacityUnits > target x provisioned x 60 for
 *   2 of 2 datapoints -> scale out to consumed / target;
 * - AlarmLow: below (target - 20 points) x provisioned x 60 for 15 of 15 datapoints -> scale in
 *   to consumed / target;
 * - it sees CONSUMED capacity only: throttled demand beyond burst is invisible to it;
 * - scale-outs and scale-ins are separate UpdateTable calls per dimension; a call made while
 *   the table is UPDATING fails and the alarm, still in ALARM, tries again the next minute;
 * - its scale-ins spend the table's decrease budget like anyone's;
 * - cooldowns: Application Auto Scaling's DynamoDB default is 0 (configurable in options);
 * - it does nothing to an on-demand table;
 * - it reads the same late metrics as every policy (publication delay) and evaluates complete
 *   minutes only.
 */
export const HIGH_DATAPOINTS = 2;
export const LOW_DATAPOINTS = 15;
export const LOW_THRESHOLD_POINTS = 0.2;

type Dim = 'read' | 'write';

export function createAwsDynamodbTargetTracking(): BacktestPolicy<'dynamodb'> {
  const lastScaleOut: Record<Dim, number> = { read: -Infinity, write: -Infinity };
  const lastScaleIn: Record<Dim, number> = { read: -Infinity, write: -Infinity };
  return {
    name: 'aws-target-tracking',
    decide(ctx) {
      if (ctx.state.mode === 'on-demand') return null;
      const o = ctx.options.dynamodb;
      const target = o.targetUtilization;
      const t = ctx.minute;
      // The alarms evaluate complete datapoints only: the newest published minute, still
      // partial, is left for the next evaluation (CloudWatch alarms on late metrics).
      const rows: readonly DynamodbObservation[] = ctx.history
        .last(LOW_DATAPOINTS + 1)
        .filter((r) => r.complete)
        .slice(-LOW_DATAPOINTS);
      const last = rows[rows.length - 1];
      if (!last) return null;
      const increases: DynamodbRequest[] = [];
      const decreases: DynamodbRequest[] = [];
      for (const dim of ['read', 'write'] as const) {
        // The scalable target's capacity is what it last set, even while the table is UPDATING.
        const capacity = ctx.state.pending?.[dim] ?? ctx.state[dim];
        const consumed = (r: DynamodbObservation): number => r[dim].consumed;
        const desired = Math.min(o.maxCapacity, Math.max(o.minCapacity, Math.ceil(consumed(last) / target)));
        const high = rows.slice(-HIGH_DATAPOINTS);
        const alarmHigh =
          high.length === HIGH_DATAPOINTS && high.every((r) => consumed(r) * 60 > target * capacity * 60);
        const lowThreshold = (target - LOW_THRESHOLD_POINTS) * capacity * 60;
        const alarmLow = rows.length === LOW_DATAPOINTS && rows.every((r) => consumed(r) * 60 < lowThreshold);
        if (alarmHigh && desired > capacity && t - lastScaleOut[dim] >= o.awsScaleOutCooldownMinutes) {
          increases.push({ [dim]: desired });
        } else if (alarmLow && desired < capacity && t - lastScaleIn[dim] >= o.awsScaleInCooldownMinutes) {
          decreases.push({ [dim]: desired });
        }
      }
      for (const req of [...increases, ...decreases]) {
        const result = ctx.apply(req);
        if (result.status === 'applied') {
          const dim: Dim = req.read !== undefined ? 'read' : 'write';
          if (increases.includes(req)) lastScaleOut[dim] = t;
          else lastScaleIn[dim] = t;
        }
      }
      return null;
    },
  };
}
