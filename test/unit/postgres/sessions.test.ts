import fc from 'fast-check';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { PgTarget } from '../../../shared/postgres/connection.ts';
import {
  openSessions,
  type RunnerOptions,
  runTables,
  SessionTimeouts,
  secondPassStatement,
} from '../../../shared/postgres/runner.ts';
import type { Candidate, TableStats } from '../../../shared/postgres/selection.ts';

/** A pg.Client stand-in: records each query with its parameters; VACUUM answers with `notices`. */
function fakeClient(name: string, notices: (statement: string, index: number) => string[] = () => []) {
  const queries: Array<{ text: string; values?: unknown[] }> = [];
  const listeners = new Set<(n: { message: string }) => void>();
  let ended = false;
  let vacuums = 0;
  const client = {
    name,
    query: async (text: string, values?: unknown[]) => {
      queries.push({ text, values });
      if (text.startsWith('VACUUM')) {
        for (const message of notices(text, vacuums++)) for (const l of listeners) l({ message });
      }
      return { rows: [] };
    },
    on: (_event: string, l: (n: { message: string }) => void) => {
      listeners.add(l);
      return client;
    },
    off: (_event: string, l: (n: { message: string }) => void) => {
      listeners.delete(l);
      return client;
    },
    end: async () => {
      ended = true;
    },
  };
  return { client: client as unknown as pg.Client, queries, isEnded: () => ended };
}

function nth<T>(items: T[], i: number): T {
  const item = items[i];
  if (item === undefined) throw new Error(`no item ${i}`);
  return item;
}

function deferred<T>() {
  let resolve: (v: T) => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

describe('openSessions', () => {
  it('opens every session at once, makes the first to open the primary and prepares only the others', async () => {
    const gates = [deferred<pg.Client>(), deferred<pg.Client>(), deferred<pg.Client>()];
    let opened = 0;
    const target: PgTarget = {
      name: 'orders',
      describe: 'db:5432/orders',
      open: () => nth(gates, opened++).promise,
    };
    const prepared: pg.Client[] = [];
    const sessions = openSessions(target, 3, async (c) => {
      prepared.push(c);
    });
    expect(opened).toBe(3); // none waited for another

    const a = fakeClient('a');
    const b = fakeClient('b');
    const c = fakeClient('c');
    nth(gates, 1).resolve(b.client);
    expect(await sessions.primary).toBe(b.client);
    nth(gates, 0).resolve(a.client);
    nth(gates, 2).resolve(c.client);
    expect(await sessions.take()).toBe(a.client);
    expect(await sessions.take()).toBe(c.client);
    expect(sessions.take()).toBeUndefined();
    expect(prepared).toEqual([a.client, c.client]);
  });

  it('takes the session that opened as the primary when the first is refused (one-connection server)', async () => {
    const ok = fakeClient('ok');
    const refused = new Error('Connection terminated unexpectedly');
    let n = 0;
    const target: PgTarget = {
      name: 'demo',
      describe: 'pglite',
      open: async () => {
        if (n++ === 0) throw refused;
        return ok.client;
      },
    };
    const sessions = openSessions(target, 2);
    expect(await sessions.primary).toBe(ok.client);
    await expect(sessions.take()).rejects.toBe(refused); // met by that worker: fewer workers
  });

  it("rejects with the first session's own error when none opens", async () => {
    let n = 0;
    const target: PgTarget = {
      name: 'orders',
      describe: 'db:5432/orders',
      open: async () => {
        throw new Error(`refused ${n++}`);
      },
    };
    await expect(openSessions(target, 3).primary).rejects.toThrow('refused 0');
  });

  it('closes the sessions no worker took', async () => {
    const clients = [fakeClient('a'), fakeClient('b'), fakeClient('c')];
    let n = 0;
    const target: PgTarget = { name: 'o', describe: 'o', open: async () => nth(clients, n++).client };
    const sessions = openSessions(target, 3);
    const primary = await sessions.primary;
    await sessions.take();
    await sessions.closeUnused();
    const ended = clients.filter((c) => c.isEnded()).map((c) => c.client);
    expect(ended).toHaveLength(1);
    expect(ended[0]).not.toBe(primary);
  });
});

const setTimeoutsQuery = (q: { text: string }) => q.text.includes("set_config('statement_timeout'");

describe('SessionTimeouts', () => {
  it('sets lock_timeout and statement_timeout once per refresh window, not per statement', async () => {
    let t = 0;
    const timeouts = new SessionTimeouts(2_000, () => t, 2_000);
    const { client, queries } = fakeClient('a');
    await timeouts.ensure(client, 600_000);
    t += 1_999;
    await timeouts.ensure(client, 600_000 - 1_999);
    expect(queries.filter(setTimeoutsQuery).map((q) => q.values)).toEqual([['2000', '598000']]);
    t += 1;
    await timeouts.ensure(client, 600_000 - 2_000);
    expect(queries.filter(setTimeoutsQuery).map((q) => q.values)).toEqual([
      ['2000', '598000'],
      ['2000', '596000'],
    ]);
  });

  it('sets them exactly before every statement when the time left is short', async () => {
    const timeouts = new SessionTimeouts(2_000, () => 0, 2_000);
    const { client, queries } = fakeClient('a');
    await timeouts.ensure(client, 3_000);
    await timeouts.ensure(client, 3_000);
    expect(queries.filter(setTimeoutsQuery).map((q) => q.values)).toEqual([
      ['2000', '3000'],
      ['2000', '3000'],
    ]);
  });

  it('sets them again after a failed attempt', async () => {
    const timeouts = new SessionTimeouts(2_000, () => 0, 2_000);
    let fail = true;
    const calls: string[] = [];
    const client = {
      query: async (text: string) => {
        calls.push(text);
        if (fail) throw new Error('connection reset');
        return { rows: [] };
      },
    } as unknown as pg.Client;
    await expect(timeouts.ensure(client, 600_000)).rejects.toThrow('connection reset');
    fail = false;
    await timeouts.ensure(client, 600_000);
    expect(calls).toHaveLength(2);
  });

  it('never lets a statement run past the end of the time budget', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 900_000 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 10_000 }),
        async (budgetMs, gaps, refreshMs) => {
          let t = 0;
          const timeouts = new SessionTimeouts(2_000, () => t, refreshMs);
          const { client, queries } = fakeClient('a');
          for (const gap of gaps) {
            t += gap;
            const left = budgetMs - t;
            if (left <= 0) break; // the runner starts nothing then
            await timeouts.ensure(client, left);
            // The statement starts now with the statement_timeout last set on the session.
            const last = queries.filter(setTimeoutsQuery).at(-1);
            const statementTimeout = Number(last?.values?.[1]);
            expect(t + statementTimeout).toBeLessThanOrEqual(budgetMs);
          }
        },
      ),
    );
  });
});

