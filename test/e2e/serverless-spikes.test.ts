import { afterEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../shared/core/model.ts';
import { HOUR_MS, MINUTE_MS, SimAccount } from '../../shared/sim/index.ts';
import { addServerlessCluster } from '../../shared/sim/services/aurora-serverless.ts';
import { noisy, spikes, sum } from '../../shared/sim/workload.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runServerless } from '../../shared/tuners/serverless.ts';
import { SPIKES_PART, storedSpikes } from '../../shared/tuners/serverless-inputs.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';

/**
 * A nightly batch on two Aurora Serverless v2 clusters: +10 ACU at 03:00 UTC for 20 minutes, every
 * day of the history. Runs every 5 minutes at :x2 / :x7 (a schedule does not fire on the bucket
 * boundary).
 *
 * - `batch-cluster`: connections follow the load (10 per ACU), so the hourly 60-s read learns the
 *   spike: the minimum goes up 5 minutes before it (02:57), not at the 15-min profile's look-ahead
 *   (02:32), on both days.
 * - `pool-cluster`: a fixed connection pool (40 connections whatever the load): no spike can be
 *   learned, the 15-min profile raises the minimum at 02:32, and that raise shows in the 02:30
 *   bucket as capacity rising to it. The next day the minimum goes up at 02:32 again, not at 02:02
 *   as it would if db-autopilot's own raise were learned back as load (the minimum in effect, from
 *   its decision record, says the bucket held no demand).
 */
const BATCH = 'batch-cluster';
const POOL = 'pool-cluster';
const DAY_MS = 24 * HOUR_MS;
const START = Date.parse('2026-11-20T00:00:00.000Z');

describe('serverless tuner and a recurring spike', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('raises the minimum 5 minutes before a learned recurring spike, and not because of its own raise the day before', async () => {
    const sim = new SimAccount({ start: START, historyStart: START - 9 * DAY_MS, latencyMs: 0 });
    const batch = spikes({ everyMs: DAY_MS, durationMs: 20 * MINUTE_MS, height: 10, offsetMs: 3 * HOUR_MS });
    for (const id of [BATCH, POOL])
      addServerlessCluster(sim, {
        id,
        engine: 'aurora-postgresql',
        engineVersion: '16.4',
        bounds: { min: 0.5, max: 32 },
        writerId: `${id}-writer`,
        workload: {
          acu: sum(
            noisy(() => 1.5, 0.1, `${id}-base`),
            batch,
          ),
          // Without connections the simulator shows 10 per ACU (they follow the load).
          ...(id === POOL ? { connections: () => 40 } : {}),
        },
      });
    uninstall = sim.install();
    const config = exampleConfigApplying('serverless');
    sectionOf(config, 'serverless').resources.identifiers = [BATCH, POOL];
    const store = new MemoryStateStore();
    const run = async (at: number) => {
      sim.advanceTo(at);
      const r = await runServerless(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `s-${at}` },
        { config, store, now: sim.clock.now() },
      );
      return r.decisions.filter((d) => d.action === 'set-serverless-bounds');
    };
    // Raised for the batch (the base load alone needs 1.5 ACU), as HH:MM.
    const raises = (ds: Decision[], id: string) =>
      ds
        .filter((d) => d.resource === id && d.outcome === 'applied')
        .filter((d) => (d.to as { min: number }).min > Math.max(5, (d.from as { min: number }).min))
        .map((d) => d.at.slice(11, 16));

    // Day 0, 02:02-04:32.
    const day0: Decision[] = [];
    for (let t = START + 122 * MINUTE_MS; t <= START + 272 * MINUTE_MS; t += 5 * MINUTE_MS)
      day0.push(...(await run(t)));
    expect(raises(day0, BATCH)).toEqual(['02:57']);
    expect(raises(day0, POOL)).toEqual(['02:32']);
    const history = await store.getHistory('serverless', BATCH, sim.clock.now());
    const learned = storedSpikes(history);
    expect(learned?.spikes).toEqual([{ onset: 180, end: 200, days: 8 }]);
    // Learned at 02:02, 03:02 and 04:02 (hourly), not on every run, in a state part of its own.
    expect(learned?.learnedAt).toBe('2026-11-20T04:02:00.000Z');
    expect(history.tunerStateParts).toContain(SPIKES_PART);
    expect(storedSpikes(await store.getHistory('serverless', POOL, sim.clock.now()))?.spikes).toEqual([]);

    // Day 1, 01:52-03:02.
    const day1: Decision[] = [];
    for (let t = START + DAY_MS + 112 * MINUTE_MS; t <= START + DAY_MS + 182 * MINUTE_MS; t += 5 * MINUTE_MS)
      day1.push(...(await run(t)));
    expect(raises(day1, BATCH)).toEqual(['02:57']);
    expect(day1.find((d) => d.resource === BATCH && (d.to as { min: number }).min > 5)?.reason).toContain(
      'a spike recurring at 03:00-03:20 UTC on 8 days',
    );
    expect(raises(day1, POOL)).toEqual(['02:32']);
  });
});
