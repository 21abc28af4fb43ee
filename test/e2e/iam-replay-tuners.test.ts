import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../shared/config/load.ts';
import type { Config } from '../../shared/config/schema.ts';
import type { StateStore, TunerRunRequest, TunerRunSummary } from '../../shared/core/contracts.ts';
import type { FunctionName } from '../../shared/deploy/iam.ts';
import { SimAccount } from '../../shared/sim/engine.ts';
import { MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { addProxy } from '../../shared/sim/services/rds-proxy.ts';
import { constant } from '../../shared/sim/workload.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runIops } from '../../shared/tuners/iops.ts';
import { runProxy } from '../../shared/tuners/proxy.ts';
import { runReplicas } from '../../shared/tuners/replicas.ts';
import { runServerless } from '../../shared/tuners/serverless.ts';
import type { AuthRequest } from '../support/iam/evaluate.ts';
import { denials, functionRoles, memberRole, recording } from '../support/iam/replay.ts';

/**
 * Every AWS call of the RDS tuners on the simulated SecureCart day (the example config in apply
 * mode), replayed against the roles they run with in a real account: the tuner's own, the alarm
 * handler's (it runs the IOPS, replicas and Aurora Serverless fast paths in-process) and the fleet
 * member role. A call any of them would deny fails the test (test/support/iam/ says what the
 * evaluator models and what it does not).
 */
type Run = (
  request: TunerRunRequest,
  deps: { config: Config; store: StateStore; now: Date },
) => Promise<TunerRunSummary>;

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

function exampleConfig(section: 'iops' | 'replicas' | 'serverless'): Config {
  const config = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
  config.defaults.mode = 'apply';
  const s = config.tuners[section];
  if (s) s.mode = 'apply';
  return config;
}

/** The SecureCart day, one run every `stepMinutes`, every call recorded. */
async function securecartDay(config: Config, run: Run, stepMinutes: number, hours = 24) {
  const scenario = await getScenario('securecart');
  const sim = scenario.build({});
  uninstall = sim.install();
  const store = new MemoryStateStore();
  const start = sim.nowMs();
  await scenario.seedState?.(store, new Date(start));
  const requests: AuthRequest[] = [];
  const applied: string[] = [];
  for (let t = start; t < start + hours * 60 * MINUTE_MS; t += stepMinutes * MINUTE_MS) {
    sim.advanceTo(t);
    const { result, requests: made } = await recording(sim, () =>
      run(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `iam-${t}` },
        { config, store, now: sim.clock.now() },
      ),
    );
    requests.push(...made);
    applied.push(...result.decisions.filter((d) => d.outcome === 'applied').map((d) => d.action));
  }
  return { requests, applied };
}

const rolesOf = (config: Config, fns: FunctionName[]) => [...functionRoles(fns, config), memberRole(config)];
const actions = (requests: AuthRequest[]) => new Set(requests.map((r) => r.action));

describe('IAM replay: the RDS tuners on the SecureCart day', () => {
  it('allows every call of the IOPS tuner', async () => {
    const config = exampleConfig('iops');
    const { requests, applied } = await securecartDay(config, runIops, 15);
    expect(applied).toContain('set-iops');
    expect(actions(requests)).toContain('rds:ModifyDBInstance');
    expect(denials(requests, rolesOf(config, ['iops-tuner', 'alarm-handler']))).toEqual([]);
  });

  it('allows every call of the replica scaler: Aurora readers, RDS replicas, their deletion and routing', async () => {
    const config = exampleConfig('replicas');
    const { requests, applied } = await securecartDay(config, runReplicas, 10);
    expect(applied).toEqual(expect.arrayContaining(['add-replica', 'remove-replica']));
    for (const a of ['rds:CreateDBInstance', 'rds:DeleteDBInstance', 'rds:AddTagsToResource'])
      expect(actions(requests), a).toContain(a);
    expect(denials(requests, rolesOf(config, ['replica-scaler', 'alarm-handler']))).toEqual([]);
  });

  it('allows every call of the Aurora Serverless v2 tuner', async () => {
    const config = exampleConfig('serverless');
    const { requests, applied } = await securecartDay(config, runServerless, 15, 14);
    expect(applied.length).toBeGreaterThan(0);
    expect(actions(requests)).toContain('rds:ModifyDBCluster');
    expect(denials(requests, rolesOf(config, ['serverless-tuner', 'alarm-handler']))).toEqual([]);
  });
});

describe('IAM replay: the RDS Proxy tuner', () => {
  const START = Date.parse('2026-11-20T18:00:00Z');
  const config = parseConfig(`
version: 1
region: us-east-1
defaults: { mode: apply }
tags: { managed: { key: db-autopilot:managed, value: "true" } }
tuners:
  proxy:
    resources: { identifiers: [orders-proxy] }
    borrowLatencyHighMs: 10
    maxConnectionsPercentCeiling: 90
`);

  it('allows changing the pool of a proxy listed by name and of a proxy carrying the managed tag', async () => {
    const sim = new SimAccount({ start: new Date(START).toISOString(), historyStart: START - 3 * 3_600_000 });
    for (const id of ['orders', 'billing'])
      sim.rds.addInstance({
        id,
        engine: 'postgres',
        instanceClass: 'db.r6g.large',
        storageType: 'gp3',
        allocatedStorage: 100,
      });
    const starved = {
      engineFamily: 'POSTGRESQL' as const,
      maxConnections: 400,
      pool: { MaxConnectionsPercent: 50, MaxIdleConnectionsPercent: 50, ConnectionBorrowTimeout: 120 },
      workload: { demand: constant(260), clients: constant(1200) },
    };
    addProxy(sim, { ...starved, name: 'orders-proxy', targetInstanceId: 'orders' });
    addProxy(sim, {
      ...starved,
      name: 'billing-proxy',
      targetInstanceId: 'billing',
      tags: { 'db-autopilot:managed': 'true' },
    });
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const { result, requests } = await recording(sim, () =>
      runProxy(
        {
          trigger: 'manual',
          dryRun: false,
          override: false,
          resourceIds: ['orders-proxy', 'billing-proxy'],
          idempotencyKey: 'iam-proxy',
        },
        { config, store, now: sim.clock.now() },
      ),
    );
    const changed = result.decisions.filter((d) => d.action === 'set-pool' && d.outcome === 'applied');
    expect(changed.map((d) => d.resource).sort()).toEqual(['billing-proxy', 'orders-proxy']);
    expect(actions(requests)).toContain('rds:ModifyDBProxyTargetGroup');
    expect(denials(requests, rolesOf(config, ['proxy-tuner', 'control']))).toEqual([]);
  });
});
