import pg from 'pg';
import type { IndexMaintenanceConfig } from '../config/sections/maintenance.ts';
import { type DemoSeedResult, seedDemoTables } from './demo-seed.ts';
import { startLocalPostgres } from './local-server.ts';

/**
 * `npm run demo -- --postgres local`: the demo's orders database on the local PostgreSQL server
 * binaries (Debian's postgresql + contrib + postgresql-<major>-hypopg, as the integration tests
 * use them), because PGlite ships neither HypoPG nor pgstattuple. A throw-away server on
 * 127.0.0.1 (shared/postgres/local-server.ts) with pg_stat_statements preloaded; the database
 * gets hypopg, pgstattuple and pg_stat_statements, the demo tables (bloated ones whose primary
 * keys bloat too) and a workload with one slow lookup no index serves (demo_line_items_1.sku).
 */

export interface LocalDemoDatabase {
  host: string;
  port: number;
  database: string;
  user: string;
  seeded: DemoSeedResult;
  /** The demo's tables are small: index advice looks at statements from these thresholds. */
  indexes: Partial<IndexMaintenanceConfig>;
  stop(): Promise<void>;
}

const DATABASE = 'orders';

export async function startLocalDemoDatabase(): Promise<LocalDemoDatabase> {
  const server = await startLocalPostgres();
  try {
    const admin = new pg.Client({
      host: server.host,
      port: server.port,
      user: server.user,
      database: 'postgres',
    });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
    const c = new pg.Client({ host: server.host, port: server.port, user: server.user, database: DATABASE });
    await c.connect();
    let seeded: DemoSeedResult;
    try {
      for (const ext of ['hypopg', 'pgstattuple', 'pg_stat_statements']) {
        await c.query(`CREATE EXTENSION IF NOT EXISTS ${ext}`).catch((error: Error) => {
          throw new Error(
            `${ext} is not installed on this machine (${error.message}): install postgresql-${server.version}-hypopg and postgresql-contrib (.ci/install-postgres.sh)`,
          );
        });
      }
      seeded = await seedDemoTables(c, { rows: 100_000 });
      await c.query('SELECT pg_stat_statements_reset()');
      // The application's slow lookup: line items by SKU, a column without an index.
      for (let i = 0; i < 40; i++) {
        await c.query('SELECT id, order_id, qty FROM demo_line_items_1 WHERE sku = $1', [`sku-${i}`]);
      }
    } finally {
      await c.end();
    }
    return {
      host: server.host,
      port: server.port,
      database: DATABASE,
      user: server.user,
      seeded,
      indexes: { adviseMinCalls: 20, adviseMinMeanMs: 1 },
      stop: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
