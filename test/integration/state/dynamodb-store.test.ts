import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore, decisionItems } from '../../../shared/state/dynamodb-store.ts';
import { DuplicateDecisionError } from '../../../shared/state/errors.ts';
import { DECISION_TUNERS, SK, STATE_WRITERS } from '../../../shared/state/keys.ts';
import { createStateTable } from '../../../shared/state/table-definition.ts';
import { dynaliteForFile } from '../../support/dynalite.ts';
import { makeDecision, T0 } from '../../unit/core/fixtures.ts';
import { describeStateStore } from './store-contract.ts';

const dynalite = dynaliteForFile('state');

// A fresh table per test keeps tests independent on one server.
describeStateStore('DynamoDbStateStore on dynalite', dynalite.newStore);

describe('the state table key layout (keys.ts)', () => {
  it('begins every partition key with its owner and the scope, and indexes only notable decisions', async () => {
    // Prepare: one item of every kind.
    const tableName = 'state-layout';
    await createStateTable(dynalite.server().client, tableName);
    const store = new DynamoDbStateStore({ client: dynalite.server().client, tableName });
    await store.recordDecision(makeDecision({ id: 'k:1' }));
    await store.recordDecision(makeDecision({ id: 'k:3', outcome: 'intended', tuner: 'replicas' }));
    await store.recordDecision(
      makeDecision({ id: 'k:2', action: 'noop', tuner: 'dynamodb-mode', resource: 't' }),
    );
    await store.putTunerState('report', 'report', { reportedThrough: T0.toISOString() });
    await store.recordDrift('dynamodb', 'orders', 'changed outside', T0, 60);
    await store.acquireLock('iops', 'orders-db', 'run', T0, 60);
    await store.claimIdempotencyKey('alarms', 'eventbridge:e', 'run', T0, 60);
    await store.recordCreated('replicas', 'dbap-orders-db-1', {}, T0);
    await store.markReported([makeDecision({ id: 'k:1' })], T0.toISOString());
    await store.flushTotals(); // the run ends: its held no-op is written
    // Act: read the raw items.
    const doc = DynamoDBDocumentClient.from(dynalite.server().client);
    const { Items: items = [] } = await doc.send(new ScanCommand({ TableName: tableName }));
    // Assess: the IAM LeadingKeys patterns `<owner>#*` cover every item.
    const owners = new Set<string>([...DECISION_TUNERS, 'report', 'digest']);
    for (const item of items) {
      const [owner, scope] = String(item.pk).split('#');
      expect(owners.has(owner ?? ''), String(item.pk)).toBe(true);
      expect(scope).toBe('home');
    }
    const noop = items.find((i) => i.decision?.id === 'k:2');
    expect(noop).toMatchObject({ pk: 'dynamodb-mode#home#res#t' });
    expect(noop?.dayPk).toBeUndefined();
    expect(noop?.decisionId).toBeUndefined();
    const notable = items.find((i) => i.decision?.id === 'k:1');
    expect(notable).toMatchObject({
      pk: 'iops#home#res#orders-db',
      dayPk: 'iops#home#day#2026-03-02',
      decisionId: 'k:1',
    });
    // An intent: its marker in the resource partition and its entry in the tuner's intent index.
    expect(
      items
        .filter((i) => i.decision?.id === 'k:3' && i.pk !== 'replicas#home#res#orders-db')
        .map((i) => i.pk),
    ).toEqual(['replicas#home#intents']);
    expect(items.some((i) => i.pk === 'replicas#home#res#orders-db' && i.sk === 'm#intent#k:3')).toBe(true);
    // Every function's role may write exactly the owners listed for it.
    expect(STATE_WRITERS['dynamodb-tuner']).toEqual(['dynamodb', 'dynamodb-mode', 'prewarm']);
  });
});

describe('the sort keys of a resource partition', () => {
  it('sort nothing between the notable decisions and the meta items (getHistory reads both in one range)', () => {
    const others = Object.values(SK).filter((p) => !p.startsWith(SK.notable) && !p.startsWith(SK.meta));
    expect(others.length).toBeGreaterThan(0);
    for (const prefix of others) {
      const inside = prefix > SK.notable && prefix < `${SK.meta}\uffff`;
      expect({ prefix, inside }).toEqual({ prefix, inside: false });
    }
  });
});

