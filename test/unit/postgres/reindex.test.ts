import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectedBtreeBytes } from '../../../shared/postgres/index-build.ts';
import { inMaintenanceWindow } from '../../../shared/postgres/maintenance-window.ts';
import {
  bloatOf,
  cannotRunConcurrently,
  type IndexStats,
  isRebuildLeftover,
  type RebuildSettings,
  reindexStatement,
  selectRebuilds,
} from '../../../shared/postgres/reindex.ts';

const MB = 1024 * 1024;

function index(
  name: string,
  bytes: number,
  leafDensity: number,
  extra: Partial<IndexStats> = {},
): IndexStats {
  return {
    oid: 1,
    name,
    table: 't',
    bytes,
    fillfactor: 90,
    leafDensity,
    isBtree: true,
    isValid: true,
    isExclusion: false,
    isSystem: false,
    ...extra,
  };
}

const settings: RebuildSettings = {
  minBloatRatio: 0.3,
  minBytes: MB,
  maxPerRun: 10,
  assumedBytesPerSecond: 32 * MB,
  safetyMarginMs: 30_000,
};
const open = { inWindow: true, windows: 'daily 02:00-05:00 UTC', remainingMs: 14 * 60_000 };

describe('bloatOf', () => {
  it('reads bloat from pgstatindex leaf density against the fillfactor', () => {
    expect(bloatOf(index('i', 100 * MB, 45))).toEqual({
      ratio: 0.5,
      wastedBytes: 50 * MB,
      source: 'pgstatindex',
    });
  });

  it('falls back to the catalog estimate of the rebuilt size', () => {
    const b = bloatOf(index('i', 100 * MB, Number.NaN, { leafDensity: undefined, expectedBytes: 40 * MB }));
    expect(b).toMatchObject({ ratio: 0.6, source: 'catalog estimate' });
  });
});

describe('selectRebuilds', () => {
  it('rebuilds bloated B-trees, most wasted bytes first, and leaves small, healthy and unsupported ones alone', () => {
    const out = selectRebuilds(
      [
        index('small', MB / 2, 20),
        index('healthy', 50 * MB, 85),
        index('half', 40 * MB, 45),
        index('mostly_empty', 30 * MB, 10),
        index('gist', 50 * MB, 10, { isBtree: false }),
        index('excl', 50 * MB, 10, { isExclusion: true }),
        index('broken', 50 * MB, 10, { isValid: false }),
      ],
      open,
      settings,
    );
    expect(out.candidates.map((c) => c.index.name)).toEqual(['mostly_empty', 'half']);
    expect(out.notRebuilt).toEqual([]);
  });

  it('defers every rebuild outside the maintenance windows', () => {
    const out = selectRebuilds([index('half', 40 * MB, 45)], { ...open, inWindow: false }, settings);
    expect(out.candidates).toEqual([]);
    expect(out.notRebuilt[0]).toMatchObject({ outcome: 'deferred', guard: 'maintenance-window' });
  });

  it('defers what does not fit the time left, and what is over the per-run cap', () => {
    const out = selectRebuilds(
      [index('huge', 40_000 * MB, 45), index('a', 40 * MB, 45), index('b', 30 * MB, 45)],
      open,
      { ...settings, maxPerRun: 1 },
    );
    expect(out.candidates.map((c) => c.index.name)).toEqual(['a']);
    expect(out.notRebuilt.map((n) => [n.index.name, n.guard])).toEqual([
      ['huge', 'time-budget:would-not-finish'],
      ['b', 'max-changes-per-run'],
    ]);
  });

  it('skips a locked table whose bloat could not be measured', () => {
    const out = selectRebuilds([index('locked', 40 * MB, Number.NaN, { locked: true })], open, settings);
    expect(out.notRebuilt[0]).toMatchObject({ outcome: 'skipped', guard: 'postgres:lock-not-available' });
  });

  it('never selects more than the cap, nor more estimated time than is left (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            mb: fc.integer({ min: 1, max: 20_000 }),
            density: fc.double({ min: 0, max: 100, noNaN: true }),
          }),
          {
            maxLength: 30,
          },
        ),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        (rows, maxPerRun, remainingMs) => {
          const out = selectRebuilds(
            rows.map((r, i) => index(`i${i}`, r.mb * MB, r.density)),
            { ...open, remainingMs },
            { ...settings, maxPerRun },
          );
          expect(out.candidates.length).toBeLessThanOrEqual(maxPerRun);
          const total = out.candidates.reduce((a, c) => a + c.estimatedMs, 0);
          expect(total).toBeLessThanOrEqual(Math.max(0, remainingMs - settings.safetyMarginMs));
          for (const c of out.candidates)
            expect(c.bloat.ratio).toBeGreaterThanOrEqual(settings.minBloatRatio);
        },
      ),
    );
  });
});

