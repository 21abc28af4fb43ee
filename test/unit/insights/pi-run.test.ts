import {
  DescribeDimensionKeysCommand,
  GetResourceMetricsCommand,
  NotAuthorizedException,
  PIClient,
} from '@aws-sdk/client-pi';
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { piDecisions, readPerformanceInsights } from '../../../shared/insights/pi-run.ts';

const NOW = new Date('2026-11-20T18:20:00.000Z');
const $metadata = { httpStatusCode: 400 };
const rds = mockClient(RDSClient);
const pi = mockClient(PIClient);
let restore: () => void;

beforeEach(() => {
  restore = setAwsClients({
    rds: new RDSClient({ region: 'us-east-1' }),
    pi: new PIClient({ region: 'us-east-1' }),
  });
});
afterEach(() => {
  restore();
  rds.reset();
  pi.reset();
});

function instance(enabled: boolean) {
  return {
    DBInstances: [
      {
        DBInstanceIdentifier: 'shop-mysql',
        DbiResourceId: 'db-ABC',
        Engine: 'mysql',
        DBInstanceClass: 'db.r6g.large',
        PerformanceInsightsEnabled: enabled,
      },
    ],
  };
}

describe('reading Performance Insights', () => {
  it('asks for top SQL by db.load.avg over whole hours, partitioned by wait event, with the DbiResourceId', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(instance(true));
    pi.on(DescribeDimensionKeysCommand).resolves({
      PartitionKeys: [{ Dimensions: { 'db.wait_event.name': 'CPU' } }],
      Keys: [
        {
          Dimensions: { 'db.sql_tokenized.statement': 'SELECT * FROM t WHERE id = ?' },
          Total: 1.5,
          Partitions: [1.5],
        },
      ],
    });
    pi.on(GetResourceMetricsCommand).resolves({
      MetricList: [{ Key: { Metric: 'db.load.avg' }, DataPoints: [{ Timestamp: NOW, Value: 2 }] }],
    });
    const result = await readPerformanceInsights(['shop-mysql'], NOW, 24);
    expect(pi).toHaveReceivedCommandWith(DescribeDimensionKeysCommand, {
      ServiceType: 'RDS',
      Identifier: 'db-ABC',
      Metric: 'db.load.avg',
      StartTime: new Date('2026-11-19T18:00:00.000Z'),
      EndTime: new Date('2026-11-20T18:00:00.000Z'),
      GroupBy: { Group: 'db.sql_tokenized', Limit: 10 },
      PartitionBy: { Group: 'db.wait_event', Limit: 10 },
    });
    const findings = result.findings.get('shop-mysql') ?? [];
    expect(findings[0]?.reason).toMatch(
      /^Performance Insights: "SELECT \* FROM t WHERE id = \?" accounts for 75%/,
    );
    const [decision] = piDecisions(findings, {
      runId: 'r',
      at: NOW.toISOString(),
      trigger: 'schedule',
      dryRun: false,
    });
    expect(decision).toMatchObject({
      tuner: 'insights',
      resource: 'shop-mysql',
      resourceKind: 'rds-instance',
      outcome: 'applied',
    });
  });

  it('recommends turning Performance Insights on where it is off, without calling PI', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(instance(false));
    const result = await readPerformanceInsights(['shop-mysql'], NOW, 24);
    expect(result.findings.get('shop-mysql')?.[0]?.key).toBe('pi-off');
    expect(pi).not.toHaveReceivedCommand(DescribeDimensionKeysCommand);
  });

  it('turns a refused or missing instance into a note, never a crash', async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'gone' })
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata }));
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'shop-mysql' }).resolves(instance(true));
    pi.on(DescribeDimensionKeysCommand).rejects(new NotAuthorizedException({ message: 'denied', $metadata }));
    const result = await readPerformanceInsights(['gone', 'shop-mysql'], NOW, 24);
    expect(result.findings.size).toBe(0);
    expect(result.notes).toEqual([
      'Performance Insights: gone does not exist',
      expect.stringMatching(/not allowed to read shop-mysql/),
    ]);
  });
});
