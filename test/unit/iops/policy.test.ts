import { describe, expect, it } from 'vitest';
import { decideIops } from '../../../shared/policies/iops.ts';
import { buildStorageLedger } from '../../../shared/policies/iops-ledger.ts';
import { constant, io1, NOW, observation, PRICES, settings } from './fixtures.ts';

const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();

describe('IOPS policy: raising', () => {
  it('raises a saturating io1 instance so the estimated peak sits at the target utilization', () => {
    // Prepare: 10,000 IOPS served flat out, latency 4x the normal 1 ms -> demand about 40,000.
    const obs = observation({
      instance: io1({ instanceClass: 'db.r6i.16xlarge', allocatedGiB: 2000 }),
      recent: constant(10_000, 60),
      latencySec: constant(0.004, 60),
      hourly: constant(3000, 48),
      historyLatencySec: constant(0.001, 48),
    });
    // Act
    const { plan, detail } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    // Assess
    expect(detail.saturated).toBe(true);
    const action = plan.actions[0];
    expect(action?.kind).toBe('set-iops');
    expect(action?.from).toBe(10_000);
    expect(action?.to).toBe(Math.ceil(40_000 / 0.7 / 100) * 100);
    expect(action?.params).toMatchObject({ AllocatedStorage: 2000, Iops: action?.to });
    expect(action?.monthlyCostDelta).toBeCloseTo(((action?.to as number) - 10_000) * 0.1, 2);
    expect(action?.reason).toMatch(/saturated/);
    expect(action?.undo?.params).toMatchObject({ Iops: 10_000 });
    expect(String(action?.undo?.params.waitRule)).toMatch(/6 h/);
    expect(
      action?.evidence.some((e) => e.metric === 'ReadIOPS+WriteIOPS' && (e.series?.length ?? 0) > 0),
    ).toBe(true);
  });

  it('does nothing while peak demand sits inside the tolerance band', () => {
    const obs = observation({ recent: constant(7200, 60), hourly: constant(7200, 48) });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    expect(plan.actions).toEqual([]);
    expect(plan.noopReason).toMatch(/fits/);
  });

  it('caps a raise at the monthly cost ceiling and says so', () => {
    const obs = observation({ recent: constant(10_000, 60), latencySec: constant(0.004, 60) });
    const ceiling = 500 * 0.125 + 20_000 * 0.1; // 20,000 IOPS at most
    const { plan } = decideIops({
      observation: obs,
      settings: settings({ monthlyCostCeilingUsd: ceiling, normalLatencyMs: 1 }),
      prices: PRICES,
      now: NOW,
    });
    expect(plan.actions[0]?.to).toBe(20_000);
    expect(plan.actions[0]?.reason).toMatch(/cost ceiling/);
  });

  it('caps a raise at the io1 ratio of 50 IOPS per GiB without growing storage', () => {
    const obs = observation({
      instance: io1({ allocatedGiB: 200, iops: 8000 }),
      recent: constant(8000, 60),
      latencySec: constant(0.004, 60),
    });
    const { plan } = decideIops({
      observation: obs,
      settings: settings({ normalLatencyMs: 1 }),
      prices: PRICES,
      now: NOW,
    });
    expect(plan.actions[0]?.to).toBe(10_000);
    expect(plan.actions[0]?.params).toMatchObject({ AllocatedStorage: 200 });
  });

  it('grows storage to unlock IOPS only when allowStorageGrowthForIops is set', () => {
    const obs = observation({
      instance: io1({ allocatedGiB: 200, iops: 8000 }),
      recent: constant(8000, 60),
      latencySec: constant(0.004, 60),
    });
    const { plan } = decideIops({
      observation: obs,
      settings: settings({ normalLatencyMs: 1, allowStorageGrowthForIops: true }),
      prices: PRICES,
      now: NOW,
    });
    const params = plan.actions[0]?.params as { AllocatedStorage: number; Iops: number };
    expect(params.AllocatedStorage).toBeGreaterThanOrEqual(400);
    expect(params.Iops).toBeLessThanOrEqual(params.AllocatedStorage * 50);
    expect(plan.actions[0]?.undo?.impossibleBecause).toMatch(/never shrinks/);
  });
});

