import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ValidationError } from '../core/errors.ts';
import type { Kind, Trace, TraceOf } from './types.ts';

/**
 * Trace files: CSV, one header line, one row per minute, minutes 0, 1, 2, ... without gaps.
 *   dynamodb: minute,read_demand,write_demand   (capacity units per second)
 *   iops:     minute,iops_demand                (IO operations per second)
 *   replicas: minute,reader_cpu_demand          (total reader CPU, percent of one reader)
 * Blank lines and lines starting with # are ignored. Every error names the file and line.
 */
export const TRACE_HEADERS: Record<Kind, readonly string[]> = {
  dynamodb: ['minute', 'read_demand', 'write_demand'],
  iops: ['minute', 'iops_demand'],
  replicas: ['minute', 'reader_cpu_demand'],
};

/** At most 15 days of minutes: what CloudWatch keeps at 60 s resolution. */
export const MAX_TRACE_MINUTES = 15 * 24 * 60;

const demandValue = z
  .number({ error: 'not a number' })
  .refine(Number.isFinite, 'not a finite number')
  .min(0, 'demand must be >= 0');

function lineError(source: string, line: number, message: string): ValidationError {
  return new ValidationError(`${source}:${line}: ${message}`, [{ path: source, message, line }]);
}

function parseNumber(cell: string): number {
  const trimmed = cell.trim();
  // Number('') is 0 and Number('0x10') is 16: accept plain decimals only.
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return Number.NaN;
  return Number(trimmed);
}

export function parseTrace<K extends Kind>(kind: K, text: string, source = 'trace'): TraceOf<K> {
  const expected = TRACE_HEADERS[kind];
  const lines = text.split(/\r?\n/);
  const columns: number[][] = expected.slice(1).map(() => []);
  let headerSeen = false;
  let nextMinute = 0;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = (lines[i] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const cells = raw.split(',').map((c) => c.trim());
    if (!headerSeen) {
      const header = cells.map((c) => c.toLowerCase());
      if (header.length !== expected.length || header.some((h, j) => h !== expected[j])) {
        throw lineError(
          source,
          lineNo,
          `header must be "${expected.join(',')}" for a ${kind} trace, got "${raw}"`,
        );
      }
      headerSeen = true;
      continue;
    }
    if (cells.length !== expected.length) {
      throw lineError(
        source,
        lineNo,
        `expected ${expected.length} columns (${expected.join(',')}), got ${cells.length}`,
      );
    }
    const minute = parseNumber(cells[0] ?? '');
    if (!Number.isInteger(minute)) {
      throw lineError(source, lineNo, `minute "${cells[0]}" is not a whole number`);
    }
    if (minute !== nextMinute) {
      throw lineError(
        source,
        lineNo,
        `minute ${minute} out of sequence: expected ${nextMinute} (one row per minute, from 0, no gaps)`,
      );
    }
    for (let c = 1; c < expected.length; c++) {
      const value = demandValue.safeParse(parseNumber(cells[c] ?? ''));
      if (!value.success) {
        throw lineError(
          source,
          lineNo,
          `${expected[c]} "${cells[c]}": ${value.error.issues[0]?.message ?? 'invalid'}`,
        );
      }
      columns[c - 1]?.push(value.data);
    }
    nextMinute++;
    if (nextMinute > MAX_TRACE_MINUTES) {
      throw lineError(source, lineNo, `trace longer than ${MAX_TRACE_MINUTES} minutes (15 days)`);
    }
  }
  if (!headerSeen) throw lineError(source, 1, `empty trace: expected the header "${expected.join(',')}"`);
  if (nextMinute === 0) throw lineError(source, lines.length, 'the trace has a header but no rows');
  return buildTrace(kind, columns, source);
}

function buildTrace<K extends Kind>(kind: K, columns: number[][], source: string): TraceOf<K> {
  const col = (i: number): number[] => columns[i] ?? [];
  const trace: Trace =
    kind === 'dynamodb'
      ? { kind: 'dynamodb', read: col(0), write: col(1), source }
      : kind === 'iops'
        ? { kind: 'iops', iops: col(0), source }
        : { kind: 'replicas', cpu: col(0), source };
  return trace as TraceOf<K>;
}

export function readTraceFile<K extends Kind>(kind: K, file: string): TraceOf<K> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ValidationError(`cannot read trace file ${file}: ${(error as Error).message}`);
  }
  return parseTrace(kind, text, file);
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, '');
}

export function formatTrace(trace: Trace): string {
  const header = TRACE_HEADERS[trace.kind].join(',');
  const cols: number[][] =
    trace.kind === 'dynamodb'
      ? [trace.read, trace.write]
      : trace.kind === 'iops'
        ? [trace.iops]
        : [trace.cpu];
  const n = cols[0]?.length ?? 0;
  const rows: string[] = [header];
  for (let m = 0; m < n; m++) {
    rows.push([String(m), ...cols.map((c) => fmt(c[m] ?? 0))].join(','));
  }
  return `${rows.join('\n')}\n`;
}
