import type pg from 'pg';
import { z } from 'zod';
import type { PartitionedTable } from './partitioned.ts';
import { type AutovacuumSettings, defaultAutovacuumSettings, type TableStats } from './selection.ts';

/** Catalog reads: fixed SQL, no input spliced in. */

export async function serverVersionNum(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Number(r.rows[0]?.v ?? 0);
}

const settingNames: Record<string, keyof AutovacuumSettings> = {
  autovacuum_vacuum_threshold: 'vacuumThreshold',
  autovacuum_vacuum_scale_factor: 'vacuumScaleFactor',
  autovacuum_analyze_threshold: 'analyzeThreshold',
  autovacuum_analyze_scale_factor: 'analyzeScaleFactor',
  autovacuum_freeze_max_age: 'freezeMaxAge',
  autovacuum_multixact_freeze_max_age: 'multixactFreezeMaxAge',
  autovacuum_vacuum_max_threshold: 'vacuumMaxThreshold',
};

/** The autovacuum settings from `name -> setting` text values; PostgreSQL's defaults where absent (null) or odd. */
export function autovacuumSettingsFrom(values: Record<string, string | null>): AutovacuumSettings {
  const settings: AutovacuumSettings = { ...defaultAutovacuumSettings };
  for (const [name, text] of Object.entries(values)) {
    const key = settingNames[name];
    if (text === null || text.trim() === '') continue;
    const value = Number(text);
    if (key && Number.isFinite(value)) settings[key] = value;
  }
  return settings;
}

// Statistics through the pg_stat_get_* functions the pg_stat_user_tables view is built on, and
// index pages summed once per table: about half the time of the view on a 200-table catalog,
// and this read is on the critical path of every run.
const tableStatsSelect = `
SELECT c.oid::int8::text AS oid,
       c.oid::regclass::text AS name,
       n.nspname AS schema,
       c.relname,
       c.reltuples::float8 AS reltuples,
       c.relpages::float8 AS relpages,
       ((c.relpages + COALESCE(t.relpages, 0))::float8 * current_setting('block_size')::float8) AS table_bytes,
       ((c.relpages + COALESCE(t.relpages, 0) + COALESCE(i.pages, 0))::float8
          * current_setting('block_size')::float8) AS total_bytes,
       pg_stat_get_live_tuples(c.oid)::float8 AS n_live_tup,
       pg_stat_get_dead_tuples(c.oid)::float8 AS n_dead_tup,
       pg_stat_get_mod_since_analyze(c.oid)::float8 AS n_mod_since_analyze,
       pg_stat_get_last_vacuum_time(c.oid) AS last_vacuum,
       pg_stat_get_last_autovacuum_time(c.oid) AS last_autovacuum,
       pg_stat_get_last_analyze_time(c.oid) AS last_analyze,
       pg_stat_get_last_autoanalyze_time(c.oid) AS last_autoanalyze,
       age(c.relfrozenxid)::float8 AS xid_age,
       mxid_age(c.relminmxid)::float8 AS mxid_age,
       c.reloptions,
       c.relkind::text AS relkind,
       -- Who may VACUUM / ANALYZE it (PostgreSQL docs, VACUUM "Notes"): 17+ the MAINTAIN privilege
       -- (owners have it, pg_maintain grants it), before 17 its owner; the database owner (server
       -- row) and superusers always. Evaluated per row at run time, so 'MAINTAIN' is never parsed
       -- by a server that does not know it.
       CASE WHEN current_setting('server_version_num')::int >= 170000
            THEN has_table_privilege(c.oid, 'MAINTAIN')
            ELSE pg_has_role(c.relowner, 'USAGE') END AS may_maintain,
       -- A partition's top-level partitioned table (pg_inherits walked up: pg_partition_root is 12+).
       CASE WHEN c.relispartition THEN (
         WITH RECURSIVE up(rel, depth) AS (
           SELECT i.inhparent, 1 FROM pg_inherits i WHERE i.inhrelid = c.oid
           UNION ALL
           SELECT i.inhparent, up.depth + 1 FROM pg_inherits i JOIN up ON i.inhrelid = up.rel)
         SELECT up.rel::int8::text FROM up ORDER BY up.depth DESC LIMIT 1) END AS partition_root
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
  LEFT JOIN (SELECT x.indrelid, sum(ic.relpages) AS pages
               FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
              GROUP BY x.indrelid) i ON i.indrelid = c.oid
 WHERE (c.relkind IN ('r', 'm') OR (c.relkind = 'p' AND NOT c.relispartition))
   AND c.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND ($1::oid[] IS NULL OR c.oid = ANY($1::oid[]))`;

