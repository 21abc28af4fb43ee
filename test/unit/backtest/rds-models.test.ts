import { describe, expect, it } from 'vitest';
import { IopsModel } from '../../../shared/backtest/models/iops.ts';
import { ReplicasModel } from '../../../shared/backtest/models/replicas.ts';
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
  const options = parseOptions({
    replicas: { readerCreateMinutes: 10, saturationCpuPercent: 90, maxReaders: 15 },
  });

  it('bills a new reader from its creation and lets it serve after the creation time', () => {
    const m = new ReplicasModel(options, prices(options), 1);
    m.begin(0);
    m.request({ readers: 2 });
    expect(m.serve(180)).toMatchObject({ readers: 1, pendingReaders: 1, avgReaderCpu: 100, unservedCpu: 80 });
    m.begin(10);
    expect(m.serve(180)).toMatchObject({ readers: 2, pendingReaders: 0, avgReaderCpu: 90, unservedCpu: 0 });
    expect(m.totals.readerMinutes).toBe(4);
    // 90 % is not above the threshold: only the first minute was saturated.
    expect(m.totals.saturationMinutes).toBe(1);
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
