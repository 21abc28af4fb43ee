import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/load.ts';
import { awsError } from '../../shared/sim/faults.ts';
import { registerRule } from '../../shared/sim/registry.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runServerless } from '../../shared/tuners/serverless.ts';

/**
 * A busy account: one cluster's DescribeDBInstances is throttled past the SDK's retries. That
 * cluster's run fails, recorded; the other clusters are still tuned (the run used to throw and tune
 * none of them).
 */
const FAILING = 'securecart-accounts-dev';
let failing = false;
registerRule('rds', 'DescribeDBInstances', 'test-one-cluster-throttled', (_sim, input) => {
  const filters = (input.Filters ?? []) as Array<{ Name?: string; Values?: string[] }>;
  const cluster = filters.find((f) => f.Name === 'db-cluster-id')?.Values?.[0];
  if (failing && cluster === FAILING) throw awsError('rds', 'throttle');
});

describe('serverless tuner with one cluster unreadable', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => {
    uninstall?.();
    failing = false;
  });

  it('records the failure for that cluster and tunes the others', async () => {
    const config = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
    config.defaults.mode = 'apply';
    if (config.tuners.serverless) config.tuners.serverless.mode = 'apply';
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    failing = true;
    const summary = await runServerless(
      { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'partial-1' },
      { config, store: new MemoryStateStore(), now: sim.clock.now() },
    );
    const failed = summary.decisions.filter((d) => d.outcome === 'failed');
    expect(failed.map((d) => d.resource)).toEqual([FAILING]);
    expect(failed[0]?.reason).toMatch(/rate exceeded/);
    expect(summary.decisions.some((d) => d.resource === 'securecart-customer-accounts')).toBe(true);
  });
});
