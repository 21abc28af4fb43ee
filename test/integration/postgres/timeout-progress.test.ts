import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../shared/handler/observability.ts';
import { defaultMaintenanceSettings, maintainDatabase } from '../../../shared/postgres/maintenance.ts';
import { flushStats, startTestPostgres, type TestPostgres } from '../../support/postgres.ts';

let pgServer: TestPostgres;

beforeAll(async () => {
  pgServer = await startTestPostgres();
});

afterAll(async () => {
  await pgServer?.stop();
});

describe('a VACUUM that cannot finish', () => {
  it('is cancelled at the statement_timeout derived from the time left, with its progress logged meanwhile', async () => {
    // Prepare: an open cursor pins a heap page; an aggressive VACUUM (FREEZE) must wait for its cleanup lock.
    const db = await pgServer.createDatabase('pinned');
    const c = await pgServer.connect(db);
    await c.query('CREATE TABLE events (id bigint PRIMARY KEY, v text)');
    await c.query('INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 2000) g');
    await flushStats(c);
    const pinner = await pgServer.connect(db);
    await pinner.query('BEGIN');
    await pinner.query('DECLARE cur CURSOR FOR SELECT * FROM events');
    await pinner.query('FETCH 1 FROM cur');
    const info = vi.spyOn(logger, 'info');

    // Act: 1.5 s left after the safety margin; the freeze reason applies to any XID age.
    const result = await maintainDatabase({
      target: pgServer.target(db),
      settings: {
        ...defaultMaintenanceSettings,
        safetyMarginMs: 1_000,
        freezeAgeFraction: 0,
        progressLogIntervalMs: 200,
      },
      dryRun: false,
      remainingMs: () => 2_500,
      now: new Date(),
      monitorProgress: true,
    });

    // Assess
    await pinner.query('ROLLBACK');
    await pinner.end();
    await c.end();
    const r = result.results[0];
    expect(r?.statement).toMatch(/^VACUUM \(FREEZE, ANALYZE/);
    expect(r?.outcome).toBe('deferred');
    expect(r?.errorCode).toBe('57014');
    const progress = info.mock.calls.filter(([message]) => message === 'vacuum progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]?.[1]).toMatchObject({ table: 'events' });
  });
});
