import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexMaintenanceSchema } from '../../../shared/config/sections/maintenance.ts';
import type { PgTarget } from '../../../shared/postgres/connection.ts';
import { runDoctor } from '../../../shared/postgres/doctor.ts';
import {
  type IndexWorkSettings,
  indexDecisions,
  maintainIndexes,
} from '../../../shared/postgres/index-work.ts';
import {
  defaultMaintenanceSettings,
  maintainDatabase,
  maintenanceDecisions,
} from '../../../shared/postgres/maintenance.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { deadTupleCount, flushStats, startTestPostgres, type TestPostgres } from '../../support/postgres.ts';

/**
 * What a production account has and a superuser test server hides: a role that does not own the
 * shop's tables, and an endpoint that is a read replica (hot standby).
 */

let primary: TestPostgres;

beforeAll(async () => {
  primary = await startTestPostgres();
});

afterAll(async () => {
  await primary?.stop();
});

const forever = () => 10 * 60_000;
const ctx = {
  runId: 'r1',
  at: '2026-12-06T03:00:00.000Z',
  mode: 'apply' as const,
  dryRun: false,
  override: false,
  trigger: 'schedule' as const,
};

async function bloatedTable(c: pg.Client, table: string, rows: number): Promise<void> {
  await c.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, v text NOT NULL)`);
  await c.query(`INSERT INTO ${table} SELECT g, md5(g::text) FROM generate_series(1, $1::int) g`, [rows]);
  await c.query(`ANALYZE ${table}`);
  await c.query(`DELETE FROM ${table} WHERE id % 2 = 0`);
  await flushStats(c);
}

/** The application's role (owns the shop's tables) and db-autopilot's login role (pg_monitor), once per server. */
async function shopAndMaintenanceRoles(c: pg.Client): Promise<void> {
  await c.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shop_app') THEN CREATE ROLE shop_app; END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dbap_maint') THEN CREATE ROLE dbap_maint LOGIN IN ROLE pg_monitor; END IF;
    END $$`);
}

describe('a maintenance role that does not own the tables', () => {
  it('reports a table it may not maintain without running it or giving it a slot of maxTablesPerRun, and records the warning once a day (then as repeats)', async () => {
    // Prepare: the shop's most bloated table belongs to the application role; db-autopilot logs in
    // as its own role, which owns one smaller bloated table; one table per run.
    const db = await primary.createDatabase('perm');
    const c = await primary.connect(db);
    await shopAndMaintenanceRoles(c);
    await bloatedTable(c, 'orders', 10_000);
    await c.query('ALTER TABLE orders OWNER TO shop_app');
    await bloatedTable(c, 'audit_log', 2_000);
    await c.query('ALTER TABLE audit_log OWNER TO dbap_maint');
    const store = new MemoryStateStore();
    const run = async (at: string) => {
      const result = await maintainDatabase({
        target: primary.target(db, 'dbap_maint'),
        settings: { ...defaultMaintenanceSettings, maxTablesPerRun: 1 },
        dryRun: false,
        remainingMs: forever,
        now: new Date(at),
      });
      const made = maintenanceDecisions(result, { ...ctx, at });
      for (const d of made) await store.recordDecision(d);
      return { result, made };
    };

    // Act: two nightly runs of the same day.
    const first = await run('2026-12-06T02:00:00.000Z');
    const auditDeadAfterFirst = await deadTupleCount(c, 'audit_log');
    const second = await run('2026-12-06T04:00:00.000Z');

    // Assess: the table it may maintain got the run's only slot; orders was never sent to the server.
    expect(first.result.results.map((r) => [r.candidate.table.name, r.outcome])).toEqual([
      ['audit_log', 'applied'],
    ]);
    expect(auditDeadAfterFirst).toBe(0);
    expect(await deadTupleCount(c, 'orders')).toBe(5_000);
    expect(first.result.skipped).toEqual([]);
    const denied = first.made.find((x) => x.resource === `${db}:orders`);
    expect(denied).toMatchObject({
      outcome: 'skipped',
      guard: 'postgres:not-permitted',
      severity: 'warning',
    });
    expect(denied?.reason).toMatch(/only the owner may: GRANT the owning role/);
    // The second run's warning is the same skip: stored as a repeat of the first, not a new record.
    expect(second.made.find((x) => x.resource === `${db}:orders`)?.reason).toBe(denied?.reason);
    const listed = await store.listDecisions({
      since: '2026-12-06T00:00:00.000Z',
      tuner: 'maintenance',
      resource: `${db}:orders`,
    });
    expect(listed.map((d) => [d.id, d.repeatedAt])).toEqual([[denied?.id, ['2026-12-06T04:00:00.000Z']]]);
    await c.end();
  });
});

