import { afterEach, describe, expect, it } from 'vitest';
import { reconcileAlarms } from '../../shared/alarms/reconcile.ts';
import { type Config, configSchema } from '../../shared/config/schema.ts';
import type { AlarmSpec, TunerRunRequest } from '../../shared/core/contracts.ts';
import type { Decision } from '../../shared/core/model.ts';
import { finishRun, startRun } from '../../shared/core/run.ts';
import { MINUTE_MS, SimAccount, workload as w } from '../../shared/sim/index.ts';
import '../../shared/sim/services/tagging.ts';
import { MemoryStateStore } from '../../shared/state/memory-store.ts';
import type { TunerRegistration } from '../../shared/tuners/registry.ts';
import { runReplicas } from '../../shared/tuners/replicas.ts';
import { writeThrottleSpec } from '../support/alarms.ts';

/**
 * Issue 21: an intent whose run died (or whose final record failed) is settled by the next run of
 * its tuner from AWS's state, even when no later plan names its resource: a removed replica is
 * never planned again, an alarm that already matches is never put again. On the simulated account,
 * through the real tuners, intent checks and store.
 */

const START = Date.parse('2026-11-23T12:00:00.000Z');
const MANAGED = { 'db-autopilot:managed': 'true' };
const GONE = 'dbap-shop-mysql-20261123115000-1';

let sim: SimAccount;
let uninstall: () => void = () => undefined;
let seq = 0;

afterEach(() => uninstall());

function request(): TunerRunRequest {
  seq += 1;
  return { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `settle-${seq}` };
}

/** An intent a dead run left behind (recorded, never resolved). */
function intent(overrides: Partial<Decision> & Pick<Decision, 'tuner' | 'resource' | 'action'>): Decision {
  return {
    id: `${overrides.tuner}-dead-run:0001`,
    runId: `${overrides.tuner}-dead-run`,
    at: new Date(START - 10 * MINUTE_MS).toISOString(),
    resourceKind: 'rds-instance',
    outcome: 'intended',
    reason: 'intended by a run that died',
    evidence: [],
    monthlyCostDelta: 0,
    from: null,
    to: null,
    undo: null,
    guard: 'intent',
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'info',
    ...overrides,
  };
}

describe("every run settles its tuner's pending intents, whatever resource they name", () => {
  it("settles a removed replica's remove-replica intent although the replica is never planned again", async () => {
    sim = new SimAccount({ start: START, historyStart: START - 2 * 3_600_000, rateLimits: false });
    sim.rds.addInstance({
      id: 'shop-mysql',
      engine: 'mysql',
      instanceClass: 'db.r6g.large',
      storageType: 'gp3',
      allocatedStorage: 500,
      backupRetentionPeriod: 7,
      tags: MANAGED,
      workload: { cpu: w.constant(20), connections: w.constant(20) },
    });
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const config: Config = configSchema.parse({
      version: 1,
      defaults: { mode: 'apply' },
      tuners: { replicas: { resources: { identifiers: ['shop-mysql'] }, minReaders: 0, maxReaders: 2 } },
    });
    // The dead run deleted the replica (AWS has no such instance any more) but never recorded it.
    const removal = intent({
      tuner: 'replicas',
      resource: GONE,
      action: 'remove-replica',
      from: 1,
      to: 0,
      params: { family: 'mysql', sourceId: 'shop-mysql', replicaId: GONE },
    });
    await store.recordDecision(removal);
    expect(await store.listIntents('replicas')).toHaveLength(1);

    const summary = await runReplicas(request(), { config, store, now: sim.clock.now() });

    expect(await store.listIntents('replicas')).toEqual([]);
    const settled = await store.getDecision(removal.id);
    expect(settled).toMatchObject({
      outcome: 'applied',
      resolution: { by: 'aws-state', runId: summary.runId },
    });
    expect(settled?.reason).toContain(`${GONE} no longer exists`);
    // Settled, not planned: the run's own decisions name the source only.
    expect(summary.decisions.filter((d) => d.resource === GONE).map((d) => d.id)).toEqual([removal.id]);
    expect((await store.getHistory('replicas', GONE, sim.clock.now())).pending).toBeUndefined();
  });

  it('settles put-alarm and delete-alarm intents of alarms the reconciler does not touch again', async () => {
    sim = new SimAccount({ start: START, historyStart: START - 3_600_000, rateLimitClock: 'virtual' });
    sim.dynamodb.addTable({
      name: 'orders',
      read: 100,
      write: 100,
      tags: MANAGED,
      workload: { read: w.constant(10), write: w.constant(10) },
    });
    uninstall = sim.install();
    const store = new MemoryStateStore();
    // Alarms are kept only for tuners that act (observe mode is read-only).
    const config = configSchema.parse({ version: 1, tuners: { dynamodb: { mode: 'apply' } } });
    const reconcile = () =>
      reconcileAlarms({
        request: request(),
        config,
        store,
        tuners: { dynamodb: async () => tuner },
        prefix: 'dbap-',
      });
    const first = await reconcile();
    expect(first.alarms.created).toBe(1);
    const alarmName = 'dbap-dynamodb-orders-WriteThrottle';
    expect(sim.cloudwatch.alarms.has(alarmName)).toBe(true);

    // Three intents dead runs left: the put that made the alarm (its record failed), a delete
    // CloudWatch carried out, and a put of an alarm that never reached CloudWatch.
    const at = new Date(START).toISOString();
    const put = intent({
      id: 'alarms-dead:1',
      tuner: 'alarms',
      resource: alarmName,
      action: 'put-alarm',
      at,
      resourceKind: 'cloudwatch-alarm',
      params: { name: alarmName },
    });
    const deleted = intent({
      id: 'alarms-dead:2',
      tuner: 'alarms',
      resource: 'dbap-dynamodb-gone-WriteThrottle',
      action: 'delete-alarm',
      at,
      resourceKind: 'cloudwatch-alarm',
      params: { name: 'dbap-dynamodb-gone-WriteThrottle' },
    });
    const never = intent({
      id: 'alarms-dead:3',
      tuner: 'alarms',
      resource: 'dbap-dynamodb-never-WriteThrottle',
      action: 'put-alarm',
      at,
      resourceKind: 'cloudwatch-alarm',
      params: { name: 'dbap-dynamodb-never-WriteThrottle' },
    });
    for (const d of [put, deleted, never]) await store.recordDecision(d);

    sim.advanceTo(START + 5 * MINUTE_MS);
    const next = await reconcile();

    // Nothing to change: the alarm already matches, so no plan names any of the three.
    expect(next.alarms).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    expect(await store.listIntents('alarms')).toEqual([]);
    expect(await store.getDecision(put.id)).toMatchObject({
      outcome: 'applied',
      resolution: { by: 'aws-state' },
    });
    expect(await store.getDecision(deleted.id)).toMatchObject({
      outcome: 'applied',
      resolution: { by: 'aws-state' },
    });
    expect(await store.getDecision(never.id)).toMatchObject({
      outcome: 'failed',
      resolution: { by: 'aws-state' },
    });
  });
});

const tuner: TunerRegistration = {
  run: async (req) => {
    const started = await startRun({ tuner: 'dynamodb', request: req, store: new MemoryStateStore() });
    return finishRun(started, []);
  },
  alarms: (targets): AlarmSpec[] =>
    targets.filter((t) => t.ref.kind === 'dynamodb-table').map((t) => writeThrottleSpec(t.ref.id)),
};
