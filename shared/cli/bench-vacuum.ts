import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { logger } from '../handler/observability.ts';
import { directTarget } from '../postgres/connection.ts';
import { type LocalServer, PostgresMissing, startLocalPostgres } from '../postgres/local-server.ts';
import { defaultMaintenanceSettings, maintainDatabase } from '../postgres/maintenance.ts';

/**
 * npm run bench:vacuum [-- --json] [--tables 200] [--bloated 20] [--rows 10000] [--bloated-rows 50000]
 *
 * A template database of `tables` tables, `bloated` of them with half their rows deleted, is
 * copied three times (CREATE DATABASE ... TEMPLATE, so the copies are identical; the deletes
 * run in each copy so that each copy's statistics see them). Then, each on its own copy:
 *   1. a db-autopilot maintenance run (selection + VACUUM ANALYZE of what needs it);
 *   2. `vacuumdb --analyze` on the whole database (what a nightly cron job does);
 *   3. `vacuumdb --analyze -t ...` on the same bloated tables.
 * The clean tables hold real data that vacuumdb still has to visit and analyze.
 * deadTuplesLeftInBloated is measured exactly with pgstattuple in the autopilot copy.
 */

const run = promisify(execFile);

interface BenchResult {
  tables: number;
  bloated: number;
  rowsPerTable: number;
  rowsPerBloatedTable: number;
  serverVersion: number;
  autopilotMs: number;
  vacuumdbMs: number;
  vacuumdbSameTablesMs: number;
  ratio: number;
  ratioSameTables: number;
  deadTuplesLeftInBloated: number;
  deadTuplesBefore: number;
  autopilotTablesProcessed: number;
}

function tableName(i: number): string {
  return `t_${String(i).padStart(3, '0')}`;
}

