import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAuroraAutoScaling } from '../../../shared/backtest/baselines/aurora-autoscaling.ts';
import { createAwsDynamodbTargetTracking } from '../../../shared/backtest/baselines/dynamodb-target-tracking.ts';
import {
  oracleDynamodb,
  oracleIops,
  oracleReplicas,
  planIopsOracle,
} from '../../../shared/backtest/baselines/oracle.ts';
import {
  staticPeakDynamodb,
  staticPeakIops,
  staticPeakReplicas,
} from '../../../shared/backtest/baselines/static-peak.ts';
import { runPolicy } from '../../../shared/backtest/engine.ts';
import { generateTrace } from '../../../shared/backtest/generate-traces.ts';
import { type BacktestOptionsInput, parseOptions } from '../../../shared/backtest/options.ts';
import type { BacktestPolicy } from '../../../shared/backtest/plugins/types.ts';
import type {
  DynamodbTrace,
  IopsTrace,
  PolicyMetrics,
  ReplicasTrace,
} from '../../../shared/backtest/types.ts';

function ddb(read: number[], write?: number[]): DynamodbTrace {
  return { kind: 'dynamodb', read, write: write ?? read.map(() => 1), source: 'test' };
}
const repeat = (v: number, n: number): number[] => Array.from({ length: n }, () => v);

function metrics(r: { result: unknown }): PolicyMetrics {
  const m = r.result as PolicyMetrics;
  if (!m.available) throw new Error('unavailable');
  return m;
}

/** A policy that starts the table at a fixed capacity and then runs AWS target tracking. */
function awsFrom(read: number, write = 10): BacktestPolicy<'dynamodb'> {
  const inner = createAwsDynamodbTargetTracking();
  return { ...inner, name: inner.name, initial: () => ({ read, write }), decide: (ctx) => inner.decide(ctx) };
}

describe('AWS DynamoDB target tracking baseline', () => {
  // Alarm timings pinned without the CloudWatch publication delay (engine.test.ts shows the delay shifting them).
  const options = parseOptions({
    publicationDelayMinutes: 0,
    dynamodb: { targetUtilization: 0.7, updateDelayMinutes: 2 },
  });

  it('does not scale in before 15 minutes below its low threshold, and scales in to consumed / target at 15', async () => {
    // 1000 provisioned; consumed 100 (< (70 % - 20 points) x 1000 = 500) from minute 0.
    const run = await runPolicy(ddb(repeat(100, 40)), awsFrom(1000), options);
    const read = run.capacity?.read ?? [];
    // Minutes 0..14 give 15 datapoints; the decision at minute 15 is in place at 17.
    expect(read.slice(0, 17).every((v) => v === 1000)).toBe(true);
    expect(read[17]).toBe(Math.ceil(100 / 0.7));
  });

  it('does not scale in when one of the 15 datapoints is above the low threshold', async () => {
    const demand = repeat(100, 40);
    demand[10] = 600; // above 500: the 15-of-15 count restarts
    const run = await runPolicy(ddb(demand), awsFrom(1000), options);
    const read = run.capacity?.read ?? [];
    expect(read.slice(0, 28).every((v) => v === 1000)).toBe(true);
    expect(read[28]).toBe(Math.ceil(100 / 0.7));
  });

  it('scales out only after 2 of 2 datapoints above target, to consumed / target, after the delay', async () => {
    // 100 provisioned, demand 90 (> 70): datapoints at minutes 0 and 1 -> decision at 2 -> in place at 4.
    const run = await runPolicy(ddb(repeat(90, 10)), awsFrom(100), options);
    const read = run.capacity?.read ?? [];
    expect(read.slice(0, 4)).toEqual([100, 100, 100, 100]);
    expect(read[4]).toBe(Math.ceil(90 / 0.7));
  });

  it('ignores a single minute above target', async () => {
    const demand = repeat(50, 10);
    demand[3] = 95;
    const run = await runPolicy(ddb(demand), awsFrom(100), options);
    expect(new Set(run.capacity?.read)).toEqual(new Set([100]));
  });

  it('scales on consumed capacity, so a throttled surge is climbed in several steps', async () => {
    // Demand jumps from 100 to 2000 with 150 provisioned: consumed is capped by capacity (+ burst).
    const demand = [...repeat(100, 30), ...repeat(2000, 60)];
    const run = await runPolicy(ddb(demand), awsFrom(150), options);
    const read = run.capacity?.read ?? [];
    const steps = new Set(read.slice(30)).size;
    expect(steps).toBeGreaterThan(2);
    expect(metrics(run).unservedPct).toBeGreaterThan(0);
  });

  it('spends the decrease budget: after 4 scale-ins it waits an hour for the next', async () => {
    // Falling demand makes the low alarm fire again and again.
    const demand: number[] = [];
    for (let i = 0; i < 300; i++) demand.push(Math.max(5, 3000 * 0.8 ** Math.floor(i / 16)));
    const run = await runPolicy(ddb(demand), awsFrom(5000), options);
    const m = metrics(run);
    expect(m.detail.decreases).toBeGreaterThanOrEqual(5);
    expect(m.refused).toBeGreaterThan(0);
  });
});

