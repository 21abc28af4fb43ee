import { GetParameterCommand, InternalServerError, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { TunerRunRequest } from '../../../shared/core/contracts.ts';
import {
  outOfTime,
  readPauseFlag,
  recordObservationFailure,
  runTunerLoop,
  selectRequested,
  startRun,
} from '../../../shared/core/run.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeAction, makePlan, makeRun, makeSettings, makeTarget, recordingAdapter, T0 } from './fixtures.ts';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'us-east-1' });

afterEach(() => {
  ssmMock.reset();
});

const request: TunerRunRequest = {
  trigger: 'schedule',
  dryRun: false,
  override: false,
  idempotencyKey: 'eventbridge:e1',
};

describe('readPauseFlag', () => {
  it('is paused when the parameter says "true"', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'true' } });
    expect(await readPauseFlag(ssm, '/db-autopilot/paused')).toMatchObject({
      paused: true,
      source: 'parameter',
    });
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: '/db-autopilot/paused' });
  });

  it('is running when the parameter says "false"', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'false' } });
    expect((await readPauseFlag(ssm, '/p')).paused).toBe(false);
  });

  it('fails safe: a value that is neither true nor false counts as paused and says so', async () => {
    for (const value of ['yes', 'PAUSED', 'stop it', '1']) {
      ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: value } });
      const state = await readPauseFlag(ssm, '/p');
      expect(state.paused, value).toBe(true);
    }
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'stop it' } });
    expect((await readPauseFlag(ssm, '/p')).detail).toContain('fail safe');
  });

  it('is running when the parameter does not exist', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    expect(await readPauseFlag(ssm, '/p')).toMatchObject({ paused: false, source: 'missing' });
  });

  it('fails safe: any other error counts as paused and says so', async () => {
    ssmMock.on(GetParameterCommand).rejects(new InternalServerError({ message: 'try later', $metadata: {} }));
    const state = await readPauseFlag(ssm, '/p');
    expect(state).toMatchObject({ paused: true, source: 'error' });
    expect(state.detail).toContain('fail safe');
  });
});

describe('startRun', () => {
  it('reads the pause flag from PAUSE_PARAMETER before anything else', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'true' } });
    const store = new MemoryStateStore();
    const previous = process.env.PAUSE_PARAMETER;
    process.env.PAUSE_PARAMETER = '/custom/paused';
    try {
      const started = await startRun({ tuner: 'iops', request, store, ssm, now: T0 });
      expect(started.run.paused).toBe(true);
      expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, { Name: '/custom/paused' });
      // A paused run claims no key: after resume, a redelivery may act.
      expect(await store.claimIdempotencyKey('iops', 'eventbridge:e1', 'x', T0, 60)).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.PAUSE_PARAMETER;
      else process.env.PAUSE_PARAMETER = previous;
    }
  });

  it('claims the idempotency key and reports a repeat as a duplicate', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    const store = new MemoryStateStore();
    const first = await startRun({ tuner: 'iops', request, store, ssm, now: T0 });
    const second = await startRun({ tuner: 'iops', request, store, ssm, now: T0 });
    const otherTuner = await startRun({ tuner: 'replicas', request, store, ssm, now: T0 });
    expect([first.duplicate, second.duplicate, otherTuner.duplicate]).toEqual([false, true, false]);
    expect(first.run).toMatchObject({ tuner: 'iops', trigger: 'schedule', paused: false, changesApplied: 0 });
  });
});

describe('runTunerLoop', () => {
  it('does nothing while paused, not even observing', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'true' } });
    let discovered = false;
    const { adapter, calls } = recordingAdapter();
    const summary = await runTunerLoop({
      tuner: 'iops',
      request,
      store: new MemoryStateStore(),
      adapter,
      ssm,
      now: T0,
      discover: async () => {
        discovered = true;
        return [makeTarget()];
      },
      settingsFor: () => makeSettings(),
      plan: async () => makePlan([makeAction()]),
    });
    expect(summary).toMatchObject({ ok: true, paused: true, duplicate: false, decisions: [] });
    expect(discovered).toBe(false);
    expect(calls).toHaveLength(0);
  });

  it('limits a run to the requested resources, notes unknown ones, and records a failed observation', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    const { adapter, calls } = recordingAdapter();
    const targets = ['db-1', 'db-2', 'db-3'].map((id) => makeTarget({ ref: { kind: 'rds-instance', id } }));
    const summary = await runTunerLoop({
      tuner: 'iops',
      request: { ...request, trigger: 'manual', resourceIds: ['db-2', 'db-3', 'db-9'] },
      store: new MemoryStateStore(),
      adapter,
      ssm,
      now: T0,
      discover: async () => targets,
      settingsFor: () => makeSettings(),
      plan: async (target) => {
        if (target.ref.id === 'db-3') throw new Error('GetMetricData throttled');
        return makePlan([makeAction({ resource: target.ref })], { resource: target.ref });
      },
    });
    expect(calls.map((c) => c.action.resource.id)).toEqual(['db-2']);
    expect(summary.decisions.map((d) => [d.resource, d.outcome])).toEqual([
      ['db-2', 'applied'],
      ['db-3', 'failed'],
    ]);
    expect(summary.notes).toContain('db-9: not found among the iops targets');
  });
});

