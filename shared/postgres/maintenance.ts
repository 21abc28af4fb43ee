import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { MaintenanceConfig } from '../config/sections/maintenance.ts';
import type { StateStore } from '../core/contracts.ts';
import { DbAutopilotError, ValidationError } from '../core/errors.ts';
import type { Decision, Evidence, Mode, Trigger } from '../core/model.ts';
import { logger } from '../handler/observability.ts';
import { type MaintenanceCatalog, readMaintenanceCatalog, resolveTables } from './catalog.ts';
import { closeQuietly, type PgTarget } from './connection.ts';
import { pointEvidence } from './evidence.ts';
import { selectPartitioned } from './partitioned.ts';
import { prefetchConnections, runTables, SessionTimeouts, type TableRunResult } from './runner.ts';
import { type Candidate, type NotSelected, selectTables, withinCap } from './selection.ts';
import { PG17 } from './vacuum-sql.ts';

/** The maintenance loop for one database: observe the catalog -> select (pure) -> run -> decisions. */

export type MaintenanceSettings = Pick<
  MaintenanceConfig,
  | 'concurrency'
  | 'lockTimeoutMs'
  | 'safetyMarginMs'
  | 'truncate'
  | 'recentVacuumMinutes'
  | 'minDeadTuples'
  | 'triggerFraction'
  | 'freezeAgeFraction'
  | 'assumedVacuumBytesPerSecond'
  | 'bufferUsageLimit'
  | 'processToast'
  | 'maxTablesPerRun'
  | 'progressLogIntervalMs'
>;

export const defaultMaintenanceSettings: MaintenanceSettings = {
  concurrency: 2,
  lockTimeoutMs: 2_000,
  safetyMarginMs: 30_000,
  truncate: false,
  recentVacuumMinutes: 60,
  minDeadTuples: 100,
  triggerFraction: 0.5,
  freezeAgeFraction: 0.5,
  assumedVacuumBytesPerSecond: 64 * 1024 * 1024,
  processToast: true,
  maxTablesPerRun: 200,
  progressLogIntervalMs: 10_000,
};

/** Recorded per database in the store's tuner state: past durations feed the estimates. */
export interface ThroughputState {
  bytesPerSecond?: number;
  tables?: Record<string, { bytes: number; ms: number; at: string }>;
}

export interface MaintainRequest {
  target: PgTarget;
  settings: MaintenanceSettings;
  /** Plan only (dry run, or observe mode). */
  dryRun: boolean;
  analyzeOnly?: boolean;
  /** Manual run: table names as given by a person, resolved with to_regclass($1). */
  tables?: string[];
  remainingMs: () => number;
  now: Date;
  history?: ThroughputState;
  /** Log pg_stat_progress_vacuum from a second connection (off for PGlite). */
  monitorProgress?: boolean;
}

export interface MaintainResult {
  database: string;
  serverVersionNum: number;
  results: TableRunResult[];
  skipped: NotSelected[];
  /** Tables that need work the role may not do: not run, not counted against maxTablesPerRun. */
  notPermitted: NotSelected[];
  /** Tables, materialized views and partitioned tables read from the catalog. */
  tablesSeen: number;
  throughput: ThroughputState;
}

export class UnknownTables extends ValidationError {}

/**
 * The configured host is a read replica (hot standby, Aurora reader): VACUUM and ANALYZE are
 * refused there ("cannot execute VACUUM during recovery"), and its pg_stat counters are its own
 * (the writer's dead tuples do not show), so a run would report a healthy database while the
 * writer is never maintained. Refused before anything runs; recorded as a failed decision.
 */
export class ReadReplicaTarget extends DbAutopilotError {}

export function readReplicaMessage(target: Pick<PgTarget, 'name' | 'describe'>): string {
  return `${target.name} (${target.describe}) is a read replica (pg_is_in_recovery() is true): VACUUM and ANALYZE run only on the writer, and a replica's statistics do not show the writer's dead tuples; nothing was run. Point the database's host at the writer (the cluster endpoint on Aurora) and list readers under "replicas"`;
}

const MAX_REMEMBERED_TABLES = 500;