describe('a history of the newest decision only (HistoryOptions.recentDecisions)', () => {
  it("reads the partition's meta items and one decision item, not the day's other decisions", async () => {
    // Prepare: a table's state, ledger and newest change, and 20 deferrals of the last day, read
    // through a client that counts the items each query reads (ScannedCount) and its read units.
    const tableName = 'state-newest-only';
    await createStateTable(dynalite.server().client, tableName);
    const client = dynalite.server().newClient();
    const read = { items: 0, units: 0 };
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { ReturnConsumedCapacity?: string };
        input.ReturnConsumedCapacity = 'TOTAL';
        const out = await next(args);
        const o = out.output as { ScannedCount?: number; ConsumedCapacity?: { CapacityUnits?: number } };
        read.items += o.ScannedCount ?? 0;
        read.units += o.ConsumedCapacity?.CapacityUnits ?? 0;
        return out;
      },
      { step: 'initialize', name: 'countReads' },
    );
    const store = new DynamoDbStateStore({ client, tableName });
    const table = { tuner: 'dynamodb' as const, resource: 'orders', action: 'set-capacity' as const };
    await store.putTunerState('dynamodb', 'orders', { cadence: 1 });
    await store.recordDecision(makeDecision({ ...table, id: 'n:applied' }));
    const reason = 'held back: '.padEnd(1500, 'x');
    for (let i = 0; i < 20; i++) {
      const at = new Date(T0.getTime() + (i + 1) * 60_000).toISOString();
      await store.recordDecision(
        makeDecision({ ...table, id: `n:${i}`, at, outcome: 'deferred', guard: `g${i}`, reason }),
      );
    }
    const now = new Date(T0.getTime() + 60 * 60_000);
    await store.getHistory('dynamodb', 'orders', now, { recentDecisions: 1 });
    // Act: the next run's read (this store has read the partition before), then a full one.
    read.items = 0;
    read.units = 0;
    const newest = await store.getHistory('dynamodb', 'orders', now, { recentDecisions: 1 });
    const newestRead = { ...read };
    read.items = 0;
    read.units = 0;
    const full = await store.getHistory('dynamodb', 'orders', now);
    client.destroy();
    // Assess: 3 meta items (state, ledger, newest applied change) and 1 decision, 1 read unit;
    // the full history reads 20 decisions of ~1.6 KB (~33 KB: 9 units of a consistent read).
    expect(newest.recent.map((d) => d.id)).toEqual(['n:19']);
    expect(newest.lastApplied?.['set-capacity']?.id).toBe('n:applied');
    expect(newestRead).toEqual({ items: 4, units: 1 });
    expect(full.recent).toHaveLength(20);
    expect(read.items).toBeGreaterThanOrEqual(23);
    expect(read.units).toBeGreaterThan(8);
  });
});

