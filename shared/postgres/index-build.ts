import type pg from 'pg';
import { redact } from '../core/errors.ts';
import { logger } from '../handler/observability.ts';
import { createIndexStatement, type IndexCandidate, indexName } from './index-advisor.ts';
import { type IndexStats, isRebuildLeftover, PG12, reindexStatement } from './reindex.ts';
import { assertQuotedName } from './vacuum-sql.ts';

/**
 * Index I/O for maintenance: reading B-tree sizes and bloat, rebuilding one index with
 * REINDEX INDEX CONCURRENTLY, creating an advised index with CREATE INDEX CONCURRENTLY, and
 * dropping what a failed concurrent build leaves behind. Every statement runs alone (never in a
 * transaction block: CONCURRENTLY refuses one) with a session lock_timeout and a
 * statement_timeout capped by the time left. Index names come only from the catalog
 * (`oid::regclass::text`) or are built from catalog identifiers and quoted.
 */

export interface BuildTimeouts {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
}

export type BuildOutcome = 'applied' | 'skipped' | 'deferred' | 'failed';

export interface BuildResult {
  outcome: BuildOutcome;
  statement: string;
  reason: string;
  durationMs: number;
  bytesBefore?: number;
  bytesAfter?: number;
  /** Invalid leftovers of this build that were dropped (or could not be). */
  leftoversDropped: string[];
  leftoversKept: string[];
  errorCode?: string;
  /** The rule that held it back, when no PostgreSQL error code says it. */
  guard?: string;
}

