import {
  ANALYZE_SAMPLE_BYTES,
  type AutovacuumSettings,
  type Candidate,
  type NotSelected,
  type TableStats,
  type TableThresholds,
} from './selection.ts';
import { PG18 } from './vacuum-sql.ts';

/**
 * When a partitioned table needs ANALYZE. Pure: the catalog's rows, the server's autovacuum
 * settings, the version and `now` in; a candidate (or why not) out.
 *
 * A partitioned table holds no rows, so autovacuum never processes it, and so never ANALYZEs it
 * either: "autovacuum does not run ANALYZE on partitioned tables ... manually running ANALYZE on
 * partitioned tables when they are first populated, and again whenever the distribution of data in
 * their partitions changes significantly" (PostgreSQL docs, "Routine Vacuuming", 24.1.3). Its own
 * statistics (used by the planner for joins and aggregates over the whole table) go stale.
 *
 * Named steps:
 *   1. partitionChanges - rows changed in its partitions since its own last ANALYZE, from what
 *      pg_stat publishes for the partitions (the parent's own counters never move):
 *        - a partition analyzed after the parent: its n_mod_since_analyze, plus its analyze trigger
 *          when that analyze was autovacuum's (autovacuum only analyzes past the trigger);
 *        - a partition last analyzed before the parent: the share of its n_mod_since_analyze made
 *          since the parent's ANALYZE, at a steady rate ((now - parent) / (now - partition));
 *        - a partition never analyzed: all its n_mod_since_analyze;
 *        - partitions attached, detached or dropped: the change in rows against the parent's
 *          reltuples (set by its ANALYZE);
 *        - never analyzed: all its rows.
 *   2. parentTrigger   - autovacuum's analyze rule applied to the whole table:
 *      autovacuum_analyze_threshold + autovacuum_analyze_scale_factor x rows (partitioned tables
 *      take no autovacuum storage parameters), at the run's triggerFraction like every table;
 *   3. selectPartitioned - past the trigger, not analyzed in the last recentVacuumMinutes, the
 *      role may analyze it; PostgreSQL 14+ (the first to publish a partitioned table's last
 *      ANALYZE time; without it every run would analyze it again).
 * The statement: `ANALYZE ONLY` on PostgreSQL 18+ (the parent's statistics alone: autovacuum keeps
 * the partitions'), plain `ANALYZE` before, which also re-analyzes every partition: the
 * duration estimate counts those samples, and the run's time budget, statement_timeout and
 * maxTablesPerRun hold it like any table.
 */

export interface PartitionedTable {
  oid: number;
  /** `c.oid::regclass::text`. */
  name: string;
  schema: string;
  relname: string;
  /** Rows at its last ANALYZE (PostgreSQL sets it for partitioned tables); -1 or 0 never analyzed. */
  reltuples: number;
  lastAnalyze: string | null;
  lastAutoanalyze: string | null;
  mayMaintain: boolean;
}

export const PG14 = 140000;

export interface PartitionChanges {
  /** Rows changed since its last ANALYZE (estimated, see step 1). */
  changes: number;
  /** Rows in its partitions now. */
  rows: number;
  /** Its last ANALYZE (manual: autovacuum never does it), or undefined. */
  analyzedAt?: number;
}

