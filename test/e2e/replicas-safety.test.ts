import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import { DeleteDBInstanceCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import { type Config, configSchema } from '../../shared/config/schema.ts';
import type { TunerRunRequest } from '../../shared/core/contracts.ts';
import type { Decision } from '../../shared/core/model.ts';
import { replicaName } from '../../shared/policies/replicas.ts';
import { MINUTE_MS, SimAccount, workload as w } from '../../shared/sim/index.ts';
import { setReadRouting } from '../../shared/sim/rds-replica-rules.ts';
import type { RecordSet } from '../../shared/sim/services/route53.ts';
import { MemoryStateStore } from '../../shared/state/memory-store.ts';
import { registration, runReplicas } from '../../shared/tuners/replicas.ts';
import { revertThroughControl } from '../support/control.ts';

/**
 * Issue 19, one test per bullet of the review, on the simulated account (RDS, Route 53 records,
 * Application Auto Scaling), through the real discovery, metrics, policy, executor and adapters.
 */

const START = '2026-11-23T12:00:00.000Z';
const HOUR = 60 * MINUTE_MS;
const MANAGED = { 'db-autopilot:managed': 'true' };
const CREATED = { 'db-autopilot:created-by': 'db-autopilot' };
const ZONE = 'Z0SHOPINTERNAL';
const RECORD = 'reads.db.shop.internal.';
const OWNED = 'dbap-shop-mysql-1';
/** What the source runs with, and what a replica must copy. */
const SOURCE_SETTINGS = {
  vpcSecurityGroupIds: ['sg-0app'],
  monitoringInterval: 60,
  monitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
  performanceInsights: true,
  caCertificate: 'rds-ca-ecc384-g1',
  parameterGroup: 'shop-mysql80',
};

function endpointOf(sim: SimAccount, id: string): string {
  return `${id}.abc123.${sim.region}.rds.amazonaws.com`;
}

function buildAccount(options: { fallback?: boolean; ownedLag?: number } = {}): SimAccount {
  const sim = new SimAccount({ start: START, historyStart: Date.parse(START) - 2 * HOUR, rateLimits: false });
  sim.rds.addInstance({
    id: 'shop-mysql',
    engine: 'mysql',
    instanceClass: 'db.r6g.large',
    storageType: 'io1',
    allocatedStorage: 500,
    iops: 10_000,
    backupRetentionPeriod: 7,
    tags: MANAGED,
    settings: SOURCE_SETTINGS,
    workload: { cpu: w.constant(20), connections: w.constant(20) },
  });
  sim.rds.addInstance({
    id: OWNED,
    engine: 'mysql',
    instanceClass: 'db.r6g.large',
    storageType: 'io1',
    allocatedStorage: 500,
    iops: 10_000,
    replicaSourceId: 'shop-mysql',
    tags: { ...MANAGED, ...CREATED },
    settings: SOURCE_SETTINGS,
    workload: {
      cpu: w.constant(40),
      connections: w.constant(30),
      replicaLagSeconds: w.constant(options.ownedLag ?? 0.3),
    },
  });
  sim.route53.addZone(ZONE, 'db.shop.internal.');
  const zone = sim.route53.zones.get(ZONE);
  const record = (id: string, value: string, weight: number): RecordSet => ({
    Name: RECORD,
    Type: 'CNAME',
    SetIdentifier: id,
    Weight: weight,
    TTL: 30,
    ResourceRecords: [{ Value: value }],
  });
  zone?.records.push(record(OWNED, endpointOf(sim, OWNED), 100));
  if (options.fallback ?? true) zone?.records.push(record('shop-mysql', endpointOf(sim, 'shop-mysql'), 1));
  // Aurora: a writer and a reader a person made, with a tuned parameter group, PI and monitoring.
  sim.rds.addCluster({
    id: 'catalog-aurora',
    engine: 'aurora-postgresql',
    tags: MANAGED,
    workload: { readerCpu: w.constant(150), readerConnections: w.constant(40) },
  });
  const auroraSettings = {
    parameterGroup: 'catalog-pg16-tuned',
    performanceInsights: true,
    monitoringInterval: 60,
  };
  sim.rds.addInstance({
    id: 'catalog-aurora-writer',
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
    clusterId: 'catalog-aurora',
    writer: true,
    tags: MANAGED,
    settings: auroraSettings,
  });
  sim.rds.addInstance({
    id: 'catalog-aurora-reader-1',
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
    clusterId: 'catalog-aurora',
    tags: MANAGED,
    settings: auroraSettings,
    workload: { cpu: w.constant(2), connections: w.constant(0) },
  });
  return sim;
}

function configWith(extra: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    version: 1,
    defaults: { mode: 'apply' },
    tuners: {
      replicas: {
        resources: { identifiers: ['catalog-aurora', 'shop-mysql'] },
        minReaders: 1,
        maxReaders: 4,
        scaleInStabilizationMinutes: 0,
        sources: {
          'shop-mysql': {
            routing: { hostedZoneId: ZONE, recordName: RECORD, fallback: { setIdentifier: 'shop-mysql' } },
          },
        },
        ...extra,
      },
    },
  });
}

