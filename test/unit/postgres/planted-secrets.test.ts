import type pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../shared/handler/observability.ts';
import type { PgTarget } from '../../../shared/postgres/connection.ts';
import { defaultInsightsSettings } from '../../../shared/postgres/insights/findings.ts';
import { runInsightsForDatabase } from '../../../shared/postgres/insights/run.ts';
import { buildDigest, renderDigestText } from '../../../shared/report/digest.ts';
import { digestPayload, eventPayload } from '../../../shared/report/slack.ts';
import { digestMessage, eventMessage } from '../../../shared/report/sns.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';

/**
 * Secrets planted in every place insights read query text from: pg_stat_statements (a slow
 * statement with literals, a utility SET and an ALTER ROLE ... PASSWORD kept with their values),
 * pg_stat_activity (an idle-in-transaction session whose last statement carries a literal, a long
 * transaction whose text smuggles a statement in nested comments, an unquoted SET value), and an
 * error message that quotes a connection string. None may reach a record, Slack, SNS or a log.
 */
const SECRETS = [
  'sk_live_PLANTED_A1',
  'PLANTED_PASSWORD_B2',
  'PLANTED_SET_C3',
  'PLANTED_IDLE_D4',
  'PLANTED_UNQUOTED_E5',
  'PLANTED_LOG_F6',
  'PLANTED_ROLESET_G7',
];

const statements = [
  // A slow query whose text still has literals (e.g. pg_stat_statements.track_utility / old versions).
  { query: `SELECT * FROM api_keys WHERE key = '${SECRETS[0]}' AND n = 42`, calls: 500, mean: 900 },
  { query: `ALTER ROLE app WITH PASSWORD '${SECRETS[1]}'`, calls: 150, mean: 400 },
  { query: `SET app.api_key = '${SECRETS[2]}'`, calls: 1000, mean: 300 },
  { query: `ALTER ROLE app SET app.token = '${SECRETS[6]}'`, calls: 200, mean: 250 },
  { query: 'SELECT 1 /* /* */ ; DROP TABLE victim; -- */', calls: 300, mean: 500 },
];

const sessions = [
  {
    pid: 4242,
    usename: 'app',
    application_name: 'checkout',
    state: 'idle in transaction',
    xact_age: 9000,
    state_age: 8000,
    xmin_age: 50,
    query: `UPDATE accounts SET secret = '${SECRETS[3]}' WHERE id = 7`,
  },
  {
    pid: 4343,
    usename: 'app',
    application_name: 'batch',
    state: 'active',
    xact_age: 9000,
    state_age: 10,
    xmin_age: 5000,
    query: `SET SESSION app.api_key TO ${SECRETS[4]}`,
  },
];

function fakeClient(): pg.Client {
  const query = async (sql: string) => {
    const rows = (r: unknown[]) => ({ rows: r, rowCount: r.length });
    if (sql.includes("current_setting('server_version_num')")) return rows([{ v: '160004' }]);
    if (sql.includes('FROM pg_extension')) return rows([{ n: '1' }]);
    if (sql.includes('FROM pg_stat_statements'))
      return rows(
        statements.map((s, i) => ({
          queryid: String(1000 + i),
          query: s.query,
          calls: s.calls,
          total: s.calls * s.mean,
          mean: s.mean,
          plan: 1,
          rows: 1,
          blks_read: 1,
          blks_hit: 1,
        })),
      );
    if (sql.includes('FROM pg_stat_activity') && sql.includes('xact_start')) return rows(sessions);
    if (sql.includes('FROM pg_stat_user_tables'))
      throw new Error(`could not read stats: postgres://app:${SECRETS[5]}@db.internal:5432/orders`);
    if (sql.includes('max_connections'))
      return rows([
        { name: 'max_connections', setting: '100' },
        { name: 'autovacuum_freeze_max_age', setting: '200000000' },
      ]);
    return rows([]);
  };
  return { query, end: async () => undefined, on: () => undefined } as unknown as pg.Client;
}

afterEach(() => vi.restoreAllMocks());

describe('insights never carry a literal', () => {
  it('keeps planted secrets out of the records, Slack, SNS and the logs', async () => {
    // Prepare
    const logged: string[] = [];
    const capture = (...args: unknown[]) => {
      logged.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      return true;
    };
    // Everything handed to the logger (what Lambda writes to CloudWatch Logs), and the console.
    for (const m of ['info', 'warn', 'error', 'debug'] as const)
      vi.spyOn(logger, m).mockImplementation(capture as (typeof logger)[typeof m]);
    for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const)
      vi.spyOn(console, m).mockImplementation(capture);
    const store = new MemoryStateStore();
    const client = fakeClient();
    const target: PgTarget = {
      name: 'orders',
      describe: 'db.internal:5432/orders',
      open: async () => client,
    };
    const now = new Date('2026-11-20T05:30:00.000Z');

    // Act
    const result = await runInsightsForDatabase({
      target,
      settings: { ...defaultInsightsSettings, idleInTransactionSeconds: 60, longTransactionSeconds: 300 },
      now,
      runId: 'insights-planted',
      trigger: 'schedule',
      dryRun: false,
      store,
      client,
    });
    const recorded = await store.listDecisions({ since: '2026-11-19T00:00:00.000Z' });
    const digest = buildDigest({
      decisions: recorded,
      since: '2026-11-20T00:00:00.000Z',
      until: '2026-11-21T00:00:00.000Z',
      paused: false,
    });
    const outputs = [
      JSON.stringify(recorded),
      JSON.stringify((await store.getHistory('insights', 'postgres:orders', now)).tunerState),
      JSON.stringify(eventPayload(recorded, 'us-east-1')),
      JSON.stringify(eventMessage('arn:aws:sns:us-east-1:1:t', recorded)),
      renderDigestText(digest),
      JSON.stringify(digestPayload(digest, 'us-east-1')),
      JSON.stringify(digestMessage('arn:aws:sns:us-east-1:1:t', digest)),
      logged.join('\n'),
    ];

    // Assess: the findings are there (so the test can fail), the secrets are not.
    const kinds = result.decisions.map((d) => (d.to as { kind?: string } | null)?.kind);
    expect(kinds).toContain('slow-query');
    expect(kinds).toContain('idle-in-transaction');
    expect(kinds).toContain('long-transaction');
    expect(logged.join('\n')).toContain('insights query failed');
    for (const text of outputs) for (const secret of SECRETS) expect(text).not.toContain(secret);
    // The smuggled statement is neither shown nor offered as a fix to copy and paste.
    for (const text of outputs) expect(text).not.toContain('DROP TABLE victim');
    const slow = result.decisions.filter((d) => (d.to as { kind?: string }).kind === 'slow-query');
    expect(slow.map((d) => (d.to as { fix: string }).fix)).toContain('EXPLAIN (GENERIC_PLAN) SELECT $1');
  });
});
