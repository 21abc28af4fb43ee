import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import type { StateStore } from '../../../shared/core/contracts.ts';
import { tunerEventSchema } from '../../../shared/core/invocation.ts';
import type { TunerName } from '../../../shared/core/model.ts';
import { lambdaHandler, RunFailedError } from '../../../shared/handler/wrap.ts';
import { DynamoDbStateStore } from '../../../shared/state/dynamodb-store.ts';
import { setStateStore, stateStore } from '../../../shared/state/index.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { createStateTable } from '../../../shared/state/table-definition.ts';
import { dynaliteForFile } from '../../support/dynalite.ts';
import { makeDecision } from '../../unit/core/fixtures.ts';

/**
 * The no-op counts of a run (about 93% of decisions) reach the daily totals in one write per
 * tuner and day, written when the run ends however it ends (shared/state/totals.ts, the Lambda
 * wrapper's flushTotalsMiddleware), instead of one UpdateItem per decision.
 */
const dynalite = dynaliteForFile('flush');

const manual = { dryRun: false, override: false, idempotencyKey: 'flush-run-1' };
const DAY = '2026-03-02';

function context(remainingMs: () => number = () => 60_000): Context {
  return {
    functionName: 'iops-tuner',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: remainingMs,
  } as unknown as Context;
}

/** Records `count` successful no-ops of `tuner` through the functions' store, as a run does. */
async function recordNoops(tuner: TunerName, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++)
    await stateStore().recordDecision(
      makeDecision({ id: `${prefix}:${i}`, tuner, resource: `r${i}`, action: 'noop', outcome: 'applied' }),
    );
}

/** A store on a fresh dynalite table, through a client that counts UpdateItem calls on totals items. */
async function countingStore(tableName: string) {
  await createStateTable(dynalite.server().client, tableName);
  const client = dynalite.server().newClient();
  const calls = { totalsUpdates: 0 };
  client.middlewareStack.add(
    (next, ctx) => async (args) => {
      if (ctx.commandName === 'UpdateItemCommand' && /#agg"/.test(JSON.stringify(args.input)))
        calls.totalsUpdates += 1;
      return next(args);
    },
    { step: 'build', name: 'countTotalsUpdates' },
  );
  return { store: new DynamoDbStateStore({ client, tableName }), client, calls };
}

describe('the daily totals of a run: one write per tuner and day, however the run ends', () => {
  let restore: (() => void) | undefined;
  afterEach(() => {
    restore?.();
    restore = undefined;
  });

  it('writes the no-ops of a complete run with one UpdateItem per tuner and day (not one per decision)', async () => {
    const { store, client, calls } = await countingStore('flush-complete');
    restore = setStateStore(store);
    const handler = lambdaHandler('iops-tuner', tunerEventSchema, async () => {
      await recordNoops('iops', 20, 'a');
      await recordNoops('replicas', 5, 'b');
      return { ok: true };
    });
    await expect(handler(manual, context())).resolves.toEqual({ ok: true });
    // 25 decisions recorded, 2 totals items written (the old code wrote 25).
    expect(calls.totalsUpdates).toBe(2);
    const fresh = new DynamoDbStateStore({ client: dynalite.server().client, tableName: 'flush-complete' });
    expect((await fresh.totals(DAY)).map((t) => [t.tuner, t.noops])).toEqual([
      ['iops', { applied: 20 }],
      ['replicas', { applied: 5 }],
    ]);
    expect((await fresh.exportDecisions({ since: `${DAY}T00:00:00Z` })).length).toBe(25);
    client.destroy();
  });

  it("carries a run's held no-ops with its next notable decision of the same tuner and day", async () => {
    const { store, client, calls } = await countingStore('flush-carried');
    restore = setStateStore(store);
    const handler = lambdaHandler('iops-tuner', tunerEventSchema, async () => {
      await recordNoops('iops', 10, 'c');
      await stateStore().recordDecision(makeDecision({ id: 'c:notable', outcome: 'deferred' }));
      return { ok: true };
    });
    await handler(manual, context());
    // One ADD: the deferral's own, carrying the ten no-ops; nothing left for the end of the run.
    expect(calls.totalsUpdates).toBe(1);
    expect((await store.totals(DAY)).map((t) => [t.outcomes, t.noops])).toEqual([
      [{ deferred: 1 }, { applied: 10 }],
    ]);
    client.destroy();
  });

  it('still writes the counted no-ops of a run that throws mid-way (the failed run recorded too)', async () => {
    const { store, client, calls } = await countingStore('flush-thrown');
    restore = setStateStore(store);
    const handler = lambdaHandler('iops-tuner', tunerEventSchema, async () => {
      await recordNoops('dynamodb', 12, 'd');
      throw new TypeError('Cannot read properties of undefined');
    });
    await expect(handler(manual, context())).rejects.toBeInstanceOf(RunFailedError);
    const fresh = new DynamoDbStateStore({ client: dynalite.server().client, tableName: 'flush-thrown' });
    const totals = await fresh.totals(new Date().toISOString().slice(0, 10));
    expect(totals.map((t) => [t.tuner, t.outcomes])).toEqual([['iops', { failed: 1 }]]);
    expect((await fresh.totals(DAY)).map((t) => [t.tuner, t.noops])).toEqual([['dynamodb', { applied: 12 }]]);
    // The failed run's own count (iops, today) and the held no-ops (dynamodb, their day).
    expect(calls.totalsUpdates).toBe(2);
    client.destroy();
  });
});

describe.each<[string, () => StateStore]>([
  ['MemoryStateStore', () => new MemoryStateStore()],
  [
    'DynamoDbStateStore on dynalite',
    () => new DynamoDbStateStore({ client: dynalite.server().client, tableName: 'flush-timeout' }),
  ],
])('%s: a run cut short by middy', (name, newStore) => {
  it("writes the no-ops counted before middy's early timeout", async () => {
    if (name !== 'MemoryStateStore') await createStateTable(dynalite.server().client, 'flush-timeout');
    const store = newStore();
    const restore = setStateStore(store);
    try {
      const deadline = Date.now() + 1000 + 300;
      let stop: (() => void) | undefined;
      const handler = lambdaHandler('iops-tuner', tunerEventSchema, async () => {
        await recordNoops('iops', 7, 'e');
        // Still working when the time is up (let go once the test is over).
        await new Promise<void>((resolve) => {
          stop = resolve;
        });
        return { ok: true };
      });
      await expect(
        handler(
          manual,
          context(() => deadline - Date.now()),
        ),
      ).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      stop?.();
      expect((await store.totals(DAY)).map((t) => [t.tuner, t.noops])).toEqual([['iops', { applied: 7 }]]);
    } finally {
      restore();
    }
  });
});
