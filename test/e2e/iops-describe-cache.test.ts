import { ModifyDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { Config } from '../../shared/config/schema.ts';
import type { TunerStateWrite } from '../../shared/core/contracts.ts';
import type { Decision } from '../../shared/core/model.ts';
import { SimAccount, type SimCall } from '../../shared/sim/engine.ts';
import { constant } from '../../shared/sim/workload.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runIops } from '../../shared/tuners/iops.ts';
import {
  DESCRIBE_CACHE_PART,
  type DescribeCache,
  FULL_READ_MS,
  fullReadEvery,
} from '../../shared/tuners/iops-describe-cache.ts';

/**
 * Issue 28: the IOPS tuner asks RDS DescribeEvents once per run for the whole account and
 * DescribeValidDBInstanceModifications only when what it depends on changed, keeping a copy of
 * both per instance in its tuner state, and a storage change by a person or by storage autoscaling
 * within the last 6 h still blocks a change: on the simulated account, the real tuner, adapter
 * and guards.
 */
const START = Date.parse('2026-11-20T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

const config = (mode: 'apply' | 'observe', ids: string[]): Config =>
  parseConfig(`
version: 1
region: us-east-1
defaults: { mode: ${mode}, cooldownMinutes: 30 }
tuners:
  iops:
    resources: { identifiers: [${ids.join(', ')}] }
    minIops: 1000
    maxIops: 64000
`);

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

/** A person grows an instance's storage to 1,100 GiB (IOPS unchanged), at once. */
async function personGrowsStorage(id: string): Promise<void> {
  await aws().rds.send(
    new ModifyDBInstanceCommand({
      DBInstanceIdentifier: id,
      AllocatedStorage: 1100,
      Iops: 20_000,
      ApplyImmediately: true,
    }),
  );
}

/** Instances on io1 with 20,000 IOPS; `demand` IOPS each (35,000 saturates them). */
function account(ids: string[], demand: number): { sim: SimAccount; calls: SimCall[] } {
  const sim = new SimAccount({
    start: new Date(START).toISOString(),
    latencyMs: 0,
    historyStart: START - 30 * HOUR,
  });
  sim.rds.durations.storageOptimizationMs = 20 * MIN;
  for (const id of ids) {
    sim.rds.addInstance({
      id,
      engine: 'postgres',
      instanceClass: 'db.r6i.8xlarge',
      storageType: 'io1',
      allocatedStorage: 1000,
      iops: 20_000,
      workload: { iops: constant(demand) },
    });
  }
  uninstall = sim.install();
  const calls: SimCall[] = [];
  sim.observeCalls((c) => calls.push(c));
  return { sim, calls };
}

async function run(sim: SimAccount, cfg: Config, store: MemoryStateStore): Promise<Decision[]> {
  const summary = await runIops(
    { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `iops-${sim.nowMs()}` },
    { config: cfg, store, now: sim.clock.now() },
  );
  return summary.decisions;
}

const count = (
  calls: SimCall[],
  op: string,
  where: (input: Record<string, unknown>) => boolean = () => true,
) => calls.filter((c) => c.service === 'rds' && c.operation === op && where(c.input)).length;
const accountWide = (input: Record<string, unknown>) => input.SourceIdentifier === undefined;

describe('IOPS tuner: RDS describes kept between runs', () => {
  it('asks DescribeEvents once per run for the account and DescribeValidDBInstanceModifications once per instance', async () => {
    const ids = ['db-a', 'db-b', 'db-c'];
    const { sim, calls } = account(ids, 2000);
    const store = new MemoryStateStore();
    const cfg = config('observe', ids);
    for (let i = 0; i < 6; i++) {
      await run(sim, cfg, store);
      sim.advance(5 * MIN);
    }
    // Before: 3 DescribeEvents and 3 DescribeValidDBInstanceModifications every run (18 + 18).
    // Now: each instance's own events once (the first run), then one account-wide read a run.
    expect(count(calls, 'DescribeEvents', (i) => !accountWide(i))).toBe(3);
    expect(count(calls, 'DescribeEvents', accountWide)).toBe(5);
    expect(count(calls, 'DescribeValidDBInstanceModifications')).toBe(3);
    const kept = (await store.getHistory('iops', 'db-a', sim.clock.now())).tunerState?.[DESCRIBE_CACHE_PART];
    expect(kept).toMatchObject({ v: 1, events: { items: [] }, valid: { options: expect.any(Array) } });
  });

  it('reads an instance’s own events in full again at its own time of day, not every instance in one run', async () => {
    // db-d is read again 90 min before a day is up, db-a 45 min before, db-b at a full day.
    const ids = ['db-a', 'db-b', 'db-d'];
    expect(ids.map((id) => (FULL_READ_MS - fullReadEvery(id)) / MIN)).toEqual([45, 0, 90]);
    const { sim, calls } = account(ids, 2000);
    const store = new MemoryStateStore();
    const cfg = config('observe', ids);
    await run(sim, cfg, store);
    sim.advance(5 * MIN);
    // Their last full read (the first run) taken back to 23 h ago: only db-d is due.
    for (const id of ids) {
      const kept = (await store.getHistory('iops', id, sim.clock.now())).tunerState?.[
        DESCRIBE_CACHE_PART
      ] as DescribeCache;
      const fullAt = new Date(sim.nowMs() - 23 * HOUR).toISOString();
      await store.putTunerState(
        'iops',
        id,
        { ...kept, events: { ...kept.events, fullAt } },
        DESCRIBE_CACHE_PART,
      );
    }
    const before = calls.length;
    await run(sim, cfg, store);
    const own = calls
      .slice(before)
      .filter((c) => c.service === 'rds' && c.operation === 'DescribeEvents' && !accountWide(c.input))
      .map((c) => c.input.SourceIdentifier);
    expect(own).toEqual(['db-d']);
  });

  it('reads the valid options again once the instance’s storage changed', async () => {
    const { sim, calls } = account(['db-a'], 2000);
    const store = new MemoryStateStore();
    const cfg = config('observe', ['db-a']);
    await run(sim, cfg, store);
    await personGrowsStorage('db-a');
    sim.advance(15 * MIN);
    await run(sim, cfg, store);
    expect(count(calls, 'DescribeValidDBInstanceModifications')).toBe(2);
  });

  it('still defers a change for 6 h after a person’s storage change seen only in the events', async () => {
    const { sim, calls } = account(['db-a'], 35_000);
    const store = new MemoryStateStore();
    // The first run only observes (and keeps its copy of the events).
    await run(sim, config('observe', ['db-a']), store);
    sim.advance(5 * MIN);
    const changedAt = sim.nowMs();
    await personGrowsStorage('db-a');
    // Modified (10 min) and optimized (20 min): `available` again, nothing pending.
    sim.advance(40 * MIN);
    const before = calls.length;
    const decisions = await run(sim, config('apply', ['db-a']), store);
    const change = decisions.find((d) => d.action === 'set-iops');
    // Deferred by the tuner's own ledger (not only by the adapter's re-check before modifying).
    expect(change).toMatchObject({ outcome: 'deferred', guard: 'aws:storage-wait-6h' });
    expect(change?.deferredUntil).toBe(new Date(changedAt + 6 * HOUR).toISOString());
    const run2 = calls.slice(before);
    expect(count(run2, 'DescribeEvents', accountWide)).toBe(1);
    expect(count(run2, 'DescribeEvents', (i) => !accountWide(i))).toBe(0);
    expect(count(run2, 'ModifyDBInstance')).toBe(0);
  });

  it('still defers after a storage-autoscaling change whose event RDS listed late (after the run that kept the copy)', async () => {
    const { sim } = account(['db-a'], 35_000);
    const store = new MemoryStateStore();
    await run(sim, config('observe', ['db-a']), store);
    // Listed only now, dated 20 min before that run.
    const at = new Date(sim.nowMs() - 20 * MIN);
    sim.rds.events.push({
      SourceIdentifier: 'db-a',
      SourceType: 'db-instance',
      Message: 'Applying autoscaling-initiated modification to allocated storage from 1000 GiB to 1100 GiB.',
      EventCategories: ['configuration change'],
      Date: at,
      SourceArn: 'arn:aws:rds:us-east-1:123456789012:db:db-a',
    });
    sim.advance(5 * MIN);
    const decisions = await run(sim, config('apply', ['db-a']), store);
    expect(decisions.find((d) => d.action === 'set-iops')).toMatchObject({
      outcome: 'deferred',
      guard: 'aws:storage-wait-6h',
      deferredUntil: new Date(at.getTime() + 6 * HOUR).toISOString(),
    });
  });

  it('keeps RDS’s answers as a held write, batched with the run’s other held writes', async () => {
    // A copy lost with a process that dies before the run's flush only means RDS is read again.
    const writes: Array<{ id: string; part?: string; options?: TunerStateWrite }> = [];
    class RecordingStore extends MemoryStateStore {
      override async putTunerState(
        tuner: Parameters<MemoryStateStore['putTunerState']>[0],
        id: string,
        state: Record<string, unknown>,
        part?: string,
        options?: TunerStateWrite,
      ): Promise<void> {
        writes.push({ id, ...(part ? { part } : {}), ...(options ? { options } : {}) });
        return super.putTunerState(tuner, id, state, part, options);
      }
    }
    const ids = ['db-a', 'db-b'];
    const { sim } = account(ids, 2000);
    await run(sim, config('observe', ids), new RecordingStore());
    expect(writes.filter((w) => w.part === DESCRIBE_CACHE_PART)).toEqual(
      ids.map((id) => ({ id, part: DESCRIBE_CACHE_PART, options: { held: true } })),
    );
  });

  it('ignores a malformed copy in the tuner state and reads RDS again, with a note', async () => {
    const { sim, calls } = account(['db-a'], 2000);
    const store = new MemoryStateStore();
    await store.putTunerState(
      'iops',
      'db-a',
      { v: 1, events: { through: 'soon', items: 'x' } },
      DESCRIBE_CACHE_PART,
    );
    const summary = await runIops(
      { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'iops-malformed' },
      { config: config('observe', ['db-a']), store, now: sim.clock.now() },
    );
    expect(summary.notes.join('\n')).toMatch(/db-a: the kept copy of RDS's answers is malformed/);
    expect(count(calls, 'DescribeEvents', (i) => i.SourceIdentifier === 'db-a')).toBe(1);
    expect(count(calls, 'DescribeValidDBInstanceModifications')).toBe(1);
    const kept = (await store.getHistory('iops', 'db-a', sim.clock.now())).tunerState?.[DESCRIBE_CACHE_PART];
    expect(kept).toMatchObject({ v: 1, events: { through: sim.clock.now().toISOString(), items: [] } });
  });
});
