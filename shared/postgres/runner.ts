import type pg from 'pg';
import { redact } from '../core/errors.ts';
import { logger } from '../handler/observability.ts';
import { closeQuietly, type PgTarget } from './connection.ts';
import { type Candidate, estimateDurationMs } from './selection.ts';
import { analyzeStatement, vacuumStatement } from './vacuum-sql.ts';

/**
 * Runs the chosen VACUUM / ANALYZE statements safely (aws-facts.md, PostgreSQL maintenance):
 * - one statement per query call, never inside a transaction (no BEGIN, no multi-statement strings);
 * - session `lock_timeout`, and a `statement_timeout` that ends every statement within the time left
 *   minus a margin (set_config, session level; SessionTimeouts sets them every few seconds, not per table);
 * - SKIP_LOCKED (PG12+): a locked table is skipped with a WARNING notice, which we listen to;
 * - up to `concurrency` tables at once, each worker on its own connection;
 * - no table is started when the time left cannot fit it (estimated from size and past rates),
 *   and nothing is started once the budget is spent: what is left is reported for the next run;
 * - progress from pg_stat_progress_vacuum on a second connection, in the logs.
 */

export interface RunnerOptions {
  version: number;
  concurrency: number;
  lockTimeoutMs: number;
  safetyMarginMs: number;
  truncate: boolean;
  processToast: boolean;
  bufferUsageLimit?: string;
  /** Plan only: statements are written, nothing runs. */
  dryRun: boolean;
  /** Scan rate for the duration estimate (bytes/s), per table oid when known from past runs. */
  bytesPerSecond: (candidate: Candidate) => number;
  /** Time left before the function must stop (Lambda's getRemainingTimeInMillis). */
  remainingMs: () => number;
  progressLogIntervalMs?: number;
  /** Progress monitor connection; off for single-connection servers (PGlite). */
  monitorProgress?: boolean;
  /** Injected for tests: current time in ms (durations only). */
  nowMs?: () => number;
  /** Sessions for the extra workers, opened while the catalog was read (prefetchConnections). */
  connections?: PrefetchedConnections;
  /** The sessions' lock and statement timeouts (shared with prefetchConnections' preparation); one per run otherwise. */
  timeouts?: SessionTimeouts;
  /** The first worker closes the `primary` session it was lent once the queue is empty (the caller's last use). */
  closePrimaryWhenDone?: boolean;
}

export interface PrefetchedConnections {
  /** The next session opened ahead, or undefined when none is left. */
  take(): Promise<pg.Client> | undefined;
  /** Closes every session nobody took. */
  closeUnused(): Promise<void>;
}

/**
 * Opens `count` sessions now, for the extra workers, each `prepare`d as soon as it is open (its
 * session timeouts): their set-up overlaps the primary's catalog read instead of delaying the
 * workers' first tables. A refused one (max_connections, a one-connection server such as PGlite)
 * is met by the worker that takes it, as a refused connection is. Opened after the primary, not
 * with it: started together they only slow each other's start on a busy host.
 */
export function prefetchConnections(
  target: PgTarget,
  count: number,
  prepare: (client: pg.Client) => Promise<void> = async () => undefined,
): PrefetchedConnections {
  const pending = Array.from({ length: Math.max(0, count) }, () => {
    const p = target.open().then(async (client) => {
      await prepare(client).catch(() => undefined); // a failed preparation is met again by the worker
      return client;
    });
    p.catch(() => undefined); // awaited (and its error met) by the worker that takes it
    return p;
  });
  let next = 0;
  return {
    take: () => (next < pending.length ? pending[next++] : undefined),
    async closeUnused() {
      const unused = pending.slice(next);
      next = pending.length;
      await Promise.all(unused.map(async (p) => closeQuietly(await p.catch(() => undefined))));
    },
  };
}

/** How long the timeouts set on a worker's session stay in use before they are set again. */
export const TIMEOUT_REFRESH_MS = 2_000;