describe('selectRequested', () => {
  const targets = ['db-1', 'db-2', 'db-3'].map((id) => makeTarget({ ref: { kind: 'rds-instance', id } }));

  it('keeps every target when the request names none', () => {
    const notes: string[] = [];
    expect(selectRequested(targets, undefined, notes, (id) => `${id}: unknown`)).toBe(targets);
    expect(notes).toEqual([]);
  });

  it('keeps the named targets in discovery order and notes each named id it does not know', () => {
    const notes: string[] = ['from discovery'];
    const kept = selectRequested(targets, ['db-3', 'db-7', 'db-1'], notes, (id) => `${id}: unknown`);
    expect(kept.map((t) => t.ref.id)).toEqual(['db-1', 'db-3']);
    expect(notes).toEqual(['from discovery', 'db-7: unknown']);
  });

  it('keeps a target that answers to a named id through its match function (a source by a reader id)', () => {
    const sources = [
      { name: 'orders', readers: ['orders-r1', 'orders-r2'] },
      { name: 'carts', readers: ['carts-r1'] },
      { name: 'users', readers: [] },
    ];
    const notes: string[] = [];
    const kept = selectRequested(
      sources,
      ['carts-r1', 'ghost', 'users'],
      notes,
      (id) => `${id}: unknown`,
      (s, id) => s.name === id || s.readers.includes(id),
    );
    expect(kept.map((s) => s.name)).toEqual(['carts', 'users']);
    expect(notes).toEqual(['ghost: unknown']);
  });
});

describe('outOfTime', () => {
  it('goes on when the request has no deadline or enough time is left', () => {
    const notes: string[] = [];
    expect(outOfTime(request, 'db-1', notes)).toBe(false);
    expect(outOfTime({ ...request, remainingMs: () => 30_000 }, 'db-1', notes)).toBe(false);
    expect(notes).toEqual([]);
  });

  it('stops before the next target, and says so, when less than the margin is left', () => {
    const notes: string[] = [];
    expect(outOfTime({ ...request, remainingMs: () => 29_999 }, 'db-2', notes)).toBe(true);
    expect(outOfTime({ ...request, remainingMs: () => 50_000 }, 'db-3', notes, 60_000)).toBe(true);
    expect(notes).toEqual([
      "stopped before db-2: the function's time is nearly up",
      "stopped before db-3: the function's time is nearly up",
    ]);
  });
});

describe('recordObservationFailure', () => {
  it('records one failed no-op for the run, not marked as an override unless asked', async () => {
    const store = new MemoryStateStore();
    const run = makeRun({ tuner: 'dynamodb', override: true });
    const ref = { kind: 'dynamodb-table' as const, id: 'orders' };
    const plain = await recordObservationFailure(store, run, ref, 'apply', new Error('throttled'));
    const asRun = await recordObservationFailure(store, run, ref, 'apply', new Error('throttled'), {
      override: run.override,
    });
    expect(plain).toMatchObject({
      tuner: 'dynamodb',
      resource: 'orders',
      resourceKind: 'dynamodb-table',
      action: 'noop',
      outcome: 'failed',
      guard: 'observe',
      mode: 'apply',
      override: false,
    });
    expect(plain.reason).toContain('throttled');
    expect(asRun.override).toBe(true);
    expect(plain.id).not.toBe(asRun.id);
    const stored = (await store.exportDecisions({ since: new Date(0).toISOString() })).filter(
      (d) => d.resource === 'orders',
    );
    expect(stored.map((d) => d.id).sort()).toEqual([plain.id, asRun.id].sort());
  });
});
