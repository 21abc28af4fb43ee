import type pg from 'pg';
import { redact } from '../../core/errors.ts';
import { logger } from '../../handler/observability.ts';
import { serverVersionNum } from '../catalog.ts';
import { closeQuietly, type PgTarget } from '../connection.ts';
import { normalizeSql } from './sql-text.ts';
import type {
  DatabaseAgeRow,
  IndexRow,
  InsightsObservation,
  PreparedRow,
  SessionRow,
  SlotRow,
  StatementRow,
  TableScanRow,
} from './types.ts';

/** Observation for insights: fixed catalog SQL only, tolerant of what a server lacks (PGlite). */

const PG13 = 130000;

async function rows<T extends pg.QueryResultRow>(
  client: pg.ClientBase,
  sql: string,
  params: unknown[] = [],
  what = 'query',
): Promise<T[]> {
  try {
    return (await client.query<T>(sql, params)).rows;
  } catch (error) {
    logger.warn('insights query failed; section left empty', {
      what,
      error: error instanceof Error ? redact(error.message) : 'unknown',
    });
    return [];
  }
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/**
 * Readable, bounded query text with no literal, no setting value and no comment (sql-text.ts),
 * then the shared redaction (connection strings, keys) on top.
 */
export function normalizeQueryText(text: string, maxChars: number): string {
  return redact(normalizeSql(text, maxChars));
}

async function statements(
  client: pg.ClientBase,
  version: number,
  topN: number,
  minCalls: number,
  maxChars: number,
): Promise<InsightsObservation['statements']> {
  const ext = await rows<{ n: string }>(
    client,
    `SELECT count(*)::text AS n FROM pg_extension WHERE extname = 'pg_stat_statements'`,
  );
  if (num(ext[0]?.n) === 0) {
    return { available: false, reason: 'the pg_stat_statements extension is not installed in this database' };
  }
  // PG13 renamed total_time/mean_time to total_exec_time/mean_exec_time and added planning times.
  const cols =
    version >= PG13
      ? 'total_exec_time AS total, mean_exec_time AS mean, total_plan_time AS plan'
      : 'total_time AS total, mean_time AS mean, NULL::float8 AS plan';
  const select = `SELECT queryid::text AS queryid, query, calls::float8 AS calls, ${cols}, rows::float8 AS rows,
                         shared_blks_read::float8 AS blks_read, shared_blks_hit::float8 AS blks_hit
                    FROM pg_stat_statements s
                   WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                     AND s.query NOT ILIKE '%pg_stat_statements%'`;
  type Row = {
    queryid: string;
    query: string;
    calls: number;
    total: number;
    mean: number;
    plan: number | null;
    rows: number;
    blks_read: number;
    blks_hit: number;
  };
  let byTotal: Row[];
  let byMean: Row[];
  try {
    byTotal = (await client.query<Row>(`${select} ORDER BY total DESC LIMIT $1`, [topN])).rows;
    byMean = (
      await client.query<Row>(`${select} AND calls >= $2 ORDER BY mean DESC LIMIT $1`, [topN, minCalls])
    ).rows;
  } catch (error) {
    // e.g. "pg_stat_statements must be loaded via shared_preload_libraries"
    return {
      available: false,
      reason: error instanceof Error ? redact(error.message) : 'pg_stat_statements unreadable',
    };
  }
  const map = (r: Row): StatementRow => ({
    queryid: r.queryid,
    query: normalizeQueryText(r.query ?? '', maxChars),
    calls: num(r.calls),
    totalExecMs: num(r.total),
    meanExecMs: num(r.mean),
    totalPlanMs: r.plan === null ? null : num(r.plan),
    rows: num(r.rows),
    sharedBlksRead: num(r.blks_read),
    sharedBlksHit: num(r.blks_hit),
  });
  return { available: true, rows: byTotal.map(map), byMean: byMean.map(map) };
}

/**
 * `building`: a CREATE INDEX / REINDEX runs on its table now (pg_stat_progress_create_index, PG12+):
 * an index being built CONCURRENTLY is invalid until it ends, and is not a failed build's leftover.
 */
const indexSql = (version: number) => `
SELECT i.indexrelid::int8::text AS oid, i.indexrelid::regclass::text AS index, i.indrelid::regclass::text AS "table",
       am.amname AS method, i.indisunique AS "unique", i.indisprimary AS "primary", i.indisvalid AS valid,
       i.indkey::text AS columns, i.indclass::text AS opclasses,
       pg_get_expr(i.indpred, i.indrelid) AS predicate, pg_get_expr(i.indexprs, i.indrelid) AS expressions,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) AS backs_constraint,
       (ic.relpages::float8 * current_setting('block_size')::float8) AS size_bytes,
       COALESCE(s.idx_scan, 0)::float8 AS idx_scan,
       pg_get_indexdef(i.indexrelid) AS definition,
       ic.relkind = 'I' AS partitioned,
       ${version >= 120000 ? 'EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = i.indrelid)' : 'false'} AS building
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam
  JOIN pg_namespace n ON n.oid = ic.relnamespace
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'`;

type IndexSqlRow = {
  oid: string;
  index: string;
  table: string;
  method: string;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  columns: string;
  opclasses: string;
  predicate: string | null;
  expressions: string | null;
  backs_constraint: boolean;
  size_bytes: number;
  idx_scan: number;
  definition: string;
  partitioned: boolean;
  building: boolean;
};

const ints = (s: string): number[] => s.split(/\s+/).filter(Boolean).map(Number);

async function indexes(client: pg.ClientBase, version: number): Promise<IndexRow[]> {
  const r = await rows<IndexSqlRow>(client, indexSql(version), [], 'indexes');
  return r.map((x) => ({
    indexOid: Number(x.oid),
    index: x.index,
    table: x.table,
    method: x.method,
    unique: x.unique,
    primary: x.primary,
    valid: x.valid,
    columns: ints(x.columns),
    opclasses: ints(x.opclasses),
    predicate: x.predicate,
    expressions: x.expressions,
    backsConstraint: x.backs_constraint,
    sizeBytes: num(x.size_bytes),
    idxScan: num(x.idx_scan),
    definition: x.definition,
    partitioned: x.partitioned === true,
    building: x.building === true,
  }));
}

async function statsAgeSeconds(client: pg.ClientBase): Promise<number> {
  // Never reset: the statistics go back to at least the server start (PG15+ keeps them over a clean restart).
  const r = await rows<{ s: number | null }>(
    client,
    `SELECT EXTRACT(EPOCH FROM now() - COALESCE(stats_reset, pg_postmaster_start_time()))::float8 AS s
       FROM pg_stat_database WHERE datname = current_database()`,
  );
  return num(r[0]?.s);
}

export interface CollectOptions {
  topN: number;
  minCalls: number;
  queryTextMaxChars: number;
}

async function tableScans(c: pg.ClientBase): Promise<TableScanRow[]> {
  const r = await rows<{
    table: string;
    size: number;
    seq_scan: number;
    seq_tup_read: number;
    idx_scan: number;
    live: number;
  }>(
    c,
    `SELECT s.relid::regclass::text AS "table", (c.relpages::float8 * current_setting('block_size')::float8) AS size,
            COALESCE(s.seq_scan, 0)::float8 AS seq_scan, COALESCE(s.seq_tup_read, 0)::float8 AS seq_tup_read,
            COALESCE(s.idx_scan, 0)::float8 AS idx_scan, COALESCE(s.n_live_tup, 0)::float8 AS live
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid`,
    [],
    'tables',
  );
  return r.map((t) => ({
    table: t.table,
    sizeBytes: num(t.size),
    seqScan: num(t.seq_scan),
    seqTupRead: num(t.seq_tup_read),
    idxScan: num(t.idx_scan),
    nLiveTup: num(t.live),
  }));
}

async function openTransactions(c: pg.ClientBase): Promise<SessionRow[]> {
  const r = await rows<{
    pid: number;
    usename: string | null;
    application_name: string | null;
    state: string | null;
    xact_age: number | null;
    state_age: number | null;
    xmin_age: number | null;
    query: string | null;
  }>(
    c,
    `SELECT pid, usename::text, application_name, state,
            EXTRACT(EPOCH FROM now() - xact_start)::float8 AS xact_age,
            EXTRACT(EPOCH FROM now() - state_change)::float8 AS state_age,
            age(backend_xmin)::float8 AS xmin_age, query
       FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start IS NOT NULL`,
    [],
    'sessions',
  );
  return r.map((s) => ({
    pid: s.pid,
    user: s.usename,
    application: s.application_name,
    state: s.state,
    xactAgeSeconds: s.xact_age,
    stateAgeSeconds: s.state_age,
    backendXminAge: s.xmin_age,
    query: normalizeQueryText(s.query ?? '', 200),
  }));
}

async function replicationSlots(c: pg.ClientBase): Promise<SlotRow[]> {
  const r = await rows<{
    slot_name: string;
    slot_type: string;
    active: boolean;
    xmin_age: number | null;
    catalog_xmin_age: number | null;
    retained: number | null;
  }>(
    c,
    `SELECT slot_name::text, slot_type, active, age(xmin)::float8 AS xmin_age, age(catalog_xmin)::float8 AS catalog_xmin_age,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS retained
       FROM pg_replication_slots`,
    [],
    'replication slots',
  );
  return r.map((s) => ({
    name: s.slot_name,
    slotType: s.slot_type,
    active: s.active,
    xminAge: s.xmin_age,
    catalogXminAge: s.catalog_xmin_age,
    retainedBytes: s.retained,
  }));
}

async function preparedTransactions(c: pg.ClientBase): Promise<PreparedRow[]> {
  const r = await rows<{ gid: string; age: number; owner: string; database: string }>(
    c,
    `SELECT gid, EXTRACT(EPOCH FROM now() - prepared)::float8 AS age, owner::text, database::text FROM pg_prepared_xacts`,
    [],
    'prepared transactions',
  );
  return r.map((p) => ({ gid: p.gid, ageSeconds: num(p.age), owner: p.owner, database: p.database }));
}

async function databaseAges(c: pg.ClientBase): Promise<DatabaseAgeRow[]> {
  const r = await rows<{ datname: string; xid_age: number; mxid_age: number }>(
    c,
    `SELECT datname::text, age(datfrozenxid)::float8 AS xid_age, mxid_age(datminmxid)::float8 AS mxid_age
       FROM pg_database WHERE datallowconn`,
    [],
    'database ages',
  );
  return r.map((d) => ({ datname: d.datname, xidAge: num(d.xid_age), mxidAge: num(d.mxid_age) }));
}

/** Server settings and counters: freeze age, connection limit and use, the XID counter. */
async function serverCounters(
  c: pg.ClientBase,
): Promise<{ freezeMaxAge: number; maxConnections: number; currentConnections: number; currentXid: number }> {
  const settings = await rows<{ name: string; setting: string }>(
    c,
    `SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum_freeze_max_age', 'max_connections')`,
  );
  const setting = (n: string, d: number) => {
    const v = Number(settings.find((s) => s.name === n)?.setting);
    return Number.isFinite(v) && v > 0 ? v : d;
  };
  // txid_snapshot_xmax(txid_current_snapshot()) reads the XID counter without assigning an XID.
  const xid = await rows<{ x: string }>(c, 'SELECT txid_snapshot_xmax(txid_current_snapshot())::text AS x');
  const conns = await rows<{ n: number }>(
    c,
    `SELECT count(*)::float8 AS n FROM pg_stat_activity WHERE backend_type = 'client backend'`,
  );
  return {
    freezeMaxAge: setting('autovacuum_freeze_max_age', 200_000_000),
    maxConnections: setting('max_connections', 100),
    currentConnections: num(conns[0]?.n),
    currentXid: num(xid[0]?.x),
  };
}

/**
 * Replicas: idx_scan per index, and their own stats age (idx_scan is counted per node). An
 * unreachable replica is named, never read as "no scans".
 */
async function replicaIndexScans(
  target: PgTarget,
  primaryStatsAge: number,
): Promise<Pick<InsightsObservation, 'replicaIdxScans' | 'unreachableReplicas' | 'statsAgeSeconds'>> {
  const replicaIdxScans: InsightsObservation['replicaIdxScans'] = [];
  const unreachableReplicas: string[] = [];
  let statsAge = primaryStatsAge;
  for (const replica of target.replicas ?? []) {
    let rc: pg.Client | undefined;
    try {
      rc = await replica.open();
      const r = await rc.query<{ index: string; idx_scan: number }>(
        `SELECT indexrelid::regclass::text AS index, idx_scan::float8 AS idx_scan FROM pg_stat_user_indexes`,
      );
      replicaIdxScans.push({
        replica: replica.describe,
        scans: Object.fromEntries(r.rows.map((x) => [x.index, num(x.idx_scan)])),
      });
      statsAge = Math.min(statsAge, await statsAgeSeconds(rc));
    } catch (error) {
      logger.warn('replica unreachable for insights', {
        replica: replica.describe,
        error: error instanceof Error ? redact(error.message) : '',
      });
      unreachableReplicas.push(replica.describe);
    } finally {
      await closeQuietly(rc);
    }
  }
  return { replicaIdxScans, unreachableReplicas, statsAgeSeconds: statsAge };
}

/** Reads everything the insights findings are judged from, as named steps (one query each). */
export async function collectInsights(
  target: PgTarget,
  options: CollectOptions,
  client?: pg.Client,
): Promise<
  Omit<InsightsObservation, 'connections'> & { maxConnections: number; currentConnections: number }
> {
  const own = client === undefined;
  const c = client ?? (await target.open());
  try {
    const version = await serverVersionNum(c);
    const stmts = await statements(c, version, options.topN, options.minCalls, options.queryTextMaxChars);
    const idx = await indexes(c, version);
    const primaryStatsAge = await statsAgeSeconds(c);
    const tables = await tableScans(c);
    const sessions = await openTransactions(c);
    const slots = await replicationSlots(c);
    const prepared = await preparedTransactions(c);
    const ages = await databaseAges(c);
    const counters = await serverCounters(c);
    const replicas = await replicaIndexScans(target, primaryStatsAge);
    return {
      database: target.name,
      serverVersionNum: version,
      observedAt: new Date().toISOString(),
      statements: stmts,
      indexes: idx,
      ...replicas,
      tables,
      sessions,
      slots,
      prepared,
      databaseAges: ages,
      ...counters,
    };
  } finally {
    if (own) await closeQuietly(c);
  }
}
