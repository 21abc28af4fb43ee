import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultInsightsSettings,
  type InsightsSettings,
} from '../../../shared/postgres/insights/findings.ts';
import { runInsightsForDatabase } from '../../../shared/postgres/insights/run.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { flushStats, startTestPostgres, type TestPostgres } from '../../support/postgres.ts';

let pgServer: TestPostgres;

beforeAll(async () => {
  pgServer = await startTestPostgres();
});

afterAll(async () => {
  await pgServer?.stop();
});

// Thresholds lowered to the size of a test database; the logic under test is the same.
const settings: InsightsSettings = {
  ...defaultInsightsSettings,
  slowQueryMeanMs: 20,
  slowQueryMinCalls: 2,
  unusedIndexMinBytes: 64 * 1024,
  unusedIndexMinStatsAgeDays: 0,
  idleInTransactionSeconds: 1,
};

describe('insights against a real PostgreSQL server', () => {
  it('finds a planted unused index, a duplicate index, a slow query and an idle-in-transaction session', async () => {
    // Prepare
    const db = await pgServer.createDatabase('insights');
    const c = await pgServer.connect(db);
    await c.query(
      'CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL, note text)',
    );
    await c.query(
      `INSERT INTO orders SELECT g, g % 500, 'new', md5(g::text) FROM generate_series(1, 20000) g`,
    );
    await c.query('CREATE INDEX orders_note ON orders (note)'); // never used
    await c.query('CREATE INDEX orders_customer ON orders (customer_id)'); // prefix of the next one
    await c.query('CREATE INDEX orders_customer_status ON orders (customer_id, status)');
    await c.query('ANALYZE orders');
    await c.query('SELECT pg_stat_statements_reset()');
    for (let i = 0; i < 3; i++) await c.query('SELECT pg_sleep(0.03), count(*) FROM orders');
    await flushStats(c);
    const idle = await pgServer.connect(db);
    await idle.query('BEGIN');
    await idle.query('SELECT count(*) FROM orders');
    const idlePid = (await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    await new Promise((r) => setTimeout(r, 1_500)); // idle in transaction for longer than the 1 s threshold
    const store = new MemoryStateStore();

    // Act
    const first = await runInsightsForDatabase({
      target: pgServer.target(db),
      settings,
      now: new Date(),
      runId: 'insights-1',
      trigger: 'manual',
      dryRun: false,
      store,
    });

    // Assess
    const byKind = (k: string) =>
      first.dedup.current.filter((x) => x.finding.kind === k).map((x) => x.finding);
    expect(byKind('unused-index').map((f) => f.key)).toContain('orders_note');
    expect(byKind('unused-index').find((f) => f.key === 'orders_note')?.fix).toBe(
      'DROP INDEX CONCURRENTLY orders_note;',
    );
    expect(byKind('unused-index').map((f) => f.key)).not.toContain('orders_pkey');
    expect(byKind('duplicate-index').map((f) => f.key)).toEqual(['orders_customer<orders_customer_status']);
    const slow = byKind('slow-query');
    expect(slow.some((f) => f.detail.includes('pg_sleep'))).toBe(true);
    const idleFindings = byKind('idle-in-transaction');
    expect(idleFindings.map((f) => f.key)).toContain(String(idlePid));
    expect(first.decisions.every((d) => d.tuner === 'insights')).toBe(true);
    expect(first.decisions.filter((d) => (d.to as { status?: string } | null)?.status === 'new').length).toBe(
      first.dedup.current.length,
    );

    // A second run reports the same findings as open, not new; the ended session is resolved.
    await idle.query('ROLLBACK');
    await idle.end();
    const second = await runInsightsForDatabase({
      target: pgServer.target(db),
      settings,
      now: new Date(Date.now() + 60_000),
      runId: 'insights-2',
      trigger: 'schedule',
      dryRun: false,
      store,
    });
    const unused = second.dedup.current.find((x) => x.finding.key === 'orders_note');
    expect(unused?.status).toBe('open');
    expect(second.dedup.resolved.map((r) => r.kind)).toContain('idle-in-transaction');
    await c.end();
  });

  it('says how to enable pg_stat_statements when the extension is missing, without failing', async () => {
    const db = await pgServer.createDatabase('nostat');
    const c = await pgServer.connect(db);
    await c.query('DROP EXTENSION pg_stat_statements');

    const result = await runInsightsForDatabase({
      target: pgServer.target(db),
      settings,
      now: new Date(),
      runId: 'insights-3',
      trigger: 'manual',
      dryRun: true,
    });

    const missing = result.dedup.current.find((x) => x.finding.kind === 'extension-missing')?.finding;
    expect(missing?.detail).toMatch(/parameter group/);
    expect(missing?.fix).toBe('CREATE EXTENSION IF NOT EXISTS pg_stat_statements;');
    await c.end();
  });

  it('reads an invalid partitioned index (CREATE INDEX ON ONLY, partitions not attached yet) as such, with a fix PostgreSQL accepts', async () => {
    const db = await pgServer.createDatabase('partidx');
    const c = await pgServer.connect(db);
    await c.query('CREATE TABLE events (id bigint, k int NOT NULL) PARTITION BY LIST (k)');
    await c.query('CREATE TABLE events_a PARTITION OF events FOR VALUES IN (1)');
    await c.query('CREATE INDEX events_id_idx ON ONLY events (id)');

    const result = await runInsightsForDatabase({
      target: pgServer.target(db),
      settings,
      now: new Date(),
      runId: 'insights-4',
      trigger: 'manual',
      dryRun: true,
    });

    const invalid = result.dedup.current.find((x) => x.finding.kind === 'invalid-index')?.finding;
    expect(invalid?.title).toMatch(
      /partitioned index events_id_idx .* not every partition has its index attached/,
    );
    // The DROP INDEX CONCURRENTLY the finding used to give is refused by PostgreSQL.
    await expect(c.query('DROP INDEX CONCURRENTLY events_id_idx')).rejects.toThrow(/partitioned index/);
    expect(invalid?.fix).not.toMatch(/CONCURRENTLY/);
    await c.end();
  });

  it('does not report an index being built right now (CREATE INDEX CONCURRENTLY waiting for a writer) as a failed, invalid one', async () => {
    const db = await pgServer.createDatabase('building');
    const c = await pgServer.connect(db);
    await c.query('CREATE TABLE carts (id bigint PRIMARY KEY, v int)');
    const writer = await pgServer.connect(db);
    await writer.query('BEGIN');
    await writer.query('INSERT INTO carts VALUES (1, 1)');
    const builder = await pgServer.connect(db);
    const build = builder.query('CREATE INDEX CONCURRENTLY carts_v_idx ON carts (v)');
    // Until the build is under way: its invalid index committed, its progress row shown.
    for (let i = 0; i < 300; i++) {
      const r = await c.query<{ ready: boolean }>(
        `SELECT to_regclass('carts_v_idx') IS NOT NULL
                AND EXISTS (SELECT 1 FROM pg_stat_progress_create_index) AS ready`,
      );
      if (r.rows[0]?.ready) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    const invalidNow = await c.query(
      `SELECT x.indisvalid AS valid FROM pg_index x WHERE x.indexrelid = 'carts_v_idx'::regclass`,
    );
    expect(invalidNow.rows).toEqual([{ valid: false }]);

    let result: Awaited<ReturnType<typeof runInsightsForDatabase>>;
    try {
      result = await runInsightsForDatabase({
        target: pgServer.target(db),
        settings,
        now: new Date(),
        runId: 'insights-5',
        trigger: 'manual',
        dryRun: true,
      });
    } finally {
      await writer.query('COMMIT');
      await build;
      await writer.end();
      await builder.end();
    }

    expect(result.dedup.current.filter((x) => x.finding.kind === 'invalid-index')).toEqual([]);
    await c.end();
  });
});
