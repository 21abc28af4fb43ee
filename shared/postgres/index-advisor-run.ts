import type pg from 'pg';
import { redact } from '../core/errors.ts';
import {
  type Advice,
  type AdviceSettings,
  candidateIndexes,
  chooseAdvice,
  columnsFromPlan,
  foldPartitions,
  hypotheticalStatement,
  type IndexCandidate,
  type NoAdvice,
  type PlanNode,
  type SlowStatement,
  slowStatements,
  type TableCatalog,
  type Trial,
  type WriteCost,
  writeCost,
} from './index-advisor.ts';
import { normalizeQueryText } from './insights/collect.ts';

/**
 * The index advisor's I/O: reads pg_stat_statements, plans each slow statement's generic plan
 * with EXPLAIN (never runs it), and proves each candidate index with HypoPG's hypothetical
 * indexes (private to this session, gone at hypopg_reset() or when the session ends).
 *
 * Generic plans (the statement as recorded, with $n parameters):
 * - PostgreSQL 16+: `EXPLAIN (GENERIC_PLAN)`;
 * - PostgreSQL 12-15: `PREPARE` + `plan_cache_mode = force_generic_plan` + `EXPLAIN EXECUTE`
 *   (with NULL parameters, which a generic plan does not look at). The statement is prepared
 *   again for every candidate: a cached generic plan does not see a new hypothetical index.
 * Statement texts are checked first (one SELECT / WITH / UPDATE / DELETE, no `;`), and come
 * from the server's own pg_stat_statements; EXPLAIN without ANALYZE executes nothing.
 */

export type HypopgStatus = 'installed' | 'available' | 'missing';

export interface StatementAdvice {
  statement: SlowStatement;
  /** Normalized, redacted text for reports (never the raw text). */
  display: string;
  result?: Advice | NoAdvice;
  writeCost?: WriteCost;
  candidatesTried: number;
  error?: string;
  /** SQLSTATE of the error (42501: the role may not read a table the statement reads). */
  errorCode?: string;
}

export interface AdvisorResult {
  hypopg: HypopgStatus;
  /** Why nothing was examined (no HypoPG, no pg_stat_statements, server too old). */
  unavailable?: string;
  /** What makes advice available, when `unavailable` (default: CREATE EXTENSION hypopg;). */
  fix?: string;
  statements: StatementAdvice[];
  /** Slow statements not examined: the run's time was spent (next run). */
  notExamined?: number;
}

const PG12 = 120000;
const PG13 = 130000;
const PG16 = 160000;
const PREPARED = 'db_autopilot_advice';

export async function hypopgStatus(client: pg.ClientBase): Promise<HypopgStatus> {
  const r = await client.query<{ installed: boolean; available: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg') AS installed,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg') AS available`,
  );
  const row = r.rows[0];
  return row?.installed ? 'installed' : row?.available ? 'available' : 'missing';
}

async function readStatements(client: pg.ClientBase, version: number): Promise<SlowStatement[] | string> {
  const ext = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'pg_stat_statements'`,
  );
  if ((ext.rows[0]?.n ?? 0) === 0)
    return 'the pg_stat_statements extension is not installed in this database';
  const cols =
    version >= PG13
      ? 'mean_exec_time AS mean, total_exec_time AS total'
      : 'mean_time AS mean, total_time AS total';
  type Row = { queryid: string; query: string; calls: number; mean: number; total: number };
  let r: pg.QueryResult<Row>;
  try {
    r = await client.query<Row>(
      `SELECT queryid::text AS queryid, query, calls::float8 AS calls, ${cols}
         FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total DESC LIMIT 500`,
    );
  } catch (error) {
    // Created but not in shared_preload_libraries ("must be loaded via shared_preload_libraries"),
    // or not readable: no advice, and the rest of the index work (rebuilds) still runs.
    return `pg_stat_statements is not readable: ${error instanceof Error ? redact(error.message) : 'unknown error'}`;
  }
  return r.rows.map((row) => ({
    queryid: row.queryid,
    query: row.query,
    calls: Number(row.calls),
    meanExecMs: Number(row.mean),
    totalExecMs: Number(row.total),
  }));
}

