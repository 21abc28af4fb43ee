import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexMaintenanceSchema } from '../../../shared/config/sections/maintenance.ts';
import {
  type IndexWorkSettings,
  indexDecisions,
  maintainIndexes,
} from '../../../shared/postgres/index-work.ts';
import { flushStats, startTestPostgres, type TestPostgres } from '../../support/postgres.ts';

/**
 * Index advice (HypoPG) and index rebuilding against the real PostgreSQL of the test suite
 * (Debian's postgresql-15 with postgresql-15-hypopg and contrib's pgstattuple; .ci/install-postgres.sh).
 */

let pgServer: TestPostgres;

beforeAll(async () => {
  pgServer = await startTestPostgres();
});

afterAll(async () => {
  await pgServer?.stop();
});

/** 03:00 UTC on a Sunday: inside the window below. */
const inWindow = new Date('2026-12-06T03:00:00Z');
const windows = [
  { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as Array<'mon'>, start: '02:00', end: '05:00' },
];
const forever = () => 10 * 60_000;

function settings(overrides: Partial<IndexWorkSettings['indexes']> = {}): IndexWorkSettings {
  return {
    indexes: indexMaintenanceSchema.parse({
      adviseMinCalls: 5,
      adviseMinMeanMs: 0,
      reindexMinBytes: 0,
      ...overrides,
    }),
    lockTimeoutMs: 300,
    safetyMarginMs: 1_000,
    queryTextMaxChars: 300,
  };
}

const ctx = {
  runId: 'r1',
  at: inWindow.toISOString(),
  mode: 'apply' as const,
  dryRun: false,
  override: false,
  trigger: 'schedule' as const,
};

async function ordersDatabase(): Promise<{ db: string; c: pg.Client }> {
  const db = await pgServer.createDatabase('advice');
  const c = await pgServer.connect(db);
  await c.query('CREATE EXTENSION hypopg').catch((error: Error) => {
    throw new Error(
      `HypoPG is not installed (${error.message}): install postgresql-${pgServer.server.version}-hypopg (.ci/install-postgres.sh)`,
    );
  });
  await c.query(
    'CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, flag boolean NOT NULL, note text NOT NULL)',
  );
  await c.query(
    `INSERT INTO orders SELECT g, g % 5000, g % 2 = 0, md5(g::text) FROM generate_series(1, 100000) g`,
  );
  await c.query('VACUUM ANALYZE orders');
  await c.query('SELECT pg_stat_statements_reset()');
  return { db, c };
}