describe('concurrent rebuilds', () => {
  it('never rebuilds before PostgreSQL 12 or on a replica', () => {
    expect(cannotRunConcurrently({ version: 110012, inRecovery: false })).toContain('PostgreSQL 12+');
    expect(cannotRunConcurrently({ version: 150004, inRecovery: true })).toContain('replica');
    expect(cannotRunConcurrently({ version: 120000, inRecovery: false })).toBeUndefined();
    expect(reindexStatement('sales."Order_pkey"')).toBe('REINDEX INDEX CONCURRENTLY sales."Order_pkey"');
  });

  it('writes a REINDEX only for a quoted catalog name, never for anything spliced', () => {
    expect(() => reindexStatement('t_pkey; DROP TABLE orders')).toThrow(/not a quoted table name/);
    expect(() => reindexStatement('"a"" b".x--')).toThrow();
  });

  it('recognizes the transient index names of REINDEX CONCURRENTLY', () => {
    expect(['t_pkey_ccnew', 't_pkey_ccnew1', 't_pkey_ccold'].every(isRebuildLeftover)).toBe(true);
    expect(isRebuildLeftover('t_pkey')).toBe(false);
    expect(isRebuildLeftover('t_ccnew_id')).toBe(false);
  });

  it('estimates a fresh B-tree of 15 000 bigint keys at about 42 pages', () => {
    // (8192 - 40) * 0.9 / (16 + 4) = 366 tuples per leaf: 41 leaves, a metapage and a root.
    expect(expectedBtreeBytes(15_000, 8, 90)).toBe(43 * 8192);
    expect(expectedBtreeBytes(-1, 8, 90)).toBeUndefined();
  });
});

describe('inMaintenanceWindow', () => {
  const daily = [
    { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as Array<'mon'>, start: '02:00', end: '05:00' },
  ];

  it('is inside from start (inclusive) to end (exclusive), in UTC', () => {
    expect(inMaintenanceWindow(daily, new Date('2026-12-06T02:00:00Z'))).toBe(true);
    expect(inMaintenanceWindow(daily, new Date('2026-12-06T04:59:00Z'))).toBe(true);
    expect(inMaintenanceWindow(daily, new Date('2026-12-06T05:00:00Z'))).toBe(false);
    expect(inMaintenanceWindow([], new Date('2026-12-06T03:00:00Z'))).toBe(false);
  });

  it('lets a window cross midnight, counted from the day it starts', () => {
    const sat = [{ days: ['sat'] as Array<'sat'>, start: '22:00', end: '02:00' }];
    expect(inMaintenanceWindow(sat, new Date('2026-12-05T23:00:00Z'))).toBe(true); // Saturday
    expect(inMaintenanceWindow(sat, new Date('2026-12-06T01:00:00Z'))).toBe(true); // Sunday morning
    expect(inMaintenanceWindow(sat, new Date('2026-12-06T23:00:00Z'))).toBe(false); // Sunday evening
  });
});
