import {
  CloudWatchServiceException,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricDataQuery,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, MINUTE_MS, SimAccount, workload as w } from '../../../shared/sim/index.ts';
import { evaluateExpression } from '../../../shared/sim/services/cloudwatch.ts';
import { rejection } from '../../support/rejection.ts';

const NOW = Date.parse('2026-11-20T00:00:00.000Z');

/** An account; `delay` is CloudWatch's publication delay (0 here unless a test is about it). */
function account(historyDays = 1, rateLimits?: Record<string, number>, delay = 0) {
  const sim = new SimAccount({
    start: NOW,
    historyStart: NOW - historyDays * DAY_MS,
    rateLimitClock: 'virtual',
    rateLimits,
  });
  sim.cloudwatch.publicationDelayMinutes = delay;
  return { sim, cw: sim.clients().cloudwatch };
}

function iopsQuery(id: string, instance: string, period = 60, stat = 'Average'): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/RDS',
        MetricName: 'ReadIOPS',
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: instance }],
      },
      Period: period,
      Stat: stat,
    },
  };
}

describe('simulated CloudWatch GetMetricData', () => {
  it('accepts exactly 500 queries and rejects 501', async () => {
    const { sim, cw } = account();
    sim.rds.addInstance({
      id: 'db',
      engine: 'postgres',
      instanceClass: 'db.m5.large',
      workload: { iops: w.constant(100) },
    });
    const queries = (n: number) => Array.from({ length: n }, (_, i) => iopsQuery(`q${i}`, 'db'));
    const ok = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries(500),
        StartTime: new Date(NOW - HOUR_MS),
        EndTime: new Date(NOW),
      }),
    );
    expect(ok.MetricDataResults).toHaveLength(500);
    expect(ok.MetricDataResults?.[0]?.Values).toHaveLength(60);
    const err = await rejection(
      cw.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries(501),
          StartTime: new Date(NOW - HOUR_MS),
          EndTime: new Date(NOW),
        }),
      ),
    );
    expect(err).toBeInstanceOf(CloudWatchServiceException);
    expect(err.name).toBe('ValidationError');
    expect(err.message).toBe('The collection MetricDataQueries must not have a size greater than 500.');
  });

  it('returns at most 100,800 datapoints per call and the rest with NextToken as PartialData', async () => {
    const { sim, cw } = account(1);
    for (let i = 0; i < 71; i++)
      sim.rds.addInstance({
        id: `db${i}`,
        engine: 'postgres',
        instanceClass: 'db.m5.large',
        workload: { iops: w.constant(i) },
      });
    // 71 series x 1,440 minutes = 102,240 datapoints.
    const input = {
      MetricDataQueries: Array.from({ length: 71 }, (_, i) => iopsQuery(`q${i}`, `db${i}`)),
      StartTime: new Date(NOW - DAY_MS),
      EndTime: new Date(NOW),
    };
    const first = await cw.send(new GetMetricDataCommand(input));
    const count = (r: typeof first) =>
      (r.MetricDataResults ?? []).reduce((a, m) => a + (m.Values?.length ?? 0), 0);
    expect(count(first)).toBe(100_800);
    expect(first.NextToken).toBeDefined();
    expect(first.MetricDataResults?.[70]?.StatusCode).toBe('PartialData');
    expect(first.MetricDataResults?.[0]?.StatusCode).toBe('Complete');
    const second = await cw.send(new GetMetricDataCommand({ ...input, NextToken: first.NextToken }));
    expect(count(second)).toBe(102_240 - 100_800);
    expect(second.NextToken).toBeUndefined();
    const bad = await rejection(
      cw.send(
        new GetMetricDataCommand({
          ...input,
          StartTime: new Date(NOW - HOUR_MS),
          NextToken: first.NextToken,
        }),
      ),
    );
    expect(bad.name).toBe('InvalidNextToken');
  });

  it('keeps 60 s data for 15 days, 300 s for 63 days', async () => {
    const { sim, cw } = account(20);
    sim.rds.addInstance({
      id: 'db',
      engine: 'postgres',
      instanceClass: 'db.m5.large',
      workload: { iops: w.constant(100) },
    });
    const range = { StartTime: new Date(NOW - 20 * DAY_MS), EndTime: new Date(NOW) };
    const fine = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: [iopsQuery('a', 'db', 60)],
        ...range,
        ScanBy: 'TimestampAscending',
      }),
    );
    const ts = fine.MetricDataResults?.[0]?.Timestamps ?? [];
    expect(ts).toHaveLength(15 * 24 * 60);
    expect(ts[0]?.getTime()).toBe(NOW - 15 * DAY_MS);
    const coarse = await cw.send(
      new GetMetricDataCommand({ MetricDataQueries: [iopsQuery('a', 'db', 300)], ...range }),
    );
    expect(coarse.MetricDataResults?.[0]?.Values).toHaveLength(20 * 24 * 12);
  });

  it('has no datapoint for counters in quiet minutes while gauges always report', async () => {
    const { sim, cw } = account(1);
    sim.dynamodb.addTable({
      name: 't',
      read: 100,
      write: 10,
      workload: { read: (t) => (t >= NOW - 10 * MINUTE_MS ? 200 : 50) },
    });
    const q = (id: string, metric: string, stat: string): MetricDataQuery => ({
      Id: id,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/DynamoDB',
          MetricName: metric,
          Dimensions: [{ Name: 'TableName', Value: 't' }],
        },
        Period: 60,
        Stat: stat,
      },
    });
    const out = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: [
          q('throttles', 'ReadThrottleEvents', 'Sum'),
          q('prov', 'ProvisionedReadCapacityUnits', 'Average'),
          q('writes', 'ConsumedWriteCapacityUnits', 'Sum'),
        ],
        StartTime: new Date(NOW - HOUR_MS),
        EndTime: new Date(NOW),
      }),
    );
    const [throttles, prov, writes] = out.MetricDataResults ?? [];
    expect(prov?.Values).toHaveLength(60);
    expect(writes?.Values).toHaveLength(0);
    // The bank (300 s x 100 RCU) covers the first 5 minutes of 200 RCU; the last 5 throttle.
    expect(throttles?.Values).toHaveLength(5);
    // 6,000 throttled units a minute; the SDK's default retries (3 attempts) inflate the events:
    // half the demand throttled -> 1 + 0.5 + 0.25 attempts per throttled item.
    expect(throttles?.Values?.every((v) => Math.abs(v - 6000 * 1.75) < 1)).toBe(true);
  });

  it('evaluates metric math over other queries', async () => {
    const { sim, cw } = account(1);
    sim.rds.addInstance({
      id: 'db',
      engine: 'postgres',
      instanceClass: 'db.m5.large',
      workload: { iops: w.constant(1000), readFraction: 0.6 },
    });
    const write = iopsQuery('wr', 'db');
    if (write.MetricStat?.Metric) write.MetricStat.Metric.MetricName = 'WriteIOPS';
    const out = await cw.send(
      new GetMetricDataCommand({
        MetricDataQueries: [
          { ...iopsQuery('rd', 'db'), ReturnData: false },
          { ...write, ReturnData: false },
          { Id: 'total', Expression: 'rd + wr' },
        ],
        StartTime: new Date(NOW - 10 * MINUTE_MS),
        EndTime: new Date(NOW),
      }),
    );
    expect(out.MetricDataResults?.map((r) => r.Id)).toEqual(['total']);
    expect(out.MetricDataResults?.[0]?.Values?.[0]).toBeCloseTo(1000, 6);
  });

  it('throttles GetMetricData above 50 calls per second', async () => {
    const { sim, cw } = account(1);
    const input = {
      MetricDataQueries: [iopsQuery('a', 'db')],
      StartTime: new Date(NOW - HOUR_MS),
      EndTime: new Date(NOW),
    };
    for (let i = 0; i < 50; i++) await cw.send(new GetMetricDataCommand(input));
    const err = await rejection(cw.send(new GetMetricDataCommand(input)));
    expect(err).toBeInstanceOf(CloudWatchServiceException);
    expect(err.name).toBe('Throttling');
    expect(err.message).toBe('Rate exceeded');
    expect(sim.stats().calls['cloudwatch:GetMetricData']).toBe(51);
  });
});

