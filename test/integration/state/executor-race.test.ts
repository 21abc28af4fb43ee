import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Adapter, TunerRunRequest } from '../../../shared/core/contracts.ts';
import { executePlan } from '../../../shared/core/executor.ts';
import type { ActResult } from '../../../shared/core/model.ts';
import { runTunerLoop } from '../../../shared/core/run.ts';
import { DynamoDbStateStore } from '../../../shared/state/dynamodb-store.ts';
import { withRepeats } from '../../../shared/state/slim.ts';
import { createStateTable } from '../../../shared/state/table-definition.ts';
import { type Dynalite, startDynalite } from '../../support/dynalite.ts';
import {
  makeAction,
  makePlan,
  makeRun,
  makeSettings,
  makeTarget,
  minutesAfter,
  T0,
} from '../../unit/core/fixtures.ts';

/**
 * The executor against a DynamoDB-compatible server, not mocks: each "Lambda" gets its own
 * DynamoDbStateStore (its own client object) on one shared table.
 */

let server: Dynalite;
let tables = 0;
let tableName = '';

beforeAll(async () => {
  server = await startDynalite();
});

afterAll(async () => {
  await server?.teardown();
});

beforeEach(async () => {
  tables += 1;
  tableName = `race-${tables}`;
  await createStateTable(server.client, tableName);
});

function lambdaStore(): DynamoDbStateStore {
  return new DynamoDbStateStore({ client: server.client, tableName });
}

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('executors racing on the state table (dynalite)', () => {
  it('lets exactly one of two executors act on the same resource while the other is still acting', async () => {
    // Prepare: the adapter holds the first caller until the other executor has finished.
    let adapterCalls = 0;
    const otherFinished = deferred();
    const adapter: Adapter = async (): Promise<ActResult> => {
      adapterCalls += 1;
      if (adapterCalls === 1) await otherFinished.promise;
      return { status: 'applied' };
    };
    const settings = makeSettings({ cooldownMinutes: 0 });
    const runA = makeRun();
    const runB = makeRun();
    // Act
    const a = executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: runA,
      store: lambdaStore(),
    });
    const b = executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: runB,
      store: lambdaStore(),
    });
    const first = await Promise.race([a.then(() => 'a'), b.then(() => 'b')]);
    otherFinished.resolve();
    const [decisionsA, decisionsB] = await Promise.all([a, b]);
    // Assess
    const outcomes = [...decisionsA, ...decisionsB].map((d) => d.outcome).sort();
    expect(adapterCalls).toBe(1);
    expect(outcomes).toEqual(['applied', 'skipped']);
    const loser = first === 'a' ? decisionsA[0] : decisionsB[0];
    expect(loser).toMatchObject({ outcome: 'skipped', guard: 'lock', reason: 'locked by another run' });
  });

  it("without a cooldown, a run whose plan predates another run's change does not act on it", async () => {
    let adapterCalls = 0;
    const adapter: Adapter = async () => {
      adapterCalls += 1;
      return { status: 'applied' };
    };
    const settings = makeSettings({ cooldownMinutes: 0 });
    const storeA = lambdaStore();
    const storeB = lambdaStore();
    // Both runs read the history (and would observe) before either acts.
    const historyA = await storeA.getHistory('iops', 'orders-db', T0);
    const historyB = await storeB.getHistory('iops', 'orders-db', T0);
    const runA = makeRun({ now: T0 });
    const runB = makeRun({ now: new Date(T0.getTime() + 1000) });
    const [applied] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: runA,
      store: storeA,
      planHistory: historyA,
    });
    const [stale] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: runB,
      store: storeB,
      planHistory: historyB,
    });
    expect(applied?.outcome).toBe('applied');
    expect(stale).toMatchObject({ outcome: 'skipped', guard: 'changed-since-plan' });
    expect(adapterCalls).toBe(1);
  });

  it('lets exactly one of several concurrent executors change a resource, whatever the interleaving', async () => {
    let adapterCalls = 0;
    const adapter: Adapter = async () => {
      adapterCalls += 1;
      return { status: 'applied' };
    };
    const settings = makeSettings({ cooldownMinutes: 30 });
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        executePlan({
          plan: makePlan([makeAction()]),
          target: makeTarget(),
          settings,
          adapter,
          run: makeRun(),
          store: lambdaStore(),
        }),
      ),
    );
    const decisions = results.flat();
    expect(adapterCalls).toBe(1);
    expect(decisions.filter((d) => d.outcome === 'applied')).toHaveLength(1);
    // The others lost the lock or, having it after the winner, saw its cooldown.
    expect(
      decisions
        .filter((d) => d.outcome !== 'applied')
        .every((d) => d.guard === 'lock' || d.guard === 'cooldown'),
    ).toBe(true);
    const recorded = await lambdaStore().listDecisions({
      since: T0.toISOString(),
      until: minutesAfter(T0, 1).toISOString(),
    });
    // Every one recorded (identical "locked by another run" skips are counted on the first).
    expect(withRepeats(recorded)).toHaveLength(5);
  });

  it('proceeds once a lock left by a crashed run has expired', async () => {
    const store = lambdaStore();
    expect(await store.acquireLock('iops', 'orders-db', 'crashed-run', T0, 900)).toBe(true);
    let adapterCalls = 0;
    const adapter: Adapter = async () => {
      adapterCalls += 1;
      return { status: 'applied' };
    };
    const settings = makeSettings({ lockLeaseSeconds: 900 });
    const [during] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: makeRun({ now: minutesAfter(T0, 10) }),
      store: lambdaStore(),
    });
    const [after] = await executePlan({
      plan: makePlan([makeAction()]),
      target: makeTarget(),
      settings,
      adapter,
      run: makeRun({ now: minutesAfter(T0, 16) }),
      store: lambdaStore(),
    });
    expect(during).toMatchObject({ outcome: 'skipped', reason: 'locked by another run' });
    expect(after?.outcome).toBe('applied');
    expect(adapterCalls).toBe(1);
  });
});

