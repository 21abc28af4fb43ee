import { readFileSync } from 'node:fs';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import {
  GetParameterCommand,
  InternalServerError,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/control.ts';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { configSchema } from '../../../shared/config/schema.ts';
import { type ControlDeps, runControl } from '../../../shared/control/commands.ts';
import { controlCommandSchema } from '../../../shared/control/schema.ts';
import type { StateStore } from '../../../shared/core/contracts.ts';
import { setStateStore } from '../../../shared/state/index.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import type { TunerRegistration } from '../../../shared/tuners/registry.ts';
import { makeDecision, makeTarget, minutesAfter, recordingAdapter, T0 } from './fixtures.ts';

const ssmMock = mockClient(SSMClient);
const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);
const PARAM = '/db-autopilot/paused';
const config = configSchema.parse({
  version: 1,
  defaults: { mode: 'apply', cooldownMinutes: 30 },
  tuners: { iops: { resources: { identifiers: ['orders-db'] } } },
});

function deps(overrides: Partial<ControlDeps> = {}): ControlDeps {
  return {
    ssm: new SSMClient({ region: 'us-east-1' }),
    tagging: new ResourceGroupsTaggingAPIClient({ region: 'us-east-1' }),
    store: new MemoryStateStore(),
    config: () => config,
    loadTuner: async () => undefined,
    pauseParameter: PARAM,
    now: T0,
    requestId: 'req-1',
    ...overrides,
  };
}

beforeEach(() => {
  ssmMock.reset();
  taggingMock.reset();
  ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  ssmMock.on(PutParameterCommand).resolves({ Version: 2 });
});

describe('pause and resume', () => {
  it('pause sets the SSM parameter to "true" (overwrite) and records who paused and why', async () => {
    const store = new MemoryStateStore();
    const result = await runControl({ command: 'pause', reason: 'sale day' }, deps({ store }));
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: PARAM,
      Value: 'true',
      Type: 'String',
      Overwrite: true,
    });
    expect(result).toMatchObject({ ok: true, command: 'pause', paused: true });
    const [decision] = await store.listDecisions({
      since: T0.toISOString(),
      until: minutesAfter(T0, 1).toISOString(),
    });
    expect(decision).toMatchObject({
      tuner: 'control',
      action: 'pause',
      outcome: 'applied',
      from: { paused: false },
      to: { paused: true },
    });
    expect(decision?.reason).toContain('sale day');
  });

  it('resume sets the SSM parameter to "false" and is recorded', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'true' } });
    const store = new MemoryStateStore();
    const result = await runControl({ command: 'resume' }, deps({ store }));
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: PARAM,
      Value: 'false',
      Overwrite: true,
    });
    expect(result).toMatchObject({ ok: true, command: 'resume', paused: false });
    const decisions = await store.listDecisions({
      since: T0.toISOString(),
      until: minutesAfter(T0, 1).toISOString(),
    });
    expect(decisions.map((d) => [d.action, d.from])).toEqual([['resume', { paused: true }]]);
  });

  it('pauses even when the state table cannot record it, and says so', async () => {
    const broken = new MemoryStateStore();
    broken.recordDecision = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const result = await runControl(
      { command: 'pause', reason: 'incident' },
      deps({ store: broken as StateStore }),
    );
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Value: 'true' });
    expect(result).toMatchObject({ ok: true, paused: true });
    expect(result.ok && 'notes' in result ? result.notes.join(' ') : '').toContain('could not be recorded');
  });
});

describe('status', () => {
  it('is not paused when the parameter does not exist', async () => {
    const result = await runControl({ command: 'status' }, deps());
    expect(result).toMatchObject({
      ok: true,
      command: 'status',
      paused: false,
      pause: { source: 'missing' },
    });
  });

  it("reports paused (fail safe) when SSM fails, and counts yesterday's and today's outcomes from the daily totals", async () => {
    ssmMock.on(GetParameterCommand).rejects(new InternalServerError({ message: 'down', $metadata: {} }));
    const store = new MemoryStateStore();
    await store.recordDecision(makeDecision({ id: 'a:1', at: minutesAfter(T0, -30).toISOString() }));
    await store.recordDecision(
      makeDecision({ id: 'a:2', at: minutesAfter(T0, -20).toISOString(), outcome: 'skipped' }),
    );
    await store.recordDecision(makeDecision({ id: 'a:3', at: minutesAfter(T0, -3000).toISOString() }));
    await store.recordDecision(
      makeDecision({ id: 'a:4', at: minutesAfter(T0, -11 * 60).toISOString(), monthlyCostDelta: -12 }),
    );
    await store.recordDecision(
      makeDecision({
        id: 'a:5',
        at: minutesAfter(T0, -10).toISOString(),
        action: 'noop',
        outcome: 'skipped',
      }),
    );
    await store.recordDecision(
      makeDecision({
        id: 'c:1',
        at: minutesAfter(T0, -5).toISOString(),
        tuner: 'control',
        resource: 'db-autopilot',
        resourceKind: 'account',
        action: 'pause',
      }),
    );
    // The runs that recorded them have ended (their no-op counts written).
    await store.flushTotals();
    const listed = vi.spyOn(store, 'listDecisions');
    const result = await runControl({ command: 'status' }, deps({ store }));
    expect(result).toMatchObject({
      ok: true,
      paused: true,
      pause: { source: 'error' },
      days: [
        { day: '2026-03-01', outcomes: { applied: 1 }, noops: {}, appliedCostDelta: -12 },
        { day: '2026-03-02', outcomes: { applied: 2, skipped: 1 }, noops: { skipped: 1 } },
      ],
      lastControl: { id: 'c:1', action: 'pause' },
    });
    expect(listed).not.toHaveBeenCalled();
  });
});