/** Manual run: the names resolved by the server to oids, or UnknownTables naming the unknown ones. */
async function resolveRequested(primary: pg.Client, req: MaintainRequest): Promise<number[] | undefined> {
  if (!req.tables || req.tables.length === 0) return undefined;
  const resolved = await resolveTables(primary, req.tables);
  const partitioned = resolved.filter((r) => r.partitioned).map((r) => r.input);
  if (partitioned.length > 0) {
    throw new UnknownTables(
      `${partitioned.map((u) => JSON.stringify(u)).join(', ')} in ${req.target.name}: a partitioned table holds no rows of its own; name its partitions to VACUUM / ANALYZE them, or run the whole database (it ANALYZEs a partitioned table when its partitions changed enough); nothing was run`,
      partitioned.map((u) => ({
        path: `event.tables[${req.tables?.indexOf(u) ?? 0}]`,
        message: `${u} is a partitioned table`,
      })),
    );
  }
  const unknown = resolved.filter((r) => r.oid === null).map((r) => r.input);
  if (unknown.length > 0) {
    throw new UnknownTables(
      `unknown table${unknown.length > 1 ? 's' : ''} in ${req.target.name}: ${unknown.map((u) => JSON.stringify(u)).join(', ')} (not a table or materialized view visible to the db-autopilot role; nothing was run)`,
      unknown.map((u, i) => ({
        path: `event.tables[${req.tables?.indexOf(u) ?? i}]`,
        message: `unknown table ${u}`,
      })),
    );
  }
  return resolved.map((r) => r.oid).filter((o): o is number => o !== null);
}

/**
 * One run on one database. Its fixed cost is kept off the critical path: the extra workers'
 * sessions open and get their timeouts while the primary reads the catalog (one round trip),
 * the primary's timeouts are sent right behind that read, and each session is closed by its
 * worker as soon as the queue is empty: the first VACUUMs start one catalog read after the
 * connection, and the run ends one session close after its last statement.
 */
export async function maintainDatabase(req: MaintainRequest): Promise<MaintainResult> {
  const leftMs = () => req.remainingMs() - req.settings.safetyMarginMs;
  const timeouts = new SessionTimeouts(req.settings.lockTimeoutMs);
  const primary = await req.target.open();
  const connections = prefetchConnections(
    req.target,
    req.dryRun ? 0 : Math.max(0, req.settings.concurrency - 1),
    (client) => timeouts.ensure(client, leftMs()),
  );
  try {
    const onlyOids = await resolveRequested(primary, req);
    const reading = readMaintenanceCatalog(primary, onlyOids);
    // Sent as soon as the catalog read ends (same session, in order), met by the first worker.
    if (!req.dryRun) timeouts.ensure(primary, leftMs()).catch(() => undefined);
    const catalog = await reading;
    const { serverVersionNum: version, inRecovery, tables } = catalog;
    if (inRecovery) throw new ReadReplicaTarget(readReplicaMessage(req.target));
    const selection = selectAll(catalog, req, onlyOids);
    const history = req.history ?? {};
    const bytesPerSecond = (c: Candidate): number => {
      const past = history.tables?.[c.table.name];
      if (past && past.ms > 0 && past.bytes > 0) return (past.bytes / past.ms) * 1000;
      return history.bytesPerSecond ?? req.settings.assumedVacuumBytesPerSecond;
    };
    const results = await runTables(
      req.target,
      selection.candidates,
      {
        version,
        concurrency: req.settings.concurrency,
        lockTimeoutMs: req.settings.lockTimeoutMs,
        safetyMarginMs: req.settings.safetyMarginMs,
        truncate: req.settings.truncate,
        processToast: req.settings.processToast,
        bufferUsageLimit: req.settings.bufferUsageLimit,
        dryRun: req.dryRun,
        bytesPerSecond,
        remainingMs: req.remainingMs,
        progressLogIntervalMs: req.settings.progressLogIntervalMs,
        monitorProgress: req.monitorProgress ?? req.settings.concurrency > 1,
        connections,
        timeouts,
        closePrimaryWhenDone: true,
      },
      primary,
    );
    return {
      database: req.target.name,
      serverVersionNum: version,
      results,
      skipped: selection.skipped,
      notPermitted: selection.notPermitted,
      tablesSeen: tables.length + catalog.partitioned.length,
      throughput: updatedThroughput(history, results, req.now),
    };
  } finally {
    // Already closed by the first worker after its last table (closePrimaryWhenDone) in a real run.
    await Promise.all([closeQuietly(primary), connections.closeUnused()]);
  }
}

