import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../../shared/core/model.ts';
import {
  type CapacityParams,
  type CapacityResourceObservation,
  demandSeries,
  gsiStatus,
  planTableCapacity,
  type TableObservation,
} from '../../../shared/policies/dynamodb-capacity.ts';
import { priceTable } from '../../../shared/pricing.ts';
import { config, flat, NOW, resource, table } from './fixtures.ts';

const prices = priceTable();

function capacityActions(actions: Action[]): Array<Action & { params: CapacityParams }> {
  return actions.filter(
    (a): a is Action & { params: CapacityParams } =>
      (a.kind === 'set-capacity' || a.kind === 'prewarm') && a.params !== undefined,
  );
}

function currentOf(obs: TableObservation, indexName: string | null): CapacityResourceObservation {
  const r = indexName === null ? obs.table : obs.indexes.find((i) => i.indexName === indexName);
  if (!r) throw new Error(`no resource ${indexName}`);
  return r;
}

/** AWS's own decrease rule, written independently of the policy's model. */
function awsAcceptsDecrease(r: CapacityResourceObservation, now: Date): boolean {
  const last = r.decreases.lastDecreaseAt ? Date.parse(r.decreases.lastDecreaseAt) : undefined;
  const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const today = last !== undefined && last >= dayStart ? r.decreases.numberOfDecreasesToday : 0;
  if (today < 4) return true;
  return last === undefined || now.getTime() - last >= 3_600_000;
}

