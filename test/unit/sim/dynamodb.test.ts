import {
  DescribeLimitsCommand,
  DescribeTableCommand,
  LimitExceededException,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ThrottlingException,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS, SimAccount, workload as w } from '../../../shared/sim/index.ts';
import { rejection } from '../../support/rejection.ts';

const START = '2026-11-20T00:00:00.000Z';

function account() {
  const sim = new SimAccount({
    start: START,
    historyStart: Date.parse(START) - HOUR_MS,
    rateLimitClock: 'virtual',
  });
  sim.dynamodb.addTable({
    name: 'carts',
    read: 1000,
    write: 500,
    gsis: [{ name: 'by-user', read: 400, write: 400 }],
    tags: { team: 'checkout' },
  });
  return { sim, ddb: sim.clients().dynamodb };
}

async function lower(sim: SimAccount, ddb: ReturnType<SimAccount['clients']>['dynamodb'], read: number) {
  const out = await ddb.send(
    new UpdateTableCommand({
      TableName: 'carts',
      ProvisionedThroughput: { ReadCapacityUnits: read, WriteCapacityUnits: 500 },
    }),
  );
  sim.advance(MINUTE_MS);
  return out;
}

describe('simulated DynamoDB UpdateTable', () => {
  it('allows 4 decreases at any time in a UTC day, then one per hour without a decrease', async () => {
    const { sim, ddb } = account();
    for (const r of [900, 800, 700, 600]) await lower(sim, ddb, r);
    const table = await ddb.send(new DescribeTableCommand({ TableName: 'carts' }));
    expect(table.Table?.ProvisionedThroughput?.NumberOfDecreasesToday).toBe(4);
    const fifth = await rejection(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'carts',
          ProvisionedThroughput: { ReadCapacityUnits: 500, WriteCapacityUnits: 500 },
        }),
      ),
    );
    expect(fifth).toBeInstanceOf(LimitExceededException);
    expect(fifth.message).toMatch(
      /^Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day\. After the first 4 decreases/,
    );
    expect(fifth.message).toMatch(/Number of decreases today: 4/);
    sim.advance(HOUR_MS - 2 * MINUTE_MS);
    expect((await rejection(lower(sim, ddb, 500))).name).toBe('LimitExceededException');
    sim.advance(MINUTE_MS);
    await lower(sim, ddb, 500);
    const sixth = await rejection(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'carts',
          ProvisionedThroughput: { ReadCapacityUnits: 400, WriteCapacityUnits: 500 },
        }),
      ),
    );
    expect(sixth).toBeInstanceOf(LimitExceededException);
  });

  it('resets the decrease count at midnight UTC', async () => {
    const { sim, ddb } = account();
    sim.advance(20 * HOUR_MS);
    for (const r of [900, 800, 700, 600]) await lower(sim, ddb, r);
    sim.advance(4 * HOUR_MS);
    const table = await ddb.send(new DescribeTableCommand({ TableName: 'carts' }));
    expect(table.Table?.ProvisionedThroughput?.NumberOfDecreasesToday).toBe(0);
    expect(table.Table?.ProvisionedThroughput?.LastDecreaseDateTime).toEqual(
      new Date(Date.parse(START) + 20 * HOUR_MS + 3 * MINUTE_MS),
    );
    await lower(sim, ddb, 500);
  });

  it('keeps separate budgets for the table and each GSI and rejects a request whole if either is over', async () => {
    const { sim, ddb } = account();
    for (const r of [900, 800, 700, 600]) await lower(sim, ddb, r);
    const err = await rejection(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'carts',
          ProvisionedThroughput: { ReadCapacityUnits: 500, WriteCapacityUnits: 500 },
          GlobalSecondaryIndexUpdates: [
            {
              Update: {
                IndexName: 'by-user',
                ProvisionedThroughput: { ReadCapacityUnits: 300, WriteCapacityUnits: 400 },
              },
            },
          ],
        }),
      ),
    );
    expect(err).toBeInstanceOf(LimitExceededException);
    const table = await ddb.send(new DescribeTableCommand({ TableName: 'carts' }));
    const gsi = table.Table?.GlobalSecondaryIndexes?.[0];
    expect(gsi?.ProvisionedThroughput?.ReadCapacityUnits).toBe(400);
    expect(gsi?.ProvisionedThroughput?.NumberOfDecreasesToday).toBe(0);
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'carts',
        GlobalSecondaryIndexUpdates: [
          {
            Update: {
              IndexName: 'by-user',
              ProvisionedThroughput: { ReadCapacityUnits: 300, WriteCapacityUnits: 400 },
            },
          },
        ],
      }),
    );
    const after = await ddb.send(new DescribeTableCommand({ TableName: 'carts' }));
    expect(after.Table?.GlobalSecondaryIndexes?.[0]?.ProvisionedThroughput?.NumberOfDecreasesToday).toBe(1);
  });

  it('counts lowering read and write in one request as one decrease', async () => {
    const { ddb } = account();
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'carts',
        ProvisionedThroughput: { ReadCapacityUnits: 900, WriteCapacityUnits: 400 },
      }),
    );
    const t = await ddb.send(new DescribeTableCommand({ TableName: 'carts' }));
    expect(t.Table?.ProvisionedThroughput?.NumberOfDecreasesToday).toBe(1);
  });

  it('answers ResourceInUseException while the table is UPDATING, then accepts once ACTIVE', async () => {
    const { sim, ddb } = account();
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'carts',
        ProvisionedThroughput: { ReadCapacityUnits: 2000, WriteCapacityUnits: 500 },
      }),
    );
    expect((await ddb.send(new DescribeTableCommand({ TableName: 'carts' }))).Table?.TableStatus).toBe(
      'UPDATING',
    );
    const err = await rejection(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'carts',
          ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 500 },
        }),
      ),
    );
    expect(err).toBeInstanceOf(ResourceInUseException);
    expect(err.message).toBe(
      'Attempt to change a resource which is still in use: Table is being updated: carts',
    );
    sim.advance(MINUTE_MS);
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'carts',
        ProvisionedThroughput: { ReadCapacityUnits: 3000, WriteCapacityUnits: 500 },
      }),
    );
  });

  it('caps a table at 40,000 units and rejects an unchanged value', async () => {
    const { ddb } = account();
    const big = await rejection(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'carts',
          ProvisionedThroughput: { ReadCapacityUnits: 40_001, WriteCapacityUnits: 500 },
        }),
      ),
    );
    expect(big).toBeInstanceOf(LimitExceededException);
    const same = await rejection(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'carts',
          ProvisionedThroughput: { ReadCapacityUnits: 1000, WriteCapacityUnits: 500 },
        }),
      ),
    );
    expect(same.name).toBe('ValidationException');
    expect(same.message).toMatch(/^The provisioned throughput for the table will not change/);
    const missing = await rejection(ddb.send(new DescribeTableCommand({ TableName: 'nope' })));
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });

  it('switches to on-demand at most 4 times in a rolling 24 hours', async () => {
    const { sim, ddb } = account();
    for (let i = 0; i < 4; i++) {
      await ddb.send(new UpdateTableCommand({ TableName: 'carts', BillingMode: 'PAY_PER_REQUEST' }));
      sim.advance(MINUTE_MS);
      await ddb.send(
        new UpdateTableCommand({
          TableName: 'carts',
          BillingMode: 'PROVISIONED',
          ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 100 },
          GlobalSecondaryIndexUpdates: [
            {
              Update: {
                IndexName: 'by-user',
                ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 100 },
              },
            },
          ],
        }),
      );
      sim.advance(MINUTE_MS);
    }
    const err = await rejection(
      ddb.send(new UpdateTableCommand({ TableName: 'carts', BillingMode: 'PAY_PER_REQUEST' })),
    );
    expect(err).toBeInstanceOf(LimitExceededException);
  });
});

