import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultMaintenanceSettings,
  maintainDatabase,
  maintenanceDecisions,
} from '../../../shared/postgres/maintenance.ts';
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

describe('a maintenance role that does not own the tables', () => {
  it('records a table PostgreSQL skipped for permission as skipped (not applied), naming the grant that fixes it', async () => {
    // Prepare: the shop's tables belong to the application role; db-autopilot logs in as its own role.
    const db = await primary.createDatabase('perm');
    const c = await primary.connect(db);
    await c.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shop_app') THEN CREATE ROLE shop_app; END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dbap_maint') THEN CREATE ROLE dbap_maint LOGIN IN ROLE pg_monitor; END IF;
    END $$`);
    await bloatedTable(c, 'orders', 10_000);
    await c.query('ALTER TABLE orders OWNER TO shop_app');

    // Act
    const result = await maintainDatabase({
      target: primary.target(db, 'dbap_maint'),
      settings: defaultMaintenanceSettings,
      dryRun: false,
      remainingMs: forever,
      now: new Date(),
    });

    // Assess: PostgreSQL answered with a WARNING and did nothing; the run says so.
    expect(await deadTupleCount(c, 'orders')).toBe(5_000);
    const r = result.results.find((x) => x.candidate.table.name === 'orders');
    expect(r?.outcome).toBe('skipped');
    expect(r?.reason).toMatch(/permission|owner/);
    const d = maintenanceDecisions(result, ctx).find((x) => x.resource === `${db}:orders`);
    expect(d).toMatchObject({ outcome: 'skipped', guard: 'postgres:not-permitted', severity: 'warning' });
    expect(d?.reason).toMatch(/pg_maintain|owner/);
    await c.end();
  });
});

describe('a maintenance run pointed at a read replica (hot standby)', () => {
  let standby: TestPostgres | undefined;

  afterAll(async () => {
    await standby?.stop();
  });

  it('refuses clearly and runs nothing, instead of reporting a healthy database', { timeout: 120_000 }, async () => {
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
  });
});