describe('the evidence of a notable decision (getHistory reads none of it)', () => {
  it('keeps it beside the decision, and the history query returns none of its bytes', async () => {
    // Prepare: one applied change with a day of per-minute points, read through a client that
    // counts the bytes the state table returns.
    const tableName = 'state-evidence';
    await createStateTable(dynalite.server().client, tableName);
    const client = dynalite.server().newClient();
    let bytes = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        bytes += Number(
          (out.response as { headers?: Record<string, string> }).headers?.['content-length'] ?? 0,
        );
        return out;
      },
      { step: 'deserialize', name: 'countBytes' },
    );
    const store = new DynamoDbStateStore({ client, tableName });
    const series = Array.from({ length: 1440 }, (_, i) => 1000 + i);
    const window = { start: T0.toISOString(), end: T0.toISOString(), periodSeconds: 60 };
    const evidence = [{ metric: 'ReadIOPS', statistic: 'Average', value: 1000, window, series }];
    await store.recordDecision(makeDecision({ id: 'ev:1', evidence }));
    // Act: the history, then the raw items.
    bytes = 0;
    const history = await store.getHistory('iops', 'orders-db', T0);
    const historyBytes = bytes;
    const doc = DynamoDBDocumentClient.from(client);
    const { Items: items = [] } = await doc.send(new ScanCommand({ TableName: tableName }));
    client.destroy();
    // Assess: the decision and the newest applied change are in the history, a few hundred bytes
    // (the series alone is ~17 KB as the state table's JSON); the item keeps the series beside it.
    expect(history.recent.map((d) => d.id)).toEqual(['ev:1']);
    expect(history.lastApplied?.['set-iops']?.id).toBe('ev:1');
    expect(historyBytes).toBeLessThan(3000);
    // The decision item holds none of it; its evidence item (outside the history's sort-key range)
    // holds it, with the decision's byDay keys (a day's query returns both) and not its byId key.
    const item = items.find((i) => String(i.sk).startsWith('d#'));
    expect(item?.decision.evidence).toEqual([]);
    expect(item?.evidence).toBeUndefined();
    expect(item?.evidenceApart).toBe(true);
    const apart = items.find((i) => String(i.sk).startsWith('s#'));
    expect(apart).toMatchObject({
      pk: item?.pk,
      sk: `s#${String(item?.sk).slice(2)}`,
      evidenceOf: 'ev:1',
      evidence,
      dayPk: item?.dayPk,
      daySk: item?.daySk,
      expiresAt: item?.expiresAt,
    });
    expect(apart?.decisionId).toBeUndefined();
    expect(items.find((i) => i.sk === 'm#last#set-iops')?.decision.evidence).toEqual([]);
  });

  it('reads back decisions written before it was kept apart (in an attribute or inside the decision)', async () => {
    // Prepare: two items as earlier versions wrote them, and one as now.
    const tableName = 'state-evidence-before';
    await createStateTable(dynalite.server().client, tableName);
    const doc = DynamoDBDocumentClient.from(dynalite.server().client);
    const store = new DynamoDbStateStore({ client: dynalite.server().client, tableName });
    const evidence = [
      {
        metric: 'ReadIOPS',
        statistic: 'Average',
        value: 1,
        window: { start: T0.toISOString(), end: T0.toISOString(), periodSeconds: 60 },
        series: [1, 2, 3],
      },
    ];
    const inside = makeDecision({ id: 'old:inside', evidence });
    const attribute = makeDecision({
      id: 'old:attribute',
      at: new Date(T0.getTime() + 60_000).toISOString(),
    });
    const now = makeDecision({
      id: 'new:apart',
      at: new Date(T0.getTime() + 120_000).toISOString(),
      evidence,
    });
    const [insideItem] = decisionItems({ ...inside, evidence: [] }, 400);
    const [attributeItem] = decisionItems(attribute, 400);
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...insideItem, decision: inside } }));
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...attributeItem, evidence } }));
    await store.recordDecision(now);
    // Act + Assess: every reader of evidence returns each with its evidence; the history none.
    const window = { since: T0.toISOString(), until: new Date(T0.getTime() + 3_600_000).toISOString() };
    const all = [evidence, evidence, evidence];
    expect((await store.listDecisions(window)).map((d) => d.evidence)).toEqual(all);
    expect((await store.listDecisions({ ...window, resource: 'orders-db' })).map((d) => d.evidence)).toEqual(
      all,
    );
    expect((await store.exportDecisions(window)).map((d) => d.evidence)).toEqual(all);
    for (const id of ['old:inside', 'old:attribute', 'new:apart'])
      expect((await store.getDecision(id))?.evidence).toEqual(evidence);
    expect((await store.newestDecision('iops', 'orders-db'))?.evidence).toEqual(evidence);
    const history = await store.getHistory('iops', 'orders-db', new Date(T0.getTime() + 600_000));
    expect(history.recent.map((d) => [d.id, d.evidence])).toEqual([
      ['new:apart', []],
      ['old:attribute', []],
      ['old:inside', []],
    ]);
  });
});

