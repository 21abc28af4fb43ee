import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capacityUpdateInput } from '../../../shared/adapters/dynamodb-capacity.ts';
import { planTableCapacity } from '../../../shared/policies/dynamodb-capacity.ts';
import {
  applyFloors,
  decreaseTiming,
  fitLimits,
  splitChanges,
} from '../../../shared/policies/dynamodb-constrain.ts';
import type { DecreaseLedger } from '../../../shared/policies/dynamodb-decrease-budget.ts';
import { type DemandEstimate, estimateDemand } from '../../../shared/policies/dynamodb-demand.ts';
import { type DemandShape, shapeKey } from '../../../shared/policies/dynamodb-demand-shape.ts';
import { adviseCapacityMode, type UsageSeries } from '../../../shared/policies/dynamodb-mode-advisor.ts';
import type { DimensionMetrics } from '../../../shared/policies/dynamodb-observation.ts';
import { monthlyCapacityCost, priceChange } from '../../../shared/policies/dynamodb-price.ts';
import { recommend } from '../../../shared/policies/dynamodb-recommend.ts';
import { stabilize } from '../../../shared/policies/dynamodb-stabilize.ts';
import { priceTable } from '../../../shared/pricing.ts';
import { config, flat, NOW, resource, table } from './fixtures.ts';

const prices = priceTable();

function estimate(extra: Partial<DemandEstimate> = {}): DemandEstimate {
  return {
    consumedRate: 50,
    unservedRate: 0,
    demandRate: 50,
    stableDemandRate: 50,
    settledDemandRate: 50,
    unitsPerRequest: 1,
    provisionedThrottles: 0,
    keyRangeThrottles: 0,
    accountLimitThrottles: 0,
    unservedCapped: false,
    enoughHistory: true,
    ...extra,
  };
}

describe('estimate demand (step 1)', () => {
  it('adds throttle events converted at consumed units per successful request to the consumed rate', () => {
    // 100 units/s by 25 requests/s = 4 units a request; 300 throttled requests a minute = 20 units/s.
    const e = estimateDemand(flat(20, 100, { throttles: 300, unitsPerRequest: 4 }), 200, config());
    expect(e.unitsPerRequest).toBeCloseTo(4);
    expect(e.unservedRate).toBeCloseTo(20);
    expect(e.demandRate).toBeCloseTo(120);
    expect(e.provisionedThrottles).toBe(300 * 5);
  });

  it('says when the history does not cover the stabilization window', () => {
    const cfg = config({ scaleDownStabilizationMinutes: 15 });
    expect(estimateDemand(flat(5, 10), 20, cfg).enoughHistory).toBe(false);
    expect(estimateDemand(flat(16, 10), 20, cfg).enoughHistory).toBe(true);
  });

  it('never estimates more unserved per step than the cap times provisioned, whatever the events', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e7 }), fc.integer({ min: 1, max: 1000 }), (events, prov) => {
        const e = estimateDemand(flat(16, 5, { throttles: events }), prov, config());
        return e.unservedRate <= config().maxUnservedFactor * prov + 1e-9;
      }),
    );
  });
});

describe('recommend (step 2)', () => {
  it('raises to demand over target when anything is throttled', () => {
    const r = recommend(estimate({ demandRate: 140, provisionedThrottles: 10 }), 100, config());
    expect(r).toMatchObject({ direction: 'up', desired: 200 });
  });

  it('recommends lowering to the window peak over target, and holding inside the band', () => {
    expect(recommend(estimate({ stableDemandRate: 35 }), 100, config())).toMatchObject({
      direction: 'down',
      desired: 50,
    });
    expect(recommend(estimate({ demandRate: 71, stableDemandRate: 71 }), 100, config()).direction).toBe(
      'hold',
    );
  });

  it('brings capacity back inside the configured bounds', () => {
    expect(recommend(estimate({ consumedRate: 1 }), 500, config({ maxCapacity: 300 }))).toMatchObject({
      direction: 'down',
      desired: 300,
      bound: true,
    });
  });
});