/**
 * The workers' session-level `lock_timeout` and `statement_timeout` (set_config, values bound,
 * one round trip), set again only when stale instead of before every table. Never past the time
 * budget: set at time S with L ms left, statement_timeout is L - R and is kept only for
 * statements that start before S + R (R = refreshMs), so none can run past S + L. With L <= 2R
 * left they are set exactly, before every statement, as the deadline nears.
 */
export class SessionTimeouts {
  private readonly sessions = new WeakMap<pg.Client, { at: number; validMs: number; ready: Promise<void> }>();

  constructor(
    private readonly lockTimeoutMs: number,
    private readonly now: () => number = () => Date.now(),
    private readonly refreshMs = TIMEOUT_REFRESH_MS,
  ) {}

  /** Sets both unless the values set earlier on this session still hold; `leftMs`: the time left now. */
  ensure(client: pg.Client, leftMs: number): Promise<void> {
    const at = this.now();
    const set = this.sessions.get(client);
    if (set && at - set.at < set.validMs) return set.ready;
    const windowed = leftMs > 2 * this.refreshMs;
    const statementTimeoutMs = windowed ? leftMs - this.refreshMs : leftMs;
    const ready = client
      .query(`SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)`, [
        String(Math.max(1, Math.floor(this.lockTimeoutMs))),
        String(Math.max(1, Math.floor(statementTimeoutMs))),
      ])
      .then(() => undefined);
    const entry = { at, validMs: windowed ? this.refreshMs : 0, ready };
    this.sessions.set(client, entry);
    ready.catch(() => {
      if (this.sessions.get(client) === entry) this.sessions.delete(client);
    });
    return ready;
  }
}

export type TableOutcome = 'applied' | 'skipped' | 'deferred' | 'planned' | 'failed';

export interface TableRunResult {
  candidate: Candidate;
  outcome: TableOutcome;
  statement: string;
  reason: string;
  estimatedMs: number;
  durationMs?: number;
  tuplesRemoved?: number;
  deadNotYetRemovable?: number;
  pagesRemoved?: number;
  /** Dead tuples the first pass left for cleanup-lock contention (a second pass ran). */
  missedDeadFirstPass?: number;
  /** The second pass's statement, when one ran (secondPassStatement). */
  secondPassStatement?: string;
  notices: string[];
  errorCode?: string;
  /** PostgreSQL skipped the table with a WARNING: this role may not vacuum / analyze it. */
  notPermitted?: boolean;
}

export function statementFor(candidate: Candidate, options: RunnerOptions): string {
  if (candidate.action === 'analyze') {
    return analyzeStatement(
      options.version,
      {
        verbose: true,
        skipLocked: true,
        bufferUsageLimit: options.bufferUsageLimit,
        only: candidate.partitioned?.only === true,
      },
      candidate.table.name,
    );
  }
  return vacuumStatement(
    options.version,
    {
      analyze: candidate.analyze,
      freeze: candidate.freeze,
      verbose: true,
      skipLocked: true,
      truncate: options.truncate,
      processToast: options.processToast,
      bufferUsageLimit: options.bufferUsageLimit,
    },
    candidate.table.name,
  );
}

export interface NoticeSummary {
  skippedForLock: boolean;
  /** The role may not maintain the table: PostgreSQL skipped it with a WARNING, not an error. */
  skippedForPermission: boolean;
  /** The WARNING's text, for the decision. */
  permissionNotice?: string;
  tuplesRemoved?: number;
  deadNotYetRemovable?: number;
  pagesRemoved?: number;
  /** PG15+: dead tuples left on pages whose cleanup lock was busy (a buffer pinned by someone). */
  missedDead?: number;
}

const LOCK_SKIP = /skipping (vacuum|analyze) of .* lock not available/i;
const PERMISSION_SKIP =
  /permission denied to (vacuum|analyze) .*skipping it|--- only .* can (vacuum|analyze) it/i;