describe('a partitioned table whose partitions have different owners', () => {
  it('records its ANALYZE as done when PostgreSQL skips a partition this role may not analyze', async () => {
    // Prepare: db-autopilot owns the partitioned table and one partition; the application owns the other.
    const db = await primary.createDatabase('partowner');
    const c = await primary.connect(db);
    await shopAndMaintenanceRoles(c);
    await c.query('CREATE TABLE events (id bigint, k int NOT NULL) PARTITION BY LIST (k)');
    await c.query('CREATE TABLE events_a PARTITION OF events FOR VALUES IN (1)');
    await c.query('CREATE TABLE events_b PARTITION OF events FOR VALUES IN (2)');
    await c.query('INSERT INTO events SELECT g, 1 + g % 2 FROM generate_series(1, 20000) g');
    await flushStats(c);
    await c.query('ALTER TABLE events OWNER TO dbap_maint');
    await c.query('ALTER TABLE events_a OWNER TO dbap_maint');
    await c.query('ALTER TABLE events_b OWNER TO shop_app');

    // Act
    const result = await maintainDatabase({
      target: primary.target(db, 'dbap_maint'),
      settings: { ...defaultMaintenanceSettings, concurrency: 1 },
      dryRun: false,
      remainingMs: forever,
      now: new Date(),
    });

    // Assess: the parent's statistics were gathered (PostgreSQL warned only for events_b).
    const parent = result.results.find((r) => r.candidate.table.name === 'events');
    expect(parent?.notices.join('\n')).toMatch(/events_b/);
    expect(parent?.outcome).toBe('applied');
    expect(parent?.reason).toMatch(/1 of its 2 partition\(s\) not analyzed again/);
    const analyzed = await c.query(`SELECT pg_stat_get_last_analyze_time('events'::regclass) AS at`);
    expect(analyzed.rows[0]?.at).not.toBeNull();
    expect(result.notPermitted.map((n) => n.table.name)).toEqual(['events_b']);
    await c.end();
  });
});

describe('index work by a role that does not own the table', () => {
  it('reports the bloated index it may not rebuild, the advised index it may not create (trying neither) and the slow statements it may not plan', async () => {
    // Prepare: the shop's carts table (owned by the application) has a bloated primary key and a
    // slow lookup; db-autopilot may read it (EXPLAIN needs SELECT) but does not own it.
    const db = await primary.createDatabase('notowner');
    const c = await primary.connect(db);
    await shopAndMaintenanceRoles(c);
    await c.query('CREATE EXTENSION hypopg');
    await c.query('CREATE TABLE carts (id bigint PRIMARY KEY, customer_id bigint NOT NULL, v int NOT NULL)');
    await c.query('INSERT INTO carts SELECT g, g % 5000, g FROM generate_series(1, 60000) g');
    await c.query('DELETE FROM carts WHERE id % 10 < 8');
    await c.query('VACUUM ANALYZE carts');
    await c.query('ALTER TABLE carts OWNER TO shop_app');
    await c.query('GRANT SELECT ON carts TO dbap_maint');
    await c.query('CREATE TABLE payments (id bigint PRIMARY KEY, order_id bigint NOT NULL)');
    await c.query('INSERT INTO payments SELECT g, g % 7000 FROM generate_series(1, 50000) g');
    await c.query('ANALYZE payments');
    await c.query('ALTER TABLE payments OWNER TO shop_app');
    await c.query('SELECT pg_stat_statements_reset()');
    for (let i = 0; i < 10; i++) await c.query('SELECT v FROM carts WHERE customer_id = $1', [i]);
    for (let i = 0; i < 10; i++) await c.query('SELECT id FROM payments WHERE order_id = $1', [i]);
    await flushStats(c);
    const log: Array<{ sql: string; params?: unknown[] }> = [];

    // Act
    const result = await maintainIndexes({
      target: spied(primary.target(db, 'dbap_maint'), log),
      settings: {
        indexes: indexMaintenanceSchema.parse({
          reindexMinBytes: 0,
          createAdvised: true,
          adviseMinCalls: 5,
          adviseMinMeanMs: 0,
        }),
        lockTimeoutMs: 300,
        safetyMarginMs: 1_000,
        queryTextMaxChars: 300,
      },
      act: true,
      now: new Date('2026-12-06T03:00:00Z'),
      windows: [{ days: ['sun'], start: '02:00', end: '05:00' }],
      remainingMs: forever,
    });

    // Assess: neither statement was sent; each is a skip saying what to grant, the same every run.
    expect(log.filter((q) => /^(REINDEX|CREATE INDEX)/.test(q.sql))).toEqual([]);
    expect(result.rebuilt).toEqual([]);
    const decisions = indexDecisions(result, ctx);
    const reindex = decisions.find((d) => d.action === 'reindex');
    expect(reindex).toMatchObject({
      resource: `${db}:carts_pkey`,
      outcome: 'skipped',
      guard: 'postgres:not-permitted',
      severity: 'warning',
      from: null,
    });
    expect(reindex?.reason).toMatch(/may not rebuild it: REINDEX needs the table owner/);
    const create = decisions.find((d) => d.action === 'create-index');
    expect(create).toMatchObject({
      outcome: 'skipped',
      guard: 'postgres:not-permitted',
      severity: 'warning',
    });
    expect(create?.reason).toMatch(/CREATE INDEX needs the owner of public.carts/);
    // payments cannot even be planned (EXPLAIN needs SELECT): said, with the grant, not left silent.
    const unread = decisions.find(
      (d) => (d.to as { kind?: string } | null)?.kind === 'index-advice-not-permitted',
    );
    expect(unread?.reason).toMatch(
      /reading payments the db-autopilot role may not read.*GRANT SELECT ON payments/,
    );
    await c.end();
  });
});

