import { describe, expect, it } from 'vitest';
import { type Config, configSchema } from '../../shared/config/schema.ts';
import { SimFleet } from '../../shared/sim/fleet.ts';
import { type SimAccount, workload as w } from '../../shared/sim/index.ts';
import { addServerlessCluster, serverlessBounds } from '../../shared/sim/services/aurora-serverless.ts';
import { decisionsOnDay, fleetWorld, runFleet } from '../support/fleet.ts';

/**
 * The Aurora Serverless v2 tuner in a fleet (issues 24 and 27): the real tuner in member scopes
 * through the member credentials, two accounts with a cluster of the same name and different
 * loads, the state table on dynalite.
 */

const START = '2026-11-23T03:00:00.000Z';
const MANAGED = { 'db-autopilot:managed': 'true' };
const EXTERNAL_ID = 'securecart-fleet-7f3a';
const A = '111111111111';
const B = '222222222222';
const DAY = '2026-11-23';

function fleetConfig(): Config {
  return configSchema.parse({
    version: 1,
    defaults: { mode: 'apply' },
    tuners: { serverless: { mode: 'apply', resources: { tags: MANAGED } } },
    fleet: { externalId: EXTERNAL_ID, accounts: [A, B], regions: ['us-east-1'], tuners: ['serverless'] },
  });
}

/** `accounts` in A: a person's 8 ACU minimum held all night for ~2 ACU of load; in B: capped at 4 ACU by 6 of load. */
function buildFleet(): SimFleet {
  const fleet = new SimFleet({
    start: START,
    externalId: EXTERNAL_ID,
    historyStart: Date.parse(START) - 3 * 3600_000,
    rateLimits: false,
  });
  const cluster = (bounds: { min: number; max: number }, acu: number) => (sim: SimAccount) => {
    addServerlessCluster(sim, {
      id: 'accounts',
      engine: 'aurora-postgresql',
      engineVersion: '16.4',
      tags: MANAGED,
      bounds,
      writerId: 'accounts-writer',
      workload: { acu: w.constant(acu) },
    });
  };
  fleet.add(A, 'us-east-1', cluster({ min: 8, max: 32 }, 2));
  fleet.add(B, 'us-east-1', cluster({ min: 0.5, max: 4 }, 6));
  return fleet;
}

describe('the Aurora Serverless v2 tuner in a fleet', () => {
  const world = fleetWorld(START, buildFleet);

  it('tunes each member account’s cluster by its own load and records the decisions in that account’s scope', async () => {
    // Prepare
    const config = fleetConfig();
    // Act
    const { results } = await runFleet(world, config, 'run-sv');
    // Assess: both units ran ...
    expect(results.map((r) => [r.account, r.status])).toEqual([
      [A, 'done'],
      [B, 'done'],
    ]);
    // ... A's held minimum came down (the flat 8 ACU is no demand), B's capped maximum went up.
    const boundsIn = (account: string) =>
      serverlessBounds(world.fleet.member({ account, region: 'us-east-1' }), 'accounts');
    expect(boundsIn(A)?.min).toBeLessThan(8);
    expect(boundsIn(A)?.max).toBe(32);
    expect(boundsIn(B)?.max).toBe(8);
    // ... and each account's history holds only its own change of `accounts`.
    const decisionsIn = (account: string) =>
      decisionsOnDay(world.store, DAY, account, { tuner: 'serverless', resource: 'accounts' });
    const [inA, inB] = await Promise.all([decisionsIn(A), decisionsIn(B)]);
    const applied = (ds: typeof inA) =>
      ds.filter((d) => d.action === 'set-serverless-bounds' && d.outcome === 'applied').map((d) => d.from);
    expect(applied(inA)).toEqual([{ min: 8, max: 32 }]);
    expect(applied(inB)).toEqual([{ min: 0.5, max: 4 }]);
    // Nothing in the home scope.
    expect(await decisionsOnDay(world.store, DAY, 'home', { tuner: 'serverless' })).toEqual([]);
  });
});
