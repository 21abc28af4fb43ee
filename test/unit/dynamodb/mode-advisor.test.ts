import { describe, expect, it } from 'vitest';
import {
  adviseCapacityMode,
  breakEvenUtilization,
  monthlyCostsFor,
  type UsageSeries,
} from '../../../shared/policies/dynamodb-mode-advisor.ts';
import { priceTable } from '../../../shared/pricing.ts';
import { config, NOW } from './fixtures.ts';

const prices = priceTable();

/** 14 days of hourly use: `read`/`write` units per second, with an optional peak per hour. */
function usage(
  read: (h: number) => number,
  write: (h: number) => number,
  peak?: (h: number) => number,
): UsageSeries {
  const hours = 14 * 24;
  const r = Array.from({ length: hours }, (_, h) => read(h) * 3600);
  const w = Array.from({ length: hours }, (_, h) => write(h) * 3600);
  return {
    periodSeconds: 3600,
    end: NOW.toISOString(),
    readUnits: r,
    writeUnits: w,
    readPeakPerSecond: peak ? Array.from({ length: hours }, (_, h) => peak(h)) : undefined,
    writePeakPerSecond: peak ? Array.from({ length: hours }, (_, h) => peak(h) * 0.2) : undefined,
  };
}

describe('DynamoDB capacity mode advisor', () => {
  it('breaks even near 29% utilization with us-east-1 prices, for reads and for writes', () => {
    expect(breakEvenUtilization(prices, 'read')).toBeCloseTo(0.2889, 3);
    expect(breakEvenUtilization(prices, 'write')).toBeCloseTo(0.2889, 3);
  });

  it('prices a steady load at fixed capacity: provisioned cheaper above ~29% utilization, on-demand below', () => {
    const hours = 24 * 14;
    for (const [u, cheaper] of [
      [0.25, 'on-demand'],
      [0.28, 'on-demand'],
      [0.3, 'provisioned'],
      [0.5, 'provisioned'],
    ] as const) {
      const capacity = Array.from({ length: hours }, () => ({ read: 1000, write: 100 }));
      const used = Array.from({ length: hours }, () => ({ read: 1000 * u * 3600, write: 100 * u * 3600 }));
      const c = monthlyCostsFor(3600, capacity, used, prices);
      expect(c.onDemandMonthly < c.provisionedMonthly ? 'on-demand' : 'provisioned').toBe(cheaper);
    }
    // 1,000 RCU + 100 WCU for a month: (1000 x 0.00013 + 100 x 0.00065) x 730 = 142.35 USD.
    const c = monthlyCostsFor(3600, [{ read: 1000, write: 100 }], [{ read: 0, write: 0 }], prices);
    expect(c.provisionedMonthly).toBeCloseTo(142.35, 2);
  });

  it('advises the mostly idle sessions table to on-demand with the monthly saving, without switching by default', () => {
    // Idle at 0.2 units/s with an hourly burst to 60 units/s: provisioned must cover the bursts.
    const u = usage(
      () => 0.5,
      () => 0.2,
      () => 60,
    );
    const advice = adviseCapacityMode({
      tableName: 'sessions',
      billingMode: 'PROVISIONED',
      usage: u,
      config: config(),
      prices,
      now: NOW,
      switches: [],
    });
    expect(advice.better).toBe('PAY_PER_REQUEST');
    const a = advice.plan.actions[0];
    expect(a?.kind).toBe('recommend');
    expect(a?.mutating).toBe(false);
    expect(a?.monthlyCostDelta).toBeLessThan(0);
    expect(a?.reason).toMatch(/sessions costs \$\d+\.\d\d\/month less on on-demand/);
    expect(a?.reason).toContain('modeAdvisor.allowSwitch: false');
    expect(-(a?.monthlyCostDelta ?? 0)).toBeCloseTo(
      advice.costs.provisionedMonthly - advice.costs.onDemandMonthly,
      1,
    );
  });

  it('switches where the config allows it', () => {
    const cfg = config();
    cfg.modeAdvisor = { ...cfg.modeAdvisor, allowSwitch: true };
    const advice = adviseCapacityMode({
      tableName: 'sessions',
      billingMode: 'PROVISIONED',
      usage: usage(
        () => 0.5,
        () => 0.2,
        () => 60,
      ),
      config: cfg,
      prices,
      now: NOW,
      switches: [],
    });
    const a = advice.plan.actions[0];
    expect(a?.kind).toBe('set-capacity-mode');
    expect(a?.mutating).toBe(true);
    expect(a?.params?.billingMode).toBe('PAY_PER_REQUEST');
    expect(a?.undo?.params.billingMode).toBe('PROVISIONED');
  });

  it('keeps a busy steady table on provisioned', () => {
    const advice = adviseCapacityMode({
      tableName: 'orders',
      billingMode: 'PROVISIONED',
      usage: usage(
        () => 500,
        () => 100,
      ),
      config: config(),
      prices,
      now: NOW,
      switches: [],
    });
    expect(advice.better).toBe('PROVISIONED');
    expect(advice.plan.actions).toHaveLength(0);
    expect(advice.plan.noopReason).toContain('provisioned is the right mode');
  });

  it('does not flip on noise: a difference within the margin changes nothing', () => {
    // Find a steady load where the two costs are within 5% of each other.
    const cfg = config();
    cfg.modeAdvisor = { ...cfg.modeAdvisor, allowSwitch: true, marginFraction: 0.15 };
    const base = usage(
      () => 40,
      () => 0,
      () => 40 * 2.5,
    );
    const u: UsageSeries = { ...base, writePeakPerSecond: base.writeUnits.map(() => 0) };
    const advice = adviseCapacityMode({
      tableName: 't',
      billingMode: 'PROVISIONED',
      usage: u,
      config: cfg,
      prices,
      now: NOW,
      switches: [],
    });
    const ratio = advice.costs.onDemandMonthly / advice.costs.provisionedMonthly;
    expect(ratio).toBeGreaterThan(0.85);
    expect(ratio).toBeLessThan(1 / 0.85);
    expect(advice.better).toBeNull();
    expect(advice.plan.actions).toHaveLength(0);
  });

  it('honours the minimum time between switches and AWS limit of 4 switches to on-demand in 24 h', () => {
    const cfg = config();
    cfg.modeAdvisor = {
      ...cfg.modeAdvisor,
      allowSwitch: true,
      minHoursBetweenSwitches: 2,
      maxSwitchesToOnDemandPer24h: 4,
    };
    const input = {
      tableName: 'sessions',
      billingMode: 'PROVISIONED' as const,
      usage: usage(
        () => 0.5,
        () => 0.2,
        () => 60,
      ),
      config: cfg,
      prices,
      now: NOW,
    };
    const h = (n: number) => new Date(NOW.getTime() - n * 3_600_000).toISOString();
    const tooSoon = adviseCapacityMode({ ...input, switches: [{ at: h(1), to: 'PROVISIONED' }] });
    expect(tooSoon.plan.actions[0]?.kind).toBe('recommend');
    expect(tooSoon.whyNotSwitch).toContain('less than 2 h ago');
    const four = ['PAY_PER_REQUEST', 'PAY_PER_REQUEST', 'PAY_PER_REQUEST', 'PAY_PER_REQUEST'].map(
      (to, i) => ({
        at: h(20 - i * 4),
        to: to as 'PAY_PER_REQUEST',
      }),
    );
    const limited = adviseCapacityMode({ ...input, switches: four });
    expect(limited.whyNotSwitch).toContain('4 switch(es) to on-demand in the last 24 h');
    const dayLater = adviseCapacityMode({ ...input, switches: four.map((s) => ({ ...s, at: h(30) })) });
    expect(dayLater.plan.actions[0]?.kind).toBe('set-capacity-mode');
  });

  it('needs enough history before advising', () => {
    const u = usage(
      () => 0.5,
      () => 0.2,
    );
    const short: UsageSeries = { ...u, readUnits: u.readUnits.slice(-3), writeUnits: u.writeUnits.slice(-3) };
    const advice = adviseCapacityMode({
      tableName: 'sessions',
      billingMode: 'PROVISIONED',
      usage: short,
      config: config(),
      prices,
      now: NOW,
      switches: [],
    });
    expect(advice.plan.actions).toHaveLength(0);
    expect(advice.plan.noopReason).toContain('not enough history');
  });
});
