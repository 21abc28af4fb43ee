import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config/load.ts';
import { type Config, configSchema } from '../../shared/config/schema.ts';
import type { StateStore, TunerRunRequest, TunerRunSummary } from '../../shared/core/contracts.ts';
import type { FunctionName } from '../../shared/deploy/iam.ts';
import { readPerformanceInsights } from '../../shared/insights/pi-run.ts';
import { SimAccount } from '../../shared/sim/engine.ts';
import { MINUTE_MS, workload as w } from '../../shared/sim/index.ts';
import { setReadRouting } from '../../shared/sim/rds-replica-rules.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runIops } from '../../shared/tuners/iops.ts';
import { runProxy } from '../../shared/tuners/proxy.ts';
import { registration as replicasRegistration, runReplicas } from '../../shared/tuners/replicas.ts';
import { runRightsizing } from '../../shared/tuners/rightsizing.ts';
import { runServerless } from '../../shared/tuners/serverless.ts';
import { exampleConfigApplying } from '../support/config.ts';
import { revertThroughControl } from '../support/control.ts';
import type { AuthRequest } from '../support/iam/evaluate.ts';
import { denials, functionRoles, memberRole, recording } from '../support/iam/replay.ts';
import { starvedProxies } from '../support/proxy.ts';

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
    const config = exampleConfigApplying('iops');
    const { requests, applied } = await securecartDay(config, runIops, 15);
    expect(applied).toContain('set-iops');
    expect(actions(requests)).toContain('rds:ModifyDBInstance');
    expect(denials(requests, rolesOf(config, ['iops-tuner', 'alarm-handler']))).toEqual([]);
  });

  it('allows every call of the replica scaler: Aurora readers, RDS replicas, their deletion and routing', async () => {
    const config = exampleConfigApplying('replicas');
    const { requests, applied } = await securecartDay(config, runReplicas, 10);
    expect(applied).toEqual(expect.arrayContaining(['add-replica', 'remove-replica']));
    for (const a of ['rds:CreateDBInstance', 'rds:DeleteDBInstance', 'rds:AddTagsToResource'])
      expect(actions(requests), a).toContain(a);
    expect(denials(requests, rolesOf(config, ['replica-scaler', 'alarm-handler']))).toEqual([]);
  });

  it('allows every call of the Aurora Serverless v2 tuner', async () => {
    const config = exampleConfigApplying('serverless');
    const { requests, applied } = await securecartDay(config, runServerless, 15, 14);
    expect(applied.length).toBeGreaterThan(0);
    expect(actions(requests)).toContain('rds:ModifyDBCluster');
    expect(denials(requests, rolesOf(config, ['serverless-tuner', 'alarm-handler']))).toEqual([]);
  });
});

describe('IAM replay: the proxy day, right-sizing and Performance Insights on SecureCart', () => {
  it('allows the proxy tuner, right-sizing and Performance Insights their calls (proxy day, one rightsizing run, top SQL)', async () => {
    const config = exampleConfigApplying();
    const day = await securecartDay(config, runProxy, 15, 21);
    expect(day.applied).toContain('set-pool');
    expect(denials(day.requests, rolesOf(config, ['proxy-tuner', 'control']))).toEqual([]);
    const sim = (await getScenario('securecart')).build({});
    uninstall?.();
    uninstall = sim.install();
    const rs = await recording(sim, () =>
      runRightsizing(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'iam-rs' },
        { config, store: new MemoryStateStore(), now: sim.clock.now() },
      ),
    );
    expect(rs.result.decisions.some((d) => d.action === 'idle-instance')).toBe(true);
    expect(denials(rs.requests, rolesOf(config, ['rightsizing']))).toEqual([]);
    const pi = await recording(sim, () =>
      readPerformanceInsights(['securecart-mysql', 'securecart-orders'], sim.clock.now(), 24),
    );
    expect(actions(pi.requests)).toContain('pi:DescribeDimensionKeys');
    expect(denials(pi.requests, functionRoles(['pg-insights'], config))).toEqual([]);
  });
});