async function bloatedIndex(c: pg.Client, table: string): Promise<number> {
  await c.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, v int NOT NULL)`);
  await c.query(`INSERT INTO ${table} SELECT g, g FROM generate_series(1, 60000) g`);
  await c.query(`DELETE FROM ${table} WHERE id % 10 < 8`);
  await c.query(`VACUUM ANALYZE ${table}`);
  await flushStats(c);
  const r = await c.query<{ n: string }>(`SELECT pg_relation_size('${table}_pkey')::text AS n`);
  return Number(r.rows[0]?.n);
}

describe('index advice proven with HypoPG', () => {
  it('advises the index a planted slow query needs, proves it by EXPLAIN cost, and gives none for a query no index helps', async () => {
    // Prepare: one selective lookup without an index, one aggregate no index can help.
    const { db, c } = await ordersDatabase();
    for (let i = 0; i < 10; i++) {
      await c.query('SELECT id, note FROM orders WHERE customer_id = $1', [i]);
      await c.query('SELECT count(*) FROM orders WHERE flag = $1', [i % 2 === 0]);
    }
    await flushStats(c);

    // Act
    const result = await maintainIndexes({
      target: pgServer.target(db),
      settings: settings(),
      act: false,
      now: inWindow,
      windows,
      remainingMs: forever,
    });

    // Assess
    expect(result.advisor?.hypopg).toBe('installed');
    const lookup = result.advisor?.statements.find((s) => s.statement.query.includes('customer_id'));
    expect(lookup?.result).toMatchObject({
      kind: 'advice',
      candidate: { schema: 'public', relation: 'orders', columns: [{ column: 'customer_id', desc: false }] },
    });
    const advice = lookup?.result?.kind === 'advice' ? lookup.result : undefined;
    expect(advice?.gain).toBeGreaterThan(0.5);
    expect(advice?.costAfter).toBeLessThan((advice?.costBefore ?? 0) / 2);
    expect(advice?.estimatedBytes).toBeGreaterThan(100_000);
    expect(lookup?.writeCost?.existingIndexes).toBe(1);
    const aggregate = result.advisor?.statements.find((s) => s.statement.query.includes('count(*)'));
    expect(aggregate?.error).toBeUndefined();
    expect(aggregate?.result?.kind).toBe('none');

    const decisions = indexDecisions(result, { ...ctx, dryRun: true });
    const recommend = decisions.filter((d) => d.action === 'recommend');
    expect(recommend).toHaveLength(1);
    expect(recommend[0]?.resource).toBe(`${db}:public.orders`);
    expect(recommend[0]?.reason).toContain(
      'CREATE INDEX CONCURRENTLY "orders_customer_id_idx" ON "public"."orders" ("customer_id")',
    );
    expect(recommend[0]?.reason).toContain('SELECT id, note FROM orders WHERE customer_id = $1');
    expect(recommend[0]?.outcome).toBe('planned');
    // A dry run creates nothing.
    const indexes = await c.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'orders'`);
    expect(indexes.rows[0]?.n).toBe(1);
    await c.end();
  });

  it('creates an advised index only when opted in, in a window, and verifies it valid and used', async () => {
    const { db, c } = await ordersDatabase();
    for (let i = 0; i < 10; i++) await c.query('SELECT id, note FROM orders WHERE customer_id = $1', [i]);
    await flushStats(c);

    const result = await maintainIndexes({
      target: pgServer.target(db),
      settings: settings({ createAdvised: true }),
      act: true,
      now: inWindow,
      windows,
      remainingMs: forever,
    });

    expect(result.created).toHaveLength(1);
    expect(result.created[0]?.result?.outcome).toBe('applied');
    const valid = await c.query<{ valid: boolean }>(
      `SELECT x.indisvalid AS valid FROM pg_index x WHERE x.indexrelid = 'public.orders_customer_id_idx'::regclass`,
    );
    expect(valid.rows[0]?.valid).toBe(true);
    const plan = await c.query('EXPLAIN SELECT id, note FROM orders WHERE customer_id = 7');
    expect(JSON.stringify(plan.rows)).toContain('orders_customer_id_idx');
    const created = indexDecisions(result, ctx).find((d) => d.action === 'create-index');
    expect(created).toMatchObject({ outcome: 'applied', resource: `${db}:public.orders_customer_id_idx` });
    await c.end();
  });

  it('drops the invalid leftover of its own failed build of an advised index and builds it again, but leaves an invalid index of another definition alone', async () => {
    // Prepare: an earlier run's CREATE INDEX CONCURRENTLY failed at lock_timeout behind a writer,
    // and its DROP could not run either: orders_customer_id_idx is left invalid.
    const { db, c } = await ordersDatabase();
    const writer = await pgServer.connect(db);
    await writer.query('BEGIN');
    await writer.query(`INSERT INTO orders VALUES (1000001, 1, true, 'x')`);
    await c.query(`SET lock_timeout = '200ms'`);
    await expect(
      c.query('CREATE INDEX CONCURRENTLY orders_customer_id_idx ON public.orders (customer_id)'),
    ).rejects.toThrow(/lock timeout/);
    await writer.query('COMMIT');
    await writer.end();
    await c.query('RESET lock_timeout');
    const validOf = async (name: string) =>
      (
        await c.query<{ valid: boolean }>(
          `SELECT x.indisvalid AS valid FROM pg_index x WHERE x.indexrelid = to_regclass($1)`,
          [name],
        )
      ).rows[0]?.valid;
    expect(await validOf('public.orders_customer_id_idx')).toBe(false);
    for (let i = 0; i < 10; i++) await c.query('SELECT id, note FROM orders WHERE customer_id = $1', [i]);
    await flushStats(c);
    const run = () =>
      maintainIndexes({
        target: pgServer.target(db),
        settings: settings({ createAdvised: true }),
        act: true,
        now: inWindow,
        windows,
        remainingMs: forever,
      });

    // Act
    const result = await run();

    // Assess: the leftover was dropped, the index built again, valid; the decision says so.
    expect(result.created[0]?.result).toMatchObject({
      outcome: 'applied',
      leftoversDropped: ['"public"."orders_customer_id_idx"'],
    });
    expect(await validOf('public.orders_customer_id_idx')).toBe(true);
    const created = indexDecisions(result, ctx).find((d) => d.action === 'create-index');
    expect(created?.reason).toMatch(/invalid leftover of an earlier build dropped and built again/);

    // An invalid index of that name on other columns is someone else's: left alone, said why.
    await c.query('DROP INDEX orders_customer_id_idx');
    await c.query('CREATE INDEX orders_customer_id_idx ON orders (flag)');
    await c.query(
      `UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.orders_customer_id_idx'::regclass`,
    );
    const other = await run();
    expect(other.created[0]?.result).toMatchObject({ outcome: 'skipped', guard: 'postgres:exists' });
    expect(other.created[0]?.result?.reason).toMatch(/another definition exists: not ours, left alone/);
    expect(await validOf('public.orders_customer_id_idx')).toBe(false);
    await c.end();
  });

  it('advises an index for a query over a partitioned table, on every partition, with statements PostgreSQL accepts (and builds none itself)', async () => {
    // Prepare: orders in 4 partitions; a slow lookup by customer over all of them.
    const db = await pgServer.createDatabase('partadvice');
    const c = await pgServer.connect(db);
    await c.query('CREATE EXTENSION hypopg');
    await c.query(
      'CREATE TABLE orders (id bigint, placed int NOT NULL, customer_id bigint NOT NULL, note text) PARTITION BY RANGE (placed)',
    );
    for (let i = 0; i < 4; i++) {
      await c.query(
        `CREATE TABLE orders_${i} PARTITION OF orders FOR VALUES FROM (${i * 100}) TO (${i * 100 + 100})`,
      );
    }
    await c.query(
      `INSERT INTO orders SELECT g, g % 400, g % 5000, md5(g::text) FROM generate_series(1, 200000) g`,
    );
    await c.query('VACUUM ANALYZE orders');
    await c.query('SELECT pg_stat_statements_reset()');
    for (let i = 0; i < 10; i++) await c.query('SELECT id, note FROM orders WHERE customer_id = $1', [i]);
    await flushStats(c);

    // Act
    const result = await maintainIndexes({
      target: pgServer.target(db),
      settings: settings({ createAdvised: true, reindex: false }),
      act: true,
      now: inWindow,
      windows,
      remainingMs: forever,
    });

    // Assess: advice on the partitioned table (an index on one partition cut only ~23%).
    const advice = result.advisor?.statements[0]?.result;
    expect(advice).toMatchObject({ kind: 'advice', candidate: { relation: 'orders' } });
    const decision = indexDecisions(result, ctx).find((d) => d.action === 'recommend');
    const fix = (decision?.to as { fix?: string } | null)?.fix ?? '';
    expect(fix).toMatch(
      /^CREATE INDEX "orders_customer_id_idx" ON ONLY "public"."orders" \("customer_id"\); CREATE INDEX CONCURRENTLY/,
    );
    expect(result.created[0]?.notRun).toMatchObject({
      outcome: 'skipped',
      guard: 'postgres:partitioned-index',
    });
    expect(
      (await c.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname LIKE '%customer%'`)).rows[0]
        ?.n,
    ).toBe(0);
    // The statements given, run in order by a person, make a valid index on the partitioned table.
    for (const statement of fix.split('; ')) await c.query(statement);
    const valid = await c.query(
      `SELECT x.indisvalid AS valid FROM pg_index x WHERE x.indexrelid = 'public.orders_customer_id_idx'::regclass`,
    );
    expect(valid.rows).toEqual([{ valid: true }]);
    await c.end();
  });

  it('does not create an advised index outside the maintenance windows', async () => {
    const { db, c } = await ordersDatabase();
    for (let i = 0; i < 10; i++) await c.query('SELECT id, note FROM orders WHERE customer_id = $1', [i]);
    await flushStats(c);

    const result = await maintainIndexes({
      target: pgServer.target(db),
      settings: settings({ createAdvised: true }),
      act: true,
      now: new Date('2026-12-06T12:00:00Z'),
      windows,
      remainingMs: forever,
    });

    expect(result.created[0]?.notRun).toMatchObject({ outcome: 'deferred', guard: 'maintenance-window' });
    const indexes = await c.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'orders'`);
    expect(indexes.rows[0]?.n).toBe(1);
    await c.end();
  });
});