describe('a redelivered event on the state table (dynalite)', () => {
  const ssm = mockClient(SSMClient);
  beforeEach(() => {
    ssm.reset();
    ssm
      .on(GetParameterCommand)
      .rejects(new ParameterNotFound({ message: 'Parameter not found', $metadata: {} }));
  });

  async function deliver(request: TunerRunRequest, adapter: Adapter, now: Date) {
    return runTunerLoop({
      tuner: 'iops',
      request,
      store: lambdaStore(),
      adapter,
      ssm: ssm as unknown as SSMClient,
      now,
      discover: async () => [makeTarget()],
      settingsFor: () => makeSettings({ cooldownMinutes: 0 }),
      plan: async () => makePlan([makeAction()]),
    });
  }

  it('acts once for a duplicate event id, delivered again later or twice at once', async () => {
    let adapterCalls = 0;
    const adapter: Adapter = async () => {
      adapterCalls += 1;
      return { status: 'applied' };
    };
    const request: TunerRunRequest = {
      trigger: 'schedule',
      dryRun: false,
      override: false,
      idempotencyKey: 'eventbridge:0f2c-evt',
    };
    const [one, two] = await Promise.all([deliver(request, adapter, T0), deliver(request, adapter, T0)]);
    const later = await deliver(request, adapter, minutesAfter(T0, 90));
    expect(adapterCalls).toBe(1);
    expect([one.duplicate, two.duplicate].sort()).toEqual([false, true]);
    expect(later.duplicate).toBe(true);
    expect(later.decisions).toEqual([]);
    const other = await deliver(
      { ...request, idempotencyKey: 'eventbridge:another-evt' },
      adapter,
      minutesAfter(T0, 90),
    );
    expect(other.duplicate).toBe(false);
    expect(adapterCalls).toBe(2);
  });
});
