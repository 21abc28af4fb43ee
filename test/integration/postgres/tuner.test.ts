import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgMaintenanceEventSchema } from '../../../functions/pg-maintenance.ts';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { configSchema } from '../../../shared/config/schema.ts';
import type { TunerRunRequest } from '../../../shared/core/contracts.ts';
import { ValidationError } from '../../../shared/core/errors.ts';
import { runInsightsTuner, runMaintenanceTuner } from '../../../shared/postgres/tuner.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { deadTupleCount, flushStats, startTestPostgres, type TestPostgres } from '../../support/postgres.ts';

let pgServer: TestPostgres;
const ssm = mockClient(SSMClient);
let restore: () => void;

beforeAll(async () => {
  pgServer = await startTestPostgres();
  restore = setAwsClients({ ssm: new SSMClient({ region: 'us-east-1' }) });
});

afterAll(async () => {
  restore?.();
  await pgServer?.stop();
});

function config(mode: 'observe' | 'apply') {
  return configSchema.parse({ version: 1, tuners: { maintenance: { mode, concurrency: 2 }, insights: {} } });
}

function request(over: Partial<TunerRunRequest> = {}): TunerRunRequest {
  return {
    trigger: 'schedule',
    dryRun: false,
    override: false,
    idempotencyKey: `k-${Math.random()}`,
    remainingMs: () => 600_000,
    ...over,
  };
}

async function bloatedDatabase(): Promise<string> {
  const db = await pgServer.createDatabase('tuner');
  const c = await pgServer.connect(db);
  await c.query('CREATE TABLE line_items (id bigint PRIMARY KEY, v text)');
  await c.query('INSERT INTO line_items SELECT g, md5(g::text) FROM generate_series(1, 4000) g');
  await c.query('ANALYZE line_items');
  await c.query('DELETE FROM line_items WHERE id % 2 = 0');
  await flushStats(c);
  await c.end();
  return db;
}

