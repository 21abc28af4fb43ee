import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../../shared/state/dynamodb-store.ts';
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

describe('the evidence of a notable decision (getHistory reads none of it)', () => {
  it('keeps it beside the decision, and the history query returns none of its bytes', async () => {
    // Prepare: one applied change with a day of per-minute points, read through a client that
    // counts the bytes the state table returns.
    const tableName = 'state-evidence';
    await createStateTable(dynalite.server().client, tableName);
    const client = new DynamoDBClient({
      endpoint: dynalite.server().endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
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
    const item = items.find((i) => String(i.sk).startsWith('d#'));
    expect(item?.decision.evidence).toEqual([]);
    expect(item?.evidence).toEqual(evidence);
    expect(items.find((i) => i.sk === 'm#last#set-iops')?.decision.evidence).toEqual([]);
  });
});

/** A client of the test's dynalite that counts the state-table commands and their read units. */
function countingClient(): {
  client: DynamoDBClient;
  calls: { command: string; consistent: boolean; units: number }[];
} {
  const calls: { command: string; consistent: boolean; units: number }[] = [];
  const client = new DynamoDBClient({
    endpoint: dynalite.server().endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
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
});