describe('simulated CloudWatch metric math', () => {
  // a at t=1,2,3; b at t=2,3,4.
  const series = new Map([
    ['a', { timestamps: [1, 2, 3], values: [1, 2, 3] }],
    ['b', { timestamps: [2, 3, 4], values: [10, 20, 30] }],
  ]);
  const evaluate = (expr: string) => {
    const s = evaluateExpression(expr, series);
    return s.timestamps.map((t, i) => [t, s.values[i]]);
  };

  it('applies + - * / on the timestamps both series have, a scalar on every point, x / 0 as 0', () => {
    expect(evaluate('a + b')).toEqual([
      [2, 12],
      [3, 23],
    ]);
    expect(evaluate('b - a * 2')).toEqual([
      [2, 6],
      [3, 14],
    ]);
    expect(evaluate('(a + 1) / 0')).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    expect(evaluate('-a')).toEqual([
      [1, -1],
      [2, -2],
      [3, -3],
    ]);
  });

  it('aggregates across series at every timestamp any of them has, with or without brackets', () => {
    expect(evaluate('SUM([a, b])')).toEqual([
      [1, 1],
      [2, 12],
      [3, 23],
      [4, 30],
    ]);
    expect(evaluate('avg(a, b)')).toEqual([
      [1, 1],
      [2, 6],
      [3, 11.5],
      [4, 30],
    ]);
    expect(evaluate('MAX([a, 5])').map(([, v]) => v)).toEqual([5, 5, 5, 5]);
    expect(evaluate('MIN(a, b)').map(([, v]) => v)).toEqual([1, 2, 3, 30]);
  });

  it('fills the missing timestamps of a series with FILL', () => {
    expect(evaluate('FILL(a, 0)')).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 0],
    ]);
    expect(evaluate('FILL(b, 7) + 1').map(([, v]) => v)).toEqual([8, 11, 21, 31]);
  });

  it('rejects an unknown id, an unsupported operator and an unfinished expression', () => {
    expect(() => evaluate('a + c')).toThrow('unknown id c');
    expect(() => evaluate('a % 2')).toThrow('unsupported syntax');
    expect(() => evaluate('(a + b')).toThrow('expected )');
    expect(() => evaluate('a +')).toThrow('unexpected end');
    expect(() => evaluate('a b')).toThrow('unexpected token');
  });
});