describe('simulated DynamoDB consumption', () => {
  function consumption(read: number, demand: (t: number) => number, minutes: number) {
    const start = Date.parse(START);
    const sim = new SimAccount({ start: start + minutes * MINUTE_MS, historyStart: start });
    const t = sim.dynamodb.addTable({ name: 't', read, write: 10, workload: { read: demand } });
    t.series.ensure(Math.floor(start / MINUTE_MS) + minutes);
    const at = (m: number, metric: string) => t.series.get(metric, Math.floor(start / MINUTE_MS) + m)?.value;
    return { at };
  }

  it('lets consumed capacity exceed provisioned while burst capacity (300 s) lasts', () => {
    const start = Date.parse(START);
    // 150 RCU provisioned; idle for 10 minutes (bank full: 300 s x 150), then 200 RCU.
    const { at } = consumption(150, (t) => (t < start + 10 * MINUTE_MS ? 0 : 200), 40);
    expect(at(5, 'ConsumedReadCapacityUnits')).toBeUndefined();
    expect(at(10, 'ConsumedReadCapacityUnits')).toBe(200 * 60);
    expect(at(10, 'ReadThrottleEvents')).toBeUndefined();
    // 45,000 banked units last 15 minutes at 50 RCU over provisioned.
    expect(at(24, 'ConsumedReadCapacityUnits')).toBe(200 * 60);
    expect(at(25, 'ConsumedReadCapacityUnits')).toBe(150 * 60);
    // 50 RCU throttled of 200 demanded: the SDK's default retries add 1 + 0.25 + 0.0625 attempts.
    expect(at(25, 'ReadProvisionedThroughputThrottleEvents')).toBeCloseTo(50 * 60 * 1.3125, -1);
    expect(at(25, 'ReadThrottleEvents')).toBeCloseTo(50 * 60 * 1.3125, -1);
    expect(at(25, 'ReadKeyRangeThroughputThrottleEvents')).toBeUndefined();
  });

  it('throttles a hot key at the partition limit whatever the table utilization', () => {
    const start = Date.parse(START);
    const sim = new SimAccount({ start: start + 10 * MINUTE_MS, historyStart: start });
    const t = sim.dynamodb.addTable({
      name: 'hot',
      read: 10_000,
      write: 10,
      workload: { read: w.constant(4000), hotKeyShare: 0.9 },
    });
    t.series.ensure(Math.floor(start / MINUTE_MS) + 10);
    const m = Math.floor(start / MINUTE_MS) + 5;
    // 600 RCU of 4,000 throttled on the hot partition; the SDK's retries: 1 + 0.15 + 0.0225 attempts.
    expect(t.series.get('ReadKeyRangeThroughputThrottleEvents', m)?.value).toBeCloseTo(
      (3600 - 3000) * 60 * 1.1725,
      -1,
    );
    expect(t.series.get('ReadProvisionedThroughputThrottleEvents', m)).toBeUndefined();
    expect(t.series.get('ConsumedReadCapacityUnits', m)?.value).toBe(3400 * 60);
  });

  it('bills on-demand tables per request unit', () => {
    const start = Date.parse(START);
    const sim = new SimAccount({ start: start + HOUR_MS, historyStart: start });
    sim.dynamodb.addTable({
      name: 'od',
      billingMode: 'PAY_PER_REQUEST',
      workload: { read: w.constant(100), write: w.constant(10) },
    });
    const cost = sim.dynamodb.costUsd('od', start, start + HOUR_MS);
    expect(cost).toBeCloseTo((100 * 3600 * 0.125 + 10 * 3600 * 0.625) / 1e6, 9);
  });
});

