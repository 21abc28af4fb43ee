import { describe, expect, it } from 'vitest';
import type { Adapter, IntentCheck, StateStore } from '../../../shared/core/contracts.ts';
import { detectDrift } from '../../../shared/core/drift.ts';
import { executePlan } from '../../../shared/core/executor.ts';
import type { Decision } from '../../../shared/core/model.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeAction, makePlan, makeRun, makeSettings, makeTarget, minutesAfter, T0 } from './fixtures.ts';

/** A fake AWS with one value (the instance's IOPS) and an adapter + check on it. */
function fakeAws(initial = 3000) {
  const aws = { iops: initial, calls: 0 };
  const check: IntentCheck = async (intent) =>
    aws.iops === intent.to
      ? { verdict: 'applied', detail: `IOPS is ${aws.iops}` }
      : { verdict: 'not-applied', detail: `IOPS is ${aws.iops}` };
  const make = (behaviour: 'ok' | 'lose-response' | 'die-before-call') => {
    const adapter: Adapter = async (action) => {
      if (behaviour === 'die-before-call') throw new Error('Runtime exited (killed)');
      aws.calls += 1;
      aws.iops = action.to as number;
      if (behaviour === 'lose-response') throw new Error('socket hang up');
      return { status: 'applied' };
    };
    adapter.check = check;
    return adapter;
  };
  return { aws, make, check };
}