describe('simulated CloudWatch publication delay', () => {
  const consumed = (stat: string, metric = 'ConsumedReadCapacityUnits'): MetricDataQuery => ({
    Id: stat.toLowerCase(),
    MetricStat: {
      Metric: {
        Namespace: 'AWS/DynamoDB',
        MetricName: metric,
        Dimensions: [{ Name: 'TableName', Value: 't' }],
      },
      Period: 60,
      Stat: stat,
    },
  });

  for (const delay of [2, 5]) {
    it(`shows only minutes older than the ${delay}-minute delay, the newest one partial (Sum, SampleCount) with its Average intact`, async () => {
      const { sim, cw } = account(1, undefined, delay);
      sim.dynamodb.addTable({ name: 't', read: 1000, write: 10, workload: { read: () => 100 } });
      sim.advance(10 * MINUTE_MS);
      const now = NOW + 10 * MINUTE_MS;
      const out = await cw.send(
        new GetMetricDataCommand({
          MetricDataQueries: [consumed('Sum'), consumed('SampleCount'), consumed('Average')],
          StartTime: new Date(now - 20 * MINUTE_MS),
          EndTime: new Date(now),
          ScanBy: 'TimestampAscending',
        }),
      );
      const [sum, count, avg] = out.MetricDataResults ?? [];
      const newest = now - (delay + 1) * MINUTE_MS;
      expect(sum?.Timestamps?.at(-1)?.getTime()).toBe(newest);
      expect(sum?.Timestamps).toHaveLength(20 - delay);
      const whole = sum?.Values?.[0] ?? 0;
      expect(whole).toBeCloseTo(6000, 6);
      expect(sum?.Values?.at(-1)).toBeCloseTo(whole / 2, 6);
      expect(count?.Values?.at(-1)).toBe(Math.round((count?.Values?.[0] ?? 0) / 2));
      expect(avg?.Values?.at(-1)).toBeCloseTo(avg?.Values?.[0] ?? -1, 6);
      // The simulator's own view (what it bills and throttles on) is not delayed.
      sim.cloudwatch.publicationDelayMinutes = 0;
      const truth = await cw.send(
        new GetMetricDataCommand({
          MetricDataQueries: [consumed('Sum')],
          StartTime: new Date(now - 20 * MINUTE_MS),
          EndTime: new Date(now),
        }),
      );
      expect(truth.MetricDataResults?.[0]?.Values).toHaveLength(20);
    });
  }
});

