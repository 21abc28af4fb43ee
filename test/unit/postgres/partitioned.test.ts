import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type PartitionedTable,
  partitionChanges,
  selectPartitioned,
} from '../../../shared/postgres/partitioned.ts';
import {
  defaultAutovacuumSettings,
  selectTables,
  type TableStats,
  withinCap,
} from '../../../shared/postgres/selection.ts';
import { analyzeStatement } from '../../../shared/postgres/vacuum-sql.ts';

const now = new Date('2026-12-06T03:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();

function parent(over: Partial<PartitionedTable> = {}): PartitionedTable {
  return {
    oid: 500,
    name: 'orders',
    schema: 'public',
    relname: 'orders',
    reltuples: 100_000,
    lastAnalyze: hoursAgo(24),
    lastAutoanalyze: null,
    mayMaintain: true,
    ...over,
  };
}

let nextOid = 600;
function leaf(over: Partial<TableStats> = {}): TableStats {
  nextOid += 1;
  return {
    oid: nextOid,
    name: `orders_p${nextOid}`,
    schema: 'public',
    relname: `orders_p${nextOid}`,
    reltuples: 50_000,
    relpages: 500,
    tableBytes: 4_096_000,
    totalBytes: 5_000_000,
    nLiveTup: 50_000,
    nDeadTup: 0,
    nModSinceAnalyze: 0,
    lastVacuum: null,
    lastAutovacuum: null,
    lastAnalyze: hoursAgo(24),
    lastAutoanalyze: null,
    xidAge: 1000,
    mxidAge: 10,
    reloptions: null,
    partitionRoot: 500,
    mayMaintain: true,
    ...over,
  };
}

const options = { now, version: 150000, triggerFraction: 1, recentVacuumMinutes: 60 };
const settings = defaultAutovacuumSettings;

describe('partitionChanges', () => {
  it('counts a partition analyzed after the parent by its changes since, plus its trigger when autovacuum analyzed it', () => {
    const manual = leaf({ lastAnalyze: hoursAgo(2), nModSinceAnalyze: 300 });
    const auto = leaf({ lastAnalyze: hoursAgo(30), lastAutoanalyze: hoursAgo(1), nModSinceAnalyze: 200 });
    const c = partitionChanges(parent(), [manual, auto], settings, now);
    // 300 + (200 + 50 + 0.1 x 50,000): autovacuum analyzes only past its trigger.
    expect(c.changes).toBe(300 + 200 + 5_050);
  });

  it('counts a partition last analyzed before the parent by the share of its changes made since (steady rate)', () => {
    // Analyzed 48 h ago, parent 24 h ago: half of its 10,000 changes are newer than the parent's ANALYZE.
    const c = partitionChanges(
      parent({ reltuples: 50_000 }),
      [leaf({ lastAnalyze: hoursAgo(48), nModSinceAnalyze: 10_000 })],
      settings,
      now,
    );
    expect(c.changes).toBe(5_000);
  });

  it('counts partitions attached or detached since by the change in rows against the parent reltuples', () => {
    const c = partitionChanges(parent({ reltuples: 40_000 }), [leaf(), leaf()], settings, now);
    expect(c).toMatchObject({ rows: 100_000, changes: 60_000 });
  });

  it('counts every row of a partitioned table never analyzed', () => {
    const c = partitionChanges(parent({ lastAnalyze: null, reltuples: -1 }), [leaf(), leaf()], settings, now);
    expect(c).toEqual({ rows: 100_000, changes: 100_000 });
  });
});

describe('selectPartitioned', () => {
  const changed = () => [leaf({ lastAnalyze: hoursAgo(2), nModSinceAnalyze: 20_000 }), leaf()];

  it('ANALYZEs past the trigger with the partitions re-analyzed before PostgreSQL 18 (counted in the estimate)', () => {
    const s = selectPartitioned([parent()], changed(), settings, options);
    expect(s.candidates).toHaveLength(1);
    expect(s.candidates[0]).toMatchObject({
      action: 'analyze',
      reasons: ['partitions-changed'],
      partitioned: { partitions: 2, only: false, changes: 20_000, sampleBytes: 2 * 8_192_000 },
    });
    expect(s.candidates[0]?.thresholds.analyzeTrigger).toBe(50 + 0.1 * 100_000);
  });

  it('uses ANALYZE ONLY on PostgreSQL 18+, sampling the whole table once', () => {
    const s = selectPartitioned([parent()], changed(), settings, { ...options, version: 180000 });
    expect(s.candidates[0]?.partitioned).toMatchObject({ only: true, sampleBytes: 8_192_000 });
    expect(analyzeStatement(180000, { only: true }, 'orders')).toBe(
      'ANALYZE (VERBOSE, SKIP_LOCKED) ONLY orders',
    );
    expect(analyzeStatement(170000, { only: true }, 'orders')).toBe('ANALYZE (VERBOSE, SKIP_LOCKED) orders');
  });

  it('leaves a partitioned table under its trigger, empty, or analyzed recently alone (recently: said so)', () => {
    const under = [leaf({ lastAnalyze: hoursAgo(2), nModSinceAnalyze: 9_000 }), leaf()];
    expect(selectPartitioned([parent()], under, settings, options).candidates).toEqual([]);
    expect(selectPartitioned([parent({ lastAnalyze: null })], [], settings, options).candidates).toEqual([]);
    const recent = selectPartitioned(
      [parent({ lastAnalyze: hoursAgo(0.5) })],
      [leaf({ lastAnalyze: hoursAgo(0.4), nModSinceAnalyze: 60_000 }), leaf()],
      settings,
      options,
    );
    expect(recent.candidates).toEqual([]);
    expect(recent.skipped[0]?.why).toBe('analyzed 30 min ago (< 60 min)');
  });

  it('reports one the role may not analyze instead of running it', () => {
    const s = selectPartitioned([parent({ mayMaintain: false })], changed(), settings, options);
    expect(s.candidates).toEqual([]);
    expect(s.notPermitted.map((n) => n.table.name)).toEqual(['orders']);
  });

  it('does nothing before PostgreSQL 14, which publishes no last ANALYZE time for a partitioned table', () => {
    expect(
      selectPartitioned([parent()], changed(), settings, { ...options, version: 130000 }).candidates,
    ).toEqual([]);
  });

  it('property: right after its ANALYZE (every partition analyzed with it, unchanged since) it is never selected', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 600 }),
        (sizes, minutesAgo) => {
          const at = new Date(now.getTime() - minutesAgo * 60_000).toISOString();
          const leaves = sizes.map((n) => leaf({ reltuples: n, nLiveTup: n, lastAnalyze: at }));
          const total = sizes.reduce((a, b) => a + b, 0);
          const s = selectPartitioned([parent({ lastAnalyze: at, reltuples: total })], leaves, settings, {
            ...options,
            recentVacuumMinutes: 0,
            triggerFraction: 0.5,
          });
          return s.candidates.length === 0;
        },
      ),
    );
  });
});

