import { describe, expect, it } from 'vitest';
import { decideIops } from '../../../shared/policies/iops.ts';
import { demandHistory } from '../../../shared/policies/iops-forecast.ts';
import { trendPerHour } from '../../../shared/policies/iops-series.ts';
import { constant, io1, NOW, observation, PRICES, series, settings } from './fixtures.ts';

const big = io1({ instanceClass: 'db.r6i.16xlarge', allocatedGiB: 2000, iops: 2000 });

describe('IOPS policy: forecasting the lock-out', () => {
  it('waits while saturated demand is still climbing steeply, then sizes the raise on the level reached', () => {
    // Prepare: flat 1,500, then a flash sale: served capped at 2,000, latency says 4x, 7x, 10x.
    const served = [...constant(1500, 57), 2000, 2000, 2000];
    const latency = [...constant(0.001, 57), 0.004, 0.007, 0.01];
    const climbing = observation({
      instance: big,
      recent: served,
      latencySec: latency,
      hourly: constant(1500, 48),
    });
    // Act
    const first = decideIops({ observation: climbing, settings: settings(), prices: PRICES, now: NOW });
    // Assess: no change sized mid-climb
    expect(first.plan.actions).toEqual([]);
    expect(first.plan.noopReason).toMatch(/still climbing/);

    const levelled = observation({
      instance: big,
      recent: [...constant(1500, 52), ...constant(2000, 8)],
      latencySec: [...constant(0.001, 52), 0.004, 0.007, ...constant(0.01, 6)],
      hourly: constant(1500, 48),
    });
    const second = decideIops({ observation: levelled, settings: settings(), prices: PRICES, now: NOW });
    expect(second.plan.actions[0]?.kind).toBe('set-iops');
    expect(Number(second.plan.actions[0]?.to)).toBeGreaterThanOrEqual(20_000 / 0.7);
  });

  it('extrapolates a climb that is new for the day, but not one that repeats an earlier level', () => {
    const rising = Array.from({ length: 60 }, (_, i) => 1000 + i * 20); // +1,200 IOPS/h, up to 2,180
    const at2500 = io1({ instanceClass: 'db.r6i.16xlarge', allocatedGiB: 2000, iops: 2500 });
    const fresh = observation({
      instance: at2500,
      recent: rising,
      hourly: [...constant(null, 46), 600, 800],
    });
    const a = decideIops({ observation: fresh, settings: settings(), prices: PRICES, now: NOW });
    expect(Number(a.plan.actions[0]?.to)).toBeGreaterThan((2 * 2180) / 0.7);

    const cycle = observation({
      instance: at2500,
      recent: rising,
      hourly: [...constant(null, 40), 2100, ...constant(900, 7)],
    });
    const b = decideIops({ observation: cycle, settings: settings(), prices: PRICES, now: NOW });
    // At most 10% above the level reached earlier in the day, at the reactive 70%.
    expect(Number(b.plan.actions[0]?.to)).toBeLessThanOrEqual(Math.ceil((2180 * 1.1) / 0.7 / 100) * 100);
  });

  it('scales saturated history by its latency rise past the knee and leaves unsaturated history alone', () => {
    const served = series([1000, 2000, 2000, 2000], NOW, 300);
    // 1.4x normal: a volume near its limit (the knee), not demand above it.
    const latency = series([0.001, 0.0014, 0.003, 0.03], NOW, 300);
    const scaled = demandHistory(served, latency, 0.001, 10).values;
    for (const [i, v] of [1000, 2000, 4000, 20_000].entries()) expect(scaled[i]).toBeCloseTo(v, 6);
    expect(demandHistory(served, undefined, 0.001, 10).values).toEqual([1000, 2000, 2000, 2000]);
  });

  it('measures a trend in IOPS per hour', () => {
    expect(
      trendPerHour(
        Array.from({ length: 30 }, (_, i) => 100 + i * 10),
        60,
      ),
    ).toBeCloseTo(600, 5);
    expect(trendPerHour([1, 2, 3], 60)).toBe(0);
  });
});