/**
 * Everything a maintenance run reads before it selects, in ONE round trip: one row per table,
 * each also carrying the server version and the autovacuum settings (a single row of NULL table
 * columns when there is no table). A run used to spend three round trips here. The settings come
 * from current_setting(name, true) (NULL where this server has no such setting), not from the
 * pg_settings view, which builds a row for every setting. Rows, not a JSON document: measured on a
 * new session (200 tables), JSON costs the server more CPU than the two round trips it saves.
 */
const maintenanceCatalogSql = `
SELECT s.*, t.*
  FROM (SELECT current_setting('server_version_num') AS version_num,
               pg_is_in_recovery() AS in_recovery,
               pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')
                 AS database_owner,
               current_setting('autovacuum_vacuum_threshold', true) AS autovacuum_vacuum_threshold,
               current_setting('autovacuum_vacuum_scale_factor', true) AS autovacuum_vacuum_scale_factor,
               current_setting('autovacuum_analyze_threshold', true) AS autovacuum_analyze_threshold,
               current_setting('autovacuum_analyze_scale_factor', true) AS autovacuum_analyze_scale_factor,
               current_setting('autovacuum_freeze_max_age', true) AS autovacuum_freeze_max_age,
               current_setting('autovacuum_multixact_freeze_max_age', true) AS autovacuum_multixact_freeze_max_age,
               current_setting('autovacuum_vacuum_max_threshold', true) AS autovacuum_vacuum_max_threshold) s
  LEFT JOIN (${tableStatsSelect}) t ON true
 ORDER BY t.oid::int8`;

const serverSchema = z.object({
  version_num: z.string().regex(/^\d+$/),
  in_recovery: z.boolean(),
  database_owner: z.boolean(),
  ...Object.fromEntries(Object.keys(settingNames).map((name) => [name, z.string().nullable()])),
});

const tableRowSchema = z.object({
  oid: z.string().regex(/^\d+$/),
  name: z.string().min(1),
  schema: z.string(),
  relname: z.string(),
  reltuples: z.number(),
  relpages: z.number(),
  table_bytes: z.number(),
  total_bytes: z.number(),
  n_live_tup: z.number().nullable(),
  n_dead_tup: z.number().nullable(),
  n_mod_since_analyze: z.number().nullable(),
  last_vacuum: z.date().nullable(),
  last_autovacuum: z.date().nullable(),
  last_analyze: z.date().nullable(),
  last_autoanalyze: z.date().nullable(),
  xid_age: z.number(),
  mxid_age: z.number(),
  reloptions: z.array(z.string()).nullable(),
  relkind: z.enum(['r', 'm', 'p']),
  may_maintain: z.boolean(),
  partition_root: z.string().regex(/^\d+$/).nullable(),
});

type TableRow = z.infer<typeof tableRowSchema>;

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

/**
 * Sizes come from pg_class.relpages (as of the last VACUUM / ANALYZE), not pg_table_size():
 * the size functions open the relation with AccessShareLock and would wait behind a table
 * someone holds ACCESS EXCLUSIVE on, which is exactly what maintenance must never do.
 */
function tableStatsFrom(row: TableRow, databaseOwner: boolean): TableStats {
  return {
    oid: Number(row.oid),
    name: row.name,
    schema: row.schema,
    relname: row.relname,
    reltuples: row.reltuples,
    relpages: row.relpages,
    tableBytes: row.table_bytes,
    totalBytes: row.total_bytes,
    nLiveTup: row.n_live_tup ?? 0,
    nDeadTup: row.n_dead_tup ?? 0,
    nModSinceAnalyze: row.n_mod_since_analyze ?? 0,
    lastVacuum: iso(row.last_vacuum),
    lastAutovacuum: iso(row.last_autovacuum),
    lastAnalyze: iso(row.last_analyze),
    lastAutoanalyze: iso(row.last_autoanalyze),
    xidAge: row.xid_age,
    mxidAge: row.mxid_age,
    reloptions: row.reloptions,
    mayMaintain: databaseOwner || row.may_maintain,
    ...(row.partition_root === null ? {} : { partitionRoot: Number(row.partition_root) }),
  };
}