/** The statement's generic plan (root node), planned only. */
export async function explainGeneric(
  client: pg.ClientBase,
  version: number,
  query: string,
): Promise<PlanNode> {
  const text = query.replace(/;\s*$/, '');
  if (version >= PG16) {
    const r = await client.query(`EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON) ${text}`);
    return planOf(r.rows[0]);
  }
  await client.query(`PREPARE ${PREPARED} AS ${text}`);
  try {
    await client.query(`SELECT set_config('plan_cache_mode', 'force_generic_plan', false)`);
    const p = await client.query<{ n: number }>(
      `SELECT cardinality(parameter_types)::int AS n FROM pg_prepared_statements WHERE name = $1`,
      [PREPARED],
    );
    const params = Array.from({ length: p.rows[0]?.n ?? 0 }, () => 'NULL').join(', ');
    const r = await client.query(
      `EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE ${PREPARED}${params ? `(${params})` : ''}`,
    );
    return planOf(r.rows[0]);
  } finally {
    await client.query(`DEALLOCATE ${PREPARED}`);
  }
}

function planOf(row: Record<string, unknown> | undefined): PlanNode {
  const raw = row?.['QUERY PLAN'];
  const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode }> | undefined;
  const plan = doc?.[0]?.Plan;
  if (!plan) throw new Error('EXPLAIN returned no plan');
  return plan;
}

function usesIndex(node: PlanNode, name: string): boolean {
  if (node['Index Name'] === name) return true;
  return (node.Plans ?? []).some((c) => usesIndex(c, name));
}

