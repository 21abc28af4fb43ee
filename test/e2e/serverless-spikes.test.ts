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
 * A nightly batch on an Aurora Serverless v2 cluster: +10 ACU at 03:00 UTC for 20 minutes, which
 * began the day before the test (one spike in the history: not recurring yet). Runs every 5
 * minutes at :x2 / :x7 (a schedule does not fire on the bucket boundary).
 *
 * Day 0: the 15-min profile alone sees a step in the 03:00 bucket and raises the minimum 30 min
 * ahead (02:32); that raise shows in the 02:30 bucket as capacity rising to it. The hourly 60-s
 * read then learns the spike (2 days). Day 1: the minimum goes up 5 min before the learned onset,
 * not at 02:02 as the 02:30 bucket would make it if db-autopilot's own raise were learned back as
 * load (the minimum in effect, from its decision record, says the bucket held no demand).
 */
const ID = 'batch-cluster';
const DAY_MS = 24 * HOUR_MS;
const START = Date.parse('2026-11-20T00:00:00.000Z');

describe('serverless tuner and a recurring spike', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('raises the minimum 5 minutes before a learned recurring spike, and not because of its own raise the day before', async () => {
    const sim = new SimAccount({ start: START, historyStart: START - 9 * DAY_MS, latencyMs: 0 });
    const batch = spikes({ everyMs: DAY_MS, durationMs: 20 * MINUTE_MS, height: 10, offsetMs: 3 * HOUR_MS });
    addServerlessCluster(sim, {
      id: ID,
      engine: 'aurora-postgresql',
      engineVersion: '16.4',
      bounds: { min: 0.5, max: 32 },
      writerId: `${ID}-writer`,
      workload: {
        // Connections follow the load (10 per ACU): the batch shows in DatabaseConnections.
        acu: sum(
          noisy(() => 1.5, 0.1, 'batch-base'),
          (t) => (t >= START - DAY_MS ? batch(t) : 0),
        ),
      },
    });
    uninstall = sim.install();
    const config = exampleConfigApplying('serverless');
    sectionOf(config, 'serverless').resources.identifiers = [ID];
    const store = new MemoryStateStore();
    const run = async (at: number) => {
      sim.advanceTo(at);
      const r = await runServerless(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `s-${at}` },
        { config, store, now: sim.clock.now() },
      );
      return r.decisions.filter((d) => d.resource === ID && d.action === 'set-serverless-bounds');
    };
    // Raised for the batch (the base load alone needs 1.5 ACU).
    const raises = (ds: Decision[]) =>
      ds.filter((d) => d.outcome === 'applied' && (d.to as { min: number }).min > 5);
    const clock = (d: Decision) => d.at.slice(11, 16);

    // Day 0, 02:02-04:32.
    const day0: Decision[] = [];
    for (
      let t = START + 2 * HOUR_MS + 2 * MINUTE_MS;
      t <= START + 4.5 * HOUR_MS + 2 * MINUTE_MS;
      t += 5 * MINUTE_MS
    )
      day0.push(...(await run(t)));
    expect(raises(day0).map(clock)[0]).toBe('02:32');
    const learned = storedSpikes(await store.getHistory('serverless', ID, sim.clock.now()));
    expect(learned?.spikes).toEqual([{ onset: 180, end: 200, days: 2 }]);
    // Learned at 02:02, 03:02 and 04:02 (hourly), not on every run.
    expect(learned?.learnedAt).toBe('2026-11-20T04:02:00.000Z');
    expect((await store.getHistory('serverless', ID, sim.clock.now())).tunerStateParts).toContain(
      SPIKES_PART,
    );

    // Day 1, 01:52-03:02.
    const day1: Decision[] = [];
    for (
      let t = START + DAY_MS + 112 * MINUTE_MS;
      t <= START + DAY_MS + 3 * HOUR_MS + 2 * MINUTE_MS;
      t += 5 * MINUTE_MS
    )
      day1.push(...(await run(t)));
    const up = raises(day1);
    expect(up.map(clock)).toEqual(['02:57']);
    expect(up[0]?.reason).toContain('a spike recurring at 03:00-03:20 UTC on 2 days');
  });
});
