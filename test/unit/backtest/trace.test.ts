import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTrace, SHAPES } from '../../../shared/backtest/generate-traces.ts';
import { formatTrace, parseTrace, readTraceFile } from '../../../shared/backtest/trace.ts';
import type { Kind } from '../../../shared/backtest/types.ts';
import { ValidationError } from '../../../shared/core/errors.ts';

const TRACES = join(import.meta.dirname, '..', '..', 'traces');

function parseError(kind: Kind, text: string): ValidationError {
  try {
    parseTrace(kind, text, 'x.csv');
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('trace parsing', () => {
  it('reads a dynamodb trace into read and write series', () => {
    const trace = parseTrace('dynamodb', 'minute,read_demand,write_demand\n0,10,2\n1,12.5,3\n', 't.csv');
    expect(trace).toEqual({ kind: 'dynamodb', read: [10, 12.5], write: [2, 3], source: 't.csv' });
  });

  it('ignores blank and comment lines', () => {
    const trace = parseTrace('iops', '# generated\nminute,iops_demand\n\n0,1000\n# x\n1,2000\n');
    expect(trace.iops).toEqual([1000, 2000]);
  });

  it('names the line of a wrong header', () => {
    const error = parseError('iops', 'minute,read_demand\n0,1\n');
    expect(error.message).toContain('x.csv:1');
    expect(error.message).toContain('minute,iops_demand');
    expect(error.issues[0]?.line).toBe(1);
  });

  it('names the line and column of a value that is not a number', () => {
    const error = parseError('dynamodb', 'minute,read_demand,write_demand\n0,1,2\n1,abc,2\n');
    expect(error.message).toContain('x.csv:3');
    expect(error.message).toContain('read_demand "abc"');
  });

  it('rejects negative demand, naming the line', () => {
    const error = parseError('replicas', 'minute,reader_cpu_demand\n0,10\n1,-5\n');
    expect(error.message).toMatch(/x\.csv:3: .*>= 0/);
  });

  it('rejects a gap in the minute sequence', () => {
    const error = parseError('replicas', 'minute,reader_cpu_demand\n0,10\n2,10\n');
    expect(error.message).toContain('x.csv:3');
    expect(error.message).toContain('expected 1');
  });

  it('rejects a row with the wrong number of columns', () => {
    expect(parseError('iops', 'minute,iops_demand\n0,1,2\n').message).toContain('expected 2 columns');
  });

  it('rejects an empty trace and a trace without rows', () => {
    expect(parseError('iops', '').message).toContain('empty trace');
    expect(parseError('iops', 'minute,iops_demand\n').message).toContain('no rows');
  });

  it('rejects hexadecimal and empty cells that Number() would accept', () => {
    expect(parseError('iops', 'minute,iops_demand\n0,0x10\n').message).toContain('not a number');
    expect(parseError('iops', 'minute,iops_demand\n0,\n').message).toContain('not a number');
  });

  it('round-trips through formatTrace', () => {
    const trace = generateTrace('dynamodb', 'diurnal', { seed: 5, days: 0.1 });
    const again = parseTrace('dynamodb', formatTrace(trace), trace.source);
    expect(again).toEqual(trace);
  });
});

describe('trace generator', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateTrace('iops', 'diurnal', { seed: 3, days: 1 });
    const b = generateTrace('iops', 'diurnal', { seed: 3, days: 1 });
    const c = generateTrace('iops', 'diurnal', { seed: 4, days: 1 });
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('makes a flash sale that rises tenfold within 5 minutes', () => {
    for (const seed of [1, 2, 3]) {
      const t = generateTrace('iops', 'flash-sale', { seed });
      if (t.kind !== 'iops') throw new Error('kind');
      const v = t.iops;
      let found = false;
      for (let i = 5; i < v.length; i++) {
        const before = v[i - 5] ?? 0;
        if (before > 0 && (v[i] ?? 0) >= 8 * before) found = true;
      }
      expect(found).toBe(true);
    }
  });

  it('makes the sawtooth drop every 3 hours', () => {
    const t = generateTrace('replicas', 'sawtooth-3h', { seed: 2, days: 1 });
    if (t.kind !== 'replicas') throw new Error('kind');
    const drops = t.cpu.map((v, i) => (i > 0 && (t.cpu[i - 1] ?? 0) > 2 * v ? i : -1)).filter((i) => i > 0);
    expect(drops).toEqual([180, 360, 540, 720, 900, 1080, 1260]);
  });
});

describe('jittered traces', () => {
  const drops = (v: number[]): number[] =>
    v.map((x, i) => (i > 0 && (v[i - 1] ?? 0) > 2 * x ? i : -1)).filter((i) => i > 0);

  it('moves each sawtooth cycle in time and height (150-210 min), where the plain one repeats to the minute', () => {
    const t = generateTrace('replicas', 'sawtooth-3h', { seed: 2, days: 2, jitter: true });
    if (t.kind !== 'replicas') throw new Error('kind');
    const at = drops(t.cpu);
    const gaps = at.slice(1).map((d, i) => d - (at[i] ?? 0));
    expect(gaps.length).toBeGreaterThan(8);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(150);
      expect(g).toBeLessThanOrEqual(210);
    }
    expect(new Set(gaps).size).toBeGreaterThan(3);
    const peaks = [0, ...at].slice(0, -1).map((s, i) => Math.max(...t.cpu.slice(s, at[i])));
    expect(Math.max(...peaks) / Math.min(...peaks)).toBeGreaterThan(1.15);
  });

  it('moves each recurring spike by up to 30 minutes and 40 % in height', () => {
    const plain = generateTrace('iops', 'diurnal', { seed: 5, days: 3 });
    const spikes = (jitter: boolean) => {
      const t = generateTrace('dynamodb', 'recurring-spikes', { seed: 5, days: 3, jitter });
      if (t.kind !== 'dynamodb') throw new Error('kind');
      // Starts of the big (6x) spikes: a rise above 4x the median.
      const sorted = [...t.read].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? 1;
      return t.read
        .map((v, i) => (v > 4 * median && (t.read[i - 1] ?? 0) <= 4 * median ? i : -1))
        .filter((i) => i >= 0);
    };
    const p = spikes(false);
    const j = spikes(true);
    const gapsOf = (s: number[]) => s.slice(1).map((d, i) => d - (s[i] ?? 0));
    expect(new Set(gapsOf(p)).size).toBe(1);
    expect(new Set(gapsOf(j)).size).toBeGreaterThan(2);
    expect(plain.source).not.toContain('jitter');
    expect(generateTrace('iops', 'diurnal', { seed: 5, jitter: true }).source).toContain('~jitter');
  });

  it('moves the daily peak from day to day', () => {
    const t = generateTrace('iops', 'diurnal', { seed: 9, days: 4, jitter: true });
    if (t.kind !== 'iops') throw new Error('kind');
    const peakMinute = (d: number) => {
      const day = t.iops.slice(d * 1440, (d + 1) * 1440);
      // Smooth the noise: the centre of the minutes above 95 % of the day's top.
      const top = Math.max(...day);
      const high = day.map((v, i) => (v > 0.95 * top ? i : -1)).filter((i) => i >= 0);
      return high.reduce((a, b) => a + b, 0) / high.length;
    };
    const minutes = [0, 1, 2, 3].map(peakMinute);
    expect(Math.max(...minutes) - Math.min(...minutes)).toBeGreaterThan(20);
  });

  it('the suite adds the recurring shapes jittered with the first unseen seed', async () => {
    const { suiteTraces } = await import('../../../shared/backtest/suite.ts');
    const { parseOptions } = await import('../../../shared/backtest/options.ts');
    const traces = suiteTraces({
      kind: 'iops',
      options: parseOptions({}),
      seeds: [101, 202],
      shipped: false,
    });
    expect(traces.map((t) => t.source).filter((s) => s.includes('~jitter'))).toEqual([
      'generated:iops/diurnal~jitter#101',
      'generated:iops/sawtooth-3h~jitter#101',
    ]);
  });
});

describe('shipped traces', () => {
  for (const kind of Object.keys(SHAPES) as Kind[]) {
    it(`ships every ${kind} shape, parseable, under 1 MB`, () => {
      const files = readdirSync(join(TRACES, kind)).filter((f) => f.endsWith('.csv'));
      expect(files.length).toBeGreaterThanOrEqual(4);
      for (const shape of SHAPES[kind]) {
        const file = join(TRACES, kind, `${shape}.csv`);
        expect(statSync(file).size).toBeLessThan(1_000_000);
        const trace = readTraceFile(kind, file);
        // The committed file is what the seeded generator writes.
        expect(readFileSync(file, 'utf8')).toBe(formatTrace(generateTrace(kind, shape, { seed: 1 })));
        expect(trace.kind).toBe(kind);
      }
    });
  }
});
