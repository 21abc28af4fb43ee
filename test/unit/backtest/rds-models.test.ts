import { describe, expect, it } from 'vitest';
import { IopsModel } from '../../../shared/backtest/models/iops.ts';
import { createDelayMinutes, ReplicasModel } from '../../../shared/backtest/models/replicas.ts';
import { parseOptions, prices } from '../../../shared/backtest/options.ts';

describe('IOPS model', () => {
  const options = parseOptions({ iops: { modifyMinutes: 10, optimizationMinutes: 60 } });

  it('puts new IOPS in effect after modifying, then refuses changes for 6 h', () => {
    const m = new IopsModel(options, prices(options), 3000);
    m.begin(0);
    expect(m.request({ iops: 6000 })).toEqual({ status: 'applied', effectiveAt: 10 });
    m.begin(9);
    const saturated = m.serve(5000);
    expect(saturated).toMatchObject({ provisionedIops: 3000, status: 'modifying' });
    expect(saturated.readIops + saturated.writeIops).toBeCloseTo(3000, 6);
    m.begin(10);
    const after = m.serve(5000);
    expect(after).toMatchObject({ provisionedIops: 6000, status: 'storage-optimization' });
    expect(after.readIops + after.writeIops).toBeCloseTo(5000, 6);
    m.begin(359);
    expect(m.request({ iops: 4000 })).toMatchObject({ status: 'deferred', until: 360 });
    m.begin(360);
    expect(m.request({ iops: 4000 }).status).toBe('applied');
  });

  it('waits for storage optimization when it runs longer than 6 h', () => {
    const long = parseOptions({ iops: { modifyMinutes: 10, optimizationMinutes: 600 } });
    const m = new IopsModel(long, prices(long), 3000);
    m.begin(0);
    m.request({ iops: 6000 });
    m.begin(400);
    expect(m.request({ iops: 4000 })).toMatchObject({ status: 'deferred', until: 610 });
  });

  it('allows at most 4 changes in 24 h even when the wait between them is shorter', () => {
    const quick = parseOptions({
      iops: { modifyMinutes: 0, optimizationMinutes: 0, minMinutesBetweenChanges: 60 },
    });
    const m = new IopsModel(quick, prices(quick), 3000);
    const statuses: string[] = [];
    for (let i = 0; i < 5; i++) {
      m.begin(i * 60);
      statuses.push(m.request({ iops: 4000 + i * 1000 }).status);
    }
    expect(statuses).toEqual(['applied', 'applied', 'applied', 'applied', 'deferred']);
  });

  it('bills provisioned IOPS per IOPS-month, prorated per minute, and counts saturated minutes', () => {
    const m = new IopsModel(options, prices(options), 1000);
    for (let t = 0; t < 60; t++) {
      m.begin(t);
      m.serve(t < 10 ? 1500 : 500);
    }
    expect(m.totals.cost).toBeCloseTo(((1000 * 0.1) / (730 * 60)) * 60, 8);
    expect(m.totals.saturationMinutes).toBe(10);
    expect(m.totals.unserved).toBe(5000);
  });
});

