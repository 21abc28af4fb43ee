import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MetricsResult } from '../../../shared/metrics/index.ts';
import {
  type DimensionMetrics,
  planTableCapacity,
  type TableObservation,
} from '../../../shared/policies/dynamodb-capacity.ts';
import { priceTable } from '../../../shared/pricing.ts';
import {
  capacitySeries,
  type ObservationReads,
  requestSeriesNeeded,
  throttleCausesDue,
} from '../../../shared/tuners/dynamodb.ts';
import { config, flat, NOW, resource, table } from './fixtures.ts';

const prices = priceTable();

/** A GetMetricData result over 10 published minutes: every series 0 except those given. */
function metricsResult(nonZero: Record<string, number>): MetricsResult {
  const ids = [...capacitySeries('carts', null), ...capacitySeries('carts', 'by-user')].map((s) => s.id);
  return {
    periodSeconds: 60,
    timestamps: Array.from({ length: 10 }, (_, i) => new Date(NOW.getTime() + i * 60_000).toISOString()),
    completePoints: 10,
    publishedPoints: 10,
    series: new Map(
      ids.map((id) => [
        id,
        {
          id,
          kind: 'counter' as const,
          values: Array.from({ length: 10 }, (_, i) => (i === 7 ? (nonZero[id] ?? 0) : 0)),
          status: 'Complete',
        },
      ]),
    ),
    calls: 1,
    minCalls: 1,
    throttledRetries: 0,
    notes: [],
  };
}

const resources = [
  { tableName: 'carts', indexName: null },
  { tableName: 'carts', indexName: 'by-user' },
];

describe('DynamoDB tuner: key-range and account-limit throttle events read every other run', () => {
  const section = config();

  it('reads 4 metrics per table or GSI on a run without them (consumed and provisioned throttles)', () => {
    const series = capacitySeries('carts', null, false);
    expect(series.map((s) => s.metric?.metricName).sort()).toEqual([
      'ConsumedReadCapacityUnits',
      'ConsumedWriteCapacityUnits',
      'ReadProvisionedThroughputThrottleEvents',
      'WriteProvisionedThroughputThrottleEvents',
    ]);
  });

  /** The scheduled runs (every `every` minutes, alarm runs at `alarms`) that read them, as the tuner keeps its reads. */
  function readsOver(lookback: number, every: number, start: number, alarms: number[] = []): number[] {
    let last: ObservationReads | undefined;
    const reads: number[] = [];
    const runs = new Set<number>(alarms);
    for (let m = start; m < start + 120; m += every) runs.add(m);
    for (const m of [...runs].sort((a, b) => a - b)) {
      const now = new Date(m * 60_000);
      const trigger = alarms.includes(m) ? 'alarm' : 'schedule';
      const due = throttleCausesDue(now, trigger, lookback, last);
      if (due) reads.push(m);
      last = {
        at: trigger === 'schedule' || !last ? now.toISOString() : last.at,
        causesAt: due || !last ? now.toISOString() : last.causesAt,
      };
    }
    return reads;
  }

  it('reads them on every other 2-minute scheduled run with the 5-minute lookback, and on the first', () => {
    expect(readsOver(section.lookbackMinutes, 2, 0).slice(0, 4)).toEqual([0, 4, 8, 12]);
  });

  it('reads them on every alarm or manual run', () => {
    const last = { at: NOW.toISOString(), causesAt: NOW.toISOString() };
    const soon = new Date(NOW.getTime() + 60_000);
    expect(throttleCausesDue(soon, 'alarm', 5, last)).toBe(true);
    expect(throttleCausesDue(soon, 'manual', 5, last)).toBe(true);
    expect(throttleCausesDue(soon, 'schedule', 5, last)).toBe(false);
  });

  it('leaves no minute outside the lookback of some read, whatever the schedule and alarms (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.array(fc.integer({ min: 0, max: 119 }), { maxLength: 5 }),
        (lookback, every, start, alarmOffsets) => {
          const reads = readsOver(
            lookback,
            every,
            start,
            alarmOffsets.map((o) => start + o),
          );
          expect(reads[0]).toBeLessThanOrEqual(start + Math.min(...alarmOffsets, 0));
          for (let i = 1; i < reads.length; i++) {
            // A gap wider than the lookback is allowed only when the runs themselves are that far apart.
            expect((reads[i] ?? 0) - (reads[i - 1] ?? 0)).toBeLessThanOrEqual(Math.max(lookback, every));
          }
        },
      ),
    );
  });
});

describe('DynamoDB tuner: successful requests read only where a decision needs them', () => {
  it('reads 8 metrics per table or GSI on a run that reads the throttle causes (consumed and three throttle events, read and write)', () => {
    const series = capacitySeries('carts', null);
    expect(series).toHaveLength(8);
    expect(series.some((s) => s.statistic === 'SampleCount')).toBe(false);
  });

  it('asks for the SampleCount of a dimension with provisioned throttle events, and of no other', () => {
    const m = metricsResult({ 'carts|by-user|write:prov': 12, 'carts||read:key': 40 });
    const more = requestSeriesNeeded(m, resources, new Set());
    expect(more.map((s) => s.id)).toEqual(['carts|by-user|write:requests']);
    expect(more[0]).toMatchObject({
      statistic: 'SampleCount',
      metric: { metricName: 'ConsumedWriteCapacityUnits' },
    });
  });

  it('asks for nothing more when nothing was throttled', () => {
    expect(requestSeriesNeeded(metricsResult({}), resources, new Set())).toEqual([]);
  });

  it('asks for every dimension of a table whose recurring peaks are re-learned this run', () => {
    const more = requestSeriesNeeded(metricsResult({}), resources, new Set(['carts']));
    expect(more.map((s) => s.id).sort()).toEqual(
      [
        'carts|by-user|read:requests',
        'carts|by-user|write:requests',
        'carts||read:requests',
        'carts||write:requests',
      ].sort(),
    );
  });

  it('plans the same actions without successful requests where no provisioned throttle event was seen (property)', () => {
    const dimArb = fc.record({
      provisioned: fc.integer({ min: 1, max: 5_000 }),
      utilization: fc.double({ min: 0, max: 1.3, noNaN: true }),
      throttles: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 50_000 })),
      upr: fc.double({ min: 0.5, max: 8, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.record({ read: dimArb, write: dimArb, gsiRead: dimArb, gsiWrite: dimArb }), (s) => {
        const m = (d: typeof s.read): DimensionMetrics =>
          flat(30, d.provisioned * d.utilization, { throttles: d.throttles, unitsPerRequest: d.upr });
        const build = (): TableObservation =>
          table(
            resource(null, s.read.provisioned, s.write.provisioned, { read: m(s.read), write: m(s.write) }),
            [
              resource('gsi', s.gsiRead.provisioned, s.gsiWrite.provisioned, {
                read: m(s.gsiRead),
                write: m(s.gsiWrite),
              }),
            ],
          );
        const all = build();
        const onDemand = build();
        for (const r of [onDemand.table, ...onDemand.indexes]) {
          for (const dim of ['read', 'write'] as const) {
            const dm = r.metrics[dim];
            if (!dm.provisionedThrottleEvents.some((v) => v > 0)) delete dm.successfulRequests;
          }
        }
        const strip = (o: TableObservation) =>
          planTableCapacity({ observation: o, config: config(), prices, now: NOW }).plan.actions.map(
            ({ evidence: _e, ...a }) => a,
          );
        expect(strip(onDemand)).toEqual(strip(all));
      }),
      { numRuns: 300 },
    );
  });
});
