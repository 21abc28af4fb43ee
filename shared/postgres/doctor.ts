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
    const user = who?.user ?? '?';
    // The GRANTs we suggest name the role as an identifier: quoted by the server, never spliced raw.
    const roleSql = who?.quoted ?? '?';
    checks.push({
      name: 'connect',
      ok: true,
      detail: `connected as ${user} to PostgreSQL ${Math.floor(version / 10000)} (${version})`,
    });
    const member = async (role: string) =>
      (
        await one<{ m: boolean | null }>(
          client as pg.Client,
          `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                       THEN pg_has_role(current_user, $1::name, 'MEMBER') END AS m`,
          [role],
        )
      )?.m ?? null;
    const isSuper = who?.super === true;
    const rdsSuper = (await member('rds_superuser')) === true;

    const monitor = await member('pg_monitor');
    checks.push({
      name: 'pg_monitor',
      ok: monitor === true || isSuper,
      detail:
        monitor === true || isSuper
          ? 'can read all statistics and sessions'
          : `${user} is not a member of pg_monitor: other sessions and query texts are hidden`,
      fix: monitor === true || isSuper ? undefined : `GRANT pg_monitor TO ${roleSql};`,
    });
    if (version >= PG17) {
      const maintain = await member('pg_maintain');
      checks.push({
        name: 'pg_maintain',
        ok: maintain === true || isSuper,
        detail:
          maintain === true || isSuper
            ? 'may VACUUM and ANALYZE every table (PostgreSQL 17+)'
            : `${user} is not a member of pg_maintain`,
        fix: maintain === true || isSuper ? undefined : `GRANT pg_maintain TO ${roleSql};`,
      });
    }
    if (options.iamAuth) {
      const iam = await member('rds_iam');
      checks.push({
        name: 'rds_iam',
        ok: iam === true,
        detail:
          iam === true
            ? 'IAM authentication enabled for the role'
            : iam === null
              ? 'role rds_iam does not exist (not RDS?)'
              : `${user} is not a member of rds_iam`,
        fix: iam === true ? undefined : `GRANT rds_iam TO ${roleSql};`,
      });
    }

    // Who may vacuum a table: its owner (or a member of the owning role), the database owner,
    // a superuser; PG17+ also the MAINTAIN privilege (PostgreSQL docs, VACUUM "Notes").
    const canMaintain =
      version >= PG17
        ? `has_table_privilege(c.oid, 'MAINTAIN')`
        : `(pg_has_role(current_user, c.relowner, 'MEMBER') OR pg_has_role(current_user, d.datdba, 'MEMBER'))`;
    const tables = await (client as pg.Client).query<{ name: string; ok: boolean }>(
      `SELECT c.oid::regclass::text AS name, (${isSuper ? 'true' : canMaintain}) AS ok
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_database d ON d.datname = current_database()
        WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
        ORDER BY 1`,
    );
    const denied = tables.rows.filter((t) => !t.ok).map((t) => t.name);
    checks.push({
      name: 'vacuum-privilege',
      ok: denied.length === 0,
      detail:
        denied.length === 0
          ? `may vacuum all ${tables.rows.length} tables`
          : `may vacuum ${tables.rows.length - denied.length} of ${tables.rows.length} tables; not: ${denied.slice(0, 20).join(', ')}${denied.length > 20 ? ` and ${denied.length - 20} more` : ''}`,
      fix:
        denied.length === 0
          ? undefined
          : version >= PG17
            ? `GRANT pg_maintain TO ${roleSql};`
            : `before PostgreSQL 17 only the owner may vacuum: GRANT <owning role> TO ${roleSql};${rdsSuper ? '' : ' (or run as the owner)'}`,
    });

    const ext = async (name: string) =>
      (
        await one<{ n: string }>(
          client as pg.Client,
          'SELECT count(*)::text AS n FROM pg_extension WHERE extname = $1',
          [name],
        )
      )?.n === '1';
    const preload =
      (await one<{ s: string }>(client, `SELECT current_setting('shared_preload_libraries') AS s`))?.s ?? '';
    const pss = await ext('pg_stat_statements');
    const loaded = preload
      .split(',')
      .map((s) => s.trim())
      .includes('pg_stat_statements');
    checks.push({
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
    });
    const pst = await ext('pgstattuple');
    checks.push({
      name: 'pgstattuple',
      ok: pst,
      detail: pst
        ? 'installed (exact bloat measurement)'
        : 'not installed (optional: exact bloat measurement)',
      fix: pst ? undefined : 'CREATE EXTENSION pgstattuple;',
    });
    return finish(target, checks, version, user);
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
