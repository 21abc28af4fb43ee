import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../shared/core/model.ts';
import { readPerformanceInsights } from '../../shared/insights/pi-run.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { proxyPool } from '../../shared/sim/services/rds-proxy.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runProxy } from '../../shared/tuners/proxy.ts';
import { runRightsizing } from '../../shared/tuners/rightsizing.ts';
import { exampleConfigApplying } from '../support/config.ts';

/**
 * The SecureCart day for the proxy pool tuner, right-sizing and Performance Insights, through the
 * real tuners and adapters on the simulated account (the example config in apply mode).
 */
describe('proxy pool, right-sizing and Performance Insights on securecart', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  const proxyDecisions: Decision[] = [];
  let rightsizing: Decision[] = [];
  const config = exampleConfigApplying();

  beforeAll(async () => {
    const scenario = await getScenario('securecart');
    sim = scenario.build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const start = sim.nowMs();
    rightsizing = (
      await runRightsizing(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'rs-1' },
        { config, store, now: sim.clock.now() },
      )
    ).decisions;
    for (let t = start + 15 * MINUTE_MS; t <= start + 21 * 60 * MINUTE_MS; t += 15 * MINUTE_MS) {
      sim.advanceTo(t);
      const summary = await runProxy(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `proxy-${t}` },
        { config, store, now: sim.clock.now() },
      );
      proxyDecisions.push(...summary.decisions);
    }
  }, 240_000);

  afterAll(() => uninstall());

  it('raises the orders proxy pool when clients wait at the evening peak, and AWS applies it', () => {
    const applied = proxyDecisions.filter((d) => d.action === 'set-pool' && d.outcome === 'applied');
    expect(applied.length).toBeGreaterThan(0);
    const to = applied[0]?.to as { maxConnectionsPercent: number };
    expect(to.maxConnectionsPercent).toBeGreaterThan(50);
    expect(proxyPool(sim, 'securecart-orders-proxy')?.MaxConnectionsPercent).toBe(to.maxConnectionsPercent);
    expect(applied[0]?.undo?.params).toMatchObject({ pool: { maxConnectionsPercent: 50 } });
  });

  it('reports session pinning once, not every run', () => {
    const pinning = proxyDecisions.filter((d) => d.action === 'finding' && /pinned/.test(d.reason));
    expect(pinning.length).toBeGreaterThan(0);
    expect(pinning.length).toBeLessThanOrEqual(4);
  });

  it('recommends the forgotten staging instance as idle, with its saving, and changes nothing', () => {
    const idle = rightsizing.filter((d) => d.action === 'idle-instance');
    expect(idle.map((d) => d.resource)).toEqual(['securecart-staging']);
    expect(idle[0]?.monthlyCostDelta).toBeLessThan(-100);
    expect(sim.rds.get('securecart-staging')?.status).toBe('available');
  });

  it('reads top SQL by load from Performance Insights for the MySQL database, with no connection', async () => {
    const result = await readPerformanceInsights(
      ['securecart-mysql', 'securecart-orders'],
      sim.clock.now(),
      24,
    );
    const mysql = result.findings.get('securecart-mysql') ?? [];
    expect(mysql.some((f) => /^Performance Insights: "SELECT \* FROM order_items/.test(f.reason))).toBe(true);
    // securecart-orders has Performance Insights off: how to turn it on.
    expect((result.findings.get('securecart-orders') ?? []).map((f) => f.key)).toEqual(['pi-off']);
    expect(result.notes).toEqual([]);
  });
});