describe('IOPS policy: lowering', () => {
  it('does not lower before the stabilization window has data', () => {
    const obs = observation({ recent: constant(1000, 60), hourly: constant(null, 48) });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    expect(plan.actions).toEqual([]);
    expect(plan.noopReason).toMatch(/stabilization window|less than a day of history/);
  });

  it('lowers after a quiet stabilization window, to the known peak at the forecast utilization', () => {
    const obs = observation({ recent: constant(1000, 60), hourly: constant(2100, 48) });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    expect(plan.actions[0]?.kind).toBe('set-iops');
    expect(plan.actions[0]?.to).toBe(Math.ceil(2100 / 0.85 / 100) * 100);
    expect(plan.actions[0]?.monthlyCostDelta).toBeCloseTo(
      (Math.ceil(2100 / 0.85 / 100) * 100 - 10_000) * 0.1,
      2,
    );
  });

  it("never lowers below the last day's peak: a lowering must hold a day and twice the lock-out", () => {
    // Quiet for the last 12 h, but 18 h ago (and the day before) it peaked at 6,300.
    const hourly = constant(1000, 48);
    hourly[6] = 6300;
    hourly[30] = 6300;
    const obs = observation({ instance: io1({ iops: 20_000 }), recent: constant(1000, 60), hourly });
    const { plan, detail } = decideIops({
      observation: obs,
      settings: settings({ scaleDownStabilizationMinutes: 12 * 60 }),
      prices: PRICES,
      now: NOW,
    });
    expect(detail.forecastPeak).toBe(6300);
    expect(plan.actions[0]?.to).toBe(Math.ceil(6300 / 0.85 / 100) * 100);
    expect(plan.actions[0]?.reason).toMatch(/at least a day and twice the \d+ h lock-out/);
  });
});

describe('IOPS policy: diagnosis before buying', () => {
  it('lowers IOPS the class cannot use to its sustained baseline when EBSIOBalance% is low, and reports the class', () => {
    const obs = observation({
      instance: io1({ instanceClass: 'db.m5.large', iops: 10_000 }),
      recent: constant(3600, 60),
      hourly: constant(3600, 48),
      ebsIoBalance: constant(5, 60),
    });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    expect(plan.actions.map((a) => a.kind)).toEqual(['set-iops', 'finding']);
    expect(plan.actions[0]?.to).toBe(3600);
    expect(plan.actions[0]?.reason).toMatch(/db\.m5\.large sustains 3600 IOPS/);
    expect(plan.actions[1]?.mutating).toBe(false);
    expect(plan.actions[1]?.reason).toMatch(/db\.m5\.large is out of EBS burst/);
  });

  it('reports the class when demand sits at what it can drive, and buys no more IOPS', () => {
    const obs = observation({
      instance: io1({ instanceClass: 'db.r6g.large', iops: 20_000 }),
      recent: constant(19_900, 60),
      latencySec: constant(0.005, 60),
      ebsIoBalance: constant(100, 60),
    });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    expect(plan.actions.map((a) => a.kind)).toEqual(['finding']);
    expect(plan.actions[0]?.reason).toMatch(/what db\.r6g\.large can drive \(20000 IOPS\)/);
  });

  it('recommends gp3 for a gp2 volume whose BurstBalance drains, with the cost change', () => {
    const obs = observation({
      instance: {
        id: 'legacy-db',
        engine: 'mysql',
        instanceClass: 'db.m6g.large',
        storageType: 'gp2',
        allocatedGiB: 200,
      },
      recent: constant(2900, 60),
      burstBalance: [...constant(60, 30), ...constant(15, 30)],
    });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    const action = plan.actions[0];
    expect(action?.kind).toBe('recommend');
    expect(action?.mutating).toBe(false);
    expect(action?.to).toMatchObject({ storageType: 'gp3', iops: 3000 });
    expect(action?.monthlyCostDelta).toBe(0); // gp2 and gp3 cost the same per GB in us-east-1 defaults
  });

  it('makes the gp3 move a mutating set-storage-type action only when allowStorageTypeChange is on', () => {
    const obs = observation({
      instance: {
        id: 'legacy-db',
        engine: 'mysql',
        instanceClass: 'db.m6g.large',
        storageType: 'gp2',
        allocatedGiB: 200,
      },
      recent: constant(2900, 60),
      burstBalance: constant(10, 60),
    });
    const { plan } = decideIops({
      observation: obs,
      settings: settings({ allowStorageTypeChange: true }),
      prices: { ...PRICES, 'rds.gp3.gbMonth': 0.08 },
      now: NOW,
    });
    expect(plan.actions[0]?.kind).toBe('set-storage-type');
    expect(plan.actions[0]?.mutating).toBe(true);
    expect(plan.actions[0]?.monthlyCostDelta).toBeCloseTo(200 * (0.08 - 0.115), 2);
    expect(plan.actions[0]?.rules?.length).toBeGreaterThan(0);
  });

  it('never proposes IOPS for gp3 below 400 GiB, and says what would unlock them', () => {
    const obs = observation({
      instance: {
        id: 'small',
        engine: 'postgres',
        instanceClass: 'db.m6g.large',
        storageType: 'gp3',
        allocatedGiB: 300,
      },
      recent: constant(3000, 60),
      latencySec: constant(0.01, 60),
    });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    expect(plan.actions.map((a) => a.kind)).toEqual(['finding']);
    expect(plan.actions[0]?.reason).toMatch(/400 GiB/);
  });
});

