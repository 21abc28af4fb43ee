import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DBClusterNotFoundFault,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  InvalidDBClusterStateFault,
  ModifyDBClusterCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS, SimAccount } from '../../../shared/sim/index.ts';
import { addServerlessCluster, serverlessBounds } from '../../../shared/sim/services/aurora-serverless.ts';
import { constant, spikes } from '../../../shared/sim/workload.ts';

const START = '2026-11-20T00:00:00.000Z';
const startMs = Date.parse(START);

function account(spec: Partial<Parameters<typeof addServerlessCluster>[1]> = {}) {
  const sim = new SimAccount({ start: START, historyStart: startMs - 2 * HOUR_MS });
  addServerlessCluster(sim, {
    id: 'accounts',
    engine: 'aurora-postgresql',
    engineVersion: '16.4',
    bounds: { min: 2, max: 16 },
    writerId: 'accounts-writer',
    readers: [{ id: 'accounts-reader-1', promotionTier: 1 }],
    workload: { acu: constant(4) },
    ...spec,
  });
  return sim;
}

/** Minute averages of one instance metric as GetMetricData returns them (oldest first). */
async function series(sim: SimAccount, id: string, metric: string, fromMs: number, toMs: number) {
  const out = await sim.clients().cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(fromMs),
      EndTime: new Date(toMs),
      ScanBy: 'TimestampAscending',
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/RDS',
              MetricName: metric,
              Dimensions: [{ Name: 'DBInstanceIdentifier', Value: id }],
            },
            Period: 60,
            Stat: 'Average',
          },
        },
      ],
    }),
  );
  const r = out.MetricDataResults?.[0];
  return { values: r?.Values ?? [], timestamps: (r?.Timestamps ?? []).map((t) => t.getTime()) };
}

