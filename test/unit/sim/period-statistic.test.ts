import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregate, type MinutePoint, PeriodStatistic } from '../../../shared/sim/metrics.ts';

/**
 * The statistics as the simulator computed them over an array of a period's points before
 * PeriodStatistic (kept here as the reference): GetMetricData and alarms must publish exactly these
 * values, to the last bit.
 */
function reference(points: MinutePoint[], stat: string): number | undefined {
  if (points.length === 0) return undefined;
  switch (stat) {
    case 'Average': {
      const s = points.reduce((a, p) => a + p.value * (p.published ?? 1), 0);
      const n = points.reduce((a, p) => a + p.count * (p.published ?? 1), 0);
      return n > 0 ? s / n : 0;
    }
    case 'Sum':
      return points.reduce((a, p) => a + p.value * (p.published ?? 1), 0);
    case 'SampleCount':
      return points.reduce((a, p) => a + Math.round(p.count * (p.published ?? 1)), 0);
    case 'Maximum':
      return points.reduce((a, p) => Math.max(a, p.value), Number.NEGATIVE_INFINITY);
    case 'Minimum':
      return points.reduce((a, p) => Math.min(a, p.value), Number.POSITIVE_INFINITY);
    default: {
      const m = /^p(\d{1,2}(?:\.\d+)?)$/.exec(stat);
      if (!m?.[1]) return undefined;
      const q = Number(m[1]) / 100;
      const sorted = points.map((p) => p.value).sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
    }
  }
}

const STATS = ['Average', 'Sum', 'SampleCount', 'Maximum', 'Minimum', 'p90', 'p99.9', 'p50', 'IQM'];

const point = fc.record(
  {
    value: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    count: fc.integer({ min: 0, max: 5000 }),
    published: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: ['value', 'count'] },
);

describe('PeriodStatistic (a period statistic folded in minute by minute)', () => {
  it('gives, for every period after a reset, exactly the statistic of an array of that period’s points', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...STATS),
        fc.array(fc.array(point, { maxLength: 70 }), { maxLength: 5 }),
        (stat, periods) => {
          const statistic = new PeriodStatistic(stat);
          for (const points of periods) {
            statistic.reset();
            for (const p of points) statistic.add(p);
            expect(Object.is(statistic.value(), reference(points, stat))).toBe(true);
            expect(Object.is(aggregate(points, stat), reference(points, stat))).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('weights a partly published minute in sums and counts, and forgets the previous period on reset', () => {
    const average = new PeriodStatistic('Average');
    average.add({ value: 1000, count: 1 });
    average.reset();
    average.add({ value: 120, count: 4 });
    average.add({ value: 60, count: 2, published: 0.5 });
    expect(average.value()).toBe((120 + 30) / (4 + 1));
    const samples = new PeriodStatistic('SampleCount');
    samples.add({ value: 1, count: 3, published: 0.5 });
    expect(samples.value()).toBe(2);
    const p90 = new PeriodStatistic('p90');
    for (const value of [5, 1, 9, 3, 7, 2, 8, 4, 6, 10]) p90.add({ value, count: 1 });
    expect(p90.value()).toBe(9);
    expect(new PeriodStatistic('Maximum').value()).toBeUndefined();
  });
});
