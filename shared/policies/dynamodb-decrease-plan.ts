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
 * And when the slot is scarce, a decrease waits while demand is still falling (the newest period
 * is far below the window's peak): one decrease where demand settles (lower sooner after a short
 * peak), not a partial one that makes the rest wait an hour.
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
import type { DemandShape } from './dynamodb-demand-shape.ts';
import type { CapacityDim, CapacityPair } from './dynamodb-observation.ts';

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
  latest: ReadonlyArray<{ dim: CapacityDim; latestDemandRate: number }>,
  targetUtilization: number,
  tolerance: number,
): string | undefined {
  for (const a of latest) {
    if (down[a.dim] >= up[a.dim]) continue;
    const settled = Math.max(1, Math.ceil(a.latestDemandRate / targetUtilization));
    if (settled < down[a.dim] * (1 - tolerance)) {
      return `${a.dim} demand is still falling (${a.latestDemandRate.toFixed(1)}/s in the newest minute: ${settled} would do, not ${down[a.dim]})`;
    }
  }
  return undefined;
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
  const freeAfter = Math.max(0, FREE_DECREASES_PER_DAY - a.usedToday - 1);
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
