import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../../shared/backtest/engine.ts';
import { parseOptions } from '../../../shared/backtest/options.ts';
import { readTraceFile } from '../../../shared/backtest/trace.ts';

/**
 * The goal, on every shipped iops trace, through the real policy and the real executor:
 * cheaper than static peak provisioning, with saturation under 2% of minutes.
 */
const TRACES = ['diurnal', 'flash-sale', 'sawtooth-3h', 'slow-ramp'];

describe('IOPS backtest goal on the shipped traces', () => {
  for (const name of TRACES) {
    it(`${name}: cheaper than static peak, saturated under 2% of minutes`, async () => {
      const trace = readTraceFile('iops', join(import.meta.dirname, `../../traces/iops/${name}.csv`));
      const report = await runBacktest({ trace, options: parseOptions({}) });
      const ours = report.policies['db-autopilot'];
      const fixed = report.policies['static-peak'];
      if (!ours?.available || !fixed?.available) throw new Error('a policy did not run');
      expect(ours.cost).toBeLessThan(fixed.cost);
      expect(ours.saturationMinutes / report.minutes).toBeLessThan(0.02);
    }, 120_000);
  }
});
