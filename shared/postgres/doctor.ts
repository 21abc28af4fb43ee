import type pg from 'pg';
import { redact } from '../core/errors.ts';
import { serverVersionNum } from './catalog.ts';
import { closeQuietly, type PgTarget } from './connection.ts';
import { PG17 } from './vacuum-sql.ts';

/**
 * `{ "command": "doctor", "database": "orders" }`: can db-autopilot do its job on this database?
 * Connectivity, role memberships, which tables it may vacuum, extensions. Every failed check
 * says exactly what is missing and the statement that fixes it.
 */

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  database: string;
  target: string;
  serverVersionNum?: number;
  user?: string;
  checks: DoctorCheck[];
  missing: string[];
}

async function one<T extends pg.QueryResultRow>(
  client: pg.ClientBase,
  sql: string,
  params: unknown[] = [],
): Promise<T | undefined> {
  return (await client.query<T>(sql, params)).rows[0];
}

interface Who {
  client: pg.Client;
  version: number;
  user: string;
  /** The role as an identifier quoted by the server (GRANTs never splice it raw). */
  roleSql: string;
  isSuper: boolean;
}

async function member(client: pg.Client, role: string): Promise<boolean | null> {
  return (
    (
      await one<{ m: boolean | null }>(
        client,
        `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                     THEN pg_has_role(current_user, $1::name, 'MEMBER') END AS m`,
        [role],
      )
    )?.m ?? null
  );
}

/** pg_monitor, pg_maintain (17+) and rds_iam (with IAM authentication) memberships. */
async function roleChecks(w: Who, iamAuth: boolean): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const monitor = (await member(w.client, 'pg_monitor')) === true || w.isSuper;
  checks.push({
    name: 'pg_monitor',
    ok: monitor,
    detail: monitor
      ? 'can read all statistics and sessions'
      : `${w.user} is not a member of pg_monitor: other sessions and query texts are hidden`,
    fix: monitor ? undefined : `GRANT pg_monitor TO ${w.roleSql};`,
  });
  if (w.version >= PG17) {
    const maintain = (await member(w.client, 'pg_maintain')) === true || w.isSuper;
    checks.push({
      name: 'pg_maintain',
      ok: maintain,
      detail: maintain
        ? 'may VACUUM and ANALYZE every table (PostgreSQL 17+)'
        : `${w.user} is not a member of pg_maintain`,
      fix: maintain ? undefined : `GRANT pg_maintain TO ${w.roleSql};`,
    });
  }
  if (iamAuth) {
    const iam = await member(w.client, 'rds_iam');
    checks.push({
      name: 'rds_iam',
      ok: iam === true,
      detail:
        iam === true
          ? 'IAM authentication enabled for the role'
          : iam === null
            ? 'role rds_iam does not exist (not RDS?)'
            : `${w.user} is not a member of rds_iam`,
      fix: iam === true ? undefined : `GRANT rds_iam TO ${w.roleSql};`,
    });
  }
  return checks;
}

/**
 * Who may vacuum a table: its owner (or a member of the owning role), the database owner, a
 * superuser; PG17+ also the MAINTAIN privilege (PostgreSQL docs, VACUUM "Notes").
 */
async function vacuumPrivilegeCheck(w: Who): Promise<DoctorCheck> {
  const rdsSuper = (await member(w.client, 'rds_superuser')) === true;
  // 'USAGE' (has the role's privileges), not 'MEMBER': VACUUM checks the owner's privileges, so a
  // NOINHERIT member of the owning role is refused (the same rule as the maintenance catalog read).
  const canMaintain =
    w.version >= PG17
      ? `(has_table_privilege(c.oid, 'MAINTAIN') OR pg_has_role(current_user, d.datdba, 'USAGE'))`
      : `(pg_has_role(current_user, c.relowner, 'USAGE') OR pg_has_role(current_user, d.datdba, 'USAGE'))`;
  const tables = await w.client.query<{ name: string; ok: boolean }>(
    `SELECT c.oid::regclass::text AS name, (${w.isSuper ? 'true' : canMaintain}) AS ok
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_database d ON d.datname = current_database()
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
      ORDER BY 1`,
  );
  const denied = tables.rows.filter((t) => !t.ok).map((t) => t.name);
  const all = tables.rows.length;
  return {
    name: 'vacuum-privilege',
    ok: denied.length === 0,
    detail:
      denied.length === 0
        ? `may vacuum all ${all} tables`
        : `may vacuum ${all - denied.length} of ${all} tables; not: ${denied.slice(0, 20).join(', ')}${denied.length > 20 ? ` and ${denied.length - 20} more` : ''}`,
    fix:
      denied.length === 0
        ? undefined
        : w.version >= PG17
          ? `GRANT pg_maintain TO ${w.roleSql};`
          : `before PostgreSQL 17 only the owner may vacuum: GRANT <owning role> TO ${w.roleSql};${rdsSuper ? '' : ' (or run as the owner)'}`,
  };
}