describe('stabilize (step 3)', () => {
  const down = { desired: 50, direction: 'down' as const, why: 'peak' };
  it('holds a decrease inside the stabilization window after anyone raised capacity', () => {
    const recent = new Date(NOW.getTime() - 3 * 60_000).toISOString();
    expect(stabilize(down, estimate(), 100, recent, config(), NOW).direction).toBe('hold');
    const old = new Date(NOW.getTime() - 60 * 60_000).toISOString();
    expect(stabilize(down, estimate(), 100, old, config(), NOW).direction).toBe('down');
  });

  it('holds a decrease smaller than the tolerance and any decrease while throttled', () => {
    expect(stabilize({ ...down, desired: 90 }, estimate(), 100, undefined, config(), NOW).direction).toBe(
      'hold',
    );
    expect(
      stabilize(down, estimate({ provisionedThrottles: 1 }), 100, undefined, config(), NOW).direction,
    ).toBe('hold');
  });

  it('lets a change forced by the bounds through at once', () => {
    const recent = new Date(NOW.getTime() - 60_000).toISOString();
    const bound = { ...down, bound: true as const };
    expect(stabilize(bound, estimate(), 100, recent, config(), NOW)).toBe(bound);
  });
});

describe('constrain (step 4)', () => {
  it('raises to a floor within the bounds and never lowers', () => {
    const proposed = new Map([['(table)', { read: 100, write: 10 }]]);
    const applied = applyFloors(
      [
        { indexName: null, dim: 'read', units: 5000, reason: 'prewarm', evidence: [] },
        { indexName: null, dim: 'write', units: 5, reason: 'low', evidence: [] },
      ],
      proposed,
      config({ maxCapacity: 400 }),
    );
    expect(proposed.get('(table)')).toEqual({ read: 400, write: 10 });
    expect(applied.get('(table)')).toHaveLength(1);
  });

  it('scales increases back to fit the table limit, GSIs included', () => {
    const obs = table(resource(null, 30_000, 10, { read: flat(1, 1), write: flat(1, 1) }), [
      resource('g', 5_000, 10, { read: flat(1, 1), write: flat(1, 1) }),
    ]);
    const current = new Map([
      ['(table)', { read: 30_000, write: 10 }],
      ['g', { read: 5_000, write: 10 }],
    ]);
    const proposed = new Map([
      ['(table)', { read: 40_000, write: 10 }],
      ['g', { read: 5_000, write: 10 }],
    ]);
    const notes = fitLimits(obs, current, proposed);
    expect(proposed.get('(table)')?.read).toBe(35_000);
    expect(notes[0]).toContain('table limit');
  });

  it('splits a mixed change into an increase and a decrease from the increased capacity', () => {
    const r = resource(null, 100, 100, { read: flat(1, 1), write: flat(1, 1) });
    const [c] = splitChanges(
      [r],
      new Map([['(table)', { read: 100, write: 100 }]]),
      new Map([['(table)', { read: 150, write: 40 }]]),
    );
    expect(c?.up).toEqual({ read: 150, write: 100 });
    expect(c?.down).toEqual({ read: 150, write: 40 });
  });

  it('defers a decrease to the next hourly slot once the four free ones are spent', () => {
    const last = new Date(NOW.getTime() - 10 * 60_000).toISOString();
    const t = decreaseTiming({ numberOfDecreasesToday: 4, lastDecreaseAt: last }, NOW, NOW.toISOString(), 0);
    expect(t.now).toBe(false);
    expect(t.until).toBe(new Date(Date.parse(last) + 3_600_000).toISOString());
  });
});

