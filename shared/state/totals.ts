import type { DecisionTotals } from '../core/contracts.ts';
import { countsAsChange } from '../core/guards.ts';
import type { Decision, Outcome, TunerName } from '../core/model.ts';
import { isNotable } from './keys.ts';

/**
 * Daily totals of a tuner's decisions, kept as decisions are recorded, so `control status` and the
 * fleet report count without reading decisions; a month's totals are the sum of its days (one
 * query of at most 31 small items per tuner). Item attributes: `notable_<outcome>` and
 * `noop_<outcome>` counts, `appliedCost` (sum of monthlyCostDelta of the applied changes:
 * recommendations and findings are advice, not changes, and cost nothing).
 *
 * When they are written: a notable decision's count and cost with the decision (one ADD, as it is
 * recorded); an intended one is counted only once resolved (its outcome). Successful no-ops (about
 * 93% of decisions) are counted in the store's memory (NoopTally) and written with one ADD per
 * (tuner, day) item: carried by the next notable ADD on the same item, else when the run ends
 * (`StateStore.flushTotals`, called by the Lambda wrapper shared/handler/wrap.ts after the run,
 * also when it failed or middy cut it short). The successful no-ops' own records (`n#` items) are
 * held too and written 25 to a BatchWriteItem (shared/state/dynamodb-store.ts holdPut): when 25
 * are held, before a read of the store that could return one, and first thing in flushTotals.
 * What a crash loses: a process that dies before the flush (killed, out of memory, Lambda's hard
 * timeout) loses its run's successful no-op records not yet written (fewer than 25) and the no-op
 * counts not yet written, nothing else: every notable decision is written as it is recorded, and
 * notable counts and costs are exact. Each no-op is counted on the UTC day of its own `at`.
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

/**
 * The UpdateItem parts that add counts to a totals item: one notable decision's (count and cost)
 * and/or the no-op counts held for the item (`noops`: attribute -> count).
 */
export function totalsUpdate(
  decision: Decision | undefined,
  noops: Readonly<Record<string, number>>,
  expiresAt: number,
) {
  const counts: Record<string, number> = { ...noops };
  if (decision) counts[countAttribute(decision)] = (counts[countAttribute(decision)] ?? 0) + 1;
  const names = Object.keys(counts);
  return {
    UpdateExpression: `ADD ${names.map((_, i) => `#n${i} :n${i}`).join(', ')}, appliedCost :cost SET expiresAt = if_not_exists(expiresAt, :exp)`,
    ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#n${i}`, n])),
    ExpressionAttributeValues: {
      ...Object.fromEntries(names.map((n, i) => [`:n${i}`, counts[n]])),
      ':cost': decision ? appliedCostOf(decision) : 0,
      ':exp': expiresAt,
    },
  };
}

/** A totals item's no-op counts not yet written. */
export interface HeldNoops {
  key: { pk: string; sk: string };
  tuner: TunerName;
  /** The UTC day (YYYY-MM-DD) of the no-ops held: the item's. */
  day: string;
  /** `noop_<outcome>` -> count. */
  counts: Record<string, number>;
  /** The TTL of the first no-op held (a totals item's `expiresAt` is set by its first write). */
  expiresAt: number;
}

/**
 * The no-op counts a store holds until they are written (see the top of this file), per totals
 * item (its key as a string: the scope is in the key, so a fleet worker's scopes stay apart).
 */
export class NoopTally {
  private readonly held = new Map<string, HeldNoops>();

  /** True when the decision's count is held here rather than written with it (a successful no-op). */
  static holds(decision: Pick<Decision, 'action' | 'outcome'>): boolean {
    return !isNotable(decision);
  }

  /** Holds one no-op's count for the item `key` (its tuner's totals of `day`, the no-op's own day). */
  count(key: { pk: string; sk: string }, day: string, decision: Decision, expiresAt: number): void {
    const id = `${key.pk}\n${key.sk}`;
    const entry = this.held.get(id) ?? { key, tuner: decision.tuner, day, counts: {}, expiresAt };
    const attribute = countAttribute(decision);
    entry.counts[attribute] = (entry.counts[attribute] ?? 0) + 1;
    entry.expiresAt = Math.min(entry.expiresAt, expiresAt);
    this.held.set(id, entry);
  }

  /** What is held for one item (a copy). */
  heldFor(key: { pk: string; sk: string }): HeldNoops | undefined {
    const entry = this.held.get(`${key.pk}\n${key.sk}`);
    return entry ? { ...entry, counts: { ...entry.counts } } : undefined;
  }

  /** Everything held (copies), one entry per item. */
  all(): HeldNoops[] {
    return [...this.held.values()].map((e) => ({ ...e, counts: { ...e.counts } }));
  }

  /**
   * Takes off what was written (a copy heldFor or all gave): counts held since (a write awaited
   * meanwhile) stay held.
   */
  written(part: HeldNoops): void {
    const id = `${part.key.pk}\n${part.key.sk}`;
    const entry = this.held.get(id);
    if (!entry) return;
    for (const [attribute, n] of Object.entries(part.counts)) {
      const left = (entry.counts[attribute] ?? 0) - n;
      if (left > 0) entry.counts[attribute] = left;
      else delete entry.counts[attribute];
    }
    if (Object.keys(entry.counts).length === 0) this.held.delete(id);
  }
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