let sim: SimAccount;
let uninstall: () => void;
let store: MemoryStateStore;
let config: Config;
let seq = 0;

function request(): TunerRunRequest {
  seq += 1;
  return { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `safety-${seq}` };
}

async function run(afterMinutes = 5): Promise<Decision[]> {
  sim.advanceTo(sim.nowMs() + afterMinutes * MINUTE_MS);
  const summary = await runReplicas(request(), { config, store, now: sim.clock.now() });
  return summary.decisions;
}

const records = () => (sim.route53.zones.get(ZONE)?.records ?? []).map((r) => r.SetIdentifier);
const find = (ds: Decision[], action: string, outcome: string, resource?: string) =>
  ds.filter((d) => d.action === action && d.outcome === outcome && (!resource || d.resource === resource));

async function setUp(options: { fallback?: boolean; ownedLag?: number } = {}, extra = {}) {
  sim = buildAccount(options);
  uninstall = sim.install();
  store = new MemoryStateStore();
  config = configWith(extra);
  await store.recordCreated('replicas', OWNED, { tuner: 'replicas' }, new Date(START));
}

afterEach(() => uninstall());

describe('routing never loses reads (plain RDS + Route 53)', () => {
  for (const status of [
    'failed',
    'storage-full',
    'incompatible-parameters',
    'inaccessible-encryption-credentials',
  ]) {
    it(`withdraws the record of a replica that is ${status}, then removes the replica it created`, async () => {
      await setUp();
      const replica = sim.rds.instances.get(OWNED);
      if (replica) replica.status = status;
      const first = await run();
      expect(find(first, 'remove-route', 'applied', OWNED)).toHaveLength(1);
      expect(records()).toEqual(['shop-mysql']);
      // Its record is gone: the next run removes the broken replica db-autopilot created.
      const second = await run();
      expect(find(second, 'remove-replica', 'applied', OWNED)).toHaveLength(1);
      expect(sim.rds.instances.get(OWNED)?.status).toBe('deleting');
    });
  }

  it('keeps routing reads to a replica in storage-optimization (operational, and it can last a day)', async () => {
    await setUp();
    const replica = sim.rds.instances.get(OWNED);
    if (replica) replica.status = 'storage-optimization';
    const decisions = await run();
    expect(find(decisions, 'remove-route', 'applied', OWNED)).toEqual([]);
    expect(records()).toContain(OWNED);
    // And it is still a reader that serves: nothing is added to replace it.
    expect(find(decisions, 'add-replica', 'applied', 'shop-mysql')).toEqual([]);
  });

  it('sweeps the record of a replica a person deleted', async () => {
    await setUp();
    sim.rds.instances.delete(OWNED);
    const decisions = await run();
    expect(find(decisions, 'remove-route', 'applied', 'shop-mysql')).toHaveLength(1);
    expect(records()).toEqual(['shop-mysql']);
  });

  it('keeps the read name resolving: the fallback record goes in before the only replica record comes out', async () => {
    await setUp({ fallback: false, ownedLag: 900 });
    const decisions = await run();
    const added = find(decisions, 'add-route', 'applied', 'shop-mysql');
    const removed = find(decisions, 'remove-route', 'applied', OWNED);
    expect(added).toHaveLength(1);
    expect(removed).toHaveLength(1);
    expect(decisions.indexOf(added[0] as Decision)).toBeLessThan(decisions.indexOf(removed[0] as Decision));
    expect(records()).toEqual(['shop-mysql']);
    const fallback = sim.route53.zones.get(ZONE)?.records[0];
    expect(fallback?.ResourceRecords?.[0]?.Value).toBe(endpointOf(sim, 'shop-mysql'));
  });

  it('requires a fallback record in the routing config', () => {
    expect(() =>
      configSchema.parse({
        version: 1,
        tuners: {
          replicas: { sources: { 'shop-mysql': { routing: { hostedZoneId: ZONE, recordName: RECORD } } } },
        },
      }),
    ).toThrow(/fallback/);
  });

  it('attaches a CloudWatch-alarm-based health check to a replica record where configured, and drops it with the record', async () => {
    await setUp();
    config = configWith({
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
    });
    const zone = sim.route53.zones.get(ZONE);
    if (zone) zone.records = zone.records.filter((r) => r.SetIdentifier !== OWNED);
    const routed = await run();
    expect(find(routed, 'add-route', 'applied', OWNED)).toHaveLength(1);
    const record = zone?.records.find((r) => r.SetIdentifier === OWNED);
    const check = sim.route53.healthChecks.get(record?.HealthCheckId ?? '');
    expect(check?.HealthCheckConfig).toMatchObject({
      Type: 'CLOUDWATCH_METRIC',
      AlarmIdentifier: { Name: `db-autopilot-route-health-${OWNED}` },
    });
    expect(sim.cloudwatch.alarms.has(`db-autopilot-route-health-${OWNED}`)).toBe(true);
    // The fallback (the source) carries no lag health check.
    expect(zone?.records.find((r) => r.SetIdentifier === 'shop-mysql')?.HealthCheckId).toBeUndefined();
    // The replica starts lagging: its record, health check and alarm go.
    const replica = sim.rds.instances.get(OWNED);
    if (replica) replica.workload = { ...replica.workload, replicaLagSeconds: w.constant(900) };
    const withdrawn = await run();
    expect(find(withdrawn, 'remove-route', 'applied', OWNED)).toHaveLength(1);
    expect(sim.route53.healthChecks.size).toBe(0);
    expect(sim.cloudwatch.alarms.has(`db-autopilot-route-health-${OWNED}`)).toBe(false);
    // It catches up: routed again with a new health check, although Route 53 refuses to reuse
    // the deleted check's CallerReference (Route 53 API reference, CreateHealthCheck).
    if (replica) replica.workload = { ...replica.workload, replicaLagSeconds: w.constant(0.3) };
    const rerouted = await run(10);
    expect(find(rerouted, 'add-route', 'failed', OWNED)).toEqual([]);
    expect(find(rerouted, 'add-route', 'applied', OWNED)).toHaveLength(1);
    const again = zone?.records.find((r) => r.SetIdentifier === OWNED);
    expect(sim.route53.healthChecks.get(again?.HealthCheckId ?? '')?.HealthCheckConfig).toMatchObject({
      AlarmIdentifier: { Name: `db-autopilot-route-health-${OWNED}` },
    });
    expect(sim.route53.healthChecks.size).toBe(1);
  });
});

