import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { IndexMaintenanceConfig } from '../config/sections/maintenance.ts';
import type { Decision, Evidence } from '../core/model.ts';
import { logger } from '../handler/observability.ts';
import { serverVersionNum } from './catalog.ts';
import { closeQuietly, type PgTarget } from './connection.ts';
import { pointEvidence } from './evidence.ts';
import {
  createIndexStatement,
  type IndexCandidate,
  indexName,
  partitionedIndexStatements,
} from './index-advisor.ts';
import { type AdvisorResult, adviseIndexes, type StatementAdvice } from './index-advisor-run.ts';
import {
  type BuildResult,
  type BuildTimeouts,
  createAdvisedIndex,
  dropIndexes,
  findLeftovers,
  readIndexStats,
  rebuildIndex,
} from './index-build.ts';
import type { DecisionContext } from './maintenance.ts';
import { inMaintenanceWindow, type MaintenanceWindow, windowsText } from './maintenance-window.ts';
import {
  cannotRunConcurrently,
  estimateRebuildMs,
  type NotRebuilt,
  type RebuildCandidate,
  selectRebuilds,
} from './reindex.ts';

/**
 * Index work of a maintenance run, after VACUUM / ANALYZE, on one session of one database:
 *   1. drop invalid leftovers of failed concurrent rebuilds (`..._ccnew`, `..._ccold`);
 *   2. index advice for the slow statements, proven with HypoPG (read-only, also in dry runs);
 *   3. opt-in: create advised indexes (CREATE INDEX CONCURRENTLY), in a maintenance window;
 *   4. rebuild bloated B-trees (REINDEX INDEX CONCURRENTLY), in a maintenance window, one at a
 *      time, within the time budget.
 * Nothing is built unless the run may act (mode, dryRun, override: the same effect as VACUUM)
 * and the server can build concurrently (PostgreSQL 12+, a primary).
 */

export interface IndexWorkSettings {
  indexes: IndexMaintenanceConfig;
  lockTimeoutMs: number;
  safetyMarginMs: number;
  queryTextMaxChars: number;
}

export interface IndexWorkRequest {
  target: PgTarget;
  settings: IndexWorkSettings;
  /** The run may change the database (apply mode or override, not a dry run). */
  act: boolean;
  now: Date;
  windows: readonly MaintenanceWindow[];
  remainingMs: () => number;
  nowMs?: () => number;
}

export interface CreationResult {
  advice: StatementAdvice;
  statement: string;
  result?: BuildResult;
  notRun?: { outcome: 'planned' | 'deferred' | 'skipped'; why: string; guard?: string };
}

export interface RebuildResult {
  candidate: RebuildCandidate;
  result?: BuildResult;
  notRun?: { outcome: 'planned' | 'deferred'; why: string; guard?: string };
}

export interface IndexWorkResult {
  database: string;
  serverVersionNum: number;
  inWindow: boolean;
  advisor?: AdvisorResult;
  created: CreationResult[];
  rebuilt: RebuildResult[];
  notRebuilt: NotRebuilt[];
  /** Why no rebuild can run on this server at all. */
  cannotRebuild?: string;
  bloatSource?: 'pgstattuple' | 'catalog';
  leftoversDropped: string[];
  leftoversKept: string[];
}

function buildTimeouts(req: IndexWorkRequest): BuildTimeouts {
  const left = req.remainingMs() - req.settings.safetyMarginMs;
  return {
    lockTimeoutMs: req.settings.lockTimeoutMs,
    statementTimeoutMs: Math.max(1_000, Math.min(left, req.settings.indexes.buildStatementTimeoutMs)),
  };
}

async function dropLeftoversStep(client: pg.ClientBase, version: number, req: IndexWorkRequest) {
  const found = await findLeftovers(client, version);
  if (found.length === 0 || !req.act) return { dropped: [], kept: found.map((f) => f.name) };
  const r = await dropIndexes(
    client,
    found.map((f) => f.name),
    buildTimeouts(req),
  );
  return { dropped: r.dropped, kept: r.kept.map((k) => k.name) };
}

