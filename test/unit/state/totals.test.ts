import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionKind, Outcome } from '../../../shared/core/model.ts';
import { moneyTotals } from '../../../shared/report/totals.ts';
import { appliedCostOf, NoopTally, totalsOf, totalsUpdate } from '../../../shared/state/totals.ts';
import { makeDecision } from '../core/fixtures.ts';

const KINDS: ActionKind[] = [
  'set-iops',
  'set-capacity',
  'add-replica',
  'recommend',
  'finding',
  'noop',
  'pause',
];
const OUTCOMES: Outcome[] = ['planned', 'intended', 'applied', 'deferred', 'skipped', 'failed'];

describe('daily totals: the applied cost', () => {
  it('adds the cost of an applied change', () => {
    expect(appliedCostOf({ action: 'set-iops', outcome: 'applied', monthlyCostDelta: -120 })).toBe(-120);
  });

  it('adds nothing for an applied recommendation or finding (advice, not a change)', () => {
    expect(appliedCostOf({ action: 'recommend', outcome: 'applied', monthlyCostDelta: -300 })).toBe(0);
    expect(appliedCostOf({ action: 'finding', outcome: 'applied', monthlyCostDelta: -90 })).toBe(0);
    const recommendation = makeDecision({ action: 'recommend', outcome: 'applied', monthlyCostDelta: -300 });
    expect(totalsOf(recommendation)).toEqual({ outcomes: { applied: 1 }, noops: {}, appliedCostDelta: 0 });
  });

  it('sums to what the reports count as applied money, for any decisions', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            action: fc.constantFrom(...KINDS),
            outcome: fc.constantFrom(...OUTCOMES),
            monthlyCostDelta: fc.integer({ min: -100_000, max: 100_000 }).map((c) => c / 100),
          }),
          { maxLength: 30 },
        ),
        (parts) => {
          const decisions = parts.map((p, i) => makeDecision({ ...p, id: `p:${i}`, resource: `r${i % 3}` }));
          const kept = decisions.reduce((sum, d) => sum + appliedCostOf(d), 0);
          // The reports net reversals per resource, but the applied sum is the same sum of changes.
          expect(Math.round(kept * 100) / 100 || 0).toBe(moneyTotals(decisions).appliedMonthlyCostDelta);
        },
      ),
    );
  });
});

describe('daily totals: the no-op counts a store holds (NoopTally)', () => {
  const key = { pk: 'iops#home#agg', sk: 'day#2026-03-02' };
  const noop = (outcome: Outcome = 'applied') => makeDecision({ action: 'noop', outcome });

  it('holds successful no-ops only (a failed no-op or any other decision is written as recorded)', () => {
    expect(NoopTally.holds(noop())).toBe(true);
    expect(NoopTally.holds(noop('skipped'))).toBe(true);
    expect(NoopTally.holds(noop('failed'))).toBe(false);
    expect(NoopTally.holds(makeDecision({ outcome: 'deferred' }))).toBe(false);
  });

  it('keeps the counts held while a write of earlier ones was awaited, and the earliest TTL', () => {
    const tally = new NoopTally();
    for (let i = 0; i < 3; i++) tally.count(key, '2026-03-02', noop(), 200);
    tally.count(key, '2026-03-02', noop('skipped'), 100);
    const sent = tally.heldFor(key);
    expect(sent).toMatchObject({
      counts: { noop_applied: 3, noop_skipped: 1 },
      expiresAt: 100,
      tuner: 'iops',
    });
    // Two more counted while the write is in flight; then it succeeds.
    tally.count(key, '2026-03-02', noop(), 300);
    tally.count(key, '2026-03-02', noop(), 300);
    tally.written(sent as NonNullable<typeof sent>);
    expect(tally.all().map((h) => h.counts)).toEqual([{ noop_applied: 2 }]);
    tally.written(tally.all()[0] as NonNullable<typeof sent>);
    expect(tally.all()).toEqual([]);
  });

  it("adds a notable decision's count and cost and the held no-op counts in one ADD", () => {
    const update = totalsUpdate(makeDecision({ monthlyCostDelta: -12 }), { noop_applied: 4 }, 99);
    expect(update.UpdateExpression).toBe(
      'ADD #n0 :n0, #n1 :n1, appliedCost :cost SET expiresAt = if_not_exists(expiresAt, :exp)',
    );
    expect(update.ExpressionAttributeNames).toEqual({ '#n0': 'noop_applied', '#n1': 'notable_applied' });
    expect(update.ExpressionAttributeValues).toEqual({ ':n0': 4, ':n1': 1, ':cost': -12, ':exp': 99 });
  });
});
