/**
 * `npm run bench -- --accounts A --regions R [--resources N] [--json]` (issue 27): one fleet run
 * over A member accounts x R Regions with N resources in each (default 20: half RDS io1 instances,
 * half DynamoDB tables, the same names in every account), on the simulated fleet: each
 * (account, Region) a SimAccount of its own (own API quotas, 50 ms per call), a simulated STS
 * (AssumeRole per account), the central account's SSM (pause flags), the state table on dynalite
 * in this process. The plan runs with the state machine's own semantics and limits
 * (shared/fleet/local-map.ts: maxConcurrentAccounts x maxConcurrentUnitsPerAccount at once), every
 * unit the real fleet worker (credentials, scope, the tuner's whole loop).
 *
 * Prints {"accounts","regions","resources","wallMs","apiCalls","peakHeapMb"} (with --json), details
 * on stderr. In AWS the units run in separate Lambdas; here they share one process and its CPU,
 * so wallMs is a pessimistic figure for the same concurrency.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setAwsClients } from '../aws/clients.ts';
import { setConfig } from '../config/load.ts';
import { type Config, configSchema } from '../config/schema.ts';
import type { FleetTuner } from '../config/sections/fleet.ts';
import type { StateStore } from '../core/contracts.ts';
import { runPlanLocally } from '../fleet/local-map.ts';
import { planFleet } from '../fleet/plan.ts';
import { fanOutLimitsOf, fleetDefinition } from '../fleet/state-machine.ts';
import { runFleetUnit, type UnitResult } from '../fleet/unit.ts';
import { unitDeps } from '../fleet/worker.ts';
import { DEFAULT_PRICES } from '../pricing.ts';
import { SimFleet } from '../sim/fleet.ts';
import { SimAccount, workload as w } from '../sim/index.ts';
import { inProcessDynalite, untilActive } from './bench-fleet.ts';

export interface AccountsBenchResult {
  accounts: number;
  regions: number;
  resources: number;
  wallMs: number;
  apiCalls: number;
  peakHeapMb: number;
}

export interface AccountsBenchOptions {
  accounts: number;
  regions: number;
  /** Per account and Region. */
  resources: number;
  latencyMs?: number;
  tuners?: FleetTuner[];
}

const START = Date.parse('2026-11-23T12:00:00.000Z');
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2', 'eu-central-1', 'ap-northeast-1'];
const MANAGED = { 'db-autopilot:managed': 'true' };
const EXTERNAL_ID = 'bench-fleet';

/** The same names in every account and Region (what must never mix). */
function buildMember(sim: SimAccount, resources: number, seed: number): void {
  const rds = Math.floor(resources / 2);
  for (let i = 0; i < rds; i++) {
    sim.rds.addInstance({
      id: `db-${i}`,
      engine: 'postgres',
      instanceClass: 'db.r6g.large',
      storageType: 'io1',
      allocatedStorage: 400,
      iops: 3000,
      tags: MANAGED,
      workload: { iops: w.constant(800 + ((i + seed) % 7) * 400), cpu: w.constant(30) },
    });
  }
  for (let i = 0; i < resources - rds; i++) {
    sim.dynamodb.addTable({
      name: `table-${i}`,
      read: 100,
      write: 50,
      tags: MANAGED,
      workload: { read: w.constant(30 + ((i + seed) % 5) * 40), write: w.constant(20) },
    });
  }
}

function benchConfig(accounts: string[], regions: string[], tuners: FleetTuner[]): Config {
  const managed = { mode: 'apply', resources: { tags: MANAGED } };
  return configSchema.parse({
    version: 1,
    defaults: { mode: 'apply' },
    tuners: { iops: managed, replicas: managed, dynamodb: managed },
    fleet: { externalId: EXTERNAL_ID, accounts, regions, tuners },
    // Every Region needs its own price table (never another Region's); the simulated fleet's
    // Regions are priced, explicitly, with the shipped list prices: the bench measures work, not money.
    prices: Object.fromEntries(regions.map((r) => [r, { ...DEFAULT_PRICES }])),
  });
}

function heapSampler(): { peakMb: () => number; stop: () => void } {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  return {
    peakMb: () => Math.round((Math.max(peak, process.memoryUsage().heapUsed) / 2 ** 20) * 10) / 10,
    stop: () => clearInterval(timer),
  };
}

/** A simulated fleet: every (account, Region) its own SimAccount with the same resource names. */
function buildFleet(o: AccountsBenchOptions, accounts: string[], regions: string[]): SimFleet {
  const fleet = new SimFleet({
    start: START,
    externalId: EXTERNAL_ID,
    historyStart: START - 3 * 3_600_000,
    latencyMs: o.latencyMs ?? 50,
  });
  for (const [a, account] of accounts.entries()) {
    for (const [r, region] of regions.entries())
      fleet.add(account, region, (sim) => buildMember(sim, o.resources, a + r));
  }
  return fleet;
}

/** A DynamoDB client of the in-process dynalite that holds the state table. */
function stateTableClient(dynalite: ReturnType<typeof inProcessDynalite>): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: 'http://dynalite.local:4567',
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 2,
    requestHandler: dynalite.requestHandler as never,
  });
}

