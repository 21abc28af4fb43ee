/**
 * Step 2 of the capacity decision: the raw recommendation for one dimension, from the demand
 * estimate alone (like Kubernetes HPA's calcPlainMetricReplicas): up to demand / target when
 * anything was throttled or demand is above the target band; back inside the configured bounds;
 * down to the stabilization window's peak demand / target. Whether a decrease may happen now is
 * the next step's question (dynamodb-stabilize.ts).
 *
 * Pure: (estimate, provisioned, config) -> Recommendation.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { DemandEstimate } from './dynamodb-demand.ts';
import { fmt } from './dynamodb-observation.ts';

export interface Recommendation {
  desired: number;
  direction: 'up' | 'down' | 'hold';
  why: string;
  /** A change forced by the configured bounds (not subject to stabilization). */
  bound?: true;
}

type RecommendConfig = Pick<
  DynamodbConfig,
  'targetUtilization' | 'minCapacity' | 'maxCapacity' | 'scaleUpTolerance' | 'scaleDownStabilizationMinutes'
>;

/** Lowest and highest capacity allowed now: never below what is consumed, within the bounds. */
export function capacityBounds(e: DemandEstimate, config: RecommendConfig): { lo: number; hi: number } {
  return {
    lo: Math.max(config.minCapacity, 1, Math.ceil(e.consumedRate)),
    hi: Math.max(1, config.maxCapacity),
  };
}

export function recommend(e: DemandEstimate, provisioned: number, config: RecommendConfig): Recommendation {
  const target = config.targetUtilization;
  const { lo, hi } = capacityBounds(e, config);
  const clamp = (x: number) => Math.min(hi, Math.max(lo, x));
  const throttled = e.provisionedThrottles > 0;
  const overTarget = e.demandRate > provisioned * target * (1 + config.scaleUpTolerance);
  const upWanted = clamp(Math.ceil(e.demandRate / target));
  if ((throttled || overTarget) && upWanted > provisioned) {
    return {
      desired: upWanted,
      direction: 'up',
      why: throttled
        ? `throttled: demand ${fmt(e.demandRate)}/s (consumed ${fmt(e.consumedRate)} + unserved ${fmt(e.unservedRate)}${e.unservedCapped ? ', capped' : ''})`
        : `demand ${fmt(e.demandRate)}/s is above ${Math.round(target * 100)}% of ${provisioned}`,
    };
  }
  if (provisioned < lo) return { desired: lo, direction: 'up', why: `below the minimum ${lo}`, bound: true };
  if (provisioned > hi) {
    return { desired: hi, direction: 'down', why: `above the configured maximum ${hi}`, bound: true };
  }
  const downWanted = clamp(Math.ceil(e.stableDemandRate / target));
  if (downWanted < provisioned) {
    return {
      desired: downWanted,
      direction: 'down',
      why: `peak demand over ${config.scaleDownStabilizationMinutes} min was ${fmt(e.stableDemandRate)}/s`,
    };
  }
  return { desired: provisioned, direction: 'hold', why: 'within the target band' };
}