describe('Aurora Auto Scaling baseline', () => {
  // Alarm timings pinned without the CloudWatch publication delay (engine.test.ts shows the delay shifting them).
  const options = parseOptions({
    publicationDelayMinutes: 0,
    replicas: { minReaders: 1, maxReaders: 6, targetCpuPercent: 60, readerCreateMinutes: 10 },
  });
  const rep = (cpu: number[]): ReplicasTrace => ({ kind: 'replicas', cpu, source: 'test' });
  const from = (readers: number): BacktestPolicy<'replicas'> => {
    const inner = createAuroraAutoScaling();
    return { name: inner.name, initial: () => ({ readers }), decide: (ctx) => inner.decide(ctx) };
  };

  it('adds readers after 3 minutes above target; they serve 10 minutes later', async () => {
    const run = await runPolicy(rep(repeat(160, 30)), from(2), options);
    const readers = run.capacity?.readers ?? [];
    // avg 80 % > 60 % at minutes 0,1,2 -> decision at 3 (ceil(2 x 80 / 60) = 3) -> serves at 13.
    expect(readers.slice(0, 13).every((r) => r === 2)).toBe(true);
    expect(readers[13]).toBe(3);
  });

  it('waits out the 300 s scale-out cooldown before adding again', async () => {
    const run = await runPolicy(rep(repeat(500, 40)), from(1), options);
    const readers = run.capacity?.readers ?? [];
    // First add at minute 3 (to ceil(1 x 100 / 60) = 2), next not before minute 8.
    expect(readers[13]).toBe(2);
    expect(readers[17]).toBe(2);
    expect(readers[18]).toBeGreaterThan(2);
  });

  it('only removes readers it added, never below the minimum', async () => {
    const demand = [...repeat(300, 60), ...repeat(10, 120)];
    const run = await runPolicy(rep(demand), from(1), options);
    const readers = run.capacity?.readers ?? [];
    expect(Math.max(...readers)).toBeGreaterThan(1);
    expect(readers[readers.length - 1]).toBe(1);
    expect(Math.min(...readers)).toBe(1);
  });

  it('does not scale in before 15 minutes below 90 % of the target', async () => {
    const run = await runPolicy(rep(repeat(60, 40)), from(4), options);
    const readers = run.capacity?.readers ?? [];
    // Datapoints of minutes 0..14 -> removal at minute 15 (removal is immediate).
    expect(readers.slice(0, 15).every((r) => r === 4)).toBe(true);
    expect(readers[15]).toBe(Math.ceil((4 * 15) / 60));
  });
});

