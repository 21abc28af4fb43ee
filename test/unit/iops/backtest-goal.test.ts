import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../../shared/backtest/engine.ts';
import { parseOptions } from '../../../shared/backtest/options.ts';
import { readTraceFile } from '../../../shared/backtest/trace.ts';

/**
 * Issue 20's goal under the honest world (issue 17: published signals only, noisy latency and
 * queue depth, a 2-minute publication delay, optimization times drawn with a tail past 24 h), as
 * `npm run backtest -- --kind iops --trace FILE --json` judges it (no --config: the schema
 * defaults), through the real policy and executor. Pinned here on the shipped traces: saturated
 * under 2% of minutes, also where every optimization lasts 24 h (a change then locks out the
 * next for a day: a small change before a flash sale or a ramp used to block the big one). The
 * suite (shipped + 12 unseen, at 6 h / 24 h / drawn optimization times) and the cost against
 * static-exact are measured in /work/notes/issue-20.md, misses included.
 */
const TRACES = ['diurnal', 'flash-sale', 'sawtooth-3h', 'slow-ramp'];

describe('IOPS backtest goal on the shipped traces (honest world, schema defaults)', () => {
  for (const name of TRACES) {
    it(`${name}: saturated under 2% of minutes`, async () => {
      const trace = readTraceFile('iops', join(import.meta.dirname, `../../traces/iops/${name}.csv`));
      const report = await runBacktest({ trace, options: parseOptions({}) });
      const ours = report.policies['db-autopilot'];
      if (!ours?.available) throw new Error('db-autopilot did not run');
      expect(ours.saturationMinutes / report.minutes).toBeLessThan(0.02);
    }, 240_000);
  }

  for (const name of ['flash-sale', 'slow-ramp']) {
    it(`${name}, every optimization 24 h: saturated under 2% of minutes`, async () => {
      const trace = readTraceFile('iops', join(import.meta.dirname, `../../traces/iops/${name}.csv`));
      const report = await runBacktest({
        trace,
        options: parseOptions({ iops: { optimizationMinutes: 1440 } }),
      });
      const ours = report.policies['db-autopilot'];
      if (!ours?.available) throw new Error('db-autopilot did not run');
      expect(ours.saturationMinutes / report.minutes).toBeLessThan(0.02);
    }, 240_000);
  }

  it('flash-sale: cheaper than static-exact (the bare peak)', async () => {
    const trace = readTraceFile('iops', join(import.meta.dirname, '../../traces/iops/flash-sale.csv'));
    const report = await runBacktest({ trace, options: parseOptions({}) });
    const ours = report.policies['db-autopilot'];
    const exact = report.policies['static-exact'];
    if (!ours?.available || !exact?.available) throw new Error('a policy did not run');
    expect(ours.cost).toBeLessThan(exact.cost);
  }, 240_000);
});