/** Creates the state table and installs its store; returns the store and how to uninstall it. */
async function installStateStore(
  stateClient: DynamoDBClient,
): Promise<{ store: StateStore; restore: () => void }> {
  const state = await import('../state/index.ts');
  await state.createStateTable(stateClient, 'db-autopilot-bench-fleet');
  await untilActive(stateClient, 'db-autopilot-bench-fleet');
  const store = new state.DynamoDbStateStore({
    client: stateClient,
    tableName: 'db-autopilot-bench-fleet',
  });
  return { store, restore: state.setStateStore(store) };
}

/** The whole plan with the state machine's limits, each unit timed; wall time, CPU and the heap's peak (read when reported). */
async function timedFleetRun(
  plan: ReturnType<typeof planFleet>,
  deps: ReturnType<typeof unitDeps>,
  limits: ReturnType<typeof fanOutLimitsOf>,
): Promise<{
  results: UnitResult[];
  unitMs: number[];
  wallMs: number;
  cpuMs: number;
  peakHeapMb: () => number;
}> {
  const heap = heapSampler();
  const cpuBefore = process.cpuUsage();
  const began = performance.now();
  const unitMs: number[] = [];
  const results: UnitResult[] = await runPlanLocally(
    plan,
    async (unit) => {
      const t = performance.now();
      const r = await runFleetUnit(unit, deps);
      // What the worker's Lambda wrapper does when its invocation ends (shared/handler/wrap.ts):
      // the run's held no-op records, tuner state and no-op counts are written.
      await deps.store.flushTotals();
      unitMs.push(performance.now() - t);
      return r;
    },
    limits,
  );
  const wallMs = Math.round(performance.now() - began);
  const cpu = process.cpuUsage(cpuBefore);
  heap.stop();
  return {
    results,
    unitMs,
    wallMs,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    peakHeapMb: heap.peakMb,
  };
}

/** Units per status and decisions per outcome, over every unit. */
function tally(results: readonly UnitResult[]): {
  statuses: Record<string, number>;
  outcomes: Record<string, number>;
} {
  const statuses: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  for (const r of results) {
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + (v ?? 0);
  }
  return { statuses, outcomes };
}

/** The p-th percentile (0..1) of the units' wall times, whole ms. */
function unitPercentile(unitMs: readonly number[], p: number): number {
  const sorted = [...unitMs].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);
}

export async function runAccountsBench(
  o: AccountsBenchOptions,
): Promise<{ result: AccountsBenchResult; details: Record<string, unknown> }> {
  if (o.regions > REGIONS.length) throw new RangeError(`--regions: at most ${REGIONS.length}`);
  const accounts = Array.from({ length: o.accounts }, (_, i) => String(100_000_000_000 + i));
  const regions = REGIONS.slice(0, o.regions);
  const fleet = buildFleet(o, accounts, regions);
  const home = new SimAccount({ start: START, rateLimits: false, latencyMs: o.latencyMs ?? 50 });
  const config = benchConfig(accounts, regions, o.tuners ?? ['iops', 'replicas', 'dynamodb']);
  const section = config.fleet as NonNullable<Config['fleet']>;
  const dynalite = inProcessDynalite();
  const stateClient = stateTableClient(dynalite);
  const restore = [setAwsClients({ ssm: home.clients().ssm, stateTable: stateClient }), fleet.install()];
  setConfig(config);
  try {
    const installed = await installStateStore(stateClient);
    restore.push(installed.restore);
    const { store } = installed;
    const runId = 'bench-run-1';
    const plan = planFleet(section, [], runId);
    const limits = fanOutLimitsOf(
      fleetDefinition({
        accounts: section.maxConcurrentAccounts,
        perAccount: section.maxConcurrentUnitsPerAccount,
      }),
    );
    const deps = unitDeps({
      sts: fleet.sts(),
      externalId: EXTERNAL_ID,
      runId,
      store,
      now: () => fleet.now(),
      clientsFor: (scope) => fleet.clientsFor(scope),
    });
    const measured = await timedFleetRun(plan, deps, limits);
    const stats = fleet.stats();
    const homeCalls = home.stats().total;
    return {
      result: {
        accounts: o.accounts,
        regions: o.regions,
        resources: o.accounts * o.regions * o.resources,
        wallMs: measured.wallMs,
        apiCalls: stats.total + homeCalls,
        peakHeapMb: measured.peakHeapMb(),
      },
      details: {
        units: measured.results.length,
        limits,
        ...tally(measured.results),
        cpuMs: measured.cpuMs,
        unitWallMsP50: unitPercentile(measured.unitMs, 0.5),
        unitWallMsP99: unitPercentile(measured.unitMs, 0.99),
        assumeRoleCalls: stats.assumeRole,
        pauseFlagCalls: homeCalls,
        memberCalls: stats.calls,
        throttled: stats.throttled,
        latencyMsPerCall: o.latencyMs ?? 50,
        rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      },
    };
  } finally {
    for (const r of restore.reverse()) r();
    setConfig(undefined);
    stateClient.destroy();
    await dynalite.stop();
  }
}
