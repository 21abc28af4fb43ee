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

  it('with a publication delay d shows only minutes < t - d, the newest one partial', () => {
    const rows = [0, 1, 2, 3, 4, 5].map((m) => ({ m, sum: 10, complete: true }));
    const view = historyView(rows, 6, {
      delay: 2,
      partial: (r) => ({ ...r, sum: r.sum / 2, complete: false }),
    });
    expect(view.length).toBe(4);
    expect(view.delay).toBe(2);
    expect(() => view.at(4)).toThrow(/not published yet/);
    expect(() => view.at(5)).toThrow(WalkForwardViolation);
    expect(() => view.range(0, 7)).toThrow(WalkForwardViolation);
    expect(view.at(3)).toEqual({ m: 3, sum: 5, complete: false });
    expect(view.at(2)).toEqual({ m: 2, sum: 10, complete: true });
    // range up to the current minute is cut at the newest published minute
    expect(view.range(2, 6).map((r) => [r.m, r.sum])).toEqual([
      [2, 10],
      [3, 5],
    ]);
    expect(view.last(2).map((r) => r.complete)).toEqual([true, false]);
    expect(view.range(0, 3).every((r) => r.complete)).toBe(true);
  });
});

describe('publication delay in the harness', () => {
  it('hands every policy only minutes < t - delay, the newest partial, and scales the partial counters', async () => {
    const trace: DynamodbTrace = {
      kind: 'dynamodb',
      read: Array(40).fill(50),
      write: Array(40).fill(20),
      source: 't',
    };
    const delayed = parseOptions({ publicationDelayMinutes: 3, partialMinuteFraction: 0.25 });
    const seen: Array<{
      minute: number;
      length: number;
      newest?: number;
      complete?: boolean;
      consumed?: number;
    }> = [];
    const policy: BacktestPolicy<'dynamodb'> = {
      name: 'watcher',
      decide: (ctx) => {
        const newest = ctx.history.last(1)[0];
        seen.push({
          minute: ctx.minute,
          length: ctx.history.length,
          newest: newest?.minute,
          complete: newest?.complete,
          consumed: newest?.read.consumed,
        });
        return null;
      },
    };
    await runPolicy(trace, policy, delayed);
    for (const s of seen) {
      expect(s.length).toBe(Math.max(0, s.minute - 3));
      if (s.length === 0) continue;
      expect(s.newest).toBe(s.minute - 4);
      expect(s.complete).toBe(false);
      expect(s.consumed).toBeCloseTo(50 * 0.25, 9);
    }
  });

  it('the AWS baselines see the same delay: target tracking reacts later with a longer delay', async () => {
    const read = [...Array(60).fill(100), ...Array(60).fill(400)];
    const trace: DynamodbTrace = { kind: 'dynamodb', read, write: Array(120).fill(10), source: 'step' };
    const firstRaise = async (delay: number): Promise<number> => {
      const run = await runPolicy(
        trace,
        createAwsDynamodbTargetTracking(),
        parseOptions({ publicationDelayMinutes: delay, partialMinuteFraction: 1 }),
      );
      return (run.capacity?.read ?? []).findIndex((c) => c > 200);
    };
    const now = await firstRaise(0);
    const late = await firstRaise(5);
    expect(now).toBeGreaterThan(60);
    expect(late - now).toBe(5);
  });

  it('delay 0 is the old world: every minute < t visible and complete', async () => {
    const lengths: Array<[number, number, boolean | undefined]> = [];
    const policy: BacktestPolicy<'iops'> = {
      name: 'watcher',
      decide: (ctx) => {
        lengths.push([ctx.minute, ctx.history.length, ctx.history.last(1)[0]?.complete]);
        return null;
      },
    };
    await runPolicy(iopsTrace, policy, parseOptions({ publicationDelayMinutes: 0 }));
    for (const [minute, length, complete] of lengths) {
      expect(length).toBe(minute);
      if (minute > 0) expect(complete).toBe(true);
    }
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

  it('hands a policy exactly the minutes published before t, on its schedule', async () => {
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
    const d = options.publicationDelayMinutes;
    for (const [minute, length, last] of seen) {
      expect(length).toBe(Math.max(0, minute - d));
      expect(last).toBe(minute - d <= 0 ? undefined : minute - d - 1);
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
    expect(Object.keys(report.policies).sort()).toEqual([
      'db-autopilot',
      'oracle',
      'static-exact',
      'static-peak',
    ]);
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
      'static-exact',
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
