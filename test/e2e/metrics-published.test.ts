import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import { dynamodbSeries, rdsInstanceSeries } from '../../shared/metrics/catalog.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { HOUR_MS, MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { runIops } from '../../shared/tuners/iops.ts';
import { runReplicas } from '../../shared/tuners/replicas.ts';
import { runServerless } from '../../shared/tuners/serverless.ts';
import { exampleConfig } from '../support/config.ts';

/**
 * Every metric the tuners read is published by the simulated account, and late, as CloudWatch
 * publishes it (issue 17): the tuners run once on the SecureCart account during its flash sale
 * while every GetMetricData query they send is recorded (plus the metrics catalog,
 * shared/metrics/catalog.ts); then each metric is read back through GetMetricData on its own.
 */
interface Wanted {
  key: string;
  query: MetricDataQuery;
}

function keyOf(q: MetricDataQuery): string | undefined {
  const m = q.MetricStat?.Metric;
  if (!m?.MetricName) return undefined;
  const dims = (m.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).join(',');
  return `${m.Namespace} ${m.MetricName} ${q.MetricStat?.Stat} {${dims}}`;
}

/**
 * Metrics the tuners may ask for that AWS itself publishes only in some conditions the SecureCart
 * account does not meet, with the reason. Anything else must have datapoints.
 */
const CONDITIONAL: Array<[RegExp, string]> = [
  [
    /ThrottleEvents|ThrottledRequests/,
    'a throttle counter has no datapoint in a minute nothing was throttled',
  ],
  [/ (DBLoad|DBLoadCPU) /, 'published only where Performance Insights is on'],
  [/EBSIOBalance%|EBSByteBalance%/, 'published only for instance classes with burstable EBS'],
  [/BurstBalance/, 'published only for gp2 storage'],
  [/ReplicaLag/, 'published only by replicas (ReplicaLag) or Aurora readers (AuroraReplicaLag)'],
];

describe('the simulated account publishes every metric the tuners read, late', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  const wanted = new Map<string, Wanted>();
  let now = 0;

  beforeAll(async () => {
    const config = exampleConfig();
    sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const record = (q: MetricDataQuery) => {
      const key = keyOf(q);
      if (key && !wanted.has(key)) wanted.set(key, { key, query: q });
    };
    aws().cloudwatch.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { MetricDataQueries?: MetricDataQuery[] };
        for (const q of input.MetricDataQueries ?? []) record(q);
        return next(args);
      },
      { step: 'initialize', name: 'recordMetricQueries' },
    );
    // 12:20 on the first day: the flash sale is on (throttling, IO and CPU under load).
    now = sim.nowMs() + 12 * HOUR_MS + 20 * MINUTE_MS;
    sim.advanceTo(now);
    const store = new MemoryStateStore();
    const request = { trigger: 'schedule' as const, dryRun: true, override: false };
    const deps = { config, store, now: sim.clock.now() };
    await runDynamodb({ ...request, idempotencyKey: 'ddb' }, deps);
    await runIops({ ...request, idempotencyKey: 'iops' }, deps);
    await runReplicas({ ...request, idempotencyKey: 'replicas' }, deps);
    await runServerless({ ...request, idempotencyKey: 'serverless' }, deps);
    const catalog = [
      ...[...sim.dynamodb.tables.keys()].flatMap((t) => dynamodbSeries(t)),
      ...[...sim.rds.instances.keys()].flatMap((id) => rdsInstanceSeries(id)),
    ];
    for (const s of catalog) {
      if (!s.metric) continue;
      record({
        Id: 'c',
        MetricStat: {
          Metric: {
            Namespace: s.metric.namespace,
            MetricName: s.metric.metricName,
            Dimensions: Object.entries(s.metric.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: 60,
          Stat: s.statistic,
        },
      });
    }
  }, 240_000);

  afterAll(() => uninstall?.());

  async function read(w: Wanted, fromMs: number): Promise<number[]> {
    const out = await aws().cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: [{ Id: 'q', MetricStat: { ...w.query.MetricStat, Period: 60 } as never }],
        StartTime: new Date(fromMs),
        EndTime: new Date(now),
        ScanBy: 'TimestampAscending',
      }),
    );
    return (out.MetricDataResults?.[0]?.Timestamps ?? []).map((t) => t.getTime());
  }

  it('records what the three tuners read (DynamoDB, IOPS and replica metrics)', () => {
    const names = new Set([...wanted.keys()].map((k) => k.split(' ')[1]));
    for (const n of ['ConsumedReadCapacityUnits', 'ReadIOPS', 'WriteIOPS', 'CPUUtilization']) {
      expect(names, n).toContain(n);
    }
    expect(wanted.size).toBeGreaterThan(20);
  });

  it('publishes each of them (or names the AWS condition under which it has no datapoint)', async () => {
    const missing: string[] = [];
    for (const w of wanted.values()) {
      const times = await read(w, now - 6 * HOUR_MS);
      if (times.length > 0) continue;
      if (CONDITIONAL.some(([re]) => re.test(w.key))) continue;
      missing.push(w.key);
    }
    expect(missing).toEqual([]);
  });

  it('shows no minute newer than now - 2 min (the publication delay), and the newer ones without the delay', async () => {
    const newestAllowed = now - 3 * MINUTE_MS;
    let checked = 0;
    for (const w of wanted.values()) {
      const times = await read(w, now - 30 * MINUTE_MS);
      if (times.length === 0) continue;
      expect(Math.max(...times), w.key).toBeLessThanOrEqual(newestAllowed);
      sim.cloudwatch.publicationDelayMinutes = 0;
      const undelayed = await read(w, now - 30 * MINUTE_MS);
      sim.cloudwatch.publicationDelayMinutes = 2;
      if (undelayed.length > 0 && Math.max(...undelayed) === now - MINUTE_MS) checked++;
    }
    // Most series (gauges, consumed capacity) have a datapoint every minute: the delay hides the newest two.
    expect(checked).toBeGreaterThan(wanted.size / 2);
  });
});
