import { CloudWatchClient, GetMetricDataCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, describe, expect, it } from 'vitest';
import {
  emfMetricKeys,
  ITEM_OVERHEAD_BYTES,
  meterStore,
  metricsOfRequest,
  resourceOfDimensions,
  TOTALS_ITEM_BYTES,
  TTL_DELETION_LAG_DAYS,
  UsageMeter,
  withCapturedLogs,
} from '../../../shared/cost/meter.ts';
import { getMetrics } from '../../../shared/metrics/index.ts';
import { SimAccount } from '../../../shared/sim/index.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeDecision } from '../core/fixtures.ts';

let uninstall: (() => void) | undefined;

/** The rest of what `usage` needs, for `hours`, with nothing else used (no alarms, publishes, endpoints). */
function emptyRest(hours: number) {
  return {
    hours,
    alarms: {},
    dashboards: 0,
    snsPublishes: 0,
    secretsManagerCalls: 0,
    vpcEndpoints: { interfaceEndpoints: 0, azs: 0 },
    managedResources: [],
  };
}
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

describe('usage meter', () => {
  it('names the resource a metric is about from its dimensions', () => {
    expect(resourceOfDimensions([{ Name: 'TableName', Value: 'carts' }])).toBe('carts');
    expect(
      resourceOfDimensions([
        { Name: 'TableName', Value: 'catalog' },
        { Name: 'GlobalSecondaryIndexName', Value: 'by-category' },
      ]),
    ).toBe('catalog/index/by-category');
    expect(resourceOfDimensions([{ Name: 'DBInstanceIdentifier', Value: 'orders' }])).toBe('orders');
    expect(
      resourceOfDimensions([
        { Name: 'Role', Value: 'READER' },
        { Name: 'DBClusterIdentifier', Value: 'cat' },
      ]),
    ).toBe('cat');
    expect(resourceOfDimensions([])).toBe('');
  });

  it('counts the metrics a GetMetricData request asks for, not its metric-math expressions', () => {
    const metric = (table: string) => ({
      MetricStat: { Metric: { Dimensions: [{ Name: 'TableName', Value: table }] } },
    });
    expect(metricsOfRequest([metric('a'), metric('a'), metric('b'), {}])).toEqual({ a: 2, b: 1 });
  });

  it('reads the custom metrics of an EMF document, one per dimension set', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: 0,
        CloudWatchMetrics: [
          { Namespace: 'DbAutopilot', Dimensions: [['service', 'tuner']], Metrics: [{ Name: 'Decisions' }] },
        ],
      },
      service: 'db-autopilot',
      tuner: 'dynamodb',
      Decisions: 3,
    });
    expect(emfMetricKeys(line)).toEqual(['DbAutopilot|Decisions|service=db-autopilot,tuner=dynamodb']);
    expect(emfMetricKeys('{"message":"hello"}')).toEqual([]);
  });

  it('meters what the code requests through a simulated CloudWatch client, per resource', async () => {
    const sim = new SimAccount({ start: '2026-01-05T00:00:00Z', latencyMs: 0 });
    uninstall = sim.install();
    const meter = new UsageMeter();
    const { cloudwatchClient } = await import('../../../shared/aws/clients.ts');
    meter.attachCloudWatch(cloudwatchClient());
    meter.running = 'dynamodb-tuner';
    const metric = (table: string, name: string) => ({
      namespace: 'AWS/DynamoDB',
      metricName: name,
      dimensions: { TableName: table },
    });
    await getMetrics({
      series: [
        { id: 'a', kind: 'counter', statistic: 'Sum', metric: metric('carts', 'ConsumedReadCapacityUnits') },
        { id: 'b', kind: 'counter', statistic: 'Sum', metric: metric('carts', 'ConsumedWriteCapacityUnits') },
        {
          id: 'c',
          kind: 'counter',
          statistic: 'Sum',
          metric: metric('orders', 'ConsumedWriteCapacityUnits'),
        },
      ],
      start: new Date('2026-01-04T23:00:00Z'),
      end: new Date('2026-01-05T00:00:00Z'),
      periodSeconds: 60,
      now: new Date('2026-01-05T00:00:00Z'),
    });
    const usage = meter.usage(emptyRest(1));
    expect(usage.metricsRequested).toEqual({ carts: 2, orders: 1 });
    expect(meter.metricsByFunction()).toEqual({ 'dynamodb-tuner': 3 });
  });

  it('counts CloudWatch requests other than GetMetricData on a client of its own', async () => {
    const client = new CloudWatchClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: {
        handle: async () => ({ response: { statusCode: 200, headers: {}, body: undefined } }),
      } as never,
    });
    const meter = new UsageMeter();
    meter.attachCloudWatch(client);
    await client
      .send(
        new PutMetricAlarmCommand({
          AlarmName: 'x',
          EvaluationPeriods: 1,
          ComparisonOperator: 'GreaterThanThreshold',
        }),
      )
      .catch(() => undefined);
    await client
      .send(new GetMetricDataCommand({ MetricDataQueries: [], StartTime: new Date(0), EndTime: new Date(1) }))
      .catch(() => undefined);
    const u = meter.usage(emptyRest(1));
    expect(u.cloudwatchRequests).toBe(1);
  });

  it('charges in-memory state-store calls as DynamoDB would charge the items they move', async () => {
    const meter = new UsageMeter();
    const store = meterStore(new MemoryStateStore(), meter);
    await store.putTunerState('dynamodb', 'carts', { big: 'x'.repeat(3000) });
    await store.getHistory('dynamodb', 'carts', new Date('2026-01-05T00:00:00Z'));
    const u = meter.usage(emptyRest(1));
    // ~3 KB written: 3 write units (1 per KB, rounded up); the history read: 1 read unit (4 KB).
    expect(u.stateTable.writeUnits).toBe(3);
    expect(u.stateTable.readUnits).toBe(1);
    // The tuner state is rewritten in place: its newest size is what the table holds.
    expect(u.stateTable.storedBytes).toBeGreaterThan(3000);
    expect(u.stateTable.storedBytes).toBeLessThan(4000);
  });

  it('keeps a no-op decision 30 days and a change 400 days (twice: the byDay index projects it)', async () => {
    const meter = new UsageMeter();
    const store = meterStore(new MemoryStateStore(), meter);
    const base = makeDecision({ at: '2026-01-05T00:00:00.000Z', evidence: [] });
    await store.recordDecision({ ...base, id: 'r:1', action: 'noop', outcome: 'applied' });
    const noop = meter.usage(emptyRest(24)).stateTable.storedBytes;
    await store.recordDecision({ ...base, id: 'r:2', action: 'set-iops', outcome: 'applied' });
    const both = meter.usage(emptyRest(24)).stateTable.storedBytes;
    const bytes = (d: object) => Buffer.byteLength(JSON.stringify(d)) + ITEM_OVERHEAD_BYTES;
    const totalsItem = (TOTALS_ITEM_BYTES + ITEM_OVERHEAD_BYTES) * (400 + TTL_DELETION_LAG_DAYS);
    // Written in a 24 h window: stored a day's worth x its days (+ the deletion lag), + the day's totals item.
    expect(noop).toBeCloseTo(
      bytes({ ...base, id: 'r:1', action: 'noop', outcome: 'applied' }) * (30 + TTL_DELETION_LAG_DAYS) +
        totalsItem,
      0,
    );
    expect(both - noop).toBeCloseTo(
      2 *
        bytes({ ...base, id: 'r:2', action: 'set-iops', outcome: 'applied' }) *
        (400 + TTL_DELETION_LAG_DAYS),
      0,
    );
  });

  it("charges a notable decision the write units of its two index entries and the totals item, a run's no-ops one write per totals item", async () => {
    const meter = new UsageMeter();
    const store = meterStore(new MemoryStateStore(), meter);
    const base = makeDecision({ at: '2026-01-05T00:00:00.000Z', evidence: [] });
    // A no-op: its own item; its count is held for the totals.
    await store.recordDecision({ ...base, id: 'r:1', action: 'noop', outcome: 'applied' });
    await store.recordDecision({ ...base, id: 'r:2', tuner: 'replicas', action: 'noop', outcome: 'applied' });
    expect(meter.usage(emptyRest(1)).stateTable.writeUnits).toBe(2);
    // A notable decision: its item, two index entries, the totals item (carrying r:1's count).
    await store.recordDecision({ ...base, id: 'r:3', action: 'set-iops', outcome: 'applied' });
    expect(meter.usage(emptyRest(1)).stateTable.writeUnits).toBe(2 + 4);
    // The end of the run: one write for the replicas tuner's held count.
    expect(await store.flushTotals()).toBe(1);
    expect(meter.usage(emptyRest(1)).stateTable.writeUnits).toBe(2 + 4 + 1);
  });

  it('counts what a handler logs as compact JSON and keeps it off the console', async () => {
    const meter = new UsageMeter();
    const { result, logBytes } = await withCapturedLogs(meter, 0, false, async () => {
      console.info(JSON.stringify({ level: 'INFO', message: 'hi' }, null, 4));
      return 7;
    });
    expect(result).toBe(7);
    expect(logBytes).toBe(JSON.stringify({ level: 'INFO', message: 'hi' }).length + 1);
  });
});