async function setTimeouts(client: pg.ClientBase, t: BuildTimeouts): Promise<void> {
  await client.query(
    `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)`,
    [String(Math.max(1, Math.floor(t.lockTimeoutMs))), String(Math.max(1, Math.floor(t.statementTimeoutMs)))],
  );
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function failure(error: unknown): { outcome: BuildOutcome; reason: string; code?: string } {
  const code = codeOf(error);
  const message = error instanceof Error ? redact(error.message) : 'unknown error';
  if (code === '55P03')
    return { outcome: 'skipped', reason: `lock not available within lock_timeout: ${message}`, code };
  if (code === '57014') {
    return {
      outcome: 'deferred',
      reason: `cancelled at statement_timeout: did not finish in the time given (${message})`,
      code,
    };
  }
  return { outcome: 'failed', reason: message, ...(code ? { code } : {}) };
}

const indexStatsSql = `
SELECT i.oid::int8 AS oid, i.oid::regclass::text AS name, t.oid::regclass::text AS "table", i.relname,
       i.relpages::float8 * current_setting('block_size')::float8 AS bytes,
       COALESCE((SELECT substring(o FROM 'fillfactor=(\\d+)')::int FROM unnest(i.reloptions) o
                  WHERE o LIKE 'fillfactor=%'), 90) AS fillfactor,
       t.reltuples::float8 AS reltuples,
       (SELECT COALESCE(sum(COALESCE(s.avg_width, 8)), 0)::float8
          FROM unnest(x.indkey::int2[]) k(attnum)
          LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
          LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname
       ) AS key_width,
       am.amname = 'btree' AS is_btree, x.indisvalid AS is_valid,
       EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid AND c.contype = 'x') AS is_exclusion,
       -- REINDEX needs the table's owner before 17, MAINTAIN on the table from 17 (docs, REINDEX).
       CASE WHEN current_setting('server_version_num')::int >= 170000
            THEN has_table_privilege(t.oid, 'MAINTAIN')
            ELSE pg_has_role(t.relowner, 'USAGE') END AS may_rebuild
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_am am ON am.oid = i.relam
 WHERE i.relkind = 'i' AND t.relkind IN ('r', 'm') AND t.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
   AND i.relpages::float8 * current_setting('block_size')::float8 >= $1
 ORDER BY i.relpages DESC
 LIMIT 500`;

interface IndexRow {
  oid: string;
  name: string;
  table: string;
  relname: string;
  bytes: number;
  fillfactor: number;
  reltuples: number;
  key_width: number;
  is_btree: boolean;
  is_valid: boolean;
  is_exclusion: boolean;
  may_rebuild: boolean;
}

const BLOCK = 8192;
/** Page header (24) and B-tree special space (16). */
const PAGE_OVERHEAD = 40;
/** IndexTupleData header. */
const TUPLE_HEADER = 8;
/** Line pointer per tuple. */
const LINE_POINTER = 4;

/**
 * The size a freshly built B-tree would have: leaf pages filled to the fillfactor with
 * MAXALIGN'ed (8-byte) tuples of the columns' average widths (pg_stats), plus a metapage and
 * about one internal page per 300 leaves. A rough estimate, used only without pgstattuple.
 */
export function expectedBtreeBytes(
  reltuples: number,
  keyWidth: number,
  fillfactor: number,
): number | undefined {
  if (!(reltuples >= 0)) return undefined;
  const tuple = Math.ceil((TUPLE_HEADER + keyWidth) / 8) * 8 + LINE_POINTER;
  const perPage = Math.max(1, Math.floor(((BLOCK - PAGE_OVERHEAD) * (fillfactor / 100)) / tuple));
  const leaves = Math.ceil(reltuples / perPage);
  return (1 + leaves + Math.ceil(leaves / 300)) * BLOCK;
}

/** pgstatindex's statement_timeout ceiling; the time left of the run lowers it. */
export const PGSTATINDEX_TIMEOUT_MS = 60_000;
/** Below this much time left no index is read with pgstatindex (the catalog estimate stands in). */
export const PGSTATINDEX_MIN_LEFT_MS = 1_000;

/**
 * B-tree indexes of user tables at least `minBytes` large (relpages, as of the last VACUUM), with
 * pgstatindex's leaf density when pgstattuple is installed (each under lock_timeout), else the
 * catalog estimate. pgstatindex reads the whole index, so indexes over `pgstatindexMaxBytes`
 * get the estimate too, and so does every index once the run's time is nearly spent (`leftMs`:
 * time left minus the safety margin): each pgstatindex gets a statement_timeout no longer than
 * that time, because a backend keeps reading for a client the Lambda runtime has stopped, and
 * the run's decisions would be lost with it.
 */
export async function readIndexStats(
  client: pg.ClientBase,
  options: {
    minBytes: number;
    pgstatindexMaxBytes: number;
    lockTimeoutMs: number;
    leftMs?: () => number;
  },
): Promise<{ indexes: IndexStats[]; source: 'pgstattuple' | 'catalog' }> {
  const ext = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'pgstattuple'`,
  );
  const pgstattuple = (ext.rows[0]?.n ?? 0) > 0;
  const r = await client.query<IndexRow>(indexStatsSql, [options.minBytes]);
  const leftMs = options.leftMs ?? (() => Number.POSITIVE_INFINITY);
  let timeoutSet: number | undefined;
  /** The statement_timeout for the next pgstatindex (set when it changes), or undefined: no time for one. */
  const measurable = async (): Promise<boolean> => {
    const left = leftMs();
    if (!(left >= PGSTATINDEX_MIN_LEFT_MS)) return false;
    const statementTimeoutMs = Math.floor(Math.min(PGSTATINDEX_TIMEOUT_MS, left));
    if (timeoutSet === undefined || statementTimeoutMs < timeoutSet) {
      await setTimeouts(client, { lockTimeoutMs: options.lockTimeoutMs, statementTimeoutMs });
      timeoutSet = statementTimeoutMs;
    }
    return true;
  };
  const out: IndexStats[] = [];
  for (const row of r.rows) {
    const base: IndexStats = {
      oid: Number(row.oid),
      name: row.name,
      table: row.table,
      bytes: Number(row.bytes),
      fillfactor: Number(row.fillfactor),
      isBtree: row.is_btree,
      isValid: row.is_valid,
      isExclusion: row.is_exclusion,
      isSystem: false,
      mayRebuild: row.may_rebuild,
    };
    if (!row.is_btree || !row.is_valid || isRebuildLeftover(row.relname)) {
      out.push(base);
      continue;
    }
    const expected = expectedBtreeBytes(Number(row.reltuples), Number(row.key_width), base.fillfactor);
    // Not read whole with pgstatindex when it could not be rebuilt anyway: the estimate says how bloated.
    const measure = row.may_rebuild && pgstattuple && base.bytes <= options.pgstatindexMaxBytes;
    if (measure && (await measurable())) {
      try {
        const s = await client.query<{ density: number }>(
          'SELECT avg_leaf_density::float8 AS density FROM pgstatindex($1::oid::regclass)',
          [base.oid],
        );
        out.push({ ...base, leafDensity: Number(s.rows[0]?.density) });
        continue;
      } catch (error) {
        if (codeOf(error) === '55P03') {
          out.push({ ...base, locked: true });
          continue;
        }
        logger.debug('pgstatindex unavailable: catalog estimate', {
          index: row.name,
          error: error instanceof Error ? redact(error.message) : '',
        });
      }
    }
    out.push({ ...base, ...(expected === undefined ? {} : { expectedBytes: expected }) });
  }
  return { indexes: out, source: pgstattuple ? 'pgstattuple' : 'catalog' };
}

interface Leftover {
  name: string;
  table: string;
}

/**
 * Invalid indexes a failed REINDEX CONCURRENTLY left (`..._ccnew`, `..._ccold`), optionally of one
 * table. A rebuild still running holds SHARE UPDATE EXCLUSIVE on its table, so its transient
 * index is listed in pg_stat_progress_create_index (own sessions) and, for anyone else's, the
 * DROP below fails at lock_timeout instead of interfering.
 */
export async function findLeftovers(
  client: pg.ClientBase,
  version: number,
  table?: string,
): Promise<Leftover[]> {
  if (version < PG12) return [];
  const r = await client.query<Leftover>(
    `SELECT i.oid::regclass::text AS name, t.oid::regclass::text AS "table"
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      WHERE NOT x.indisvalid AND i.relname ~ '_cc(new|old)[0-9]*$'
        AND ($1::text IS NULL OR t.oid = to_regclass($1))
        AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = t.oid)
      ORDER BY 1`,
    [table ?? null],
  );
  return r.rows;
}

/** DROP INDEX CONCURRENTLY of each leftover, under the timeouts; returns dropped and kept names. */
export async function dropIndexes(
  client: pg.ClientBase,
  names: string[],
  timeouts: BuildTimeouts,
): Promise<{ dropped: string[]; kept: Array<{ name: string; reason: string }> }> {
  const dropped: string[] = [];
  const kept: Array<{ name: string; reason: string }> = [];
  for (const name of names) {
    try {
      assertQuotedName(name); // catalog names only (oid::regclass::text or quoted)
      await setTimeouts(client, timeouts);
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
      dropped.push(name);
    } catch (error) {
      kept.push({ name, reason: failure(error).reason });
    }
  }
  return { dropped, kept };
}

async function sizeOf(client: pg.ClientBase, name: string): Promise<number | undefined> {
  const r = await client.query<{ bytes: string | null }>(
    'SELECT pg_relation_size(to_regclass($1))::text AS bytes',
    [name],
  );
  const v = r.rows[0]?.bytes;
  return v === null || v === undefined ? undefined : Number(v);
}

/**
 * REINDEX INDEX CONCURRENTLY of one index; on failure its leftovers on that table are dropped.
 * `timeouts` is asked before each statement: a rebuild cancelled at its statement_timeout has
 * used the time left, and the DROP after it must not get the same again (past the function's end,
 * losing the run's index decisions).
 */
export async function rebuildIndex(
  client: pg.ClientBase,
  version: number,
  index: IndexStats,
  timeouts: () => BuildTimeouts,
  nowMs: () => number = Date.now,
): Promise<BuildResult> {
  const statement = reindexStatement(index.name);
  const started = nowMs();
  try {
    await setTimeouts(client, timeouts());
    await client.query(statement);
    const bytesAfter = await sizeOf(client, index.name);
    const durationMs = nowMs() - started;
    return {
      outcome: 'applied',
      statement,
      reason: `rebuilt in ${durationMs} ms: ${index.bytes} -> ${bytesAfter ?? '?'} bytes`,
      durationMs,
      bytesBefore: index.bytes,
      ...(bytesAfter === undefined ? {} : { bytesAfter }),
      leftoversDropped: [],
      leftoversKept: [],
    };
  } catch (error) {
    const f = failure(error);
    const leftovers = await findLeftovers(client, version, index.table).catch(() => []);
    // Timeouts for the time left now: the failed build may have used all of it.
    const drop = await dropIndexes(
      client,
      leftovers.map((l) => l.name),
      timeouts(),
    );
    return {
      outcome: f.outcome,
      statement,
      reason: `${f.reason}${drop.dropped.length > 0 ? `; invalid leftover ${drop.dropped.join(', ')} dropped` : ''}${drop.kept.length > 0 ? `; leftover ${drop.kept.map((k) => k.name).join(', ')} kept for the next run` : ''}`,
      durationMs: nowMs() - started,
      bytesBefore: index.bytes,
      leftoversDropped: drop.dropped,
      leftoversKept: drop.kept.map((k) => k.name),
      ...(f.code ? { errorCode: f.code } : {}),
    };
  }
}

async function validity(client: pg.ClientBase, name: string): Promise<boolean | undefined> {
  const r = await client.query<{ valid: boolean }>(
    'SELECT x.indisvalid AS valid FROM pg_index x WHERE x.indexrelid = to_regclass($1)',
    [name],
  );
  return r.rows[0]?.valid;
}

interface ExistingIndex {
  valid: boolean;
  /** On the candidate's table, on its columns in its order and directions, a plain B-tree. */
  sameDefinition: boolean;
  /** A CREATE INDEX / REINDEX is running on its table now (pg_stat_progress_create_index). */
  building: boolean;
}

/** The index of that name, if any: valid, the advised definition, being built. */
async function existingIndex(
  client: pg.ClientBase,
  qualified: string,
  candidate: IndexCandidate,
): Promise<ExistingIndex | undefined> {
  const r = await client.query<ExistingIndex>(
    `SELECT x.indisvalid AS valid,
            x.indrelid = to_regclass($2) AND am.amname = 'btree' AND x.indpred IS NULL AND x.indexprs IS NULL
              AND ARRAY(SELECT a.attname::text FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.ord) = $3::text[]
              AND ARRAY(SELECT (o & 1) = 1 FROM unnest(x.indoption::int2[]) WITH ORDINALITY p(o, ord) ORDER BY p.ord) = $4::bool[]
              AS "sameDefinition",
            EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = x.indrelid) AS building
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
      WHERE x.indexrelid = to_regclass($1)`,
    [
      qualified,
      `${quote(candidate.schema)}.${quote(candidate.relation)}`,
      candidate.columns.map((c) => c.column),
      candidate.columns.map((c) => c.desc),
    ],
  );
  return r.rows[0];
}

/**
 * What stands in the way of creating the advised index: undefined when nothing (the role owns
 * the table, as CREATE INDEX requires in every version, and there is no index of that name, or an invalid leftover of an earlier build of this very index, now dropped), else why not.
 * A leftover is dropped only when it has the advised definition and no build runs on its table
 * (someone's CREATE INDEX CONCURRENTLY in progress is invalid until it ends).
 */
async function clearLeftover(
  client: pg.ClientBase,
  qualified: string,
  candidate: IndexCandidate,
  timeouts: BuildTimeouts,
): Promise<{
  dropped?: string;
  notCreated?: { outcome: BuildOutcome; reason: string; kept?: string; guard?: string };
}> {
  const owner = await client.query<{ owner: boolean }>(
    `SELECT pg_has_role(c.relowner, 'USAGE') AS owner FROM pg_class c WHERE c.oid = to_regclass($1)`,
    [`${quote(candidate.schema)}.${quote(candidate.relation)}`],
  );
  if (owner.rows[0]?.owner === false) {
    return {
      notCreated: {
        outcome: 'skipped',
        reason: `not permitted: CREATE INDEX needs the owner of ${candidate.schema}.${candidate.relation} (GRANT the owning role TO the db-autopilot role, or run the statement as the owner); not tried`,
        guard: 'postgres:not-permitted',
      },
    };
  }
  const existing = await existingIndex(client, qualified, candidate);
  if (existing === undefined) return {};
  if (existing.valid) {
    return {
      notCreated: { outcome: 'skipped', reason: `an index named ${qualified} already exists: not created` },
    };
  }
  if (!existing.sameDefinition) {
    return {
      notCreated: {
        outcome: 'skipped',
        reason: `an invalid index named ${qualified} with another definition exists: not ours, left alone (drop it by hand: DROP INDEX CONCURRENTLY ${qualified})`,
      },
    };
  }
  if (existing.building) {
    return {
      notCreated: {
        outcome: 'deferred',
        reason: `${qualified} is being built by another session (pg_stat_progress_create_index): next run`,
      },
    };
  }
  const drop = await dropIndexes(client, [qualified], timeouts);
  if (drop.dropped.length > 0) return { dropped: qualified };
  return {
    notCreated: {
      outcome: 'deferred',
      reason: `the invalid leftover ${qualified} of an earlier build could not be dropped (${drop.kept[0]?.reason ?? 'unknown'}): next run`,
      kept: qualified,
    },
  };
}

/**
 * CREATE INDEX CONCURRENTLY of an advised index. Refused when a valid index of that name exists;
 * an invalid leftover of an earlier failed build of it (which a later run would otherwise take for
 * "already exists" forever) is dropped first and the build tried once more; verified valid
 * afterwards; an invalid index it made (failed build, timeout) is dropped.
 */
export async function createAdvisedIndex(
  client: pg.ClientBase,
  candidate: IndexCandidate,
  timeouts: () => BuildTimeouts,
  nowMs: () => number = Date.now,
): Promise<BuildResult> {
  const statement = createIndexStatement(candidate);
  const qualified = `${quote(candidate.schema)}.${quote(indexName(candidate))}`;
  const started = nowMs();
  const cleared: string[] = [];
  const done = (outcome: BuildOutcome, reason: string, extra: Partial<BuildResult> = {}): BuildResult => ({
    outcome,
    statement,
    durationMs: nowMs() - started,
    leftoversKept: [],
    ...extra,
    reason:
      cleared.length > 0 ? `invalid leftover of an earlier build dropped and built again: ${reason}` : reason,
    leftoversDropped: [...new Set([...cleared, ...(extra.leftoversDropped ?? [])])],
  });
  const before = await clearLeftover(client, qualified, candidate, timeouts());
  if (before.notCreated) {
    const { outcome, reason, kept } = before.notCreated;
    const guard =
      before.notCreated.guard ?? (outcome === 'skipped' ? 'postgres:exists' : 'postgres:invalid-leftover');
    return done(outcome, reason, { guard, ...(kept ? { leftoversKept: [kept] } : {}) });
  }
  if (before.dropped) cleared.push(before.dropped);
  let error: unknown;
  try {
    await setTimeouts(client, timeouts());
    await client.query(statement);
  } catch (e) {
    error = e;
  }
  const valid = await validity(client, qualified);
  if (error === undefined && valid === true) {
    const bytes = await sizeOf(client, qualified);
    return done('applied', `created and verified valid in ${nowMs() - started} ms`, {
      ...(bytes === undefined ? {} : { bytesAfter: bytes }),
    });
  }
  const f =
    error === undefined ? { outcome: 'failed' as const, reason: 'built but not valid' } : failure(error);
  if (valid === false) {
    const drop = await dropIndexes(client, [qualified], timeouts());
    return done(
      f.outcome,
      `${f.reason}; the invalid index ${drop.dropped.length > 0 ? 'was dropped' : 'could not be dropped yet (next run)'}`,
      {
        leftoversDropped: drop.dropped,
        leftoversKept: drop.kept.map((k) => k.name),
        ...('code' in f && f.code ? { errorCode: f.code } : {}),
      },
    );
  }
  return done(f.outcome, f.reason, 'code' in f && f.code ? { errorCode: f.code } : {});
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
