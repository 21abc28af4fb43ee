import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileAlarms } from '../../shared/alarms/reconcile.ts';
import { alarmStateChangeSchema, routeAlarmEvent } from '../../shared/alarms/route.ts';
import { configSchema } from '../../shared/config/schema.ts';
import type { AlarmSpec, TunerRunRequest } from '../../shared/core/contracts.ts';
import { finishRun, startRun } from '../../shared/core/run.ts';
import { SimAccount, workload as w } from '../../shared/sim/index.ts';
// GetResources (idempotent registration, in case shared/sim/index.ts does not load it).
import '../../shared/sim/services/tagging.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import type { TunerRegistration } from '../../shared/tuners/registry.ts';
import { writeThrottleSpec } from '../support/alarms.ts';

/**
 * The fast path on the simulated account: the reconciler discovers the managed tables by tag,
 * creates the tuner's alarms in the simulated CloudWatch, the simulator evaluates them each
 * minute, and the alarm that fires reaches the tuner in the same minute, once.
 */
const START = Date.parse('2026-11-20T12:00:00Z');
const MANAGED = { 'db-autopilot:managed': 'true' };
const config = configSchema.parse({
  version: 1,
  // Alarms are kept only for tuners that act (observe mode is read-only).
  tuners: { dynamodb: { mode: 'apply', resources: { tags: { team: 'shop' } } } },
});

describe('alarm fast path on the simulated account', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  let store: MemoryStateStore;
  const acted: Array<{ request: TunerRunRequest; at: number }> = [];

  const tuner: TunerRegistration = {
    run: async (request) => {
      const started = await startRun({ tuner: 'dynamodb', request, store });
      if (!started.duplicate && !started.run.paused) acted.push({ request, at: sim.nowMs() });
      return finishRun(started, []);
    },
    alarms: (targets): AlarmSpec[] =>
      targets.filter((t) => t.ref.kind === 'dynamodb-table').map((t) => writeThrottleSpec(t.ref.id)),
  };

  beforeEach(() => {
    acted.length = 0;
    store = new MemoryStateStore();
    sim = new SimAccount({ start: START, historyStart: START - 3_600_000, rateLimitClock: 'virtual' });
    sim.dynamodb.addTable({
      name: 'orders',
      read: 100,
      write: 100,
      tags: { team: 'shop' },
      workload: { read: w.constant(10), write: w.constant(10) },
    });
    sim.dynamodb.addTable({
      name: 'carts',
      read: 100,
      write: 100,
      tags: MANAGED,
      workload: { read: w.constant(10), write: w.constant(10) },
    });
    sim.dynamodb.addTable({
      name: 'audit',
      read: 100,
      write: 100,
      tags: { team: 'hr' },
      workload: { read: w.constant(10), write: w.constant(10) },
    });
    uninstall = sim.install();
    sim.cloudwatch.startEvaluation();
  });

  afterEach(() => uninstall());

  it('creates alarms for the tag-selected fleet, and a firing alarm reaches the tuner in the same minute', async () => {
    const summary = await reconcileAlarms({
      request: {
        trigger: 'schedule',
        dryRun: false,
        override: false,
        idempotencyKey: 'eventbridge:reconcile-1',
      },
      config,
      store,
      tuners: { dynamodb: async () => tuner },
      prefix: 'dbap-',
    });
    expect(summary.alarms.created).toBe(2);
    expect([...sim.cloudwatch.alarms.keys()].sort()).toEqual([
      'dbap-dynamodb-carts-WriteThrottle',
      'dbap-dynamodb-orders-WriteThrottle',
    ]);
    expect(sim.cloudwatch.dashboards.has('db-autopilot')).toBe(true);

    // A quiet minute: no alarm fires.
    sim.advance(2 * 60_000);
    const quiet = sim.cloudwatch.takeAlarmEvents().filter((e) => e.detail.state.value === 'ALARM');
    expect(quiet).toEqual([]);

    // A flash sale on orders: writes far above the 100 WCU provisioned.
    const table = sim.dynamodb.tables.get('orders');
    if (!table) throw new Error('no orders table');
    table.workload.write = w.constant(5_000);
    let fired: ReturnType<typeof sim.cloudwatch.takeAlarmEvents> = [];
    for (let minute = 0; minute < 10 && fired.length === 0; minute++) {
      sim.advance(60_000);
      fired = sim.cloudwatch.takeAlarmEvents().filter((e) => e.detail.state.value === 'ALARM');
    }
    expect(fired.map((e) => e.detail.alarmName)).toEqual(['dbap-dynamodb-orders-WriteThrottle']);
    // The handler's own schema accepts the simulator's event as EventBridge would deliver it.
    const event = alarmStateChangeSchema.parse(fired[0]);
    const firedAt = sim.nowMs();

    const deps = { prefix: 'dbap-', loadTuner: async () => tuner, store };
    const first = await routeAlarmEvent(event, deps);
    const again = await routeAlarmEvent(event, deps); // EventBridge delivers at least once

    expect(first.outcome).toBe('routed');
    expect(again.run?.duplicate).toBe(true);
    expect(acted).toHaveLength(1);
    expect(acted[0]?.request.resourceIds).toEqual(['orders']);
    expect(Math.floor((acted[0]?.at ?? 0) / 60_000)).toBe(Math.floor(firedAt / 60_000));
  });
});
