import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultAutovacuumSettings,
  estimateDurationMs,
  type SelectionOptions,
  selectTables,
  type TableStats,
  tableThresholds,
} from '../../../shared/postgres/selection.ts';

const now = new Date('2026-11-23T12:00:00Z');

function table(over: Partial<TableStats> = {}): TableStats {
  return {
    oid: 1000,
    name: 'line_items',
    schema: 'public',
    relname: 'line_items',
    reltuples: 100_000,
    relpages: 1000,
    tableBytes: 8_192_000,
    totalBytes: 10_000_000,
    nLiveTup: 100_000,
    nDeadTup: 0,
    nModSinceAnalyze: 0,
    lastVacuum: null,
    lastAutovacuum: null,
    lastAnalyze: null,
    lastAutoanalyze: null,
    xidAge: 1000,
    mxidAge: 10,
    reloptions: null,
    ...over,
  };
}

const options: SelectionOptions = {
  now,
  triggerFraction: 1,
  freezeAgeFraction: 0.5,
  recentVacuumMinutes: 60,
  minDeadTuples: 100,
  analyzeOnly: false,
  maxTables: 200,
};

describe('tableThresholds', () => {
  it('uses autovacuum threshold + scale factor x reltuples', () => {
    const t = tableThresholds(table(), defaultAutovacuumSettings);
    expect(t.vacuumTrigger).toBe(50 + 0.2 * 100_000);
    expect(t.analyzeTrigger).toBe(50 + 0.1 * 100_000);
  });

  it('lets per-table reloptions override the server settings', () => {
    const t = tableThresholds(
      table({ reloptions: ['autovacuum_vacuum_scale_factor=0.01', 'autovacuum_analyze_threshold=500'] }),
      defaultAutovacuumSettings,
    );
    expect(t.vacuumTrigger).toBe(50 + 0.01 * 100_000);
    expect(t.analyzeTrigger).toBe(500 + 0.1 * 100_000);
  });

  it('caps the trigger with autovacuum_vacuum_max_threshold on PostgreSQL 18, -1 meaning no cap', () => {
    const big = table({ reltuples: 1e9 });
    expect(
      tableThresholds(big, { ...defaultAutovacuumSettings, vacuumMaxThreshold: 100_000_000 }).vacuumTrigger,
    ).toBe(100_000_000);
    expect(tableThresholds(big, { ...defaultAutovacuumSettings, vacuumMaxThreshold: -1 }).vacuumTrigger).toBe(
      50 + 0.2e9,
    );
  });

  it('treats reltuples -1 (never analyzed, PG14+) as an empty table', () => {
    expect(tableThresholds(table({ reltuples: -1 }), defaultAutovacuumSettings).vacuumTrigger).toBe(50);
  });

  it('lets a table lower but not raise autovacuum_freeze_max_age', () => {
    const s = defaultAutovacuumSettings;
    expect(
      tableThresholds(table({ reloptions: ['autovacuum_freeze_max_age=100000000'] }), s).freezeMaxAge,
    ).toBe(100_000_000);
    expect(
      tableThresholds(table({ reloptions: ['autovacuum_freeze_max_age=900000000'] }), s).freezeMaxAge,
    ).toBe(200_000_000);
  });
});

