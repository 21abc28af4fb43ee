import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { databaseSchema } from '../../../shared/config/sections/maintenance.ts';
import { ConnectionFailed, clearSecretCache, configTarget } from '../../../shared/postgres/connection.ts';
import { runDoctor } from '../../../shared/postgres/doctor.ts';
import { startTestPostgres, type TestPostgres } from '../../support/postgres.ts';

let pgServer: TestPostgres;
const secrets = mockClient(SecretsManagerClient);
let restore: () => void;

beforeAll(async () => {
  pgServer = await startTestPostgres({ passwordRoles: ['app_secret'] });
  const admin = await pgServer.connect();
  await admin.query(`CREATE ROLE app_secret LOGIN PASSWORD 'rotated-password'`);
  await admin.end();
  restore = setAwsClients({ secretsManager: new SecretsManagerClient({ region: 'us-east-1' }) });
});

afterAll(async () => {
  restore?.();
  await pgServer?.stop();
});

afterEach(() => {
  secrets.reset();
  clearSecretCache();
});

function dbConfig() {
  return databaseSchema.parse({
    name: 'orders',
    host: pgServer.server.host,
    port: pgServer.server.port,
    database: 'postgres',
    user: 'app_secret',
    auth: { type: 'secret', secretId: 'rds!db-orders' },
    ssl: 'disable',
  });
}

const timeouts = { connectTimeoutMs: 5_000, queryTimeoutMs: 5_000 };

describe('connections with a Secrets Manager secret', () => {
  it('fetches a rotated secret again once on 28P01 and connects', async () => {
    // Prepare: the cached value is the password before rotation; the fresh one is current.
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ username: 'app_secret', password: 'old-password' }) })
      .resolves({ SecretString: JSON.stringify({ username: 'app_secret', password: 'rotated-password' }) });

    // Act
    const client = await configTarget(dbConfig(), timeouts).open();
    const who = await client.query<{ u: string }>('SELECT current_user::text AS u');
    await client.end();

    // Assess
    expect(who.rows[0]?.u).toBe('app_secret');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'rds!db-orders' });
  });

  it('gives up after one fresh fetch and never shows the password', async () => {
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ username: 'app_secret', password: 'wrong-password-xyz' }),
    });

    const error = await configTarget(dbConfig(), timeouts)
      .open()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConnectionFailed);
    expect((error as Error).message).toMatch(/28P01/);
    expect((error as Error).message).not.toContain('wrong-password-xyz');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });
});

describe('doctor', () => {
  it('says exactly what the db_autopilot role is missing', async () => {
    // Prepare: the shipped role SQL, then a table owned by someone else.
    const db = await pgServer.createDatabase('doctor');
    const admin = await pgServer.connect(db);
    await admin.query(readFileSync('shared/postgres/sql/db_autopilot_role.sql', 'utf8'));
    await admin.query('CREATE TABLE line_items (id int PRIMARY KEY)');
    await admin.query('DROP EXTENSION pgstattuple');
    await admin.end();

    // Act
    const report = await runDoctor(pgServer.target(db, 'db_autopilot'));

    // Assess
    const check = (n: string) => report.checks.find((c) => c.name === n);
    expect(check('connect')?.ok).toBe(true);
    expect(check('pg_monitor')?.ok).toBe(true);
    expect(check('pg_stat_statements')?.ok).toBe(true);
    expect(check('pgstattuple')).toMatchObject({ ok: false, fix: 'CREATE EXTENSION pgstattuple;' });
    expect(check('vacuum-privilege')?.ok).toBe(false);
    expect(check('vacuum-privilege')?.detail).toContain('line_items');
    expect(report.ok).toBe(false);
    expect(report.missing.some((m) => m.startsWith('vacuum-privilege'))).toBe(true);
  });

  it('counts a NOINHERIT member of the owning role as not permitted, as VACUUM does', async () => {
    // Prepare: orders belongs to app_owner; the maintenance role is a member that does not inherit.
    const db = await pgServer.createDatabase('doctorni');
    const admin = await pgServer.connect(db);
    await admin.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_owner') THEN CREATE ROLE app_owner; END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dbap_noinherit') THEN
        CREATE ROLE dbap_noinherit LOGIN NOINHERIT IN ROLE pg_monitor; END IF;
    END $$`);
    await admin.query('GRANT app_owner TO dbap_noinherit');
    await admin.query('CREATE TABLE orders (id int PRIMARY KEY)');
    await admin.query('ALTER TABLE orders OWNER TO app_owner');
    await admin.end();

    // Act
    const report = await runDoctor(pgServer.target(db, 'dbap_noinherit'));
    const c = await pgServer.connect(db, 'dbap_noinherit');
    const warnings: string[] = [];
    c.on('notice', (n) => warnings.push(n.message ?? ''));
    await c.query('VACUUM orders');
    await c.end();

    // Assess: PostgreSQL skips the table for this role, and doctor says so.
    expect(warnings.join('\n')).toMatch(
      /only table or database owner can vacuum it|permission denied to vacuum/,
    );
    const check = report.checks.find((x) => x.name === 'vacuum-privilege');
    expect(check?.ok).toBe(false);
    expect(check?.detail).toContain('orders');
  });

  it('names a role that needs quoting as a quoted identifier in the GRANTs it suggests', async () => {
    const db = await pgServer.createDatabase('doctorq');
    const admin = await pgServer.connect(db);
    await admin.query('DROP ROLE IF EXISTS "Auto-Pilot"');
    await admin.query('CREATE ROLE "Auto-Pilot" LOGIN');
    await admin.end();

    const report = await runDoctor(pgServer.target(db, 'Auto-Pilot'));

    const monitor = report.checks.find((c) => c.name === 'pg_monitor');
    expect(monitor?.ok).toBe(false);
    expect(monitor?.fix).toBe('GRANT pg_monitor TO "Auto-Pilot";');
  });

  it('reports a connection failure as a failed check, not an exception', async () => {
    const report = await runDoctor(pgServer.target('no_such_database'));
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({ name: 'connect', ok: false });
    expect(report.checks[0]?.detail).toMatch(/no_such_database/);
  });
});
