import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../../shared/backtest/engine.ts';
import { generateTrace, SHAPES } from '../../../shared/backtest/generate-traces.ts';
import { parseOptions } from '../../../shared/backtest/options.ts';
import { createAutopilotPolicy } from '../../../shared/backtest/plugins/replicas.ts';
import { readTraceFile } from '../../../shared/backtest/trace.ts';
import type { PolicyMetrics, PolicyResult, ReplicasTrace } from '../../../shared/backtest/types.ts';

const options = parseOptions({});
const dir = join(import.meta.dirname, '../../traces/replicas');

function metrics(r: PolicyResult | undefined): PolicyMetrics {
  if (!r?.available) throw new Error(`policy unavailable: ${r && !r.available ? r.reason : 'missing'}`);
  return r;
}

async function goal(trace: ReplicasTrace) {
  const report = await runBacktest({ trace, options });
  const ours = metrics(report.policies['db-autopilot']);
  const aws = metrics(report.policies['aws-target-tracking']);
  const peak = metrics(report.policies['static-peak']);
  return { ours, aws, peak };
}

describe('replicas backtest goal (real policy + executor through the harness)', () => {
  const shipped = readdirSync(dir).filter((f) => f.endsWith('.csv'));

  it('ships traces to check', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(4);
  });

  for (const file of shipped) {
    it(`on ${file}: no more saturation minutes than Aurora Auto Scaling, cheaper than static peak`, async () => {
      const { ours, aws, peak } = await goal(readTraceFile('replicas', join(dir, file)));
      expect(ours.saturationMinutes).toBeLessThanOrEqual(aws.saturationMinutes);
      expect(ours.cost).toBeLessThan(peak.cost);
    });
  }

  for (const shape of SHAPES.replicas) {
    it(`on unseen ${shape} traces (seeds 101-103): the same goal`, async () => {
      for (const seed of [101, 102, 103]) {
        const { ours, aws, peak } = await goal(generateTrace('replicas', shape, { seed }) as ReplicasTrace);
        expect(ours.saturationMinutes, `${shape}#${seed}`).toBeLessThanOrEqual(aws.saturationMinutes);
        expect(ours.cost, `${shape}#${seed}`).toBeLessThan(peak.cost);
      }
    });
  }

  it('is a real policy: it changes the reader count and never exceeds the bounds', async () => {
    const trace = generateTrace('replicas', 'flash-sale', { seed: 7 }) as ReplicasTrace;
    const report = await runBacktest({ trace, options: parseOptions({ replicas: { maxReaders: 4 } }) });
    const ours = metrics(report.policies['db-autopilot']);
    expect(ours.changes).toBeGreaterThan(0);
    const readers = report.series.capacity['db-autopilot']?.readers ?? [];
    expect(Math.max(...readers)).toBeLessThanOrEqual(4);
    expect(Math.min(...readers)).toBeGreaterThanOrEqual(1);
  });

  it('reports itself available to the harness', async () => {
    const p = await createAutopilotPolicy({ kind: 'replicas', options });
    expect('name' in p && p.name).toBe('db-autopilot');
  });
});
