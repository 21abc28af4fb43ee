import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeDBProxiesCommand,
  DescribeDBProxyTargetGroupsCommand,
  DescribeDBProxyTargetsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { analyzeInsights, defaultInsightsSettings } from '../../../shared/postgres/insights/findings.ts';
import { findProxyFor } from '../../../shared/postgres/insights/proxy.ts';
import { fetchConnectionSeries } from '../../../shared/postgres/insights/run.ts';
import type { InsightsObservation } from '../../../shared/postgres/insights/types.ts';

const rds = mockClient(RDSClient);
const cw = mockClient(CloudWatchClient);
const now = new Date('2026-11-23T12:00:00Z');
let restore: () => void;

beforeEach(() => {
  restore = setAwsClients({
    rds: new RDSClient({ region: 'us-east-1' }),
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
  });
});

afterEach(() => {
  restore();
  rds.reset();
  cw.reset();
});

function observation(connections: InsightsObservation['connections']): InsightsObservation {
  return {
    database: 'orders',
    serverVersionNum: 160002,
    observedAt: now.toISOString(),
    statements: { available: true, rows: [], byMean: [] },
    indexes: [],
    replicaIdxScans: [],
    unreachableReplicas: [],
    statsAgeSeconds: 0,
    tables: [],
    sessions: [],
    slots: [],
    prepared: [],
    databaseAges: [],
    freezeMaxAge: 200_000_000,
    currentXid: 1,
    connections,
  };
}

describe('connections from CloudWatch', () => {
  it('reads DatabaseConnections for the instance in one GetMetricData call and recommends RDS Proxy on churn', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'conns', Values: [10, 60, 10, 60, 10, 60] }],
    });

    const series = await fetchConnectionSeries('orders-db', now);
    const findings = analyzeInsights(
      observation({ maxConnections: 500, current: 20, dbInstanceIdentifier: 'orders-db', ...series }),
      defaultInsightsSettings,
      [],
      now,
    );

    expect(cw).toHaveReceivedCommandTimes(GetMetricDataCommand, 1);
    expect(cw).toHaveReceivedCommandWith(GetMetricDataCommand, {
      MetricDataQueries: [
        expect.objectContaining({
          MetricStat: expect.objectContaining({
            Metric: {
              Namespace: 'AWS/RDS',
              MetricName: 'DatabaseConnections',
              Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'orders-db' }],
            },
          }),
        }),
      ],
    });
    const proxy = findings.find((f) => f.kind === 'connections');
    expect(proxy?.action).toBe('recommend');
    expect(proxy?.detail).toMatch(/churn/);
    expect(proxy?.detail).not.toMatch(/% of max_connections/);
  });

  it('recommends nothing on a flat, low connection count', () => {
    const findings = analyzeInsights(
      observation({
        maxConnections: 500,
        current: 20,
        series: [20, 21, 20, 21],
        window: { start: '', end: '', periodSeconds: 300 },
      }),
      defaultInsightsSettings,
      [],
      now,
    );
    expect(findings.filter((f) => f.kind === 'connections')).toEqual([]);
  });
});

describe('an existing RDS Proxy', () => {
  it('is found by its target and reported with its pool settings and borrow latency', async () => {
    rds
      .on(DescribeDBProxiesCommand)
      .resolves({ DBProxies: [{ DBProxyName: 'other' }, { DBProxyName: 'orders-proxy' }] });
    rds
      .on(DescribeDBProxyTargetsCommand, { DBProxyName: 'other' })
      .resolves({ Targets: [{ RdsResourceId: 'billing-db' }] });
    rds
      .on(DescribeDBProxyTargetsCommand, { DBProxyName: 'orders-proxy' })
      .resolves({ Targets: [{ RdsResourceId: 'orders-db' }] });
    rds.on(DescribeDBProxyTargetGroupsCommand).resolves({
      TargetGroups: [
        {
          IsDefault: true,
          ConnectionPoolConfig: {
            MaxConnectionsPercent: 50,
            MaxIdleConnectionsPercent: 25,
            ConnectionBorrowTimeout: 120,
          },
        },
      ],
    });
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'borrow', Values: [2_000, 250_000, 3_000] }],
    });

    const proxy = await findProxyFor('orders-db', now);
    const findings = analyzeInsights(
      observation({ maxConnections: 100, current: 90, proxy }),
      defaultInsightsSettings,
      [],
      now,
    );

    expect(proxy).toMatchObject({
      name: 'orders-proxy',
      maxConnectionsPercent: 50,
      borrowTimeoutSeconds: 120,
    });
    const f = findings.filter((x) => x.kind === 'connections');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ key: 'proxy:orders-proxy', severity: 'warning', action: 'recommend' });
    expect(f[0]?.detail).toMatch(/MaxConnectionsPercent 50/);
    expect(cw).toHaveReceivedCommandWith(GetMetricDataCommand, {
      MetricDataQueries: [
        expect.objectContaining({
          MetricStat: expect.objectContaining({
            Metric: expect.objectContaining({
              MetricName: 'DatabaseConnectionsBorrowLatency',
              Dimensions: [{ Name: 'ProxyName', Value: 'orders-proxy' }],
            }),
          }),
        }),
      ],
    });
  });

  it('is absent when no proxy targets the instance', async () => {
    rds.on(DescribeDBProxiesCommand).resolves({ DBProxies: [{ DBProxyName: 'other' }] });
    rds.on(DescribeDBProxyTargetsCommand).resolves({ Targets: [{ RdsResourceId: 'billing-db' }] });
    expect(await findProxyFor('orders-db', now)).toBeUndefined();
  });
});
