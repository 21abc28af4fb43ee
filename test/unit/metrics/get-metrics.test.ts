import {
  CloudWatchClient,
  CloudWatchServiceException,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { ValidationError } from '../../../shared/core/errors.ts';
import { describePlan, getMetrics } from '../../../shared/metrics/fetch.ts';
import { effectivePeriod, type SeriesRequest } from '../../../shared/metrics/plan.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const fast = {};

function gauge(i: number, metricName = 'CPUUtilization'): SeriesRequest {
  return {
    id: `s${i}`,
    kind: 'gauge',
    statistic: 'Average',
    metric: { namespace: 'AWS/RDS', metricName, dimensions: { DBInstanceIdentifier: `db-${i}` } },
  };
}

type Responder = (input: GetMetricDataCommandInput) => MetricDataResult[];

/** Answers every returned query with one value per period (value = index of the point). */
const fullData: Responder = (input) => {
  const start = input.StartTime?.getTime() ?? 0;
  const end = input.EndTime?.getTime() ?? 0;
  return (input.MetricDataQueries ?? [])
    .filter((q) => q.ReturnData !== false)
    .map((q) => {
      const period = (q.MetricStat?.Period ?? q.Period ?? 60) * 1000;
      const ts: Date[] = [];
      const vs: number[] = [];
      for (let t = start, i = 0; t < end; t += period, i++) {
        ts.push(new Date(t));
        vs.push(i);
      }
      return { Id: q.Id, Timestamps: ts, Values: vs, StatusCode: 'Complete' };
    });
};

describe('getMetrics', () => {
  const cw = mockClient(CloudWatchClient);
  let restore: () => void;

  beforeEach(() => {
    restore = setAwsClients({ cloudwatch: new CloudWatchClient({ region: 'us-east-1' }) });
  });
  afterEach(() => {
    cw.reset();
    restore();
  });

  const answer = (r: Responder) =>
    cw
      .on(GetMetricDataCommand)
      .callsFake(async (input: GetMetricDataCommandInput) => ({ MetricDataResults: r(input) }));

  it('reads exactly 500 series in one call', async () => {
    answer(fullData);
    const series = Array.from({ length: 500 }, (_, i) => gauge(i));
    const result = await getMetrics(
      { series, start: new Date(NOW.getTime() - HOUR), end: NOW, periodSeconds: 60, now: NOW },
      fast,
    );
    expect(result.calls).toBe(1);
    expect(result.minCalls).toBe(1);
    expect(cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries).toHaveLength(500);
    expect(result.series.get('s499')?.values).toHaveLength(60);
    expect(result.series.get('s499')?.values[59]).toBe(59);
  });

  it('needs two calls for 501 series and never puts more than 500 queries in one', async () => {
    answer(fullData);
    const series = Array.from({ length: 501 }, (_, i) => gauge(i));
    const result = await getMetrics(
      { series, start: new Date(NOW.getTime() - HOUR), end: NOW, periodSeconds: 60, now: NOW },
      fast,
    );
    expect(result.calls).toBe(2);
    expect(result.minCalls).toBe(2);
    const sizes = cw
      .commandCalls(GetMetricDataCommand)
      .map((c) => c.args[0].input.MetricDataQueries?.length ?? 0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(500);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(501);
    expect([...result.series.values()].every((s) => s.values.every((v) => v !== null))).toBe(true);
  });

  it('splits requests at the 100,800 datapoint cap', async () => {
    answer(fullData);
    // 7 days at 60 s = 10,080 points per series: 10 series fill one request exactly, 11 need two.
    const start = new Date(NOW.getTime() - 7 * DAY);
    const ten = await getMetrics(
      {
        series: Array.from({ length: 10 }, (_, i) => gauge(i)),
        start,
        end: NOW,
        periodSeconds: 60,
        now: NOW,
      },
      fast,
    );
    expect(ten.calls).toBe(1);
    cw.resetHistory();
    const eleven = await getMetrics(
      {
        series: Array.from({ length: 11 }, (_, i) => gauge(i)),
        start,
        end: NOW,
        periodSeconds: 60,
        now: NOW,
      },
      fast,
    );
    expect(eleven.calls).toBe(2);
    expect(eleven.minCalls).toBe(2);
    const sizes = cw
      .commandCalls(GetMetricDataCommand)
      .map((c) => (c.args[0].input.MetricDataQueries?.length ?? 0) * 10_080);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100_800);
  });

  it('follows NextToken and merges the pages of a PartialData result', async () => {
    const start = new Date(NOW.getTime() - HOUR);
    const ts = (i: number) => new Date(start.getTime() + i * 60_000);
    cw.on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'q0', Timestamps: [ts(0), ts(1)], Values: [5, 6], StatusCode: 'PartialData' },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        MetricDataResults: [{ Id: 'q0', Timestamps: [ts(59)], Values: [9], StatusCode: 'Complete' }],
      });
    const result = await getMetrics(
      { series: [gauge(0)], start, end: NOW, periodSeconds: 60, now: NOW },
      fast,
    );
    expect(result.calls).toBe(2);
    expect(cw).toHaveReceivedNthCommandWith(GetMetricDataCommand, 2, { NextToken: 'page-2' });
    const s = result.series.get('s0');
    expect(s?.status).toBe('Complete');
    expect(s?.values.slice(0, 2)).toEqual([5, 6]);
    expect(s?.values[59]).toBe(9);
    expect(s?.values[30]).toBeNull();
  });

  it('fills missing counter datapoints with zero once complete and leaves missing gauge datapoints unknown', async () => {
    const start = new Date(NOW.getTime() - 10 * 60_000);
    const ts = new Date(start.getTime() + 3 * 60_000);
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'q0', Timestamps: [ts], Values: [7], StatusCode: 'Complete' },
        { Id: 'q1', Timestamps: [ts], Values: [42], StatusCode: 'Complete' },
      ],
    });
    const result = await getMetrics(
      {
        series: [
          { ...gauge(0, 'ReadThrottleEvents'), id: 'throttles', kind: 'counter', statistic: 'Sum' },
          { ...gauge(1), id: 'cpu' },
        ],
        start,
        end: NOW,
        periodSeconds: 60,
        now: NOW,
      },
      fast,
    );
    // The last 3 minutes (2-minute publication delay + the minute still filling) are unknown, not 0.
    expect(result.completePoints).toBe(7);
    expect(result.series.get('throttles')?.values).toEqual([0, 0, 0, 7, 0, 0, 0, null, null, null]);
    expect(result.series.get('cpu')?.values).toEqual([
      null,
      null,
      null,
      42,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('keeps gaps unknown, even for counters, when CloudWatch leaves a result PartialData without a NextToken', async () => {
    const start = new Date(NOW.getTime() - 3 * 60_000);
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'q0', Timestamps: [start], Values: [1], StatusCode: 'PartialData' }],
    });
    const result = await getMetrics(
      {
        series: [{ ...gauge(0, 'WriteThrottleEvents'), kind: 'counter', statistic: 'Sum' }],
        start,
        end: NOW,
        periodSeconds: 60,
        now: NOW,
      },
      fast,
    );
    const s = result.series.get('s0');
    expect(s?.status).toBe('PartialData');
    expect(s?.values).toEqual([1, null, null]);
  });

  it('does not count a counter period that has not ended yet as zero', async () => {
    const now = new Date(NOW.getTime() + 30_000); // half-way through the last minute
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'q0', Timestamps: [], Values: [], StatusCode: 'Complete' }],
    });
    const result = await getMetrics(
      {
        series: [{ ...gauge(0, 'ReadThrottleEvents'), kind: 'counter', statistic: 'Sum' }],
        start: new Date(NOW.getTime() - 2 * 60_000),
        end: now,
        periodSeconds: 60,
        now,
        publicationDelaySeconds: 0,
      },
      fast,
    );
    expect(result.series.get('s0')?.values).toEqual([0, 0, null]);
  });

  it('reads the newest minutes as unknown, not zero, until they are old enough to be published whole', async () => {
    const start = new Date(NOW.getTime() - 10 * 60_000);
    // 2-minute publication delay: CloudWatch has minutes 0-6 whole, minute 7 partly (a Sum
    // still filling), 8-9 not yet.
    const ts = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => new Date(start.getTime() + i * 60_000));
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'q0', Timestamps: ts, Values: [60, 60, 60, 60, 60, 60, 60, 30], StatusCode: 'Complete' },
      ],
    });
    const read = (publicationDelaySeconds?: number) =>
      getMetrics(
        {
          series: [{ ...gauge(0, 'ConsumedReadCapacityUnits'), kind: 'counter', statistic: 'Sum' }],
          start,
          end: NOW,
          periodSeconds: 60,
          now: NOW,
          publicationDelaySeconds,
        },
        fast,
      );
    const byDefault = await read();
    expect(byDefault.completePoints).toBe(7);
    expect(byDefault.series.get('s0')?.values).toEqual([60, 60, 60, 60, 60, 60, 60, 30, null, null]);
    const late = await read(300);
    expect(late.completePoints).toBe(5);
    expect(late.series.get('s0')?.values.slice(5)).toEqual([60, 60, 30, null, null]);
    const none = await read(0);
    expect(none.completePoints).toBe(10);
    expect(none.series.get('s0')?.values.slice(8)).toEqual([0, 0]);
  });

  it('leaves retries to the SDK: a throttling error that outlived them is thrown, not retried again', async () => {
    answer(fullData);
    const throttle = new CloudWatchServiceException({
      name: 'Throttling',
      $fault: 'client',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400, attempts: 3 },
    });
    cw.on(GetMetricDataCommand).rejectsOnce(throttle);
    await expect(
      getMetrics({
        series: [gauge(0)],
        start: new Date(NOW.getTime() - HOUR),
        end: NOW,
        periodSeconds: 60,
        now: NOW,
      }),
    ).rejects.toThrow('Rate exceeded');
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
  });

  it("counts the SDK's own retries from the response's attempts", async () => {
    cw.on(GetMetricDataCommand).callsFake(async (input) => ({
      MetricDataResults: fullData(input),
      $metadata: { attempts: 3 },
    }));
    const result = await getMetrics({
      series: [gauge(0)],
      start: new Date(NOW.getTime() - HOUR),
      end: NOW,
      periodSeconds: 60,
      now: NOW,
    });
    expect(result.calls).toBe(1);
    expect(result.throttledRetries).toBe(2);
  });

  it('gives up on an error that is not throttling without retrying', async () => {
    cw.on(GetMetricDataCommand).rejects(
      new CloudWatchServiceException({
        name: 'InvalidParameterValue',
        $fault: 'client',
        message: 'bad',
        $metadata: {},
      }),
    );
    await expect(
      getMetrics(
        { series: [gauge(0)], start: new Date(NOW.getTime() - HOUR), end: NOW, periodSeconds: 60, now: NOW },
        fast,
      ),
    ).rejects.toThrow(/bad/);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
  });

  it('computes a sum with metric math only when datapoints, not queries, limit the calls', async () => {
    answer(fullData);
    const sum = (i: number): SeriesRequest => ({
      id: `iops${i}`,
      kind: 'gauge',
      statistic: 'Average',
      sumOf: ['ReadIOPS', 'WriteIOPS'].map((metricName) => ({
        namespace: 'AWS/RDS',
        metricName,
        dimensions: { DBInstanceIdentifier: `db-${i}` },
      })),
    });
    // 14 days at 60 s = 20,160 points. 10 sums: plain = 20 series x 20,160 = 4 calls; math = 2.
    const long = await getMetrics(
      {
        series: Array.from({ length: 10 }, (_, i) => sum(i)),
        start: new Date(NOW.getTime() - 14 * DAY),
        end: NOW,
        periodSeconds: 60,
        now: NOW,
      },
      fast,
    );
    expect(long.calls).toBe(2);
    const queries = cw
      .commandCalls(GetMetricDataCommand)
      .flatMap((c) => c.args[0].input.MetricDataQueries ?? []);
    expect(queries.filter((q) => q.Expression)).toHaveLength(10);
    expect(queries.filter((q) => q.ReturnData === false)).toHaveLength(20);
    cw.resetHistory();
    // 1 hour: queries bind (3 per sum with math vs 2 without), so plain queries summed locally.
    const short = await getMetrics(
      {
        series: Array.from({ length: 250 }, (_, i) => sum(i)),
        start: new Date(NOW.getTime() - HOUR),
        end: NOW,
        periodSeconds: 60,
        now: NOW,
      },
      fast,
    );
    expect(short.calls).toBe(1);
    const q2 = cw.commandCalls(GetMetricDataCommand).flatMap((c) => c.args[0].input.MetricDataQueries ?? []);
    expect(q2.some((q) => q.Expression)).toBe(false);
    expect(short.series.get('iops0')?.values[10]).toBe(20); // 10 + 10
  });

  it('reports a series CloudWatch could not read and keeps its values unknown', async () => {
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: 'q0',
          Timestamps: [],
          Values: [],
          StatusCode: 'Forbidden',
          Messages: [{ Code: 'Forbidden', Value: 'no access' }],
        },
      ],
    });
    const result = await getMetrics(
      {
        series: [{ ...gauge(0), kind: 'counter', statistic: 'Sum' }],
        start: new Date(NOW.getTime() - 120_000),
        end: NOW,
        periodSeconds: 60,
        now: NOW,
      },
      fast,
    );
    expect(result.series.get('s0')?.values).toEqual([null, null]);
    expect(result.notes.join('\n')).toMatch(/s0: Forbidden/);
  });

  it('rejects a query with duplicate series ids and says where', async () => {
    await expect(
      getMetrics(
        {
          series: [gauge(0), gauge(0)],
          start: new Date(NOW.getTime() - HOUR),
          end: NOW,
          periodSeconds: 60,
          now: NOW,
        },
        fast,
      ),
    ).rejects.toThrow(/metricsQuery\.series: series ids must be unique/);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });
});

