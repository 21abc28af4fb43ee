import { afterEach, describe, expect, it } from 'vitest';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { exampleConfigApplying } from '../support/config.ts';

describe('DynamoDB tuner safety on the securecart scenario', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('plans but changes nothing in a manual dry run, and records every decision', async () => {
    const config = exampleConfigApplying();
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const summary = await runDynamodb(
      {
        trigger: 'manual',
        dryRun: true,
        override: false,
        idempotencyKey: 'manual:dry-1',
        resourceIds: ['securecart-carts'],
      },
      { config, store, now: sim.clock.now() },
    );
    expect(sim.stats().calls['dynamodb:UpdateTable']).toBeUndefined();
    const carts = summary.decisions.filter(
      (d) => d.resource === 'securecart-carts' && d.action === 'set-capacity',
    );
    expect(carts.length).toBeGreaterThan(0);
    expect(carts.every((d) => d.outcome === 'planned' && d.dryRun)).toBe(true);
    const recorded = await store.exportDecisions({ since: '2026-01-01T00:00:00Z' });
    expect(recorded.map((d) => d.id).sort()).toEqual(summary.decisions.map((d) => d.id).sort());
    expect(sim.dynamodb.tables.get('securecart-carts')?.read).toBe(4000);
  });

  it('acts once for a redelivered event (same idempotency key)', async () => {
    const config = exampleConfigApplying('dynamodb');
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const request = {
      trigger: 'schedule' as const,
      dryRun: false,
      override: false,
      idempotencyKey: 'eventbridge:e-1',
    };
    const first = await runDynamodb(request, { config, store, now: sim.clock.now() });
    const second = await runDynamodb(request, { config, store, now: sim.clock.now() });
    expect(first.decisions.some((d) => d.outcome === 'applied' && d.action === 'set-capacity')).toBe(true);
    expect(second.duplicate).toBe(true);
    expect(second.decisions).toHaveLength(0);
  });
});
