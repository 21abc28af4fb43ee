import { InvalidDBInstanceStateFault } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { executePlan, nextDecisionId } from '../../../shared/core/executor.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import {
  makeAction,
  makeDecision,
  makePlan,
  makeRun,
  makeSettings,
  makeTarget,
  minutesAfter,
  recordingAdapter,
  T0,
} from './fixtures.ts';

describe('nextDecisionId', () => {
  it('numbers a copy of the run (a paused run handing back) on from the run it copies', () => {
    const run = makeRun({ runId: 'copy-shares-numbering' });
    const first = nextDecisionId(run);
    const copy = { ...run, paused: false };
    expect([first, nextDecisionId(copy), nextDecisionId(run)]).toEqual([
      'copy-shares-numbering:0001',
      'copy-shares-numbering:0002',
      'copy-shares-numbering:0003',
    ]);
  });
});

describe('executePlan', () => {
  it('applies a change that passes every guard and records it with the guard that decided', async () => {
    // Prepare
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter({ status: 'applied', detail: 'ModifyDBInstance sent' });
    const run = makeRun();
    // Act
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings(),
      adapter,
      run,
      store,
    });
    // Assess
    expect(calls).toHaveLength(1);
    expect(decision).toMatchObject({
      outcome: 'applied',
      guard: 'adapter',
      from: 3000,
      to: 6000,
      override: false,
    });
    expect(run.changesApplied).toBe(1);
    expect(await store.getDecision(decision?.id ?? '')).toEqual(decision);
    expect((await store.getHistory('iops', 'orders-db', T0)).lastAppliedAt).toBe(T0.toISOString());
  });

  it('records one no-op decision with the reason and evidence when the plan has no actions', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const evidence = [
      {
        metric: 'ReadIOPS',
        statistic: 'Average',
        value: 1200,
        window: { start: T0.toISOString(), end: T0.toISOString(), periodSeconds: 60 },
      },
    ];
    const decisions = await executePlan({
      plan: makePlan([], {
        noopReason: 'IOPS at 40% of provisioned: within the band',
        noopEvidence: evidence,
      }),
      target: makeTarget(),
      settings: makeSettings(),
      adapter,
      run: makeRun(),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      action: 'noop',
      outcome: 'skipped',
      guard: 'noop',
      reason: 'IOPS at 40% of provisioned: within the band',
      evidence,
    });
    expect(
      await store.exportDecisions({ since: T0.toISOString(), until: minutesAfter(T0, 1).toISOString() }),
    ).toHaveLength(1);
  });

  it('plans but does not act in observe mode on a schedule', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings({ mode: 'observe' }),
      adapter,
      run: makeRun(),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decision).toMatchObject({ outcome: 'planned', guard: 'mode', mode: 'observe' });
  });

  it('refuses a manual real run in observe mode without override and says how to ask', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings({ mode: 'observe' }),
      adapter,
      run: makeRun({ trigger: 'manual', dryRun: false, override: false }),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decision?.outcome).toBe('skipped');
    expect(decision?.reason).toContain('"override": true');
  });

  it('acts on a manual real run in observe mode with override and records the override', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings({ mode: 'observe' }),
      adapter,
      run: makeRun({ trigger: 'manual', dryRun: false, override: true }),
      store,
    });
    expect(calls).toHaveLength(1);
    expect(decision).toMatchObject({ outcome: 'applied', override: true, mode: 'observe' });
  });

  it('only plans a manual dry run, even in apply mode', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings(),
      adapter,
      run: makeRun({ trigger: 'manual', dryRun: true, override: true }),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decision).toMatchObject({ outcome: 'planned', guard: 'dry-run', dryRun: true });
  });

  it('defers a change within the cooldown until the cooldown ends', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision(
      makeDecision({ id: 'earlier:1', runId: 'earlier', at: minutesAfter(T0, -10).toISOString() }),
    );
    const { adapter, calls } = recordingAdapter();
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings({ cooldownMinutes: 30 }),
      adapter,
      run: makeRun(),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decision).toMatchObject({
      outcome: 'deferred',
      guard: 'cooldown',
      deferredUntil: minutesAfter(T0, 20).toISOString(),
    });
  });

  it('skips a target outside the configured bounds', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const [decision] = await executePlan({
      plan: makePlan([makeAction({ to: 80_000, numericTarget: 80_000 })]),
      target: makeTarget(),
      settings: makeSettings({ max: 64_000 }),
      adapter,
      run: makeRun(),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decision).toMatchObject({ outcome: 'skipped', guard: 'bounds' });
  });

  it('deletes only a resource that carries the created-by tag and that the store recorded creating', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const remove = makeAction({
      tuner: 'replicas',
      kind: 'remove-replica',
      resource: { kind: 'rds-instance', id: 'orders-db-replica-1' },
      deletes: true,
      numericTarget: undefined,
    });
    const tagged = makeTarget({ ref: remove.resource, created: true });
    const settings = makeSettings({ min: undefined, max: undefined, cooldownMinutes: 0 });
    const [unrecorded] = await executePlan({
      plan: makePlan([remove], { tuner: 'replicas' }),
      target: tagged,
      settings,
      adapter,
      run: makeRun(),
      store,
    });
    expect(unrecorded).toMatchObject({ outcome: 'skipped', guard: 'consent' });
    await store.recordCreated('replicas', 'orders-db-replica-1', { source: 'orders-db' }, T0);
    const [untagged] = await executePlan({
      plan: makePlan([remove], { tuner: 'replicas' }),
      target: makeTarget({ ref: remove.resource, created: false }),
      settings,
      adapter,
      run: makeRun(),
      store,
    });
    expect(untagged).toMatchObject({ outcome: 'skipped', guard: 'consent' });
    expect(calls).toHaveLength(0);
    const [both] = await executePlan({
      plan: makePlan([remove], { tuner: 'replicas' }),
      target: tagged,
      settings,
      adapter,
      run: makeRun(),
      store,
    });
    expect(both?.outcome).toBe('applied');
    expect(calls).toHaveLength(1);
  });

  it('defers what a declared AWS rule defers, until the rule says', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const until = minutesAfter(T0, 360).toISOString();
    const [decision] = await executePlan({
      plan: makePlan([
        makeAction({
          rules: [
            { rule: 'aws:instance-available', verdict: 'ok' },
            { rule: 'aws:storage-wait', verdict: 'defer', reason: 'storage optimization in progress', until },
          ],
        }),
      ]),
      target: makeTarget(),
      settings: makeSettings(),
      adapter,
      run: makeRun(),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decision).toMatchObject({ outcome: 'deferred', guard: 'aws:storage-wait', deferredUntil: until });
  });

  it('stops at the per-run change cap and defers the rest', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const run = makeRun();
    const settings = makeSettings({ maxChangesPerRun: 2 });
    const decisions = [];
    for (const id of ['db-1', 'db-2', 'db-3']) {
      const resource = { kind: 'rds-instance' as const, id };
      decisions.push(
        ...(await executePlan({
          plan: makePlan([makeAction({ resource })], { resource }),
          target: makeTarget({ ref: resource }),
          settings,
          adapter,
          run,
          store,
        })),
      );
    }
    expect(calls.map((c) => c.action.resource.id)).toEqual(['db-1', 'db-2']);
    expect(decisions.map((d) => d.outcome)).toEqual(['applied', 'applied', 'deferred']);
    expect(decisions[2]?.reason).toContain('per-run change cap');
  });

  it('turns an adapter exception into a failed decision with a safe message', async () => {
    const store = new MemoryStateStore();
    const fault = new InvalidDBInstanceStateFault({
      message: 'Database instance is not in available state.',
      $metadata: {},
    });
    const { adapter } = recordingAdapter(fault);
    const run = makeRun();
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings(),
      adapter,
      run,
      store,
    });
    expect(decision).toMatchObject({ outcome: 'failed', severity: 'warning' });
    expect(decision?.reason).toBe(
      'InvalidDBInstanceStateFault: Database instance is not in available state.',
    );
    expect(run.changesApplied).toBe(0);
    // The lock was released: the next run may act.
    expect(await store.acquireLock('iops', 'orders-db', 'someone-else', T0, 60)).toBe(true);
  });

  it('records what the adapter reports when AWS says not now', async () => {
    const store = new MemoryStateStore();
    const until = minutesAfter(T0, 60).toISOString();
    const { adapter } = recordingAdapter({ status: 'deferred', until, reason: 'table is UPDATING' });
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings(),
      adapter,
      run: makeRun(),
      store,
    });
    expect(decision).toMatchObject({
      outcome: 'deferred',
      deferredUntil: until,
      reason: 'table is UPDATING',
    });
  });

  it('skips a resource locked by another run', async () => {
    const store = new MemoryStateStore();
    await store.acquireLock('iops', 'orders-db', 'another-run', T0, 900);
    const { adapter, calls } = recordingAdapter();
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings: makeSettings(),
      adapter,
      run: makeRun(),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decision).toMatchObject({ outcome: 'skipped', guard: 'lock', reason: 'locked by another run' });
  });

  it('records recommendations without calling the adapter', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const decisions = await executePlan({
      plan: makePlan([makeAction({ kind: 'recommend', mutating: false, numericTarget: undefined })]),
      target: makeTarget({ managed: false }),
      settings: makeSettings(),
      adapter,
      run: makeRun(),
      store,
    });
    expect(calls).toHaveLength(0);
    expect(decisions[0]).toMatchObject({ action: 'recommend', outcome: 'applied', guard: 'non-mutating' });
  });

  it('treats several actions of one run on one resource as one change, not a cooldown', async () => {
    const store = new MemoryStateStore();
    const { adapter, calls } = recordingAdapter();
    const decisions = await executePlan({
      plan: makePlan([
        makeAction({ kind: 'add-replica', numericTarget: undefined }),
        makeAction({ kind: 'add-route', numericTarget: undefined }),
      ]),
      target: makeTarget(),
      settings: makeSettings({ cooldownMinutes: 30 }),
      adapter,
      run: makeRun(),
      store,
    });
    expect(calls).toHaveLength(2);
    expect(decisions.map((d) => d.outcome)).toEqual(['applied', 'applied']);
  });
});