describe('revert of a scale-out (plain RDS with routing)', () => {
  it('removes the record before the replica, and the replica only on a later revert once drained', async () => {
    await setUp();
    // Reads on the source's record set heavy enough for a second replica.
    setReadRouting(sim, {
      sourceId: 'shop-mysql',
      zoneId: ZONE,
      recordName: RECORD,
      readCpu: w.constant(180),
      readConnections: w.constant(40),
    });
    const out = await run();
    const add = find(out, 'add-replica', 'applied', 'shop-mysql')[0];
    if (!add)
      throw new Error(`no scale-out: ${JSON.stringify(out.map((d) => [d.action, d.outcome, d.reason]))}`);
    const replicaId = String(add.undo?.params.replicaId);
    // Created (15 min + 6 s per GiB of the source's 500 GiB = 65 min), then routed.
    let routed = false;
    for (let i = 0; i < 20 && !routed; i++) {
      await run(5);
      routed = records().includes(replicaId);
    }
    expect(routed).toBe(true);
    const revert = () =>
      revertThroughControl(sim, {
        config,
        store,
        tuner: registration,
        decisionId: add.id,
        requestId: `revert-${seq++}`,
      });
    // A person reverts it later (the revert goes through the same cooldown guard).
    sim.advanceTo(sim.nowMs() + 35 * MINUTE_MS);
    const first = await revert();
    expect(records(), JSON.stringify(first)).not.toContain(replicaId);
    expect(sim.rds.instances.get(replicaId)?.status).toBe('available');
    sim.advanceTo(sim.nowMs() + 10 * MINUTE_MS);
    await revert();
    expect(sim.rds.instances.get(replicaId)?.status).toBe('deleting');
  });
});

