import type pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { closeQuietly } from '../../../shared/postgres/connection.ts';

describe('closeQuietly', () => {
  it('drops the socket when a graceful close never answers, instead of hanging the run', async () => {
    const destroy = vi.fn();
    const client = {
      end: () => new Promise<void>(() => {}),
      connection: { stream: { destroy } },
    } as unknown as pg.Client;
    await closeQuietly(client, 5);
    expect(destroy).toHaveBeenCalledTimes(1);
  });

  it('leaves a client that closed gracefully alone, and swallows close errors', async () => {
    const destroy = vi.fn();
    const ok = { end: async () => {}, connection: { stream: { destroy } } } as unknown as pg.Client;
    const failing = {
      end: async () => {
        throw new Error('already closed');
      },
      connection: { stream: { destroy } },
    } as unknown as pg.Client;
    await closeQuietly(ok, 1000);
    await closeQuietly(failing, 1000);
    expect(destroy).not.toHaveBeenCalled();
  });
});