describe('the state calls of one applied change (write-ahead intent)', () => {
  /** A store on a fresh table through a client that lists every command it sends (and may fail one kind). */
  async function listingStore(tableName: string, failing?: string) {
    await createStateTable(dynalite.server().client, tableName);
    const client = dynalite.server().newClient();
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, ctx) => async (args) => {
        sent.push(String(ctx.commandName).replace(/Command$/, ''));
        if (ctx.commandName === failing) throw new Error(`injected: ${failing} failed`);
        return next(args);
      },
      { step: 'initialize', name: 'listCommands' },
    );
    return { store: new DynamoDbStateStore({ client, tableName }), client, sent };
  }

  it('records the intent in one write before the decision, and forgets it in one write once resolved', async () => {
    const { store, client, sent } = await listingStore('calls-intent');
    const intended = makeDecision({ id: 'ca:1', outcome: 'intended', guard: 'intent' });
    await store.recordDecision(intended);
    // Both intent items, then the decision; no totals write (an intent counts once resolved).
    expect(sent).toEqual(['BatchWriteItem', 'PutItem']);
    expect((await store.listIntents('iops')).map((d) => d.id)).toEqual(['ca:1']);
    expect((await store.getHistory('iops', 'orders-db', T0)).pending?.map((d) => d.id)).toEqual(['ca:1']);
    sent.length = 0;
    expect(await store.resolveDecision({ ...intended, outcome: 'applied' })).toBe(true);
    // Resolve, forget both intent items, count it, the newest change of its kind, the ledger.
    expect(sent).toEqual(['UpdateItem', 'BatchWriteItem', 'UpdateItem', 'PutItem', 'UpdateItem']);
    expect(await store.listIntents('iops')).toEqual([]);
    expect((await store.getHistory('iops', 'orders-db', T0)).pending ?? []).toEqual([]);
    client.destroy();
  });

  it('records no decision when the intent cannot be written whole (so AWS is never called)', async () => {
    const { store, client } = await listingStore('calls-intent-failed', 'BatchWriteItemCommand');
    await expect(
      store.recordDecision(makeDecision({ id: 'cf:1', outcome: 'intended', guard: 'intent' })),
    ).rejects.toThrow('injected');
    const reader = new DynamoDbStateStore({
      client: dynalite.server().client,
      tableName: 'calls-intent-failed',
    });
    expect(await reader.getDecision('cf:1')).toBeUndefined();
    expect(await reader.listIntents('iops')).toEqual([]);
    client.destroy();
  });
});