describe('IAM replay: the RDS Proxy tuner', () => {
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
    const sim = starvedProxies({ billing: { 'db-autopilot:managed': 'true' } });
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

describe('IAM replay: replicas a person routes reads to, with record health checks, and a revert', () => {
  const START = '2026-11-23T12:00:00.000Z';
  const ZONE = 'Z0SHOPINTERNAL';
  const RECORD = 'reads.db.shop.internal.';
  const MANAGED = { 'db-autopilot:managed': 'true' };

  function account(): SimAccount {
    const sim = new SimAccount({
      start: START,
      historyStart: Date.parse(START) - 2 * 3_600_000,
      rateLimits: false,
    });
    sim.rds.addInstance({
      id: 'shop-mysql',
      engine: 'mysql',
      instanceClass: 'db.r6g.large',
      storageType: 'io1',
      allocatedStorage: 500,
      iops: 10_000,
      backupRetentionPeriod: 7,
      tags: MANAGED,
      // A replica copies the Enhanced Monitoring role (iam:PassRole) and the security groups.
      settings: {
        vpcSecurityGroupIds: ['sg-0app'],
        monitoringInterval: 60,
        monitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
        parameterGroup: 'shop-mysql80',
      },
      workload: { cpu: w.constant(20), connections: w.constant(20) },
    });
    sim.route53.addZone(ZONE, 'db.shop.internal.');
    sim.route53.zones.get(ZONE)?.records.push({
      Name: RECORD,
      Type: 'CNAME',
      SetIdentifier: 'shop-mysql',
      Weight: 1,
      TTL: 30,
      ResourceRecords: [{ Value: `shop-mysql.abc123.${sim.region}.rds.amazonaws.com` }],
    });
    // Aurora, listed by name and untagged, whose readers use a parameter group a person tuned.
    sim.rds.addCluster({
      id: 'catalog-aurora',
      engine: 'aurora-postgresql',
      workload: { readerCpu: w.constant(150), readerConnections: w.constant(40) },
    });
    const settings = { parameterGroup: 'catalog-pg16-tuned', monitoringInterval: 0 };
    for (const [id, writer] of [
      ['catalog-aurora-writer', true],
      ['catalog-aurora-reader-1', false],
    ] as const)
      sim.rds.addInstance({
        id,
        engine: 'aurora-postgresql',
        instanceClass: 'db.r6g.large',
        clusterId: 'catalog-aurora',
        writer,
        settings,
      });
    setReadRouting(sim, {
      sourceId: 'shop-mysql',
      zoneId: ZONE,
      recordName: RECORD,
      readCpu: w.constant(180),
      readConnections: w.constant(40),
    });
    return sim;
  }

  const config = configSchema.parse({
    version: 1,
    defaults: { mode: 'apply' },
    tuners: {
      replicas: {
        resources: { identifiers: ['catalog-aurora'], tags: MANAGED },
        minReaders: 0,
        maxReaders: 4,
        scaleInStabilizationMinutes: 0,
        sources: {
          'shop-mysql': {
            routing: {
              hostedZoneId: ZONE,
              recordName: RECORD,
              fallback: { setIdentifier: 'shop-mysql' },
              healthChecks: true,
            },
          },
        },
      },
    },
  });

  it('allows creating, routing, health-checking and reverting replicas', async () => {
    const sim = account();
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const requests: AuthRequest[] = [];
    const applied: string[] = [];
    let seq = 0;
    const run = async () => {
      sim.advanceTo(sim.nowMs() + 5 * MINUTE_MS);
      seq += 1;
      const { result, requests: made } = await recording(sim, () =>
        runReplicas(
          { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `iam-replicas-${seq}` },
          { config, store, now: sim.clock.now() },
        ),
      );
      requests.push(...made);
      applied.push(...result.decisions.filter((d) => d.outcome === 'applied').map((d) => d.action));
      return result.decisions;
    };
    const first = await run();
    const add = first.find(
      (d) => d.action === 'add-replica' && d.outcome === 'applied' && d.resource === 'shop-mysql',
    );
    if (!add)
      throw new Error(`no scale-out: ${JSON.stringify(first.map((d) => [d.action, d.outcome, d.reason]))}`);
    for (let i = 0; i < 20 && !applied.includes('add-route'); i++) await run();
    expect(applied).toContain('add-route');
    expect(
      first.some(
        (d) => d.action === 'add-replica' && d.resource === 'catalog-aurora' && d.outcome === 'applied',
      ),
    ).toBe(true);
    const tunerRequests = [...requests];
    // A person reverts the scale-out through the control function (record first, then the replica).
    const revertRequests: AuthRequest[] = [];
    for (let i = 0; i < 2; i++) {
      sim.advanceTo(sim.nowMs() + 35 * MINUTE_MS);
      const { requests: made } = await recording(sim, () =>
        revertThroughControl(sim, {
          config,
          store,
          tuner: replicasRegistration,
          decisionId: add.id,
          requestId: `iam-revert-${i}`,
        }),
      );
      revertRequests.push(...made);
    }
    for (const a of [
      'rds:CreateDBInstanceReadReplica',
      'rds:CreateDBInstance',
      'iam:PassRole',
      'route53:ChangeResourceRecordSets',
      'route53:CreateHealthCheck',
      'cloudwatch:PutMetricAlarm',
    ])
      expect(actions(tunerRequests), a).toContain(a);
    expect(actions(revertRequests)).toContain('rds:DeleteDBInstance');
    expect(denials(tunerRequests, rolesOf(config, ['replica-scaler', 'alarm-handler']))).toEqual([]);
    expect(denials(revertRequests, functionRoles(['control'], config))).toEqual([]);
  });
});