describe('static peak baseline', () => {
  it('provisions the peak once and serves everything with no change', async () => {
    const options = parseOptions({});
    const trace = generateTrace('dynamodb', 'flash-sale', { seed: 9, days: 1.5 }) as DynamodbTrace;
    const m = metrics(await runPolicy(trace, staticPeakDynamodb(trace, options), options));
    expect(m).toMatchObject({ unservedPct: 0, saturationMinutes: 0, changes: 0 });
    const iops = generateTrace('iops', 'diurnal', { seed: 9, days: 1 }) as IopsTrace;
    expect(metrics(await runPolicy(iops, staticPeakIops(iops, options), options)).saturationMinutes).toBe(0);
    const rep = generateTrace('replicas', 'sawtooth-3h', { seed: 9, days: 1 }) as ReplicasTrace;
    expect(metrics(await runPolicy(rep, staticPeakReplicas(rep, options), options)).saturationMinutes).toBe(
      0,
    );
  });
});

describe('oracle baselines', () => {
  it('never throttles a DynamoDB table when the rules allow serving the demand (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 40_000 }), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 5 }),
        async (levels, hold, delay) => {
          // Piecewise-constant demand with sudden jumps anywhere in 0..40,000.
          const read = levels.flatMap((l) => repeat(l, hold));
          const write = [...read].reverse().map((v) => v / 4);
          const options: BacktestOptionsInput = { dynamodb: { updateDelayMinutes: delay } };
          const o = parseOptions(options);
          const trace = ddb(read, write);
          const m = metrics(await runPolicy(trace, oracleDynamodb(trace, o), o));
          expect(m.unservedPct).toBe(0);
          expect(m.saturationMinutes).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('costs less than static peak on a diurnal DynamoDB trace and keeps within the decrease budget', async () => {
    const options = parseOptions({});
    const trace = generateTrace('dynamodb', 'diurnal', { seed: 21 }) as DynamodbTrace;
    const oracle = metrics(await runPolicy(trace, oracleDynamodb(trace, options), options));
    const stat = metrics(await runPolicy(trace, staticPeakDynamodb(trace, options), options));
    expect(oracle.cost).toBeLessThan(stat.cost);
    // The model refuses what the rules forbid; the oracle plans within them.
    expect(oracle.refused).toBe(0);
  });

  it('never saturates IOPS and keeps its changes 6 h apart (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 2, maxLength: 30 }),
        fc.integer({ min: 30, max: 300 }),
        async (levels, hold) => {
          const options = parseOptions({});
          const trace: IopsTrace = {
            kind: 'iops',
            iops: levels.flatMap((l) => repeat(l, hold)),
            source: 'p',
          };
          const plan = planIopsOracle(trace.iops, options);
          for (let i = 1; i < plan.changes.length; i++) {
            expect(
              (plan.changes[i]?.minute ?? 0) - (plan.changes[i - 1]?.minute ?? 0),
            ).toBeGreaterThanOrEqual(360);
          }
          const m = metrics(await runPolicy(trace, oracleIops(trace, options), options));
          expect(m.saturationMinutes).toBe(0);
          expect(m.refused).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('never saturates readers and costs no more than static peak (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 1300 }), { minLength: 2, maxLength: 30 }),
        fc.integer({ min: 1, max: 60 }),
        async (levels, hold) => {
          const options = parseOptions({ replicas: { maxReaders: 15 } });
          const trace: ReplicasTrace = {
            kind: 'replicas',
            cpu: levels.flatMap((l) => repeat(l, hold)),
            source: 'p',
          };
          const oracle = metrics(await runPolicy(trace, oracleReplicas(trace, options), options));
          const stat = metrics(await runPolicy(trace, staticPeakReplicas(trace, options), options));
          expect(oracle.saturationMinutes).toBe(0);
          expect(oracle.cost).toBeLessThanOrEqual(stat.cost + 1e-9);
        },
      ),
      { numRuns: 60 },
    );
  });
});
