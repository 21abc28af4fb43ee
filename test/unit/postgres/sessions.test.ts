import fc from 'fast-check';
import type pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import type { PgTarget } from '../../../shared/postgres/connection.ts';
import {
  prefetchConnections,
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

describe('prefetchConnections', () => {
  it('opens the extra sessions at once and prepares each as soon as it is open', async () => {
    const gates = [deferred<pg.Client>(), deferred<pg.Client>()];
    let opened = 0;
    const target: PgTarget = {
      name: 'orders',
      describe: 'db:5432/orders',
      open: () => nth(gates, opened++).promise,
    };
    const prepared: pg.Client[] = [];
    const sessions = prefetchConnections(target, 2, async (c) => {
      prepared.push(c);
    });
    expect(opened).toBe(2); // none waited for another, nor for a worker to ask

    const a = fakeClient('a');
    const b = fakeClient('b');
    nth(gates, 1).resolve(b.client);
    await vi.waitFor(() => expect(prepared).toEqual([b.client])); // before any worker took it
    nth(gates, 0).resolve(a.client);
    expect(await sessions.take()).toBe(a.client);
    expect(await sessions.take()).toBe(b.client);
    expect(sessions.take()).toBeUndefined();
    expect(prepared).toEqual([b.client, a.client]);
  });

  it('hands a refused session to the worker that takes it (fewer workers), and a failed preparation too', async () => {
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
    const sessions = prefetchConnections(target, 2, async () => {
      throw new Error('set_config failed');
    });
    await expect(sessions.take()).rejects.toBe(refused);
    expect(await sessions.take()).toBe(ok.client); // its timeouts are set again before its first table
  });

  it('closes the sessions no worker took', async () => {
    const clients = [fakeClient('a'), fakeClient('b')];
    let n = 0;
    const target: PgTarget = { name: 'o', describe: 'o', open: async () => nth(clients, n++).client };
    const sessions = prefetchConnections(target, 2);
    await sessions.take();
    await sessions.closeUnused();
    await vi.waitFor(() => expect(clients.map((c) => c.isEnded())).toEqual([false, true]));
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
  it("is a plain VACUUM with the first pass's options except ANALYZE (the statistics are fresh)", () => {
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

describe('closing the sessions of a run', () => {
  it('closes each session as soon as its worker has no table left, the lent primary only when asked', async () => {
    const primary = fakeClient('primary');
    const extra = fakeClient('extra');
    const target: PgTarget = { name: 'o', describe: 'o', open: async () => extra.client };
    const tables = [candidate('a'), candidate('b'), candidate('c')];

    await runTables(target, tables, { ...options, concurrency: 2 }, primary.client);
    expect([primary.isEnded(), extra.isEnded()]).toEqual([false, true]); // the caller closes its own

    const again = fakeClient('primary2');
    await runTables(target, tables, { ...options, concurrency: 2, closePrimaryWhenDone: true }, again.client);
    expect(again.isEnded()).toBe(true);
  });
});
