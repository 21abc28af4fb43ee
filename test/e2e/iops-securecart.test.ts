import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidIops } from '../../shared/aws/rds-storage-limits.ts';
import { loadConfigFile } from '../../shared/config/load.ts';
import type { Action, ActResult, Decision } from '../../shared/core/model.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { iopsAlarms, runIops } from '../../shared/tuners/iops.ts';

/**
 * The SecureCart day for the IOPS tuner (what `npm run demo` shows): the example config in apply
 * mode, the scenario's fleet (io1 orders database saturating at its evening peak, storage
 * autoscaling at 00:00, gp2 reports database draining its BurstBalance), the tuner every 5 minutes
 * for 24 hours through the real adapter against the simulated RDS.
 */
describe('iops on the securecart scenario', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  const decisions: Decision[] = [];
  const config = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
  config.defaults.mode = 'apply';
  if (config.tuners.iops) config.tuners.iops.mode = 'apply';

  beforeAll(async () => {
    const scenario = await getScenario('securecart');
    sim = scenario.build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const start = sim.nowMs();
    for (let t = start; t < start + 24 * 60 * MINUTE_MS; t += 5 * MINUTE_MS) {
      sim.advanceTo(t);
      const summary = await runIops(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `iops-${t}` },
        { config, store, now: sim.clock.now() },
      );
      decisions.push(...summary.decisions);
    }
  }, 240_000);

  afterAll(() => {
    uninstall();
    if (process.env.IOPS_TIMELINE) {
      for (const d of decisions.filter((x) => x.action !== 'noop'))
        console.log(d.at.slice(11, 16), d.action, d.outcome, d.resource, d.reason.slice(0, 150));
    }
  });

  const of = (action: string, outcome: string, resource = 'securecart-orders') =>
    decisions.filter((d) => d.action === action && d.outcome === outcome && d.resource === resource);

  it('counts the storage autoscaling change and defers the next change by the wait rule', () => {
    const waited = of('set-iops', 'deferred').filter((d) => d.guard === 'aws:storage-wait-6h');
    expect(waited.length).toBeGreaterThan(0);
    // Issue 20 (fewer changes per day): the orders database no longer tries a change within 6 h
    // of the 00:00 autoscaling change, so the RDS-event wait is covered where it is exercised:
    // adapter.test.ts ('defers within 6 h of a storage change made by autoscaling (RDS event)')
    // and limits-ledger.test.ts.
    for (const d of waited) expect(Date.parse(d.deferredUntil ?? '')).toBeGreaterThan(Date.parse(d.at));
  });

  it('raises the orders database once before the evening peak, sized for it, and never lowers it below what that peak needs', () => {
    // Issue 20: a lowering must hold a day (and twice the lock-out), so the night's quiet no
    // longer buys a lowering that the evening peak would undo; one raise a day, made ahead of the
    // peak and sized for it. Lowerings themselves: iops-review.test.ts and policy.test.ts.
    const applied = of('set-iops', 'applied');
    const lowered = applied.filter((d) => Number(d.to) < Number(d.from));
    const raised = applied.filter((d) => Number(d.to) > Number(d.from));
    expect(raised.length).toBe(1);
    expect(raised[0]?.monthlyCostDelta).toBeGreaterThan(0);
    const raisedHour = new Date(raised[0]?.at ?? '').getUTCHours();
    expect(raisedHour).toBeLessThanOrEqual(19); // the peak is at 19:00 UTC
    expect(Number(raised[0]?.to)).toBeGreaterThanOrEqual(5200 / 0.85); // yesterday's peak at 85%
    for (const d of lowered) expect(Number(d.to)).toBeGreaterThanOrEqual(5200 / 0.85);
  });

  it('applies changes 6 h apart at least, counting the autoscaling change, each valid for io1', () => {
    const inst = sim.rds.instances.get('securecart-orders');
    const times = inst?.storageChanges ?? [];
    for (let i = 1; i < times.length; i++) {
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(6 * 60 * MINUTE_MS);
    }
    for (const d of of('set-iops', 'applied')) {
      expect(isValidIops('postgres', 'io1', inst?.allocatedStorage ?? 0, Number(d.to))).toBe(true);
    }
    expect(decisions.filter((d) => d.outcome === 'failed')).toEqual([]);
  });

  it('advises the gp2 reports database to move to gp3, with its cost change, without changing it', () => {
    const advice = of('recommend', 'applied', 'securecart-reports');
    expect(advice.length).toBeGreaterThan(0);
    expect(advice[0]?.to).toMatchObject({ storageType: 'gp3' });
    expect(typeof advice[0]?.monthlyCostDelta).toBe('number');
    expect(advice.length).toBeLessThanOrEqual(4); // reported again every 6 h, not every run
    expect(sim.rds.instances.get('securecart-reports')?.storageType).toBe('gp2');
  });

  it('declares the fast-path alarms for the managed instances', () => {
    const targets = ['securecart-orders', 'securecart-reports'].map((id) => ({
      ref: { kind: 'rds-instance' as const, id },
      tags: {},
      managed: true,
      created: false,
      optedOut: false,
      // As the reconciler's discovery passes them: BurstBalance only for the gp2 volume.
      raw: { DBInstanceIdentifier: id, StorageType: sim.rds.instances.get(id)?.storageType },
    }));
    const alarms = iopsAlarms(targets, config);
    expect(alarms.map((a) => `${a.resourceId}:${a.metricName}`)).toEqual(
      expect.arrayContaining([
        'securecart-orders:DiskQueueDepth',
        'securecart-orders:ReadLatency',
        'securecart-orders:WriteLatency',
        'securecart-reports:BurstBalance',
      ]),
    );
    expect(alarms.find((a) => a.metricName === 'DiskQueueDepth')?.threshold).toBe(64);
  });
});