/**
 * The tables and (on a whole-database run) the partitioned tables that need work, capped together
 * at maxTablesPerRun, most urgent first; what the role may not maintain takes no slot.
 */
function selectAll(catalog: MaintenanceCatalog, req: MaintainRequest, onlyOids: number[] | undefined) {
  const common = {
    now: req.now,
    triggerFraction: req.settings.triggerFraction,
    recentVacuumMinutes: req.settings.recentVacuumMinutes,
  };
  const tables = selectTables(catalog.tables, catalog.settings, {
    ...common,
    freezeAgeFraction: req.settings.freezeAgeFraction,
    minDeadTuples: req.settings.minDeadTuples,
    analyzeOnly: req.analyzeOnly ?? false,
    onlyOids,
    maxTables: Number.POSITIVE_INFINITY,
  });
  const parents =
    onlyOids === undefined
      ? selectPartitioned(catalog.partitioned, catalog.tables, catalog.settings, {
          ...common,
          version: catalog.serverVersionNum,
        })
      : { candidates: [], skipped: [], notPermitted: [] };
  return withinCap(
    {
      candidates: [...tables.candidates, ...parents.candidates],
      skipped: [...tables.skipped, ...parents.skipped],
      notPermitted: [...tables.notPermitted, ...parents.notPermitted],
    },
    req.settings.maxTablesPerRun,
  );
}

/** Folds this run's measured VACUUM rates into the recorded state (pure). */
export function updatedThroughput(
  previous: ThroughputState,
  results: TableRunResult[],
  now: Date,
): ThroughputState {
  const tables = { ...(previous.tables ?? {}) };
  let bytes = 0;
  let ms = 0;
  for (const r of results) {
    if (r.outcome !== 'applied' || r.candidate.action !== 'vacuum' || !r.durationMs) continue;
    tables[r.candidate.table.name] = {
      bytes: r.candidate.table.totalBytes,
      ms: r.durationMs,
      at: now.toISOString(),
    };
    // Tiny tables say more about round trips than about scan rates.
    if (r.durationMs >= 200) {
      bytes += r.candidate.table.totalBytes;
      ms += r.durationMs;
    }
  }
  const names = Object.keys(tables);
  if (names.length > MAX_REMEMBERED_TABLES) {
    names
      .sort((a, b) => (tables[a]?.at ?? '').localeCompare(tables[b]?.at ?? ''))
      .slice(0, names.length - MAX_REMEMBERED_TABLES)
      .forEach((n) => {
        delete tables[n];
      });
  }
  const measured = ms > 0 ? (bytes / ms) * 1000 : undefined;
  const bytesPerSecond =
    measured === undefined
      ? previous.bytesPerSecond
      : previous.bytesPerSecond === undefined
        ? measured
        : 0.7 * previous.bytesPerSecond + 0.3 * measured;
  return { ...(bytesPerSecond === undefined ? {} : { bytesPerSecond }), tables };
}

export interface DecisionContext {
  runId: string;
  at: string;
  mode: Mode;
  dryRun: boolean;
  override: boolean;
  trigger: Trigger;
}

/** Point evidence with its threshold rounded (autovacuum thresholds are fractional). */
function ev(
  metric: string,
  value: number | null | undefined,
  at: string,
  unit?: string,
  threshold?: number,
): Evidence {
  return pointEvidence(metric, value, at, unit, threshold === undefined ? undefined : Math.round(threshold));
}

