import { GetParameterCommand, InternalServerError, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { TunerRunRequest } from '../../../shared/core/contracts.ts';
import { readPauseFlag, runTunerLoop, startRun } from '../../../shared/core/run.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeAction, makePlan, makeSettings, makeTarget, recordingAdapter, T0 } from './fixtures.ts';

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
      expect(await store.claimIdempotencyKey('iops:eventbridge:e1', 'x', T0, 60)).toBe(true);
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