describe('replicas model', () => {
  // Exact figures: no metric noise and warm caches unless a test turns them on.
  const options = parseOptions({
    replicas: {
      readerCreateMinutes: 10,
      saturationCpuPercent: 90,
      maxReaders: 15,
      metricNoise: 0,
      coldCacheMinutes: 0,
    },
  });

  it('bills a new reader from its creation and lets it serve after the creation time', () => {
    const m = new ReplicasModel(options, prices(options), 1);
    m.begin(0);
    m.request({ readers: 2 });
    expect(m.serve(180)).toMatchObject({ readers: 1, pendingReaders: 1, avgReaderCpu: 100 });
    expect(m.totals.unserved).toBe(80);
    m.begin(10);
    expect(m.serve(180)).toMatchObject({ readers: 2, pendingReaders: 0, avgReaderCpu: 90 });
    expect(m.totals.unserved).toBe(80);
    expect(m.totals.readerMinutes).toBe(4);
    // 90 % is not above the threshold: only the first minute was saturated.
    expect(m.totals.saturationMinutes).toBe(1);
  });

  it('publishes CPUUtilization capped at 100 and DBLoadCPU showing dbLoadGain x signalStrength of the excess', () => {
    const m = new ReplicasModel(options, prices(options), 1);
    m.begin(0);
    // 300 % of one 2-vCPU reader: CPU 100; run queue 2 x (100 + 0.7 x 200) / 100 = 4.8 sessions.
    expect(m.serve(300)).toMatchObject({ avgReaderCpu: 100, dbLoadCpu: 4.8 });
    const strong = parseOptions({ ...options, signalStrength: 3 });
    const s = new ReplicasModel(strong, prices(strong), 1);
    s.begin(0);
    // 2 x (100 + 2.1 x 200) / 100 = 10.4, above the cap of 4 sessions per vCPU (8).
    expect(s.serve(300).dbLoadCpu).toBe(8);
    expect(s.totals.unserved).toBe(m.totals.unserved);
  });

  it('publishes no DBLoadCPU without Performance Insights', () => {
    const off = parseOptions({ ...options, replicas: { ...options.replicas, performanceInsights: false } });
    const m = new ReplicasModel(off, prices(off), 1);
    m.begin(0);
    expect(m.serve(300).dbLoadCpu).toBeNull();
  });

  it('gives a new reader a cold cache: more CPU per query, fading over coldCacheMinutes', () => {
    const cold = parseOptions({ ...options, replicas: { ...options.replicas, coldCacheMinutes: 20 } });
    const m = new ReplicasModel(cold, prices(cold), 1);
    m.begin(0);
    m.request({ readers: 2 });
    m.begin(10);
    // Demand 100 over 2 readers: the warm one at 50 %, the new one at 50 x 1.5 = 75 %.
    expect(m.serve(100).avgReaderCpu).toBeCloseTo(62.5, 6);
    m.begin(20);
    expect(m.serve(100).avgReaderCpu).toBeCloseTo(56.25, 6);
    m.begin(30);
    expect(m.serve(100).avgReaderCpu).toBeCloseTo(50, 6);
  });

  it('takes longer to create a plain RDS replica the larger the source storage, plus the DNS TTL', () => {
    const rds = (storageGiB: number) =>
      parseOptions({
        replicas: { instancePriceKey: 'rds.instance.db.r6g.large.hour', storageGiB, readerCreateMinutes: 15 },
      });
    expect(createDelayMinutes(rds(100))).toBe(15 + 10 + 1);
    expect(createDelayMinutes(rds(1000))).toBe(15 + 100 + 1);
    expect(createDelayMinutes(parseOptions({}))).toBe(12);
  });

  it('bills a plain RDS replica for its copy of the source storage', () => {
    const rds = parseOptions({
      replicas: { instancePriceKey: 'rds.instance.db.r6g.large.hour', storageGiB: 500 },
    });
    expect(prices(rds).readerMinute * 730 * 60).toBeCloseTo(0.225 * 730 + 500 * 0.115, 6);
  });

  it('removes readers still being created first', () => {
    const m = new ReplicasModel(options, prices(options), 2);
    m.begin(0);
    m.request({ readers: 4 });
    m.begin(5);
    m.request({ readers: 2 });
    expect(m.state()).toEqual({ readers: 2, pendingReadyAt: [] });
    m.request({ readers: 1 });
    expect(m.state()).toEqual({ readers: 1, pendingReadyAt: [] });
  });

  it('refuses more than 15 readers', () => {
    const m = new ReplicasModel(options, prices(options), 1);
    m.begin(0);
    expect(m.request({ readers: 16 }).status).toBe('skipped');
  });
});