function tableEvidence(c: Pick<Candidate, 'table' | 'thresholds' | 'reasons'>, at: string): Evidence[] {
  const t = c.table;
  if (c.reasons.includes('partitions-changed')) {
    // A partitioned table: no dead tuples or ages of its own; its partitions' changes and size.
    return [
      ev('partition_changes', t.nModSinceAnalyze, at, 'Count', c.thresholds.analyzeTrigger),
      ev('partition_rows', t.reltuples, at, 'Count'),
      ev('total_bytes', t.totalBytes, at, 'Bytes'),
    ];
  }
  return [
    ev('n_dead_tup', t.nDeadTup, at, 'Count', c.thresholds.vacuumTrigger),
    ev('n_mod_since_analyze', t.nModSinceAnalyze, at, 'Count', c.thresholds.analyzeTrigger),
    ev('xid_age', t.xidAge, at, 'Count', c.thresholds.freezeMaxAge),
    ev('mxid_age', t.mxidAge, at, 'Count', c.thresholds.multixactFreezeMaxAge),
    ev('total_bytes', t.totalBytes, at, 'Bytes'),
  ];
}

type DecisionBase = Omit<
  Decision,
  'id' | 'resource' | 'action' | 'outcome' | 'reason' | 'evidence' | 'from' | 'to' | 'severity'
>;

function baseOf(ctx: DecisionContext): DecisionBase {
  return {
    runId: ctx.runId,
    at: ctx.at,
    tuner: 'maintenance',
    resourceKind: 'postgres-table',
    monthlyCostDelta: 0,
    undo: {
      kind: 'none',
      params: {},
      impossibleBecause: 'VACUUM and ANALYZE change no setting; nothing to undo',
    },
    mode: ctx.mode,
    dryRun: ctx.dryRun,
    override: ctx.override,
    trigger: ctx.trigger,
  };
}

/** A table that ran, or was planned or deferred by the runner. */
function runDecision(base: DecisionBase, database: string, r: TableRunResult): Decision {
  const c = r.candidate;
  const at = base.at;
  const evidence = [
    ...tableEvidence(c, at),
    ev('estimated_ms', r.estimatedMs, at, 'Milliseconds'),
    ...(r.durationMs === undefined ? [] : [ev('duration_ms', r.durationMs, at, 'Milliseconds')]),
    ...(r.tuplesRemoved === undefined ? [] : [ev('tuples_removed', r.tuplesRemoved, at, 'Count')]),
    ...(r.deadNotYetRemovable === undefined
      ? []
      : [ev('dead_not_yet_removable', r.deadNotYetRemovable, at, 'Count')]),
  ];
  const pastFreeze =
    c.table.xidAge >= c.thresholds.freezeMaxAge || c.table.mxidAge >= c.thresholds.multixactFreezeMaxAge;
  const why = c.partitioned ? `${c.partitioned.explain}: ${r.reason}` : r.reason;
  return {
    ...base,
    id: randomUUID(),
    resource: `${database}:${c.table.name}`,
    action: c.action,
    outcome: r.outcome,
    reason: `${c.reasons.join(', ')}: ${why}`,
    evidence,
    from: c.partitioned
      ? {
          partitions: c.partitioned.partitions,
          changes: c.partitioned.changes,
          lastAnalyze: c.table.lastAnalyze,
        }
      : { deadTuples: c.table.nDeadTup, modsSinceAnalyze: c.table.nModSinceAnalyze, xidAge: c.table.xidAge },
    to: { statement: r.statement },
    ...(r.outcome === 'skipped' || r.outcome === 'deferred' || r.outcome === 'failed'
      ? { guard: guardFor(r) }
      : {}),
    severity: pastFreeze || r.outcome === 'failed' || r.notPermitted === true ? 'warning' : 'info',
  };
}

/**
 * A table that needs work the role may not do. Its reason, values and rule stay the same run
 * after run (the numbers are in the evidence only), so the state store keeps one record a day
 * and counts the repeats on it (a repeated skip) instead of a new warning every run.
 */