describe('creation matches the source, and is verified before routing', () => {
  it('gives a new plain RDS replica the source security groups, monitoring, Performance Insights and CA certificate', async () => {
    await setUp();
    setReadRouting(sim, {
      sourceId: 'shop-mysql',
      zoneId: ZONE,
      recordName: RECORD,
      readCpu: w.constant(180),
    });
    const out = await run();
    const add = find(out, 'add-replica', 'applied', 'shop-mysql')[0];
    const created = sim.rds.instances.get(String(add?.undo?.params.replicaId));
    expect(created?.settings).toMatchObject({
      vpcSecurityGroupIds: ['sg-0app'],
      monitoringInterval: 60,
      monitoringRoleArn: SOURCE_SETTINGS.monitoringRoleArn,
      performanceInsights: true,
      caCertificate: 'rds-ca-ecc384-g1',
      parameterGroup: 'shop-mysql80',
    });
  });

  it('gives a new plain RDS replica the IAM database authentication of the source, whose readers log in with IAM tokens', async () => {
    await setUp();
    const source = sim.rds.instances.get('shop-mysql');
    if (source) source.settings.iamDatabaseAuthentication = true;
    const replica = sim.rds.instances.get(OWNED);
    if (replica) replica.settings.iamDatabaseAuthentication = true;
    setReadRouting(sim, {
      sourceId: 'shop-mysql',
      zoneId: ZONE,
      recordName: RECORD,
      readCpu: w.constant(180),
    });
    const out = await run();
    const add = find(out, 'add-replica', 'applied', 'shop-mysql')[0];
    const created = sim.rds.instances.get(String(add?.undo?.params.replicaId));
    expect(created?.settings.iamDatabaseAuthentication).toBe(true);
  });

  it('gives a new plain RDS replica the storage autoscaling maximum of its source, so it grows as the source does', async () => {
    await setUp();
    const source = sim.rds.instances.get('shop-mysql');
    if (source) source.maxAllocatedStorage = 2000;
    setReadRouting(sim, {
      sourceId: 'shop-mysql',
      zoneId: ZONE,
      recordName: RECORD,
      readCpu: w.constant(180),
    });
    const out = await run();
    const add = find(out, 'add-replica', 'applied', 'shop-mysql')[0];
    const id = String(add?.undo?.params.replicaId);
    const described = await sim
      .clients()
      .rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    expect(described.DBInstances?.[0]?.MaxAllocatedStorage).toBe(2000);
  });

  it('does not route a replica without the IAM database authentication its source has: IAM logins would fail there', async () => {
    await setUp();
    sim.route53.zones.get(ZONE)?.records.splice(0, 1); // the owned replica is not routed yet
    const source = sim.rds.instances.get('shop-mysql');
    if (source) source.settings.iamDatabaseAuthentication = true;
    const decisions = await run();
    expect(find(decisions, 'add-route', 'applied', OWNED)).toHaveLength(0);
    const finding = find(decisions, 'finding', 'applied', OWNED).find((d) =>
      /IAM database authentication/.test(d.reason),
    );
    expect(finding?.reason).toMatch(/not routed until fixed/);
  });

  it('gives a new Aurora reader the parameter group, Performance Insights and monitoring of the existing reader', async () => {
    await setUp();
    const out = await run();
    const add = find(out, 'add-replica', 'applied', 'catalog-aurora')[0];
    const created = sim.rds.instances.get(String(add?.undo?.params.replicaId));
    expect(created?.settings).toMatchObject({
      parameterGroup: 'catalog-pg16-tuned',
      performanceInsights: true,
      monitoringInterval: 60,
    });
  });

  it('does not route a replica whose settings differ from the source and says why', async () => {
    await setUp();
    sim.route53.zones.get(ZONE)?.records.splice(0, 1); // the owned replica is not routed yet
    const replica = sim.rds.instances.get(OWNED);
    if (replica) replica.settings.vpcSecurityGroupIds = ['sg-0default0vpc'];
    const decisions = await run();
    expect(find(decisions, 'add-route', 'applied', OWNED)).toHaveLength(0);
    const finding = find(decisions, 'finding', 'applied', OWNED).find((d) =>
      /security groups/.test(d.reason),
    );
    expect(finding?.reason).toMatch(/not routed until fixed/);
  });
});

