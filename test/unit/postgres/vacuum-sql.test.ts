import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/core/errors.ts';
import { analyzeStatement, vacuumStatement } from '../../../shared/postgres/vacuum-sql.ts';

const v = (major: number) => major * 10000 + 4;
const all = { analyze: true, verbose: true, bufferUsageLimit: '256MB', processToast: false } as const;

describe('vacuumStatement gates options on server_version_num', () => {
  it.each([
    [13, 'VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, TRUNCATE false) public.line_items'],
    [14, 'VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, TRUNCATE false, PROCESS_TOAST false) public.line_items'],
    [15, 'VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, TRUNCATE false, PROCESS_TOAST false) public.line_items'],
    [
      16,
      "VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, BUFFER_USAGE_LIMIT '256MB', TRUNCATE false, PROCESS_TOAST false) public.line_items",
    ],
    [
      17,
      "VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, BUFFER_USAGE_LIMIT '256MB', TRUNCATE false, PROCESS_TOAST false) public.line_items",
    ],
    [
      18,
      "VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, BUFFER_USAGE_LIMIT '256MB', TRUNCATE false, PROCESS_TOAST false) public.line_items",
    ],
  ])('PostgreSQL %i', (major, expected) => {
    expect(vacuumStatement(v(major), all, 'public.line_items')).toBe(expected);
  });

  it('omits SKIP_LOCKED and TRUNCATE on a server older than 12', () => {
    expect(vacuumStatement(110000, { analyze: true }, 'orders')).toBe('VACUUM (ANALYZE, VERBOSE) orders');
  });

  it('sends TRUNCATE false by default and nothing when truncation is allowed', () => {
    expect(vacuumStatement(v(15), { analyze: false }, 'orders')).toContain('TRUNCATE false');
    expect(vacuumStatement(v(15), { analyze: false, truncate: true }, 'orders')).not.toContain('TRUNCATE');
  });

  it('adds FREEZE when the age is the reason and never writes FULL', () => {
    const s = vacuumStatement(v(17), { analyze: true, freeze: true }, 'orders');
    expect(s.startsWith('VACUUM (FREEZE, ANALYZE')).toBe(true);
    expect(s).not.toMatch(/FULL/);
  });

  it('leaves PROCESS_TOAST out when it is the default', () => {
    expect(vacuumStatement(v(16), { analyze: false }, 'orders')).not.toContain('PROCESS_TOAST');
  });

  it('accepts quoted catalog names and refuses anything else', () => {
    expect(vacuumStatement(v(15), { analyze: false }, '"Sales"."Order Lines"')).toMatch(
      /"Sales"."Order Lines"$/,
    );
    expect(vacuumStatement(v(15), { analyze: false }, '"we""ird"')).toMatch(/"we""ird"$/);
    for (const bad of ['orders; DROP TABLE x', 'a.b.c', '"unterminated', 'orders --', '']) {
      expect(() => vacuumStatement(v(15), { analyze: false }, bad)).toThrow(ValidationError);
    }
  });

  it('refuses a malformed BUFFER_USAGE_LIMIT', () => {
    expect(() => vacuumStatement(v(16), { analyze: false, bufferUsageLimit: "1MB'; --" }, 'orders')).toThrow(
      ValidationError,
    );
  });
});

describe('analyzeStatement', () => {
  it.each([
    [13, 'ANALYZE (VERBOSE, SKIP_LOCKED) public.orders'],
    [16, "ANALYZE (VERBOSE, SKIP_LOCKED, BUFFER_USAGE_LIMIT '64MB') public.orders"],
    [18, "ANALYZE (VERBOSE, SKIP_LOCKED, BUFFER_USAGE_LIMIT '64MB') public.orders"],
  ])('PostgreSQL %i', (major, expected) => {
    expect(analyzeStatement(v(major), { bufferUsageLimit: '64MB' }, 'public.orders')).toBe(expected);
  });
});