function notPermittedDecision(base: DecisionBase, result: MaintainResult, s: NotSelected): Decision {
  const fix =
    result.serverVersionNum >= PG17
      ? 'GRANT pg_maintain TO the db-autopilot role (or GRANT MAINTAIN ON the table)'
      : 'before PostgreSQL 17 only the owner may: GRANT the owning role TO the db-autopilot role, or run as the owner';
  return {
    ...base,
    id: randomUUID(),
    resource: `${result.database}:${s.table.name}`,
    action: s.action,
    outcome: 'skipped',
    reason: `not permitted: the db-autopilot role may not ${s.action} this table (only its owner, the database owner, a superuser or, on PostgreSQL 17+, a role with MAINTAIN may; PostgreSQL would skip it with a WARNING), so it is not run and takes no slot of maxTablesPerRun. Fix: ${fix}`,
    evidence: tableEvidence(s, base.at),
    from: null,
    to: null,
    guard: 'postgres:not-permitted',
    severity: 'warning',
  };
}

/** One Decision per table (pure): tuner 'maintenance', action vacuum/analyze. */
export function maintenanceDecisions(result: MaintainResult, ctx: DecisionContext): Decision[] {
  const base = baseOf(ctx);
  const decisions: Decision[] = result.results.map((r) => runDecision(base, result.database, r));
  for (const s of result.skipped) {
    decisions.push({
      ...base,
      id: randomUUID(),
      resource: `${result.database}:${s.table.name}`,
      action: s.action,
      outcome: 'skipped',
      reason: `${s.reasons.join(', ')}: ${s.why}`,
      evidence: tableEvidence(s, ctx.at),
      from: { deadTuples: s.table.nDeadTup, modsSinceAnalyze: s.table.nModSinceAnalyze },
      to: null,
      guard: s.why.startsWith('over the per-run cap') ? 'max-changes-per-run' : 'recently-vacuumed',
      severity: 'info',
    });
  }
  for (const s of result.notPermitted) decisions.push(notPermittedDecision(base, result, s));
  if (decisions.length === 0) {
    decisions.push({
      ...base,
      id: randomUUID(),
      resource: result.database,
      resourceKind: 'postgres-database',
      action: 'noop',
      outcome: ctx.dryRun || ctx.mode === 'observe' ? 'planned' : 'applied',
      reason: `no table of ${result.tablesSeen} needs VACUUM or ANALYZE (dead tuples, statistics and ages under the triggers)`,
      evidence: [ev('tables_seen', result.tablesSeen, ctx.at, 'Count')],
      from: null,
      to: null,
      undo: null,
      severity: 'info',
    });
  }
  return decisions;
}

function guardFor(r: TableRunResult): string {
  if (r.notPermitted) return 'postgres:not-permitted';
  if (r.errorCode === '55P03' || r.reason.includes('SKIP_LOCKED')) return 'postgres:lock-not-available';
  if (r.errorCode === '57014') return 'postgres:statement-timeout';
  if (r.reason.startsWith('time budget')) return 'time-budget';
  if (r.reason.startsWith('estimated')) return 'time-budget:would-not-finish';
  return 'postgres:error';
}

/** Records decisions and the new throughput state; a store error is logged, never fatal to the run. */
export async function recordMaintenance(
  store: StateStore | undefined,
  result: MaintainResult,
  decisions: Decision[],
): Promise<void> {
  if (!store) return;
  try {
    for (const d of decisions) await store.recordDecision(d);
    await store.putTunerState('maintenance', `postgres:${result.database}`, { ...result.throughput });
  } catch (error) {
    logger.error('could not record maintenance decisions', { error: error as Error });
  }
}

/** Reads the recorded throughput for a database (tolerates a missing or odd state). */
export async function loadThroughput(
  store: StateStore | undefined,
  database: string,
  now: Date,
): Promise<ThroughputState> {
  if (!store) return {};
  try {
    const h = await store.getHistory('maintenance', `postgres:${database}`, now);
    const s = h.tunerState ?? {};
    const bytesPerSecond = typeof s.bytesPerSecond === 'number' ? s.bytesPerSecond : undefined;
    const tables =
      typeof s.tables === 'object' && s.tables !== null ? (s.tables as ThroughputState['tables']) : undefined;
    return { ...(bytesPerSecond ? { bytesPerSecond } : {}), ...(tables ? { tables } : {}) };
  } catch {
    return {};
  }
}