async function createStep(
  client: pg.ClientBase,
  advisor: AdvisorResult | undefined,
  cannot: string | undefined,
  inWindow: boolean,
  req: IndexWorkRequest,
): Promise<CreationResult[]> {
  const s = req.settings.indexes;
  if (!s.createAdvised || !advisor) return [];
  const out: CreationResult[] = [];
  for (const advice of advisor.statements) {
    if (advice.result?.kind !== 'advice') continue;
    const statement = adviceStatement(advice.result.candidate);
    const estimatedMs = estimateRebuildMs(advice.result.estimatedBytes, s.assumedIndexBuildBytesPerSecond);
    const made = out.filter((c) => c.result).length;
    const notRun: CreationResult['notRun'] = !req.act
      ? { outcome: 'planned', why: 'dry run / observe mode: planned, not created' }
      : advice.result.candidate.partitions
        ? {
            outcome: 'skipped',
            why: 'an index of a partitioned table is built one partition at a time (CREATE INDEX ... ON ONLY, then CREATE INDEX CONCURRENTLY and ATTACH PARTITION per partition): given as statements to run, not built automatically',
            guard: 'postgres:partitioned-index',
          }
        : cannot
          ? { outcome: 'skipped', why: cannot, guard: 'postgres:no-concurrent-build' }
          : !inWindow
            ? {
                outcome: 'deferred',
                why: `outside the maintenance windows (${windowsText(req.windows)})`,
                guard: 'maintenance-window',
              }
            : made >= s.createMaxPerRun
              ? {
                  outcome: 'deferred',
                  why: `over the per-run cap of ${s.createMaxPerRun}`,
                  guard: 'max-changes-per-run',
                }
              : estimatedMs > req.remainingMs() - req.settings.safetyMarginMs
                ? {
                    outcome: 'deferred',
                    why: `estimated ${Math.ceil(estimatedMs / 1000)} s does not fit the time left`,
                    guard: 'time-budget:would-not-finish',
                  }
                : undefined;
    if (notRun) {
      out.push({ advice, statement, notRun });
      continue;
    }
    const result = await createAdvisedIndex(
      client,
      advice.result.candidate,
      () => buildTimeouts(req),
      req.nowMs,
    );
    out.push({ advice, statement, result });
  }
  return out;
}

async function rebuildStep(
  client: pg.ClientBase,
  version: number,
  candidates: RebuildCandidate[],
  req: IndexWorkRequest,
): Promise<RebuildResult[]> {
  const out: RebuildResult[] = [];
  for (const candidate of candidates) {
    if (!req.act) {
      out.push({
        candidate,
        notRun: { outcome: 'planned', why: 'dry run / observe mode: planned, not run' },
      });
      continue;
    }
    const left = req.remainingMs() - req.settings.safetyMarginMs;
    if (candidate.estimatedMs > left) {
      out.push({
        candidate,
        notRun: {
          outcome: 'deferred',
          why: `estimated ${Math.ceil(candidate.estimatedMs / 1000)} s does not fit the ${Math.max(0, Math.floor(left / 1000))} s left; next run`,
          guard: 'time-budget:would-not-finish',
        },
      });
      continue;
    }
    // One at a time: each rebuild finishes (or fails and is cleaned up) before the next starts.
    const result = await rebuildIndex(client, version, candidate.index, () => buildTimeouts(req), req.nowMs);
    logger.info('index rebuild done', {
      index: candidate.index.name,
      outcome: result.outcome,
      bytesBefore: result.bytesBefore,
      bytesAfter: result.bytesAfter,
    });
    out.push({ candidate, result });
  }
  return out;
}