/** A store whose resolveDecision / recordDecision can be made to fail. */
function faultyStore(store: MemoryStateStore, fail: { resolve?: boolean; record?: boolean }): StateStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'resolveDecision' && fail.resolve)
        return async () => {
          throw new Error('ProvisionedThroughputExceededException');
        };
      if (prop === 'recordDecision' && fail.record)
        return async () => {
          throw new Error('InternalServerError');
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const applied = async (store: MemoryStateStore) =>
  (await store.listDecisions({ since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' })).filter(
    (d) => d.outcome === 'applied',
  );

const input = (store: StateStore, adapter: Adapter, now = T0, runOverrides = {}) => ({
  plan: makePlan([makeAction()]),
  target: makeTarget(),
  settings: makeSettings({ cooldownMinutes: 0 }),
  adapter,
  run: makeRun({ now, ...runOverrides }),
  store,
});

describe('write-ahead intent (issue 21)', () => {
  it('records the intent, with its undo, before the adapter calls AWS', async () => {
    const store = new MemoryStateStore();
    let seenAtCall: Decision[] = [];
    const adapter: Adapter = async () => {
      seenAtCall = await store.listDecisions({
        since: '2000-01-01T00:00:00Z',
        until: '2100-01-01T00:00:00Z',
      });
      return { status: 'applied' };
    };
    const [decision] = await executePlan(input(store, adapter));
    expect(seenAtCall).toHaveLength(1);
    expect(seenAtCall[0]).toMatchObject({
      outcome: 'intended',
      undo: { kind: 'set-iops' },
      id: decision?.id,
    });
    expect(decision).toMatchObject({ outcome: 'applied', resolution: { by: 'response' } });
    expect(await applied(store)).toHaveLength(1);
  });

  it('never calls AWS when the intent cannot be recorded', async () => {
    const { aws, make } = fakeAws();
    const store = faultyStore(new MemoryStateStore(), { record: true });
    await expect(executePlan(input(store, make('ok')))).rejects.toThrow('InternalServerError');
    expect(aws.calls).toBe(0);
  });

  it('confirms a change whose response was lost from AWS state: one applied decision, same id', async () => {
    const { aws, make } = fakeAws();
    const store = new MemoryStateStore();
    const [decision] = await executePlan(input(store, make('lose-response')));
    expect(aws.iops).toBe(6000);
    expect(decision).toMatchObject({ outcome: 'applied', resolution: { by: 'aws-state' } });
    const all = await applied(store);
    expect(all.map((d) => d.id)).toEqual([decision?.id]);
    expect(all[0]?.undo).toEqual({ kind: 'set-iops', params: { iops: 3000 } });
  });

  it('when the final record fails, the next run confirms the same decision in place (no second applied)', async () => {
    const { aws, make } = fakeAws();
    const memory = new MemoryStateStore();
    const first = input(faultyStore(memory, { resolve: true }), make('ok'));
    await expect(executePlan(first)).rejects.toThrow('ProvisionedThroughputExceeded');
    expect(aws.iops).toBe(6000);
    const [pending] = await memory.listDecisions({
      since: '2000-01-01T00:00:00Z',
      until: '2100-01-01T00:00:00Z',
    });
    expect(pending?.outcome).toBe('intended');

    // The next run plans nothing new (the value is already 6000): it still settles the intent.
    const next = input(memory, make('ok'), minutesAfter(T0, 5));
    await executePlan({ ...next, plan: makePlan([]) });
    const all = await applied(memory);
    expect(all.map((d) => d.id)).toEqual([pending?.id]);
    expect(all[0]).toMatchObject({ resolution: { by: 'aws-state' }, undo: { kind: 'set-iops' } });
    expect(aws.calls).toBe(1);
  });

  it('settles an intent behind many newer decisions, with the history the tuner read for its plan', async () => {
    const { make } = fakeAws();
    const memory = new MemoryStateStore();
    await expect(executePlan(input(faultyStore(memory, { resolve: true }), make('ok')))).rejects.toThrow();
    // 30 runs of deferrals later (each by another rule: none is a repeat of the one before, stored
    // slim), the intent is far out of the recent decisions.
    for (let i = 1; i <= 30; i++) {
      await memory.recordDecision({
        ...(await memory.listDecisions({ since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' }))[0],
        id: `later-${i}:0001`,
        runId: `later-${i}`,
        at: minutesAfter(T0, i).toISOString(),
        outcome: 'deferred',
        guard: `rule-${i}`,
      } as Decision);
    }
    const now = minutesAfter(T0, 40);
    const planHistory = await memory.getHistory('iops', 'orders-db', now);
    expect(planHistory.recent.some((d) => d.outcome === 'intended')).toBe(false);
    await executePlan({ ...input(memory, make('ok'), now), plan: makePlan([]), planHistory });
    expect((await applied(memory)).map((d) => d.resolution?.by)).toEqual(['aws-state']);
  });

  it("settles a killed run's intent as not applied when AWS never changed", async () => {
    const { aws, make } = fakeAws();
    const memory = new MemoryStateStore();
    // The run dies between its intent and its call: the intent is all that is left.
    const killed = input(faultyStore(memory, { resolve: true }), make('die-before-call'));
    await expect(executePlan(killed)).rejects.toThrow();
    await executePlan({ ...input(memory, make('ok'), minutesAfter(T0, 5)), plan: makePlan([]) });
    const all = await memory.listDecisions({ since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' });
    expect(all.find((d) => d.action === 'set-iops')).toMatchObject({ outcome: 'failed', guard: 'intent' });
    expect(aws.iops).toBe(3000);
  });

  it('leaves the resource alone while an intent cannot be settled', async () => {
    const memory = new MemoryStateStore();
    const unknown: Adapter = async () => ({ status: 'applied' });
    unknown.check = async () => ({ verdict: 'unknown', detail: 'DescribeDBInstances throttled' });
    await expect(executePlan(input(faultyStore(memory, { resolve: true }), unknown))).rejects.toThrow();
    const [decision] = await executePlan(input(memory, unknown, minutesAfter(T0, 5)));
    expect(decision).toMatchObject({ outcome: 'skipped', guard: 'intent-pending' });
  });

  it("never takes db-autopilot's own intended change for drift", () => {
    const intent: Decision = {
      id: 'r1:0001',
      runId: 'r1',
      at: T0.toISOString(),
      tuner: 'iops',
      resource: 'orders-db',
      resourceKind: 'rds-instance',
      action: 'set-iops',
      outcome: 'intended',
      reason: 'x',
      evidence: [],
      monthlyCostDelta: 0,
      from: 3000,
      to: 6000,
      undo: null,
      mode: 'apply',
      dryRun: false,
      override: false,
      trigger: 'schedule',
      severity: 'info',
    };
    const last: Decision = { ...intent, id: 'r0:0001', runId: 'r0', outcome: 'applied', to: 3000 };
    const verdict = detectDrift({ observed: 6000, history: { recent: [intent, last] }, kinds: ['set-iops'] });
    expect(verdict.drifted).toBe(false);
    expect(verdict.detail).toContain('own intended change');
  });
});
