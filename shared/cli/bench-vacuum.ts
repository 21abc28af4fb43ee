import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { indexMaintenanceSchema } from '../config/sections/maintenance.ts';
import { logger } from '../handler/observability.ts';
import { directTarget, type PgTarget } from '../postgres/connection.ts';
import { maintainIndexes } from '../postgres/index-work.ts';
import { type LocalServer, PostgresMissing, startLocalPostgres } from '../postgres/local-server.ts';
import { defaultMaintenanceSettings, maintainDatabase } from '../postgres/maintenance.ts';
import { type CliSpec, CliUsageError, type CliValues, cliArgsOrExit, intFlag } from './args.ts';

/**
 * npm run bench:vacuum [-- --json] [--tables 200] [--bloated 20] [--rows 20000] [--bloated-rows 30000] [--rounds 3]
 *
 * A template database of `tables` tables, `bloated` of them with half their rows deleted, is
 * copied three times per round (CREATE DATABASE ... TEMPLATE, so the copies are identical; the
 * deletes run in each copy so that each copy's statistics see them). Then, each on its own copy,
 * in an order that rotates between rounds, each after a CHECKPOINT:
 *   1. a db-autopilot maintenance run (selection + VACUUM ANALYZE of what needs it), with
 *      `concurrency` workers (the default, 2);
 *   2. `vacuumdb --analyze -j <same>` on the whole database (what a nightly cron job does);
 *   3. `vacuumdb --analyze -j <same> -t ...` on the same bloated tables.
 * Equal parallelism: vacuumdb gets as many jobs as db-autopilot has workers in both runs.
 * Second figure: after its VACUUM, db-autopilot rebuilds the bloated B-trees of its copy
 * (REINDEX INDEX CONCURRENTLY, one at a time, indexes of any size); that time is added in
 * `autopilotWithIndexRebuildsMs` / `ratioWithIndexRebuilds`.
 * The clean tables hold real data that vacuumdb still has to visit and analyze.
 * Times are the medians over the rounds (the machine may be shared); deadTuplesLeftInBloated is
 * measured exactly with pgstattuple in the autopilot copies, the worst round counting, and the
 * same count in vacuumdb's copies (deadTuplesLeftByVacuumdb*): a page pinned by someone at the
 * moment VACUUM reaches it keeps its dead tuples; db-autopilot runs a second, plain VACUUM then.
 */

const run = promisify(execFile);

