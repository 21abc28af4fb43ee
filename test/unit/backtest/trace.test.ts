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
