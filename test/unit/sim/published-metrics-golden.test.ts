import { createHash } from 'node:crypto';
import {
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import { UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { ModifyDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFleet } from '../../../shared/cli/bench-fleet.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, SimAccount } from '../../../shared/sim/index.ts';

/**
 * A guard for optimizations of the simulator's metric store and CloudWatch paths: what the
 * simulated account publishes (GetMetricData at every retention period and statistic, and the
 * alarm state changes) on a small fleet of the fleet bench, with changes applied mid-way, hashed
 * and compared with the snapshot recorded before those optimizations. Any change to a published
 * value, timestamp, datapoint count or alarm transition changes the hash.
 */

const START = Date.parse('2026-11-23T02:00:00.000Z');
const RDS_METRICS = [
  'ReadIOPS',
  'WriteIOPS',
  'DiskQueueDepth',
  'ReadLatency',
  'WriteLatency',
  'ReadThroughput',
  'WriteThroughput',
  'CPUUtilization',
  'DatabaseConnections',
  'FreeStorageSpace',
  'BurstBalance',
  'EBSIOBalance%',
];
const DDB_METRICS = [
  'ProvisionedReadCapacityUnits',
  'ProvisionedWriteCapacityUnits',
  'ConsumedReadCapacityUnits',
  'ConsumedWriteCapacityUnits',
  'ReadProvisionedThroughputThrottleEvents',
  'ReadThrottleEvents',
  'ThrottledRequests',
  'SuccessfulRequestLatency',
];
const STATS = ['Average', 'Sum', 'SampleCount', 'Maximum', 'Minimum', 'p90'];

function queries(n: number, period: number): MetricDataQuery[] {
  const out: MetricDataQuery[] = [];
  const add = (namespace: string, metric: string, dim: string, value: string) => {
    for (const stat of STATS) {
      out.push({
        Id: `q${out.length}`,
        MetricStat: {
          Metric: { Namespace: namespace, MetricName: metric, Dimensions: [{ Name: dim, Value: value }] },
          Period: period,
          Stat: stat,
        },
      });
    }
  };
  for (let i = 0; i < n; i++) {
    for (const m of RDS_METRICS) add('AWS/RDS', m, 'DBInstanceIdentifier', `fleet-db-${i}`);
    for (const m of DDB_METRICS) add('AWS/DynamoDB', m, 'TableName', `fleet-table-${i}`);
  }
  return out;
}

async function published(sim: SimAccount, n: number, period: number, spanMs: number) {
  const results: MetricDataResult[] = [];
  const all = queries(n, period);
  for (let i = 0; i < all.length; i += 500) {
    let NextToken: string | undefined;
    do {
      const out = await sim.clients().cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: all.slice(i, i + 500),
          StartTime: new Date(sim.nowMs() - spanMs),
          EndTime: new Date(sim.nowMs()),
          NextToken,
        }),
      );
      results.push(...(out.MetricDataResults ?? []));
      NextToken = out.NextToken;
    } while (NextToken);
  }
  return results.map((r) => ({
    id: r.Id,
    status: r.StatusCode,
    t: (r.Timestamps ?? []).map((d) => d.getTime()),
    v: r.Values ?? [],
  }));
}

let sim: SimAccount | undefined;
afterEach(() => {
  sim = undefined;
});

describe('the simulated account publishes the same metrics as before the metric store was optimized', () => {
  it('publishes identical datapoints and alarm transitions for a 3-resource fleet over 4 hours with changes', async () => {
    // Prepare: the fleet bench's fleet (3 instances, 3 tables), 15 days of history, and alarms.
    const n = 3;
    sim = new SimAccount({ start: START, historyStart: START - 15 * DAY_MS, rateLimits: false });
    buildFleet(sim, n);
    sim.cloudwatch.startEvaluation();
    const { cloudwatch, rds, dynamodb } = sim.clients();
    const alarm = (
      name: string,
      namespace: string,
      metric: string,
      dim: string,
      value: string,
      more: object,
    ) =>
      cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          Namespace: namespace,
          MetricName: metric,
          Dimensions: [{ Name: dim, Value: value }],
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 3,
          ...more,
        } as never),
      );
    await alarm('iops-high', 'AWS/RDS', 'ReadIOPS', 'DBInstanceIdentifier', 'fleet-db-0', {
      Statistic: 'Average',
      Period: 60,
      Threshold: 1200,
    });
    await alarm('cpu-high', 'AWS/RDS', 'CPUUtilization', 'DBInstanceIdentifier', 'fleet-db-1', {
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 1,
      Threshold: 40,
    });
    await alarm('reads-high', 'AWS/DynamoDB', 'ConsumedReadCapacityUnits', 'TableName', 'fleet-table-1', {
      Statistic: 'Sum',
      Period: 60,
      Threshold: 2400,
    });
    await alarm('throttles', 'AWS/DynamoDB', 'ReadThrottleEvents', 'TableName', 'fleet-table-2', {
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
    await alarm('latency-p90', 'AWS/RDS', 'ReadLatency', 'DBInstanceIdentifier', 'fleet-db-2', {
      ExtendedStatistic: 'p90',
      Period: 300,
      Threshold: 0.002,
      TreatMissingData: 'breaching',
    });

    // Act: 4 hours in 10-minute steps; an IOPS change and a capacity cut after 1 hour; every
    // hour what CloudWatch publishes at 60 s (2 h) and 300 s (2 days), at the end 3600 s (15 days).
    const hash = createHash('sha256');
    let datapoints = 0;
    let sum = 0;
    const events: string[] = [];
    for (let t = START; t <= START + 4 * HOUR_MS; t += 10 * MINUTE_MS) {
      sim.advanceTo(t);
      if (t === START + HOUR_MS) {
        await rds.send(
          new ModifyDBInstanceCommand({
            DBInstanceIdentifier: 'fleet-db-0',
            AllocatedStorage: 400,
            Iops: 1500,
            ApplyImmediately: true,
          }),
        );
        await dynamodb.send(
          new UpdateTableCommand({
            TableName: 'fleet-table-2',
            ProvisionedThroughput: { ReadCapacityUnits: 20, WriteCapacityUnits: 50 },
          }),
        );
      }
      for (const e of sim.cloudwatch.takeAlarmEvents())
        events.push(`${e.time} ${e.detail.alarmName} ${e.detail.state.value}`);
      if ((t - START) % HOUR_MS !== 0) continue;
      const spans: Array<[number, number]> = [
        [60, 2 * HOUR_MS],
        [300, 2 * DAY_MS],
      ];
      if (t === START + 4 * HOUR_MS) spans.push([3600, 15 * DAY_MS]);
      for (const [period, span] of spans) {
        for (const r of await published(sim, n, period, span)) {
          hash.update(JSON.stringify(r));
          datapoints += r.v.length;
          for (const v of r.v) sum += v;
        }
      }
    }
    hash.update(JSON.stringify(events));

    // Assess: the same digest as recorded before the optimizations (snapshot), and a sanity check
    // that the run published something and had alarms change state.
    expect(datapoints).toBeGreaterThan(100_000);
    expect(events.length).toBeGreaterThan(3);
    expect({
      sha256: hash.digest('hex'),
      datapoints,
      sum: Number(sum.toPrecision(12)),
      events,
    }).toMatchSnapshot();
  });
});
