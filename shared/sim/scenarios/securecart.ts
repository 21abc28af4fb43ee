import { DAY_MS, HOUR_MS, MINUTE_MS } from '../clock.ts';
import { SimAccount } from '../engine.ts';
import { scheduleStorageAutoscaling } from '../rds-storage-rules.ts';
import { constant, diurnal, flashSale, noisy, randomBursts, spikes, sum } from '../workload.ts';
import type { Scenario, ScenarioOptions } from './index.ts';
import { addSecureCartExtras } from './securecart-extras.ts';
import { addSecureCartServerless } from './securecart-serverless.ts';

/**
 * SecureCart: a busy online shop's databases (issue #4). History starts 15 days before the
 * simulated day, so 14-day windows have data. Peaks are in the evening (19:00 UTC); a flash sale
 * hits the product catalog at 12:00 UTC on the simulated day.
 *
 * - securecart-orders: PostgreSQL on io1 (400 GiB, 3,000 IOPS, db.r6g.xlarge) that saturates its IOPS at
 *   the evening peak (about 5,200 IOPS wanted) and idles at night (about 900).
 * - securecart-reports: PostgreSQL on gp2 (200 GiB: 600 IOPS baseline, bursts to 3,000) whose afternoon
 *   reporting drains BurstBalance.
 * - securecart-catalog-aurora: Aurora PostgreSQL, writer + 1 reader; readers run hot at the evening peak
 *   (reader CPU demand of 1.6 readers' worth).
 * - securecart-mysql: RDS MySQL with two idle read replicas: dbap-securecart-mysql-replica-1 created by db-autopilot
 *   (the `dbap-` prefix its IAM policy allows it to delete; its creation recorded by `seedState`)
 *   (tag db-autopilot:created-by=db-autopilot) and securecart-mysql-analytics created by a person.
 * - DynamoDB securecart-catalog (GSI by-category throttles in the flash sale; daily evening peak),
 *   securecart-carts (over-provisioned), sessions (low, spiky use: belongs on on-demand), securecart-inventory
 *   (a hot key: KeyRangeThroughputThrottleEvents at low utilization).
 * - Aurora Serverless v2: securecart-customer-accounts and securecart-accounts-dev
 *   (./securecart-serverless.ts).
 * - orders PostgreSQL database (bloated and stale tables): the embedded PostgreSQL the demo starts
 *   (shared/postgres, preparePostgres in shared/cli/demo.ts), credentials in Secrets Manager.
 */
export const SECURECART_START = '2026-11-20T00:00:00.000Z';
const MANAGED = { 'db-autopilot:managed': 'true', app: 'securecart' };

export function buildSecureCart(options: ScenarioOptions = {}): SimAccount {
  const start = options.start ?? SECURECART_START;
  const startMs = new Date(start).getTime();
  const sim = new SimAccount({
    start,
    historyStart: startMs - 15 * DAY_MS,
    latencyMs: options.latencyMs ?? 0,
  });
  addPostgresInstances(sim, startMs);
  addCatalogAurora(sim);
  addMysqlWithReplicas(sim, startMs);
  addCatalogTable(sim, startMs + 12 * HOUR_MS);
  addOtherTables(sim);
  addControlPlane(sim);
  addSecureCartExtras(sim);
  addSecureCartServerless(sim, startMs);
  sim.cloudwatch.startEvaluation();
  return sim;
}

