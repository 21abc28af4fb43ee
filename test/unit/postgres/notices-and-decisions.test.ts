import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../shared/core/model.ts';
import {
  type MaintainResult,
  maintenanceDecisions,
  updatedThroughput,
} from '../../../shared/postgres/maintenance.ts';
import type { TableRunResult } from '../../../shared/postgres/runner.ts';
import { summarizeNotices } from '../../../shared/postgres/runner.ts';
import {
  defaultAutovacuumSettings,
  selectTables,
  type TableStats,
} from '../../../shared/postgres/selection.ts';
import { repeatsSkip } from '../../../shared/state/slim.ts';

describe('summarizeNotices', () => {
  it('reads tuples removed and dead-but-not-removable from PostgreSQL 15+ VERBOSE output', () => {
    const s = summarizeNotices([
      'vacuuming "shop.public.line_items"',
      'finished vacuuming "shop.public.line_items": index scans: 1\npages: 0 removed, 443 remain, 443 scanned (100.00% of total)\ntuples: 10000 removed, 10000 remain, 7 are dead but not yet removable\nremovable cutoff: 750',
    ]);
    expect(s).toEqual({
      skippedForLock: false,
      skippedForPermission: false,
      tuplesRemoved: 10_000,
      deadNotYetRemovable: 7,
      pagesRemoved: 0,
    });
  });

  it('reads dead tuples missed for cleanup-lock contention (PostgreSQL 15+)', () => {
    const s = summarizeNotices([
      'finished vacuuming "shop.public.t": index scans: 0\npages: 0 removed, 200 remain, 200 scanned (100.00% of total)\ntuples: 9000 removed, 10000 remain, 0 are dead but not yet removable\ntuples missed: 27 dead from 1 pages not removed due to cleanup lock contention',
    ]);
    expect(s).toMatchObject({ tuplesRemoved: 9_000, deadNotYetRemovable: 0, missedDead: 27 });
  });

  it('reads the PostgreSQL 13/14 format, DETAIL included', () => {
    const s = summarizeNotices([
      '"line_items": found 2500 removable, 2500 nonremovable row versions in 30 out of 30 pages\n3 dead row versions cannot be removed yet, oldest xmin: 740',
    ]);
    expect(s).toMatchObject({ tuplesRemoved: 2_500, deadNotYetRemovable: 3 });
  });

  it('recognises a table skipped for its lock (SKIP_LOCKED warning)', () => {
    expect(summarizeNotices(['skipping vacuum of "line_items" --- lock not available']).skippedForLock).toBe(
      true,
    );
    expect(summarizeNotices(['skipping analyze of "orders" --- lock not available']).skippedForLock).toBe(
      true,
    );
  });

  it('recognises a table skipped because the role may not maintain it, in every version format', () => {
    // PG16+ (vacuum.c vacuum_is_permitted_for_relation); up to PG15: "only ... owner can vacuum it".
    const notices = [
      'permission denied to vacuum "orders", skipping it',
      'permission denied to analyze "orders", skipping it',
      'skipping "orders" --- only table or database owner can vacuum it',
      'skipping "orders" --- only table or database owner can analyze it',
      'skipping "pg_database" --- only superuser can vacuum it',
    ];
    for (const n of notices) {
      expect(summarizeNotices([n])).toMatchObject({ skippedForPermission: true, permissionNotice: n });
    }
    expect(
      summarizeNotices(['skipping vacuum of "orders" --- lock not available']).skippedForPermission,
    ).toBe(false);
  });
});

function stats(over: Partial<TableStats>): TableStats {
  return {
    oid: 1,
    name: 'line_items',
    schema: 'public',
    relname: 'line_items',
    reltuples: 10_000,
    relpages: 100,
    tableBytes: 819_200,
    totalBytes: 1_000_000,
    nLiveTup: 10_000,
    nDeadTup: 9_000,
    nModSinceAnalyze: 9_000,
    lastVacuum: null,
    lastAutovacuum: null,
    lastAnalyze: null,
    lastAutoanalyze: null,
    xidAge: 100,
    mxidAge: 1,
    reloptions: null,
    ...over,
  };
}

const now = new Date('2026-11-23T12:00:00Z');
const ctx = {
  runId: 'r',
  at: now.toISOString(),
  mode: 'apply' as const,
  dryRun: false,
  override: false,
  trigger: 'schedule' as const,
};