describe('effectivePeriod', () => {
  it('coarsens the period to what CloudWatch still keeps for the window start', () => {
    expect(effectivePeriod(60, new Date(NOW.getTime() - 14 * DAY), NOW)).toBe(60);
    expect(effectivePeriod(60, new Date(NOW.getTime() - 20 * DAY), NOW)).toBe(300);
    expect(effectivePeriod(120, new Date(NOW.getTime() - 20 * DAY), NOW)).toBe(300);
    expect(effectivePeriod(600, new Date(NOW.getTime() - 20 * DAY), NOW)).toBe(600);
    expect(effectivePeriod(60, new Date(NOW.getTime() - 100 * DAY), NOW)).toBe(3600);
    expect(effectivePeriod(10, new Date(NOW.getTime() - HOUR), NOW)).toBe(10);
    expect(effectivePeriod(10, new Date(NOW.getTime() - 4 * HOUR), NOW)).toBe(60);
  });

  it('refuses a window older than the 455 days CloudWatch keeps', () => {
    expect(() => effectivePeriod(3600, new Date(NOW.getTime() - 500 * DAY), NOW)).toThrow(ValidationError);
  });
});

describe('request planning', () => {
  it('always plans the minimum max(ceil(queries/500), ceil(datapoints/100800)) for one-metric series', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        // Windows whose series length divides 100,800: then whole series can fill every request.
        // (For other lengths the formula is only a lower bound: a series cannot span requests.)
        fc.constantFrom(1, 6, 24, 168, 336),
        (n, hours) => {
          const plan = describePlan({
            series: Array.from({ length: n }, (_, i) => gauge(i)),
            start: new Date(NOW.getTime() - hours * HOUR),
            end: NOW,
            periodSeconds: 60,
            now: NOW,
          });
          const points = hours * 60;
          expect(plan.requests.length).toBe(Math.max(Math.ceil(n / 500), Math.ceil((n * points) / 100_800)));
          for (const r of plan.requests) {
            expect(r.reduce((a, g) => a + g.queries.length, 0)).toBeLessThanOrEqual(500);
            expect(r.reduce((a, g) => a + g.datapoints, 0)).toBeLessThanOrEqual(100_800);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
