import { afterEach, describe, expect, it } from 'vitest';
import { createIopsAdapter } from '../../shared/adapters/rds-iops.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { RunContext, Target } from '../../shared/core/contracts.ts';
import { executePlan } from '../../shared/core/executor.ts';
import { SimAccount } from '../../shared/sim/engine.ts';
import { constant } from '../../shared/sim/workload.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runIops } from '../../shared/tuners/iops.ts';

/**
 * A change the IOPS adapter capped at the edge DescribeValidDBInstanceModifications allows
 * (aws-facts.md, "Learned from review": cap at the valid edge rather than skip) is recorded with
 * the value AWS was asked for, so the next run does not take db-autopilot's own change for a
 * person's (design.md, "Trust in a real account").
 */
const START = Date.parse('2026-11-20T12:00:00Z');
const CONFIG = parseConfig(`
version: 1
region: us-east-1
defaults: { mode: apply }
tuners:
  iops:
    resources: { identifiers: [orders] }
    minIops: 1000
    maxIops: 64000
`);

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

describe('a change capped at the valid edge', () => {
  it('records the capped IOPS, and the next run sees no drift', async () => {
    const sim = new SimAccount({
      start: new Date(START).toISOString(),
      historyStart: START - 30 * 3_600_000,
    });
    sim.rds.addInstance({
      id: 'orders',
      engine: 'postgres',
      instanceClass: 'db.r6i.8xlarge',
      storageType: 'io1',
      allocatedStorage: 500,
      iops: 10_000,
      workload: { iops: constant(8000) },
    });
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const target: Target = {
      ref: { kind: 'rds-instance', id: 'orders' },
      tags: {},
      managed: true,
      created: false,
      optedOut: false,
    };
    const run: RunContext = {
      runId: 'revert-capped',
      tuner: 'iops',
      trigger: 'manual',
      dryRun: false,
      override: false,
      idempotencyKey: 'revert-capped',
      now: sim.clock.now(),
      paused: false,
      changesApplied: 0,
    };
    // E.g. a revert replaying a recorded value that is no longer valid: 30,000 IOPS on 500 GiB
    // is 60 IOPS/GiB, above io1's 50.
    const [decision] = await executePlan({
      plan: {
        tuner: 'iops',
        resource: target.ref,
        observedAt: run.now.toISOString(),
        actions: [
          {
            tuner: 'iops',
            resource: target.ref,
            kind: 'set-iops',
            from: 10_000,
            to: 30_000,
            reason: 'replayed value',
            evidence: [],
            monthlyCostDelta: 0,
            undo: { kind: 'set-iops', params: { AllocatedStorage: 500, Iops: 10_000 } },
            mutating: true,
            numericTarget: 30_000,
            params: { AllocatedStorage: 500, Iops: 30_000 },
          },
        ],
      },
      target,
      settings: {
        mode: 'apply',
        cooldownMinutes: 0,
        maxChangesPerRun: 5,
        driftBackoffMinutes: 360,
        lockLeaseSeconds: 300,
      },
      adapter: createIopsAdapter({ now: () => run.now }),
      run,
      store,
    });
    expect(decision?.outcome).toBe('applied');
    expect(decision?.to).toBe(25_000);
    sim.advance(2 * 3_600_000);
    const summary = await runIops(
      { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'after-capped' },
      { config: CONFIG, store, now: sim.clock.now() },
    );
    expect(summary.decisions.map((d) => d.guard)).not.toContain('drift');
    expect((await store.getHistory('iops', 'orders', sim.clock.now())).drift).toBeUndefined();
  });
});