describe('failed and stuck replicas', () => {
  it('counts a failed replica against the 15 per source, reports one it did not create and adds capacity', async () => {
    await setUp();
    sim.rds.addInstance({
      id: 'catalog-aurora-reader-2',
      engine: 'aurora-postgresql',
      instanceClass: 'db.r6g.large',
      clusterId: 'catalog-aurora',
      tags: MANAGED,
      status: 'failed',
    });
    const decisions = await run();
    const finding = find(decisions, 'finding', 'applied', 'catalog-aurora-reader-2')[0];
    expect(finding?.reason).toMatch(/failed: it serves nothing but counts against the 15 per source/);
    expect(find(decisions, 'remove-replica', 'applied', 'catalog-aurora-reader-2')).toHaveLength(0);
    // The failed reader is no capacity: readers are added for the load.
    expect(find(decisions, 'add-replica', 'applied', 'catalog-aurora').length).toBeGreaterThan(0);
  });
});

describe('a replica stuck being created', () => {
  it('is found stuck from the minute in its name, as AWS shows no InstanceCreateTime while creating', async () => {
    await setUp();
    // db-autopilot asked for it seven hours ago; it never left 'creating'.
    const stuck = replicaName('catalog-aurora', new Date(Date.parse(START) - 7 * HOUR), 1);
    sim.rds.addInstance({
      id: stuck,
      engine: 'aurora-postgresql',
      instanceClass: 'db.r6g.large',
      clusterId: 'catalog-aurora',
      tags: { ...MANAGED, ...CREATED },
      status: 'creating',
    });
    await store.recordCreated('replicas', stuck, { tuner: 'replicas' }, new Date(START));
    const described = await aws().rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: stuck }));
    expect(described.DBInstances?.[0]?.DBInstanceStatus).toBe('creating');
    expect(described.DBInstances?.[0]?.InstanceCreateTime).toBeUndefined();
    const decisions = await run();
    const said = decisions.filter((d) => d.resource === stuck && /stuck creating since/.test(d.reason));
    expect(
      said.length,
      JSON.stringify(decisions.map((d) => [d.resource, d.action, d.reason])),
    ).toBeGreaterThan(0);
  });
});

