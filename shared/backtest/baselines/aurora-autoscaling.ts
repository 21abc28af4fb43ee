import { MAX_READERS } from '../models/replicas.ts';
import type { BacktestPolicy } from '../plugins/types.ts';

/**
 * Aurora Auto Scaling (Application Auto Scaling target tracking on
 * `RDSReaderAverageCPUUtilization`, dimension `rds:cluster:ReadReplicaCount`), as documented
 * (aws-facts.md, "Read replicas"; Aurora User Guide, "Amazon Aurora Auto Scaling with Aurora
 * Replicas"; Application Auto Scaling, "Target tracking scaling policies"):
 * - AlarmHigh: average reader CPU > target for 3 of 3 one-minute datapoints; AlarmLow: < 90 % of
 *   the target for 15 of 15 (the datapoint counts are options);
 * - desired readers = ceil(current readers x metric / target), within min / max; the current
 *   count includes readers still being created (the scalable target's capacity);
 * - 300 s scale-out and scale-in cooldowns; a scale-out cooldown also holds back scale-in;
 * - a new reader serves only after it is created (the model's readerCreateMinutes);
 * - it only removes readers it added (readers that existed before it scaled are not its own).
 */
export const AURORA_LOW_FRACTION = 0.9;

export function createAuroraAutoScaling(): BacktestPolicy<'replicas'> {
  let lastScaleOut = -Infinity;
  let lastScaleIn = -Infinity;
  let added: number | undefined;
  return {
    name: 'aws-target-tracking',
    decide(ctx) {
      const o = ctx.options.replicas;
      const t = ctx.minute;
      const total = ctx.state.readers + ctx.state.pendingReadyAt.length;
      // Readers above the minimum at the start count as ones it added before the trace began.
      added ??= Math.max(0, total - o.minReaders);
      const rows = ctx.history.last(Math.max(o.awsHighDatapoints, o.awsLowDatapoints));
      const last = rows[rows.length - 1];
      if (!last) return null;
      const target = o.targetCpuPercent;
      const high = rows.slice(-o.awsHighDatapoints);
      const low = rows.slice(-o.awsLowDatapoints);
      const alarmHigh = high.length === o.awsHighDatapoints && high.every((r) => r.avgReaderCpu > target);
      const alarmLow =
        low.length === o.awsLowDatapoints && low.every((r) => r.avgReaderCpu < AURORA_LOW_FRACTION * target);
      const base = Math.max(1, total);
      const desired = Math.min(
        Math.min(MAX_READERS, o.maxReaders),
        Math.max(o.minReaders, Math.ceil((base * last.avgReaderCpu) / target - 1e-9)),
      );
      if (alarmHigh && desired > total && t - lastScaleOut >= o.awsScaleOutCooldownMinutes) {
        const result = ctx.apply({ readers: desired });
        if (result.status === 'applied') {
          added += desired - total;
          lastScaleOut = t;
        }
        return null;
      }
      if (
        alarmLow &&
        desired < total &&
        t - lastScaleIn >= o.awsScaleInCooldownMinutes &&
        t - lastScaleOut >= o.awsScaleOutCooldownMinutes
      ) {
        const floor = Math.max(o.minReaders, total - added);
        const to = Math.max(desired, floor);
        if (to < total) {
          const result = ctx.apply({ readers: to });
          if (result.status === 'applied') {
            added -= total - to;
            lastScaleIn = t;
          }
        }
      }
      return null;
    },
  };
}
