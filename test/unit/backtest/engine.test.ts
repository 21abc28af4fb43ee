import { describe, expect, it } from 'vitest';
import { createAwsDynamodbTargetTracking } from '../../../shared/backtest/baselines/dynamodb-target-tracking.ts';
import { runBacktest, runPolicy } from '../../../shared/backtest/engine.ts';
import { generateTrace } from '../../../shared/backtest/generate-traces.ts';
import { historyView, WalkForwardViolation } from '../../../shared/backtest/history.ts';
import { parseOptions } from '../../../shared/backtest/options.ts';
import { toActResult } from '../../../shared/backtest/plugins/adapter.ts';
import type { BacktestPolicy } from '../../../shared/backtest/plugins/types.ts';
import type { DynamodbTrace, IopsTrace, PolicyMetrics } from '../../../shared/backtest/types.ts';

const options = parseOptions({});
const iopsTrace: IopsTrace = {
  kind: 'iops',
  iops: Array.from({ length: 120 }, (_, i) => 2000 + 10 * i),
  source: 't',
};

describe('walk-forward history view', () => {
  it('shows minutes before t and throws for minute t and later', () => {
    const rows = [{ m: 0 }, { m: 1 }, { m: 2 }, { m: 3 }];
    const view = historyView(rows, 2);
    expect(view.length).toBe(2);
    expect(view.at(1)).toEqual({ m: 1 });
    expect(() => view.at(2)).toThrow(WalkForwardViolation);
    expect(() => view.at(3)).toThrow(WalkForwardViolation);
    expect(() => view.range(0, 3)).toThrow(WalkForwardViolation);
    expect(view.range(0, 2)).toEqual([{ m: 0 }, { m: 1 }]);
    expect(view.last(10)).toEqual([{ m: 0 }, { m: 1 }]);
  });
});

describe('backtest harness', () => {
  it('fails a policy that asks for the current minute (no peeking at the future)', async () => {
    const peeking: BacktestPolicy<'iops'> = {
      name: 'peek',
      decide: (ctx) => {
        if (ctx.minute === 30) ctx.history.at(ctx.minute);
        return null;
      },
    };
    await expect(runPolicy(iopsTrace, peeking, options)).rejects.toBeInstanceOf(WalkForwardViolation);
  });

  it('hands a policy exactly the minutes before t, on its schedule', async () => {
    const seen: Array<[number, number, number | undefined]> = [];
    const policy: BacktestPolicy<'iops'> = {
      name: 'watcher',
      everyMinutes: 15,
      decide: (ctx) => {
        const last = ctx.history.last(1)[0];
        seen.push([ctx.minute, ctx.history.length, last?.minute]);
        return null;
      },
    };
    await runPolicy(iopsTrace, policy, options);
    expect(seen.map((s) => s[0])).toEqual([0, 15, 30, 45, 60, 75, 90, 105]);
    for (const [minute, length, last] of seen) {
      expect(length).toBe(minute);
      expect(last).toBe(minute === 0 ? undefined : minute - 1);
    }
  });

  it('gives policies a frozen copy of the state: writing to it changes nothing', async () => {
    let threw = false;
    const policy: BacktestPolicy<'iops'> = {
      name: 'vandal',
      decide: (ctx) => {
        try {
          (ctx.state as { iops: number }).iops = 64_000;
        } catch {
          threw = true;
        }
        return null;
      },
    };
    const run = await runPolicy(iopsTrace, policy, options);
    expect(threw).toBe(true);
    expect(new Set(run.capacity?.iops).size).toBe(1);
  });

  it('applies returned requests through the same change rules (a second IOPS change within 6 h is deferred)', async () => {
    const policy: BacktestPolicy<'iops'> = {
      name: 'eager',
      decide: (ctx) => (ctx.minute % 10 === 0 ? { iops: 3000 + ctx.minute * 10 } : null),
    };
    const run = await runPolicy(iopsTrace, policy, options);
    const m = run.result as PolicyMetrics;
    expect(m.changes).toBe(1);
    expect(m.refused).toBe(11);
  });

  it('scores a policy identical to a baseline identically (every policy runs through the same model)', async () => {
    const trace = generateTrace('dynamodb', 'recurring-spikes', { seed: 4, days: 1 }) as DynamodbTrace;
    const report = await runBacktest({
      trace,
      options,
      autopilot: () => createAwsDynamodbTargetTracking() as BacktestPolicy<'dynamodb'>,
    });
    expect(report.policies['db-autopilot']).toEqual(report.policies['aws-target-tracking']);
  });

  it('reports an unavailable tuner as such and omits the AWS baseline for iops', async () => {
    const report = await runBacktest({
      trace: iopsTrace,
      options,
      autopilot: () => ({ available: false, reason: 'db-autopilot tuner not built yet' }),
    });
    expect(report.policies['db-autopilot']).toEqual({
      available: false,
      reason: 'db-autopilot tuner not built yet',
    });
    expect(Object.keys(report.policies).sort()).toEqual(['db-autopilot', 'oracle', 'static-peak']);
  });

  it('has an aws-target-tracking entry (Aurora Auto Scaling) for replicas', async () => {
    const trace = generateTrace('replicas', 'diurnal', { seed: 2, days: 0.5 });
    const report = await runBacktest({
      trace,
      options,
      autopilot: () => ({ available: false, reason: 'x' }),
    });
    expect(Object.keys(report.policies).sort()).toEqual([
      'aws-target-tracking',
      'db-autopilot',
      'oracle',
      'static-peak',
    ]);
  });
});

describe('backtest adapter helper', () => {
  it('turns model answers into ActResults with ISO times', () => {
    const start = '2026-01-05T00:00:00Z';
    expect(toActResult({ status: 'applied', effectiveAt: 2 }, start)).toEqual({
      status: 'applied',
      detail: 'in effect at 2026-01-05T00:02:00.000Z',
    });
    expect(toActResult({ status: 'deferred', until: 60, reason: 'UPDATING' }, start)).toEqual({
      status: 'deferred',
      until: '2026-01-05T01:00:00.000Z',
      reason: 'UPDATING',
    });
    expect(toActResult({ status: 'skipped', reason: 'no change' }, start)).toEqual({
      status: 'skipped',
      reason: 'no change',
    });
  });
});

describe('AWS target tracking on an on-demand table', () => {
  it('does nothing: target tracking only manages provisioned capacity', async () => {
    const trace: DynamodbTrace = {
      kind: 'dynamodb',
      read: Array(60).fill(5000),
      write: Array(60).fill(1),
      source: 't',
    };
    const inner = createAwsDynamodbTargetTracking();
    const policy: BacktestPolicy<'dynamodb'> = {
      name: 'aws',
      initial: () => ({ mode: 'on-demand', read: 10, write: 10 }),
      decide: (ctx) => inner.decide(ctx),
    };
    const run = await runPolicy(trace, policy, options);
    expect((run.result as PolicyMetrics).changes).toBe(0);
    expect((run.result as PolicyMetrics).detail.onDemandMinutes).toBe(60);
  });
});
