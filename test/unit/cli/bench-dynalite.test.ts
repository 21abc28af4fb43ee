import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { fixDynaliteMemory, inProcessDynalite, untilActive } from '../../../shared/cli/bench-fleet.ts';

// The modules dynalite itself resolves (its memory-level and that one's abstract-level).
const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite/db'));
const fromMemoryLevel = createRequire(fromDynalite.resolve('memory-level'));
const { MemoryLevel } = fromDynalite('memory-level') as {
  MemoryLevel: new (
    options: Record<string, string>,
  ) => {
    put(key: string, value: Buffer): Promise<void>;
    get(key: string): Promise<Buffer>;
  };
};
const { AbstractLevel } = fromMemoryLevel('abstract-level') as {
  AbstractLevel: { prototype: { attachResource(r: unknown): void; detachResource(r: unknown): void } };
};

/** The bench's in-process dynalite and a client reaching it the way the bench's state client does. */
function benchDynalite() {
  const dynalite = inProcessDynalite();
  const client = new DynamoDBClient({
    endpoint: 'http://dynalite.local:4567',
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: dynalite.requestHandler as never,
  });
  return { dynalite, client };
}

/** A pay-per-request table keyed by string `pk` and `sk`, ACTIVE. */
async function createTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await untilActive(client, name);
}

describe("the fleet bench's in-process dynalite (fixDynaliteMemory)", () => {
  it('closes the iterator of every Query (none is left holding an old version of the table)', async () => {
    const proto = AbstractLevel.prototype;
    const attach = proto.attachResource;
    const detach = proto.detachResource;
    let open = 0;
    proto.attachResource = function (r) {
      open += 1;
      attach.call(this, r);
    };
    proto.detachResource = function (r) {
      open -= 1;
      detach.call(this, r);
    };
    const { dynalite, client } = benchDynalite();
    try {
      await createTable(client, 'iterators');
      for (let i = 0; i < 5; i++)
        await client.send(
          new PutItemCommand({ TableName: 'iterators', Item: { pk: { S: 'a' }, sk: { S: `s${i}` } } }),
        );
      const before = open;
      const query = (extra: Record<string, unknown>) =>
        client.send(
          new QueryCommand({
            TableName: 'iterators',
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': { S: 'a' } },
            ...extra,
          }),
        );
      for (let i = 0; i < 10; i++) {
        expect((await query({})).Items).toHaveLength(5);
        expect((await query({ Limit: 1, ScanIndexForward: false })).Items).toHaveLength(1);
      }
      await new Promise((ok) => setTimeout(ok, 20));
      expect(open - before).toBe(0);
    } finally {
      proto.attachResource = attach;
      proto.detachResource = detach;
      client.destroy();
      await dynalite.stop();
    }
  });

  it('stores an exact-size copy of a small Buffer, not a slice of the shared 64 KB pool', async () => {
    fixDynaliteMemory();
    const db = new MemoryLevel({ valueEncoding: 'buffer' });
    const pooled = Buffer.from('a small stored item');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    await db.put('k', pooled);
    const stored = await db.get('k');
    expect(stored.toString()).toBe('a small stored item');
    expect(stored.buffer.byteLength).toBe(stored.byteLength);
  });

  it('answers repeated expressions as a fresh parse would: same items, same unused-value errors, same syntax errors', async () => {
    const { dynalite, client } = benchDynalite();
    const error = (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: Error) => e.message,
      );
    try {
      await createTable(client, 'expressions');
      const add = (sk: string, extra: Record<string, { N: string }> = {}) =>
        client.send(
          new UpdateItemCommand({
            TableName: 'expressions',
            Key: { pk: { S: 'a' }, sk: { S: sk } },
            UpdateExpression: 'ADD #c :one',
            ExpressionAttributeNames: { '#c': 'count' },
            ExpressionAttributeValues: { ':one': { N: '1' }, ...extra },
            ReturnValues: 'ALL_NEW',
          }),
        );
      // The same update three times: each applies (the count grows), none is answered from an old result.
      for (const expected of ['1', '2', '3'])
        expect((await add('s1')).Attributes?.count).toEqual({ N: expected });
      // A value the expression does not use is refused every time, also after the same expression parsed.
      for (let i = 0; i < 2; i++)
        expect(await error(add('s1', { ':unused': { N: '2' } }))).toContain(
          'Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}',
        );
      await add('s2');
      await add('t1');
      // A key condition with the value first (dynalite rewrites such a parsed condition in place)
      // asked again and again.
      const after = () =>
        client.send(
          new QueryCommand({
            TableName: 'expressions',
            KeyConditionExpression: 'pk = :p AND :lo < sk',
            ExpressionAttributeValues: { ':p': { S: 'a' }, ':lo': { S: 's1' } },
          }),
        );
      for (let i = 0; i < 3; i++)
        expect((await after()).Items?.map((item) => item.sk?.S)).toEqual(['s2', 't1']);
      // A syntax error is reported every time.
      const broken = () =>
        client.send(
          new QueryCommand({
            TableName: 'expressions',
            KeyConditionExpression: 'pk = :p AND AND',
            ExpressionAttributeValues: { ':p': { S: 'a' } },
          }),
        );
      const first = await error(broken());
      expect(first).toContain('Invalid KeyConditionExpression: Syntax error');
      expect(await error(broken())).toBe(first);
    } finally {
      client.destroy();
      await dynalite.stop();
    }
  });
});