describe('IOPS policy: storage-change rules', () => {
  it('defers a raise within 6 h of the last storage change, until that change + 6 h', () => {
    const ledger = buildStorageLedger({
      instance: { status: 'available' },
      events: [{ date: hoursAgo(2), message: 'Finished applying modification to allocated storage' }],
      decisions: [],
    });
    const obs = observation({ recent: constant(10_000, 60), latencySec: constant(0.004, 60), ledger });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    const wait = plan.actions[0]?.rules?.find((r) => r.rule === 'aws:storage-wait-6h');
    expect(wait?.verdict).toBe('defer');
    expect(wait?.until).toBe(new Date(NOW.getTime() + 4 * 3_600_000).toISOString());
  });

  it('defers while storage is optimizing, and while a non-storage change is pending', () => {
    const ledger = buildStorageLedger({
      instance: {
        status: 'available',
        storageOperationStatus: 'Optimizing',
        percentProgress: 40,
        pendingModifiedValues: { DBInstanceClass: 'db.r6i.4xlarge', Iops: 12000 },
      },
      events: [],
      decisions: [],
    });
    const obs = observation({ recent: constant(10_000, 60), latencySec: constant(0.004, 60), ledger });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    const verdicts = Object.fromEntries((plan.actions[0]?.rules ?? []).map((r) => [r.rule, r.verdict]));
    expect(verdicts['aws:storage-optimization']).toBe('defer');
    expect(verdicts['aws:pending-non-storage']).toBe('defer');
    expect(verdicts['aws:storage-wait-6h']).toBe('ok');
  });

  it('defers the fifth storage change in 24 h until the oldest of the last four is a day old', () => {
    const ledger = buildStorageLedger({
      instance: { status: 'available' },
      events: [7, 13, 19, 23].map((h) => ({
        date: hoursAgo(h),
        message: 'Finished applying modification to allocated storage',
      })),
      decisions: [],
    });
    const obs = observation({ recent: constant(10_000, 60), latencySec: constant(0.004, 60), ledger });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    const rule = plan.actions[0]?.rules?.find((r) => r.rule === 'aws:storage-4-per-24h');
    expect(rule?.verdict).toBe('defer');
    expect(rule?.until).toBe(new Date(Date.parse(hoursAgo(23)) + 24 * 3_600_000).toISOString());
  });

  it('defers on an instance that is not available', () => {
    const obs = observation({
      recent: constant(10_000, 60),
      latencySec: constant(0.004, 60),
      ledger: buildStorageLedger({ instance: { status: 'backing-up' }, events: [], decisions: [] }),
    });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    expect(plan.actions[0]?.rules?.find((r) => r.rule === 'aws:rds-status')?.verdict).toBe('defer');
  });

  it('returns a no-op when there are no IOPS datapoints', () => {
    const obs = observation({ recent: constant(null, 60) });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    expect(plan.actions).toEqual([]);
    expect(plan.noopReason).toMatch(/no ReadIOPS/);
  });
});

describe('IOPS policy: every no-op says why', () => {
  it('explains a gp2 volume whose balance is not draining, and a small gp3 volume whose demand fits', () => {
    const gp2 = observation({
      instance: io1({ storageType: 'gp2', allocatedGiB: 200, iops: undefined }),
      recent: constant(300, 60),
      burstBalance: constant(100, 60),
    });
    const a = decideIops({ observation: gp2, settings: settings(), prices: PRICES, now: NOW });
    expect(a.plan.actions).toEqual([]);
    expect(a.plan.noopReason).toMatch(/BurstBalance 100% is not draining/);
    const gp3 = observation({
      instance: io1({ storageType: 'gp3', allocatedGiB: 100, iops: undefined }),
      recent: constant(500, 60),
    });
    const b = decideIops({ observation: gp3, settings: settings(), prices: PRICES, now: NOW });
    expect(b.plan.actions).toEqual([]);
    expect(b.plan.noopReason).toMatch(/fixed 3,000 IOPS baseline.*demand 500 IOPS fits/);
  });
});