function table(name: string): TableStats {
  return {
    oid: 1,
    name,
    schema: 'public',
    relname: name,
    reltuples: 10_000,
    relpages: 100,
    tableBytes: 819_200,
    totalBytes: 1_000_000,
    nLiveTup: 5_000,
    nDeadTup: 5_000,
    nModSinceAnalyze: 5_000,
    lastVacuum: null,
    lastAutovacuum: null,
    lastAnalyze: null,
    lastAutoanalyze: null,
    xidAge: 1_000,
    mxidAge: 1,
    reloptions: null,
  };
}

function candidate(name: string, over: Partial<Candidate> = {}): Candidate {
  return {
    table: table(name),
    action: 'vacuum',
    analyze: true,
    freeze: false,
    reasons: ['dead-tuples'],
    urgency: 1,
    thresholds: {
      vacuumTrigger: 1_000,
      analyzeTrigger: 1_000,
      freezeMaxAge: 200_000_000,
      multixactFreezeMaxAge: 400_000_000,
      autovacuumEnabled: true,
    },
    ...over,
  };
}

const options: RunnerOptions = {
  version: 150_004,
  concurrency: 1,
  lockTimeoutMs: 2_000,
  safetyMarginMs: 30_000,
  truncate: false,
  processToast: true,
  dryRun: false,
  bytesPerSecond: () => 64 * 1024 * 1024,
  remainingMs: () => 600_000,
};

describe('the second pass for tuples missed under cleanup-lock contention', () => {
  it('is a plain VACUUM with the first pass's options except ANALYZE (the statistics are fresh)', () => {
    expect(secondPassStatement(candidate('line_items'), options)).toBe(
      'VACUUM (VERBOSE, SKIP_LOCKED, TRUNCATE false) line_items',
    );
    expect(secondPassStatement(candidate('line_items', { freeze: true }), options)).toBe(
      'VACUUM (FREEZE, VERBOSE, SKIP_LOCKED, TRUNCATE false) line_items',
    );
  });

  it('runs only after a first pass that missed tuples, is recorded, and both passes are counted', async () => {
    const missed =
      'finished vacuuming "shop.public.t": index scans: 1\ntuples: 9000 removed, 10000 remain, 0 are dead but not yet removable\ntuples missed: 27 dead from 1 pages not removed due to cleanup lock contention';
    const clean =
      'finished vacuuming "shop.public.t": index scans: 0\ntuples: 27 removed, 10000 remain, 0 are dead but not yet removable';
    const fake = fakeClient('w', (statement, index) =>
      statement.endsWith(' missed_t') && index === 0 ? [missed] : [clean],
    );
    const target: PgTarget = { name: 'o', describe: 'o', open: async () => fake.client };
    const results = await runTables(
      target,
      [candidate('missed_t'), candidate('clean_t')],
      options,
      fake.client,
    );

    const vacuums = fake.queries.filter((q) => q.text.startsWith('VACUUM')).map((q) => q.text);
    expect(vacuums).toEqual([
      'VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, TRUNCATE false) missed_t',
      'VACUUM (VERBOSE, SKIP_LOCKED, TRUNCATE false) missed_t',
      'VACUUM (ANALYZE, VERBOSE, SKIP_LOCKED, TRUNCATE false) clean_t',
    ]);
    expect(results[0]).toMatchObject({
      outcome: 'applied',
      tuplesRemoved: 9_027,
      missedDeadFirstPass: 27,
      secondPassStatement: 'VACUUM (VERBOSE, SKIP_LOCKED, TRUNCATE false) missed_t',
    });
    expect(results[1]?.secondPassStatement).toBeUndefined();
    // One session, statements well within the refresh window: the timeouts were set once.
    expect(fake.queries.filter(setTimeoutsQuery)).toHaveLength(1);
  });
});