/**
 * Reads VACUUM VERBOSE / SKIP_LOCKED notices. Formats:
 * - PG15+: `tuples: 120 removed, 880 remain, 3 are dead but not yet removable`, `pages: 0 removed, ...`
 * - PG13/14: `"t": found 120 removable, 880 nonremovable row versions ...` and the DETAIL
 *   `3 dead row versions cannot be removed yet`
 * - PG15+: `tuples missed: 12 dead from 1 pages not removed due to cleanup lock contention`
 * - SKIP_LOCKED: WARNING `skipping vacuum of "t" --- lock not available` (also "skipping analyze of").
 * - no privilege: WARNING `permission denied to vacuum "t", skipping it` (PG16+; also "analyze"),
 *   `skipping "t" --- only table or database owner can vacuum it` (up to PG15). The statement
 *   still succeeds: without reading this the table would be recorded as vacuumed.
 */
export function summarizeNotices(notices: string[]): NoticeSummary {
  const summary: NoticeSummary = { skippedForLock: false, skippedForPermission: false };
  const add = (
    key: 'tuplesRemoved' | 'deadNotYetRemovable' | 'pagesRemoved' | 'missedDead',
    v: string | undefined,
  ) => {
    if (v === undefined) return;
    summary[key] = (summary[key] ?? 0) + Number(v);
  };
  for (const text of notices) {
    if (LOCK_SKIP.test(text)) summary.skippedForLock = true;
    if (PERMISSION_SKIP.test(text)) {
      summary.skippedForPermission = true;
      summary.permissionNotice = text.split('\n')[0];
    }
    const modern = /tuples: (\d+) removed, \d+ remain, (\d+) are dead but not yet removable/.exec(text);
    if (modern) {
      add('tuplesRemoved', modern[1]);
      add('deadNotYetRemovable', modern[2]);
    } else {
      const old = /found (\d+) removable, \d+ nonremovable row versions/.exec(text);
      if (old) add('tuplesRemoved', old[1]);
      const notYet = /(\d+) dead row versions cannot be removed yet/.exec(text);
      if (notYet) add('deadNotYetRemovable', notYet[1]);
    }
    const missed = /tuples missed: (\d+) dead from \d+ pages not removed due to cleanup lock contention/.exec(
      text,
    );
    if (missed) add('missedDead', missed[1]);
    const pages = /pages: (\d+) removed/.exec(text);
    if (pages) add('pagesRemoved', pages[1]);
  }
  return summary;
}

/**
 * The notices of one statement, read for its candidate. Before PostgreSQL 18 ANALYZE of a
 * partitioned table also analyzes each partition, and warns for a partition this role may not
 * analyze (measured on PG15: `skipping "ev_b" --- only table or database owner can analyze it`)
 * after the partitioned table's own statistics were gathered: only a warning naming the
 * partitioned table itself makes it skipped; partitions missed are said by partitionsNote.
 */
