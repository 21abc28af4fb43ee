import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { proxySection } from '../../../shared/config/sections/proxy.ts';
import {
  databaseLimit,
  type ProxyObservation,
  type ProxySettings,
  planProxyPool,
  poolCeiling,
} from '../../../shared/policies/proxy-pool.ts';
import { priceTable } from '../../../shared/pricing.ts';

const {
  enabled: _e,
  mode: _m,
  resources: _r,
  cooldownMinutes: _c,
  maxChangesPerRun: _x,
  ...defaults
} = proxySection.parse({});
const settings: ProxySettings = defaults;
const prices = priceTable();

/** An hour of minutes of a proxy in front of a database with max_connections 400. */
function observation(o: {
  mcp?: number;
  idle?: number;
  borrowed: number;
  open?: number;
  latencyMicros: number;
  dbConnections?: number;
  pinned?: number;
}): ProxyObservation {
  const mcp = o.mcp ?? 50;
  const allowed = Math.floor((400 * mcp) / 100);
  const n = 60;
  const fill = (v: number) => Array.from({ length: n }, () => v);
  return {
    proxyName: 'orders-proxy',
    targetGroupName: 'default',
    engineFamily: 'POSTGRESQL',
    databaseId: 'orders',
    targetVcpus: 4,
    observedAt: '2026-11-20T19:00:00.000Z',
    window: { start: '2026-11-20T18:00:00.000Z', end: '2026-11-20T19:00:00.000Z', periodSeconds: 60 },
    pool: {
      maxConnectionsPercent: mcp,
      maxIdleConnectionsPercent: o.idle ?? 50,
      connectionBorrowTimeoutSeconds: 120,
      sessionPinningFilters: [],
    },
    metrics: {
      clientConnections: fill(1000),
      proxyDatabaseConnections: fill(o.open ?? Math.min(allowed, o.borrowed)),
      borrowed: fill(Math.min(allowed, o.borrowed)),
      pinned: fill(o.pinned ?? 0),
      borrowLatencyMicros: fill(o.latencyMicros),
      maxAllowed: fill(allowed),
      queryResponseLatencyMicros: fill(1500),
      databaseConnections: fill(o.dbConnections ?? Math.min(allowed, o.borrowed)),
    },
  };
}

