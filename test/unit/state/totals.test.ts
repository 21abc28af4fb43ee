import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionKind, Outcome } from '../../../shared/core/model.ts';
import { moneyTotals } from '../../../shared/report/totals.ts';
import { appliedCostOf, totalsOf } from '../../../shared/state/totals.ts';
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
