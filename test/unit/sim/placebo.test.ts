import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { SimAccount } from '../../../shared/sim/index.ts';
import { recordTo, redactAccountIds, replayFrom } from '../../../shared/sim/placebo.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/placebo');
const fake = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };

let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

describe('placebo replay', () => {
  it('serves recorded DescribeDBInstances pages in order, with dates revived', async () => {
    const rds = await replayFrom(new RDSClient(fake), 'rds', FIXTURES);
    const first = await rds.send(new DescribeDBInstancesCommand({}));
    expect(first.DBInstances?.[0]?.DBInstanceIdentifier).toBe('orders-db');
    expect(first.DBInstances?.[0]?.InstanceCreateTime).toEqual(new Date('2025-03-02T10:15:00.000Z'));
    const second = await rds.send(new DescribeDBInstancesCommand({ Marker: first.Marker }));
    expect(second.DBInstances?.[0]?.StorageOperationStatus).toBe('Optimizing');
    expect(second.Marker).toBeUndefined();
  });

  it('rebuilds recorded errors as the SDK exception class', async () => {
    const rds = await replayFrom(new RDSClient(fake), 'rds', FIXTURES);
    await expect(
      rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'orders-db', Iops: 4000 })),
    ).rejects.toBeInstanceOf(InvalidDBInstanceStateFault);
  });

  it('serves a recorded DescribeTable with its decrease budget', async () => {
    const ddb = await replayFrom(new DynamoDBClient(fake), 'dynamodb', FIXTURES);
    const out = await ddb.send(new DescribeTableCommand({ TableName: 'product-catalog' }));
    expect(out.Table?.ProvisionedThroughput?.NumberOfDecreasesToday).toBe(2);
    expect(out.Table?.ProvisionedThroughput?.LastDecreaseDateTime).toEqual(
      new Date('2026-11-20T03:12:44.000Z'),
    );
    expect(out.Table?.GlobalSecondaryIndexes?.[0]?.IndexName).toBe('by-category');
  });

  it('records responses to numbered files that replay gives back (account ids redacted)', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'placebo-'));
    const sim = new SimAccount({ start: '2026-11-20T00:00:00.000Z', accountId: '999988887777' });
    sim.rds.addInstance({ id: 'db1', engine: 'postgres', instanceClass: 'db.m5.large' });
    // The recorder goes first in the stack so that it wraps the simulated answer.
    const recording = sim.attach(recordTo(new RDSClient(fake), 'rds', tmp), 'rds');
    await recording.send(new DescribeDBInstancesCommand({}));
    const text = readFileSync(join(tmp, 'rds', 'DescribeDBInstances_1.json'), 'utf8');
    expect(text).toContain('arn:aws:rds:us-east-1:123456789012:db:db1');
    expect(text).not.toContain('999988887777');
    const replay = await replayFrom(new RDSClient(fake), 'rds', tmp);
    const out = await replay.send(new DescribeDBInstancesCommand({}));
    expect(out.DBInstances?.[0]?.DBInstanceIdentifier).toBe('db1');
    expect(redactAccountIds('owner 111122223333 and 1234567890123')).toBe(
      'owner 123456789012 and 1234567890123',
    );
  });
});