export function summaryFor(candidate: Candidate, notices: string[]): NoticeSummary {
  if (!candidate.partitioned) return summarizeNotices(notices);
  const own = `"${candidate.table.relname}"`;
  return summarizeNotices(
    notices.filter((n) => !(LOCK_SKIP.test(n) || PERMISSION_SKIP.test(n)) || n.includes(own)),
  );
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

type Summary = ReturnType<typeof summarizeNotices>;

/**
 * The second pass: a plain VACUUM (no ANALYZE: the first pass refreshed the statistics and the
 * few tuples it missed do not change them), with the first pass's other options.
 */
export function secondPassStatement(candidate: Candidate, options: RunnerOptions): string {
  return statementFor({ ...candidate, analyze: false }, options);
}

interface SecondPass {
  client: pg.Client;
  candidate: Candidate;
  options: RunnerOptions;
  timeouts: SessionTimeouts;
  notices: string[];
  first: Summary;
  firstPassMs: number;
  /** Time left when the first pass started. */
  leftMs: number;
}

/**
 * A page pinned by another backend at that moment (a checkpoint or the background writer
 * writing it, a reader) is skipped without its cleanup lock and keeps its dead tuples (PG15+
 * says how many). One more pass only visits the pages not yet all-visible, so it is cheap: run
 * it when it fits the time left. vacuumdb does not do this: it leaves those tuples to the next run.
 */
async function secondPassIfMissed(p: SecondPass): Promise<Summary & { statement?: string }> {
  const { first, firstPassMs, leftMs } = p;
  const worthIt =
    p.candidate.action === 'vacuum' &&
    (first.missedDead ?? 0) > 0 &&
    !first.skippedForLock &&
    !first.skippedForPermission &&
    firstPassMs * 2 < leftMs - firstPassMs;
  if (!worthIt) return first;
  const mark = p.notices.length;
  const statement = secondPassStatement(p.candidate, p.options);
  await p.timeouts.ensure(p.client, leftMs - firstPassMs);
  await p.client.query(statement);
  const second = summarizeNotices(p.notices.slice(mark));
  logger.info('second vacuum pass for dead tuples missed under cleanup-lock contention', {
    table: p.candidate.table.name,
    missedDead: first.missedDead,
  });
  // Removed: both passes; not yet removable: as the second pass left it; missed: the first pass's.
  return {
    ...second,
    tuplesRemoved: (first.tuplesRemoved ?? 0) + (second.tuplesRemoved ?? 0),
    missedDead: first.missedDead,
    statement,
  };
}

/**
 * Before PostgreSQL 18, ANALYZE of a partitioned table also analyzes each partition (VERBOSE says
 * `analyzing "schema.partition"` for each); a partition whose lock is held (autovacuum on it) is
 * skipped without a word, even with SKIP_LOCKED (PostgreSQL warns only for tables named in the
 * statement). The partitioned table's own statistics are gathered first either way: said, not
 * counted as a failure.
 */
export function partitionsNote(candidate: Candidate, notices: string[]): string {
  const p = candidate.partitioned;
  if (!p || p.only) return '';
  const analyzed = notices.filter((n) => /^analyzing "[^"]+"$/.test(n.split('\n')[0] ?? '')).length;
  const missed = p.partitions - analyzed;
  return missed > 0
    ? ` (${missed} of its ${p.partitions} partition(s) not analyzed again: locked by another session or not permitted to this role; autovacuum's own ANALYZE keeps them)`
    : '';
}

/** What the statement's notices say happened: skipped for a lock, or done with its counts. */
function resultFromSummary(
  base: Pick<TableRunResult, 'candidate' | 'statement' | 'estimatedMs' | 'durationMs' | 'notices'>,
  s: Summary & { statement?: string },
): TableRunResult {
  if (s.skippedForPermission) {
    return {
      ...base,
      outcome: 'skipped',
      notPermitted: true,
      reason: `not permitted: PostgreSQL skipped the table (${s.permissionNotice ?? 'permission denied'}). Only its owner, the database owner, a superuser or (PostgreSQL 17+) a role with the MAINTAIN privilege or pg_maintain may ${base.candidate.action} it: GRANT pg_maintain TO the db-autopilot role on 17+, else run as the owner`,
    };
  }
  if (s.skippedForLock) {
    return {
      ...base,
      outcome: 'skipped',
      reason: 'table locked by another session: skipped (SKIP_LOCKED), retried next run',
    };
  }
  return {
    ...base,
    outcome: 'applied',
    reason: `${base.candidate.action} done in ${base.durationMs} ms${partitionsNote(base.candidate, base.notices)}`,
    tuplesRemoved: s.tuplesRemoved,
    deadNotYetRemovable: s.deadNotYetRemovable,
    pagesRemoved: s.pagesRemoved,
    missedDeadFirstPass: s.missedDead,
    ...(s.statement === undefined ? {} : { secondPassStatement: s.statement }),
  };
}

/** A failed statement: a lock not had in time is a skip, a statement timeout a deferral. */
function resultFromError(
  base: Pick<TableRunResult, 'candidate' | 'statement' | 'estimatedMs' | 'durationMs' | 'notices'>,
  error: unknown,
  leftMs: number,
): TableRunResult {
  const code = errorCode(error);
  const message = error instanceof Error ? redact(error.message) : 'unknown error';
  if (code === '55P03') {
    // lock_not_available: lock_timeout expired (servers without SKIP_LOCKED, or a lock taken later).
    return {
      ...base,
      outcome: 'skipped',
      reason: `lock not available within lock_timeout: ${message}`,
      errorCode: code,
    };
  }
  if (code === '57014') {
    // query_canceled by statement_timeout: it could not finish in the time left.
    return {
      ...base,
      outcome: 'deferred',
      reason: `cancelled at statement_timeout (within the ${Math.floor(leftMs)} ms left): did not finish in the time left; next run`,
      errorCode: code,
    };
  }
  return { ...base, outcome: 'failed', reason: message, errorCode: code };
}

async function runOne(
  client: pg.Client,
  candidate: Candidate,
  statement: string,
  estimatedMs: number,
  leftMs: number,
  options: RunnerOptions & { timeouts: SessionTimeouts },
  now: () => number,
): Promise<TableRunResult> {
  const notices: string[] = [];
  const onNotice = (n: { message?: string; detail?: string }) => {
    notices.push([n.message, n.detail].filter(Boolean).join('\n'));
  };
  client.on('notice', onNotice);
  const started = now();
  const base = () => ({ candidate, statement, estimatedMs, durationMs: now() - started, notices });
  try {
    // Session-level lock_timeout / statement_timeout, unless the ones set earlier still hold.
    await options.timeouts.ensure(client, leftMs);
    await client.query(statement);
    const s = await secondPassIfMissed({
      client,
      candidate,
      options,
      timeouts: options.timeouts,
      notices,
      first: summaryFor(candidate, notices),
      firstPassMs: now() - started,
      leftMs,
    });
    return resultFromSummary(base(), s);
  } catch (error) {
    return resultFromError(base(), error, leftMs);
  } finally {
    client.off('notice', onNotice);
  }
}

/**
 * Logs pg_stat_progress_vacuum rows every interval until stopped. Stopping waits for a tick in
 * flight, so a connection it is still opening is closed too (never leaked past the run).
 */
export function startProgressMonitor(target: PgTarget, intervalMs: number): () => Promise<void> {
  let stopped = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  const tick = async () => {
    if (stopped) return;
    try {
      client ??= await target.open();
      if (stopped) return;
      const r = await client.query(
        `SELECT p.pid, p.relid::regclass::text AS "table", p.phase, p.heap_blks_total::float8 AS "heapBlksTotal",
                p.heap_blks_scanned::float8 AS "heapBlksScanned", p.index_vacuum_count::float8 AS "indexVacuumCount"
           FROM pg_stat_progress_vacuum p WHERE p.datname = current_database()`,
      );
      for (const row of r.rows) logger.info('vacuum progress', { target: target.describe, ...row });
    } catch (error) {
      logger.debug('progress monitor unavailable', {
        error: error instanceof Error ? redact(error.message) : '',
      });
    }
    if (!stopped) timer = setTimeout(run, intervalMs);
  };
  const run = () => {
    inFlight = tick();
  };
  timer = setTimeout(run, intervalMs);
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await inFlight;
    await closeQuietly(client);
  };
}