/** RDS PostgreSQL: the orders database on io1 (saturating at the evening peak) and the gp2 reports one. */
function addPostgresInstances(sim: SimAccount, startMs: number): void {
  sim.rds.addInstance({
    id: 'securecart-orders',
    engine: 'postgres',
    engineVersion: '16.4',
    instanceClass: 'db.r6g.xlarge',
    storageType: 'io1',
    allocatedStorage: 400,
    iops: 3000,
    multiAZ: true,
    tags: { ...MANAGED, team: 'checkout' },
    workload: {
      iops: noisy(diurnal({ base: 900, peak: 5200, peakHourUtc: 19, widthHours: 2 }), 0.05, 'orders-iops'),
      cpu: noisy(diurnal({ base: 15, peak: 55, peakHourUtc: 19, widthHours: 2.5 }), 0.05, 'orders-cpu'),
      // Within max_connections: the orders database (the demo's embedded PostgreSQL) allows 100, so the
      // evening peak of 88 is a possible number (and above the 70% that suggests RDS Proxy).
      connections: diurnal({ base: 25, peak: 88, peakHourUtc: 19, widthHours: 2.5 }),
      readFraction: 0.55,
    },
  });
  // Storage autoscaling grows the orders database at 00:00 (a change db-autopilot did not make:
  // it starts a 6 h storage-change wait the IOPS tuner must respect; IOPS tuner, issue 8).
  scheduleStorageAutoscaling(sim, 'securecart-orders', startMs, 440);
  // gp2 instance whose BurstBalance drains during the afternoon reports.
  sim.rds.addInstance({
    id: 'securecart-reports',
    engine: 'postgres',
    instanceClass: 'db.m5.large',
    storageType: 'gp2',
    allocatedStorage: 200,
    tags: { ...MANAGED, team: 'analytics' },
    workload: {
      iops: noisy(diurnal({ base: 250, peak: 2400, peakHourUtc: 14, widthHours: 2 }), 0.05, 'reports-iops'),
      cpu: diurnal({ base: 8, peak: 45, peakHourUtc: 14 }),
      connections: constant(25),
      readFraction: 0.85,
    },
  });
}

/** Aurora PostgreSQL: writer + one reader; readers hot at the evening peak. */
function addCatalogAurora(sim: SimAccount): void {
  sim.rds.addCluster({
    id: 'securecart-catalog-aurora',
    engine: 'aurora-postgresql',
    tags: { ...MANAGED, team: 'catalog' },
    workload: {
      readerCpu: noisy(
        diurnal({ base: 30, peak: 160, peakHourUtc: 19, widthHours: 2 }),
        0.05,
        'aurora-readers',
      ),
      readerConnections: diurnal({ base: 4, peak: 400, peakHourUtc: 19, widthHours: 2 }),
      readerIops: diurnal({ base: 500, peak: 3000, peakHourUtc: 19 }),
    },
  });
  sim.rds.addInstance({
    id: 'securecart-catalog-aurora-writer',
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
    clusterId: 'securecart-catalog-aurora',
    writer: true,
    promotionTier: 0,
    tags: { ...MANAGED, team: 'catalog' },
    workload: {
      cpu: diurnal({ base: 15, peak: 40, peakHourUtc: 19 }),
      connections: constant(30),
      iops: constant(800),
    },
  });
  sim.rds.addInstance({
    id: 'securecart-catalog-aurora-reader-1',
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
    clusterId: 'securecart-catalog-aurora',
    promotionTier: 1,
    tags: { ...MANAGED, team: 'catalog' },
    workload: { cpu: constant(2), connections: constant(0), iops: constant(0) },
  });
}

/** RDS MySQL with two idle replicas, one created by db-autopilot (three days ago), one by a person. */
function addMysqlWithReplicas(sim: SimAccount, startMs: number): void {
  sim.rds.addInstance({
    id: 'securecart-mysql',
    engine: 'mysql',
    instanceClass: 'db.r6g.large',
    storageType: 'gp3',
    allocatedStorage: 200,
    backupRetentionPeriod: 7,
    tags: { ...MANAGED, team: 'storefront' },
    workload: {
      cpu: diurnal({ base: 10, peak: 35, peakHourUtc: 19 }),
      connections: diurnal({ base: 20, peak: 90, peakHourUtc: 19 }),
      iops: diurnal({ base: 300, peak: 1200, peakHourUtc: 19 }),
    },
  });
  sim.rds.addInstance({
    id: 'dbap-securecart-mysql-replica-1',
    engine: 'mysql',
    instanceClass: 'db.r6g.large',
    storageType: 'gp3',
    allocatedStorage: 200,
    replicaSourceId: 'securecart-mysql',
    createdAt: startMs - 3 * DAY_MS,
    tags: { ...MANAGED, team: 'storefront', 'db-autopilot:created-by': 'db-autopilot' },
    workload: {
      cpu: constant(2),
      connections: constant(0),
      iops: constant(15),
      replicaLagSeconds: constant(0.3),
    },
  });
  sim.rds.addInstance({
    id: 'securecart-mysql-analytics',
    engine: 'mysql',
    instanceClass: 'db.r6g.large',
    storageType: 'gp3',
    allocatedStorage: 200,
    replicaSourceId: 'securecart-mysql',
    tags: { ...MANAGED, team: 'analytics' },
    workload: {
      cpu: constant(3),
      connections: constant(1),
      iops: constant(20),
      replicaLagSeconds: constant(0.5),
    },
  });
}