describe('simulated Aurora Serverless v2', () => {
  it('shows the capacity range in DescribeDBClusters, SecondsUntilAutoPause only with MinCapacity 0', async () => {
    const sim = account();
    const rds = sim.clients().rds;
    const out = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'accounts' }));
    expect(out.DBClusters?.[0]?.ServerlessV2ScalingConfiguration).toEqual({
      MinCapacity: 2,
      MaxCapacity: 16,
    });
    await rds.send(
      new ModifyDBClusterCommand({
        DBClusterIdentifier: 'accounts',
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 16, SecondsUntilAutoPause: 900 },
      }),
    );
    const after = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'accounts' }));
    expect(after.DBClusters?.[0]?.ServerlessV2ScalingConfiguration).toEqual({
      MinCapacity: 0,
      MaxCapacity: 16,
      SecondsUntilAutoPause: 900,
    });
    const members = await rds.send(
      new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: ['accounts'] }] }),
    );
    expect(members.DBInstances?.map((i) => i.DBInstanceClass)).toEqual(['db.serverless', 'db.serverless']);
  });

  it('drops SecondsUntilAutoPause with a nonzero minimum, and a minimum back at 0 gets the default 300 s', async () => {
    const sim = account({ bounds: { min: 0, max: 16, secondsUntilAutoPause: 900 } });
    const rds = sim.clients().rds;
    const range = async (cfg: { MinCapacity: number; MaxCapacity: number }) => {
      await rds.send(
        new ModifyDBClusterCommand({
          DBClusterIdentifier: 'accounts',
          ServerlessV2ScalingConfiguration: cfg,
        }),
      );
      const out = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'accounts' }));
      return out.DBClusters?.[0]?.ServerlessV2ScalingConfiguration;
    };
    expect(await range({ MinCapacity: 0, MaxCapacity: 8 })).toEqual({
      MinCapacity: 0,
      MaxCapacity: 8,
      SecondsUntilAutoPause: 900,
    });
    expect(await range({ MinCapacity: 1, MaxCapacity: 8 })).toEqual({ MinCapacity: 1, MaxCapacity: 8 });
    expect(await range({ MinCapacity: 0, MaxCapacity: 8 })).toEqual({
      MinCapacity: 0,
      MaxCapacity: 8,
      SecondsUntilAutoPause: 300,
    });
  });

  it('answers ModifyDBCluster with the SDK exceptions AWS uses', async () => {
    const sim = account({ engineVersion: '15.4' });
    const rds = sim.clients().rds;
    const modify = (id: string, MinCapacity: number, MaxCapacity: number, SecondsUntilAutoPause?: number) =>
      rds.send(
        new ModifyDBClusterCommand({
          DBClusterIdentifier: id,
          ServerlessV2ScalingConfiguration: { MinCapacity, MaxCapacity, SecondsUntilAutoPause },
        }),
      );
    await expect(modify('nope', 1, 8)).rejects.toBeInstanceOf(DBClusterNotFoundFault);
    await expect(modify('accounts', 1.25, 8)).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(modify('accounts', 1, 300)).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(modify('accounts', 0, 8)).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringMatching(/0 needs auto-pause/),
    });
    await expect(modify('accounts', 12, 8)).rejects.toMatchObject({ name: 'InvalidParameterCombination' });
    const cluster = sim.rds.clusters.get('accounts');
    if (cluster) cluster.status = 'modifying';
    await expect(modify('accounts', 1, 8)).rejects.toBeInstanceOf(InvalidDBClusterStateFault);
    expect(serverlessBounds(sim, 'accounts')).toMatchObject({ min: 2, max: 16 });
  });

  it('publishes capacity within the bounds, ACUUtilization against MaxCapacity, and nothing for the newest minutes', async () => {
    const sim = account();
    sim.advance(30 * MINUTE_MS);
    const now = sim.nowMs();
    const cap = await series(sim, 'accounts-writer', 'ServerlessDatabaseCapacity', now - 20 * MINUTE_MS, now);
    const util = await series(sim, 'accounts-writer', 'ACUUtilization', now - 20 * MINUTE_MS, now);
    expect(cap.values.length).toBeGreaterThan(10);
    for (const v of cap.values) {
      expect(v).toBeGreaterThanOrEqual(2);
      expect(v).toBeLessThanOrEqual(16);
    }
    // Demand 4 ACU with 10% headroom: 4.5 ACU (0.5 steps), 4.5 / 16 = 28%.
    expect(cap.values.at(-1)).toBeCloseTo(4.5, 5);
    expect(util.values.at(-1)).toBeCloseTo((100 * 4.5) / 16, 5);
    // CloudWatch's publication delay (2 minutes in the simulator): the newest minutes are missing.
    expect(Math.max(...cap.timestamps)).toBeLessThanOrEqual(now - 2 * MINUTE_MS);
  });

  it('reaches a raised MinCapacity at the scaling speed, not at once, and the tier-1 reader follows the writer', async () => {
    const sim = account({ workload: { acu: constant(0.2) } });
    sim.advance(10 * MINUTE_MS);
    await sim.clients().rds.send(
      new ModifyDBClusterCommand({
        DBClusterIdentifier: 'accounts',
        ServerlessV2ScalingConfiguration: { MinCapacity: 64, MaxCapacity: 128 },
      }),
    );
    const raisedAt = sim.nowMs();
    sim.advance(15 * MINUTE_MS);
    const writer = await series(sim, 'accounts-writer', 'ServerlessDatabaseCapacity', raisedAt, sim.nowMs());
    const reader = await series(
      sim,
      'accounts-reader-1',
      'ServerlessDatabaseCapacity',
      raisedAt,
      sim.nowMs(),
    );
    expect(writer.values[0]).toBeLessThan(64);
    expect(writer.values.at(-1)).toBe(64);
    expect(reader.values).toEqual(writer.values);
  });

  it('pauses at 0 ACU after SecondsUntilAutoPause without connections, and resumes on demand', async () => {
    const sim = account({
      bounds: { min: 0, max: 8, secondsUntilAutoPause: 300 },
      readers: [],
      workload: {
        acu: spikes({ everyMs: 2 * HOUR_MS, durationMs: 10 * MINUTE_MS, height: 2, offsetMs: HOUR_MS }),
      },
    });
    sim.advance(90 * MINUTE_MS);
    const now = sim.nowMs();
    const cap = await series(sim, 'accounts-writer', 'ServerlessDatabaseCapacity', now - 80 * MINUTE_MS, now);
    const conns = await series(sim, 'accounts-writer', 'DatabaseConnections', now - 80 * MINUTE_MS, now);
    expect(cap.values).toContain(0);
    expect(Math.max(...cap.values)).toBeGreaterThanOrEqual(2);
    // Paused minutes have no connections.
    cap.values.forEach((v, i) => {
      if (v === 0) expect(conns.values[i]).toBe(0);
    });
  });
});
