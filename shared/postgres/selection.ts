/**
 * Which tables need VACUUM or ANALYZE now, and in which order. Pure: catalog rows, the
 * server's autovacuum settings, the options and `now` in; ordered candidates out.
 *
 * Autovacuum's own triggers (PostgreSQL docs "Routine Vacuuming", aws-facts.md):
 *   vacuum  when n_dead_tup > autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor x reltuples
 *           (PG18: capped by autovacuum_vacuum_max_threshold, -1 = no cap)
 *   analyze when n_mod_since_analyze > autovacuum_analyze_threshold + autovacuum_analyze_scale_factor x reltuples
 *   freeze  when age(relfrozenxid) > autovacuum_freeze_max_age, mxid_age(relminmxid) > autovacuum_multixact_freeze_max_age
 * Per-table reloptions (`ALTER TABLE ... SET (autovacuum_vacuum_scale_factor = ...)`) override the
 * server settings. We act at `triggerFraction` of these triggers, ahead of autovacuum.
 */

export interface TableStats {
  oid: number;
  /** `c.oid::regclass::text`: quoted as needed by the server, safe to put in a statement. */
  name: string;
  schema: string;
  relname: string;
  /** -1 on PG14+ for a table never vacuumed or analyzed. */
  reltuples: number;
  relpages: number;
  /** pg_table_size: heap + TOAST + FSM/VM, without indexes. */
  tableBytes: number;
  /** pg_total_relation_size: with indexes (VACUUM scans the indexes too). */
  totalBytes: number;
  nLiveTup: number;
  nDeadTup: number;
  nModSinceAnalyze: number;
  lastVacuum: string | null;
  lastAutovacuum: string | null;
  lastAnalyze: string | null;
  lastAutoanalyze: string | null;
  xidAge: number;
  mxidAge: number;
  reloptions: string[] | null;
  /**
   * The role may VACUUM / ANALYZE it (owner, database owner, superuser; MAINTAIN on 17+). False:
   * PostgreSQL would skip it with a WARNING, so it is reported and never takes a slot of the run.
   * Undefined: not known (treated as permitted; the WARNING still tells).
   */
  mayMaintain?: boolean;
  /** A partition's top-level partitioned table (its oid). */
  partitionRoot?: number;
}

export interface AutovacuumSettings {
  vacuumThreshold: number;
  vacuumScaleFactor: number;
  analyzeThreshold: number;
  analyzeScaleFactor: number;
  freezeMaxAge: number;
  multixactFreezeMaxAge: number;
  /** PG18+: autovacuum_vacuum_max_threshold; undefined before 18, -1 disables the cap. */
  vacuumMaxThreshold?: number;
}

/** PostgreSQL's defaults (postgresql.conf.sample), used where a setting cannot be read. */
export const defaultAutovacuumSettings: AutovacuumSettings = {
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
  freezeMaxAge: 200_000_000,
  multixactFreezeMaxAge: 400_000_000,
};

export interface SelectionOptions {
  now: Date;
  triggerFraction: number;
  freezeAgeFraction: number;
  recentVacuumMinutes: number;
  minDeadTuples: number;
  analyzeOnly: boolean;
  /** Manual run: only these oids, and run them even below the triggers. */
  onlyOids?: number[];
  maxTables: number;
}

export type Reason =
  | 'dead-tuples'
  | 'stale-statistics'
  | 'xid-age'
  | 'mxid-age'
  | 'requested'
  /** A partitioned table's partitions changed enough since its own last ANALYZE (partitioned.ts). */
  | 'partitions-changed';

/** ANALYZE of a partitioned table (partitioned.ts): what it covers and why. */
export interface PartitionedAnalyze {
  partitions: number;
  /** `ANALYZE ONLY` (PostgreSQL 18+): the parent's statistics alone, the partitions not analyzed again. */
  only: boolean;
  /** Bytes the statement reads: its samples (the parent's, and before 18 each partition's). */
  sampleBytes: number;
  /** Rows changed in its partitions since its last ANALYZE (estimated from their pg_stat counters). */
  changes: number;
  /** Why, in words, for the decision. */
  explain: string;
}

export interface TableThresholds {
  vacuumTrigger: number;
  analyzeTrigger: number;
  freezeMaxAge: number;
  multixactFreezeMaxAge: number;
  autovacuumEnabled: boolean;
}

export interface Candidate {
  table: TableStats;
  action: 'vacuum' | 'analyze';
  /** Vacuum with FREEZE (the age is the reason). */
  freeze: boolean;
  /** Vacuum also analyzes when the statistics are stale too (or always, cheap next to the scan). */
  analyze: boolean;
  reasons: Reason[];
  urgency: number;
  thresholds: TableThresholds;
  /** Set for a partitioned table's ANALYZE. */
  partitioned?: PartitionedAnalyze;
}

