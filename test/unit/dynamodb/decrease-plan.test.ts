import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decreaseTiming } from '../../../shared/policies/dynamodb-constrain.ts';
import {
  afterDecrease,
  type DecreaseLedger,
  decreaseAllowance,
  firstRejectedDecrease,
} from '../../../shared/policies/dynamodb-decrease-budget.ts';
import {
  budgetAllows,
  lowerSooner,
  type PricedShape,
  peakSavingPerHour,
  planDecrease,
  stillFalling,
} from '../../../shared/policies/dynamodb-decrease-plan.ts';
import type { DemandShape } from '../../../shared/policies/dynamodb-demand-shape.ts';

const DAY = Date.parse('2026-03-10T00:00:00Z');
const at = (minutes: number) => new Date(DAY + minutes * 60_000);

function shape(extra: Partial<DemandShape> = {}): DemandShape {
  return {
    learnedAt: at(0).toISOString(),
    learnedFrom: { start: at(-2880).toISOString(), end: at(0).toISOString(), periodSeconds: 60 },
    hours: 48,
    base: 2,
    peak: 1400,
    peaksPerDay: 6,
    peakMinutes: 15,
    ...extra,
  };
}

/** An idle, bursty table: read and write learned, at Standard rates. */
const bursty: PricedShape[] = [
  { shape: shape(), unitHour: 0.00013 },
  { shape: shape({ base: 0.4, peak: 280 }), unitHour: 0.00065 },
];
/** A table with one long daily peak. */
const daily: PricedShape[] = [
  { shape: shape({ peaksPerDay: 1, peakMinutes: 600, base: 500 }), unitHour: 0.00013 },
];
const used = (n: number, lastMinute: number): DecreaseLedger => ({
  numberOfDecreasesToday: n,
  lastDecreaseAt: at(lastMinute).toISOString(),
});

describe("the day's decrease plan against the learned shape", () => {
  it('prices a learned peak: (peak - base) / target at each dimension rate', () => {
    expect(peakSavingPerHour(bursty, 0.7)).toBeCloseTo((1398 / 0.7) * 0.00013 + (279.6 / 0.7) * 0.00065, 8);
  });

  it('keeps a scarce slot from a cut of one unit on an idle, bursty table (noise)', () => {
    // 3 used at 20:00: the 4th would leave none, and the next would wait an hour.
    const d = planDecrease(used(3, 1190), at(1200), 0.00013, bursty, 0.7);
    expect(d.spend).toBe(false);
    expect(d.why).toContain('the slot is worth');
    expect(d.slotValuePerHour).toBeGreaterThan(0.00013);
  });

  it("spends it on a burst's end, which saves far more than the slot is worth", () => {
    const d = planDecrease(used(3, 1190), at(1200), 0.5, bursty, 0.7);
    expect(d.spend).toBe(true);
  });

  it('spends freely when the free decreases left cover the peaks expected in the rest of the day', () => {
    // At 22:00 with 1 used: 2 free left after this, 6 peaks a day x 2/24 = 0.5 expected.
    const d = planDecrease(used(1, 1300), at(1320), 0.00013, bursty, 0.7);
    expect(d.spend).toBe(true);
    expect(d.why).toContain('the budget allows');
  });

  it('spends the steps down after a long daily peak as AWS allows', () => {
    // 100 units less at Standard rates: $0.013/h against a slot worth 1/24 x 1/2 of one peak's saving.
    expect(planDecrease(used(4, 900), at(960), 0.013, daily, 0.7).spend).toBe(true);
  });

  it('waits while demand is still falling when the slot is scarce: one decrease where it settles', () => {
    const falling = stillFalling(
      { read: 1100, write: 220 },
      { read: 3600, write: 720 },
      [
        { dim: 'read', settledDemandRate: 2.6 },
        { dim: 'write', settledDemandRate: 0.5 },
      ],
      0.7,
      0.2,
    );
    expect(falling).toContain('still falling');
    expect(planDecrease(used(3, 1190), at(1200), 0.5, bursty, 0.7, falling).spend).toBe(false);
    // With the budget to spare, the partial decrease goes now and the next follows.
    expect(planDecrease(used(0, 0), at(1320), 0.5, bursty, 0.7, falling).spend).toBe(true);
  });

  it('does not call a decrease to where demand settled still falling', () => {
    const latest = [{ dim: 'read' as const, settledDemandRate: 70 }];
    expect(stillFalling({ read: 100, write: 5 }, { read: 300, write: 5 }, latest, 0.7, 0.2)).toBeUndefined();
  });

  it('never spends when AWS allows no decrease', () => {
    const d = planDecrease(used(4, 1190), at(1200), 10, bursty, 0.7);
    expect(d.spend).toBe(false);
  });

  it('uses the configured reserve until a shape is learned', () => {
    const t = decreaseTiming(used(2, 1190), at(1200), at(1200).toISOString(), 2, {
      savingPerHour: 0.00013,
      shapes: [],
      targetUtilization: 0.7,
    });
    expect(t.now).toBe(false);
    expect(t.planText).toBeUndefined();
    expect(t.reserveKept).toBe(true);
  });

  it('property: a larger saving is never kept where a smaller one is spent', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 1439 }),
        fc.float({ min: 0, max: 2, noNaN: true }),
        fc.float({ min: 0, max: 2, noNaN: true }),
        (n, minute, a, b) => {
          const ledger = used(n, Math.max(0, minute - 61));
          const lo = planDecrease(ledger, at(minute), Math.min(a, b), bursty, 0.7);
          const hi = planDecrease(ledger, at(minute), Math.max(a, b), bursty, 0.7);
          if (lo.spend) expect(hi.spend).toBe(true);
        },
      ),
    );
  });

  it('property: decreases spent through the plan, any savings and shapes, are never refused by AWS', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 80 }),
        fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 80 }),
        fc.float({ min: 0, max: 30, noNaN: true }),
        (gaps, savings, perDay) => {
          const shapes = [{ shape: shape({ peaksPerDay: perDay }), unitHour: 0.00013 }];
          let ledger: DecreaseLedger = { numberOfDecreasesToday: 0 };
          const spent: string[] = [];
          let t = DAY;
          gaps.forEach((g, i) => {
            t += g * 60_000;
            const now = new Date(t);
            const timing = decreaseTiming(ledger, now, now.toISOString(), 0, {
              savingPerHour: savings[i % savings.length] ?? 0,
              shapes,
              targetUtilization: 0.7,
            });
            if (timing.now) {
              expect(decreaseAllowance(ledger, now).allowedNow).toBe(true);
              spent.push(now.toISOString());
              ledger = afterDecrease(ledger, now);
            }
          });
          expect(firstRejectedDecrease(spent, { numberOfDecreasesToday: 0 })).toBe(-1);
        },
      ),
    );
  });
});

