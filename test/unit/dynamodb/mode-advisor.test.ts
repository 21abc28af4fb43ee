import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adviseCapacityMode,
  breakEvenUtilization,
  compareModes,
  equalServiceCapacity,
  monthlyCostsFor,
  pricedSchedule,
  provisionedSchedule,
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

  describe('provisioned priced from what the table had (ProvisionedCapacityUnits history)', () => {
    /**
     * 14 days, hourly: a 15-minute spike to 1,000 reads/s every other hour over 50/s. `had(h)` is
     * the capacity the table's policy ran in hour h (average), `unserved(h)` the share of the
     * hour's reads it throttled.
     */
    function spiky(had: (h: number) => number, unserved: (h: number) => number = () => 0): UsageSeries {
      const hours = 14 * 24;
      const spike = (h: number) => h % 2 === 0;
      const units = (h: number) => (spike(h) ? 900 * 1000 + 2700 * 50 : 3600 * 50);
      return {
        periodSeconds: 3600,
        end: NOW.toISOString(),
        readUnits: Array.from({ length: hours }, (_, h) => units(h)),
        writeUnits: Array.from({ length: hours }, () => 0),
        readPeakPerSecond: Array.from({ length: hours }, (_, h) => (spike(h) ? 1000 : 50)),
        writePeakPerSecond: Array.from({ length: hours }, () => 0),
        readProvisioned: Array.from({ length: hours }, (_, h) => had(h)),
        writeProvisioned: Array.from({ length: hours }, () => 1),
        readUnservedUnits: Array.from({ length: hours }, (_, h) => unserved(h) * units(h)),
        writeUnservedUnits: Array.from({ length: hours }, () => 0),
      };
    }
    // The policy pre-warmed each spike: ~1,430 RCU for 20 minutes, 75 RCU otherwise.
    const prewarmed = (h: number) => (h % 2 === 0 ? (1430 * 20 + 75 * 40) / 60 : 75);
    const advise = (usage: UsageSeries) =>
      adviseCapacityMode({
        tableName: 'events',
        billingMode: 'PROVISIONED',
        usage,
        config: config(),
        prices,
        now: NOW,
        switches: [],
      });

    it('keeps a table with recurring spikes on provisioned when the capacity it ran served them for less than on-demand', () => {
      const advice = advise(spiky(prewarmed));
      expect(advice.better).toBe('PROVISIONED');
      expect(advice.plan.actions).toHaveLength(0);
      expect(advice.plan.noopReason).toContain('provisioned is the right mode');
      // What it had in the spike hours ((1,430 x 20 + 75 x 40) / 60 = 526.7 RCU), and in the quiet
      // ones no more than full service needed (ceil(50 / 0.7) = 72), not 1,429 in every spike hour.
      expect(advice.costs.avgProvisioned.read).toBeCloseTo((526.67 + 72) / 2, 1);
    });

    it('priced every spike hour at its peak (the old estimate) without the history, and so advised on-demand', () => {
      const { readProvisioned, writeProvisioned, readUnservedUnits, writeUnservedUnits, ...peaksOnly } =
        spiky(prewarmed);
      const advice = advise(peaksOnly);
      expect(advice.better).toBe('PAY_PER_REQUEST');
      expect(advice.costs.avgProvisioned.read).toBeCloseTo(
        (Math.ceil(1000 / 0.7) + Math.ceil(50 / 0.7)) / 2,
        0,
      );
    });

    it('still advises on-demand for the same table when its capacity left the spikes partly unserved', () => {
      // Capacity raised only after each spike began: 30% of the spike hours' reads throttled.
      const late = advise(
        spiky(
          (h) => (h % 2 === 0 ? 600 : 75),
          (h) => (h % 2 === 0 ? 0.3 : 0),
        ),
      );
      expect(late.better).toBe('PAY_PER_REQUEST');
      expect(late.plan.actions[0]?.to).toBe('PAY_PER_REQUEST');
    });

    it('prices an over-provisioned table as db-autopilot would run it, not at what it had', () => {
      const idle = spiky(() => 5000);
      const c = compareModes(idle, config(), prices);
      const full = compareModes(
        { ...idle, readProvisioned: undefined, readUnservedUnits: undefined },
        config(),
        prices,
      );
      expect(c.provisionedMonthly).toBeCloseTo(full.provisionedMonthly, 6);
    });

    it('prices one period: what it had when served (at most full service), full service when any use went unserved or nothing is known', () => {
      expect(equalServiceCapacity(300, 0, 1429)).toBe(300);
      expect(equalServiceCapacity(300, null, 1429)).toBe(300);
      expect(equalServiceCapacity(5000, 0, 1429)).toBe(1429);
      expect(equalServiceCapacity(300, 1, 1429)).toBe(1429);
      expect(equalServiceCapacity(null, 0, 1429)).toBe(1429);
      expect(equalServiceCapacity(undefined, 0, 1429)).toBe(1429);
    });

    const arbitraryUsage = fc
      .array(
        fc.record({
          units: fc.double({ min: 0, max: 1e7, noNaN: true }),
          peak: fc.double({ min: 0, max: 5000, noNaN: true }),
          had: fc.option(fc.double({ min: 0, max: 8000, noNaN: true }), { nil: null }),
          unserved: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        { minLength: 6, maxLength: 72 },
      )
      .map(
        (hours): UsageSeries => ({
          periodSeconds: 3600,
          end: NOW.toISOString(),
          readUnits: hours.map((x) => x.units),
          writeUnits: hours.map((x) => x.units / 10),
          readPeakPerSecond: hours.map((x) => x.peak),
          writePeakPerSecond: hours.map((x) => x.peak / 10),
          readProvisioned: hours.map((x) => x.had),
          writeProvisioned: hours.map((x) => (x.had === null ? null : x.had / 10)),
          readUnservedUnits: hours.map((x) => (x.unserved < 0.5 ? 0 : x.unserved * x.units)),
          writeUnservedUnits: hours.map(() => 0),
        }),
      );

    it('never prices provisioned above full service, and never advises on-demand where the peak estimate did not (property)', () => {
      fc.assert(
        fc.property(arbitraryUsage, (usage) => {
          const cfg = config();
          const full = provisionedSchedule(usage, cfg);
          pricedSchedule(usage, cfg).forEach((p, i) => {
            expect(p.read).toBeLessThanOrEqual(full[i]?.read ?? 0);
            expect(p.write).toBeLessThanOrEqual(full[i]?.write ?? 0);
          });
          const { readProvisioned, writeProvisioned, readUnservedUnits, writeUnservedUnits, ...peaksOnly } =
            usage;
          const before = advise(peaksOnly);
          const after = advise(usage);
          expect(after.costs.onDemandMonthly).toBeCloseTo(before.costs.onDemandMonthly, 6);
          if (before.better !== 'PAY_PER_REQUEST') expect(after.better).not.toBe('PAY_PER_REQUEST');
        }),
      );
    });

    it('prices a period that went partly unserved at no less than the same period served (property)', () => {
      fc.assert(
        fc.property(
          arbitraryUsage,
          fc.nat(),
          fc.double({ min: 1, max: 1e6, noNaN: true }),
          (usage, pick, lost) => {
            const i = pick % usage.readUnits.length;
            const served = { ...usage, readUnservedUnits: usage.readUnits.map(() => 0) };
            const throttled = {
              ...served,
              readUnservedUnits: served.readUnservedUnits.map((u, j) => (j === i ? lost : u)),
            };
            const a = pricedSchedule(served, config());
            const b = pricedSchedule(throttled, config());
            expect(b[i]?.read ?? 0).toBeGreaterThanOrEqual(a[i]?.read ?? 0);
            const full = provisionedSchedule(throttled, config())[i]?.read;
            expect(b[i]?.read).toBe(full);
          },
        ),
      );
    });
  });
});