export async function maintainIndexes(req: IndexWorkRequest): Promise<IndexWorkResult> {
  const s = req.settings.indexes;
  const client = await req.target.open();
  try {
    const version = await serverVersionNum(client);
    const recovery = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    const cannot = cannotRunConcurrently({ version, inRecovery: recovery.rows[0]?.r === true });
    const inWindow = inMaintenanceWindow(req.windows, req.now);
    const leftovers = cannot ? { dropped: [], kept: [] } : await dropLeftoversStep(client, version, req);
    const advisor = s.advise
      ? await adviseIndexes(client, version, {
          topStatements: s.adviseTopStatements,
          minMeanMs: s.adviseMinMeanMs,
          minCalls: s.adviseMinCalls,
          minCostReduction: s.adviseMinCostReduction,
          maxCandidates: s.adviseMaxCandidates,
          lockTimeoutMs: req.settings.lockTimeoutMs,
          queryTextMaxChars: req.settings.queryTextMaxChars,
          leftMs: () => req.remainingMs() - req.settings.safetyMarginMs,
        })
      : undefined;
    const created = await createStep(client, advisor, cannot, inWindow, req);
    const result: IndexWorkResult = {
      database: req.target.name,
      serverVersionNum: version,
      inWindow,
      ...(advisor ? { advisor } : {}),
      created,
      rebuilt: [],
      notRebuilt: [],
      leftoversDropped: leftovers.dropped,
      leftoversKept: leftovers.kept,
    };
    if (!s.reindex) return result;
    if (cannot) return { ...result, cannotRebuild: cannot };
    const stats = await readIndexStats(client, {
      minBytes: s.reindexMinBytes,
      pgstatindexMaxBytes: s.pgstatindexMaxBytes,
      lockTimeoutMs: req.settings.lockTimeoutMs,
      leftMs: () => req.remainingMs() - req.settings.safetyMarginMs,
    });
    const selection = selectRebuilds(
      stats.indexes,
      { inWindow, windows: windowsText(req.windows), remainingMs: req.remainingMs() },
      {
        minBloatRatio: s.reindexMinBloatRatio,
        minBytes: s.reindexMinBytes,
        maxPerRun: s.reindexMaxPerRun,
        assumedBytesPerSecond: s.assumedIndexBuildBytesPerSecond,
        safetyMarginMs: req.settings.safetyMarginMs,
      },
    );
    const rebuilt = await rebuildStep(client, version, selection.candidates, req);
    return { ...result, rebuilt, notRebuilt: selection.notRebuilt, bloatSource: stats.source };
  } finally {
    await closeQuietly(client);
  }
}

/** What a person runs: one CREATE INDEX CONCURRENTLY, or for a partitioned table its statements in order. */
function adviceStatement(candidate: IndexCandidate): string {
  return candidate.partitions
    ? partitionedIndexStatements(candidate).join('; ')
    : createIndexStatement(candidate);
}

