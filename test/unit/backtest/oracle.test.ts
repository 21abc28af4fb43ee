import { describe, expect, it } from 'vitest';
import { greedyClairvoyant } from '../../../shared/backtest/baselines/greedy.ts';
import { baselines, bestOracle, runPolicy } from '../../../shared/backtest/engine.ts';
import { generateTrace, SHAPES } from '../../../shared/backtest/generate-traces.ts';
import { parseOptions } from '../../../shared/backtest/options.ts';
import type { BacktestPolicy } from '../../../shared/backtest/plugins/types.ts';
import type { Kind, PolicyMetrics, TraceOf } from '../../../shared/backtest/types.ts';

/**
 * The oracle is never more expensive than a greedy clairvoyant (raise exactly when needed, lower
 * whenever AWS's rules allow) at the same service (issue 17).
 */
const options = parseOptions({});

function metrics(r: { result: unknown }): PolicyMetrics {
  const m = r.result as PolicyMetrics;
  expect(m.available).toBe(true);
  return m;
}

describe('oracle against the greedy clairvoyant', () => {
  for (const kind of ['dynamodb', 'iops', 'replicas'] as const) {
    it(`${kind}: on every shape the reported oracle costs no more than the greedy clairvoyant and serves as much`, async () => {
      for (const shape of SHAPES[kind]) {
        const trace = generateTrace(kind, shape, { seed: 7, days: 1 }) as TraceOf<Kind>;
        const oracle = baselines(trace, options).oracle as BacktestPolicy<Kind>;
        const reported = metrics(await bestOracle(trace, oracle, options));
        const greedy = metrics(await runPolicy(trace, greedyClairvoyant(trace, options), options));
        expect(reported.cost, `${kind}/${shape}`).toBeLessThanOrEqual(greedy.cost + 1e-9);
        expect(reported.unservedPct, `${kind}/${shape}`).toBeLessThanOrEqual(greedy.unservedPct + 1e-9);
      }
    });
  }

  it('the greedy clairvoyant is a real policy: it serves everything and changes capacity both ways', async () => {
    const trace = generateTrace('dynamodb', 'diurnal', { seed: 3, days: 2 }) as TraceOf<'dynamodb'>;
    const run = await runPolicy(trace, greedyClairvoyant(trace, options), options);
    const m = metrics(run);
    expect(m.unservedPct).toBe(0);
    expect(m.detail.decreases).toBeGreaterThan(0);
    expect(m.changes).toBeGreaterThan(m.detail.decreases ?? 0);
  });

  it('reports the greedy plan (detail.greedy = 1) when the planned oracle costs more', async () => {
    const trace = generateTrace('iops', 'diurnal', { seed: 3, days: 1 }) as TraceOf<'iops'>;
    const wasteful: BacktestPolicy<'iops'> = {
      name: 'oracle',
      initial: () => ({ iops: 60_000 }),
      decide: () => null,
    };
    const greedy = metrics(await runPolicy(trace, greedyClairvoyant(trace, options), options));
    const reported = metrics(await bestOracle(trace, wasteful, options));
    expect(reported.detail.greedy).toBe(1);
    expect(reported.cost).toBe(greedy.cost);
    const planned = metrics(
      await bestOracle(trace, baselines(trace, options).oracle as BacktestPolicy<'iops'>, options),
    );
    expect(planned.detail.greedy).toBe(0);
  });
});