describe('lower sooner after a short peak when the budget allows', () => {
  const cfg = { targetUtilization: 0.7, minCapacity: 1, scaleDownTolerance: 0.2 };
  /** Capacity 2,000 held for a burst that is over: the newest 2 minutes at 2 units/s. */
  const over = {
    provisioned: 2000,
    direction: 'hold' as const,
    desired: 2000,
    settledDemandRate: 2,
    provisionedThrottles: 0,
  };
  const budget = (ledger: DecreaseLedger, minute: number) => ({ ledger, now: at(minute), shapes: bursty });

  it('goes where demand settled once a burst is over, without waiting for the window', () => {
    const s = lowerSooner(over, shape(), budget({ numberOfDecreasesToday: 0 }, 1320), cfg);
    expect(s?.desired).toBe(3);
    expect(s?.why).toContain('sooner after a short peak');
  });

  it('deepens a partial decrease to where demand settled', () => {
    const s = lowerSooner(
      { ...over, direction: 'down', desired: 1100 },
      shape(),
      budget({ numberOfDecreasesToday: 0 }, 1320),
      cfg,
    );
    expect(s?.desired).toBe(3);
  });

  it('waits for the window when the budget is scarce (the slot must not be risked on a guess)', () => {
    expect(budgetAllows(used(3, 1190), at(1200), bursty)).toBe(false);
    expect(lowerSooner(over, shape(), budget(used(3, 1190), 1200), cfg)).toBeUndefined();
  });

  it('leaves plateaus, throttled dimensions and unsettled demand to the stabilization window', () => {
    const b = budget({ numberOfDecreasesToday: 0 }, 1320);
    expect(lowerSooner(over, shape({ peakMinutes: 600 }), b, cfg)).toBeUndefined();
    expect(lowerSooner({ ...over, provisionedThrottles: 3 }, shape(), b, cfg)).toBeUndefined();
    expect(lowerSooner({ ...over, settledDemandRate: 1300 }, shape(), b, cfg)).toBeUndefined();
    expect(lowerSooner(over, undefined, b, cfg)).toBeUndefined();
  });

  it('property: never raises, and only lowers by more than the tolerance, to serve the settled demand at the target', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40_000 }),
        fc.float({ min: 0, max: 30_000, noNaN: true }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 1439 }),
        (provisioned, settledDemandRate, n, minute) => {
          const a = { ...over, provisioned, desired: provisioned, settledDemandRate };
          const s = lowerSooner(a, shape(), budget(used(n, Math.max(0, minute - 61)), minute), cfg);
          if (!s) return;
          expect(s.desired).toBeLessThan(provisioned * 0.8);
          expect(s.desired * 0.7).toBeGreaterThanOrEqual(settledDemandRate - 1e-9);
        },
      ),
    );
  });
});
