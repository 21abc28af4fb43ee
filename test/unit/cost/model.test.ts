import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  API_CALL_LATENCY_MS,
  allocate,
  billedMs,
  type MeteredUsage,
  monthlyBill,
  PLATFORM_LOG_BYTES_PER_INVOCATION,
} from '../../../shared/cost/model.ts';
import { SELF_PRICES, selfPrices } from '../../../shared/cost/prices.ts';

const prices = selfPrices('us-east-1');

function usage(over: Partial<MeteredUsage> = {}): MeteredUsage {
  return {
    hours: 24,
    functions: [],
    metricsRequested: {},
    cloudwatchRequests: 0,
    alarms: {},
    dashboards: 0,
    customMetricHours: 0,
    stateTable: { readUnits: 0, writeUnits: 0, storedBytes: 0 },
    snsPublishes: 0,
    secretsManagerCalls: 0,
    vpcEndpoints: { interfaceEndpoints: 0, azs: 2 },
    managedResources: [],
    ...over,
  };
}

describe("db-autopilot's own monthly bill", () => {
  it('prices the DynamoDB tuner reading 10 metrics of a table every 2 minutes at about $2.19 a month', () => {
    // The figure: 720 runs a day x 10 metrics, $0.01 per 1,000 metrics requested.
    const bill = monthlyBill(
      usage({ metricsRequested: { orders: 720 * 10 }, managedResources: ['orders'] }),
      prices,
    );
    expect(bill.byService.cloudwatchGetMetricData).toBeCloseTo(0.072 * (730 / 24), 4);
    expect(bill.perResource.orders).toBeCloseTo(2.19, 2);
  });

  it('charges alarms and the dashboard per month, whatever the measured window', () => {
    const day = monthlyBill(
      usage({ alarms: { orders: 2 }, dashboards: 1, managedResources: ['orders'] }),
      prices,
    );
    const hour = monthlyBill(
      usage({ hours: 1, alarms: { orders: 2 }, dashboards: 1, managedResources: ['orders'] }),
      prices,
    );
    expect(day.byService.cloudwatchAlarms).toBe(0.2);
    expect(day.byService.cloudwatchDashboard).toBe(3);
    expect(hour.monthlyUsd).toBe(day.monthlyUsd);
  });

  it('bills Lambda per request and per arm64 GB-second, API round trips included', () => {
    const f = {
      name: 'dynamodb-tuner',
      memoryMb: 512,
      invocations: 720,
      awsCalls: 7200,
      handlerMs: 72_000,
      logBytes: 0,
    };
    // 100 ms in the handler + 10 calls x 50 ms = 600 ms per invocation.
    expect(billedMs(f)).toBe(720 * (100 + 10 * API_CALL_LATENCY_MS));
    const bill = monthlyBill(usage({ functions: [f] }), prices);
    const perMonth = 730 / 24;
    const expected = (720 / 1e6) * 0.2 * perMonth + 720 * 0.6 * 0.5 * 0.0000133334 * perMonth;
    expect(bill.byService.lambda).toBeCloseTo(expected, 4);
    // Lambda's own START/END/REPORT lines are ingested even when the function logs nothing.
    expect(bill.byService.cloudwatchLogs).toBeCloseTo(
      ((720 * PLATFORM_LOG_BYTES_PER_INVOCATION) / 1e9) * 0.5 * perMonth,
      3,
    );
  });

  it('prices the state table by what it holds at steady state (GB-month)', () => {
    const bill = monthlyBill(
      usage({ stateTable: { readUnits: 0, writeUnits: 0, storedBytes: 10e9 } }),
      prices,
    );
    // 10 GB at $0.25.
    expect(bill.byService.dynamodbStateTable).toBeCloseTo(2.5, 4);
  });

  it('prices custom metrics by the hours they were published in', () => {
    // 2 metrics published every hour of a day = 2 metric-months.
    const bill = monthlyBill(usage({ customMetricHours: 48 }), prices);
    expect(bill.byService.cloudwatchCustomMetrics).toBeCloseTo(0.6, 6);
  });

  it('refuses a Region it ships no prices for, naming it', () => {
    expect(() => selfPrices('ap-south-2')).toThrow(/ap-south-2/);
    expect(Object.keys(SELF_PRICES)).toContain('eu-west-1');
  });

  it('splits the shared costs evenly and charges direct costs to their resource', () => {
    expect(allocate([{ a: 1 }, { b: 0.5 }], 3, ['a', 'b', 'c'])).toEqual({ a: 2, b: 1.5, c: 1 });
    // A metric of no resource is the fleet's.
    expect(allocate([{ '': 2 }], 0, ['a', 'b'])).toEqual({ a: 1, b: 1 });
  });

  it('has perResource summing to monthlyUsd and byService summing to monthlyUsd (property)', () => {
    const ids = fc.constantFrom('t1', 't1/index/g', 'db1', 'db2', '');
    fc.assert(
      fc.property(
        fc.record({
          hours: fc.integer({ min: 1, max: 72 }),
          metrics: fc.dictionary(ids, fc.integer({ min: 0, max: 100_000 })),
          alarms: fc.dictionary(ids, fc.integer({ min: 0, max: 20 })),
          invocations: fc.integer({ min: 0, max: 5000 }),
          writes: fc.integer({ min: 0, max: 100_000 }),
          managed: fc.uniqueArray(fc.constantFrom('t1', 't1/index/g', 'db1', 'db2'), { minLength: 1 }),
        }),
        (x) => {
          const bill = monthlyBill(
            usage({
              hours: x.hours,
              metricsRequested: x.metrics,
              alarms: x.alarms,
              functions: [
                {
                  name: 'f',
                  memoryMb: 512,
                  invocations: x.invocations,
                  awsCalls: x.invocations * 3,
                  handlerMs: x.invocations * 20,
                  logBytes: 0,
                },
              ],
              stateTable: {
                readUnits: x.writes,
                writeUnits: x.writes,
                storedBytes: x.writes * 500 * 400,
              },
              dashboards: 1,
              managedResources: x.managed,
            }),
            prices,
          );
          const sum = (o: Record<string, number>) => Object.values(o).reduce((s, v) => s + v, 0);
          const cents = Object.keys(bill.perResource).length * 0.0001 + 0.0011;
          expect(Math.abs(sum(bill.perResource) - bill.monthlyUsd)).toBeLessThan(cents);
          expect(Math.abs(sum(bill.byService) - bill.monthlyUsd)).toBeLessThan(0.0011);
          for (const id of x.managed) expect(bill.perResource[id]).toBeGreaterThan(0);
          for (const v of Object.values(bill.byService)) expect(v).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('never bills more when fewer metrics are requested (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (a, b) => {
        const lo = monthlyBill(
          usage({ metricsRequested: { t: Math.min(a, b) }, managedResources: ['t'] }),
          prices,
        );
        const hi = monthlyBill(
          usage({ metricsRequested: { t: Math.max(a, b) }, managedResources: ['t'] }),
          prices,
        );
        expect(lo.monthlyUsd).toBeLessThanOrEqual(hi.monthlyUsd);
      }),
    );
  });
});