/**
 * Whether a table may start now: not when the time budget is spent, and not when its estimate
 * does not fit the time left (a deferred result says why), else undefined.
 */
function admission(
  c: Candidate,
  statement: string,
  estimatedMs: number,
  leftMs: number,
  budgetSpent: boolean,
): TableRunResult | undefined {
  if (budgetSpent) {
    return {
      candidate: c,
      outcome: 'deferred',
      statement,
      reason: 'time budget spent: not started, left for the next run',
      estimatedMs,
      notices: [],
    };
  }
  if (estimatedMs > leftMs) {
    // aws-facts.md: relfrozenxid only advances when a VACUUM completes; a VACUUM that cannot
    // finish in the time left is wasted work. Report it instead of starting it.
    return {
      candidate: c,
      outcome: 'deferred',
      statement,
      reason: `estimated ${Math.ceil(estimatedMs / 1000)} s does not fit the ${Math.floor(leftMs / 1000)} s left: not started (run it in a maintenance window or by hand)`,
      estimatedMs,
      notices: [],
    };
  }
  return undefined;
}

/**
 * Extra workers connect before taking a table: when the connection is refused (max_connections,
 * a single-connection server such as PGlite) the others carry on.
 */
async function openExtraWorker(target: PgTarget, options: RunnerOptions): Promise<pg.Client | undefined> {
  try {
    return await (options.connections?.take() ?? target.open());
  } catch (error) {
    logger.warn('extra maintenance connection refused: fewer workers', {
      target: target.describe,
      error: error instanceof Error ? redact(error.message) : '',
    });
    return undefined;
  }
}

