import timers, { setTimeout as nodeTimersSetTimeout } from 'node:timers';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { type CpuClock, installCpuClock, threadCpuMs } from '../../../shared/cli/cpu-clock.ts';

const idle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nextTurn = () => new Promise((r) => setImmediate(r));

/** Uses `ms` of CPU time in small slices, yielding between them; stops early when told. */
async function burn(ms: number, stop: () => boolean): Promise<void> {
  const start = threadCpuMs();
  while (threadCpuMs() - start < ms && !stop()) {
    const slice = threadCpuMs();
    while (threadCpuMs() - slice < 2) {
      // busy
    }
    await nextTurn();
  }
}

function contextWith(remainingMs: () => number): Context {
  return { getRemainingTimeInMillis: remainingMs, awsRequestId: 'test' } as unknown as Context;
}

describe('the fleet bench clock: a run counts its CPU time', () => {
  let clock: CpuClock | undefined;
  afterEach(() => {
    clock?.uninstall();
    clock = undefined;
  });

  it('does not cut a run short while it waits: idle wall time is not CPU time', async () => {
    clock = installCpuClock();
    const run = clock.start(40);
    const handler = middy(async () => {
      await idle(150);
      return 'finished';
    });
    await expect(handler({}, contextWith(run.remainingMs))).resolves.toBe('finished');
    run.end();
  });

  it("lets middy's early timeout cut a run short once it has used its timeout in CPU time", async () => {
    clock = installCpuClock();
    const run = clock.start(40);
    let aborted = false;
    const handler = middy(async (_event: unknown, _context: Context, { signal }: { signal: AbortSignal }) => {
      await burn(2_000, () => signal.aborted);
      aborted = signal.aborted;
      return 'finished';
    });
    await expect(handler({}, contextWith(run.remainingMs))).rejects.toMatchObject({ name: 'TimeoutError' });
    run.end();
    await idle(20);
    expect(aborted).toBe(true);
  });

  it('reports as remaining time the timeout less the CPU time used', async () => {
    clock = installCpuClock();
    const run = clock.start(10_000);
    await burn(60, () => false);
    expect(run.remainingMs()).toBeLessThanOrEqual(10_000 - 60);
    run.end();
  });

  it('leaves timers armed outside a run on the wall clock, and puts the wall clock back when uninstalled', async () => {
    const wallTimeout = timers.setTimeout;
    clock = installCpuClock();
    expect(timers.setTimeout).not.toBe(wallTimeout);
    // Idle for 20 ms of wall time: a CPU-time timer would not fire (the test would time out).
    await new Promise((r) => nodeTimersSetTimeout(r, 20));
    clock.uninstall();
    clock = undefined;
    expect(timers.setTimeout).toBe(wallTimeout);
  });
});