describe('revert', () => {
  const original = makeDecision({
    id: 'iops-run:0001',
    at: minutesAfter(T0, -120).toISOString(),
    from: 3000,
    to: 6000,
    undo: { kind: 'set-iops', params: { iops: 3000 } },
  });

  function registration(adapter: TunerRegistration['adapter'], optedOut = false): TunerRegistration {
    return {
      run: async () => {
        throw new Error('not used');
      },
      adapter,
      target: async (ref) => makeTarget({ ref, optedOut }),
    };
  }

  it('replays the recorded undo through the adapter and records it', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision(original);
    const { adapter, calls } = recordingAdapter();
    const result = await runControl(
      { command: 'revert', decisionId: original.id, dryRun: false, override: false },
      deps({ store, loadTuner: async () => registration(adapter) }),
    );
    expect(result).toMatchObject({
      ok: true,
      reverted: true,
      decision: { outcome: 'applied', from: 6000, to: 3000 },
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.action).toMatchObject({
      kind: 'set-iops',
      numericTarget: 3000,
      params: { iops: 3000, revertOf: original.id },
    });
  });

  it('refuses a forged undo whose applied IOPS is above the configured maximum, whatever numericTarget says', async () => {
    const store = new MemoryStateStore();
    const forged = makeDecision({
      id: 'forged:0001',
      at: minutesAfter(T0, -120).toISOString(),
      from: 3000,
      to: 6000,
      undo: { kind: 'set-iops', params: { numericTarget: 5000, Iops: 22_000 } },
    });
    await store.recordDecision(forged);
    const bounded = configSchema.parse({
      version: 1,
      defaults: { mode: 'apply', cooldownMinutes: 30 },
      tuners: { iops: { resources: { identifiers: ['orders-db'] }, minIops: 1000, maxIops: 20_000 } },
    });
    const { adapter, calls } = recordingAdapter();
    const result = await runControl(
      { command: 'revert', decisionId: forged.id, dryRun: false, override: false },
      deps({ store, config: () => bounded, loadTuner: async () => registration(adapter) }),
    );
    expect(result).toMatchObject({ ok: false, command: 'revert' });
    expect(result.ok === false && result.error).toContain('22000');
    expect(calls).toHaveLength(0);
  });

  it('only plans a dry-run revert', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision(original);
    const { adapter, calls } = recordingAdapter();
    const result = await runControl(
      { command: 'revert', decisionId: original.id, dryRun: true, override: false },
      deps({ store, loadTuner: async () => registration(adapter) }),
    );
    expect(result).toMatchObject({ ok: true, reverted: false, decision: { outcome: 'planned' } });
    expect(calls).toHaveLength(0);
  });

  it('goes through the same guards: an opted-out resource is not reverted', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision(original);
    const { adapter, calls } = recordingAdapter();
    const result = await runControl(
      { command: 'revert', decisionId: original.id, dryRun: false, override: false },
      deps({ store, loadTuner: async () => registration(adapter, true) }),
    );
    expect(result).toMatchObject({
      ok: true,
      reverted: false,
      decision: { outcome: 'skipped', guard: 'opt-out' },
    });
    expect(calls).toHaveLength(0);
  });

  it('says why when AWS does not allow the undo', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision({
      ...original,
      id: 'grow:1',
      undo: { kind: 'set-storage', params: {}, impossibleBecause: 'RDS storage never shrinks' },
    });
    const { adapter, calls } = recordingAdapter();
    const result = await runControl(
      { command: 'revert', decisionId: 'grow:1', dryRun: false, override: false },
      deps({ store, loadTuner: async () => registration(adapter) }),
    );
    expect(result).toMatchObject({
      ok: false,
      error: 'AWS does not allow undoing grow:1: RDS storage never shrinks',
    });
    expect(calls).toHaveLength(0);
  });

  it('refuses an unknown decision or one that was never applied', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision({ ...original, id: 'planned:1', outcome: 'planned' });
    const missing = await runControl(
      { command: 'revert', decisionId: 'nope:1', dryRun: true, override: false },
      deps({ store }),
    );
    const planned = await runControl(
      { command: 'revert', decisionId: 'planned:1', dryRun: true, override: false },
      deps({ store }),
    );
    expect(missing).toMatchObject({ ok: false, error: 'no decision nope:1 is recorded' });
    expect(planned).toMatchObject({ ok: false });
    expect(planned.ok ? '' : planned.error).toContain('was not applied');
  });

  it('finds the consent tags with the Tagging API when the tuner does not describe targets', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision(original);
    taggingMock.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        { ResourceARN: 'arn:aws:rds:us-east-1:123456789012:db:other-db', Tags: [] },
        {
          ResourceARN: 'arn:aws:rds:us-east-1:123456789012:db:orders-db',
          Tags: [{ Key: 'db-autopilot:opt-out', Value: 'true' }],
        },
      ],
    });
    const { adapter, calls } = recordingAdapter();
    const result = await runControl(
      { command: 'revert', decisionId: original.id, dryRun: false, override: false },
      deps({ store, loadTuner: async () => ({ run: registration(adapter).run, adapter }) }),
    );
    expect(taggingMock).toHaveReceivedCommandWith(GetResourcesCommand, { ResourceTypeFilters: ['rds:db'] });
    expect(result).toMatchObject({ ok: true, decision: { guard: 'opt-out' } });
    expect(calls).toHaveLength(0);
  });
});