describe("a run's no-op records and per-run tuner state: held, then written 25 to a BatchWriteItem", () => {
  /** A store on a fresh table through a client that lists every command it sends (and may change one). */
  async function listingStore(
    tableName: string,
    change?: (
      command: string,
      next: () => Promise<unknown>,
      args: { input: Record<string, unknown> },
    ) => Promise<unknown> | undefined,
  ) {
    await createStateTable(dynalite.server().client, tableName);
    const client = dynalite.server().newClient();
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, ctx) => async (args) => {
        const command = String(ctx.commandName).replace(/Command$/, '');
        sent.push(command);
        const changed = change?.(
          command,
          () => next(args),
          args as unknown as { input: Record<string, unknown> },
        );
        return (changed ?? next(args)) as ReturnType<typeof next>;
      },
      { step: 'initialize', name: 'listCommands' },
    );
    const reader = new DynamoDbStateStore({ client: dynalite.server().client, tableName });
    return { store: new DynamoDbStateStore({ client, tableName }), reader, client, sent };
  }
  const noop = (i: number) =>
    makeDecision({ id: `run-noops:${String(i).padStart(4, '0')}`, action: 'noop', resource: `table-${i}` });
  const ids = async (store: DynamoDbStateStore) =>
    (await store.exportDecisions({ since: '2000-01-01T00:00:00.000Z' })).map((d) => d.id).sort();

  it('writes 30 no-ops in two BatchWriteItems (a full batch at once, the rest when the run ends), not 30 PutItems', async () => {
    const { store, reader, client, sent } = await listingStore('held-noops');
    for (let i = 0; i < 30; i++) await store.recordDecision(noop(i));
    // 25 held fill a batch: written at once; 5 still held.
    expect(sent).toEqual(['BatchWriteItem']);
    expect(await ids(reader)).toHaveLength(25);
    expect(await store.flushTotals()).toBe(1);
    expect(sent).toEqual(['BatchWriteItem', 'BatchWriteItem', 'UpdateItem']);
    expect(await ids(reader)).toEqual(Array.from({ length: 30 }, (_, i) => noop(i).id));
    // Stored as before: slim, under n#, in no index.
    const raw = await DynamoDBDocumentClient.from(dynalite.server().client).send(
      new ScanCommand({ TableName: 'held-noops' }),
    );
    const item = raw.Items?.find((i) => i.decision?.id === noop(3).id);
    expect(String(item?.sk)).toMatch(/^n#/);
    expect(item?.dayPk).toBeUndefined();
    client.destroy();
  });

  it('refuses a no-op id recorded twice in a run, as the conditional put did', async () => {
    const { store, client } = await listingStore('held-noops-twice');
    await store.recordDecision(noop(1));
    await expect(store.recordDecision({ ...noop(1), reason: 'again' })).rejects.toBeInstanceOf(
      DuplicateDecisionError,
    );
    await store.flushTotals();
    expect((await store.newestDecision('iops', 'table-1'))?.reason).not.toBe('again');
    client.destroy();
  });

  it("lets the same store read what it holds: a resource's newest decision, its settling no-op, its history, the audit export", async () => {
    const { store, client } = await listingStore('held-read-own');
    await store.recordDecision(noop(1));
    expect((await store.newestDecision('iops', 'table-1'))?.id).toBe(noop(1).id);
    await store.recordDecision(noop(2));
    expect((await store.settlingNoop('iops', 'table-2', T0.toISOString()))?.id).toBe(noop(2).id);
    await store.putTunerState('dynamodb', 'orders', { reads: { at: 'x' } }, 'observed', { held: true });
    expect((await store.getHistory('dynamodb', 'orders', T0)).tunerState).toEqual({
      observed: { reads: { at: 'x' } },
    });
    await store.recordDecision(noop(3));
    expect(await ids(store)).toEqual([noop(1).id, noop(2).id, noop(3).id]);
    client.destroy();
  });

  it('writes held tuner state with the no-ops; a later put of the same item, held or not, wins', async () => {
    const { store, reader, client, sent } = await listingStore('held-state');
    await store.putTunerState('dynamodb', 'orders', { n: 1 }, 'observed', { held: true });
    await store.putTunerState('dynamodb', 'orders', { n: 2 }, 'observed', { held: true });
    await store.putTunerState('dynamodb', 'carts', { n: 1 }, 'observed', { held: true });
    await store.putTunerState('dynamodb', 'carts', { n: 2 }, 'observed');
    await store.recordDecision(noop(1));
    expect(sent).toEqual(['PutItem']);
    expect((await reader.getHistory('dynamodb', 'orders', T0)).tunerState).toBeUndefined();
    await store.flushTotals();
    expect(sent).toEqual(['PutItem', 'BatchWriteItem', 'UpdateItem']);
    expect((await reader.getHistory('dynamodb', 'orders', T0)).tunerState).toEqual({ observed: { n: 2 } });
    expect((await reader.getHistory('dynamodb', 'carts', T0)).tunerState).toEqual({ observed: { n: 2 } });
    client.destroy();
  });

  it('retries the items DynamoDB leaves unprocessed until every one is written', async () => {
    let first = true;
    const { store, reader, client, sent } = await listingStore('held-unprocessed', (command, next, args) => {
      if (command !== 'BatchWriteItem' || !first) return undefined;
      first = false;
      // Throttled: DynamoDB writes the first 2 and gives the rest back as UnprocessedItems.
      const items = args.input.RequestItems as Record<string, unknown[]>;
      const [table, requests] = Object.entries(items)[0] ?? ['', []];
      args.input.RequestItems = { [table]: requests.slice(0, 2) };
      return next().then((out) => {
        const o = out as { output: { UnprocessedItems?: unknown } };
        o.output.UnprocessedItems = { [table]: requests.slice(2) };
        return out;
      });
    });
    for (let i = 0; i < 5; i++) await store.recordDecision(noop(i));
    await store.flushTotals();
    expect(sent.filter((c) => c === 'BatchWriteItem')).toHaveLength(2);
    expect(await ids(reader)).toEqual(Array.from({ length: 5 }, (_, i) => noop(i).id));
    client.destroy();
  });

  it('keeps a batch that failed held, and writes it at the next flush', async () => {
    let failures = 1;
    const { store, reader, client } = await listingStore('held-failed', (command) => {
      if (command !== 'BatchWriteItem' || failures === 0) return undefined;
      failures -= 1;
      return Promise.reject(new Error('injected: BatchWriteItem failed'));
    });
    for (let i = 0; i < 3; i++) await store.recordDecision(noop(i));
    await expect(store.flushTotals()).rejects.toThrow('injected');
    expect(await ids(reader)).toEqual([]);
    await store.flushTotals();
    expect(await ids(reader)).toEqual([noop(0).id, noop(1).id, noop(2).id]);
    // Counted once: the failed flush wrote no totals.
    const totals = await reader.totals(T0.toISOString().slice(0, 10));
    expect(totals.find((t) => t.tuner === 'iops')?.noops.applied).toBe(3);
    client.destroy();
  });
});

/** A client of the test's dynalite that counts the state-table commands and their read units. */
function countingClient(): {
  client: DynamoDBClient;
  calls: { command: string; consistent: boolean; units: number }[];
} {
  const calls: { command: string; consistent: boolean; units: number }[] = [];
  const client = dynalite.server().newClient();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string; ConsistentRead?: boolean };
      input.ReturnConsumedCapacity = 'TOTAL';
      const out = await next(args);
      const used = (out.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity;
      calls.push({
        command: String(context.commandName),
        consistent: input.ConsistentRead === true,
        units: used?.CapacityUnits ?? 0,
      });
      return out;
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return { client, calls };
}

