import type { DecisionTotals } from '../core/contracts.ts';
import { countsAsChange } from '../core/guards.ts';
import type { Decision, Outcome, TunerName } from '../core/model.ts';
import { isNotable } from './keys.ts';

/**
 * Daily totals of a tuner's decisions, kept as decisions are recorded (one ADD per decision), so
 * `control status` and the digest count without reading decisions; a month's totals are the sum
 * of its days (one query of at most 31 small items per tuner). Item attributes:
 * `notable_<outcome>` and `noop_<outcome>` counts, `appliedCost` (sum of monthlyCostDelta of the
 * applied changes: recommendations and findings are advice, not changes, and cost nothing).
 */
const OUTCOMES: readonly Outcome[] = ['planned', 'applied', 'deferred', 'skipped', 'failed'];

function countAttribute(decision: Pick<Decision, 'action' | 'outcome'>): string {
  return `${isNotable(decision) ? 'notable' : 'noop'}_${decision.outcome}`;
}

/**
 * The cost a decision adds to the applied sum: that of an applied change (as the reports count
 * money, shared/report/totals.ts), finite. An applied recommendation or finding only advised.
 */
export function appliedCostOf(decision: Pick<Decision, 'action' | 'outcome' | 'monthlyCostDelta'>): number {
  return countsAsChange(decision) && Number.isFinite(decision.monthlyCostDelta)
    ? decision.monthlyCostDelta
    : 0;
}

/** The UpdateItem parts that add one decision to a totals item. */
export function totalsUpdate(decision: Decision, expiresAt: number) {
  return {
    UpdateExpression: 'ADD #n :one, appliedCost :cost SET expiresAt = if_not_exists(expiresAt, :exp)',
    ExpressionAttributeNames: { '#n': countAttribute(decision) },
    ExpressionAttributeValues: { ':one': 1, ':cost': appliedCostOf(decision), ':exp': expiresAt },
  };
}

export function emptyTotals(tuner: TunerName, period: string): DecisionTotals {
  return { tuner, period, outcomes: {}, noops: {}, appliedCostDelta: 0 };
}

/** A stored totals item (or one decision) as counts. */
export function readTotalsItem(item: Record<string, unknown>): Omit<DecisionTotals, 'tuner' | 'period'> {
  const outcomes: Partial<Record<Outcome, number>> = {};
  const noops: Partial<Record<Outcome, number>> = {};
  for (const o of OUTCOMES) {
    const n = Number(item[`notable_${o}`] ?? 0);
    const z = Number(item[`noop_${o}`] ?? 0);
    if (n > 0) outcomes[o] = n;
    if (z > 0) noops[o] = z;
  }
  const cost = Number(item.appliedCost ?? 0);
  return { outcomes, noops, appliedCostDelta: Number.isFinite(cost) ? cost : 0 };
}

/** The totals of one decision, for the in-memory store. */
export function totalsOf(decision: Decision): Omit<DecisionTotals, 'tuner' | 'period'> {
  return readTotalsItem({ [countAttribute(decision)]: 1, appliedCost: appliedCostOf(decision) });
}

/** Adds one set of counts to another (a decision's, a day's, a scope's), in place. */
export function addToTotals<T extends Omit<DecisionTotals, 'tuner' | 'period'>>(
  into: T,
  part: Omit<DecisionTotals, 'tuner' | 'period'>,
): T {
  for (const [o, n] of Object.entries(part.outcomes) as [Outcome, number][])
    into.outcomes[o] = (into.outcomes[o] ?? 0) + n;
  for (const [o, n] of Object.entries(part.noops) as [Outcome, number][])
    into.noops[o] = (into.noops[o] ?? 0) + n;
  into.appliedCostDelta += part.appliedCostDelta;
  return into;
}

/** The attributes of a totals item holding these decisions (backfills, tests). */
export function totalsAttributes(decisions: Decision[]): Record<string, number> {
  const out: Record<string, number> = { appliedCost: 0 };
  for (const d of decisions) {
    const k = countAttribute(d);
    out[k] = (out[k] ?? 0) + 1;
    out.appliedCost = (out.appliedCost ?? 0) + appliedCostOf(d);
  }
  return out;
}