describe('price (step 5)', () => {
  it('prices Standard-IA tables at their own, higher capacity rates', () => {
    const pair = { read: 100, write: 100 };
    const std = monthlyCapacityCost(pair, prices);
    const ia = monthlyCapacityCost(pair, prices, 'STANDARD_INFREQUENT_ACCESS');
    expect(std).toBeCloseTo((100 * 0.00013 + 100 * 0.00065) * 730);
    expect(ia).toBeCloseTo((100 * 0.00016 + 100 * 0.00081) * 730);
    expect(priceChange({ read: 100, write: 10 }, { read: 50, write: 10 }, prices)).toBeLessThan(0);
  });

  it('puts the table class price in the plan of a Standard-IA table', () => {
    const r = resource(null, 100, 10, { read: flat(20, 100, { throttles: 600 }), write: flat(20, 5) });
    const std = planTableCapacity({ observation: table(r), config: config(), prices, now: NOW });
    const ia = planTableCapacity({
      observation: table(r, [], { tableClass: 'STANDARD_INFREQUENT_ACCESS' }),
      config: config(),
      prices,
      now: NOW,
    });
    const a = std.plan.actions[0]?.monthlyCostDelta ?? 0;
    const b = ia.plan.actions[0]?.monthlyCostDelta ?? 0;
    expect(a).toBeGreaterThan(0);
    expect(b / a).toBeCloseTo(0.00016 / 0.00013, 1);
  });
});

describe('plan (step 6) and global tables', () => {
  it('recommends without changing anything on a global table', () => {
    const r = resource(null, 100, 10, { read: flat(20, 100, { throttles: 600 }), write: flat(20, 5) });
    const { plan, proposed } = planTableCapacity({
      observation: table(r, [], { replicaRegions: ['eu-west-1'] }),
      config: config(),
      prices,
      now: NOW,
    });
    expect(plan.actions.length).toBeGreaterThan(0);
    expect(plan.actions.every((a) => !a.mutating && a.kind === 'recommend')).toBe(true);
    expect(plan.actions[0]?.reason).toContain('global table');
    expect(proposed.get('(table)')).toEqual({ read: 100, write: 10 });
  });

  it('stamps a decrease with the time it was planned, unless the same plan raises that resource first', () => {
    const quiet = resource(
      null,
      100,
      100,
      { read: flat(20, 5), write: flat(20, 5) },
      {
        lastIncreaseAt: '2026-03-09T00:00:00.000Z',
      },
    );
    const { plan } = planTableCapacity({ observation: table(quiet), config: config(), prices, now: NOW });
    const dec = plan.actions.find((a) => (a.params as { direction?: string }).direction === 'decrease');
    const updates = (dec?.params as { updates: Array<{ plannedAt?: string }> } | undefined)?.updates ?? [];
    expect(updates[0]?.plannedAt).toBe(NOW.toISOString());
  });
});

describe('no stale decrease (adapter)', () => {
  it('refuses a decrease planned before a later increase by anyone', () => {
    const plannedAt = '2026-03-10T12:00:00.000Z';
    const table = {
      TableName: 'catalog',
      TableStatus: 'ACTIVE' as const,
      ProvisionedThroughput: {
        ReadCapacityUnits: 500,
        WriteCapacityUnits: 10,
        NumberOfDecreasesToday: 0,
        LastIncreaseDateTime: new Date('2026-03-10T12:01:00.000Z'),
      },
    };
    const params = {
      tableName: 'catalog',
      direction: 'decrease' as const,
      updates: [{ indexName: null, read: 50, write: 10, plannedAt }],
    };
    const out = capacityUpdateInput(params, table, new Date('2026-03-10T12:02:00.000Z'));
    expect(out).toEqual({ skip: expect.stringContaining('stale decrease refused') });
    const fresh = capacityUpdateInput(
      { ...params, updates: [{ ...params.updates[0], plannedAt: '2026-03-10T12:01:30.000Z' } as never] },
      table,
      new Date('2026-03-10T12:02:00.000Z'),
    );
    expect('input' in fresh).toBe(true);
  });
});