function mb(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function guardOf(r: BuildResult): string | undefined {
  if (r.outcome === 'applied') return undefined;
  if (r.guard) return r.guard;
  if (r.errorCode === '55P03') return 'postgres:lock-not-available';
  if (r.errorCode === '57014') return 'postgres:statement-timeout';
  return r.outcome === 'skipped' ? 'postgres:exists' : 'postgres:error';
}

type Base = Omit<
  Decision,
  | 'id'
  | 'resource'
  | 'resourceKind'
  | 'action'
  | 'outcome'
  | 'reason'
  | 'evidence'
  | 'from'
  | 'to'
  | 'severity'
>;

function baseOf(ctx: DecisionContext): Base {
  return {
    runId: ctx.runId,
    at: ctx.at,
    tuner: 'maintenance',
    monthlyCostDelta: 0,
    undo: {
      kind: 'none',
      params: {},
      impossibleBecause: 'an index build changes no setting; drop an index by hand',
    },
    mode: ctx.mode,
    dryRun: ctx.dryRun,
    override: ctx.override,
    trigger: ctx.trigger,
  };
}

/**
 * Slow statements EXPLAIN could not plan because the role may not read their tables (EXPLAIN
 * checks SELECT like the statement would; pg_monitor grants none): one decision saying so and what
 * to grant, instead of no advice and no word. Its reason names no count, so it reads the same
 * every run (the report tells it once).
 */
function notReadable(result: IndexWorkResult, ctx: DecisionContext): Decision[] {
  const denied = (result.advisor?.statements ?? []).filter((a) => a.errorCode === '42501');
  if (denied.length === 0) return [];
  const tables = [
    ...new Set(
      denied
        .map((a) => /permission denied for (?:table|relation) (\S+)/.exec(a.error ?? '')?.[1])
        .filter(Boolean),
    ),
  ].sort();
  const fix = `GRANT SELECT ON ${tables.length > 0 ? tables.join(', ') : 'the tables they read'} TO the db-autopilot role (or, on PostgreSQL 14+, GRANT pg_read_all_data)`;
  return [
    {
      ...baseOf(ctx),
      id: randomUUID(),
      resource: result.database,
      resourceKind: 'postgres-database',
      action: 'recommend',
      outcome: ctx.dryRun || ctx.mode === 'observe' ? 'planned' : 'applied',
      reason: `index advice left out slow statements reading ${tables.join(', ') || 'tables'} the db-autopilot role may not read: EXPLAIN needs SELECT on them. Fix: ${fix}`,
      evidence: [pointEvidence('statements_not_planned', denied.length, ctx.at, 'Count')],
      from: null,
      to: { kind: 'index-advice-not-permitted', fix },
      undo: null,
      severity: 'info',
    },
  ];
}

/** Advice (and the note that advice needs HypoPG) as `recommend` decisions. */
function adviceDecisions(result: IndexWorkResult, ctx: DecisionContext): Decision[] {
  const advisor = result.advisor;
  if (!advisor) return [];
  const base = baseOf(ctx);
  const made = ctx.dryRun || ctx.mode === 'observe' ? ('planned' as const) : ('applied' as const);
  if (advisor.unavailable) {
    return [
      {
        ...base,
        id: randomUUID(),
        resource: result.database,
        resourceKind: 'postgres-database',
        action: 'recommend',
        outcome: made,
        reason: advisor.unavailable,
        evidence: [],
        from: null,
        to: {
          kind: 'index-advice-unavailable',
          hypopg: advisor.hypopg,
          fix: advisor.fix ?? 'CREATE EXTENSION hypopg;',
        },
        undo: null,
        severity: 'info',
      },
    ];
  }
  const out: Decision[] = notReadable(result, ctx);
  if (advisor.notExamined) {
    logger.warn("index advice stopped: the run's time is spent; the rest next run", {
      database: result.database,
      notExamined: advisor.notExamined,
    });
  }
  for (const a of advisor.statements) {
    if (a.error)
      logger.warn('index advice: statement not explainable', {
        queryid: a.statement.queryid,
        error: a.error,
      });
    const r = a.result;
    if (r?.kind !== 'advice') continue;
    const create = adviceStatement(r.candidate);
    const gainPct = Math.round(r.gain * 100);
    out.push({
      ...base,
      id: randomUUID(),
      resource: `${result.database}:${r.candidate.schema}.${r.candidate.relation}`,
      resourceKind: 'postgres-table',
      action: 'recommend',
      outcome: made,
      reason: `index advice, proven with HypoPG: ${create} cuts the estimated cost of "${a.display}" from ${r.costBefore.toFixed(0)} to ${r.costAfter.toFixed(0)} (-${gainPct}%); estimated size ${mb(r.estimatedBytes)}; write cost: ${a.writeCost?.text ?? 'unknown'}`,
      evidence: [
        pointEvidence('cost_before', r.costBefore, ctx.at),
        pointEvidence('cost_after', r.costAfter, ctx.at),
        pointEvidence('estimated_gain', Number(r.gain.toFixed(3)), ctx.at, 'Ratio'),
        pointEvidence('index_bytes', r.estimatedBytes, ctx.at, 'Bytes'),
        pointEvidence('calls', a.statement.calls, ctx.at, 'Count'),
        pointEvidence('mean_exec_time', Number(a.statement.meanExecMs.toFixed(2)), ctx.at, 'Milliseconds'),
      ],
      from: null,
      to: {
        kind: 'index-advice',
        statement: a.display,
        queryid: a.statement.queryid,
        fix: create,
        index: indexName(r.candidate),
        costBefore: r.costBefore,
        costAfter: r.costAfter,
        estimatedGain: Number(r.gain.toFixed(3)),
        estimatedBytes: r.estimatedBytes,
        writeCost: a.writeCost ?? null,
      },
      undo: null,
      severity: 'info',
    });
  }
  return out;
}

function buildDecision(
  base: Base,
  resource: string,
  action: 'create-index' | 'reindex' | 'drop-index',
  r: { result?: BuildResult; notRun?: { outcome: Decision['outcome']; why: string; guard?: string } },
  statement: string,
  prefix: string,
  evidence: Evidence[],
  from: unknown,
): Decision {
  const outcome = r.result?.outcome ?? r.notRun?.outcome ?? 'planned';
  const guard = r.result ? guardOf(r.result) : r.notRun?.guard;
  return {
    ...base,
    id: randomUUID(),
    resource,
    resourceKind: 'postgres-index',
    action,
    outcome,
    reason: `${prefix}: ${r.result?.reason ?? r.notRun?.why ?? ''}`,
    evidence: [
      ...evidence,
      ...(r.result?.bytesAfter === undefined
        ? []
        : [pointEvidence('bytes_after', r.result.bytesAfter, base.at, 'Bytes')]),
      ...(r.result ? [pointEvidence('duration_ms', r.result.durationMs, base.at, 'Milliseconds')] : []),
    ],
    from,
    to: {
      statement,
      ...(r.result?.bytesAfter === undefined ? {} : { bytesAfter: r.result.bytesAfter }),
      ...(r.result && r.result.leftoversDropped.length > 0
        ? { leftoversDropped: r.result.leftoversDropped }
        : {}),
    },
    ...(guard ? { guard } : {}),
    severity: outcome === 'failed' || guard === 'postgres:not-permitted' ? 'warning' : 'info',
  };
}

/** One Decision per advice, creation, rebuild (or rebuild not run) and dropped leftover (pure apart from ids). */
export function indexDecisions(result: IndexWorkResult, ctx: DecisionContext): Decision[] {
  const base = baseOf(ctx);
  const db = result.database;
  const out = adviceDecisions(result, ctx);
  for (const c of result.created) {
    const a = c.advice.result;
    if (a?.kind !== 'advice') continue;
    out.push(
      buildDecision(
        base,
        `${db}:${a.candidate.schema}.${indexName(a.candidate)}`,
        'create-index',
        c,
        c.statement,
        `advised index for "${c.advice.display}" (-${Math.round(a.gain * 100)}% estimated cost)`,
        [
          pointEvidence('estimated_gain', Number(a.gain.toFixed(3)), ctx.at, 'Ratio'),
          pointEvidence('index_bytes', a.estimatedBytes, ctx.at, 'Bytes'),
        ],
        null,
      ),
    );
  }
  const bloatEvidence = (c: Pick<RebuildCandidate, 'index'> & { bloat?: RebuildCandidate['bloat'] }) => [
    pointEvidence('index_bytes', c.index.bytes, ctx.at, 'Bytes'),
    ...(c.bloat
      ? [
          pointEvidence('bloat_ratio', Number(c.bloat.ratio.toFixed(3)), ctx.at, 'Ratio'),
          pointEvidence('wasted_bytes', c.bloat.wastedBytes, ctx.at, 'Bytes'),
        ]
      : []),
  ];
  for (const r of result.rebuilt) {
    const c = r.candidate;
    out.push(
      buildDecision(
        base,
        `${db}:${c.index.name}`,
        'reindex',
        r,
        `REINDEX INDEX CONCURRENTLY ${c.index.name}`,
        `${Math.round(c.bloat.ratio * 100)}% bloat (${c.bloat.source}), ${mb(c.bloat.wastedBytes)} of ${mb(c.index.bytes)} wasted`,
        bloatEvidence(c),
        { bytes: c.index.bytes, bloatRatio: Number(c.bloat.ratio.toFixed(3)), source: c.bloat.source },
      ),
    );
  }
  for (const n of result.notRebuilt) {
    const d = buildDecision(
      base,
      `${db}:${n.index.name}`,
      'reindex',
      { notRun: { outcome: n.outcome, why: n.why, guard: n.guard } },
      `REINDEX INDEX CONCURRENTLY ${n.index.name}`,
      'not rebuilt',
      bloatEvidence(n),
      { bytes: n.index.bytes },
    );
    // Not permitted: the same record run after run (sizes in the evidence only).
    out.push(n.guard === 'postgres:not-permitted' ? { ...d, from: null } : d);
  }
  if (result.cannotRebuild) {
    out.push({
      ...base,
      id: randomUUID(),
      resource: db,
      resourceKind: 'postgres-database',
      action: 'reindex',
      outcome: 'skipped',
      reason: `no index rebuild: ${result.cannotRebuild}`,
      evidence: [pointEvidence('server_version_num', result.serverVersionNum, ctx.at)],
      from: null,
      to: null,
      guard: 'postgres:no-concurrent-build',
      severity: 'info',
    });
  }
  for (const name of result.leftoversDropped) {
    out.push({
      ...base,
      id: randomUUID(),
      resource: `${db}:${name}`,
      resourceKind: 'postgres-index',
      action: 'drop-index',
      outcome: 'applied',
      reason: 'invalid leftover of a failed concurrent index build dropped (DROP INDEX CONCURRENTLY)',
      evidence: [],
      from: { index: name, valid: false },
      to: { statement: `DROP INDEX CONCURRENTLY IF EXISTS ${name}` },
      severity: 'info',
    });
  }
  return out;
}