function time(iso: string | null): number | undefined {
  if (iso === null) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

function latest(...isos: Array<string | null>): number | undefined {
  const times = isos.map(time).filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.max(...times) : undefined;
}

function rowsOf(leaf: TableStats): number {
  return leaf.reltuples >= 0 ? leaf.reltuples : Math.max(0, leaf.nLiveTup);
}

/** One partition's changes since the parent's ANALYZE at `parentAt`. */
function leafChanges(leaf: TableStats, parentAt: number, now: number, settings: AutovacuumSettings): number {
  const mods = Math.max(0, leaf.nModSinceAnalyze);
  const leafAt = latest(leaf.lastAnalyze, leaf.lastAutoanalyze);
  if (leafAt === undefined) return mods;
  if (leafAt >= parentAt) {
    const auto = time(leaf.lastAutoanalyze);
    const crossed = auto !== undefined && auto > parentAt;
    return mods + (crossed ? settings.analyzeThreshold + settings.analyzeScaleFactor * rowsOf(leaf) : 0);
  }
  const share = now > leafAt ? Math.max(0, now - parentAt) / (now - leafAt) : 0;
  return mods * Math.min(1, share);
}

/** Step 1. */
export function partitionChanges(
  parent: PartitionedTable,
  leaves: TableStats[],
  settings: AutovacuumSettings,
  now: Date,
): PartitionChanges {
  const rows = leaves.reduce((sum, l) => sum + rowsOf(l), 0);
  const analyzedAt = latest(parent.lastAnalyze, parent.lastAutoanalyze);
  if (analyzedAt === undefined) {
    const mods = leaves.reduce((sum, l) => sum + Math.max(0, l.nModSinceAnalyze), 0);
    return { changes: Math.max(rows, mods), rows };
  }
  const counted = leaves.reduce((sum, l) => sum + leafChanges(l, analyzedAt, now.getTime(), settings), 0);
  const moved = parent.reltuples >= 0 ? Math.abs(rows - parent.reltuples) : 0;
  return { changes: Math.round(Math.max(counted, moved)), rows, analyzedAt };
}

/** Step 2. */
export function parentTrigger(settings: AutovacuumSettings, rows: number): number {
  return settings.analyzeThreshold + settings.analyzeScaleFactor * rows;
}

export interface PartitionedOptions {
  now: Date;
  version: number;
  triggerFraction: number;
  recentVacuumMinutes: number;
}

export interface PartitionedSelection {
  candidates: Candidate[];
  skipped: NotSelected[];
  notPermitted: NotSelected[];
}

/** The parent as a table of the run: its partitions' sizes and rows, no dead tuples or ages of its own. */
function asTable(parent: PartitionedTable, leaves: TableStats[], c: PartitionChanges): TableStats {
  const sum = (f: (l: TableStats) => number) => leaves.reduce((s, l) => s + f(l), 0);
  return {
    oid: parent.oid,
    name: parent.name,
    schema: parent.schema,
    relname: parent.relname,
    reltuples: c.rows,
    relpages: sum((l) => l.relpages),
    tableBytes: sum((l) => l.tableBytes),
    totalBytes: sum((l) => l.totalBytes),
    nLiveTup: sum((l) => l.nLiveTup),
    nDeadTup: 0,
    nModSinceAnalyze: c.changes,
    lastVacuum: null,
    lastAutovacuum: null,
    lastAnalyze: parent.lastAnalyze,
    lastAutoanalyze: parent.lastAutoanalyze,
    xidAge: 0,
    mxidAge: 0,
    reloptions: null,
    mayMaintain: parent.mayMaintain,
  };
}

function thresholdsOf(trigger: number, settings: AutovacuumSettings): TableThresholds {
  return {
    vacuumTrigger: 0,
    analyzeTrigger: trigger,
    freezeMaxAge: settings.freezeMaxAge,
    multixactFreezeMaxAge: settings.multixactFreezeMaxAge,
    autovacuumEnabled: false,
  };
}

function explain(
  parent: PartitionedTable,
  leaves: TableStats[],
  c: PartitionChanges,
  trigger: number,
  only: boolean,
): string {
  const since =
    c.analyzedAt === undefined
      ? 'it was never analyzed'
      : `about ${c.changes} row(s) changed in its ${leaves.length} partition(s) since its last ANALYZE (${new Date(c.analyzedAt).toISOString()})`;
  const how = only
    ? 'ANALYZE ONLY: its own statistics, the partitions are left to autovacuum'
    : `before PostgreSQL 18 ANALYZE of a partitioned table also re-analyzes its ${leaves.length} partition(s)`;
  return `partitioned table ${parent.name}: autovacuum never analyzes a partitioned table; ${since} (${c.rows} rows, trigger ${Math.round(trigger)}); ${how}`;
}

/** Step 3: the partitioned tables to ANALYZE this run (the caller caps them with the other tables). */
export function selectPartitioned(
  parents: PartitionedTable[],
  tables: TableStats[],
  settings: AutovacuumSettings,
  options: PartitionedOptions,
): PartitionedSelection {
  const out: PartitionedSelection = { candidates: [], skipped: [], notPermitted: [] };
  if (options.version < PG14) return out;
  const only = options.version >= PG18;
  for (const parent of parents) {
    const leaves = tables.filter((t) => t.partitionRoot === parent.oid);
    const c = partitionChanges(parent, leaves, settings, options.now);
    const trigger = parentTrigger(settings, c.rows);
    if (c.rows <= 0 || !(c.changes > trigger * options.triggerFraction)) continue;
    const table = asTable(parent, leaves, c);
    const thresholds = thresholdsOf(trigger, settings);
    const base = { table, action: 'analyze' as const, reasons: ['partitions-changed' as const], thresholds };
    const minutesAgo =
      c.analyzedAt === undefined ? undefined : (options.now.getTime() - c.analyzedAt) / 60_000;
    if (minutesAgo !== undefined && minutesAgo < options.recentVacuumMinutes) {
      const why = `analyzed ${Math.max(0, Math.round(minutesAgo))} min ago (< ${options.recentVacuumMinutes} min)`;
      out.skipped.push({ ...base, why });
      continue;
    }
    if (!parent.mayMaintain) {
      out.notPermitted.push({ ...base, why: 'not permitted' });
      continue;
    }
    const sample = Math.min(table.tableBytes, ANALYZE_SAMPLE_BYTES);
    const partitionSamples = only
      ? 0
      : leaves.reduce((s, l) => s + Math.min(l.tableBytes, ANALYZE_SAMPLE_BYTES), 0);
    out.candidates.push({
      ...base,
      freeze: false,
      analyze: false,
      urgency: Math.min(trigger > 0 ? c.changes / trigger : c.changes, 999),
      partitioned: {
        partitions: leaves.length,
        only,
        sampleBytes: sample + partitionSamples,
        changes: c.changes,
        explain: explain(parent, leaves, c, trigger, only),
      },
    });
  }
  return out;
}
