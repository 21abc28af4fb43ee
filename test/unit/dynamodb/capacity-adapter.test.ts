import {
  ApplicationAutoScalingClient,
  ConcurrentUpdateException,
  ObjectNotFoundException,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  ValidationException,
} from '@aws-sdk/client-application-auto-scaling';
import {
  DescribeTableCommand,
  DynamoDBClient,
  LimitExceededException,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  ThrottlingException,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyScalingTarget } from '../../../shared/adapters/app-autoscaling.ts';
import { applyDynamodbCapacity } from '../../../shared/adapters/dynamodb-capacity.ts';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { useClock } from '../../../shared/core/clock.ts';
import type { Target } from '../../../shared/core/contracts.ts';
import type { Action } from '../../../shared/core/model.ts';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const ddb = mockClient(DynamoDBClient);
const aas = mockClient(ApplicationAutoScalingClient);
let restore: Array<() => void> = [];

const target: Target = {
  ref: { kind: 'dynamodb-table', id: 'catalog' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};

function describeOut(over: Partial<TableDescription> = {}): { Table: TableDescription } {
  return {
    Table: {
      TableName: 'catalog',
      TableStatus: 'ACTIVE',
      BillingModeSummary: { BillingMode: 'PROVISIONED' },
      ProvisionedThroughput: {
        ReadCapacityUnits: 100,
        WriteCapacityUnits: 50,
        NumberOfDecreasesToday: 4,
        LastDecreaseDateTime: new Date('2026-03-10T11:40:00Z'),
      },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-category',
          IndexStatus: 'ACTIVE',
          ProvisionedThroughput: {
            ReadCapacityUnits: 100,
            WriteCapacityUnits: 50,
            NumberOfDecreasesToday: 0,
          },
        },
      ],
      ...over,
    },
  };
}