describe('simulated DynamoDB control plane', () => {
  it('reports the default table and account capacity limits', async () => {
    const { ddb } = account();
    const limits = await ddb.send(new DescribeLimitsCommand({}));
    expect(limits).toMatchObject({ TableMaxReadCapacityUnits: 40_000, AccountMaxWriteCapacityUnits: 80_000 });
  });

  it('pages ListTables and throttles ListTagsOfResource above 10 calls per second', async () => {
    const { sim, ddb } = account();
    for (let i = 0; i < 120; i++) sim.dynamodb.addTable({ name: `t-${String(i).padStart(3, '0')}` });
    const first = await ddb.send(new ListTablesCommand({}));
    expect(first.TableNames).toHaveLength(100);
    const second = await ddb.send(
      new ListTablesCommand({ ExclusiveStartTableName: first.LastEvaluatedTableName }),
    );
    expect(second.TableNames).toHaveLength(21);
    expect(second.LastEvaluatedTableName).toBeUndefined();
    const arn = sim.dynamodb.tables.get('carts')?.arn;
    for (let i = 0; i < 10; i++) await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }));
    const err = await rejection(ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn })));
    expect(err).toBeInstanceOf(ThrottlingException);
    expect(err.message).toBe('Rate of requests exceeds the allowed throughput.');
    expect(sim.stats().throttled['dynamodb:ListTagsOfResource']).toBe(1);
    sim.advance(1000);
    const tags = await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }));
    expect(tags.Tags).toEqual([{ Key: 'team', Value: 'checkout' }]);
    expect(sim.stats().calls['dynamodb:ListTagsOfResource']).toBe(12);
  });
});