describe('selectTables', () => {
  it('vacuums a table past its dead-tuple trigger and leaves one under it alone', () => {
    const s = selectTables(
      [
        table({ oid: 1, name: 'bloated', nDeadTup: 30_000 }),
        table({ oid: 2, name: 'fine', nDeadTup: 10_000 }),
      ],
      defaultAutovacuumSettings,
      options,
    );
    expect(s.candidates.map((c) => [c.table.name, c.action, c.reasons])).toEqual([
      ['bloated', 'vacuum', ['dead-tuples']],
    ]);
  });

  it('runs ANALYZE alone where only the statistics are stale', () => {
    const s = selectTables([table({ nModSinceAnalyze: 20_000 })], defaultAutovacuumSettings, options);
    expect(s.candidates[0]).toMatchObject({ action: 'analyze', reasons: ['stale-statistics'] });
  });

  it('puts the oldest XID age first, then dead tuples by how far past the trigger', () => {
    const s = selectTables(
      [
        table({ oid: 1, name: 'dead_a', nDeadTup: 25_000 }),
        table({ oid: 2, name: 'old', xidAge: 150_000_000 }),
        table({ oid: 3, name: 'dead_b', nDeadTup: 80_000 }),
        table({ oid: 4, name: 'older', mxidAge: 390_000_000 }),
        table({ oid: 5, name: 'stale', nModSinceAnalyze: 50_000 }),
      ],
      defaultAutovacuumSettings,
      options,
    );
    expect(s.candidates.map((c) => c.table.name)).toEqual(['older', 'old', 'dead_b', 'dead_a', 'stale']);
    expect(s.candidates.find((c) => c.table.name === 'old')?.freeze).toBe(true);
  });

  it('skips a table vacuumed very recently and says so', () => {
    const s = selectTables(
      [table({ nDeadTup: 50_000, lastAutovacuum: '2026-11-23T11:50:00Z' })],
      defaultAutovacuumSettings,
      options,
    );
    expect(s.candidates).toEqual([]);
    expect(s.skipped[0]?.why).toMatch(/vacuumed 10 min ago/);
  });

  it('treats a last vacuum later than now (clock skew, a virtual clock) as recent', () => {
    const s = selectTables(
      [table({ nDeadTup: 50_000, lastVacuum: '2026-11-25T00:00:00Z' })],
      defaultAutovacuumSettings,
      options,
    );
    expect(s.candidates).toEqual([]);
    expect(s.skipped[0]?.why).toBe('vacuumed 0 min ago (< 60 min)');
  });

  it('does not hold back a table past autovacuum_freeze_max_age even if vacuumed recently', () => {
    const s = selectTables(
      [table({ xidAge: 250_000_000, lastVacuum: '2026-11-23T11:59:00Z' })],
      defaultAutovacuumSettings,
      options,
    );
    expect(s.candidates.map((c) => c.reasons)).toEqual([['xid-age']]);
  });

  it('acts ahead of autovacuum at the configured fraction of its trigger', () => {
    const t = table({ nDeadTup: 12_000 }); // trigger 20,050; half is 10,025
    expect(selectTables([t], defaultAutovacuumSettings, options).candidates).toHaveLength(0);
    expect(
      selectTables([t], defaultAutovacuumSettings, { ...options, triggerFraction: 0.5 }).candidates,
    ).toHaveLength(1);
  });

  it('runs requested tables even under the triggers, and only those', () => {
    const s = selectTables(
      [table({ oid: 1, name: 'a' }), table({ oid: 2, name: 'b', nDeadTup: 90_000 })],
      defaultAutovacuumSettings,
      { ...options, onlyOids: [1] },
    );
    expect(s.candidates.map((c) => [c.table.name, c.action])).toEqual([['a', 'vacuum']]);
  });

  it('with analyzeOnly, analyzes instead of vacuuming', () => {
    const s = selectTables(
      [table({ nDeadTup: 90_000, nModSinceAnalyze: 90_000 })],
      defaultAutovacuumSettings,
      {
        ...options,
        analyzeOnly: true,
      },
    );
    expect(s.candidates.map((c) => c.action)).toEqual(['analyze']);
  });

  it('leaves tables over the per-run cap for the next run', () => {
    const tables = [1, 2, 3].map((i) => table({ oid: i, name: `t${i}`, nDeadTup: 30_000 * i }));
    const s = selectTables(tables, defaultAutovacuumSettings, { ...options, maxTables: 2 });
    expect(s.candidates.map((c) => c.table.name)).toEqual(['t3', 't2']);
    expect(s.skipped.map((x) => x.table.name)).toEqual(['t1']);
  });

  it('property: never selects a table under every trigger, and freeze work always comes first', () => {
    const arbTable = fc.record({
      oid: fc.integer({ min: 1, max: 1_000_000 }),
      reltuples: fc.integer({ min: -1, max: 10_000_000 }),
      nDeadTup: fc.integer({ min: 0, max: 5_000_000 }),
      nModSinceAnalyze: fc.integer({ min: 0, max: 5_000_000 }),
      xidAge: fc.integer({ min: 0, max: 400_000_000 }),
      mxidAge: fc.integer({ min: 0, max: 800_000_000 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbTable, { selector: (t) => t.oid, maxLength: 30 }), (rows) => {
        const tables = rows.map((r) => table({ ...r, name: `t${r.oid}` }));
        const s = selectTables(tables, defaultAutovacuumSettings, options);
        for (const c of s.candidates) {
          const t = tableThresholds(c.table, defaultAutovacuumSettings);
          const needs =
            c.table.nDeadTup > Math.max(100, t.vacuumTrigger) ||
            c.table.nModSinceAnalyze > t.analyzeTrigger ||
            c.table.xidAge > 0.5 * t.freezeMaxAge ||
            c.table.mxidAge > 0.5 * t.multixactFreezeMaxAge;
          expect(needs).toBe(true);
        }
        const firstNonFreeze = s.candidates.findIndex((c) => !c.freeze);
        if (firstNonFreeze >= 0)
          expect(s.candidates.slice(firstNonFreeze).every((c) => !c.freeze)).toBe(true);
      }),
    );
  });
});

describe('estimateDurationMs', () => {
  it('scales VACUUM with the whole table and ANALYZE with its sample only', () => {
    const t = table({ totalBytes: 640 * 1024 * 1024, tableBytes: 600 * 1024 * 1024 });
    expect(estimateDurationMs({ action: 'vacuum', table: t }, 64 * 1024 * 1024)).toBe(10_000);
    expect(estimateDurationMs({ action: 'analyze', table: t }, 64 * 1024 * 1024)).toBe(
      Math.ceil(((30_000 * 8192) / (64 * 1024 * 1024)) * 1000),
    );
  });
});
