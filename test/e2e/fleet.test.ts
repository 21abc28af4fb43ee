import { describe, expect, it } from 'vitest';
import { type Config, configSchema } from '../../shared/config/schema.ts';
import { runInScope } from '../../shared/core/scope.ts';
import { readFleetTotals, renderFleetText, summarizeFleet } from '../../shared/fleet/report.ts';
import { SimFleet } from '../../shared/sim/fleet.ts';
import { workload as w } from '../../shared/sim/index.ts';
import { decisionsOnDay, fleetWorld, runFleet } from '../support/fleet.ts';

/**
 * Fleets across accounts and Regions (issue 27), end to end on a simulated fleet: the real
 * credentials cache against a simulated STS (AccessDenied as AWS answers it), the real tuners in
 * member scopes, the state table on dynalite, the plan run with the state machine's semantics.
 */

const START = '2026-11-23T12:00:00.000Z';
const MANAGED = { 'db-autopilot:managed': 'true' };
const EXTERNAL_ID = 'securecart-fleet-7f3a';
const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const DAY = '2026-11-23';

function fleetConfig(accounts: string[]): Config {
  return configSchema.parse({
    version: 1,
    defaults: { mode: 'apply' },
    tuners: { dynamodb: { mode: 'apply', resources: { tags: MANAGED } } },
    fleet: { externalId: EXTERNAL_ID, accounts, regions: ['us-east-1'], tuners: ['dynamodb'] },
  });
}

/** Two accounts with a table of the same name, `orders`: throttled in A, over-provisioned in B. */
function buildFleet(): SimFleet {
  const fleet = new SimFleet({
    start: START,
    externalId: EXTERNAL_ID,
    historyStart: Date.parse(START) - 3 * 3600_000,
    rateLimits: false,
  });
  fleet.add(A, 'us-east-1', (sim) =>
    sim.dynamodb.addTable({
      name: 'orders',
      read: 50,
      write: 50,
      tags: MANAGED,
      workload: { read: w.constant(400), write: w.constant(20) },
    }),
  );
  fleet.add(B, 'us-east-1', (sim) =>
    sim.dynamodb.addTable({
      name: 'orders',
      read: 3000,
      write: 50,
      tags: MANAGED,
      workload: { read: w.constant(100), write: w.constant(20) },
    }),
  );
  // C is listed in the config, but its member stack was never deployed.
  fleet.withoutMemberRole(C);
  return fleet;
}