describe('DynamoDB capacity policy', () => {
  it('converts throttle events to capacity units with units per successful request, capped per step', () => {
    // 100 units/s consumed by 50 requests/s (2 units per request); 600 throttled requests a minute.
    const m = flat(5, 100, { throttles: 600, unitsPerRequest: 2 });
    const s = demandSeries(m, 100, 2, 4);
    expect(s.unserved[0]).toBeCloseTo((600 * 2) / 60);
    expect(s.demand[0]).toBeCloseTo(100 + 20);
    const capped = demandSeries(flat(1, 100, { throttles: 600_000 }), 100, 2, 4);
    expect(capped.unserved[0]).toBe(400);
    expect(capped.capped).toBe(true);
  });

  it('raises the catalog table and its GSI in one step to demand over target utilization', () => {
    const obs = table(
      resource(null, 100, 50, { read: flat(20, 100, { throttles: 3000 }), write: flat(20, 35) }),
      [resource('by-category', 100, 50, { read: flat(20, 100, { throttles: 1200 }), write: flat(20, 35) })],
    );
    const { plan } = planTableCapacity({ observation: obs, config: config(), prices, now: NOW });
    const caps = capacityActions(plan.actions);
    expect(caps).toHaveLength(1);
    const up = caps[0];
    expect(up?.params.direction).toBe('increase');
    // table: demand 100 + 3000/60 = 150 units/s -> 150 / 0.7 = 215; GSI: 100 + 20 = 120 -> 172.
    expect(up?.params.updates).toEqual([
      { indexName: null, read: 215, write: 50 },
      { indexName: 'by-category', read: 172, write: 50 },
    ]);
    expect(up?.monthlyCostDelta).toBeGreaterThan(0);
    expect(up?.evidence.some((e) => e.metric === 'ReadProvisionedThroughputThrottleEvents')).toBe(true);
  });

  it('reports a hot key as a finding and buys no capacity for it', () => {
    const obs = table(
      resource(null, 1000, 100, { read: flat(20, 150, { keyRange: 900 }), write: flat(20, 40) }, {}),
    );
    const { plan } = planTableCapacity({ observation: obs, config: config(), prices, now: NOW });
    expect(capacityActions(plan.actions).filter((a) => a.params.direction === 'increase')).toHaveLength(0);
    const finding = plan.actions.find((a) => a.kind === 'finding');
    expect(finding?.params?.cause).toBe('hot-key');
    expect(finding?.mutating).toBe(false);
    expect(finding?.reason).toContain('hot key');
  });

  it('reports account-limit throttling as such', () => {
    const obs = table(resource(null, 100, 100, { read: flat(20, 60, { account: 50 }), write: flat(20, 40) }));
    const { plan } = planTableCapacity({ observation: obs, config: config(), prices, now: NOW });
    expect(plan.actions.find((a) => a.kind === 'finding')?.params?.cause).toBe('account-limit');
  });

  it('defers every UpdateTable while the table or a GSI is UPDATING', () => {
    const obs = table(
      resource(null, 100, 50, { read: flat(20, 100, { throttles: 3000 }), write: flat(20, 10) }),
      [resource('g', 10, 10, { read: flat(20, 1), write: flat(20, 1) }, { status: 'UPDATING' })],
    );
    const { plan } = planTableCapacity({ observation: obs, config: config(), prices, now: NOW });
    const up = capacityActions(plan.actions)[0];
    expect(up?.rules?.find((r) => r.rule === 'aws:dynamodb-table-updating')?.verdict).toBe('defer');
  });

  it('raises a throttled table while a new GSI backfills, and leaves that index alone', () => {
    const obs = table(
      resource(null, 100, 50, { read: flat(20, 100, { throttles: 3000 }), write: flat(20, 10) }),
      [resource('g', 10, 500, { read: flat(20, 1), write: flat(20, 1) }, { status: 'BACKFILLING' })],
    );
    const { plan } = planTableCapacity({ observation: obs, config: config(), prices, now: NOW });
    const up = capacityActions(plan.actions)[0];
    expect(up?.rules?.find((r) => r.rule === 'aws:dynamodb-table-updating')?.verdict).toBe('ok');
    const updates = (up?.params?.updates ?? []) as Array<{ indexName: string | null }>;
    expect(updates.map((u) => u.indexName)).toEqual([null]);
    // How DescribeTable's IndexStatus and Backfilling are observed.
    expect(gsiStatus({ IndexStatus: 'CREATING', Backfilling: true })).toBe('BACKFILLING');
    expect(gsiStatus({ IndexStatus: 'CREATING', Backfilling: false })).toBe('CREATING');
    expect(gsiStatus({ IndexStatus: 'ACTIVE' })).toBe('ACTIVE');
  });

  it('scales down only after the stabilization window since the last increase', () => {
    const recent = table(
      resource(
        null,
        1000,
        100,
        { read: flat(60, 50), write: flat(60, 50) },
        { lastIncreaseAt: '2026-03-10T11:57:00Z' },
      ),
    );
    const r1 = planTableCapacity({ observation: recent, config: config(), prices, now: NOW });
    expect(capacityActions(r1.plan.actions)).toHaveLength(0);
    const old = table(resource(null, 1000, 100, { read: flat(60, 50), write: flat(60, 60) }));
    const r2 = planTableCapacity({ observation: old, config: config(), prices, now: NOW });
    const down = capacityActions(r2.plan.actions)[0];
    expect(down?.params).toEqual({
      tableName: 'catalog',
      direction: 'decrease',
      updates: [{ indexName: null, read: 72, write: 100, plannedAt: NOW.toISOString() }],
    });
    expect(down?.monthlyCostDelta).toBeLessThan(0);
  });

  it('lowers read and write together so they count as one decrease', () => {
    const obs = table(resource(null, 1000, 1000, { read: flat(60, 50), write: flat(60, 50) }));
    const { plan } = planTableCapacity({ observation: obs, config: config(), prices, now: NOW });
    const caps = capacityActions(plan.actions);
    expect(caps).toHaveLength(1);
    expect(caps[0]?.params.updates).toEqual([
      { indexName: null, read: 72, write: 72, plannedAt: NOW.toISOString() },
    ]);
  });

  it('keeps a reserve of decreases for the rest of the day and defers to the next slot', () => {
    const obs = table(
      resource(
        null,
        1000,
        100,
        { read: flat(60, 50), write: flat(60, 50) },
        { decreases: { numberOfDecreasesToday: 2, lastDecreaseAt: '2026-03-10T11:30:00Z' } },
      ),
    );
    const { plan } = planTableCapacity({
      observation: obs,
      config: config({ decreaseReserve: 2 }),
      prices,
      now: NOW,
    });
    const down = capacityActions(plan.actions)[0];
    const rule = down?.rules?.find((r) => r.rule === 'aws:dynamodb-decrease-budget');
    expect(rule?.verdict).toBe('defer');
    expect(rule?.until).toBe('2026-03-10T12:30:00.000Z');
  });

  it('splits an increase of read and a decrease of write into two actions, the increase first', () => {
    const obs = table(
      resource(null, 100, 1000, { read: flat(60, 100, { throttles: 600 }), write: flat(60, 10) }),
    );
    const { plan } = planTableCapacity({ observation: obs, config: config(), prices, now: NOW });
    const caps = capacityActions(plan.actions);
    expect(caps.map((a) => a.params.direction)).toEqual(['increase', 'decrease']);
    expect(caps[0]?.params.updates[0]).toEqual({ indexName: null, read: 158, write: 1000 });
    expect(caps[1]?.params.updates[0]).toEqual({ indexName: null, read: 158, write: 15 });
  });

  it('caps increases at the per-table limit, GSIs included', () => {
    const obs = table(
      resource(null, 30_000, 10, { read: flat(20, 30_000, { throttles: 60_000 }), write: flat(20, 1) }),
      [resource('g', 5_000, 10, { read: flat(20, 1), write: flat(20, 1) })],
    );
    const { plan } = planTableCapacity({ observation: obs, config: config(), prices, now: NOW });
    const up = capacityActions(plan.actions)[0];
    expect(up?.params.updates[0]?.read).toBe(35_000);
    expect(up?.reason).toContain('AWS table limit');
  });

  it('raises to a pre-warm floor as a prewarm action with its evidence', () => {
    const obs = table(resource(null, 100, 50, { read: flat(20, 50), write: flat(20, 10) }));
    const { plan } = planTableCapacity({
      observation: obs,
      config: config(),
      prices,
      now: NOW,
      floors: [
        {
          indexName: null,
          dim: 'read',
          units: 700,
          reason: 'pre-warm: a peak is expected',
          evidence: [
            {
              metric: 'recurring peak',
              statistic: 'p',
              value: 490,
              window: { start: '', end: '', periodSeconds: 60 },
            },
          ],
        },
      ],
    });
    const a = plan.actions[0];
    expect(a?.kind).toBe('prewarm');
    expect((a?.params as CapacityParams | undefined)?.updates[0]).toEqual({
      indexName: null,
      read: 700,
      write: 50,
    });
    expect(a?.evidence.some((e) => e.metric === 'recurring peak')).toBe(true);
  });

  // ------------------------------------------------------------------ properties

  const dimArb = fc.record({
    provisioned: fc.integer({ min: 1, max: 15_000 }),
    utilization: fc.double({ min: 0, max: 1.3, noNaN: true }),
    throttles: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200_000 })),
    keyRange: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 500 })),
    upr: fc.double({ min: 0.5, max: 8, noNaN: true }),
  });
  const resArb = fc.record({
    read: dimArb,
    write: dimArb,
    decreasesToday: fc.integer({ min: 0, max: 27 }),
    lastDecreaseMinutesAgo: fc.integer({ min: 0, max: 720 }),
    lastIncreaseMinutesAgo: fc.integer({ min: 0, max: 600 }),
    status: fc.constantFrom('ACTIVE', 'ACTIVE', 'ACTIVE', 'UPDATING'),
  });
  const scenarioArb = fc.record({
    table: resArb,
    gsis: fc.array(resArb, { maxLength: 2 }),
    min: fc.integer({ min: 1, max: 50 }),
    max: fc.integer({ min: 100, max: 40_000 }),
    reserve: fc.integer({ min: 0, max: 4 }),
    otherTables: fc.integer({ min: 0, max: 60_000 }),
  });

  type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;
  function build(s: Scenario): TableObservation {
    const mk = (r: typeof s.table, name: string | null): CapacityResourceObservation => {
      const dim = (d: typeof r.read) => {
        const p = Math.min(d.provisioned, s.max);
        return {
          p: Math.max(p, s.min),
          m: flat(30, Math.max(s.min, Math.min(s.max, p)) * d.utilization * 0.7, {
            throttles: d.throttles,
            keyRange: d.keyRange,
            unitsPerRequest: d.upr,
          }),
        };
      };
      const rd = dim(r.read);
      const wr = dim(r.write);
      return resource(
        name,
        rd.p,
        wr.p,
        { read: rd.m, write: wr.m },
        {
          status: r.status,
          decreases: {
            numberOfDecreasesToday: r.decreasesToday,
            lastDecreaseAt: new Date(NOW.getTime() - r.lastDecreaseMinutesAgo * 60_000).toISOString(),
          },
          lastIncreaseAt: new Date(NOW.getTime() - r.lastIncreaseMinutesAgo * 60_000).toISOString(),
        },
      );
    };
    const obs = table(
      mk(s.table, null),
      s.gsis.map((g, i) => mk(g, `gsi${i}`)),
    );
    obs.limits.accountProvisioned = {
      read: obs.limits.accountProvisioned.read + s.otherTables,
      write: obs.limits.accountProvisioned.write + s.otherTables,
    };
    return obs;
  }

  it('property: capacity stays within min/max and AWS limits, never below current consumption', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const obs = build(s);
        const cfg = config({ minCapacity: s.min, maxCapacity: s.max, decreaseReserve: s.reserve });
        const { plan } = planTableCapacity({ observation: obs, config: cfg, prices, now: NOW });
        const totals = { read: 0, write: 0 };
        const current = { read: 0, write: 0 };
        for (const r of [obs.table, ...obs.indexes]) {
          current.read += r.provisioned.read;
          current.write += r.provisioned.write;
        }
        for (const a of capacityActions(plan.actions)) {
          for (const u of a.params.updates) {
            const r = currentOf(obs, u.indexName);
            for (const d of ['read', 'write'] as const) {
              const v = u[d];
              expect(Number.isInteger(v)).toBe(true);
              expect(v).toBeGreaterThanOrEqual(Math.max(1, s.min));
              expect(v).toBeLessThanOrEqual(s.max);
              const m = r.metrics[d];
              const lastConsumed = (m.consumedUnits[m.consumedUnits.length - 1] ?? 0) / m.periodSeconds;
              if (Math.ceil(lastConsumed) <= s.max) expect(v).toBeGreaterThanOrEqual(Math.ceil(lastConsumed));
              if (a.params.direction === 'increase') totals[d] += Math.max(0, v - r.provisioned[d]);
            }
          }
        }
        for (const d of ['read', 'write'] as const) {
          if (totals[d] > 0) {
            expect(current[d] + totals[d]).toBeLessThanOrEqual(Math.max(current[d], obs.limits.tableMax[d]));
            expect(obs.limits.accountProvisioned[d] + totals[d]).toBeLessThanOrEqual(
              Math.max(obs.limits.accountProvisioned[d], obs.limits.accountMax[d]),
            );
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: no UpdateTable mixes an increase with a decrease, and increases go first', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const obs = build(s);
        const cfg = config({ minCapacity: s.min, maxCapacity: s.max, decreaseReserve: s.reserve });
        const { plan } = planTableCapacity({ observation: obs, config: cfg, prices, now: NOW });
        let seenDecrease = false;
        for (const a of capacityActions(plan.actions)) {
          if (a.params.direction === 'decrease') seenDecrease = true;
          else expect(seenDecrease).toBe(false);
          // Against the capacity in place when the action runs (after the increase for decreases).
          const base = (indexName: string | null, d: 'read' | 'write') => {
            const cur = currentOf(obs, indexName).provisioned[d];
            if (a.params.direction === 'increase') return cur;
            const inc = capacityActions(plan.actions).find((x) => x.params.direction === 'increase');
            const u = inc?.params.updates.find((x) => x.indexName === indexName);
            return u ? Math.max(cur, u[d]) : cur;
          };
          let up = false;
          let down = false;
          for (const u of a.params.updates) {
            for (const d of ['read', 'write'] as const) {
              if (u[d] > base(u.indexName, d)) up = true;
              if (u[d] < base(u.indexName, d)) down = true;
            }
          }
          expect(up && down).toBe(false);
          expect(up || down).toBe(true);
          expect(a.params.direction).toBe(up ? 'increase' : 'decrease');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: a decrease is only attempted now when AWS counts it within the budget', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const obs = build(s);
        const cfg = config({ minCapacity: s.min, maxCapacity: s.max, decreaseReserve: s.reserve });
        const { plan } = planTableCapacity({ observation: obs, config: cfg, prices, now: NOW });
        for (const a of capacityActions(plan.actions)) {
          if (a.params.direction !== 'decrease') continue;
          const deferredByBudget = a.rules?.some(
            (r) => r.rule === 'aws:dynamodb-decrease-budget' && r.verdict === 'defer',
          );
          if (deferredByBudget) continue;
          for (const u of a.params.updates)
            expect(awsAcceptsDecrease(currentOf(obs, u.indexName), NOW)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