describe('the sample events', () => {
  it.each(['pause', 'resume', 'status', 'revert'])('events/control-%s.json is a valid %s command', (name) => {
    const event: unknown = JSON.parse(
      readFileSync(new URL(`../../../events/control-${name}.json`, import.meta.url), 'utf8'),
    );
    expect(controlCommandSchema.parse(event).command).toBe(name);
  });
});

describe('the control function', () => {
  let restore: Array<() => void> = [];
  afterEach(() => {
    for (const r of restore) r();
    restore = [];
  });

  const context = { awsRequestId: 'req-fn', functionName: 'control' } as Context;

  it('rejects a bad event with a message that says what is wrong, changing nothing', async () => {
    const result = await handler({ command: 'revert', decisionId: 'x:1' }, context);
    expect(result).toMatchObject({ ok: false });
    expect(JSON.stringify(result)).toContain('dryRun is required');
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('pauses through the handler with the injected clients and store', async () => {
    const store = new MemoryStateStore();
    restore.push(setAwsClients({ ssm: new SSMClient({ region: 'us-east-1' }) }), setStateStore(store));
    const result = await handler({ command: 'pause', reason: 'maintenance window' }, context);
    expect(result).toMatchObject({ ok: true, command: 'pause', paused: true });
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: PARAM, Value: 'true' });
  });
});

describe('history', () => {
  it('returns the window of the audit log for one resource, newest `limit`, no-ops left out', async () => {
    // Prepare: three decisions on orders-db over two days, one no-op, one on another resource.
    const store = new MemoryStateStore();
    const at = (hours: number) => minutesAfter(T0, -hours * 60).toISOString();
    for (const d of [
      makeDecision({ id: 'h1', at: at(40), resource: 'orders-db', outcome: 'applied' }),
      makeDecision({ id: 'h2', at: at(5), resource: 'orders-db', action: 'noop', outcome: 'skipped' }),
      makeDecision({ id: 'h3', at: at(4), resource: 'orders-db', outcome: 'deferred' }),
      makeDecision({ id: 'h4', at: at(3), resource: 'orders-db', outcome: 'applied' }),
      makeDecision({ id: 'h5', at: at(2), resource: 'billing-db', outcome: 'applied' }),
    ])
      await store.recordDecision(d);

    // Act
    const command = controlCommandSchema.parse({
      command: 'history',
      resource: 'orders-db',
      since: '1d',
      limit: 1,
    });
    const result = await runControl(command, deps({ store }));

    // Assess
    expect(result).toMatchObject({ ok: true, command: 'history', total: 2, until: T0.toISOString() });
    expect(result.command === 'history' && result.decisions.map((d) => d.id)).toEqual(['h4']);
    const all = await runControl(
      controlCommandSchema.parse({ command: 'history', since: '2d' }),
      deps({ store }),
    );
    expect(all.command === 'history' && all.decisions.map((d) => d.id)).toEqual(['h1', 'h3', 'h4', 'h5']);
  });

  it('refuses a malformed window or tuner, naming the field', () => {
    expect(
      controlCommandSchema.safeParse({ command: 'history', since: 'yesterday' }).error?.issues[0]?.path,
    ).toEqual(['since']);
    expect(controlCommandSchema.safeParse({ command: 'history', tuner: 'redis' }).success).toBe(false);
  });
});