describe('a maintenance run pointed at a read replica (hot standby)', () => {
  let standby: TestPostgres | undefined;

  afterAll(async () => {
    await standby?.stop();
  });

  it('refuses clearly and runs nothing, instead of reporting a healthy database', {
    timeout: 120_000,
  }, async () => {
    // Prepare: a bloated table on the writer, then a streaming standby of it.
    const db = await primary.createDatabase('standby');
    const c = await primary.connect(db);
    await bloatedTable(c, 'line_items', 10_000);
    await c.end();
    standby = await startTestPostgres({ standbyOf: primary.server });
    const s = await standby.connect(db);
    expect((await s.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r).toBe(true);
    await s.end();

    // Act / Assess: the replica's own statistics show no dead tuple; the run must not say "healthy".
    await expect(
      maintainDatabase({
        target: standby.target(db),
        settings: defaultMaintenanceSettings,
        dryRun: false,
        remainingMs: forever,
        now: new Date(),
      }),
    ).rejects.toThrow(/read replica|in recovery/);
    // doctor says so too, with the fix.
    const report = await runDoctor(standby.target(db));
    expect(report.ok).toBe(false);
    expect(report.missing.join('\n')).toMatch(
      /^writer: .*read replica.*-> point the database's host at the writer/m,
    );
  });
});

/** A target whose sessions log every statement and its parameters (the spy of the test). */
function spied(target: PgTarget, log: Array<{ sql: string; params?: unknown[] }>): PgTarget {
  return {
    ...target,
    async open() {
      const client = await target.open();
      const query = client.query.bind(client) as (...a: unknown[]) => unknown;
      (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
        if (typeof a[0] === 'string') log.push({ sql: a[0], params: Array.isArray(a[1]) ? a[1] : undefined });
        return query(...a);
      };
      return client;
    },
  };
}

/** The statement_timeout in force when each pgstatindex ran (from the set_config before it). */
function pgstatindexTimeouts(log: Array<{ sql: string; params?: unknown[] }>): number[] {
  let current = Number.POSITIVE_INFINITY;
  const out: number[] = [];
  for (const q of log) {
    if (q.sql.includes("set_config('statement_timeout'")) current = Number(q.params?.[1]);
    if (q.sql.includes('pgstatindex(')) out.push(current);
  }
  return out;
}

describe('measuring index bloat near the end of the run', () => {
  const inWindow = new Date('2026-12-06T03:00:00Z');
  const windows = [
    { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as Array<'mon'>, start: '02:00', end: '05:00' },
  ];
  const settings = (): IndexWorkSettings => ({
    indexes: indexMaintenanceSchema.parse({ advise: false, reindexMinBytes: 0 }),
    lockTimeoutMs: 300,
    safetyMarginMs: 1_000,
    queryTextMaxChars: 300,
  });

  async function indexedDatabase(): Promise<string> {
    const db = await primary.createDatabase('measure');
    const c = await primary.connect(db);
    for (const t of ['carts', 'orders', 'payments']) {
      await c.query(`CREATE TABLE ${t} (id bigint PRIMARY KEY, v int NOT NULL)`);
      await c.query(`INSERT INTO ${t} SELECT g, g FROM generate_series(1, 30000) g`);
      await c.query(`DELETE FROM ${t} WHERE id % 10 < 8`);
      await c.query(`VACUUM ANALYZE ${t}`);
    }
    await c.end();
    return db;
  }

  it('never gives pgstatindex a statement_timeout past the time left, and starts none once it is spent', async () => {
    const db = await indexedDatabase();

    // 3 s left after the safety margin: every pgstatindex is cut at 3 s at most (PostgreSQL keeps
    // reading a whole index for a client the Lambda runtime has already stopped).
    const log: Array<{ sql: string; params?: unknown[] }> = [];
    const some = await maintainIndexes({
      target: spied(primary.target(db), log),
      settings: settings(),
      act: false,
      now: inWindow,
      windows,
      remainingMs: () => 1_000 + 3_000,
    });
    const timeouts = pgstatindexTimeouts(log);
    expect(timeouts.length).toBe(3);
    for (const t of timeouts) expect(t).toBeLessThanOrEqual(3_000);
    expect(some.notRebuilt.length + some.rebuilt.length).toBeGreaterThan(0);

    // The time is spent: no index is read; the catalog estimate stands in, and the rebuilds are deferred.
    const none: typeof log = [];
    const spent = await maintainIndexes({
      target: spied(primary.target(db), none),
      settings: settings(),
      act: false,
      now: inWindow,
      windows,
      remainingMs: () => 1_000,
    });
    expect(pgstatindexTimeouts(none)).toEqual([]);
    expect(spent.rebuilt).toEqual([]);
  });
});

describe('a rebuild cancelled at its statement_timeout near the end of the run', () => {
  it('gives the DROP of its leftover only the time left, not the same statement_timeout again', {
    timeout: 60_000,
  }, async () => {
    // Prepare: a bloated index; a writer's open transaction keeps REINDEX CONCURRENTLY waiting
    // (lock_timeout is long here), so it runs into its statement_timeout: the time left.
    const db = await primary.createDatabase('lastcall');
    const c = await primary.connect(db);
    await c.query('CREATE TABLE carts (id bigint PRIMARY KEY, v int NOT NULL)');
    await c.query('INSERT INTO carts SELECT g, g FROM generate_series(1, 60000) g');
    await c.query('DELETE FROM carts WHERE id % 10 < 8');
    await c.query('VACUUM ANALYZE carts');
    const writer = await primary.connect(db);
    await writer.query('BEGIN');
    await writer.query('INSERT INTO carts VALUES (1000001, 1)');
    const log: Array<{ sql: string; params?: unknown[] }> = [];
    const deadline = Date.now() + 1_000 + 3_000;
    let result: Awaited<ReturnType<typeof maintainIndexes>>;

    // Act: 3 s left after the 1 s safety margin.
    try {
      result = await maintainIndexes({
        target: spied(primary.target(db), log),
        settings: {
          indexes: indexMaintenanceSchema.parse({ advise: false, reindexMinBytes: 0 }),
          lockTimeoutMs: 30_000,
          safetyMarginMs: 1_000,
          queryTextMaxChars: 300,
        },
        act: true,
        now: new Date('2026-12-06T03:00:00Z'),
        windows: [{ days: ['sun'], start: '02:00', end: '05:00' }],
        remainingMs: () => deadline - Date.now(),
      });
    } finally {
      await writer.query('ROLLBACK');
      await writer.end();
    }

    // Assess: the rebuild was cancelled (deferred); the DROP after it was held to the 1 s floor.
    expect(result.rebuilt[0]?.result).toMatchObject({ outcome: 'deferred', errorCode: '57014' });
    let current = Number.NaN;
    const atDrop: number[] = [];
    const atReindex: number[] = [];
    for (const q of log) {
      if (q.sql.includes("set_config('statement_timeout'")) current = Number(q.params?.[1]);
      if (q.sql.startsWith('REINDEX')) atReindex.push(current);
      if (q.sql.startsWith('DROP INDEX CONCURRENTLY')) atDrop.push(current);
    }
    expect(atReindex[0]).toBeGreaterThan(2_000);
    expect(atDrop.length).toBeGreaterThan(0);
    for (const t of atDrop) expect(t).toBeLessThanOrEqual(1_000);
    await c.end();
  });
});

describe('index advice near the end of the run', () => {
  it('plans under a statement_timeout within the time left, and examines no statement once it is spent', async () => {
    const db = await primary.createDatabase('advicetime');
    const c = await primary.connect(db);
    await c.query('CREATE EXTENSION hypopg');
    await c.query('CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL)');
    await c.query('INSERT INTO orders SELECT g, g % 5000 FROM generate_series(1, 50000) g');
    await c.query('ANALYZE orders');
    await c.query('SELECT pg_stat_statements_reset()');
    for (let i = 0; i < 10; i++) await c.query('SELECT id FROM orders WHERE customer_id = $1', [i]);
    await flushStats(c);
    const log: Array<{ sql: string; params?: unknown[] }> = [];

    // 1.5 s left after the 1 s safety margin: under the 2 s it takes to start another statement.
    const result = await maintainIndexes({
      target: spied(primary.target(db), log),
      settings: {
        indexes: indexMaintenanceSchema.parse({ reindex: false, adviseMinCalls: 5, adviseMinMeanMs: 0 }),
        lockTimeoutMs: 300,
        safetyMarginMs: 1_000,
        queryTextMaxChars: 300,
      },
      act: false,
      now: new Date('2026-12-06T03:00:00Z'),
      windows: [],
      remainingMs: () => 1_000 + 1_500,
    });

    expect(log.filter((q) => q.sql.startsWith('EXPLAIN') || q.sql.startsWith('PREPARE'))).toEqual([]);
    expect(result.advisor?.notExamined).toBe(1);
    const set = log.find((q) =>
      q.sql.includes("set_config('lock_timeout', $1, false), set_config('statement_timeout'"),
    );
    expect(Number(set?.params?.[1])).toBeLessThanOrEqual(1_500);
    await c.end();
  });
});

describe('pg_stat_statements created but not preloaded (shared_preload_libraries)', () => {
  let bare: TestPostgres | undefined;

  afterAll(async () => {
    await bare?.stop();
  });

  it('reports advice as unavailable and still rebuilds the bloated index', { timeout: 120_000 }, async () => {
    bare = await startTestPostgres({ settings: { shared_preload_libraries: '' } });
    const db = await bare.createDatabase('nopreload');
    const c = await bare.connect(db);
    await c.query('CREATE EXTENSION hypopg');
    await c.query('CREATE TABLE carts (id bigint PRIMARY KEY, v int NOT NULL)');
    await c.query('INSERT INTO carts SELECT g, g FROM generate_series(1, 60000) g');
    await c.query('DELETE FROM carts WHERE id % 10 < 8');
    await c.query('VACUUM ANALYZE carts');
    await c.end();

    const result = await maintainIndexes({
      target: bare.target(db),
      settings: {
        indexes: indexMaintenanceSchema.parse({ reindexMinBytes: 0 }),
        lockTimeoutMs: 300,
        safetyMarginMs: 1_000,
        queryTextMaxChars: 300,
      },
      act: true,
      now: new Date('2026-12-06T03:00:00Z'),
      windows: [{ days: ['sun'], start: '02:00', end: '05:00' }],
      remainingMs: forever,
    });

    expect(result.advisor?.unavailable).toMatch(/shared_preload_libraries/);
    const note = indexDecisions(result, ctx).find((d) => d.action === 'recommend');
    expect(note?.to).toMatchObject({ kind: 'index-advice-unavailable', fix: /shared_preload_libraries/ });
    expect(result.rebuilt.map((r) => [r.candidate.index.name, r.result?.outcome])).toEqual([
      ['carts_pkey', 'applied'],
    ]);
  });
});