describe("a resource's history (getHistory) on the state table", () => {
  it('is one consistent query per read: meta items and the notable decisions of the day together', async () => {
    // Prepare: state with a part, an applied change (ledger, newest applied), 25 notable
    // decisions of the last day, each with a day of per-minute points, and no-ops.
    const tableName = 'state-history-calls';
    await createStateTable(dynalite.server().client, tableName);
    const { client, calls } = countingClient();
    const store = new DynamoDbStateStore({ client, tableName });
    const series = Array.from({ length: 240 }, (_, i) => 1000 + i);
    const window = { start: T0.toISOString(), end: T0.toISOString(), periodSeconds: 60 };
    const evidence = [{ metric: 'ReadIOPS', statistic: 'Average', value: 1000, window, series }];
    await store.putTunerState('iops', 'orders-db', { cadence: 1 });
    await store.putTunerState('iops', 'orders-db', { learned: 1 }, 'model');
    await store.recordDecision(makeDecision({ id: 'q:applied', evidence }));
    for (let i = 1; i <= 25; i++) {
      const at = new Date(T0.getTime() + i * 60_000).toISOString();
      const id = `q:${String(i).padStart(2, '0')}`;
      await store.recordDecision(makeDecision({ id, at, outcome: 'deferred', guard: `rule-${i}`, evidence }));
      await store.recordDecision(makeDecision({ id: `${id}:noop`, at, action: 'noop', evidence }));
    }
    // Act: the history, read by a store that has not read this partition before.
    calls.length = 0;
    const history = await new DynamoDbStateStore({ client, tableName }).getHistory(
      'iops',
      'orders-db',
      new Date(T0.getTime() + 30 * 60_000),
    );
    client.destroy();
    // Assess: one consistent query; the 20 newest notable decisions without evidence; the meta.
    expect(calls.map((c) => [c.command, c.consistent])).toEqual([['QueryCommand', true]]);
    expect(history.recent.map((d) => d.id)).toEqual(
      Array.from({ length: 20 }, (_, k) => `q:${String(25 - k).padStart(2, '0')}`),
    );
    expect(history.recent.every((d) => d.evidence.length === 0)).toBe(true);
    expect(history.tunerState).toEqual({ cadence: 1, model: { learned: 1 } });
    expect(history.lastApplied?.['set-iops']?.id).toBe('q:applied');
    expect(history.lastAppliedAt).toBe(T0.toISOString());
  });

  it("costs the same read units whatever the size of the decisions' evidence", async () => {
    // Prepare: two resources with the same 25 notable decisions, one's with 4 h of per-minute
    // points each (~4 KB of series per decision), the other's with one value each.
    const tableName = 'state-history-units';
    await createStateTable(dynalite.server().client, tableName);
    const { client, calls } = countingClient();
    const store = new DynamoDbStateStore({ client, tableName });
    const series = Array.from({ length: 240 }, (_, i) => 1000.5 + i);
    const window = { start: T0.toISOString(), end: T0.toISOString(), periodSeconds: 60 };
    const evidence = [{ metric: 'ReadIOPS', statistic: 'Average', value: 1000, window, series }];
    const one = { metric: 'ReadIOPS', statistic: 'Average', value: 1000, window };
    for (const resource of ['orders-x', 'orders-y']) {
      for (let i = 1; i <= 25; i++) {
        const at = new Date(T0.getTime() + i * 60_000).toISOString();
        const d = makeDecision({
          id: `${resource}:${i}`,
          resource,
          at,
          outcome: 'deferred',
          guard: `rule-${i}`,
        });
        await store.recordDecision({ ...d, evidence: resource === 'orders-x' ? evidence : [one] });
      }
    }
    // Act: each history, read once.
    const unitsOf = async (resource: string) => {
      calls.length = 0;
      await store.getHistory('iops', resource, new Date(T0.getTime() + 30 * 60_000));
      return calls.reduce((sum, c) => sum + c.units, 0);
    };
    const withSeries = await unitsOf('orders-x');
    const without = await unitsOf('orders-y');
    client.destroy();
    // Assess: the same units (a Query is billed on the full size of the items it reads).
    expect(without).toBeGreaterThan(0);
    expect(withSeries).toBe(without);
  });
});
