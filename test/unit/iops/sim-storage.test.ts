import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeEventsCommand, ModifyDBInstanceCommand, RDSServiceException } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../../shared/aws/clients.ts';
import { HOUR_MS, SimAccount } from '../../../shared/sim/index.ts';
import { scheduleStorageAutoscaling } from '../../../shared/sim/rds-storage-rules.ts';

describe('simulated RDS storage autoscaling', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('grows storage at the scheduled time with the autoscaling event, and starts the 6 h wait', async () => {
    // Prepare
    const sim = new SimAccount({
      start: '2026-11-20T00:00:00Z',
      latencyMs: 0,
      historyStart: Date.parse('2026-11-19T00:00:00Z'),
    });
    sim.rds.addInstance({
      id: 'orders',
      engine: 'postgres',
      instanceClass: 'db.r6g.xlarge',
      storageType: 'io1',
      allocatedStorage: 400,
      iops: 3000,
    });
    uninstall = sim.install();
    scheduleStorageAutoscaling(sim, 'orders', sim.nowMs() + HOUR_MS, 440);
    // Act
    sim.advance(2 * HOUR_MS);
    // Assess
    expect(sim.rds.instances.get('orders')).toMatchObject({ allocatedStorage: 440, iops: 3000 });
    const events = await aws().rds.send(
      new DescribeEventsCommand({ SourceIdentifier: 'orders', SourceType: 'db-instance' }),
    );
    expect(
      events.Events?.some((e) =>
        /autoscaling-initiated modification to allocated storage/.test(e.Message ?? ''),
      ),
    ).toBe(true);
    const error = await aws()
      .rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 440,
          Iops: 6000,
          ApplyImmediately: true,
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RDSServiceException);
    expect((error as RDSServiceException).name).toBe('InvalidParameterCombination');
  });

  it("reports more latency the further demand exceeds the IOPS (a closed workload, Little's law)", async () => {
    const sim = new SimAccount({
      start: '2026-11-20T00:00:00Z',
      latencyMs: 0,
      historyStart: Date.parse('2026-11-19T23:00:00Z'),
    });
    sim.rds.addInstance({
      id: 'hot',
      engine: 'postgres',
      instanceClass: 'db.r6g.xlarge',
      storageType: 'io1',
      allocatedStorage: 400,
      iops: 1000,
      workload: { iops: () => 3000 },
    });
    uninstall = sim.install();
    sim.advance(10 * 60_000);
    // CloudWatch publishes with a delay (2 minutes by default): read the last 10 minutes.
    const out = await aws().cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(sim.nowMs() - 10 * 60_000),
        EndTime: new Date(sim.nowMs()),
        MetricDataQueries: [
          {
            Id: 'lat',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/RDS',
                MetricName: 'ReadLatency',
                Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'hot' }],
              },
              Period: 60,
              Stat: 'Average',
            },
          },
        ],
      }),
    );
    const values = out.MetricDataResults?.[0]?.Values ?? [];
    expect(values.length).toBeGreaterThan(3);
    // 3x the IOPS it has: latency well above the unsaturated 1 ms, but noisy: never an exact
    // function of demand a tuner could invert (issue 17).
    const sorted = [...values].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeGreaterThan(0.003);
    expect(new Set(values.map((v) => v.toFixed(6))).size).toBe(values.length);
  });
});