describe('the maintenance tuner', () => {
  it('plans only in observe mode and records the plan in the state store', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'no', $metadata: {} }));
    const db = await bloatedDatabase();
    const store = new MemoryStateStore();

    const summary = await runMaintenanceTuner({
      request: request(),
      deps: { config: config('observe'), store, targets: [pgServer.target(db)] },
    });

    // The index advisor's note: HypoPG is on the server but not created in this database.
    expect(summary.decisions.map((d) => [d.action, d.outcome])).toEqual([
      ['vacuum', 'planned'],
      ['recommend', 'planned'],
    ]);
    expect(summary.decisions[1]?.reason).toMatch(/index advice needs HypoPG.*CREATE EXTENSION hypopg/);
    expect(await store.listDecisions({ since: '2000-01-01T00:00:00Z', tuner: 'maintenance' })).toHaveLength(
      2,
    );
    const c = await pgServer.connect(db);
    expect(await deadTupleCount(c, 'line_items')).toBe(2_000);
    await c.end();
  });

  it('vacuums in apply mode, records the measured rate, and does nothing when paused', async () => {
    const db = await bloatedDatabase();
    const store = new MemoryStateStore();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'true' } });
    const paused = await runMaintenanceTuner({
      request: request(),
      deps: { config: config('apply'), store, targets: [pgServer.target(db)] },
    });
    expect(paused.paused).toBe(true);
    expect(paused.decisions).toEqual([]);

    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'false' } });
    const summary = await runMaintenanceTuner({
      request: request(),
      deps: { config: config('apply'), store, targets: [pgServer.target(db)] },
    });

    expect(summary.decisions.map((d) => [d.resource, d.action, d.outcome])).toEqual([
      [`${db}:line_items`, 'vacuum', 'applied'],
      [db, 'recommend', 'applied'],
    ]);
    const history = await store.getHistory('maintenance', `postgres:${db}`, new Date());
    expect(Object.keys((history.tunerState?.tables as Record<string, unknown>) ?? {})).toEqual([
      'line_items',
    ]);
    const c = await pgServer.connect(db);
    expect(await deadTupleCount(c, 'line_items')).toBe(0);
    await c.end();
  });

  it('starts no VACUUM in the last seconds of a maintenance window, though the function has minutes left', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'false' } });
    const db = await bloatedDatabase();
    const windowed = configSchema.parse({
      version: 1,
      maintenanceWindows: [{ days: ['sun'], start: '02:00', end: '05:00' }],
      tuners: { maintenance: { mode: 'apply', concurrency: 2 } },
    });
    // 04:59:50 on a Sunday: inside the window, 10 s before it closes (the safety margin is 30 s).
    const now = new Date('2026-12-06T04:59:50Z');
    const summary = await runMaintenanceTuner({
      request: request(),
      deps: { config: windowed, store: new MemoryStateStore(), targets: [pgServer.target(db)], now },
    });
    expect(summary.decisions.filter((d) => d.outcome === 'applied')).toEqual([]);
    expect(summary.notes.join(' ')).toMatch(/time is nearly up/);
    const c = await pgServer.connect(db);
    expect(await deadTupleCount(c, 'line_items')).toBe(2_000);
    await c.end();
  });

  it('rebuilds a bloated index after the VACUUM in a maintenance window, records it, and only plans it in observe mode', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'false' } });
    const db = await pgServer.createDatabase('tuner_reindex');
    const c = await pgServer.connect(db);
    await c.query('CREATE TABLE events (id bigint PRIMARY KEY, v int NOT NULL)');
    await c.query('INSERT INTO events SELECT g, g FROM generate_series(1, 100000) g');
    await c.query('ANALYZE events');
    await c.query('DELETE FROM events WHERE id % 10 < 8');
    // Vacuumed already (autovacuum, say): the index keeps its half-empty pages.
    await c.query('VACUUM ANALYZE events');
    await flushStats(c);
    const size = async () =>
      Number((await c.query<{ n: string }>(`SELECT pg_relation_size('events_pkey')::text AS n`)).rows[0]?.n);
    const before = await size();
    const windowed = (mode: 'observe' | 'apply') =>
      configSchema.parse({
        version: 1,
        maintenanceWindows: [{ days: ['sun'], start: '02:00', end: '05:00' }],
        tuners: { maintenance: { mode, concurrency: 2 } },
      });
    const now = new Date('2026-12-06T03:00:00Z'); // a Sunday, inside the window
    const store = new MemoryStateStore();

    const planned = await runMaintenanceTuner({
      request: request(),
      deps: { config: windowed('observe'), store, targets: [pgServer.target(db)], now },
    });
    expect(planned.decisions.find((d) => d.action === 'reindex')).toMatchObject({
      resource: `${db}:events_pkey`,
      outcome: 'planned',
    });
    expect(await size()).toBe(before);

    const applied = await runMaintenanceTuner({
      request: request(),
      deps: { config: windowed('apply'), store, targets: [pgServer.target(db)], now },
    });
    const reindex = applied.decisions.find((d) => d.action === 'reindex');
    expect(reindex).toMatchObject({
      resource: `${db}:events_pkey`,
      outcome: 'applied',
      tuner: 'maintenance',
    });
    expect(await size()).toBeLessThan(before / 2);
    const recorded = await store.listDecisions({ since: '2000-01-01T00:00:00Z', tuner: 'maintenance' });
    // Both runs share one `now`: the store's order between them is not part of the contract.
    expect(
      recorded
        .filter((d) => d.action === 'reindex')
        .map((d) => d.outcome)
        .sort(),
    ).toEqual(['applied', 'planned']);
    await c.end();
  });

  it('a scheduled run outside the maintenance window does nothing and records why; a manual one acts only when told explicitly', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'false' } });
    const db = await bloatedDatabase();
    const store = new MemoryStateStore();
    const nightly = configSchema.parse({
      version: 1,
      maintenanceWindows: [
        { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '02:00', end: '05:00' },
      ],
      tuners: { maintenance: { mode: 'apply', concurrency: 2 } },
    });
    const afternoon = new Date('2026-11-23T14:30:00Z');
    const deps = { config: nightly, store, targets: [pgServer.target(db)], now: afternoon };
    const dead = async () => {
      const c = await pgServer.connect(db);
      const n = await deadTupleCount(c, 'line_items');
      await c.end();
      return n;
    };

    // Scheduled, outside 02:00-05:00: nothing touched, one recorded decision saying why.
    const scheduled = await runMaintenanceTuner({ request: request(), deps });
    expect(scheduled.decisions.map((d) => [d.action, d.outcome, d.guard])).toEqual([
      ['vacuum', 'skipped', 'maintenance-window'],
    ]);
    expect(scheduled.decisions[0]?.reason).toContain('14:30 UTC is outside the maintenance windows');
    expect(scheduled.notes[0]).toContain('the next window opens at 2026-11-24T02:00:00.000Z');
    expect(await dead()).toBe(2_000);
    const recorded = await store.listDecisions({ since: '2000-01-01T00:00:00Z', tuner: 'maintenance' });
    expect(recorded.map((d) => d.guard)).toEqual(['maintenance-window']);

    // Manual, not told to ignore the window: refused the same way.
    const manual = await runMaintenanceTuner({ request: request({ trigger: 'manual' }), deps });
    expect(manual.decisions.map((d) => d.outcome)).toEqual(['skipped']);
    expect(manual.decisions[0]?.reason).toContain('"ignoreMaintenanceWindow": true');
    expect(await dead()).toBe(2_000);

    // Manual, explicitly outside the window: it vacuums, and says so.
    const told = await runMaintenanceTuner({
      request: request({ trigger: 'manual' }),
      ignoreMaintenanceWindow: true,
      deps,
    });
    expect(told.decisions.find((d) => d.action === 'vacuum')?.outcome).toBe('applied');
    expect(told.notes.join(' ')).toContain('run anyway, as the manual event says');
    expect(await dead()).toBe(0);
  });

  it('does nothing when the maintenance section is disabled, even in apply mode', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'false' } });
    const db = await bloatedDatabase();
    const store = new MemoryStateStore();
    const disabled = configSchema.parse({
      version: 1,
      tuners: { maintenance: { mode: 'apply', enabled: false, concurrency: 2 } },
    });

    const summary = await runMaintenanceTuner({
      request: request(),
      deps: { config: disabled, store, targets: [pgServer.target(db)] },
    });

    expect(summary.decisions).toEqual([]);
    expect(summary.notes.join('\n')).toMatch(/maintenance tuner is not enabled/);
    const c = await pgServer.connect(db);
    expect(await deadTupleCount(c, 'line_items')).toBe(2_000);
    await c.end();
  });

  it('rejects an unknown database or table with a clear error', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'false' } });
    const db = await bloatedDatabase();
    const deps = { config: config('apply'), store: new MemoryStateStore(), targets: [pgServer.target(db)] };
    await expect(runMaintenanceTuner({ request: request(), database: 'nope', deps })).rejects.toThrow(
      /unknown database "nope"/,
    );
    await expect(
      runMaintenanceTuner({
        request: request({ trigger: 'manual' }),
        database: db,
        tables: ['public.missing'],
        deps,
      }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('insights run through the same glue and record decisions', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'false' } });
    const db = await bloatedDatabase();
    const store = new MemoryStateStore();
    const summary = await runInsightsTuner({
      request: request(),
      deps: { config: config('apply'), store, targets: [pgServer.target(db)] },
    });
    expect(summary.decisions.length).toBeGreaterThan(0);
    expect(summary.decisions.every((d) => d.tuner === 'insights')).toBe(true);
  });
});

describe('the pg-maintenance event schema', () => {
  it('accepts the sample manual event and the doctor command', () => {
    expect(
      pgMaintenanceEventSchema.safeParse({
        database: 'orders',
        tables: ['public.line_items'],
        dryRun: true,
        analyzeOnly: false,
      }).success,
    ).toBe(true);
    expect(pgMaintenanceEventSchema.safeParse({ command: 'doctor', database: 'orders' }).success).toBe(true);
  });

  it('refuses a manual event without dryRun or with unknown fields', () => {
    expect(pgMaintenanceEventSchema.safeParse({ database: 'orders', tables: ['x'] }).success).toBe(false);
    expect(
      pgMaintenanceEventSchema.safeParse({ database: 'orders', dryRun: true, sql: 'VACUUM FULL' }).success,
    ).toBe(false);
    expect(pgMaintenanceEventSchema.safeParse({ database: 'Orders; DROP', dryRun: true }).success).toBe(
      false,
    );
  });
});
