import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { MaintenanceConfig } from '../config/sections/maintenance.ts';
import type { StateStore } from '../core/contracts.ts';
import { DbAutopilotError, ValidationError } from '../core/errors.ts';
import type { Decision, Evidence, Mode, Outcome, Trigger } from '../core/model.ts';
import { logger } from '../handler/observability.ts';
import { readMaintenanceCatalog, resolveTables } from './catalog.ts';
import { closeQuietly, type PgTarget } from './connection.ts';
import { pointEvidence } from './evidence.ts';
import { prefetchConnections, runTables, SessionTimeouts, type TableRunResult } from './runner.ts';
import { type Candidate, type NotSelected, selectTables } from './selection.ts';

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
    const { serverVersionNum: version, inRecovery, settings, tables } = await reading;
    if (inRecovery) throw new ReadReplicaTarget(readReplicaMessage(req.target));
    const selection = selectTables(tables, settings, {
      now: req.now,
      triggerFraction: req.settings.triggerFraction,
      freezeAgeFraction: req.settings.freezeAgeFraction,
      recentVacuumMinutes: req.settings.recentVacuumMinutes,
      minDeadTuples: req.settings.minDeadTuples,
      analyzeOnly: req.analyzeOnly ?? false,
      onlyOids,
      maxTables: req.settings.maxTablesPerRun,
    });
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
      tablesSeen: tables.length,
      throughput: updatedThroughput(history, results, req.now),
    };
  } finally {
    // Already closed by the first worker after its last table (closePrimaryWhenDone) in a real run.
    await Promise.all([closeQuietly(primary), connections.closeUnused()]);
  }
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

function tableEvidence(c: Pick<Candidate, 'table' | 'thresholds'>, at: string): Evidence[] {
  const t = c.table;
  return [
    ev('n_dead_tup', t.nDeadTup, at, 'Count', c.thresholds.vacuumTrigger),
    ev('n_mod_since_analyze', t.nModSinceAnalyze, at, 'Count', c.thresholds.analyzeTrigger),
    ev('xid_age', t.xidAge, at, 'Count', c.thresholds.freezeMaxAge),
    ev('mxid_age', t.mxidAge, at, 'Count', c.thresholds.multixactFreezeMaxAge),
    ev('total_bytes', t.totalBytes, at, 'Bytes'),
  ];
}

/** One Decision per table (pure): tuner 'maintenance', action vacuum/analyze. */
export function maintenanceDecisions(result: MaintainResult, ctx: DecisionContext): Decision[] {
  const decisions: Decision[] = [];
  const base = {
    runId: ctx.runId,
    at: ctx.at,
    tuner: 'maintenance' as const,
    resourceKind: 'postgres-table' as const,
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
  for (const r of result.results) {
    const c = r.candidate;
    const evidence = [
      ...tableEvidence(c, ctx.at),
      ev('estimated_ms', r.estimatedMs, ctx.at, 'Milliseconds'),
      ...(r.durationMs === undefined ? [] : [ev('duration_ms', r.durationMs, ctx.at, 'Milliseconds')]),
      ...(r.tuplesRemoved === undefined ? [] : [ev('tuples_removed', r.tuplesRemoved, ctx.at, 'Count')]),
      ...(r.deadNotYetRemovable === undefined
        ? []
        : [ev('dead_not_yet_removable', r.deadNotYetRemovable, ctx.at, 'Count')]),
    ];
    const pastFreeze =
      c.table.xidAge >= c.thresholds.freezeMaxAge || c.table.mxidAge >= c.thresholds.multixactFreezeMaxAge;
    const outcome: Outcome = r.outcome;
    decisions.push({
      ...base,
      id: randomUUID(),
      resource: `${result.database}:${c.table.name}`,
      action: c.action,
      outcome,
      reason: `${c.reasons.join(', ')}: ${r.reason}`,
      evidence,
      from: {
        deadTuples: c.table.nDeadTup,
        modsSinceAnalyze: c.table.nModSinceAnalyze,
        xidAge: c.table.xidAge,
      },
      to: { statement: r.statement },
      ...(r.outcome === 'skipped' || r.outcome === 'deferred' || r.outcome === 'failed'
        ? { guard: guardFor(r) }
        : {}),
      severity: pastFreeze || r.outcome === 'failed' || r.notPermitted === true ? 'warning' : 'info',
    });
  }
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