/** pg_stat_statements (created and preloaded) and pgstattuple (optional). */
async function extensionChecks(client: pg.Client): Promise<DoctorCheck[]> {
  const ext = async (name: string) =>
    (
      await one<{ n: string }>(client, 'SELECT count(*)::text AS n FROM pg_extension WHERE extname = $1', [
        name,
      ])
    )?.n === '1';
  const preload =
    (await one<{ s: string }>(client, `SELECT current_setting('shared_preload_libraries') AS s`))?.s ?? '';
  const pss = await ext('pg_stat_statements');
  const loaded = preload
    .split(',')
    .map((s) => s.trim())
    .includes('pg_stat_statements');
  const pst = await ext('pgstattuple');
  return [
    {
      name: 'pg_stat_statements',
      ok: pss && loaded,
      detail:
        pss && loaded
          ? 'installed and loaded'
          : !loaded
            ? 'not in shared_preload_libraries'
            : 'loaded but the extension is not created in this database',
      fix:
        pss && loaded
          ? undefined
          : !loaded
            ? 'add pg_stat_statements to shared_preload_libraries in the DB parameter group (static: reboot), then CREATE EXTENSION pg_stat_statements;'
            : 'CREATE EXTENSION pg_stat_statements;',
    },
    {
      name: 'pgstattuple',
      ok: pst,
      detail: pst
        ? 'installed (exact bloat measurement)'
        : 'not installed (optional: exact bloat measurement)',
      fix: pst ? undefined : 'CREATE EXTENSION pgstattuple;',
    },
  ];
}

/** VACUUM, ANALYZE and index builds run only on the writer: a hot standby / Aurora reader refuses them. */
async function writerCheck(client: pg.Client, target: PgTarget): Promise<DoctorCheck> {
  const replica = (await one<{ r: boolean }>(client, 'SELECT pg_is_in_recovery() AS r'))?.r === true;
  return {
    name: 'writer',
    ok: !replica,
    detail: replica
      ? `${target.describe} is a read replica (pg_is_in_recovery() is true): maintenance cannot run there and its statistics are not the writer's`
      : 'the writer (not in recovery)',
    fix: replica
      ? "point the database's host at the writer (the cluster endpoint on Aurora); list readers under replicas"
      : undefined,
  };
}

export async function runDoctor(
  target: PgTarget,
  options: { iamAuth?: boolean } = {},
): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  let client: pg.Client | undefined;
  try {
    client = await target.open();
  } catch (error) {
    checks.push({
      name: 'connect',
      ok: false,
      detail: error instanceof Error ? redact(error.message) : 'cannot connect',
      fix: 'check the host, port and database in the config, that the function runs in the database VPC with a security group the database admits (shared/postgres/README.md), and the credentials (IAM: rds_iam and rds-db:connect; secret: its value)',
    });
    return finish(target, checks);
  }
  try {
    const version = await serverVersionNum(client);
    const who = await one<{ user: string; quoted: string; super: boolean }>(
      client,
      'SELECT current_user::text AS "user", quote_ident(current_user::text) AS quoted, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super',
    );
    const w: Who = {
      client,
      version,
      user: who?.user ?? '?',
      roleSql: who?.quoted ?? '?',
      isSuper: who?.super === true,
    };
    checks.push({
      name: 'connect',
      ok: true,
      detail: `connected as ${w.user} to PostgreSQL ${Math.floor(version / 10000)} (${version})`,
    });
    checks.push(await writerCheck(client, target));
    checks.push(...(await roleChecks(w, options.iamAuth === true)));
    checks.push(await vacuumPrivilegeCheck(w));
    checks.push(...(await extensionChecks(client)));
    return finish(target, checks, version, w.user);
  } catch (error) {
    checks.push({
      name: 'catalog',
      ok: false,
      detail: error instanceof Error ? redact(error.message) : 'catalog query failed',
    });
    return finish(target, checks);
  } finally {
    await closeQuietly(client);
  }
}

function finish(target: PgTarget, checks: DoctorCheck[], version?: number, user?: string): DoctorReport {
  // pgstattuple is optional: it does not make the database unfit.
  const failed = checks.filter((c) => !c.ok);
  return {
    ok: failed.every((c) => c.name === 'pgstattuple'),
    database: target.name,
    target: target.describe,
    ...(version === undefined ? {} : { serverVersionNum: version }),
    ...(user === undefined ? {} : { user }),
    checks,
    missing: failed.map((c) => `${c.name}: ${c.detail}${c.fix ? ` -> ${c.fix}` : ''}`),
  };
}
