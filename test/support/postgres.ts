import pg from 'pg';
import { directTarget, type PgTarget } from '../../shared/postgres/connection.ts';
import { type LocalServer, startLocalPostgres } from '../../shared/postgres/local-server.ts';

/**
 * A real PostgreSQL server (Debian's `postgresql` + `postgresql-contrib`) for integration tests,
 * started on loopback as the unprivileged `postgres` user with pg_stat_statements preloaded.
 * Each test file starts its own (beforeAll) so unit-only runs never pay for it. When the
 * packages are missing, startLocalPostgres() throws a message naming them.
 */
export async function startTestPostgres(
  options: { passwordRoles?: string[]; standbyOf?: LocalServer; settings?: Record<string, string> } = {},
): Promise<TestPostgres> {
  const server = await startLocalPostgres(options);
  return new TestPostgres(server);
}

let dbCounter = 0;

export class TestPostgres {
  constructor(readonly server: LocalServer) {}

  get versionNum(): number {
    return this.server.version * 10000;
  }

  client(database = 'postgres', user = this.server.user): pg.Client {
    return new pg.Client({ host: this.server.host, port: this.server.port, user, database });
  }

  async connect(database = 'postgres', user?: string): Promise<pg.Client> {
    const c = this.client(database, user);
    // A session still open when the server stops must not crash the test run.
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  target(database: string, user = this.server.user): PgTarget {
    return directTarget(database, { host: this.server.host, port: this.server.port, database, user });
  }

  /** A fresh database with pgstattuple and pg_stat_statements installed. */
  async createDatabase(prefix = 'db'): Promise<string> {
    dbCounter += 1;
    const name = `${prefix}_${process.pid}_${dbCounter}`;
    const admin = await this.connect();
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    const c = await this.connect(name);
    try {
      await c.query('CREATE EXTENSION IF NOT EXISTS pgstattuple');
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    } finally {
      await c.end();
    }
    return name;
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}

/** Exact dead tuples of a table, from pgstattuple (a full scan, not the statistics estimate). */
export async function deadTupleCount(client: pg.ClientBase, table: string): Promise<number> {
  const r = await client.query<{ n: string }>(
    'SELECT dead_tuple_count::text AS n FROM pgstattuple($1::regclass)',
    [table],
  );
  return Number(r.rows[0]?.n ?? Number.NaN);
}

/** Makes the writing session's statistics visible now (PG15+; stats are flushed lazily). */
export async function flushStats(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
}