describe('replicas that outlive their source', () => {
  it('reports a replica it created that became a standalone instance when its source was deleted, and never deletes it', async () => {
    await setUp();
    sim.rds.instances.get(OWNED)?.tags.set('db-autopilot:source', 'shop-mysql');
    // A person deletes the source: RDS promotes its same-Region replicas to standalone instances.
    await aws().rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop-mysql', SkipFinalSnapshot: true }),
    );
    const decisions = await run(10);
    expect(sim.rds.instances.get(OWNED)?.replicaSourceId).toBeUndefined();
    const finding = find(decisions, 'finding', 'applied', OWNED)[0];
    expect(finding?.reason).toMatch(/created by db-autopilot as a read replica of shop-mysql.*standalone/);
    expect(finding?.reason).toMatch(/\$[\d,.]+\/month/);
    expect(finding?.severity).toBe('warning');
    expect(decisions.filter((d) => d.action === 'remove-replica')).toEqual([]);
    expect(sim.rds.instances.get(OWNED)?.status).toBe('available');
    // Reported once, not on every run.
    const again = await run(15);
    expect(find(again, 'finding', 'applied', OWNED)).toEqual([]);
  });
});

describe('Aurora Auto Scaling on the same cluster', () => {
  it('stands down for the cluster readers and says so', async () => {
    await setUp();
    await sim.clients().autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'rds',
        ResourceId: 'cluster:catalog-aurora',
        ScalableDimension: 'rds:cluster:ReadReplicaCount',
        MinCapacity: 1,
        MaxCapacity: 8,
      }),
    );
    const decisions = await run();
    expect(find(decisions, 'add-replica', 'applied', 'catalog-aurora')).toHaveLength(0);
    const said = decisions.find(
      (d) => d.resource === 'catalog-aurora' && /Aurora Auto Scaling manages/.test(d.reason),
    );
    expect(said).toBeDefined();
  });
});

describe('a run whose function time is nearly up', () => {
  it('starts no source and says so, like every other tuner loop', async () => {
    await setUp();
    setReadRouting(sim, {
      sourceId: 'shop-mysql',
      zoneId: ZONE,
      recordName: RECORD,
      readCpu: w.constant(180),
    });
    sim.advanceTo(sim.nowMs() + 5 * MINUTE_MS);
    const summary = await runReplicas(
      { ...request(), remainingMs: () => 10_000 },
      { config, store, now: sim.clock.now() },
    );
    expect(summary.decisions.filter((d) => d.action !== 'finding')).toEqual([]);
    expect(summary.notes.join(' ')).toMatch(/time is nearly up/);
  });
});

