import { afterEach, beforeEach } from 'vitest';
import { setAwsClients } from '../../shared/aws/clients.ts';
import { setConfig } from '../../shared/config/load.ts';
import type { Config } from '../../shared/config/schema.ts';
import type { DecisionQuery, StateStore } from '../../shared/core/contracts.ts';
import type { Decision } from '../../shared/core/model.ts';
import { runInScope } from '../../shared/core/scope.ts';
import { runPlanLocally } from '../../shared/fleet/local-map.ts';
import { planFleet } from '../../shared/fleet/plan.ts';
import { fanOutLimitsOf, fleetDefinition } from '../../shared/fleet/state-machine.ts';
import { runFleetUnit } from '../../shared/fleet/unit.ts';
import { unitDeps } from '../../shared/fleet/worker.ts';
import type { SimFleet } from '../../shared/sim/fleet.ts';
import { SimAccount } from '../../shared/sim/index.ts';
import { DynamoDbStateStore, setStateStore } from '../../shared/state/index.ts';
import { type Dynalite, startDynalite } from './dynalite.ts';

/** What a fleet test runs against: set up before each test, undone after it. */
export interface FleetWorld {
  dynalite: Dynalite;
  /** The state table on dynalite (the fleet's one store, items scoped per member account). */
  store: StateStore;
  fleet: SimFleet;
  /** The central account: its SSM holds the pause flags. */
  home: SimAccount;
}

/**
 * Before each test: the state table on dynalite, the simulated fleet `build()` returns installed,
 * and the central account's SSM; after each: all of it undone (and any config a run set).
 */
export function fleetWorld(start: string, build: () => SimFleet): FleetWorld {
  const world = {} as FleetWorld;
  const cleanups: Array<() => void> = [];
  beforeEach(async () => {
    world.dynalite = await startDynalite();
    world.store = new DynamoDbStateStore({
      client: world.dynalite.client,
      tableName: world.dynalite.tableName,
    });
    world.fleet = build();
    world.home = new SimAccount({ start, rateLimits: false });
    cleanups.push(
      setAwsClients({ ssm: world.home.clients().ssm }),
      world.fleet.install(),
      setStateStore(world.store),
      () => setConfig(undefined),
    );
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) c();
    await world.dynalite.teardown();
  });
  return world;
}

/**
 * One fleet run of `config` as the state machine runs it (its own concurrency limits), every unit
 * the real fleet worker against the simulated members.
 */
export async function runFleet(world: FleetWorld, config: Config, runId: string) {
  setConfig(config);
  const section = config.fleet;
  if (!section) throw new Error('no fleet section');
  const plan = planFleet(section, [], runId);
  const { fleet } = world;
  const deps = unitDeps({
    sts: fleet.sts(),
    externalId: section.externalId,
    runId,
    store: world.store,
    now: () => fleet.now(),
    clientsFor: (scope) => fleet.clientsFor(scope),
  });
  // The state machine's own limits (what Step Functions would apply).
  const limits = fanOutLimitsOf(
    fleetDefinition({
      accounts: section.maxConcurrentAccounts,
      perAccount: section.maxConcurrentUnitsPerAccount,
    }),
  );
  const results = await runPlanLocally(plan, (unit) => runFleetUnit(unit, deps), limits);
  return { results, deps };
}

/**
 * The notable decisions of one UTC day (`YYYY-MM-DD`) in one scope: a member account's in
 * us-east-1, or (`'home'`) the central account's.
 */
export function decisionsOnDay(
  store: StateStore,
  day: string,
  account: string,
  filter: Omit<DecisionQuery, 'since' | 'until'>,
): Promise<Decision[]> {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const list = () =>
    store.listDecisions({ since: `${day}T00:00:00Z`, until: `${next}T00:00:00Z`, ...filter });
  return account === 'home' ? list() : runInScope({ account, region: 'us-east-1' }, {}, list);
}