describe('index rebuilding with REINDEX INDEX CONCURRENTLY', () => {
  it('rebuilds a planted bloated index found by pgstatindex, and it shrinks', async () => {
    const db = await pgServer.createDatabase('reindex');
    const c = await pgServer.connect(db);
    const before = await bloatedIndex(c, 'line_items');

    const result = await maintainIndexes({
      target: pgServer.target(db),
      settings: settings(),
      act: true,
      now: inWindow,
      windows,
      remainingMs: forever,
    });

    expect(result.bloatSource).toBe('pgstattuple');
    expect(result.rebuilt.map((r) => r.candidate.index.name)).toEqual(['line_items_pkey']);
    const r = result.rebuilt[0];
    expect(r?.candidate.bloat.ratio).toBeGreaterThan(0.6);
    expect(r?.result?.outcome).toBe('applied');
    const after = await c.query<{ n: string }>(`SELECT pg_relation_size('line_items_pkey')::text AS n`);
    expect(Number(after.rows[0]?.n)).toBeLessThan(before * 0.4);
    expect(r?.result?.bytesAfter).toBe(Number(after.rows[0]?.n));
    const d = indexDecisions(result, ctx).find((x) => x.action === 'reindex');
    expect(d).toMatchObject({
      outcome: 'applied',
      resourceKind: 'postgres-index',
      to: { statement: 'REINDEX INDEX CONCURRENTLY line_items_pkey' },
    });
    await c.end();
  });

  it('finds the bloat by the catalog estimate without pgstattuple', async () => {
    const db = await pgServer.createDatabase('estimate');
    const c = await pgServer.connect(db);
    await c.query('DROP EXTENSION pgstattuple');
    await bloatedIndex(c, 'line_items');

    const result = await maintainIndexes({
      target: pgServer.target(db),
      settings: settings(),
      act: false,
      now: inWindow,
      windows,
      remainingMs: forever,
    });

    expect(result.bloatSource).toBe('catalog');
    expect(result.rebuilt[0]?.candidate.bloat.source).toBe('catalog estimate');
    expect(result.rebuilt[0]?.candidate.bloat.ratio).toBeGreaterThan(0.5);
    expect(result.rebuilt[0]?.notRun?.outcome).toBe('planned');
    await c.end();
  });

  it('skips the index of a locked table at lock_timeout instead of hanging', async () => {
    const db = await pgServer.createDatabase('locked');
    const c = await pgServer.connect(db);
    const before = await bloatedIndex(c, 'line_items');
    const holder = await pgServer.connect(db);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE line_items IN ACCESS EXCLUSIVE MODE');
    try {
      const result = await maintainIndexes({
        target: pgServer.target(db),
        settings: settings(),
        act: true,
        now: inWindow,
        windows,
        remainingMs: forever,
      });
      const decision = indexDecisions(result, ctx).find((d) => d.resource === `${db}:line_items_pkey`);
      expect(decision).toMatchObject({
        action: 'reindex',
        outcome: 'skipped',
        guard: 'postgres:lock-not-available',
      });
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const after = await c.query<{ n: string }>(`SELECT pg_relation_size('line_items_pkey')::text AS n`);
    expect(Number(after.rows[0]?.n)).toBe(before);
    await c.end();
  });

  it('drops the invalid leftover (_ccnew) of a failed rebuild, at once or on the next run when it is still busy', async () => {
    const db = await pgServer.createDatabase('leftover');
    const c = await pgServer.connect(db);
    await bloatedIndex(c, 'line_items');
    // A transaction writing the table: REINDEX CONCURRENTLY waits for it after creating
    // line_items_pkey_ccnew, and fails at lock_timeout, leaving that invalid index behind.
    const writer = await pgServer.connect(db);
    await writer.query('BEGIN');
    await writer.query('INSERT INTO line_items VALUES (1000000, 1)');
    let result: Awaited<ReturnType<typeof maintainIndexes>>;
    try {
      result = await maintainIndexes({
        target: pgServer.target(db),
        settings: settings(),
        act: true,
        now: inWindow,
        windows,
        remainingMs: forever,
      });
    } finally {
      await writer.query('COMMIT');
      await writer.end();
    }
    const failed = result.rebuilt[0]?.result;
    expect(failed?.outcome).toBe('skipped');
    expect(failed?.errorCode).toBe('55P03');
    // The writer still held the table: the leftover could not be dropped yet.
    expect(failed?.leftoversKept).toEqual(['line_items_pkey_ccnew']);
    const leftover = await c.query<{ valid: boolean }>(
      `SELECT x.indisvalid AS valid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE i.relname = 'line_items_pkey_ccnew'`,
    );
    expect(leftover.rows).toEqual([{ valid: false }]);

    // Next run: the writer is gone; the leftover is dropped first, then the rebuild succeeds.
    const next = await maintainIndexes({
      target: pgServer.target(db),
      settings: settings(),
      act: true,
      now: inWindow,
      windows,
      remainingMs: forever,
    });
    expect(next.leftoversDropped).toEqual(['line_items_pkey_ccnew']);
    expect(next.rebuilt[0]?.result?.outcome).toBe('applied');
    const names = await c.query<{ relname: string }>(
      `SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = 'line_items'::regclass`,
    );
    expect(names.rows.map((r) => r.relname)).toEqual(['line_items_pkey']);
    expect(indexDecisions(next, ctx).filter((d) => d.action === 'drop-index')).toHaveLength(1);
    await c.end();
  });
});