describe('the per-run cap', () => {
  it('is shared by tables and partitioned tables, and a table the role may not maintain takes no slot', () => {
    const bloated = (oid: number, mayMaintain: boolean) =>
      leaf({ oid, name: `t${oid}`, partitionRoot: undefined, nDeadTup: 40_000, mayMaintain });
    const tables = selectTables([bloated(1, false), bloated(2, true)], settings, {
      now,
      triggerFraction: 1,
      freezeAgeFraction: 0.5,
      recentVacuumMinutes: 60,
      minDeadTuples: 100,
      analyzeOnly: false,
      maxTables: 1,
    });
    expect(tables.candidates.map((c) => c.table.name)).toEqual(['t2']);
    expect(tables.notPermitted.map((c) => c.table.name)).toEqual(['t1']);
    expect(tables.skipped).toEqual([]);
    const parents = selectPartitioned(
      [parent()],
      [leaf({ lastAnalyze: hoursAgo(2), nModSinceAnalyze: 20_000 }), leaf()],
      settings,
      options,
    );
    const capped = withinCap(
      {
        candidates: [...tables.candidates, ...parents.candidates],
        skipped: [],
        notPermitted: tables.notPermitted,
      },
      1,
    );
    expect(capped.candidates.map((c) => c.table.name)).toEqual(['t2']);
    expect(capped.skipped.map((s) => [s.table.name, s.why])).toEqual([
      ['orders', 'over the per-run cap of 1 tables; left for the next run'],
    ]);
  });
});
