import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexMaintenanceSchema } from '../../../shared/config/sections/maintenance.ts';
import { directTarget } from '../../../shared/postgres/connection.ts';
import { seedDemoTables } from '../../../shared/postgres/demo-seed.ts';
import { indexDecisions, maintainIndexes } from '../../../shared/postgres/index-work.ts';
import { defaultInsightsSettings } from '../../../shared/postgres/insights/findings.ts';
import { runInsightsForDatabase } from '../../../shared/postgres/insights/run.ts';
import { defaultMaintenanceSettings, maintainDatabase } from '../../../shared/postgres/maintenance.ts';

/**
 * The demo's embedded PostgreSQL: PGlite (PostgreSQL 17, one connection at a time) behind a
 * socket server, reached through the same `pg` code path as RDS.
 */
let db: PGlite;
let server: PGLiteSocketServer;
const port = 20_000 + (process.pid % 20_000);

beforeAll(async () => {
  db = await PGlite.create();
  server = new PGLiteSocketServer({ db, port, host: '127.0.0.1' });
  await server.start();
});

afterAll(async () => {
  await server?.stop();
  await db?.close();
});

const target = () =>
  directTarget('demo', { host: '127.0.0.1', port, database: 'postgres', user: 'postgres' });

describe('maintenance and insights on PGlite', () => {
  it('seeds bloated and stale tables, vacuums and analyzes them, and finds the duplicate index', async () => {
    const c = await target().open();
    const seeded = await seedDemoTables(c, { rows: 5_000 });
    await c.end();

    const result = await maintainDatabase({
      target: target(),
      settings: { ...defaultMaintenanceSettings, concurrency: 2, progressLogIntervalMs: 1_000 },
      dryRun: false,
      remainingMs: () => 600_000,
      now: new Date(),
      monitorProgress: true,
    });

    const done = result.results
      .filter((r) => r.outcome === 'applied')
      .map((r) => `public.${r.candidate.table.name}`);
    for (const t of seeded.bloated) expect(done).toContain(t);
    expect(result.results.find((r) => r.candidate.table.name === 'demo_orders')?.outcome).toBe('applied');
    expect(result.results.every((r) => r.outcome === 'applied')).toBe(true);

    const insights = await runInsightsForDatabase({
      target: target(),
      settings: defaultInsightsSettings,
      now: new Date(),
      runId: 'demo',
      trigger: 'demo',
      dryRun: true,
    });
    const kinds = insights.dedup.current.map((x) => x.finding.kind);
    expect(kinds).toContain('duplicate-index');
    expect(kinds).toContain('extension-missing');
  });

  it('says index advice needs HypoPG, which PGlite does not ship', async () => {
    const result = await maintainIndexes({
      target: target(),
      settings: {
        indexes: indexMaintenanceSchema.parse({}),
        lockTimeoutMs: 2_000,
        safetyMarginMs: 1_000,
        queryTextMaxChars: 300,
      },
      act: false,
      now: new Date('2026-12-06T03:00:00Z'),
      windows: [],
      remainingMs: () => 600_000,
    });
    expect(result.advisor).toMatchObject({ hypopg: 'missing', statements: [] });
    const decision = indexDecisions(result, {
      runId: 'demo',
      at: '2026-12-06T03:00:00.000Z',
      mode: 'apply',
      dryRun: true,
      override: false,
      trigger: 'demo',
    }).find((d) => d.action === 'recommend');
    expect(decision?.reason).toContain('index advice needs HypoPG');
    expect(decision?.resource).toBe('demo');
  });
});
