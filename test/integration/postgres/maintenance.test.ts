import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMaintenanceCatalog } from '../../../shared/postgres/catalog.ts';
import type { PgTarget } from '../../../shared/postgres/connection.ts';
import {
  defaultMaintenanceSettings,
  maintainDatabase,
  maintenanceDecisions,
  UnknownTables,
} from '../../../shared/postgres/maintenance.ts';
import { deadTupleCount, flushStats, startTestPostgres, type TestPostgres } from '../../support/postgres.ts';

let pgServer: TestPostgres;

beforeAll(async () => {
  pgServer = await startTestPostgres();
});

afterAll(async () => {
  await pgServer?.stop();
});

async function bloat(c: pg.Client, table: string, rows: number): Promise<void> {
  await c.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, v text NOT NULL)`);
  await c.query(`INSERT INTO ${table} SELECT g, md5(g::text) FROM generate_series(1, $1::int) g`, [rows]);
  await c.query(`ANALYZE ${table}`);
  await c.query(`DELETE FROM ${table} WHERE id % 2 = 0`);
  await flushStats(c);
}

const forever = () => 10 * 60_000;

describe('maintenance against a real PostgreSQL server', () => {
  it('vacuums a bloated table until pgstattuple counts no dead tuple, and leaves a healthy table alone', async () => {
    // Prepare
    const db = await pgServer.createDatabase('bloat');
    const c = await pgServer.connect(db);
    await bloat(c, 'line_items', 20_000);
    await c.query('CREATE TABLE customers (id int PRIMARY KEY)');
    await c.query('INSERT INTO customers SELECT generate_series(1, 100)');
    await flushStats(c);
    await c.query('VACUUM ANALYZE customers');
    await flushStats(c);
    expect(await deadTupleCount(c, 'line_items')).toBe(10_000);

    // Act
    const result = await maintainDatabase({
      target: pgServer.target(db),
      settings: defaultMaintenanceSettings,
      dryRun: false,
      remainingMs: forever,
      now: new Date(),
    });

    // Assess
    const names = result.results.map((r) => r.candidate.table.name);
    expect(names).toEqual(['line_items']);
    const r = result.results[0];
    expect(r?.outcome).toBe('applied');
    expect(r?.statement).toBe('VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, TRUNCATE false) line_items');
    expect(r?.tuplesRemoved).toBe(10_000);
    expect(r?.deadNotYetRemovable).toBe(0);
    expect(await deadTupleCount(c, 'line_items')).toBe(0);
    const decisions = maintenanceDecisions(result, {
      runId: 'r1',
      at: new Date().toISOString(),
      mode: 'apply',
      dryRun: false,
      override: false,
      trigger: 'manual',
    });
    expect(decisions.map((d) => d.resource)).toEqual([`${db}:line_items`]);
    expect(decisions[0]).toMatchObject({ tuner: 'maintenance', action: 'vacuum', outcome: 'applied' });
    expect(decisions[0]?.evidence.find((e) => e.metric === 'tuples_removed')?.value).toBe(10_000);
    await c.end();
  });

  it('reads the version, the autovacuum settings and every table in one round trip', async () => {
    const db = await pgServer.createDatabase('catalog');
    const c = await pgServer.connect(db);
    await bloat(c, 'line_items', 2_000);
    await c.query('CREATE TABLE "Odd Name" (id int)');
    await c.query('ALTER TABLE line_items SET (autovacuum_vacuum_scale_factor = 0.01)');
    const reader = await pgServer.connect(db);
    let queries = 0;
    const query = reader.query.bind(reader) as (...args: unknown[]) => unknown;
    reader.query = ((...args: unknown[]) => {
      queries++;
      return query(...args);
    }) as typeof reader.query;

    const catalog = await readMaintenanceCatalog(reader);

    expect(queries).toBe(1);
    const version = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    expect(catalog.serverVersionNum).toBe(Number(version.rows[0]?.v));
    const settings = await c.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name LIKE 'autovacuum%'`,
    );
    const server = (name: string) => Number(settings.rows.find((r) => r.name === name)?.setting);
    expect(catalog.settings).toMatchObject({
      vacuumThreshold: server('autovacuum_vacuum_threshold'),
      vacuumScaleFactor: server('autovacuum_vacuum_scale_factor'),
      analyzeThreshold: server('autovacuum_analyze_threshold'),
      analyzeScaleFactor: server('autovacuum_analyze_scale_factor'),
      freezeMaxAge: server('autovacuum_freeze_max_age'),
      multixactFreezeMaxAge: server('autovacuum_multixact_freeze_max_age'),
    });
    // PG18+ only: absent on older servers, so no cap.
    const cap = settings.rows.some((r) => r.name === 'autovacuum_vacuum_max_threshold');
    expect(catalog.settings.vacuumMaxThreshold).toBe(
      cap ? server('autovacuum_vacuum_max_threshold') : undefined,
    );
    expect(catalog.tables.map((t) => t.name).sort()).toEqual(['"Odd Name"', 'line_items']);
    const items = catalog.tables.find((t) => t.name === 'line_items');
    const view = await c.query<{ live: string; mods: string }>(
      `SELECT n_live_tup AS live, n_mod_since_analyze AS mods
         FROM pg_stat_user_tables WHERE relname = 'line_items'`,
    );
    expect(items).toMatchObject({
      schema: 'public',
      relname: 'line_items',
      nDeadTup: 1_000,
      nLiveTup: Number(view.rows[0]?.live),
      nModSinceAnalyze: Number(view.rows[0]?.mods),
    });
    expect(items?.reloptions).toEqual(['autovacuum_vacuum_scale_factor=0.01']);
    expect(items?.lastAnalyze).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(items?.totalBytes).toBeGreaterThan(items?.tableBytes ?? Number.POSITIVE_INFINITY); // its primary key
    await reader.end();
    await c.end();
  });

  it('plans without running in a dry run', async () => {
    const db = await pgServer.createDatabase('dry');
    const c = await pgServer.connect(db);
    await bloat(c, 'line_items', 5_000);

    const result = await maintainDatabase({
      target: pgServer.target(db),
      settings: defaultMaintenanceSettings,
      dryRun: true,
      remainingMs: forever,
      now: new Date(),
    });

    expect(result.results.map((r) => r.outcome)).toEqual(['planned']);
    expect(await deadTupleCount(c, 'line_items')).toBe(2_500);
    await c.end();
  });

  it('skips a table locked by another session without waiting for the lock', async () => {
    // Prepare: another session holds ACCESS EXCLUSIVE on the table in an open transaction.
    const db = await pgServer.createDatabase('locked');
    const c = await pgServer.connect(db);
    await bloat(c, 'line_items', 5_000);
    const locker = await pgServer.connect(db);
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE line_items IN ACCESS EXCLUSIVE MODE');

    // Act
    const result = await maintainDatabase({
      target: pgServer.target(db),
      settings: { ...defaultMaintenanceSettings, lockTimeoutMs: 500 },
      dryRun: false,
      tables: ['public.line_items'],
      remainingMs: forever,
      now: new Date(),
    });

    // Assess
    await locker.query('ROLLBACK');
    await locker.end();
    expect(result.results).toHaveLength(1);
    expect(result.results[0]?.outcome).toBe('skipped');
    expect(await deadTupleCount(c, 'line_items')).toBe(2_500);
    await c.end();
  });

  it('starts no table once the time budget is spent and reports what is left', async () => {
    const db = await pgServer.createDatabase('budget');
    const c = await pgServer.connect(db);
    await bloat(c, 'a_items', 3_000);
    await bloat(c, 'b_items', 3_000);
    await bloat(c, 'c_items', 3_000);
    // A fake clock: 60 s left until the first VACUUM is sent, then inside the 30 s safety margin.
    let vacuumsSent = 0;
    const target = pgServer.target(db);
    const watched: PgTarget = {
      ...target,
      open: async () => {
        const client = await target.open();
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        client.query = ((...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].startsWith('VACUUM')) vacuumsSent++;
          return query(...args);
        }) as typeof client.query;
        return client;
      },
    };
    const remainingMs = () => (vacuumsSent === 0 ? 60_000 : 29_000);

    const result = await maintainDatabase({
      target: watched,
      settings: { ...defaultMaintenanceSettings, concurrency: 1 },
      dryRun: false,
      remainingMs,
      now: new Date(),
    });

    const outcomes = result.results.map((r) => r.outcome);
    expect(outcomes).toEqual(['applied', 'deferred', 'deferred']);
    expect(result.results[1]?.reason).toMatch(/time budget/);
    const left = result.results.filter((r) => r.outcome === 'deferred').map((r) => r.candidate.table.name);
    for (const t of left) expect(await deadTupleCount(c, t)).toBe(1_500);
    await c.end();
  });

  it('reports rather than starts a table whose vacuum cannot finish in the time left', async () => {
    const db = await pgServer.createDatabase('toolong');
    const c = await pgServer.connect(db);
    await bloat(c, 'big_items', 20_000);

    const result = await maintainDatabase({
      target: pgServer.target(db),
      // 1 MB/s recorded throughput and a 2 MB table: ~2 s, more than the 1 s left after the margin.
      settings: { ...defaultMaintenanceSettings, safetyMarginMs: 1_000 },
      history: { bytesPerSecond: 1024 * 1024 },
      dryRun: false,
      remainingMs: () => 2_000,
      now: new Date(),
    });

    expect(result.results[0]?.outcome).toBe('deferred');
    expect(result.results[0]?.reason).toMatch(/does not fit/);
    expect(await deadTupleCount(c, 'big_items')).toBe(10_000);
    await c.end();
  });

  it('runs ANALYZE alone where only the statistics are stale', async () => {
    const db = await pgServer.createDatabase('stale');
    const c = await pgServer.connect(db);
    await c.query('CREATE TABLE orders (id int PRIMARY KEY, status text)');
    await c.query(`INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 5000) g`);
    await c.query('VACUUM ANALYZE orders');
    await c.query(`INSERT INTO orders SELECT g, 'new' FROM generate_series(5001, 10000) g`);
    await flushStats(c);

    const result = await maintainDatabase({
      target: pgServer.target(db),
      settings: { ...defaultMaintenanceSettings, recentVacuumMinutes: 0 },
      dryRun: false,
      remainingMs: forever,
      now: new Date(),
    });

    expect(result.results.map((r) => [r.candidate.action, r.outcome])).toEqual([['analyze', 'applied']]);
    expect(result.results[0]?.statement).toMatch(/^ANALYZE \(VERBOSE, SKIP_LOCKED\) orders$/);
    const after = await c.query<{ n: string }>(
      `SELECT n_mod_since_analyze::text AS n FROM pg_stat_user_tables WHERE relname = 'orders'`,
    );
    expect(Number(after.rows[0]?.n)).toBe(0);
    await c.end();
  });

  it('refuses an unknown table by name and runs nothing', async () => {
    const db = await pgServer.createDatabase('unknown');
    const c = await pgServer.connect(db);
    await bloat(c, 'line_items', 2_000);

    const run = maintainDatabase({
      target: pgServer.target(db),
      settings: defaultMaintenanceSettings,
      dryRun: false,
      tables: ['public.line_items', 'public.nope; DROP TABLE line_items'],
      remainingMs: forever,
      now: new Date(),
    });

    await expect(run).rejects.toBeInstanceOf(UnknownTables);
    await expect(run).rejects.toThrow(/nope; DROP TABLE line_items/);
    expect(await deadTupleCount(c, 'line_items')).toBe(1_000);
    await c.end();
  });
});