describe('executePlan with the history the plan was made from', () => {
  it('skips an action on a resource another run changed after the plan was made, even without a cooldown', async () => {
    const store = new MemoryStateStore();
    const settings = makeSettings({ cooldownMinutes: 0 });
    const planHistory = await store.getHistory('iops', 'orders-db', T0);
    const { adapter, calls } = recordingAdapter({ status: 'applied' });
    await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: makeRun(),
      store,
    });
    const [decision] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: makeRun({ now: minutesAfter(T0, 1) }),
      store,
      planHistory,
    });
    expect(decision).toMatchObject({ outcome: 'skipped', guard: 'changed-since-plan' });
    expect(calls).toHaveLength(1);
  });

  it('still applies several actions of one run on one resource, and a plan made after the last change', async () => {
    const store = new MemoryStateStore();
    const settings = makeSettings({ cooldownMinutes: 0 });
    const { adapter, calls } = recordingAdapter({ status: 'applied' });
    await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: makeRun(),
      store,
    });
    const run = makeRun({ now: minutesAfter(T0, 1) });
    const planHistory = await store.getHistory('iops', 'orders-db', run.now);
    const decisions = await executePlan({
      plan: makePlan([makeAction(), makeAction({ kind: 'set-storage-type', numericTarget: 6000 })]),
      target: makeTarget(),
      settings,
      adapter,
      run,
      store,
      planHistory,
    });
    expect(decisions.map((d) => d.outcome)).toEqual(['applied', 'applied']);
    expect(calls).toHaveLength(3);
  });
});