async function withClient<T>(
  server: LocalServer,
  database: string,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const c = new pg.Client({ host: server.host, port: server.port, user: server.user, database });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function buildTemplate(
  server: LocalServer,
  tables: number,
  rowsFor: (table: string) => number,
): Promise<void> {
  await withClient(server, 'postgres', (c) => c.query('CREATE DATABASE bench_tpl'));
  await withClient(server, 'bench_tpl', async (c) => {
    await c.query('CREATE EXTENSION pgstattuple');
    for (let i = 0; i < tables; i++) {
      const t = tableName(i);
      await c.query(
        `CREATE TABLE ${t} (id bigint PRIMARY KEY, customer_id bigint NOT NULL, sku text NOT NULL, note text NOT NULL, qty int NOT NULL)`,
      );
      await c.query(
        `INSERT INTO ${t} SELECT g, g % 997, md5(g::text), md5((g * 7)::text) || md5((g * 13)::text), g % 9
           FROM generate_series(1, $1::int) g`,
        [rowsFor(t)],
      );
    }
  });
  // Steady state: every table vacuumed and analyzed once (visibility map set, statistics fresh).
  await run(`${server.binDir}/vacuumdb`, [
    '-h',
    server.host,
    '-p',
    String(server.port),
    '-U',
    server.user,
    '--analyze',
    '-q',
    'bench_tpl',
  ]);
}

async function copyAndBloat(server: LocalServer, name: string, bloated: string[]): Promise<void> {
  await withClient(server, 'postgres', (c) => c.query(`CREATE DATABASE ${name} TEMPLATE bench_tpl`));
  await withClient(server, name, async (c) => {
    for (const t of bloated) await c.query(`DELETE FROM ${t} WHERE id % 2 = 0`);
    await c.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [Math.round(performance.now() - start), value];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      tables: { type: 'string', default: '200' },
      bloated: { type: 'string', default: '20' },
      rows: { type: 'string', default: '10000' },
      'bloated-rows': { type: 'string', default: '50000' },
    },
  });
  const tables = Number(values.tables);
  const bloatedCount = Number(values.bloated);
  const rows = Number(values.rows);
  const bloatedRows = Number(values['bloated-rows']);
  if (
    ![tables, bloatedCount, rows, bloatedRows].every((n) => Number.isInteger(n) && n > 0) ||
    bloatedCount > tables
  ) {
    throw new Error('--tables, --bloated and --rows take positive integers, with bloated <= tables');
  }
  // The per-table logs are for Lambda; the bench prints its own summary.
  logger.setLogLevel('WARN');
  const log = (m: string) => {
    if (!values.json) console.log(m);
  };
  const server = await startLocalPostgres();
  try {
    log(
      `PostgreSQL ${server.version} on ${server.host}:${server.port}: building ${tables} tables (${rows} rows; the ${bloatedCount} to bloat ${bloatedRows})...`,
    );
    // Spread the bloated tables over the database.
    const step = Math.floor(tables / bloatedCount);
    const bloated = Array.from({ length: bloatedCount }, (_, i) => tableName(i * step));
    const bloatedSet = new Set(bloated);
    await buildTemplate(server, tables, (t) => (bloatedSet.has(t) ? bloatedRows : rows));
    for (const db of ['bench_autopilot', 'bench_vacuumdb', 'bench_vacuumdb_same'])
      await copyAndBloat(server, db, bloated);

    const deadBefore = await withClient(server, 'bench_autopilot', async (c) => {
      let sum = 0;
      for (const t of bloated) {
        const r = await c.query<{ n: string }>(
          'SELECT dead_tuple_count::text AS n FROM pgstattuple($1::regclass)',
          [t],
        );
        sum += Number(r.rows[0]?.n ?? 0);
      }
      return sum;
    });

    log('running db-autopilot maintenance...');
    const target = directTarget('bench', {
      host: server.host,
      port: server.port,
      database: 'bench_autopilot',
      user: server.user,
    });
    const [autopilotMs, result] = await timed(() =>
      maintainDatabase({
        target,
        settings: defaultMaintenanceSettings,
        dryRun: false,
        remainingMs: () => 15 * 60_000,
        now: new Date(),
        monitorProgress: false,
      }),
    );
    const failed = result.results.filter((r) => r.outcome !== 'applied');
    if (failed.length > 0)
      throw new Error(
        `autopilot did not apply: ${failed.map((f) => `${f.candidate.table.name}: ${f.reason}`).join('; ')}`,
      );

    const conn = ['-h', server.host, '-p', String(server.port), '-U', server.user, '-q'];
    log('running vacuumdb --analyze (whole database)...');
    const [vacuumdbMs] = await timed(() =>
      run(`${server.binDir}/vacuumdb`, [...conn, '--analyze', 'bench_vacuumdb']),
    );
    log('running vacuumdb --analyze -t (same tables)...');
    const [vacuumdbSameTablesMs] = await timed(() =>
      run(`${server.binDir}/vacuumdb`, [
        ...conn,
        '--analyze',
        ...bloated.flatMap((t) => ['-t', t]),
        'bench_vacuumdb_same',
      ]),
    );

    const deadLeft = await withClient(server, 'bench_autopilot', async (c) => {
      let sum = 0;
      for (const t of bloated) {
        const r = await c.query<{ n: string }>(
          'SELECT dead_tuple_count::text AS n FROM pgstattuple($1::regclass)',
          [t],
        );
        sum += Number(r.rows[0]?.n ?? 0);
      }
      return sum;
    });

    const out: BenchResult = {
      tables,
      bloated: bloatedCount,
      rowsPerTable: rows,
      rowsPerBloatedTable: bloatedRows,
      serverVersion: server.version,
      autopilotMs,
      vacuumdbMs,
      vacuumdbSameTablesMs,
      ratio: Number((autopilotMs / vacuumdbMs).toFixed(3)),
      ratioSameTables: Number((autopilotMs / vacuumdbSameTablesMs).toFixed(3)),
      deadTuplesLeftInBloated: deadLeft,
      deadTuplesBefore: deadBefore,
      autopilotTablesProcessed: result.results.length,
    };
    if (values.json) {
      console.log(JSON.stringify(out, null, 2));
    } else {
      console.log(
        `\ntables ${out.tables}, bloated ${out.bloated} (${out.deadTuplesBefore} dead tuples), ${rows} rows each, ${bloatedRows} in the bloated ones`,
      );
      console.log(
        `db-autopilot maintenance        ${String(autopilotMs).padStart(7)} ms  (${out.autopilotTablesProcessed} tables)`,
      );
      console.log(
        `vacuumdb --analyze (database)   ${String(vacuumdbMs).padStart(7)} ms  ratio ${out.ratio} (goal <= 0.25)`,
      );
      console.log(
        `vacuumdb --analyze -t (same 20) ${String(vacuumdbSameTablesMs).padStart(7)} ms  ratio ${out.ratioSameTables} (goal <= 1.0)`,
      );
      console.log(`dead tuples left in bloated tables (pgstattuple): ${deadLeft} (goal 0)`);
    }
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  if (error instanceof PostgresMissing) console.error(error.message);
  else console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
