import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, loadScenario } from '../../../shared/sim/index.ts';

const DAY = Date.parse('2026-11-20T00:00:00.000Z');

function q(
  id: string,
  ns: string,
  metric: string,
  dims: Record<string, string>,
  stat = 'Average',
  period = 60,
): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: ns,
        MetricName: metric,
        Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: period,
      Stat: stat,
    },
  };
}

describe('the securecart scenario', async () => {
  const sim = await loadScenario('securecart');
  sim.advance(22 * HOUR_MS);
  const cw = sim.clients().cloudwatch;

  async function at(hour: number, query: MetricDataQuery): Promise<number | undefined> {
    const t = DAY + hour * HOUR_MS;
    const out = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: [query],
        StartTime: new Date(t),
        EndTime: new Date(t + 60_000),
      }),
    );
    return out.MetricDataResults?.[0]?.Values?.[0];
  }

  it('saturates the io1 orders database at the evening peak and idles at night', async () => {
    const rd = await at(19, q('r', 'AWS/RDS', 'ReadIOPS', { DBInstanceIdentifier: 'securecart-orders' }));
    const wr = await at(19, q('w', 'AWS/RDS', 'WriteIOPS', { DBInstanceIdentifier: 'securecart-orders' }));
    expect((rd ?? 0) + (wr ?? 0)).toBeCloseTo(3000, 0);
    // A closed workload (shared/sim/rds-storage-model.ts): the queue grows with the excess demand,
    // well above the normal ~1 per 1,000 IOPS (3 here), not to an open-loop 64+.
    expect(
      await at(19, q('d', 'AWS/RDS', 'DiskQueueDepth', { DBInstanceIdentifier: 'securecart-orders' })),
    ).toBeGreaterThan(6);
    const night =
      (await at(3, q('r', 'AWS/RDS', 'ReadIOPS', { DBInstanceIdentifier: 'securecart-orders' }))) ?? 0;
    expect(night).toBeLessThan(1000);
  });

  it('drains the gp2 BurstBalance during the afternoon reports', async () => {
    expect(
      await at(8, q('b', 'AWS/RDS', 'BurstBalance', { DBInstanceIdentifier: 'securecart-reports' })),
    ).toBeGreaterThan(90);
    expect(
      await at(15, q('b', 'AWS/RDS', 'BurstBalance', { DBInstanceIdentifier: 'securecart-reports' })),
    ).toBeLessThan(20);
  });

  it('runs the Aurora reader hot at the peak', async () => {
    expect(
      await at(
        19,
        q('c', 'AWS/RDS', 'CPUUtilization', { DBInstanceIdentifier: 'securecart-catalog-aurora-reader-1' }),
      ),
    ).toBe(100);
    expect(
      await at(
        4,
        q('c', 'AWS/RDS', 'CPUUtilization', {
          DBClusterIdentifier: 'securecart-catalog-aurora',
          Role: 'READER',
        }),
      ),
    ).toBeLessThan(50);
  });

  it('throttles the catalog GSI in the flash sale only', async () => {
    const dims = { TableName: 'securecart-catalog', GlobalSecondaryIndexName: 'by-category' };
    expect(
      await at(12.5, q('t', 'AWS/DynamoDB', 'ReadProvisionedThroughputThrottleEvents', dims, 'Sum')),
    ).toBeGreaterThan(0);
    expect(
      await at(10, q('t', 'AWS/DynamoDB', 'ReadProvisionedThroughputThrottleEvents', dims, 'Sum')),
    ).toBeUndefined();
  });

  it('shows a hot key as KeyRange throttling at low utilization', async () => {
    const dims = { TableName: 'securecart-inventory' };
    expect(
      await at(19, q('k', 'AWS/DynamoDB', 'WriteKeyRangeThroughputThrottleEvents', dims, 'Sum')),
    ).toBeGreaterThan(0);
    const consumed = (await at(19, q('c', 'AWS/DynamoDB', 'ConsumedWriteCapacityUnits', dims, 'Sum'))) ?? 0;
    expect(consumed / 60 / 4000).toBeLessThan(0.5);
  });

  it('serves 14 days of history at 300 s', async () => {
    const out = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: [
          q('c', 'AWS/DynamoDB', 'ConsumedReadCapacityUnits', { TableName: 'securecart-carts' }, 'Sum', 300),
        ],
        StartTime: new Date(DAY - 14 * DAY_MS),
        EndTime: new Date(DAY),
      }),
    );
    expect(out.MetricDataResults?.[0]?.Values).toHaveLength(14 * 288);
  });
});

describe('scenario names', () => {
  it('refuses an unknown scenario with a ValidationError naming the known ones', async () => {
    const { getScenario } = await import('../../../shared/sim/scenarios/index.ts');
    const { ValidationError } = await import('../../../shared/core/errors.ts');
    await expect(getScenario('nope')).rejects.toBeInstanceOf(ValidationError);
    await expect(getScenario('nope')).rejects.toThrow(/unknown scenario "nope"; known: securecart/);
  });
});