export interface MaintenanceCatalog {
  serverVersionNum: number;
  /** pg_is_in_recovery(): a hot standby / Aurora reader, where VACUUM and ANALYZE cannot run. */
  inRecovery: boolean;
  settings: AutovacuumSettings;
  /** Tables and materialized views (leaf partitions included), never a partitioned table. */
  tables: TableStats[];
  /** Top-level partitioned tables (relkind p), which hold no rows of their own and autovacuum never analyzes. */
  partitioned: PartitionedTable[];
}

function parsed<T>(schema: z.ZodType<T>, row: unknown, what: string): T {
  const r = schema.safeParse(row);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new Error(`unexpected ${what} from the server: ${issues.join('; ')}`);
}

/** The version, recovery state, autovacuum settings and one row per user table (and materialized view), in one round trip. */
export async function readMaintenanceCatalog(
  client: pg.ClientBase,
  oids?: number[],
): Promise<MaintenanceCatalog> {
  const r = await client.query(maintenanceCatalogSql, [oids ?? null]);
  const server = parsed(serverSchema, r.rows[0], 'server settings row');
  const { version_num, in_recovery, database_owner, ...settings } = server as {
    version_num: string;
    in_recovery: boolean;
    database_owner: boolean;
  } & Record<string, string | null>;
  const rows = r.rows
    .filter((row) => row.oid !== null)
    .map((row) => parsed(tableRowSchema, row, 'table row'));
  return {
    serverVersionNum: Number(version_num),
    inRecovery: in_recovery,
    settings: autovacuumSettingsFrom(settings),
    tables: rows.filter((row) => row.relkind !== 'p').map((row) => tableStatsFrom(row, database_owner)),
    partitioned: rows
      .filter((row) => row.relkind === 'p')
      .map((row) => {
        const t = tableStatsFrom(row, database_owner);
        return {
          oid: t.oid,
          name: t.name,
          schema: t.schema,
          relname: t.relname,
          reltuples: t.reltuples,
          lastAnalyze: t.lastAnalyze,
          lastAutoanalyze: t.lastAutoanalyze,
          mayMaintain: t.mayMaintain !== false,
        };
      }),
  };
}

export interface ResolvedTable {
  input: string;
  oid: number | null;
  name: string | null;
  /** A partitioned table (not run by name: see maintenance.ts resolveRequested). */
  partitioned?: boolean;
}

/**
 * Names given by a person are resolved by the server with `to_regclass($1)` as a bound
 * parameter (aws-facts.md: never splice input into SQL); only the resulting oid is used.
 */
export async function resolveTables(client: pg.ClientBase, names: string[]): Promise<ResolvedTable[]> {
  const out: ResolvedTable[] = [];
  for (const input of names) {
    let r: pg.QueryResult<{ oid: string | null; name: string | null; relkind: string | null }>;
    try {
      r = await client.query<{ oid: string | null; name: string | null; relkind: string | null }>(
        `SELECT c.oid::int8::text AS oid, c.oid::regclass::text AS name, c.relkind::text AS relkind
         FROM (SELECT to_regclass($1) AS reg) x LEFT JOIN pg_class c ON c.oid = x.reg`,
        [input],
      );
    } catch {
      // to_regclass raises on a malformed name (e.g. too many dotted names): not a table.
      out.push({ input, oid: null, name: null });
      continue;
    }
    const row = r.rows[0];
    const ok = row?.oid && (row.relkind === 'r' || row.relkind === 'm');
    out.push({
      input,
      oid: ok && row.oid ? Number(row.oid) : null,
      name: ok ? (row?.name ?? null) : null,
      ...(row?.relkind === 'p' ? { partitioned: true } : {}),
    });
  }
  return out;
}