export interface NotSelected {
  table: TableStats;
  action: 'vacuum' | 'analyze';
  reasons: Reason[];
  why: string;
  thresholds: TableThresholds;
}

export interface Selection {
  candidates: Candidate[];
  /** Tables that need work but were left alone on purpose (vacuumed very recently, over the cap). */
  skipped: NotSelected[];
  /** Tables that need work the role may not do (mayMaintain false): never run, never counted in the cap. */
  notPermitted: NotSelected[];
}

function parseReloptions(reloptions: string[] | null): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of reloptions ?? []) {
    const eq = item.indexOf('=');
    if (eq > 0) map.set(item.slice(0, eq).toLowerCase(), item.slice(eq + 1));
  }
  return map;
}

function numberOption(map: Map<string, string>, key: string, fallback: number): number {
  const raw = map.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? value : fallback;
}

/** Autovacuum's per-table triggers, reloptions included. */
export function tableThresholds(table: TableStats, settings: AutovacuumSettings): TableThresholds {
  const opts = parseReloptions(table.reloptions);
  const reltuples = Math.max(0, table.reltuples);
  const vThreshold = numberOption(opts, 'autovacuum_vacuum_threshold', settings.vacuumThreshold);
  const vScale = numberOption(opts, 'autovacuum_vacuum_scale_factor', settings.vacuumScaleFactor);
  let vacuumTrigger = vThreshold + vScale * reltuples;
  const maxThreshold = numberOption(
    opts,
    'autovacuum_vacuum_max_threshold',
    settings.vacuumMaxThreshold ?? -1,
  );
  // PG18: "autovacuum_vacuum_max_threshold ... -1 disables" (PostgreSQL 18 docs, runtime-config-autovacuum).
  if (maxThreshold >= 0 && vacuumTrigger > maxThreshold) vacuumTrigger = maxThreshold;
  const aThreshold = numberOption(opts, 'autovacuum_analyze_threshold', settings.analyzeThreshold);
  const aScale = numberOption(opts, 'autovacuum_analyze_scale_factor', settings.analyzeScaleFactor);
  // A per-table autovacuum_freeze_max_age can only lower the server's value (docs, storage parameters).
  const freezeMaxAge = Math.min(
    settings.freezeMaxAge,
    numberOption(opts, 'autovacuum_freeze_max_age', settings.freezeMaxAge),
  );
  const multixactFreezeMaxAge = Math.min(
    settings.multixactFreezeMaxAge,
    numberOption(opts, 'autovacuum_multixact_freeze_max_age', settings.multixactFreezeMaxAge),
  );
  return {
    vacuumTrigger,
    analyzeTrigger: aThreshold + aScale * reltuples,
    freezeMaxAge,
    multixactFreezeMaxAge,
    autovacuumEnabled: (opts.get('autovacuum_enabled') ?? 'true').toLowerCase() !== 'false',
  };
}

function latest(...isos: Array<string | null>): number | undefined {
  const times = isos.filter((t): t is string => t !== null).map((t) => Date.parse(t));
  const valid = times.filter((t) => Number.isFinite(t));
  return valid.length > 0 ? Math.max(...valid) : undefined;
}