function resultWith(results: TableRunResult[], skippedTables: TableStats[] = []): MaintainResult {
  const sel = selectTables(skippedTables, defaultAutovacuumSettings, {
    now,
    triggerFraction: 1,
    freezeAgeFraction: 0.5,
    recentVacuumMinutes: 60,
    minDeadTuples: 100,
    analyzeOnly: false,
    maxTables: 100,
  });
  return {
    database: 'orders',
    serverVersionNum: 150004,
    results,
    skipped: sel.skipped,
    notPermitted: sel.notPermitted,
    tablesSeen: 10,
    throughput: {},
  };
}

describe('maintenanceDecisions', () => {
  const candidate = selectTables([stats({})], defaultAutovacuumSettings, {
    now,
    triggerFraction: 1,
    freezeAgeFraction: 0.5,
    recentVacuumMinutes: 60,
    minDeadTuples: 100,
    analyzeOnly: false,
    maxTables: 10,
  }).candidates[0];

  it('records one decision per table with thresholds, duration and tuples removed as evidence', () => {
    if (!candidate) throw new Error('fixture: expected a candidate');
    const d = maintenanceDecisions(
      resultWith([
        {
          candidate,
          outcome: 'applied',
          statement: 'VACUUM (ANALYZE) line_items',
          reason: 'done',
          estimatedMs: 10,
          durationMs: 42,
          tuplesRemoved: 9_000,
          deadNotYetRemovable: 0,
          notices: [],
        },
      ]),
      ctx,
    );
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({
      tuner: 'maintenance',
      action: 'vacuum',
      outcome: 'applied',
      resource: 'orders:line_items',
      resourceKind: 'postgres-table',
    });
    const metric = (m: string) => d[0]?.evidence.find((e) => e.metric === m);
    expect(metric('n_dead_tup')).toMatchObject({ value: 9_000, threshold: 2_050 });
    expect(metric('duration_ms')?.value).toBe(42);
    expect(metric('tuples_removed')?.value).toBe(9_000);
  });

  it('names the guard of a table left for the next run', () => {
    if (!candidate) throw new Error('fixture: expected a candidate');
    const d = maintenanceDecisions(
      resultWith([
        {
          candidate,
          outcome: 'deferred',
          statement: 'VACUUM',
          reason: 'time budget spent: not started, left for the next run',
          estimatedMs: 10,
          notices: [],
        },
      ]),
      ctx,
    );
    expect(d[0]).toMatchObject({ outcome: 'deferred', guard: 'time-budget' });
  });

  it('records tables skipped because they were vacuumed recently', () => {
    const d = maintenanceDecisions(resultWith([], [stats({ lastAutovacuum: '2026-11-23T11:45:00Z' })]), ctx);
    expect(d[0]).toMatchObject({ outcome: 'skipped', guard: 'recently-vacuumed' });
  });

  it('records a table the role may not maintain as a warning whose reason and values repeat run after run (stored as a repeat, not a new warning)', () => {
    const tonight = maintenanceDecisions(
      resultWith([], [stats({ mayMaintain: false, nDeadTup: 5_000 })]),
      ctx,
    );
    const later = maintenanceDecisions(
      resultWith([], [stats({ mayMaintain: false, nDeadTup: 9_000, nModSinceAnalyze: 4_000 })]),
      { ...ctx, at: '2026-11-23T15:00:00Z' },
    );
    expect(tonight).toHaveLength(1);
    expect(tonight[0]).toMatchObject({
      outcome: 'skipped',
      guard: 'postgres:not-permitted',
      severity: 'warning',
    });
    expect(tonight[0]?.reason).toMatch(/takes no slot of maxTablesPerRun.*GRANT the owning role/);
    expect(repeatsSkip(tonight[0], later[0] as Decision)).toBe(true);
  });

  it('records a no-op when no table needs work', () => {
    const d = maintenanceDecisions(resultWith([]), ctx);
    expect(d.map((x) => [x.action, x.resourceKind])).toEqual([['noop', 'postgres-database']]);
  });
});

describe('updatedThroughput', () => {
  it('learns the scan rate from runs long enough to measure and remembers each table', () => {
    const candidate = {
      table: stats({ totalBytes: 100 * 1024 * 1024 }),
      action: 'vacuum',
    } as TableRunResult['candidate'];
    const r: TableRunResult = {
      candidate,
      outcome: 'applied',
      statement: '',
      reason: '',
      estimatedMs: 0,
      durationMs: 1_000,
      notices: [],
    };
    const t = updatedThroughput({}, [r], now);
    expect(t.bytesPerSecond).toBe(100 * 1024 * 1024);
    expect(t.tables?.line_items).toEqual({ bytes: 100 * 1024 * 1024, ms: 1_000, at: now.toISOString() });
    const blended = updatedThroughput({ bytesPerSecond: 0 }, [r], now);
    expect(blended.bytesPerSecond).toBeCloseTo(0.3 * 100 * 1024 * 1024);
  });
});
