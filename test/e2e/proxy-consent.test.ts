import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, setConfig } from '../../shared/config/load.ts';
import type { Decision } from '../../shared/core/model.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { proxyPool } from '../../shared/sim/services/rds-proxy.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { registration, runProxy } from '../../shared/tuners/proxy.ts';
import { starvedProxies } from '../support/proxy.ts';

/**
 * Consent for RDS Proxy pools (design.md: a resource is managed when the config or its tag lets
 * db-autopilot tune it; "an opt-out tag on any resource"), on the simulated account through the
 * real tuner, guards and adapter. Both proxies are starved: clients wait for a pooled connection.
 */
const CONFIG = parseConfig(`
version: 1
region: us-east-1
defaults: { mode: apply }
tuners:
  proxy:
    resources: { identifiers: [orders-proxy] }
    borrowLatencyHighMs: 10
    maxConnectionsPercentCeiling: 90
`);

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

function account(ordersTags: Record<string, string> = {}): SimAccount {
  const sim = starvedProxies({ orders: ordersTags });
  uninstall = sim.install();
  return sim;
}

async function run(sim: SimAccount, request: Record<string, unknown> = {}): Promise<Decision[]> {
  const summary = await runProxy(
    {
      trigger: 'schedule',
      dryRun: false,
      override: false,
      idempotencyKey: `proxy-${sim.nowMs()}`,
      ...request,
    },
    { config: CONFIG, store: new MemoryStateStore(), now: sim.clock.now() },
  );
  return summary.decisions;
}

describe('proxy pool consent', () => {
  it('raises the pool of a configured proxy whose clients wait (the baseline)', async () => {
    const sim = account();
    const decisions = await run(sim);
    expect(decisions.find((d) => d.action === 'set-pool')?.outcome).toBe('applied');
    sim.advance(60_000);
    expect(proxyPool(sim, 'orders-proxy')?.MaxConnectionsPercent).toBeGreaterThan(50);
  });

  it('never changes a configured proxy that carries the opt-out tag', async () => {
    const sim = account({ 'db-autopilot:opt-out': 'true' });
    const decisions = await run(sim);
    const change = decisions.find((d) => d.action === 'set-pool');
    expect(change).toMatchObject({ outcome: 'skipped', guard: 'opt-out' });
    sim.advance(60_000);
    expect(proxyPool(sim, 'orders-proxy')?.MaxConnectionsPercent).toBe(50);
  });

  it('never changes a proxy the config does not name, even when a manual run names it with override', async () => {
    const sim = account();
    const decisions = await run(sim, { trigger: 'manual', override: true, resourceIds: ['billing-proxy'] });
    const change = decisions.find((d) => d.action === 'set-pool');
    expect(change).toMatchObject({ outcome: 'skipped', guard: 'consent' });
    sim.advance(60_000);
    expect(proxyPool(sim, 'billing-proxy')?.MaxConnectionsPercent).toBe(50);
  });

  it('gives revert the same consent facts: managed by the config, opted out by the tag, unknown proxies not found', async () => {
    account({ 'db-autopilot:opt-out': 'true' });
    setConfig(CONFIG);
    const orders = await registration.target?.({ kind: 'rds-proxy', id: 'orders-proxy' });
    expect(orders).toMatchObject({ managed: true, optedOut: true });
    const billing = await registration.target?.({ kind: 'rds-proxy', id: 'billing-proxy' });
    expect(billing).toMatchObject({ managed: false, optedOut: false });
    expect(await registration.target?.({ kind: 'rds-proxy', id: 'no-such-proxy' })).toBeUndefined();
  });
});
