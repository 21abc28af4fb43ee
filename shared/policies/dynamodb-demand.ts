/**
 * Step 1 of the capacity decision: estimate demand from what CloudWatch publishes.
 *
 * CloudWatch gives consumed capacity (Sum) and throttle EVENTS (requests, one per request and one
 * per throttled item of a batch, inflated by client retries), never the units that were not
 * served (aws-facts.md, DynamoDB provisioned capacity). Unserved units are estimated as
 * provisioned-throughput throttle events x consumed units per successful request, capped per
 * step at `maxUnservedFactor` x the capacity the table had in that step: a throttled step served
 * about its capacity, so that is what it consumed (never more than the capacity now). Client
 * retries inflate the events up to the SDK's attempts (x3) when nearly everything is throttled;
 * a step measured before a raise would otherwise be read again at the raised capacity's cap and
 * buy several times the demand. Key-range and account-limit throttling are counted apart: more
 * capacity does not fix them.
 *
 * Pure: (metrics, provisioned, config) -> DemandEstimate.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import { type DimensionMetrics, periodsIn, sum, tail } from './dynamodb-observation.ts';

export interface DemandEstimate {
  /** Capacity units per second, peak of the recent window (`lookbackMinutes`). */
  consumedRate: number;
  /** Estimated unserved units per second, peak of the recent window. */
  unservedRate: number;
  /** consumed + estimated unserved, peak of the recent window. */
  demandRate: number;
  /** Peak demand over the stabilization window (what a decrease must still serve). */
  stableDemandRate: number;
  /** Peak demand of the newest SETTLE_PERIODS periods (where a falling demand settled). */
  settledDemandRate: number;
  unitsPerRequest: number;
  provisionedThrottles: number;
  keyRangeThrottles: number;
  accountLimitThrottles: number;
  /** The unserved estimate hit the per-step cap in some period. */
  unservedCapped: boolean;
  /** The history covers the whole stabilization window. */
  enoughHistory: boolean;
}

/** Periods a fallen demand must stay down before it counts as settled (one low minute is a dip). */
export const SETTLE_PERIODS = 2;

function at(xs: readonly number[] | undefined, i: number): number {
  const v = xs?.[i];
  return v !== undefined && Number.isFinite(v) ? v : 0;
}

/**
 * Capacity units consumed per successful request over the window: the conversion from throttle
 * events (requests) to capacity units. Falls back to 1 unit per request when no request count
 * is known (one strongly consistent 4 KB read / one 1 KB write).
 */
export function unitsPerRequest(m: DimensionMetrics, periods: number): number {
  if (!m.successfulRequests) return 1;
  const units = sum(tail(m.consumedUnits, periods));
  const requests = sum(tail(m.successfulRequests, periods));
  if (requests <= 0 || units <= 0) return 1;
  return units / requests;
}

/**
 * Demand per period in capacity units per second: consumed + unserved, where unserved is the
 * provisioned-throughput throttle events times units per request, capped per step at
 * `maxUnservedFactor` x the step's capacity: `provisioned[i]` when the series is known (history
 * rows), else min(the capacity now, what the step consumed).
 */
export function demandSeries(
  m: DimensionMetrics,
  provisioned: number | readonly number[],
  upr: number,
  maxUnservedFactor: number,
): { demand: number[]; consumed: number[]; unserved: number[]; capped: boolean } {
  const n = m.consumedUnits.length;
  const demand: number[] = [];
  const consumed: number[] = [];
  const unserved: number[] = [];
  let capped = false;
  for (let i = 0; i < n; i++) {
    const c = at(m.consumedUnits, i) / m.periodSeconds;
    const then = typeof provisioned === 'number' ? Math.min(provisioned, c) : (provisioned[i] ?? 0);
    const cap = maxUnservedFactor * Math.max(then, 1);
    let u = (at(m.provisionedThrottleEvents, i) * upr) / m.periodSeconds;
    if (u > cap) {
      u = cap;
      capped = true;
    }
    consumed.push(c);
    unserved.push(u);
    demand.push(c + u);
  }
  return { demand, consumed, unserved, capped };
}

function peak(xs: readonly number[]): number {
  return xs.length ? Math.max(...xs) : 0;
}

/** The demand estimate of one dimension of a table or GSI. */
export function estimateDemand(
  m: DimensionMetrics,
  provisioned: number,
  config: Pick<DynamodbConfig, 'lookbackMinutes' | 'scaleDownStabilizationMinutes' | 'maxUnservedFactor'>,
): DemandEstimate {
  const recentN = periodsIn(config.lookbackMinutes, m.periodSeconds);
  const stableN = periodsIn(
    Math.max(config.scaleDownStabilizationMinutes, config.lookbackMinutes),
    m.periodSeconds,
  );
  const upr = unitsPerRequest(m, stableN);
  const series = demandSeries(m, provisioned, upr, config.maxUnservedFactor);
  return {
    consumedRate: peak(tail(series.consumed, recentN)),
    unservedRate: Math.max(0, peak(tail(series.unserved, recentN))),
    demandRate: peak(tail(series.demand, recentN)),
    stableDemandRate: peak(tail(series.demand, stableN)),
    settledDemandRate: peak(tail(series.demand, SETTLE_PERIODS)),
    unitsPerRequest: upr,
    provisionedThrottles: sum(tail(m.provisionedThrottleEvents, recentN)),
    keyRangeThrottles: sum(tail(m.keyRangeThrottleEvents, recentN)),
    accountLimitThrottles: sum(tail(m.accountLimitThrottleEvents, recentN)),
    unservedCapped: series.capped,
    enoughHistory: m.consumedUnits.length >= stableN,
  };
}
