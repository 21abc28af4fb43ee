import { describe, expect, it } from 'vitest';
import { staticExactIops, staticPeakIops } from '../../../shared/backtest/baselines/static-peak.ts';
import { runPolicy } from '../../../shared/backtest/engine.ts';
import { generateTrace } from '../../../shared/backtest/generate-traces.ts';
import { parseOptions } from '../../../shared/backtest/options.ts';
import { runSuite, suiteTraces } from '../../../shared/backtest/suite.ts';
import { formatSuite } from '../../../shared/backtest/table.ts';
import type { IopsTrace, PolicyMetrics } from '../../../shared/backtest/types.ts';

const unavailable = () => ({ available: false as const, reason: 'not built' });

describe('backtest suite', () => {
  it('runs the shipped traces, unseen traces of the same shapes with other seeds, and the recurring ones jittered', () => {
    const traces = suiteTraces({ kind: 'iops', options: parseOptions({}), seeds: [7, 8] });
    expect(traces.map((t) => t.source.replace(/^.*test\/traces\//, ''))).toEqual([
      'iops/diurnal.csv',
      'iops/flash-sale.csv',
      'iops/sawtooth-3h.csv',
      'iops/slow-ramp.csv',
      'generated:iops/diurnal#7',
      'generated:iops/flash-sale#7',
      'generated:iops/sawtooth-3h#7',
      'generated:iops/slow-ramp#7',
      'generated:iops/diurnal#8',
      'generated:iops/flash-sale#8',
      'generated:iops/sawtooth-3h#8',
      'generated:iops/slow-ramp#8',
      'generated:iops/diurnal~jitter#7',
      'generated:iops/sawtooth-3h~jitter#7',
    ]);
  });

  it('totals unserved demand weighted by demand and sums costs', async () => {
    const suite = await runSuite({
      kind: 'replicas',
      options: parseOptions({}),
      seeds: [5],
      shipped: false,
      shapes: ['flash-sale', 'diurnal'],
      jittered: false,
      autopilot: unavailable,
    });
    expect(suite.reports).toHaveLength(2);
    const aws = suite.totals['aws-target-tracking'];
    const per = suite.reports.map((r) => r.policies['aws-target-tracking'] as PolicyMetrics);
    const demand = per.reduce((a, p) => a + (p.detail.demand ?? 0), 0);
    const unserved = per.reduce((a, p) => a + (p.detail.unserved ?? 0), 0);
    expect(aws?.unservedPct).toBeCloseTo((100 * unserved) / demand, 6);
    expect(aws?.cost).toBeCloseTo(
      per.reduce((a, p) => a + p.cost, 0),
      2,
    );
    expect(suite.totals['db-autopilot']).toBeUndefined();
    expect(formatSuite(suite)).toContain('TOTAL (2 traces)');
  });
});

describe('static peak and static exact', () => {
  it('static-peak keeps the target utilization headroom; static-exact provisions the bare peak and still serves everything', async () => {
    const trace = generateTrace('iops', 'diurnal', { seed: 3, days: 1 }) as IopsTrace;
    const peak = Math.max(...trace.iops);
    const def = parseOptions({});
    const withHeadroom = await runPolicy(trace, staticPeakIops(trace, def), def);
    const bare = await runPolicy(trace, staticExactIops(trace, def), def);
    expect(withHeadroom.capacity?.iops?.[0]).toBe(Math.ceil(peak / 0.7));
    expect(bare.capacity?.iops?.[0]).toBe(Math.ceil(peak));
    expect((bare.result as PolicyMetrics).saturationMinutes).toBe(0);
    expect((bare.result as PolicyMetrics).cost).toBeLessThan((withHeadroom.result as PolicyMetrics).cost);
  });
});