describe('RDS Proxy pool policy', () => {
  it('derives max_connections from MaxDatabaseConnectionsAllowed and MaxConnectionsPercent', () => {
    const limit = databaseLimit(observation({ borrowed: 100, latencyMicros: 500, dbConnections: 140 }));
    expect(limit).toMatchObject({ maxConnections: 400, directPeak: 40, borrowedPeak: 100, allowed: 200 });
  });

  it('raises MaxConnectionsPercent when clients wait and the database has headroom', () => {
    const plan = planProxyPool(
      observation({ borrowed: 200, latencyMicros: 50_000, dbConnections: 220 }),
      settings,
      prices,
    );
    const set = plan.actions.find((a) => a.kind === 'set-pool');
    expect(set?.to).toMatchObject({ maxConnectionsPercent: 75 });
    expect(set?.reason).toMatch(/clients wait 50 ms/);
    expect(set?.undo?.params).toMatchObject({ pool: { maxConnectionsPercent: 50 } });
  });

  it('does not raise when the pool is full but clients do not wait', () => {
    const plan = planProxyPool(observation({ borrowed: 200, latencyMicros: 800 }), settings, prices);
    expect(plan.actions.filter((a) => a.kind === 'set-pool')).toEqual([]);
    expect(plan.noopReason).toMatch(/large enough/);
  });

  it('reports, and does not raise, when the database has no headroom left', () => {
    // 10% = 40 connections, all borrowed, clients wait; 320 direct connections + the 40 reserve
    // leave exactly 10% of max_connections 400: nothing more to give.
    const plan = planProxyPool(
      observation({ mcp: 10, idle: 10, borrowed: 40, latencyMicros: 50_000, dbConnections: 360 }),
      settings,
      prices,
    );
    expect(plan.actions.filter((a) => a.kind === 'set-pool')).toEqual([]);
    expect(plan.actions.find((a) => a.kind === 'finding')?.reason).toMatch(/no headroom above 10%/);
  });

  it('lowers MaxConnectionsPercent when the pool could crowd out direct clients', () => {
    // 50% = 200 allowed; 250 direct connections leave (400 - 250 - 40) = 27%.
    const plan = planProxyPool(
      observation({ borrowed: 100, latencyMicros: 500, dbConnections: 350 }),
      settings,
      prices,
    );
    expect(plan.actions.find((a) => a.kind === 'set-pool')?.to).toMatchObject({ maxConnectionsPercent: 27 });
  });

  it('lowers idle connections when the proxy holds many more than it borrows', () => {
    const plan = planProxyPool(
      observation({ borrowed: 10, open: 150, latencyMicros: 400 }),
      settings,
      prices,
    );
    const set = plan.actions.find((a) => a.kind === 'set-pool');
    expect(set?.to).toMatchObject({ maxConnectionsPercent: 50, maxIdleConnectionsPercent: 4 });
    expect(set?.reason).toMatch(/freeing about \d+ connections \(~\d+ MB/);
  });

  it('reports session pinning with its likely causes and the fix', () => {
    const plan = planProxyPool(
      observation({ borrowed: 100, pinned: 40, latencyMicros: 500 }),
      settings,
      prices,
    );
    const finding = plan.actions.find((a) => a.kind === 'finding');
    expect(finding?.reason).toMatch(/40% of borrowed connections/);
    expect(finding?.reason).toMatch(/EXCLUDE_VARIABLE_SETS/);
  });

  it('says what the proxy costs (per vCPU-hour of the targets, minimum 2)', () => {
    const plan = planProxyPool(observation({ borrowed: 10, latencyMicros: 400 }), settings, prices);
    expect(plan.noopReason).toMatch(/costs about \$43\.80 a month/);
  });

  it('changes nothing while the proxy publishes no limit yet', () => {
    const o = observation({ borrowed: 10, latencyMicros: 400 });
    const plan = planProxyPool(
      { ...o, metrics: { ...o.metrics, maxAllowed: o.metrics.maxAllowed.map(() => null) } },
      settings,
      prices,
    );
    expect(plan.actions).toEqual([]);
    expect(plan.noopReason).toMatch(/limit is unknown/);
  });

  it('never plans more connections than the database allows, nor idle above the maximum (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 0, max: 3_000_000 }),
        (mcp, idle, borrowed, direct, latency) => {
          const o = observation({ mcp, idle: Math.min(idle, mcp), borrowed, latencyMicros: latency });
          const allowed = Math.floor((400 * mcp) / 100);
          const db = Math.min(allowed, borrowed) + direct;
          const obs = {
            ...o,
            metrics: { ...o.metrics, databaseConnections: o.metrics.databaseConnections.map(() => db) },
          };
          const plan = planProxyPool(obs, settings, prices);
          const limit = databaseLimit(obs);
          for (const a of plan.actions.filter((x) => x.kind === 'set-pool')) {
            const to = a.to as { maxConnectionsPercent: number; maxIdleConnectionsPercent: number };
            expect(to.maxIdleConnectionsPercent).toBeLessThanOrEqual(to.maxConnectionsPercent);
            expect(to.maxConnectionsPercent).toBeGreaterThanOrEqual(1);
            expect(to.maxConnectionsPercent).toBeLessThanOrEqual(settings.maxConnectionsPercentCeiling);
            // A raise never goes past what the database can give after direct clients and the reserve.
            if (limit && to.maxConnectionsPercent > mcp)
              expect(to.maxConnectionsPercent).toBeLessThanOrEqual(poolCeiling(limit, settings));
          }
        },
      ),
    );
  });
});
