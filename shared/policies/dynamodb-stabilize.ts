/**
 * Step 3 of the capacity decision: stabilize a recommended decrease (like Kubernetes HPA's
 * stabilizeRecommendationWithBehaviors). A decrease waits until
 * - the last increase (anyone's: DescribeTable LastIncreaseDateTime) is older than the
 *   stabilization window, so a raise is never undone by demand measured before it;
 * - the metrics cover the whole window;
 * - nothing is being throttled;
 * - it lowers by at least `scaleDownTolerance` (no decrease spent on noise).
 * Changes forced by the configured bounds and increases pass unchanged.
 *
 * Pure: (recommendation, estimate, lastIncreaseAt, config, now) -> Recommendation.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { DemandEstimate } from './dynamodb-demand.ts';
import type { Recommendation } from './dynamodb-recommend.ts';

type StabilizeConfig = Pick<DynamodbConfig, 'scaleDownStabilizationMinutes' | 'scaleDownTolerance'>;

/** True when the last increase is older than the stabilization window. */
export function stabilizedSince(
  lastIncreaseAt: string | undefined,
  now: Date,
  windowMinutes: number,
): boolean {
  if (!lastIncreaseAt) return true;
  const since = now.getTime() - Date.parse(lastIncreaseAt);
  return !Number.isFinite(since) || since >= windowMinutes * 60_000;
}

export function stabilize(
  rec: Recommendation,
  e: DemandEstimate,
  provisioned: number,
  lastIncreaseAt: string | undefined,
  config: StabilizeConfig,
  now: Date,
): Recommendation {
  if (rec.direction === 'up' || rec.bound) return rec;
  const stabilized = stabilizedSince(lastIncreaseAt, now, config.scaleDownStabilizationMinutes);
  const hold = (why: string): Recommendation => ({ desired: provisioned, direction: 'hold', why });
  const waiting = !stabilized
    ? 'within the stabilization window after an increase'
    : !e.enoughHistory
      ? 'not enough history for the stabilization window'
      : undefined;
  if (rec.direction === 'hold') return waiting ? hold(waiting) : rec;
  if (waiting) return hold(waiting);
  if (e.provisionedThrottles > 0) return hold('within the target band');
  if (rec.desired > provisioned * (1 - config.scaleDownTolerance)) return hold('within the target band');
  return rec;
}