/** DynamoDB: the product catalog with a GSI that throttles in the flash sale (from `flashStart`). */
function addCatalogTable(sim: SimAccount, flashStart: number): void {
  sim.dynamodb.addTable({
    name: 'securecart-catalog',
    read: 1500,
    write: 200,
    tags: { ...MANAGED, team: 'catalog' },
    itemCount: 250_000,
    sizeBytes: 900_000_000,
    workload: {
      read: sum(
        noisy(diurnal({ base: 350, peak: 1100, peakHourUtc: 19, widthHours: 2 }), 0.05, 'catalog-read'),
        flashSale({ startMs: flashStart, durationMs: HOUR_MS, extra: 2500, rampMs: 3 * MINUTE_MS }),
      ),
      write: diurnal({ base: 40, peak: 120, peakHourUtc: 19 }),
      readUnitsPerRequest: 1,
    },
    gsis: [
      {
        name: 'by-category',
        read: 800,
        write: 200,
        workload: {
          read: sum(
            noisy(
              diurnal({ base: 150, peak: 600, peakHourUtc: 19, widthHours: 2 }),
              0.05,
              'catalog-gsi-read',
            ),
            flashSale({ startMs: flashStart, durationMs: HOUR_MS, extra: 2200, rampMs: 3 * MINUTE_MS }),
          ),
          write: diurnal({ base: 40, peak: 120, peakHourUtc: 19 }),
        },
      },
    ],
  });
}

/** DynamoDB: over-provisioned carts, spiky sessions (belongs on on-demand), inventory with a hot key. */
function addOtherTables(sim: SimAccount): void {
  sim.dynamodb.addTable({
    name: 'securecart-carts',
    read: 4000,
    write: 1500,
    tags: { ...MANAGED, team: 'checkout' },
    workload: {
      read: noisy(diurnal({ base: 250, peak: 700, peakHourUtc: 19 }), 0.05, 'carts-read'),
      write: noisy(diurnal({ base: 60, peak: 200, peakHourUtc: 19 }), 0.05, 'carts-write'),
    },
  });
  // Sessions: low, spiky use; cheaper on on-demand.
  sim.dynamodb.addTable({
    name: 'securecart-sessions',
    read: 400,
    write: 400,
    tags: { ...MANAGED, team: 'identity' },
    workload: {
      read: sum(
        constant(2),
        randomBursts({ seed: 'sessions-r', chance: 0.25, height: 300, durationMs: 4 * MINUTE_MS }),
      ),
      write: sum(
        constant(1),
        randomBursts({ seed: 'sessions-w', chance: 0.25, height: 250, durationMs: 4 * MINUTE_MS }),
      ),
    },
  });
  // Inventory events: a hot key (85% of the writes on one partition) at low utilization.
  sim.dynamodb.addTable({
    name: 'securecart-inventory',
    read: 500,
    write: 4000,
    tags: { ...MANAGED, team: 'fulfilment' },
    workload: {
      read: constant(100),
      write: sum(
        diurnal({ base: 900, peak: 1500, peakHourUtc: 19 }),
        spikes({ everyMs: 6 * HOUR_MS, durationMs: 10 * MINUTE_MS, height: 200 }),
      ),
      hotKeyShare: 0.85,
    },
  });
}

/** Control plane: the pause flag (not paused), the report topic, the routing zone. */
function addControlPlane(sim: SimAccount): void {
  sim.ssm.put('/db-autopilot/paused', 'false');
  sim.sns.createTopic('db-autopilot-reports');
  sim.route53.addZone('Z0SECURECART', 'db.securecart.internal.');
}

export const scenario: Scenario = {
  name: 'securecart',
  description:
    'SecureCart online shop: io1 orders DB, gp2 reports DB, Aurora catalog, MySQL replicas, DynamoDB tables',
  start: SECURECART_START,
  build: buildSecureCart,
  // db-autopilot's own record of the replica it created three days before (issue #9: deleting
  // needs the ownership tag AND the recorded resource id).
  seedState: async (store, now) => {
    await store.recordCreated(
      'replicas',
      'dbap-securecart-mysql-replica-1',
      { tuner: 'replicas', family: 'rds', sourceId: 'securecart-mysql', instanceClass: 'db.r6g.large' },
      new Date(now.getTime() - 3 * DAY_MS),
    );
  },
};