interface Round {
  autopilotMs: number;
  indexRebuildsMs: number;
  indexesRebuilt: number;
  vacuumdbMs: number;
  vacuumdbSameTablesMs: number;
  deadTuplesLeftInBloated: number;
  deadTuplesLeftByVacuumdb: number;
  deadTuplesLeftByVacuumdbSameTables: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

interface BenchResult {
  tables: number;
  bloated: number;
  rowsPerTable: number;
  rowsPerBloatedTable: number;
  serverVersion: number;
  /** vacuumdb -j and db-autopilot's workers. */
  parallelism: number;
  autopilotMs: number;
  vacuumdbMs: number;
  vacuumdbSameTablesMs: number;
  ratio: number;
  ratioSameTables: number;
  /** Second figure: VACUUM plus the index rebuilds, against the whole-database vacuumdb. */
  autopilotWithIndexRebuildsMs: number;
  ratioWithIndexRebuilds: number;
  indexesRebuilt: number;
  indexBytesBeforeRebuild: number;
  indexBytesAfterRebuild: number;
  deadTuplesLeftInBloated: number;
  /** The same count in vacuumdb's copies (it runs no second pass for pages it could not clean). */
  deadTuplesLeftByVacuumdb: number;
  deadTuplesLeftByVacuumdbSameTables: number;
  deadTuplesBefore: number;
  autopilotTablesProcessed: number;
  /** Tables vacuumed twice because the first pass met a pinned page (cleanup-lock contention). */
  autopilotSecondPasses: number;
  autopilotDeadNotYetRemovable: number;
  /** Each round on fresh identical copies; the top-level times are the medians. */
  rounds: Round[];
}

/** The rebuilds run inside a maintenance window: 03:00 UTC in a daily 02:00-05:00 window. */
const BENCH_WINDOW_NOW = new Date('2026-01-01T03:00:00Z');
const BENCH_WINDOWS = [
  {
    days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as Array<
      'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'
    >,
    start: '02:00',
    end: '05:00',
  },
];

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
  // FILE_COPY (PG15+) copies the files instead of WAL-logging every page: no WAL flood whose
  // checkpoints would land in the middle of a measured run.
  const strategy = server.version >= 15 ? ' STRATEGY file_copy' : '';
  await withClient(server, 'postgres', (c) =>
    c.query(`CREATE DATABASE ${name} TEMPLATE bench_tpl${strategy}`),
  );
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

interface Options {
  json: boolean;
  tables: number;
  bloatedCount: number;
  rows: number;
  bloatedRows: number;
  roundCount: number;
}

export const BENCH_VACUUM_CLI = {
  name: 'bench:vacuum',
  usage: `usage: npm run bench:vacuum -- [--json] [--tables 200] [--bloated 20] [--rows 20000] [--bloated-rows 30000] [--rounds 3]
  --tables N        tables in the database (default 200)
  --bloated N       of them with half their rows deleted (default 20; at most --tables)
  --rows N          rows per clean table (default 20000)
  --bloated-rows N  rows per bloated table before the deletes (default 30000)
  --rounds N        rounds; times are medians over them (default 3)
  --json            the summary as JSON
  --help            this text`,
  options: {
    json: { type: 'boolean', default: false },
    tables: { type: 'string' },
    bloated: { type: 'string' },
    rows: { type: 'string' },
    'bloated-rows': { type: 'string' },
    rounds: { type: 'string' },
  },
} satisfies CliSpec;

/** The bench's options, or a CliUsageError naming the bad flag. */
export function benchVacuumOptions(values: CliValues): Options {
  const o: Options = {
    json: values.json === true,
    tables: intFlag(values, 'tables', 200),
    bloatedCount: intFlag(values, 'bloated', 20),
    rows: intFlag(values, 'rows', 20000),
    bloatedRows: intFlag(values, 'bloated-rows', 30000),
    roundCount: intFlag(values, 'rounds', 3),
  };
  if (o.bloatedCount > o.tables) throw new CliUsageError('--bloated must be at most --tables');
  return o;
}

type MaintainResult = Awaited<ReturnType<typeof maintainDatabase>>;

interface Rebuild {
  ms: number;
  count: number;
  before: number;
  after: number;
}

/** db-autopilot's maintenance run on its copy; it must apply every table it selected. */
async function autopilotRun(target: PgTarget): Promise<[number, MaintainResult]> {
  const [ms, result] = await timed(() =>
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
  if (failed.length > 0) {
    throw new Error(
      `autopilot did not apply: ${failed.map((f) => `${f.candidate.table.name}: ${f.reason}`).join('; ')}`,
    );
  }
  return [ms, result];
}

/** Second figure, timed apart: the bloated B-trees rebuilt after the VACUUM (indexes of any size). */
async function rebuildRun(target: PgTarget): Promise<Rebuild> {
  const [ms, indexes] = await timed(() =>
    maintainIndexes({
      target,
      settings: {
        indexes: indexMaintenanceSchema.parse({ advise: false, reindexMinBytes: 0, reindexMaxPerRun: 100 }),
        lockTimeoutMs: defaultMaintenanceSettings.lockTimeoutMs,
        safetyMarginMs: defaultMaintenanceSettings.safetyMarginMs,
        queryTextMaxChars: 300,
      },
      act: true,
      now: BENCH_WINDOW_NOW,
      windows: BENCH_WINDOWS,
      remainingMs: () => 15 * 60_000,
    }),
  );
  const applied = indexes.rebuilt.filter((r) => r.result?.outcome === 'applied');
  return {
    ms,
    count: applied.length,
    before: applied.reduce((a, r) => a + (r.result?.bytesBefore ?? 0), 0),
    after: applied.reduce((a, r) => a + (r.result?.bytesAfter ?? 0), 0),
  };
}

interface Bench {
  server: LocalServer;
  bloated: string[];
  /** vacuumdb -j and db-autopilot's workers. */
  parallelism: number;
  log: (m: string) => void;
  roundCount: number;
}

function deadIn(bench: Bench, database: string): Promise<number> {
  return withClient(bench.server, database, async (c) => {
    let sum = 0;
    for (const t of bench.bloated) {
      const r = await c.query<{ n: string }>(
        'SELECT dead_tuple_count::text AS n FROM pgstattuple($1::regclass)',
        [t],
      );
      sum += Number(r.rows[0]?.n ?? 0);
    }
    return sum;
  });
}

type Contender = 'autopilot' | 'whole' | 'same';

/** One round on three fresh identical copies, contenders in an order that rotates between rounds. */
async function runRound(
  bench: Bench,
  round: number,
): Promise<{ round: Round; result: MaintainResult; rebuild: Rebuild; deadBefore: number }> {
  const { server, bloated } = bench;
  const names = {
    autopilot: `bench_autopilot_${round}`,
    whole: `bench_vacuumdb_${round}`,
    same: `bench_vacuumdb_same_${round}`,
  };
  for (const db of Object.values(names)) await copyAndBloat(server, db, bloated);
  const deadBefore = await deadIn(bench, names.autopilot);
  const conn = ['-h', server.host, '-p', String(server.port), '-U', server.user, '-q'];
  // Equal parallelism: vacuumdb runs as many jobs as db-autopilot has workers.
  const vacuumdb = ['--analyze', '-j', String(bench.parallelism)];
  let result: MaintainResult | undefined;
  let rebuild: Rebuild = { ms: 0, count: 0, before: 0, after: 0 };
  const measure: Record<Contender, () => Promise<number>> = {
    autopilot: async () => {
      const target = directTarget('bench', {
        host: server.host,
        port: server.port,
        user: server.user,
        database: names.autopilot,
      });
      const [ms, r] = await autopilotRun(target);
      result = r;
      rebuild = await rebuildRun(target);
      return ms;
    },
    whole: async () =>
      (await timed(() => run(`${server.binDir}/vacuumdb`, [...conn, ...vacuumdb, names.whole])))[0],
    same: async () =>
      (
        await timed(() =>
          run(`${server.binDir}/vacuumdb`, [
            ...conn,
            ...vacuumdb,
            ...bloated.flatMap((t) => ['-t', t]),
            names.same,
          ]),
        )
      )[0],
  };
  const order = (['autopilot', 'whole', 'same'] as const).map(
    (_, i, all) => all[(i + round) % all.length] ?? 'autopilot',
  );
  const times: Partial<Record<Contender, number>> = {};
  for (const which of order) {
    // Each measured run starts from a clean checkpoint: no background flush of someone else's pages.
    await withClient(server, 'postgres', (c) => c.query('CHECKPOINT'));
    bench.log(`round ${round + 1}/${bench.roundCount}: ${which}...`);
    times[which] = await measure[which]();
  }
  // Counted after every timed run, outside the timings.
  const deadLeft = await deadIn(bench, names.autopilot);
  const deadLeftWhole = await deadIn(bench, names.whole);
  const deadLeftSame = await deadIn(bench, names.same);
  for (const db of Object.values(names))
    await withClient(server, 'postgres', (c) => c.query(`DROP DATABASE ${db}`));
  if (!result) throw new Error('the autopilot run did not happen');
  return {
    round: {
      autopilotMs: times.autopilot ?? 0,
      indexRebuildsMs: rebuild.ms,
      indexesRebuilt: rebuild.count,
      vacuumdbMs: times.whole ?? 0,
      vacuumdbSameTablesMs: times.same ?? 0,
      deadTuplesLeftInBloated: deadLeft,
      deadTuplesLeftByVacuumdb: deadLeftWhole,
      deadTuplesLeftByVacuumdbSameTables: deadLeftSame,
    },
    result,
    rebuild,
    deadBefore,
  };
}

function summarize(
  o: Options,
  bench: Bench,
  rounds: Round[],
  last: { result: MaintainResult; rebuild: Rebuild; deadBefore: number },
): BenchResult {
  const autopilotMs = median(rounds.map((r) => r.autopilotMs));
  const vacuumdbMs = median(rounds.map((r) => r.vacuumdbMs));
  const vacuumdbSameTablesMs = median(rounds.map((r) => r.vacuumdbSameTablesMs));
  const withRebuilds = median(rounds.map((r) => r.autopilotMs + r.indexRebuildsMs));
  const { result, rebuild } = last;
  return {
    tables: o.tables,
    bloated: o.bloatedCount,
    rowsPerTable: o.rows,
    rowsPerBloatedTable: o.bloatedRows,
    serverVersion: bench.server.version,
    parallelism: bench.parallelism,
    autopilotMs,
    vacuumdbMs,
    vacuumdbSameTablesMs,
    ratio: Number((autopilotMs / vacuumdbMs).toFixed(3)),
    ratioSameTables: Number((autopilotMs / vacuumdbSameTablesMs).toFixed(3)),
    autopilotWithIndexRebuildsMs: withRebuilds,
    ratioWithIndexRebuilds: Number((withRebuilds / vacuumdbMs).toFixed(3)),
    indexesRebuilt: rebuild.count,
    indexBytesBeforeRebuild: rebuild.before,
    indexBytesAfterRebuild: rebuild.after,
    // Strict: the worst round counts.
    deadTuplesLeftInBloated: Math.max(...rounds.map((r) => r.deadTuplesLeftInBloated)),
    deadTuplesLeftByVacuumdb: Math.max(...rounds.map((r) => r.deadTuplesLeftByVacuumdb)),
    deadTuplesLeftByVacuumdbSameTables: Math.max(...rounds.map((r) => r.deadTuplesLeftByVacuumdbSameTables)),
    deadTuplesBefore: last.deadBefore,
    autopilotTablesProcessed: result.results.length,
    autopilotSecondPasses: result.results.filter((r) => (r.missedDeadFirstPass ?? 0) > 0).length,
    autopilotDeadNotYetRemovable: result.results.reduce((a, r) => a + (r.deadNotYetRemovable ?? 0), 0),
    rounds,
  };
}

function printSummary(out: BenchResult, roundCount: number): void {
  const j = out.parallelism;
  const ms = (n: number) => String(n).padStart(7);
  console.log(
    `\ntables ${out.tables}, bloated ${out.bloated} (${out.deadTuplesBefore} dead tuples), ${out.rowsPerTable} rows each, ${out.rowsPerBloatedTable} in the bloated ones; medians of ${roundCount} rounds`,
  );
  console.log(
    `db-autopilot maintenance (${j} workers)       ${ms(out.autopilotMs)} ms  (${out.autopilotTablesProcessed} tables)`,
  );
  console.log(
    `vacuumdb --analyze -j ${j} (database)          ${ms(out.vacuumdbMs)} ms  ratio ${out.ratio} (goal <= 0.15)`,
  );
  console.log(
    `vacuumdb --analyze -j ${j} -t (same ${out.bloated})       ${ms(out.vacuumdbSameTablesMs)} ms  ratio ${out.ratioSameTables} (goal <= 1.0)`,
  );
  console.log(
    `db-autopilot VACUUM + ${out.indexesRebuilt} index rebuilds   ${ms(out.autopilotWithIndexRebuildsMs)} ms  ratio ${out.ratioWithIndexRebuilds} against vacuumdb (database); indexes ${out.indexBytesBeforeRebuild} -> ${out.indexBytesAfterRebuild} bytes`,
  );
  console.log(
    `dead tuples left in bloated tables (pgstattuple, worst round): ${out.deadTuplesLeftInBloated} (goal 0); vacuumdb left ${out.deadTuplesLeftByVacuumdb} (database), ${out.deadTuplesLeftByVacuumdbSameTables} (same tables); second passes ${out.autopilotSecondPasses}`,
  );
}

async function main(): Promise<void> {
  const o = benchVacuumOptions(cliArgsOrExit(BENCH_VACUUM_CLI, process.argv.slice(2)).values);
  // The per-table logs are for Lambda; the bench prints its own summary.
  logger.setLogLevel('WARN');
  const log = (m: string) => {
    if (!o.json) console.log(m);
  };
  const server = await startLocalPostgres();
  try {
    log(
      `PostgreSQL ${server.version} on ${server.host}:${server.port}: building ${o.tables} tables (${o.rows} rows; the ${o.bloatedCount} to bloat ${o.bloatedRows})...`,
    );
    // Spread the bloated tables over the database.
    const step = Math.floor(o.tables / o.bloatedCount);
    const bloated = Array.from({ length: o.bloatedCount }, (_, i) => tableName(i * step));
    const bloatedSet = new Set(bloated);
    await buildTemplate(server, o.tables, (t) => (bloatedSet.has(t) ? o.bloatedRows : o.rows));
    const bench: Bench = {
      server,
      bloated,
      parallelism: defaultMaintenanceSettings.concurrency,
      log,
      roundCount: o.roundCount,
    };
    const rounds: Round[] = [];
    let last: Awaited<ReturnType<typeof runRound>> | undefined;
    for (let round = 0; round < o.roundCount; round++) {
      last = await runRound(bench, round);
      rounds.push(last.round);
    }
    if (!last) throw new Error('no round ran');
    const out = summarize(o, bench, rounds, last);
    if (o.json) console.log(JSON.stringify(out, null, 2));
    else printSummary(out, o.roundCount);
  } finally {
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    if (error instanceof CliUsageError) {
      process.stderr.write(`bench:vacuum: ${error.message}\n${BENCH_VACUUM_CLI.usage}\n`);
      process.exitCode = 2;
      return;
    }
    if (error instanceof PostgresMissing) console.error(error.message);
    else console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
