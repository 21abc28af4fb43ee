import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../shared/core/model.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runReplicas } from '../../shared/tuners/replicas.ts';
import { exampleConfigApplying } from '../support/config.ts';

/**
 * The SecureCart day for the replicas tuner (what `npm run demo` shows): the example config in
 * apply mode, the scenario's fleet and recorded state, the tuner every 5 minutes for 24 hours.
 */
describe('replicas on the securecart scenario', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  const decisions: Decision[] = [];
  const config = exampleConfigApplying('replicas');

  beforeAll(async () => {
    const scenario = await getScenario('securecart');
    sim = scenario.build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const start = sim.nowMs();
    await scenario.seedState?.(store, new Date(start));
    for (let t = start; t < start + 24 * 60 * MINUTE_MS; t += 5 * MINUTE_MS) {
      sim.advanceTo(t);
      const summary = await runReplicas(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `sc-${t}` },
        { config, store, now: sim.clock.now() },
      );
      decisions.push(...summary.decisions);
    }
  });

  afterAll(() => {
    uninstall();
    if (process.env.REPLICAS_TIMELINE) {
      for (const d of decisions.filter((x) => x.action !== 'noop'))
        console.log(d.at.slice(11, 16), d.action, d.outcome, d.resource, d.reason.slice(0, 150));
    }
  });

  const of = (action: string, outcome: string, resource?: string) =>
    decisions.filter(
      (d) => d.action === action && d.outcome === outcome && (!resource || d.resource === resource),
    );

  it('scales the Aurora cluster out at the evening peak', () => {
    const out = of('add-replica', 'applied', 'securecart-catalog-aurora');
    expect(out.length).toBeGreaterThan(0);
    const hour = new Date(out[0]?.at ?? '').getUTCHours();
    expect(hour).toBeGreaterThanOrEqual(12);
    expect(hour).toBeLessThanOrEqual(20);
    expect(out[0]?.monthlyCostDelta).toBeGreaterThan(0);
  });

  it('scales the Aurora cluster back in after the peak, removing only readers it created', () => {
    const removed = of('remove-replica', 'applied').filter((d) =>
      d.resource.startsWith('dbap-securecart-catalog'),
    );
    expect(removed.length).toBeGreaterThan(0);
    const added = of('add-replica', 'applied', 'securecart-catalog-aurora');
    expect(Date.parse(removed[0]?.at ?? '')).toBeGreaterThan(Date.parse(added[0]?.at ?? ''));
    expect(removed.every((d) => d.monthlyCostDelta < 0)).toBe(true);
    expect(sim.rds.instances.get('securecart-catalog-aurora-reader-1')?.status).toBe('available');
  });

  it('removes the idle MySQL replica it created, once drained', () => {
    const removed = of('remove-replica', 'applied', 'dbap-securecart-mysql-replica-1');
    expect(removed).toHaveLength(1);
    expect(sim.rds.get('dbap-securecart-mysql-replica-1')?.status).toBe('deleting');
  });

  it('leaves the MySQL replica it did not create alone and names it in a skipped decision', () => {
    const skipped = of('remove-replica', 'skipped', 'securecart-mysql-analytics');
    expect(skipped.length).toBeGreaterThan(0);
    expect(of('remove-replica', 'applied', 'securecart-mysql-analytics')).toHaveLength(0);
    expect(sim.rds.instances.get('securecart-mysql-analytics')?.status).toBe('available');
  });
});
