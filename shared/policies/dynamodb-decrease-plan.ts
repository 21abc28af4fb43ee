/**
 * Plan the day's decreases against the demand shape learned from history, instead of a fixed
 * reserve: AWS allows 4 decreases at any time in a UTC day, then one per hour without a decrease
 * (dynamodb-decrease-budget.ts). A decrease spent now is worth it when
 * - the budget allows: after it, the free decreases left cover the peaks the learned shape
 *   expects in the rest of the UTC day (each peak ends with a decrease worth spending), or
 * - it saves at least what the slot is expected to be worth later: the next decrease may have to
 *   wait an hour, and a learned peak ending in that hour would be held about half an hour
 *   (chance of a peak in an hour x the learned peak's saving per hour x 1/2).
 * A cut of a few units on an idle table (noise) therefore never takes the slot a burst's end
 * needs; the steps down after a daily peak (large, few peaks a day) are spent as AWS allows.
 * When the slot is scarce, a decrease waits while demand is still falling (the newest periods are
 * far below the window's peak): one decrease where demand settles, not a partial one that makes
 * the rest wait an hour. When the budget allows, a short peak is lowered sooner (`lowerSooner`).
 *
 * Pure: (ledger, now, saving, learned shapes) -> SpendDecision.
 */
import {
  DAY_MS,
  type DecreaseLedger,
  decreaseAllowance,
  FREE_DECREASES_PER_DAY,
  HOUR_MS,
  utcDayStart,
} from './dynamodb-decrease-budget.ts';
import { type DemandShape, isBursty } from './dynamodb-demand-shape.ts';
import type { CapacityDim, CapacityPair, DimensionAssessment } from './dynamodb-observation.ts';

/** One dimension's learned shape and its price per unit-hour (the table class's rate). */
export interface PricedShape {
  shape: DemandShape;
  unitHour: number;
}

export interface SpendDecision {
  spend: boolean;
  why: string;
  /** Expected peaks in the rest of the UTC day (learned). */
  peaksLeft: number;
  /** What the slot is expected to be worth later, USD per hour (0 when the budget allows). */
  slotValuePerHour: number;
}

/** USD per hour a learned peak's decrease saves: (peak - base) / target at each dimension's rate. */
export function peakSavingPerHour(shapes: readonly PricedShape[], targetUtilization: number): number {
  return shapes.reduce(
    (s, { shape, unitHour }) => s + (Math.max(0, shape.peak - shape.base) / targetUtilization) * unitHour,
    0,
  );
}

/** Learned peaks expected between now and the end of the UTC day (the busiest dimension's). */
export function peaksLeftToday(shapes: readonly PricedShape[], now: Date): number {
  const perDay = Math.max(0, ...shapes.map((s) => s.shape.peaksPerDay));
  const left = (utcDayStart(now.getTime()) + DAY_MS - now.getTime()) / DAY_MS;
  return perDay * left;
}

/**
 * Whether demand is still falling below a decrease's target: for some lowered dimension, the
 * newest period's demand / target is more than `tolerance` below where the decrease goes. Returns
 * why (for the deferral's reason), or undefined when the decrease goes where demand settled.
 */
export function stillFalling(
  down: CapacityPair,
  up: CapacityPair,
  latest: ReadonlyArray<{ dim: CapacityDim; settledDemandRate: number }>,
  targetUtilization: number,
  tolerance: number,
): string | undefined {
  for (const a of latest) {
    if (down[a.dim] >= up[a.dim]) continue;
    const settled = Math.max(1, Math.ceil(a.settledDemandRate / targetUtilization));
    if (settled < down[a.dim] * (1 - tolerance)) {
      return `${a.dim} demand is still falling (${a.settledDemandRate.toFixed(1)}/s in the newest minutes: ${settled} would do, not ${down[a.dim]})`;
    }
  }
  return undefined;
}

/** Free decreases (of AWS's 4 a UTC day) left after one more now. */
function freeAfterOne(ledger: DecreaseLedger, now: Date): number {
  return Math.max(0, FREE_DECREASES_PER_DAY - decreaseAllowance(ledger, now).usedToday - 1);
}

