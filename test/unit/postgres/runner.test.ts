import type pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import type { PgTarget } from '../../../shared/postgres/connection.ts';
import { startProgressMonitor } from '../../../shared/postgres/runner.ts';
import { countdown, DEFAULT_RUN_BUDGET_MS } from '../../../shared/postgres/tuner.ts';

interface FakeClient {
  ended: boolean;
  queries: string[];
}

function fakeClient(): { client: pg.Client; state: FakeClient } {
  const state: FakeClient = { ended: false, queries: [] };
  const client = {
    query: async (text: string) => {
      state.queries.push(text);
      return { rows: [] };
    },
    end: async () => {
      state.ended = true;
    },
    on: () => client,
    off: () => client,
  };
  return { client: client as unknown as pg.Client, state };
}

describe('the vacuum progress monitor', () => {
  it('closes a connection that was still being opened when the run stopped it', async () => {
    const { client, state } = fakeClient();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let opened = 0;
    const target: PgTarget = {
      name: 'orders',
      describe: 'db.example:5432/orders',
      open: async () => {
        opened++;
        await gate;
        return client;
      },
    };

    const stop = startProgressMonitor(target, 1);
    await vi.waitFor(() => expect(opened).toBe(1));
    const stopping = stop();
    release();
    await stopping;

    expect(state.ended).toBe(true);
    expect(state.queries).toEqual([]);
  });

  it('closes its connection when stopped after it has logged progress', async () => {
    const { client, state } = fakeClient();
    const target: PgTarget = { name: 'orders', describe: 'db.example:5432/orders', open: async () => client };

    const stop = startProgressMonitor(target, 1);
    await vi.waitFor(() => expect(state.queries.length).toBeGreaterThan(0));
    await stop();

    expect(state.ended).toBe(true);
    expect(state.queries.every((q) => q.includes('pg_stat_progress_vacuum'))).toBe(true);
  });
});

describe('the maintenance time budget without a Lambda context', () => {
  it('counts down from the start of the run instead of staying constant', () => {
    let t = 1_000_000;
    const left = countdown(DEFAULT_RUN_BUDGET_MS, () => t);
    expect(left()).toBe(14 * 60_000);
    t += 10 * 60_000;
    expect(left()).toBe(4 * 60_000);
    t += 5 * 60_000;
    expect(left()).toBeLessThan(0);
  });
});
