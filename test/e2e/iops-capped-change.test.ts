import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { createIopsAdapter } from '../../shared/adapters/rds-iops.ts';
import { aws } from '../../shared/aws/clients.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { RunContext, Target, TunerSettings } from '../../shared/core/contracts.ts';
import { executePlan } from '../../shared/core/executor.ts';
import type { Plan } from '../../shared/core/model.ts';
import { SimAccount } from '../../shared/sim/engine.ts';
import { awsError, FaultInjector } from '../../shared/sim/faults.ts';
import { constant } from '../../shared/sim/workload.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runIops } from '../../shared/tuners/iops.ts';

/**
 * A change the IOPS adapter capped at the edge DescribeValidDBInstanceModifications allows
 * (aws-facts.md, "Learned from review": cap at the valid edge rather than skip) is recorded with
 * the value AWS was asked for, so the next run does not take db-autopilot's own change for a
 * person's (design.md, "Trust in a real account") - also when the response to ModifyDBInstance was
 * lost and the intent is settled from AWS's state.
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
const TARGET: Target = {
  ref: { kind: 'rds-instance', id: 'orders' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};
const SETTINGS: TunerSettings = {
  mode: 'apply',
  cooldownMinutes: 0,
  maxChangesPerRun: 5,
  driftBackoffMinutes: 360,
  lockLeaseSeconds: 300,
};

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

function account(): SimAccount {
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
  return sim;
}

function runAt(sim: SimAccount, runId: string): RunContext {
  return {
    runId,
    tuner: 'iops',
    trigger: 'manual',
    dryRun: false,
    override: false,
    idempotencyKey: runId,
    now: sim.clock.now(),
    paused: false,
    changesApplied: 0,
  };
}

/**
 * E.g. a revert replaying a recorded value that is no longer valid: 30,000 IOPS on 500 GiB is 60
 * IOPS/GiB, above io1's 50, so the adapter sends 25,000.
 */
function cappedPlan(run: RunContext): Plan {
  return {
    tuner: 'iops',
    resource: TARGET.ref,
    observedAt: run.now.toISOString(),
    actions: [
      {
        tuner: 'iops',
        resource: TARGET.ref,
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
  };
}

async function nextRunSeesNoDrift(sim: SimAccount, store: MemoryStateStore): Promise<void> {
  sim.advance(2 * 3_600_000);
  const summary = await runIops(
    { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `after-${sim.nowMs()}` },
    { config: CONFIG, store, now: sim.clock.now() },
  );
  expect(summary.decisions.map((d) => d.guard)).not.toContain('drift');
  expect(summary.decisions.filter((d) => d.action === 'set-iops' && d.outcome === 'applied')).toEqual([]);
  expect((await store.getHistory('iops', 'orders', sim.clock.now())).drift).toBeUndefined();
}

describe('a change capped at the valid edge', () => {
  it('records the capped IOPS, and the next run sees no drift', async () => {
    const sim = account();
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const run = runAt(sim, 'revert-capped');
    const [decision] = await executePlan({
      plan: cappedPlan(run),
      target: TARGET,
      settings: SETTINGS,
      adapter: createIopsAdapter({ now: () => run.now }),
      run,
      store,
    });
    expect(decision?.outcome).toBe('applied');
    expect(decision?.to).toBe(25_000);
    await nextRunSeesNoDrift(sim, store);
  });

  it('settles a capped change whose response was lost at the capped value: applied, no retry, no drift', async () => {
    const sim = account();
    // The soak's fault injector, made certain: ModifyDBInstance reaches AWS and its answer is lost
    // (an InternalFailure the caller sees after AWS made the change); every other call answers.
    const faults = new FaultInjector(0, 1, () => sim.nowMs());
    const lose = { next: true };
    const passThrough = faults.aws.bind(faults);
    faults.aws = async (service, operation, input, next) => {
      if (service !== 'rds' || operation !== 'ModifyDBInstance' || !lose.next)
        return passThrough(service, operation, input, next);
      lose.next = false;
      await next();
      throw awsError('rds', 'server');
    };
    faults.attach(sim.clients().rds, 'rds');
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const run = runAt(sim, 'capped-lost');
    const [decision] = await executePlan({
      plan: cappedPlan(run),
      target: TARGET,
      settings: SETTINGS,
      adapter: createIopsAdapter({ now: () => run.now }),
      run,
      store,
    });
    // AWS made the capped change; its answer was lost.
    expect(lose.next).toBe(false);
    const db = (await aws().rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' })))
      .DBInstances?.[0];
    expect(db?.PendingModifiedValues?.Iops ?? db?.Iops).toBe(25_000);
    // Settled from AWS's state at the value AWS was asked for, not failed against the planned one.
    expect(decision?.outcome).toBe('applied');
    expect(decision?.to).toBe(25_000);
    expect(decision?.resolution?.by).toBe('aws-state');
    await nextRunSeesNoDrift(sim, store);
  });
});