/** AWS allows a decrease now and the free ones left after it cover the learned peaks of the day. */
export function budgetAllows(ledger: DecreaseLedger, now: Date, shapes: readonly PricedShape[]): boolean {
  return (
    decreaseAllowance(ledger, now).allowedNow &&
    freeAfterOne(ledger, now) >= Math.ceil(peaksLeftToday(shapes, now))
  );
}

/**
 * Lower sooner after a short peak, when the budget allows: on a dimension whose learned peaks are
 * bursts, once the newest periods (SETTLE_PERIODS) are all far below what the capacity is held
 * for and nothing is throttled, the decrease goes where demand settled instead of waiting for the
 * burst to leave the stabilization window. Only while the free decreases cover the learned peaks
 * left today: a wrong guess costs a free decrease and a raise, never an hour at the old capacity.
 * Returns the new recommendation, or undefined to keep the assessment as it is.
 */
export function lowerSooner(
  a: Pick<
    DimensionAssessment,
    'provisioned' | 'direction' | 'desired' | 'settledDemandRate' | 'provisionedThrottles'
  >,
  shape: DemandShape | undefined,
  budget: { ledger: DecreaseLedger; now: Date; shapes: readonly PricedShape[] },
  config: { targetUtilization: number; minCapacity: number; scaleDownTolerance: number },
): { desired: number; why: string } | undefined {
  if (!shape || !isBursty(shape) || a.direction === 'up' || a.provisionedThrottles > 0) return undefined;
  const settled = Math.max(config.minCapacity, 1, Math.ceil(a.settledDemandRate / config.targetUtilization));
  const from = a.direction === 'down' ? a.desired : a.provisioned;
  if (settled >= from * (1 - config.scaleDownTolerance)) return undefined;
  if (!budgetAllows(budget.ledger, budget.now, budget.shapes)) return undefined;
  return {
    desired: settled,
    why: `sooner after a short peak: demand settled at ${a.settledDemandRate.toFixed(1)}/s and the budget allows (${shape.peaksPerDay.toFixed(1)} learned bursts a day)`,
  };
}

/** Whether a decrease that saves `savingPerHour` (USD) is worth AWS's decrease slot now. */
export function planDecrease(
  ledger: DecreaseLedger,
  now: Date,
  savingPerHour: number,
  shapes: readonly PricedShape[],
  targetUtilization: number,
  falling?: string,
): SpendDecision {
  const a = decreaseAllowance(ledger, now);
  const peaksLeft = peaksLeftToday(shapes, now);
  if (!a.allowedNow) {
    return { spend: false, why: 'AWS allows no decrease now', peaksLeft, slotValuePerHour: 0 };
  }
  const freeAfter = freeAfterOne(ledger, now);
  if (freeAfter >= Math.ceil(peaksLeft)) {
    return {
      spend: true,
      why: `the budget allows: ${freeAfter} free decrease(s) left after this for ${peaksLeft.toFixed(1)} peak(s) expected in the rest of the UTC day`,
      peaksLeft,
      slotValuePerHour: 0,
    };
  }
  if (falling) {
    return {
      spend: false,
      why: `one decrease where demand settles, not a partial one that makes the next wait: ${falling}`,
      peaksLeft,
      slotValuePerHour: 0,
    };
  }
  const perDay = Math.max(0, ...shapes.map((s) => s.shape.peaksPerDay));
  const chance = Math.min(1, perDay / 24);
  const slotValue = chance * peakSavingPerHour(shapes, targetUtilization) * 0.5;
  const spend = savingPerHour >= slotValue;
  const money = (x: number) => `$${x.toFixed(4)}/h`;
  return {
    spend,
    why: spend
      ? `saves ${money(savingPerHour)}, at least the ${money(slotValue)} the slot is worth to the ${perDay.toFixed(1)} learned peaks a day`
      : `saves only ${money(savingPerHour)}: the slot is worth ${money(slotValue)} to the ${perDay.toFixed(1)} learned peaks a day (the next decrease could wait an hour)`,
    peaksLeft,
    slotValuePerHour: slotValue,
  };
}

/** When a deferred small decrease is worth looking at again: the next hour. */
export function reconsiderAt(now: Date): string {
  return new Date(now.getTime() + HOUR_MS).toISOString();
}