describe('partitioned tables (autovacuum never analyzes them)', () => {
  async function parentStats(c: pg.Client, name: string) {
    const r = await c.query<{ analyzed: Date | null; reltuples: number }>(
      `SELECT pg_stat_get_last_analyze_time(c.oid) AS analyzed, c.reltuples::float8 AS reltuples
         FROM pg_class c WHERE c.oid = $1::regclass`,
      [name],
    );
    return r.rows[0];
  }

  it('ANALYZEs a partitioned table whose partitions changed past its trigger, and not again while they have not', async () => {
    // Prepare: orders partitioned by month, analyzed at 30,000 rows; then a new month of 20,000 rows.
    const db = await pgServer.createDatabase('parts');
    const c = await pgServer.connect(db);
    await c.query(
      `CREATE TABLE orders (id bigint, placed date NOT NULL, total numeric) PARTITION BY RANGE (placed)`,
    );
    for (const [name, from, to] of [
      ['orders_2026_09', '2026-09-01', '2026-10-01'],
      ['orders_2026_10', '2026-10-01', '2026-11-01'],
      ['orders_2026_11', '2026-11-01', '2026-12-01'],
    ]) {
      await c.query(`CREATE TABLE ${name} PARTITION OF orders FOR VALUES FROM ('${from}') TO ('${to}')`);
    }
    await c.query(
      `INSERT INTO orders SELECT g, date '2026-09-01' + (g % 91), g % 500 FROM generate_series(1, 30000) g`,
    );
    await flushStats(c); // the inserts counted before the ANALYZE that resets them
    await c.query('ANALYZE orders');
    const analyzedBefore = (await parentStats(c, 'orders'))?.analyzed;
    await c.query(
      `CREATE TABLE orders_2026_12 PARTITION OF orders FOR VALUES FROM ('2026-12-01') TO ('2027-01-01')`,
    );
    await c.query(
      `INSERT INTO orders SELECT g, date '2026-12-01' + (g % 31), g % 500 FROM generate_series(30001, 50000) g`,
    );
    await flushStats(c);
    // No hold-back after a recent ANALYZE (recentVacuumMinutes 0): only the changes decide.
    const run = (now: Date) =>
      maintainDatabase({
        target: pgServer.target(db),
        settings: { ...defaultMaintenanceSettings, recentVacuumMinutes: 0 },
        dryRun: false,
        remainingMs: forever,
        now,
      });

    // Act
    const first = await run(new Date());
    await c.query(`INSERT INTO orders SELECT g, date '2026-12-05', 1 FROM generate_series(50001, 50100) g`);
    await flushStats(c);
    const later = await run(new Date());

    // Assess: the parent was analyzed (its own statistics now count the new month) and said why.
    const parent = first.results.find((r) => r.candidate.table.name === 'orders');
    expect(parent).toMatchObject({ outcome: 'applied' });
    expect(parent?.statement).toBe(
      pgServer.versionNum >= 180000
        ? 'ANALYZE (VERBOSE, SKIP_LOCKED) ONLY orders'
        : 'ANALYZE (VERBOSE, SKIP_LOCKED) orders',
    );
    const after = await parentStats(c, 'orders');
    expect(after?.analyzed?.getTime()).toBeGreaterThan(analyzedBefore?.getTime() ?? 0);
    expect(after?.reltuples).toBeGreaterThan(45_000);
    const d = maintenanceDecisions(first, {
      runId: 'r',
      at: new Date().toISOString(),
      mode: 'apply',
      dryRun: false,
      override: false,
      trigger: 'schedule',
    }).find((x) => x.resource === `${db}:orders`);
    expect(d?.action).toBe('analyze');
    expect(d?.reason).toMatch(/autovacuum never analyzes a partitioned table; about 20000 row\(s\) changed/);
    expect(d?.evidence.find((e) => e.metric === 'partition_changes')).toMatchObject({
      value: 20_000,
      threshold: 5_050,
    });
    // 100 rows later: under the trigger, left alone (its own ANALYZE reset what it counts).
    expect(later.results.map((r) => r.candidate.table.name)).not.toContain('orders');
    expect(later.skipped.map((s) => s.table.name)).not.toContain('orders');
    // Named in a manual run: refused with what to do instead (not "unknown table").
    const named = maintainDatabase({
      target: pgServer.target(db),
      settings: defaultMaintenanceSettings,
      dryRun: true,
      tables: ['orders'],
      remainingMs: forever,
      now: new Date(),
    });
    await expect(named).rejects.toThrow(
      /"orders" in .*: a partitioned table holds no rows of its own; name its partitions/,
    );
    await c.end();
  });

  it('records the ANALYZE of a partitioned table as done when one of its partitions was locked (as autovacuum holds it)', async () => {
    // Prepare: a partitioned table never analyzed; a session holds one partition as autovacuum does.
    const db = await pgServer.createDatabase('partlock');
    const c = await pgServer.connect(db);
    await c.query('CREATE TABLE events (id bigint, k int NOT NULL) PARTITION BY LIST (k)');
    await c.query('CREATE TABLE events_a PARTITION OF events FOR VALUES IN (1)');
    await c.query('CREATE TABLE events_b PARTITION OF events FOR VALUES IN (2)');
    await c.query('INSERT INTO events SELECT g, 1 + g % 2 FROM generate_series(1, 20000) g');
    await c.query('VACUUM ANALYZE events_a, events_b');
    await flushStats(c);
    const holder = await pgServer.connect(db);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE events_b IN SHARE UPDATE EXCLUSIVE MODE');

    // Act
    let result: Awaited<ReturnType<typeof maintainDatabase>>;
    try {
      result = await maintainDatabase({
        target: pgServer.target(db),
        settings: { ...defaultMaintenanceSettings, concurrency: 1 },
        dryRun: false,
        remainingMs: forever,
        now: new Date(),
      });
    } finally {
      await holder.query('COMMIT');
      await holder.end();
    }

    // Assess: its own statistics were gathered; the locked partition is named in the reason.
    const parent = result.results.find((r) => r.candidate.table.name === 'events');
    expect(parent?.outcome).toBe('applied');
    expect(parent?.reason).toMatch(/1 of its 2 partition\(s\) not analyzed again: locked/);
    const r = await c.query<{ analyzed: Date | null }>(
      `SELECT pg_stat_get_last_analyze_time('events'::regclass) AS analyzed`,
    );
    expect(r.rows[0]?.analyzed).not.toBeNull();
    await c.end();
  });
});