describe('switching to provisioned sizes each GSI from its own use', () => {
  function usage(readPerSecond: number, writePerSecond: number, hours = 48): UsageSeries {
    return {
      periodSeconds: 3600,
      end: NOW.toISOString(),
      readUnits: Array.from({ length: hours }, () => readPerSecond * 3600),
      writeUnits: Array.from({ length: hours }, () => writePerSecond * 3600),
      readPeakPerSecond: Array.from({ length: hours }, () => readPerSecond),
      writePeakPerSecond: Array.from({ length: hours }, () => writePerSecond),
    };
  }

  it('starts the table and each GSI at their own need, not the total', () => {
    const advice = adviseCapacityMode({
      tableName: 'catalog',
      billingMode: 'PAY_PER_REQUEST',
      usage: usage(700, 70),
      tableUsage: usage(630, 63),
      indexUsage: [{ indexName: 'by-category', usage: usage(70, 7) }],
      config: config({ modeAdvisor: { ...config().modeAdvisor, allowSwitch: true } }),
      prices,
      now: NOW,
      switches: [],
    });
    const a = advice.plan.actions[0];
    expect(a?.to).toBe('PROVISIONED');
    expect(a?.params).toMatchObject({
      provisioned: { read: 901, write: 90 },
      indexes: { 'by-category': { read: 100, write: 10 } },
    });
  });
});

describe('the plan with a learned demand shape (day plan, learned floor, lower sooner)', () => {
  const learned = (base: number, peak: number): DemandShape => ({
    learnedAt: NOW.toISOString(),
    learnedFrom: { start: '2026-03-08T12:00:00.000Z', end: NOW.toISOString(), periodSeconds: 60 },
    hours: 48,
    base,
    peak,
    peaksPerDay: 6,
    peakMinutes: 15,
  });
  const shapes = { [shapeKey(null, 'read')]: learned(2, 1400), [shapeKey(null, 'write')]: learned(0.4, 280) };
  const tableRead = (to: unknown) => (to as Record<string, { read: number }> | undefined)?.['(table)']?.read;
  const plan = (read: number, metrics: DimensionMetrics, decreases: DecreaseLedger, s = shapes) =>
    planTableCapacity({
      observation: table(resource(null, read, 1, { read: metrics, write: flat(16, 0.3) }, { decreases })),
      config: config(),
      prices,
      now: NOW,
      shapes: s,
    }).plan;

  it('keeps the scarce slot from a one-unit cut on an idle, bursty table and says why', () => {
    const p = plan(5, flat(16, 2.5), {
      numberOfDecreasesToday: 3,
      lastDecreaseAt: '2026-03-10T11:30:00.000Z',
    });
    const a = p.actions.find((x) => x.kind === 'set-capacity');
    expect(a?.rules?.[0]?.verdict).toBe('defer');
    expect(a?.reason).toContain("the day's plan keeps the slot");
    // Without a learned shape the same cut is spent (reserve 0).
    const bare = plan(
      5,
      flat(16, 2.5),
      { numberOfDecreasesToday: 3, lastDecreaseAt: '2026-03-10T11:30:00.000Z' },
      {},
    );
    expect(
      bare.actions.find((x) => x.kind === 'set-capacity')?.rules?.some((r) => r.verdict === 'defer'),
    ).toBe(false);
  });

  it('goes straight to the learned burst floor when a burst throttles low capacity', () => {
    // Capacity 5, a burst: 5 units/s served, 3,000 throttle events a minute (capped at 10 x 5).
    const p = plan(5, flat(16, 5, { throttles: 3000 }), { numberOfDecreasesToday: 0 });
    const up = p.actions.find((x) => (x.params as { direction?: string })?.direction === 'increase');
    expect(tableRead(up?.to)).toBe(2000);
    expect(up?.reason).toContain('recurring burst');
  });

  it('lowers sooner once a burst is over when the budget allows, before the window clears', () => {
    // The window still holds the burst (1,300 units/s) but the newest 2 minutes are at 2.
    const m = flat(16, 2);
    m.consumedUnits = m.consumedUnits.map((v, i) => (i === 11 ? 1300 * 60 : v));
    const p = plan(2000, m, { numberOfDecreasesToday: 0 });
    const down = p.actions.find((x) => (x.params as { direction?: string })?.direction === 'decrease');
    expect(tableRead(down?.to)).toBe(3);
    expect(down?.reason).toContain('sooner after a short peak');
    // Without a learned shape the window's peak holds it.
    expect(
      plan(2000, m, { numberOfDecreasesToday: 0 }, {}).actions.filter((x) => x.kind === 'set-capacity'),
    ).toEqual([]);
  });
});
