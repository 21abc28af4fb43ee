import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcileAlarms } from '../../shared/alarms/reconcile.ts';
import { alarmStateChangeSchema, routeAlarmEvent } from '../../shared/alarms/route.ts';
import { setConfig } from '../../shared/config/load.ts';
import { configSchema } from '../../shared/config/schema.ts';
import { SimAccount, workload as w } from '../../shared/sim/index.ts';
import '../../shared/sim/services/tagging.ts';
import { setStateStore } from '../../shared/state/index.ts';
import { MemoryStateStore } from '../../shared/state/memory-store.ts';
import { registration } from '../../shared/tuners/replicas.ts';

/**
 * Issue 19, Must show: the replica fast-path alarm exists and fires. The reconciler creates the
 * replica scaler's reader-CPU alarm on the simulated account (recorded as an applied `alarms`
 * decision named after the alarm), the simulator evaluates it each minute, and its OK -> ALARM
 * reaches the real replica scaler, which adds readers.
 */
const START = Date.parse('2026-11-20T18:00:00Z');
const MANAGED = { 'db-autopilot:managed': 'true' };
const ALARM = 'dbap-replicas-catalog-aurora-reader_cpu_high';
const config = configSchema.parse({
  version: 1,
  defaults: { mode: 'apply' },
  tuners: { replicas: { resources: { identifiers: ['catalog-aurora'] }, minReaders: 1, maxReaders: 5 } },
});

describe('the replica fast-path alarm on the simulated account', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  let restoreStore: () => void;
  let store: MemoryStateStore;
  let readerCpu = 30;

  beforeEach(() => {
    store = new MemoryStateStore();
    readerCpu = 30;
    sim = new SimAccount({ start: START, historyStart: START - 3_600_000, rateLimitClock: 'virtual' });
    sim.rds.addCluster({
      id: 'catalog-aurora',
      engine: 'aurora-postgresql',
      tags: MANAGED,
      workload: { readerCpu: () => readerCpu, readerConnections: w.constant(20) },
    });
    sim.rds.addInstance({
      id: 'catalog-aurora-writer',
      engine: 'aurora-postgresql',
      instanceClass: 'db.r6g.large',
      clusterId: 'catalog-aurora',
      writer: true,
      tags: MANAGED,
    });
    sim.rds.addInstance({
      id: 'catalog-aurora-reader-1',
      engine: 'aurora-postgresql',
      instanceClass: 'db.r6g.large',
      clusterId: 'catalog-aurora',
      tags: MANAGED,
      workload: { cpu: w.constant(2), connections: w.constant(0) },
    });
    uninstall = sim.install();
    setConfig(config);
    restoreStore = setStateStore(store);
    sim.cloudwatch.startEvaluation();
  });

  afterEach(() => {
    restoreStore();
    setConfig(undefined);
    uninstall();
  });

  it('is created, fires on OK -> ALARM and reaches the replica scaler, which adds readers', async () => {
    const summary = await reconcileAlarms({
      request: { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'reconcile-1' },
      config,
      store,
      tuners: { replicas: async () => registration },
      prefix: 'dbap-',
      now: sim.clock.now(),
    });
    expect(sim.cloudwatch.alarms.has(ALARM)).toBe(true);
    const recorded = summary.decisions.find((d) => d.tuner === 'alarms' && d.resource === ALARM);
    expect(recorded?.outcome).toBe('applied');

    // Quiet readers: the alarm settles in OK.
    sim.advance(3 * 60_000);
    const settled = sim.cloudwatch.takeAlarmEvents();
    expect(settled.filter((e) => e.detail.state.value === 'ALARM')).toEqual([]);

    // The evening peak: the one reader is pinned.
    readerCpu = 200;
    let fired: ReturnType<typeof sim.cloudwatch.takeAlarmEvents> = [];
    for (let minute = 0; minute < 15 && fired.length === 0; minute++) {
      sim.advance(60_000);
      fired = sim.cloudwatch.takeAlarmEvents().filter((e) => e.detail.state.value === 'ALARM');
    }
    expect(fired.map((e) => e.detail.alarmName)).toEqual([ALARM]);
    expect(fired[0]?.detail.previousState.value).toBe('OK');

    const event = alarmStateChangeSchema.parse(fired[0]);
    const routed = await routeAlarmEvent(event, {
      prefix: 'dbap-',
      loadTuner: async () => registration,
      store,
    });
    expect(routed.outcome).toBe('routed');
    const adds = (routed.run?.decisions ?? []).filter(
      (d) => d.action === 'add-replica' && d.outcome === 'applied',
    );
    expect(adds.length).toBeGreaterThan(0);
    expect(adds[0]?.trigger).toBe('alarm');
    expect([...sim.rds.instances.keys()].some((id) => id.startsWith('dbap-catalog-aurora'))).toBe(true);
  });
});
