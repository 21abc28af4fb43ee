import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BURST_MAX_MINUTES,
  burstFloor,
  type DemandShape,
  learnDemandShape,
  learnedFloors,
  MIN_SHAPE_HOURS,
  peaksAbove,
  shapeKey,
} from '../../../shared/policies/dynamodb-demand-shape.ts';

const START = '2026-03-09T00:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(START) + minutes * 60_000);

/** An idle table (2 units/s) with a burst of `height` for `length` minutes every `every` minutes. */
function idleBursts(minutes: number, every: number, length: number, height: number): number[] {
  return Array.from({ length: minutes }, (_, t) => (t % every >= 10 && t % every < 10 + length ? height : 2));
}

function shape(extra: Partial<DemandShape> = {}): DemandShape {
  return {
    learnedAt: START,
    learnedFrom: { start: START, end: START, periodSeconds: 60 },
    hours: 48,
    base: 2,
    peak: 1400,
    peaksPerDay: 6,
    peakMinutes: 15,
    ...extra,
  };
}

describe('learned demand shape', () => {
  it('learns nothing from less than MIN_SHAPE_HOURS of history', () => {
    const values = idleBursts(MIN_SHAPE_HOURS * 60 - 1, 240, 15, 1000);
    expect(learnDemandShape({ start: START, periodSeconds: 60, values }, at(values.length))).toBeUndefined();
  });

  it('counts the bursts of an idle table: how many a day, how high, how long', () => {
    const values = idleBursts(2 * 1440, 240, 15, 1000);
    const s = learnDemandShape({ start: START, periodSeconds: 60, values }, at(2 * 1440));
    expect(s?.base).toBe(2);
    expect(s?.peak).toBe(1000);
    expect(s?.peaksPerDay).toBeCloseTo(6, 5);
    expect(s?.peakMinutes).toBe(15);
  });

  it('finds no peaks on a table whose high stays within twice its typical level', () => {
    const values = Array.from({ length: 1440 }, (_, t) => 100 + 50 * Math.sin((2 * Math.PI * t) / 1440));
    const s = learnDemandShape({ start: START, periodSeconds: 60, values }, at(1440));
    expect(s?.peaksPerDay).toBe(0);
    expect(s?.peak).toBe(s?.base);
  });

  it('merges a dip of a few minutes inside one peak', () => {
    const v = [0, 0, 9, 9, 0, 0, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0];
    expect(peaksAbove(v, 5, 5).map((r) => r.length)).toEqual([6, 1]);
    expect(peaksAbove(v, 5, 0).length).toBe(3);
  });

  it('property: never reads a sample that ends after now (walk-forward)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: 0, max: 5000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        (future) => {
          const past = idleBursts(MIN_SHAPE_HOURS * 60 + 60, 120, 10, 800);
          const now = at(past.length);
          const a = learnDemandShape({ start: START, periodSeconds: 60, values: past }, now);
          const b = learnDemandShape({ start: START, periodSeconds: 60, values: [...past, ...future] }, now);
          expect(b).toEqual(a);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('learned burst floor', () => {
  it('goes to the learned peak / target at once while a burst throttles low capacity', () => {
    // Capacity 5: the unserved estimate is capped at 50/s, far below the 1,400/s burst.
    const f = burstFloor(shape(), { demandRate: 55, unservedRate: 50, consumedRate: 5 }, 0.5);
    expect(f?.units).toBe(2800);
    expect(f?.reason).toContain('recurring burst');
  });

  it('is on while demand is above the middle of base..peak', () => {
    expect(burstFloor(shape(), { demandRate: 800, unservedRate: 0, consumedRate: 800 }, 0.5)?.units).toBe(
      2800,
    );
    expect(burstFloor(shape(), { demandRate: 600, unservedRate: 0, consumedRate: 600 }, 0.5)).toBeUndefined();
  });

  it('stays off for a little throttling on an idle table (noise)', () => {
    expect(burstFloor(shape(), { demandRate: 6, unservedRate: 3, consumedRate: 3 }, 0.7)).toBeUndefined();
  });

  it('stays off for plateaus, rare peaks and tables without a learned shape', () => {
    const on = { demandRate: 2000, unservedRate: 500, consumedRate: 1500 };
    expect(burstFloor(shape({ peakMinutes: BURST_MAX_MINUTES + 1 }), on, 0.7)).toBeUndefined();
    expect(burstFloor(shape({ peaksPerDay: 0.5 }), on, 0.7)).toBeUndefined();
    expect(burstFloor(undefined, on, 0.7)).toBeUndefined();
  });

  it('is a floor only on the way up, never a partial decrease', () => {
    const shapes = { [shapeKey(null, 'read')]: shape() };
    const now = {
      indexName: null,
      dim: 'read' as const,
      demandRate: 900,
      unservedRate: 0,
      consumedRate: 900,
    };
    expect(learnedFloors([{ ...now, direction: 'down' }], shapes, 0.7)).toEqual([]);
    const up = learnedFloors([{ ...now, direction: 'up' }], shapes, 0.7);
    expect(up).toHaveLength(1);
    expect(up[0]?.evidence[0]?.metric).toContain('learned demand shape');
  });

  it('property: the floor is the learned peak / target, or nothing', () => {
    fc.assert(
      fc.property(
        fc.float({ min: 0, max: 100, noNaN: true }),
        fc.float({ min: 1, max: 10_000, noNaN: true }),
        fc.float({ min: 0, max: 48, noNaN: true }),
        fc.float({ min: 0, max: 20_000, noNaN: true }),
        fc.float({ min: 0, max: 20_000, noNaN: true }),
        fc.float({ min: Math.fround(0.2), max: Math.fround(0.9), noNaN: true }),
        (base, peak, perDay, demand, unserved, target) => {
          const s = shape({ base, peak, peaksPerDay: perDay });
          const f = burstFloor(
            s,
            { demandRate: demand, unservedRate: unserved, consumedRate: demand - unserved },
            target,
          );
          if (f) expect(f.units).toBe(Math.ceil(peak / target - 1e-9));
          if (perDay < 1 || peak < 2 * base) expect(f).toBeUndefined();
        },
      ),
    );
  });
});