/** Columns and valid, non-partial index column lists of the relations a plan touches. */
async function readCatalog(
  client: pg.ClientBase,
  relations: Array<{ schema: string; relation: string }>,
): Promise<TableCatalog[]> {
  if (relations.length === 0) return [];
  const r = await client.query<TableCatalog>(
    `SELECT n.nspname AS schema, c.relname AS relation,
            ARRAY(SELECT a.attname::text FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
            COALESCE((SELECT json_agg(ARRAY(SELECT a.attname::text
                                             FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                                             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                                            ORDER BY k.ord))
                        FROM pg_index x WHERE x.indrelid = c.oid AND x.indisvalid AND x.indpred IS NULL), '[]') AS indexes,
            CASE WHEN c.relispartition THEN (
              WITH RECURSIVE up(rel, depth) AS (
                SELECT i.inhparent, 1 FROM pg_inherits i WHERE i.inhrelid = c.oid
                UNION ALL
                SELECT i.inhparent, up.depth + 1 FROM pg_inherits i JOIN up ON i.inhrelid = up.rel)
              SELECT json_build_object('schema', rn.nspname, 'relation', rc.relname)
                FROM up JOIN pg_class rc ON rc.oid = up.rel JOIN pg_namespace rn ON rn.oid = rc.relnamespace
               ORDER BY up.depth DESC LIMIT 1) END AS root
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm')
        AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [relations.map((x) => x.schema), relations.map((x) => x.relation)],
  );
  return r.rows.map(({ root, ...t }) => (root ? { ...t, root } : t));
}

async function tryCandidate(
  client: pg.ClientBase,
  version: number,
  query: string,
  candidate: IndexCandidate,
): Promise<Trial> {
  // A partitioned table's candidate: one hypothetical index per partition, tried together.
  const on = candidate.partitions?.map((p) => ({ ...candidate, ...p, partitions: undefined })) ?? [candidate];
  try {
    const hypos: Array<{ indexrelid: number; indexname: string }> = [];
    for (const c of on) {
      const h = await client.query<{ indexrelid: number; indexname: string }>(
        'SELECT indexrelid::int8 AS indexrelid, indexname FROM hypopg_create_index($1)',
        [hypotheticalStatement(c)],
      );
      const hypo = h.rows[0];
      if (!hypo) throw new Error('hypopg_create_index created nothing');
      hypos.push(hypo);
    }
    const plan = await explainGeneric(client, version, query);
    const size = await client.query<{ bytes: string }>(
      'SELECT sum(hypopg_relation_size(oid))::text AS bytes FROM unnest($1::oid[]) oid',
      [hypos.map((x) => x.indexrelid)],
    );
    return {
      candidate,
      cost: plan['Total Cost'],
      used: hypos.some((x) => usesIndex(plan, x.indexname)),
      estimatedBytes: Number(size.rows[0]?.bytes ?? 0),
    };
  } finally {
    await client.query('SELECT hypopg_reset()');
  }
}

/** Writes since the statistics reset, of the table or (partitioned) of the partitions indexed. */
async function readWriteCost(client: pg.ClientBase, c: IndexCandidate): Promise<WriteCost | undefined> {
  const on = c.partitions ?? [c];
  const r = await client.query<{ n: number; ins: number; nonhot: number; indexes: number; seconds: number }>(
    `SELECT count(*)::int AS n, sum(s.n_tup_ins)::float8 AS ins,
            sum(s.n_tup_upd - s.n_tup_hot_upd)::float8 AS nonhot,
            max((SELECT count(*) FROM pg_index x WHERE x.indrelid = s.relid))::int AS indexes,
            extract(epoch FROM now() - COALESCE(
              (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
              pg_postmaster_start_time()))::float8 AS seconds
       FROM pg_stat_user_tables s
      WHERE (s.schemaname, s.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [on.map((x) => x.schema), on.map((x) => x.relation)],
  );
  const row = r.rows[0];
  if (!row || row.n === 0) return undefined;
  return writeCost({
    inserts: row.ins,
    nonHotUpdates: row.nonhot,
    secondsObserved: row.seconds,
    existingIndexes: row.indexes,
  });
}

async function adviseStatement(
  client: pg.ClientBase,
  version: number,
  statement: SlowStatement,
  settings: AdviceSettings,
  maxChars: number,
): Promise<StatementAdvice> {
  const display = normalizeQueryText(statement.query, maxChars);
  try {
    const plan = await explainGeneric(client, version, statement.query);
    const scanned = columnsFromPlan(plan);
    const { uses, catalog, partitions } = foldPartitions(scanned, await readCatalog(client, scanned));
    const candidates = candidateIndexes(uses, catalog, settings.maxCandidates).map((c) => {
      const members = partitions.get(`${c.schema}.${c.relation}`);
      return members ? { ...c, partitions: members } : c;
    });
    const trials: Trial[] = [];
    for (const c of candidates) trials.push(await tryCandidate(client, version, statement.query, c));
    const result = chooseAdvice(plan['Total Cost'], trials, settings);
    const cost = result.kind === 'advice' ? await readWriteCost(client, result.candidate) : undefined;
    return {
      statement,
      display,
      result,
      candidatesTried: trials.length,
      ...(cost ? { writeCost: cost } : {}),
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      statement,
      display,
      candidatesTried: 0,
      error: error instanceof Error ? redact(error.message) : 'unknown error',
      ...(typeof code === 'string' ? { errorCode: code } : {}),
    };
  }
}

/**
 * Advice for the top slow statements of the database `client` is connected to. The session gets
 * a lock_timeout first: EXPLAIN takes ACCESS SHARE on the tables and must never queue behind a
 * table someone holds ACCESS EXCLUSIVE on.
 */
export async function adviseIndexes(
  client: pg.ClientBase,
  version: number,
  settings: AdviceSettings & { lockTimeoutMs: number; queryTextMaxChars: number; leftMs?: () => number },
): Promise<AdvisorResult> {
  const hypopg = await hypopgStatus(client);
  if (hypopg !== 'installed') {
    return {
      hypopg,
      unavailable:
        hypopg === 'available'
          ? 'index advice needs HypoPG: the extension is available on this server but not created in this database (CREATE EXTENSION hypopg;)'
          : 'index advice needs HypoPG (hypothetical indexes), which this server does not ship; RDS and Aurora PostgreSQL do (CREATE EXTENSION hypopg;)',
      statements: [],
    };
  }
  if (version < PG12) {
    return { hypopg, unavailable: 'index advice needs PostgreSQL 12+ (plan_cache_mode)', statements: [] };
  }
  const rows = await readStatements(client, version);
  if (typeof rows === 'string') {
    const fix = /shared_preload_libraries/.test(rows)
      ? 'add pg_stat_statements to shared_preload_libraries (the DB parameter group; needs a reboot)'
      : 'CREATE EXTENSION pg_stat_statements;';
    return { hypopg, unavailable: rows, fix, statements: [] };
  }
  // Each planning statement under a statement_timeout within the time left (never past the run).
  const leftMs = settings.leftMs ?? (() => Number.POSITIVE_INFINITY);
  await client.query(
    `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)`,
    [
      String(settings.lockTimeoutMs),
      String(Math.max(1, Math.floor(Math.min(ADVICE_STATEMENT_TIMEOUT_MS, leftMs())))),
    ],
  );
  const out: StatementAdvice[] = [];
  const slow = slowStatements(rows, settings);
  for (const [i, s] of slow.entries()) {
    // The time is spent: the rest are left for the next run (said in the result), not started.
    if (!(leftMs() >= ADVICE_MIN_LEFT_MS)) return { hypopg, statements: out, notExamined: slow.length - i };
    out.push(await adviseStatement(client, version, s, settings, settings.queryTextMaxChars));
  }
  return { hypopg, statements: out };
}

/** The advisor's statement_timeout ceiling (EXPLAIN plans only; the time left lowers it). */
export const ADVICE_STATEMENT_TIMEOUT_MS = 30_000;
/** Below this much time left no further statement is examined. */
export const ADVICE_MIN_LEFT_MS = 2_000;
