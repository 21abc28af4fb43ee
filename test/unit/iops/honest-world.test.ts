import { describe, expect, expectTypeOf, it } from 'vitest';
import { IopsModel, optimizationMinutesFor, queueOf } from '../../../shared/backtest/models/iops.ts';
import { parseOptions, prices } from '../../../shared/backtest/options.ts';
import type { IopsObservation as MinuteRow } from '../../../shared/backtest/types.ts';
import type { IopsObservation } from '../../../shared/policies/iops.ts';

/**
 * Issue 17 (IOPS part): the backtest's RDS storage publishes only what AWS publishes, from a
 * queueing model with noise, and storage optimization takes a time with a tail past 24 h.
 */
type Hidden<T> = {
  [K in keyof T]-?: K extends `${string}${'demand' | 'Demand' | 'queued' | 'Queued' | 'unserved' | 'Unserved'}${string}`
    ? K
    : never;
}[keyof T];

function run(
  options: ReturnType<typeof parseOptions>,
  iops: number,
  demand: number,
  minutes: number,
): MinuteRow[] {
  const m = new IopsModel(options, prices(options), iops);
  const rows: MinuteRow[] = [];
  for (let t = 0; t < minutes; t++) {
    m.begin(t);
    rows.push(m.serve(demand));
  }
  return rows;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

describe('the IOPS world publishes only what AWS publishes', () => {
  it('has no demand, queued or unserved field in the minute row nor in the policy observation', () => {
    expectTypeOf<Hidden<MinuteRow>>().toBeNever();
    expectTypeOf<Hidden<IopsObservation>>().toBeNever();
    expectTypeOf<Hidden<IopsObservation['recent']>>().toBeNever();
    expectTypeOf<Hidden<IopsObservation['history']>>().toBeNever();
    const row = run(parseOptions({}), 1000, 3000, 1)[0];
    expect(Object.keys(row ?? {}).sort()).toEqual(
      [
        'at',
        'diskQueueDepth',
        'ebsIoBalance',
        'freeStorageSpace',
        'minute',
        'provisionedIops',
        'readIops',
        'readLatency',
        'status',
        'writeIops',
        'writeLatency',
      ].sort(),
    );
  });

  it('serves at most the provisioned IOPS and shows the excess only as noisy latency and queue depth', () => {
    const rows = run(parseOptions({}), 1000, 3000, 200);
    for (const r of rows) expect(r.readIops + r.writeIops).toBeCloseTo(1000, 6);
    const latencies = rows.map((r) => r.readLatency);
    // Same demand and IOPS every minute, different latency: not a function of demand alone.
    expect(new Set(latencies.map((l) => l.toFixed(6))).size).toBeGreaterThan(150);
    const ratio = median(latencies) / 0.001;
    expect(ratio).toBeGreaterThan(2);
    expect(Math.max(...latencies) / Math.min(...latencies)).toBeGreaterThan(1.5);
  });

  it('bounds DiskQueueDepth by the sessions the application has, so a large excess reads low', () => {
    const small = queueOf(100_000, 10_000, 10_000, 0.001, 128, 1);
    const huge = queueOf(200_000, 10_000, 10_000, 0.001, 128, 1);
    expect(small.queueDepth).toBe(128);
    expect(huge.queueDepth).toBe(small.queueDepth);
    expect(huge.latencySec).toBe(small.latencySec);
  });

  it('shows excess demand more strongly with a larger signalStrength, and never changes what is served', () => {
    const weak = run(parseOptions({ signalStrength: 0.3 }), 1000, 3000, 100);
    const strong = run(parseOptions({ signalStrength: 3 }), 1000, 3000, 100);
    expect(median(strong.map((r) => r.readLatency))).toBeGreaterThan(
      2 * median(weak.map((r) => r.readLatency)),
    );
    expect(strong.map((r) => r.readIops)).toEqual(weak.map((r) => r.readIops));
  });

  it('publishes EBSIOBalance% only for a class with a burst balance, which drains to the baseline', () => {
    expect(run(parseOptions({}), 8000, 8000, 1)[0]?.ebsIoBalance).toBeUndefined();
    const options = parseOptions({ iops: { instanceClass: 'db.r6g.large' } });
    const rows = run(options, 14_000, 12_000, 120);
    expect(rows[0]?.ebsIoBalance).toBeGreaterThan(90);
    const last = rows.at(-1);
    expect(last?.ebsIoBalance).toBe(0);
    // db.r6g.large sustains 3,600 IOPS once the balance is gone (EC2 EBS-optimized table).
    expect((last?.readIops ?? 0) + (last?.writeIops ?? 0)).toBeCloseTo(3600, 6);
  });

  it('publishes FreeStorageSpace in bytes', () => {
    const row = run(parseOptions({ iops: { allocatedGiB: 500, freeStorageFraction: 0.25 } }), 1000, 10, 1)[0];
    expect(row?.freeStorageSpace).toBe(125 * 1024 ** 3);
  });
});

describe('storage optimization time', () => {
  it('is a distribution with a median of hours and a tail past 24 h by default', () => {
    const options = parseOptions({});
    const draws = Array.from({ length: 400 }, (_, k) => optimizationMinutesFor(options, k));
    expect(median(draws)).toBeGreaterThan(150);
    expect(median(draws)).toBeLessThan(360);
    const past24h = draws.filter((d) => d > 24 * 60).length;
    expect(past24h).toBeGreaterThan(0);
    expect(past24h / draws.length).toBeLessThan(0.1);
  });

  it('is fixed when optimizationMinutes is set (the 6 h and 24 h cases)', () => {
    for (const minutes of [360, 1440]) {
      const options = parseOptions({ iops: { optimizationMinutes: minutes } });
      expect(optimizationMinutesFor(options, 0)).toBe(minutes);
      expect(optimizationMinutesFor(options, 7)).toBe(minutes);
    }
  });

  it('shows PercentProgress while optimizing, and the optimization once it completed, never its end in advance', () => {
    const options = parseOptions({ iops: { modifyMinutes: 10, optimizationMinutes: 1440 } });
    const m = new IopsModel(options, prices(options), 1000);
    m.begin(0);
    expect(m.request({ iops: 2000 }).status).toBe('applied');
    m.begin(730);
    const s = m.state();
    expect(s).toMatchObject({ status: 'storage-optimization', percentProgress: 50, optimizingSince: 10 });
    expect(s.completedOptimizations).toEqual([]);
    m.begin(1450);
    expect(m.state().completedOptimizations).toEqual([{ start: 10, end: 1450 }]);
    expect(m.state().status).toBe('available');
  });

  it('refuses the next change until a 24 h optimization ends, not after 6 h', () => {
    const options = parseOptions({ iops: { modifyMinutes: 10, optimizationMinutes: 1440 } });
    const m = new IopsModel(options, prices(options), 1000);
    m.begin(0);
    m.request({ iops: 2000 });
    m.begin(6 * 60 + 1);
    expect(m.request({ iops: 3000 })).toMatchObject({ status: 'deferred', until: 1450 });
  });
});