function capacityAction(
  direction: 'increase' | 'decrease',
  updates: Array<{ indexName: string | null; read: number; write: number }>,
): Action {
  return {
    tuner: 'dynamodb',
    resource: target.ref,
    kind: 'set-capacity',
    from: null,
    to: null,
    reason: 'test',
    evidence: [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: true,
    params: { tableName: 'catalog', direction, updates },
  };
}

beforeEach(() => {
  restore = [
    useClock({ now: () => NOW }),
    setAwsClients({
      dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
      autoscaling: new ApplicationAutoScalingClient({ region: 'us-east-1' }),
    }),
  ];
});
afterEach(() => {
  ddb.reset();
  aas.reset();
  for (const r of restore.reverse()) r();
});

describe('DynamoDB capacity adapter', () => {
  it('raises the table and its GSI in one UpdateTable', async () => {
    ddb.on(DescribeTableCommand).resolves(describeOut());
    ddb.on(UpdateTableCommand).resolves({});
    const result = await applyDynamodbCapacity(
      capacityAction('increase', [
        { indexName: null, read: 400, write: 50 },
        { indexName: 'by-category', read: 300, write: 50 },
      ]),
      target,
    );
    expect(result.status).toBe('applied');
    expect(ddb).toHaveReceivedCommandTimes(UpdateTableCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateTableCommand, {
      TableName: 'catalog',
      ProvisionedThroughput: { ReadCapacityUnits: 400, WriteCapacityUnits: 50 },
      GlobalSecondaryIndexUpdates: [
        {
          Update: {
            IndexName: 'by-category',
            ProvisionedThroughput: { ReadCapacityUnits: 300, WriteCapacityUnits: 50 },
          },
        },
      ],
    });
  });

  it('never sends an increase that would lower a dimension raised meanwhile', async () => {
    // Someone raised write to 80 since the plan: an increase keeps max(planned, current).
    ddb
      .on(DescribeTableCommand)
      .resolves(describeOut({ ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 80 } }));
    ddb.on(UpdateTableCommand).resolves({});
    await applyDynamodbCapacity(
      capacityAction('increase', [{ indexName: null, read: 400, write: 50 }]),
      target,
    );
    expect(ddb).toHaveReceivedCommandWith(UpdateTableCommand, {
      ProvisionedThroughput: { ReadCapacityUnits: 400, WriteCapacityUnits: 80 },
    });
  });

  it('defers while the table is UPDATING, without calling UpdateTable', async () => {
    ddb.on(DescribeTableCommand).resolves(describeOut({ TableStatus: 'UPDATING' }));
    const result = await applyDynamodbCapacity(
      capacityAction('increase', [{ indexName: null, read: 400, write: 50 }]),
      target,
    );
    expect(result).toMatchObject({ status: 'deferred', until: '2026-03-10T12:01:00.000Z' });
    expect(ddb).not.toHaveReceivedCommand(UpdateTableCommand);
  });

  describe('while a new GSI is being built', () => {
    const building = (backfilling: boolean) =>
      describeOut({
        GlobalSecondaryIndexes: [
          {
            IndexName: 'by-customer',
            IndexStatus: 'CREATING',
            Backfilling: backfilling,
            ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 500 },
          },
        ],
      });

    it('raises the table once the backfill has begun (UpdateTable accepts other operations then)', async () => {
      ddb.on(DescribeTableCommand).resolves(building(true));
      ddb.on(UpdateTableCommand).resolves({});
      const result = await applyDynamodbCapacity(
        capacityAction('increase', [{ indexName: null, read: 400, write: 50 }]),
        target,
      );
      expect(result.status).toBe('applied');
      expect(ddb).toHaveReceivedCommandWith(UpdateTableCommand, {
        ProvisionedThroughput: { ReadCapacityUnits: 400, WriteCapacityUnits: 50 },
      });
    });

    it('waits before the backfill has begun, and for a change to the index being built', async () => {
      ddb.on(DescribeTableCommand).resolves(building(false));
      const early = await applyDynamodbCapacity(
        capacityAction('increase', [{ indexName: null, read: 400, write: 50 }]),
        target,
      );
      expect(early.status).toBe('deferred');
      ddb.on(DescribeTableCommand).resolves(building(true));
      const ofIndex = await applyDynamodbCapacity(
        capacityAction('increase', [{ indexName: 'by-customer', read: 20, write: 800 }]),
        target,
      );
      expect(ofIndex.status).toBe('deferred');
      expect(ddb).not.toHaveReceivedCommand(UpdateTableCommand);
    });
  });

  it('defers on ResourceInUseException', async () => {
    ddb.on(DescribeTableCommand).resolves(describeOut());
    ddb
      .on(UpdateTableCommand)
      .rejects(new ResourceInUseException({ message: 'Table is being updated', $metadata: {} }));
    const result = await applyDynamodbCapacity(
      capacityAction('increase', [{ indexName: null, read: 400, write: 50 }]),
      target,
    );
    expect(result.status).toBe('deferred');
    expect(result.status === 'deferred' && result.reason).toContain('ResourceInUseException');
  });

  it('defers a decrease refused with LimitExceededException (a decrease raced in) to a retry', async () => {
    // DescribeTable showed 3 decreases today; AWS refuses anyway (another decrease since).
    ddb.on(DescribeTableCommand).resolves(
      describeOut({
        ProvisionedThroughput: {
          ReadCapacityUnits: 100,
          WriteCapacityUnits: 50,
          NumberOfDecreasesToday: 3,
          LastDecreaseDateTime: new Date('2026-03-10T11:40:00Z'),
        },
      }),
    );
    ddb.on(UpdateTableCommand).rejects(
      new LimitExceededException({
        message: 'Subscriber limit exceeded: decreases are limited',
        $metadata: {},
      }),
    );
    const result = await applyDynamodbCapacity(
      capacityAction('decrease', [{ indexName: null, read: 20, write: 20 }]),
      target,
    );
    expect(ddb).toHaveReceivedCommandTimes(UpdateTableCommand, 1);
    expect(result).toMatchObject({ status: 'deferred', until: '2026-03-10T12:01:00.000Z' });
    expect(result.status === 'deferred' && result.reason).toContain('LimitExceededException');
  });

  it('holds back a resource over its decrease budget so AWS does not reject the whole request', async () => {
    // The table spent 4 decreases, the last 20 min ago (over budget until 12:40); the GSI has its own.
    ddb.on(DescribeTableCommand).resolves(describeOut());
    ddb.on(UpdateTableCommand).resolves({});
    const result = await applyDynamodbCapacity(
      capacityAction('decrease', [
        { indexName: null, read: 20, write: 20 },
        { indexName: 'by-category', read: 30, write: 20 },
      ]),
      target,
    );
    expect(result.status).toBe('applied');
    expect(result.status === 'applied' && result.detail).toContain(
      'next decrease allowed at 2026-03-10T12:40:00.000Z',
    );
    expect(ddb).toHaveReceivedCommandTimes(UpdateTableCommand, 1);
    const sent = ddb.commandCalls(UpdateTableCommand)[0]?.args[0].input;
    expect(sent?.ProvisionedThroughput).toBeUndefined();
    expect(sent?.GlobalSecondaryIndexUpdates).toEqual([
      {
        Update: {
          IndexName: 'by-category',
          ProvisionedThroughput: { ReadCapacityUnits: 30, WriteCapacityUnits: 20 },
        },
      },
    ]);
  });

  it('defers a decrease to the next slot without calling UpdateTable when every resource is over budget', async () => {
    ddb.on(DescribeTableCommand).resolves(describeOut());
    const result = await applyDynamodbCapacity(
      capacityAction('decrease', [{ indexName: null, read: 20, write: 20 }]),
      target,
    );
    expect(result).toMatchObject({ status: 'deferred', until: '2026-03-10T12:40:00.000Z' });
    expect(ddb).not.toHaveReceivedCommand(UpdateTableCommand);
  });

  it('counts a decrease made yesterday as not today (budget resets at 00:00 UTC)', async () => {
    // 27 decreases, the last at 23:59 yesterday: NumberOfDecreasesToday is stale, today is fresh.
    ddb.on(DescribeTableCommand).resolves(
      describeOut({
        ProvisionedThroughput: {
          ReadCapacityUnits: 100,
          WriteCapacityUnits: 50,
          NumberOfDecreasesToday: 27,
          LastDecreaseDateTime: new Date('2026-03-09T23:59:00Z'),
        },
      }),
    );
    ddb.on(UpdateTableCommand).resolves({});
    const result = await applyDynamodbCapacity(
      capacityAction('decrease', [{ indexName: null, read: 20, write: 20 }]),
      target,
    );
    expect(result.status).toBe('applied');
    expect(ddb).toHaveReceivedCommandWith(UpdateTableCommand, {
      ProvisionedThroughput: { ReadCapacityUnits: 20, WriteCapacityUnits: 20 },
    });
  });

  it('defers on throttling so the next run retries', async () => {
    ddb.on(DescribeTableCommand).resolves(describeOut());
    ddb.on(UpdateTableCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    const result = await applyDynamodbCapacity(
      capacityAction('increase', [{ indexName: null, read: 400, write: 50 }]),
      target,
    );
    expect(result).toMatchObject({ status: 'deferred', until: '2026-03-10T12:01:00.000Z' });
  });

  it('skips a table that no longer exists', async () => {
    ddb
      .on(DescribeTableCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }));
    const result = await applyDynamodbCapacity(
      capacityAction('increase', [{ indexName: null, read: 400, write: 50 }]),
      target,
    );
    expect(result.status).toBe('skipped');
  });

  it('rejects malformed params and changes nothing', async () => {
    const bad = {
      ...capacityAction('increase', []),
      params: { tableName: 'catalog', direction: 'sideways', updates: [] },
    };
    const result = await applyDynamodbCapacity(bad, target);
    expect(result.status).toBe('failed');
    expect(result.status === 'failed' && result.reason).toContain('direction');
    expect(ddb).not.toHaveReceivedCommand(UpdateTableCommand);
  });

  it('switches to on-demand with BillingMode only', async () => {
    ddb.on(DescribeTableCommand).resolves(describeOut());
    ddb.on(UpdateTableCommand).resolves({});
    const result = await applyDynamodbCapacity(
      {
        ...capacityAction('increase', []),
        kind: 'set-capacity-mode',
        params: { tableName: 'catalog', billingMode: 'PAY_PER_REQUEST' },
      },
      target,
    );
    expect(result.status).toBe('applied');
    expect(ddb).toHaveReceivedCommandWith(UpdateTableCommand, {
      TableName: 'catalog',
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('defers a switch to on-demand refused by the 4-per-24-h limit', async () => {
    ddb.on(DescribeTableCommand).resolves(describeOut());
    ddb.on(UpdateTableCommand).rejects(
      new LimitExceededException({
        message: 'Updates to PayPerRequest have been attempted 4 times',
        $metadata: {},
      }),
    );
    const result = await applyDynamodbCapacity(
      {
        ...capacityAction('increase', []),
        kind: 'set-capacity-mode',
        params: { tableName: 'catalog', billingMode: 'PAY_PER_REQUEST' },
      },
      target,
    );
    expect(result).toMatchObject({ status: 'deferred', until: '2026-03-10T13:00:00.000Z' });
  });
});

describe('Application Auto Scaling adapter', () => {
  const action = (params: Record<string, unknown>): Action => ({
    ...capacityAction('increase', []),
    kind: 'set-scaling-target',
    params,
  });

  it('lifts the minimum and turns off scale-in on the target tracking policy', async () => {
    aas.on(RegisterScalableTargetCommand).resolves({});
    aas.on(PutScalingPolicyCommand).resolves({ PolicyARN: 'arn' });
    const result = await applyScalingTarget(
      action({
        resourceId: 'table/catalog',
        scalableDimension: 'dynamodb:table:ReadCapacityUnits',
        minCapacity: 900,
        maxCapacity: 4000,
        policy: { policyName: 'catalog-read', targetValue: 70, disableScaleIn: true },
      }),
      target,
    );
    expect(result.status).toBe('applied');
    expect(aas).toHaveReceivedCommandWith(RegisterScalableTargetCommand, {
      ServiceNamespace: 'dynamodb',
      ResourceId: 'table/catalog',
      ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
      MinCapacity: 900,
      MaxCapacity: 4000,
    });
    expect(aas).toHaveReceivedCommandWith(PutScalingPolicyCommand, {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 70,
        DisableScaleIn: true,
        PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' },
      },
    });
  });

  it('defers on ConcurrentUpdateException and skips a target that is gone', async () => {
    aas
      .on(RegisterScalableTargetCommand)
      .rejects(new ConcurrentUpdateException({ message: 'busy', $metadata: {} }));
    const p = {
      resourceId: 'table/catalog',
      scalableDimension: 'dynamodb:table:ReadCapacityUnits',
      minCapacity: 10,
    };
    expect((await applyScalingTarget(action(p), target)).status).toBe('deferred');
    aas.reset();
    aas
      .on(RegisterScalableTargetCommand)
      .rejects(new ObjectNotFoundException({ message: 'gone', $metadata: {} }));
    expect((await applyScalingTarget(action(p), target)).status).toBe('skipped');
    aas.reset();
    aas.on(RegisterScalableTargetCommand).rejects(new ValidationException({ message: 'bad', $metadata: {} }));
    expect(await applyScalingTarget(action(p), target)).toMatchObject({
      status: 'failed',
      code: 'ValidationException',
    });
  });

  it('refuses a target value outside 20-90% before calling AWS', async () => {
    const result = await applyScalingTarget(
      action({
        resourceId: 'table/catalog',
        scalableDimension: 'dynamodb:table:ReadCapacityUnits',
        policy: { policyName: 'p', targetValue: 95, disableScaleIn: true },
      }),
      target,
    );
    expect(result.status).toBe('failed');
    expect(aas).not.toHaveReceivedCommand(PutScalingPolicyCommand);
  });
});