describe('Aurora Auto Scaling turned on after db-autopilot added readers', () => {
  const OWN_READER = 'dbap-catalog-aurora-1';

  /** The cluster with a reader db-autopilot added (tag and record), then a person turns on AAS. */
  async function withOwnReaderThenAas(minCapacity: number, readerConnections: number): Promise<void> {
    await setUp();
    sim.rds.addInstance({
      id: OWN_READER,
      engine: 'aurora-postgresql',
      instanceClass: 'db.r6g.large',
      clusterId: 'catalog-aurora',
      tags: { ...MANAGED, ...CREATED },
      settings: { parameterGroup: 'catalog-pg16-tuned', performanceInsights: true, monitoringInterval: 60 },
      workload: { cpu: w.constant(2), connections: w.constant(0) },
    });
    await store.recordCreated('replicas', OWN_READER, { tuner: 'replicas' }, new Date(START));
    const cluster = sim.rds.clusters.get('catalog-aurora');
    if (cluster) {
      cluster.workload.readerCpu = w.constant(20);
      cluster.workload.readerConnections = w.constant(readerConnections);
    }
    await sim.clients().autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'rds',
        ResourceId: 'cluster:catalog-aurora',
        ScalableDimension: 'rds:cluster:ReadReplicaCount',
        MinCapacity: minCapacity,
        MaxCapacity: 8,
      }),
    );
  }

  const standDownOf = (ds: Decision[]) =>
    ds.find((d) => d.resource === 'catalog-aurora' && /Aurora Auto Scaling manages/.test(d.reason));

  it("removes its own drained reader (AAS removes only readers it created), keeps the person's, and tells the operator", async () => {
    await withOwnReaderThenAas(1, 0);
    const decisions = await run();
    expect(find(decisions, 'add-replica', 'applied', 'catalog-aurora')).toHaveLength(0);
    expect(find(decisions, 'remove-replica', 'applied', OWN_READER)).toHaveLength(1);
    expect(find(decisions, 'remove-replica', 'applied', 'catalog-aurora-reader-1')).toHaveLength(0);
    const said = standDownOf(decisions);
    expect(said?.reason).toContain(OWN_READER);
    expect(said?.severity).toBe('warning');
    expect(['deleting', 'deleted', undefined]).toContain(sim.rds.instances.get(OWN_READER)?.status);
    expect(sim.rds.instances.get('catalog-aurora-reader-1')?.status).toBe('available');
  });

  it('keeps its own reader while the reader endpoint still gives it connections, and says it waits for the drain', async () => {
    await withOwnReaderThenAas(1, 40);
    const decisions = await run();
    expect(find(decisions, 'remove-replica', 'applied', OWN_READER)).toHaveLength(0);
    const waiting = find(decisions, 'remove-replica', 'deferred', OWN_READER)[0];
    expect(waiting?.reason).toMatch(/waiting for them to drain/);
    expect(sim.rds.instances.get(OWN_READER)?.status).toBe('available');
  });

  it("never takes the cluster below Aurora Auto Scaling's minimum", async () => {
    await withOwnReaderThenAas(2, 0);
    const decisions = await run();
    expect(find(decisions, 'remove-replica', 'applied', OWN_READER)).toHaveLength(0);
    const kept = find(decisions, 'remove-replica', 'skipped', OWN_READER)[0];
    expect(kept?.reason).toMatch(/Aurora Auto Scaling minimum 2/);
    expect(sim.rds.instances.get(OWN_READER)?.status).toBe('available');
  });
});

describe('costs and lag signals', () => {
  it('prices a plain RDS replica with its copy of the source storage and IOPS (io1 500 GiB, 10k IOPS)', async () => {
    await setUp();
    setReadRouting(sim, {
      sourceId: 'shop-mysql',
      zoneId: ZONE,
      recordName: RECORD,
      readCpu: w.constant(180),
    });
    const add = find(await run(), 'add-replica', 'applied', 'shop-mysql')[0];
    // db.r6g.large 0.225 x 730 = 164.25; storage 500 x 0.125 = 62.5; IOPS 10,000 x 0.10 = 1,000.
    expect(add?.monthlyCostDelta).toBeCloseTo(164.25 + 62.5 + 1000, 2);
  });

  it('guards Aurora readers on AuroraReplicaLag (milliseconds), which they publish instead of ReplicaLag', async () => {
    await setUp();
    const reader = sim.rds.instances.get('catalog-aurora-reader-1');
    if (reader) reader.workload = { ...reader.workload, replicaLagSeconds: w.constant(120) };
    const decisions = await run();
    const lag = find(decisions, 'finding', 'applied', 'catalog-aurora-reader-1')[0];
    expect(lag?.reason).toMatch(/lags 120 s .*AuroraReplicaLag/);
    expect(lag?.evidence[0]).toMatchObject({
      metric: 'AuroraReplicaLag',
      unit: 'Milliseconds',
      value: 120_000,
    });
  });
});

beforeEach(() => {
  seq += 100;
});