describe('simulated CloudWatch alarms', () => {
  for (const delay of [0, 2]) {
    it(`evaluates an alarm from its metric each minute and queues the state change event (publication delay ${delay} min: ${delay} min later)`, async () => {
      const { sim, cw } = account(1, undefined, delay);
      sim.rds.addInstance({
        id: 'db',
        engine: 'postgres',
        instanceClass: 'db.m5.large',
        storageType: 'io1',
        allocatedStorage: 400,
        iops: 1000,
        workload: { iops: (t) => (t >= NOW + 5 * MINUTE_MS ? 4000 : 500) },
      });
      await cw.send(
        new PutMetricAlarmCommand({
          AlarmName: 'dbap-iops-db-queue',
          Namespace: 'AWS/RDS',
          MetricName: 'DiskQueueDepth',
          Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'db' }],
          Statistic: 'Average',
          Period: 60,
          EvaluationPeriods: 2,
          DatapointsToAlarm: 2,
          // The storage model is a closed workload: 4x the IOPS queues at 3-10 (noisy), not 64+;
          // within the IOPS it stays under 1.
          Threshold: 2,
          ComparisonOperator: 'GreaterThanThreshold',
        }),
      );
      sim.cloudwatch.startEvaluation();
      sim.advance((4 + delay) * MINUTE_MS);
      const ok = await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'dbap-' }));
      expect(ok.MetricAlarms?.[0]?.StateValue).toBe('OK');
      sim.advance(4 * MINUTE_MS);
      const events = sim.cloudwatch.takeAlarmEvents();
      const alarm = events.find((e) => e.detail.state.value === 'ALARM');
      expect(alarm?.['detail-type']).toBe('CloudWatch Alarm State Change');
      expect(alarm?.detail.alarmName).toBe('dbap-iops-db-queue');
      expect(alarm?.time).toBe(new Date(NOW + (7 + delay) * MINUTE_MS).toISOString());
    });
  }

  it('changes state on SetAlarmState', async () => {
    const { sim, cw } = account(1);
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'a',
        Namespace: 'X',
        MetricName: 'Y',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Statistic: 'Sum',
      }),
    );
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'a', StateValue: 'ALARM', StateReason: 'demo' }));
    expect(sim.cloudwatch.takeAlarmEvents().map((e) => e.detail.state.value)).toEqual(['ALARM']);
    const missing = await rejection(
      cw.send(new SetAlarmStateCommand({ AlarmName: 'b', StateValue: 'ALARM', StateReason: 'demo' })),
    );
    expect(missing.name).toBe('ResourceNotFound');
  });
});