/**
 * The alarm fast path and the schedule can run the tuner at the same moment: two runs observe the
 * same state and plan the same change. With no cooldown configured, only the plan-staleness guard
 * (executePlan's `planHistory`) stops the second run from applying its stale plan too.
 */
describe('iops: two overlapping runs on the securecart scenario', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  const config = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
  config.defaults.mode = 'apply';
  config.defaults.cooldownMinutes = 0;
  if (config.tuners.iops) {
    config.tuners.iops.mode = 'apply';
    config.tuners.iops.cooldownMinutes = 0;
  }

  beforeAll(async () => {
    const scenario = await getScenario('securecart');
    sim = scenario.build({});
    uninstall = sim.install();
  });

  afterAll(() => {
    uninstall();
  });

  it('applies one change when two runs planned it from the same observation', async () => {
    const store = new MemoryStateStore();
    const start = sim.nowMs();
    // Find the first moment the tuner wants to change the orders database (a dry run changes nothing).
    let when: number | undefined;
    for (let t = start; t < start + 24 * 60 * MINUTE_MS && when === undefined; t += 5 * MINUTE_MS) {
      sim.advanceTo(t);
      const dry = await runIops(
        { trigger: 'schedule', dryRun: true, override: false, idempotencyKey: `dry-${t}` },
        { config, store: new MemoryStateStore(), now: sim.clock.now() },
      );
      if (dry.decisions.some((d) => d.action === 'set-iops' && d.outcome === 'planned')) when = t;
    }
    expect(when).toBeDefined();
    // Interleave deterministically: run B plans from the same state as run A, then waits at the
    // lock until run A has applied its change and finished; only then does B try to act.
    let signalB: () => void = () => undefined;
    const bAtLock = new Promise<void>((resolve) => {
      signalB = resolve;
    });
    const applied: Action[] = [];
    const adapter = async (action: Action): Promise<ActResult> => {
      applied.push(action);
      // A's change lands once B has planned (a safety timeout avoids a hang if B never gets here).
      if (applied.length === 1) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([bAtLock, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
        clearTimeout(timer);
      }
      return { status: 'applied', detail: 'counted' };
    };
    const runA = runIops(
      { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'schedule' },
      { config, store, now: sim.clock.now(), adapter },
    );
    const aDone = runA.then(() => undefined);
    const storeB = new Proxy(store, {
      get(target, prop) {
        if (prop === 'acquireLock') {
          return async (...args: Parameters<MemoryStateStore['acquireLock']>) => {
            signalB();
            await aDone;
            return target.acquireLock(...args);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const runB = runIops(
      { trigger: 'alarm', dryRun: false, override: false, idempotencyKey: 'alarm' },
      { config, store: storeB, now: sim.clock.now(), adapter },
    );
    const [a, b] = await Promise.all([runA, runB]);
    expect(applied.filter((x) => x.kind === 'set-iops')).toHaveLength(1);
    expect(a.decisions.filter((d) => d.action === 'set-iops').map((d) => d.outcome)).toEqual(['applied']);
    expect(b.decisions.filter((d) => d.action === 'set-iops').map((d) => d.guard)).toEqual([
      'changed-since-plan',
    ]);
  }, 120_000);
});