describe('a fleet run across member accounts (issue 27)', () => {
  const world = fleetWorld(START, buildFleet);

  it('reports and skips a member whose role cannot be assumed, and the other accounts still run', async () => {
    // Prepare
    const config = fleetConfig([A, B, C]);
    // Act
    const { results, deps } = await runFleet(world, config, 'run-1');
    // Assess: C is reported unavailable (why, and a failed decision in its own scope) ...
    const byAccount = Object.fromEntries(results.map((r) => [r.account, r]));
    expect(byAccount[C]?.status).toBe('unavailable');
    expect(byAccount[C]?.detail).toMatch(
      /cannot assume db-autopilot-member in account 333333333333 \(AccessDenied\)/,
    );
    const recordedForC = await decisionsOnDay(world.store, DAY, C, { tuner: 'dynamodb' });
    expect(recordedForC).toHaveLength(1);
    expect(recordedForC[0]).toMatchObject({
      outcome: 'failed',
      guard: 'member-role',
      resource: `account:${C}`,
    });
    // ... and A and B ran and acted, each in its own account.
    expect(byAccount[A]?.status).toBe('done');
    expect(byAccount[B]?.status).toBe('done');
    expect(byAccount[A]?.outcomes.applied).toBeGreaterThan(0);
    expect(byAccount[B]?.outcomes.applied).toBeGreaterThan(0);
    // One AssumeRole per account and run.
    expect(deps.cache.assumeRoleCalls).toBe(3);
  });

  it('never mixes two accounts whose resources have the same names', async () => {
    // Prepare
    const config = fleetConfig([A, B]);
    // Act
    await runFleet(world, config, 'run-2');
    // Assess: each account's table changed the way its own load asked for ...
    const tableA = world.fleet.member({ account: A, region: 'us-east-1' }).dynamodb.tables.get('orders');
    const tableB = world.fleet.member({ account: B, region: 'us-east-1' }).dynamodb.tables.get('orders');
    expect(tableA?.read).toBeGreaterThan(50);
    expect(tableB?.read).toBeLessThan(3000);
    // ... each scope's history holds only its own decisions about `orders` ...
    const historyOf = (account: string) =>
      decisionsOnDay(world.store, DAY, account, { tuner: 'dynamodb', resource: 'orders' });
    const [inA, inB] = await Promise.all([historyOf(A), historyOf(B)]);
    const applied = (ds: typeof inA) =>
      ds.filter((d) => d.action === 'set-capacity' && d.outcome === 'applied');
    expect(applied(inA).map((d) => (d.from as Record<string, { read: number }>)['(table)']?.read)).toEqual([
      50,
    ]);
    expect(applied(inB).map((d) => (d.from as Record<string, { read: number }>)['(table)']?.read)).toEqual([
      3000,
    ]);
    const idsOfB = new Set(inB.map((d) => d.id));
    expect(inA.filter((d) => idsOfB.has(d.id))).toEqual([]);
    // ... the home scope has none of them, and a lock in one account does not hold the other.
    expect(await decisionsOnDay(world.store, DAY, 'home', { tuner: 'dynamodb' })).toEqual([]);
    const now = world.fleet.now();
    const lockIn = (account: string, owner: string) =>
      runInScope({ account, region: 'us-east-1' }, {}, () =>
        world.store.acquireLock('dynamodb', 'orders', owner, now, 60),
      );
    expect(await lockIn(A, 'run-a')).toBe(true);
    expect(await lockIn(B, 'run-b')).toBe(true);
    expect(await lockIn(A, 'run-c')).toBe(false);
    // On the table itself: every key of a member's items names its scope.
    const scan = await import('@aws-sdk/client-dynamodb').then(({ ScanCommand }) =>
      world.dynalite.client.send(new ScanCommand({ TableName: world.dynalite.tableName })),
    );
    const pks = (scan.Items ?? []).map((i) => i.pk?.S ?? '');
    expect(pks.some((pk) => pk.startsWith(`dynamodb#${A}.us-east-1#res#orders`))).toBe(true);
    expect(pks.some((pk) => pk.startsWith(`dynamodb#${B}.us-east-1#res#orders`))).toBe(true);
    expect(pks.filter((pk) => pk.includes('#res#orders')).every((pk) => /#\d{12}\.us-east-1#/.test(pk))).toBe(
      true,
    );
  });

  it('pausing one account stops only its changes; the global switch stops every account', async () => {
    // Prepare: account A's own kill switch.
    world.home.ssm.put(`/db-autopilot/paused/${A}`, 'true');
    // Act
    const { results } = await runFleet(world, fleetConfig([A, B]), 'run-3');
    // Assess
    const byAccount = Object.fromEntries(results.map((r) => [r.account, r]));
    expect(byAccount[A]?.status).toBe('paused');
    expect(byAccount[B]?.status).toBe('done');
    const statsA = world.fleet.member({ account: A, region: 'us-east-1' }).stats();
    const statsB = world.fleet.member({ account: B, region: 'us-east-1' }).stats();
    expect(statsA.calls['dynamodb:UpdateTable']).toBeUndefined();
    expect(world.fleet.member({ account: A, region: 'us-east-1' }).dynamodb.tables.get('orders')?.read).toBe(
      50,
    );
    expect(statsB.calls['dynamodb:UpdateTable']).toBeGreaterThan(0);

    // Act again: the global switch, with A resumed.
    world.home.ssm.put(`/db-autopilot/paused/${A}`, 'false');
    world.home.ssm.put('/db-autopilot/paused', 'true');
    world.fleet.advance(10 * 60_000);
    const second = await runFleet(world, fleetConfig([A, B]), 'run-4');
    expect(second.results.map((r) => r.status)).toEqual(['paused', 'paused']);
    expect(
      world.fleet.member({ account: A, region: 'us-east-1' }).stats().calls['dynamodb:UpdateTable'],
    ).toBeUndefined();
  });

  it('reports the run by account and Region with fleet totals, naming the account it could not assume', async () => {
    // Prepare
    await runFleet(world, fleetConfig([A, B, C]), 'run-5');
    const scopes = [A, B, C].map((account) => ({ account, region: 'us-east-1' }));
    // Act
    const summary = summarizeFleet('2026-11-23', await readFleetTotals(world.store, scopes, '2026-11-23'));
    // Assess
    expect(summary.accounts.map((a) => a.account)).toEqual([A, B, C]);
    const applied = (account: string) =>
      summary.accounts.find((a) => a.account === account)?.total.outcomes.applied ?? 0;
    expect(applied(A)).toBeGreaterThan(0);
    expect(applied(B)).toBeGreaterThan(0);
    expect(summary.fleet.outcomes.applied).toBe(applied(A) + applied(B));
    expect(summary.attention.map((x) => x.scope)).toEqual([`${C}.us-east-1`]);
    expect(renderFleetText(summary)).toContain(
      `${C}.us-east-1: 1 failed - dynamodb account:${C}: cannot assume db-autopilot-member`,
    );
  });
});