/**
 * Runs the candidates in order (most urgent first). `primary` is an open session reused by the
 * first worker (so a single-connection server such as PGlite works with concurrency 1).
 */
export async function runTables(
  target: PgTarget,
  candidates: Candidate[],
  options: RunnerOptions,
  primary?: pg.Client,
): Promise<TableRunResult[]> {
  const now = options.nowMs ?? (() => Date.now());
  const timeouts = options.timeouts ?? new SessionTimeouts(options.lockTimeoutMs, now);
  const results: Array<TableRunResult | undefined> = new Array(candidates.length);
  const estimate = (c: Candidate) => estimateDurationMs(c, options.bytesPerSecond(c));

  if (options.dryRun) {
    return candidates.map((c) => ({
      candidate: c,
      outcome: 'planned' as const,
      statement: statementFor(c, options),
      reason: 'dry run / observe mode: planned, not run',
      estimatedMs: estimate(c),
      notices: [],
    }));
  }

  const queue = candidates.map((_, i) => i);
  let budgetSpent = false;
  const worker = async (index: number) => {
    let client: pg.Client | undefined = index === 0 ? primary : undefined;
    // Each session is closed by its worker as soon as the queue is empty, while the others still
    // work: the run then ends one close after its last statement, not one close per session.
    const owned = index !== 0 || primary === undefined || options.closePrimaryWhenDone === true;
    if (index > 0) {
      client = await openExtraWorker(target, options);
      if (!client) return;
    }
    try {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const c = candidates[i];
        if (!c) break;
        const statement = statementFor(c, options);
        const estimatedMs = estimate(c);
        const leftMs = options.remainingMs() - options.safetyMarginMs;
        budgetSpent ||= leftMs <= 0;
        const notStarted = admission(c, statement, estimatedMs, leftMs, budgetSpent);
        if (notStarted) {
          results[i] = notStarted;
          continue;
        }
        if (!client) {
          try {
            client = await target.open();
          } catch (error) {
            results[i] = {
              candidate: c,
              outcome: 'failed',
              statement,
              reason: error instanceof Error ? redact(error.message) : 'cannot connect',
              estimatedMs,
              notices: [],
            };
            break;
          }
        }
        logger.info('maintenance start', { target: target.describe, table: c.table.name, statement });
        const result = await runOne(client, c, statement, estimatedMs, leftMs, { ...options, timeouts }, now);
        logger.info('maintenance done', {
          target: target.describe,
          table: c.table.name,
          outcome: result.outcome,
          durationMs: result.durationMs,
          tuplesRemoved: result.tuplesRemoved,
          deadNotYetRemovable: result.deadNotYetRemovable,
        });
        results[i] = result;
      }
    } finally {
      if (owned) await closeQuietly(client);
    }
  };

  const stopMonitor =
    options.monitorProgress && candidates.length > 0
      ? startProgressMonitor(target, options.progressLogIntervalMs ?? 10_000)
      : undefined;
  try {
    const workers = Math.max(1, Math.min(options.concurrency, candidates.length));
    await Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));
  } finally {
    await stopMonitor?.();
  }
  return results.map(
    (r, i) =>
      r ?? {
        candidate: candidates[i] as Candidate,
        outcome: 'failed' as const,
        statement: '',
        reason: 'not run: no connection to run it on',
        estimatedMs: 0,
        notices: [],
      },
  );
}