export function selectTables(
  tables: TableStats[],
  settings: AutovacuumSettings,
  options: SelectionOptions,
): Selection {
  const candidates: Candidate[] = [];
  const skipped: NotSelected[] = [];
  const notPermitted: NotSelected[] = [];
  const only = options.onlyOids ? new Set(options.onlyOids) : undefined;
  const recentMs = options.recentVacuumMinutes * 60_000;
  const now = options.now.getTime();

  for (const table of tables) {
    if (only && !only.has(table.oid)) continue;
    const t = tableThresholds(table, settings);
    const reasons: Reason[] = [];
    const deadOver =
      table.nDeadTup > Math.max(options.minDeadTuples, t.vacuumTrigger * options.triggerFraction);
    const statsStale = table.nModSinceAnalyze > t.analyzeTrigger * options.triggerFraction;
    const xidRatio = table.xidAge / t.freezeMaxAge;
    const mxidRatio = table.mxidAge / t.multixactFreezeMaxAge;
    const xidOld = xidRatio > options.freezeAgeFraction;
    const mxidOld = mxidRatio > options.freezeAgeFraction;
    if (deadOver) reasons.push('dead-tuples');
    if (statsStale) reasons.push('stale-statistics');
    if (xidOld) reasons.push('xid-age');
    if (mxidOld) reasons.push('mxid-age');
    const requested = only !== undefined;
    if (requested) reasons.push('requested');
    if (reasons.length === 0) continue;

    const needsVacuum = !options.analyzeOnly && (deadOver || xidOld || mxidOld || requested);
    const action: 'vacuum' | 'analyze' = needsVacuum ? 'vacuum' : 'analyze';
    if (action === 'analyze' && !statsStale && !requested) continue; // analyzeOnly and nothing stale
    if (table.mayMaintain === false) {
      // PostgreSQL would skip it with a WARNING: reported, and it takes no slot of the run's cap.
      notPermitted.push({ table, action, reasons, why: 'not permitted', thresholds: t });
      continue;
    }

    const lastVacuumAt = latest(table.lastVacuum, table.lastAutovacuum);
    const lastAnalyzeAt = latest(table.lastAnalyze, table.lastAutoanalyze, table.lastVacuum);
    const lastAt = action === 'vacuum' ? lastVacuumAt : lastAnalyzeAt;
    // Past the freeze limit itself, autovacuum is already forced: never hold back then.
    const pastLimit = xidRatio >= 1 || mxidRatio >= 1;
    // A last run "in the future" (clock skew, the demo's virtual clock) counts as recent: hold back.
    if (!requested && !pastLimit && lastAt !== undefined && now - lastAt < recentMs) {
      skipped.push({
        table,
        action,
        reasons,
        why: `${action === 'vacuum' ? 'vacuumed' : 'analyzed'} ${Math.max(0, Math.round((now - lastAt) / 60_000))} min ago (< ${options.recentVacuumMinutes} min)`,
        thresholds: t,
      });
      continue;
    }

    // Urgency: wraparound first (oldest first), then dead tuples against the trigger, then stale stats.
    const ageUrgency = Math.max(xidOld ? xidRatio : 0, mxidOld ? mxidRatio : 0);
    const deadUrgency = t.vacuumTrigger > 0 ? table.nDeadTup / t.vacuumTrigger : table.nDeadTup;
    const statsUrgency = t.analyzeTrigger > 0 ? table.nModSinceAnalyze / t.analyzeTrigger : 0;
    const urgency =
      ageUrgency > 0
        ? 1_000_000 + ageUrgency * 1000
        : action === 'vacuum'
          ? 1000 + Math.min(deadUrgency, 999_000)
          : Math.min(statsUrgency, 999);
    candidates.push({
      table,
      action,
      freeze: action === 'vacuum' && (xidOld || mxidOld),
      analyze: action === 'vacuum',
      reasons,
      urgency,
      thresholds: t,
    });
  }

  return withinCap({ candidates, skipped, notPermitted }, options.maxTables);
}

/**
 * The most urgent candidates up to the per-run cap, in order (wraparound, then dead tuples, then
 * statistics); the rest are skipped for the next run. Tables the role may not maintain were
 * never candidates, so they take no slot.
 */
export function withinCap(selection: Selection, maxTables: number): Selection {
  const candidates = [...selection.candidates].sort(
    (a, b) => b.urgency - a.urgency || b.table.nDeadTup - a.table.nDeadTup || a.table.oid - b.table.oid,
  );
  const over = candidates.splice(maxTables);
  const skipped = [...selection.skipped];
  for (const c of over) {
    skipped.push({
      table: c.table,
      action: c.action,
      reasons: c.reasons,
      why: `over the per-run cap of ${maxTables} tables; left for the next run`,
      thresholds: c.thresholds,
    });
  }
  return { candidates, skipped, notPermitted: selection.notPermitted };
}

/** ANALYZE reads at most 300 x default_statistics_target (100) pages of 8 KiB (PostgreSQL docs, ANALYZE). */
export const ANALYZE_SAMPLE_BYTES = 30_000 * 8192;

/**
 * Expected duration of the statement, from the table's size and the scan rate seen in past
 * runs (or the assumed rate). VACUUM reads heap and indexes; ANALYZE reads a sample of at most
 * 300 x default_statistics_target (100) pages = 30,000 pages (PostgreSQL docs, ANALYZE).
 */
export function estimateDurationMs(
  candidate: Pick<Candidate, 'action' | 'table' | 'partitioned'>,
  bytesPerSecond: number,
): number {
  const rate = Math.max(1, bytesPerSecond);
  const bytes = candidate.partitioned
    ? candidate.partitioned.sampleBytes
    : candidate.action === 'vacuum'
      ? candidate.table.totalBytes
      : Math.min(candidate.table.tableBytes, ANALYZE_SAMPLE_BYTES);
  return Math.ceil((bytes / rate) * 1000);
}
