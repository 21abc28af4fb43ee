import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HistoryIo, main } from '../../../shared/cli/history.ts';
import type { Decision } from '../../../shared/core/model.ts';
import { RECORDED_STATE_FILE, recordedState, sinceTime } from '../../../shared/report/history.ts';
import { DynamoDbStateStore } from '../../../shared/state/index.ts';
import { type Dynalite, startDynalite } from '../../support/dynalite.ts';
import { makeDecision } from '../../unit/core/fixtures.ts';

/**
 * `npm run history`: the audit log read back from a demo's recorded state (DIR/state.json) and from
 * a state table (the DynamoDB store on dynalite, as a deployed table is read).
 */
const NOW = new Date('2026-11-21T00:00:00.000Z');
const decisions: Decision[] = [
  makeDecision({
    id: 'd1',
    at: '2026-11-20T01:00:00.000Z',
    resource: 'orders',
    action: 'set-iops',
    outcome: 'applied',
  }),
  makeDecision({
    id: 'd2',
    at: '2026-11-20T02:00:00.000Z',
    resource: 'orders',
    action: 'noop',
    outcome: 'skipped',
  }),
  makeDecision({
    id: 'd3',
    at: '2026-11-20T20:00:00.000Z',
    resource: 'orders',
    action: 'set-iops',
    outcome: 'deferred',
  }),
  makeDecision({
    id: 'd4',
    at: '2026-11-20T21:00:00.000Z',
    tuner: 'dynamodb',
    resource: 'carts',
    resourceKind: 'dynamodb-table',
    action: 'set-capacity',
    outcome: 'planned',
  }),
];

let dir = '';
let dynalite: Dynalite;

async function run(argv: string[], store?: DynamoDbStateStore) {
  let out = '';
  let err = '';
  const io: HistoryIo = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    now: () => NOW,
    openTable: () => {
      if (!store) throw new Error('no table in this test');
      return store;
    },
  };
  const code = await main(argv, io);
  return { code, out, err };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dbap-history-'));
  const state = recordedState({
    table: 't',
    since: '2026-11-20T00:00:00.000Z',
    until: NOW.toISOString(),
    decisions,
  });
  writeFileSync(join(dir, RECORDED_STATE_FILE), JSON.stringify(state));
  dynalite = await startDynalite();
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dynalite.teardown();
});

describe('npm run history -- --from DIR', () => {
  it('--json prints on stdout only a JSON array of the resource decisions, no-ops left out', async () => {
    const r = await run(['--from', dir, '--resource', 'orders', '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const printed = JSON.parse(r.out) as Decision[];
    expect(printed.map((d) => d.id)).toEqual(['d1', 'd3']);
    expect(printed[0]).toMatchObject({ tuner: 'iops', action: 'set-iops', outcome: 'applied' });
  });

  it('counts --since back from the end of the recorded period and filters by --tuner', async () => {
    const recent = JSON.parse((await run(['--from', dir, '--since', '6h', '--json'])).out) as Decision[];
    expect(recent.map((d) => d.id)).toEqual(['d3', 'd4']);
    const ddb = JSON.parse((await run(['--from', dir, '--tuner', 'dynamodb', '--json'])).out) as Decision[];
    expect(ddb.map((d) => d.id)).toEqual(['d4']);
  });

  it('prints a table in the terminal', async () => {
    const r = await run(['--from', dir, '--resource', 'orders']);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^time \(UTC\)\s+tuner\s+resource\s+action\s+outcome/);
    expect(lines[1]).toMatch(/^2026-11-20 01:00\s+iops\s+orders\s+set-iops\s+applied/);
    expect(r.out).toContain('2 decision(s)');
  });

  it('exits 2 naming the problem: no recorded state, an unknown tuner, a bad --since, both sources', async () => {
    const missing = await run(['--from', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`${join(dir, 'nope', RECORDED_STATE_FILE)} not found: run the demo first`);
    expect((await run(['--from', dir, '--tuner', 'redis'])).err).toContain('--tuner: a tuner: one of iops');
    expect((await run(['--from', dir, '--since', 'last week'])).err).toContain('--since');
    expect((await run(['--from', dir, '--table', 't'])).err).toContain('not both');
    expect(() => sinceTime('7d', NOW)).not.toThrow();
    expect(sinceTime('7d', NOW)).toBe('2026-11-14T00:00:00.000Z');
  });
});

describe('npm run history -- --table NAME', () => {
  it('reads the decisions of the window from the state table, one resource or all', async () => {
    const store = new DynamoDbStateStore({ client: dynalite.client, tableName: dynalite.tableName });
    for (const d of decisions) await store.recordDecision(d);
    const one = await run(
      ['--table', dynalite.tableName, '--resource', 'orders', '--tuner', 'iops', '--json'],
      store,
    );
    expect(one.code).toBe(0);
    expect((JSON.parse(one.out) as Decision[]).map((d) => d.id)).toEqual(['d1', 'd3']);
    const all = await run(['--table', dynalite.tableName, '--since', '2d', '--json'], store);
    expect((JSON.parse(all.out) as Decision[]).map((d) => d.id)).toEqual(['d1', 'd3', 'd4']);
    const window = await run(['--table', dynalite.tableName, '--since', '3h', '--json'], store);
    expect((JSON.parse(window.out) as Decision[]).map((d) => d.id)).toEqual(['d4']);
  });
});
