import {
  CreateDBInstanceCommand,
  CreateDBInstanceReadReplicaCommand,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeAccountAttributesCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeEventsCommand,
  DescribeValidDBInstanceModificationsCommand,
  InstanceQuotaExceededFault,
  InsufficientDBInstanceCapacityFault,
  InvalidDBInstanceStateFault,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  RDSServiceException,
  StorageQuotaExceededFault,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS, SimAccount } from '../../../shared/sim/index.ts';
import { rejection } from '../../support/rejection.ts';

const START = '2026-11-20T00:00:00.000Z';

function account() {
  const sim = new SimAccount({
    start: START,
    historyStart: Date.parse(START) - HOUR_MS,
    rateLimitClock: 'virtual',
  });
  sim.rds.addInstance({
    id: 'orders',
    engine: 'postgres',
    instanceClass: 'db.r6g.xlarge',
    storageType: 'io1',
    allocatedStorage: 400,
    iops: 3000,
  });
  sim.rds.addInstance({
    id: 'gp3db',
    engine: 'postgres',
    instanceClass: 'db.m5.large',
    storageType: 'gp3',
    allocatedStorage: 100,
  });
  return { sim, rds: sim.clients().rds };
}

describe('simulated RDS ModifyDBInstance', () => {
  it('applies an IOPS change through modifying and storage-optimization back to available', async () => {
    const { sim, rds } = account();
    const out = await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        AllocatedStorage: 400,
        Iops: 6000,
        ApplyImmediately: true,
      }),
    );
    expect(out.DBInstance?.DBInstanceStatus).toBe('modifying');
    expect(out.DBInstance?.PendingModifiedValues?.Iops).toBe(6000);
    sim.advance(10 * MINUTE_MS);
    const mid = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' }));
    expect(mid.DBInstances?.[0]?.DBInstanceStatus).toBe('storage-optimization');
    expect(mid.DBInstances?.[0]?.StorageOperationStatus).toBe('Optimizing');
    expect(mid.DBInstances?.[0]?.Iops).toBe(6000);
    sim.advance(2 * HOUR_MS);
    const after = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' }));
    expect(after.DBInstances?.[0]?.DBInstanceStatus).toBe('available');
    const events = await rds.send(new DescribeEventsCommand({ SourceIdentifier: 'orders', Duration: 600 }));
    expect(events.Events?.map((e) => e.Message)).toContain('Storage optimization completed');
  });

  it('rejects a storage change while the previous one is being optimized', async () => {
    const { sim, rds } = account();
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        AllocatedStorage: 400,
        Iops: 6000,
        ApplyImmediately: true,
      }),
    );
    sim.advance(15 * MINUTE_MS);
    const err = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 400,
          Iops: 7000,
          ApplyImmediately: true,
        }),
      ),
    );
    expect(err).toBeInstanceOf(RDSServiceException);
    expect(err.name).toBe('InvalidParameterCombination');
    expect(err.message).toMatch(/previous storage change is being optimized/);
  });

  it('rejects a second storage change within 6 hours even after optimization ended', async () => {
    const { sim, rds } = account();
    sim.rds.durations.storageOptimizationMs = 30 * MINUTE_MS;
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        AllocatedStorage: 400,
        Iops: 6000,
        ApplyImmediately: true,
      }),
    );
    sim.advance(2 * HOUR_MS);
    const err = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 400,
          Iops: 7000,
          ApplyImmediately: true,
        }),
      ),
    );
    expect(err.name).toBe('InvalidParameterCombination');
    expect(err.message).toMatch(/only once every 6 hours/);
    sim.advance(4 * HOUR_MS + MINUTE_MS);
    const ok = await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        AllocatedStorage: 400,
        Iops: 7000,
        ApplyImmediately: true,
      }),
    );
    expect(ok.DBInstance?.DBInstanceStatus).toBe('modifying');
  });

  it('allows at most 4 storage changes in 24 hours', async () => {
    const { sim, rds } = account();
    sim.rds.durations.storageOptimizationMs = MINUTE_MS;
    sim.rds.durations.modifyMs = MINUTE_MS;
    const inst = sim.rds.instances.get('orders');
    // Four changes 6 h apart by other actors (storage autoscaling, people) count too.
    if (inst)
      inst.storageChanges.push(
        Date.parse(START) - 19 * HOUR_MS,
        Date.parse(START) - 13 * HOUR_MS,
        Date.parse(START) - 7 * HOUR_MS,
        Date.parse(START) - 6.5 * HOUR_MS,
      );
    const err = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 400,
          Iops: 7000,
          ApplyImmediately: true,
        }),
      ),
    );
    expect(err.name).toBe('InvalidParameterCombination');
    expect(err.message).toMatch(/at most 4 storage modifications in 24 hours/);
  });

  it('requires storage to grow by at least 10 percent and never shrink', async () => {
    const { rds } = account();
    const small = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 420,
          Iops: 3000,
          ApplyImmediately: true,
        }),
      ),
    );
    expect(small.name).toBe('InvalidParameterCombination');
    expect(small.message).toMatch(/at least 10 percent/);
    const shrink = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 300,
          Iops: 3000,
          ApplyImmediately: true,
        }),
      ),
    );
    expect(shrink.message).toBe('Invalid storage size for engine name postgres and storage type io1: 300');
    const ok = await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        AllocatedStorage: 440,
        Iops: 3000,
        ApplyImmediately: true,
      }),
    );
    expect(ok.DBInstance?.PendingModifiedValues?.AllocatedStorage).toBe(440);
  });

  it('requires AllocatedStorage and Iops together on Provisioned IOPS storage', async () => {
    const { rds } = account();
    const err = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'orders', Iops: 5000, ApplyImmediately: true }),
      ),
    );
    expect(err).toBeInstanceOf(RDSServiceException);
    expect(err.name).toBe('InvalidParameterCombination');
    expect(err.message).toMatch(/You must specify both the storage size and iops/);
  });

  it('rejects IOPS outside the io1 ratio and gp3 IOPS under 400 GiB', async () => {
    const { rds } = account();
    const ratio = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 400,
          Iops: 30_000,
          ApplyImmediately: true,
        }),
      ),
    );
    expect(ratio.message).toBe(
      'Invalid iops to storage (GB) ratio for engine name postgres and storage type io1: 75.0000',
    );
    const gp3 = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'gp3db', Iops: 4000, ApplyImmediately: true }),
      ),
    );
    expect(gp3.message).toMatch(
      /You can't specify IOPS or storage throughput for engine postgres and a storage size less than 400/,
    );
  });

  it('answers InvalidDBInstanceState when the instance is not available', async () => {
    const { sim, rds } = account();
    const inst = sim.rds.instances.get('orders');
    if (inst) inst.status = 'backing-up';
    const err = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 400,
          Iops: 4000,
          ApplyImmediately: true,
        }),
      ),
    );
    expect(err).toBeInstanceOf(InvalidDBInstanceStateFault);
    expect(err.message).toBe('Database instance is not in available state.');
  });

  it('answers "No modifications were requested" for an empty modification', async () => {
    const { rds } = account();
    const err = await rejection(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'gp3db' })));
    expect(err.name).toBe('InvalidParameterCombination');
    expect(err.message).toBe('No modifications were requested');
  });

  it('keeps changes pending without ApplyImmediately and applies them all with the next ApplyImmediately', async () => {
    const { sim, rds } = account();
    const queued = await rds.send(
      new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'orders', DBInstanceClass: 'db.r6g.2xlarge' }),
    );
    expect(queued.DBInstance?.DBInstanceStatus).toBe('available');
    expect(queued.DBInstance?.PendingModifiedValues?.DBInstanceClass).toBe('db.r6g.2xlarge');
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        AllocatedStorage: 400,
        Iops: 5000,
        ApplyImmediately: true,
      }),
    );
    sim.advance(10 * MINUTE_MS);
    expect(sim.rds.instances.get('orders')?.instanceClass).toBe('db.r6g.2xlarge');
  });

  it('answers StorageQuotaExceeded and DBInstanceNotFound', async () => {
    const { sim, rds } = account();
    sim.rds.quotas.allocatedStorageGiB = 600;
    const quota = await rejection(
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: 'orders',
          AllocatedStorage: 600,
          Iops: 3000,
          ApplyImmediately: true,
        }),
      ),
    );
    expect(quota).toBeInstanceOf(StorageQuotaExceededFault);
    const missing = await rejection(
      rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'nope' })),
    );
    expect(missing).toBeInstanceOf(DBInstanceNotFoundFault);
    expect(missing.message).toBe('DBInstance nope not found.');
  });

  it('lists valid IOPS ranges for the instance', async () => {
    const { rds } = account();
    const out = await rds.send(
      new DescribeValidDBInstanceModificationsCommand({ DBInstanceIdentifier: 'orders' }),
    );
    const io1 = out.ValidDBInstanceModificationsMessage?.Storage?.find((s) => s.StorageType === 'io1');
    expect(io1?.ProvisionedIops?.[0]).toMatchObject({ From: 1000, To: 20_000 });
    expect(io1?.IopsToStorageRatio?.[0]).toMatchObject({ From: 0.5, To: 50 });
  });
});

describe('simulated RDS replicas', () => {
  it('creates a read replica that is creating, then available after a time that grows with the source storage', async () => {
    const { sim, rds } = account();
    const out = await rds.send(
      new CreateDBInstanceReadReplicaCommand({
        DBInstanceIdentifier: 'orders-r1',
        SourceDBInstanceIdentifier: 'orders',
        Tags: [{ Key: 'db-autopilot:created-by', Value: 'db-autopilot' }],
      }),
    );
    expect(out.DBInstance?.DBInstanceStatus).toBe('creating');
    const d = sim.rds.durations;
    const gib = sim.rds.instances.get('orders')?.allocatedStorage ?? 0;
    const createMs = d.replicaCreateMs + d.replicaCreatePerGiBMs * gib;
    expect(createMs).toBeGreaterThan(d.replicaCreateMs);
    sim.advance(createMs - MINUTE_MS);
    expect(sim.rds.instances.get('orders-r1')?.status).toBe('creating');
    sim.advance(MINUTE_MS);
    const src = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' }));
    expect(src.DBInstances?.[0]?.ReadReplicaDBInstanceIdentifiers).toEqual(['orders-r1']);
    const r = sim.rds.instances.get('orders-r1');
    expect(r?.status).toBe('available');
    const tags = await rds.send(new ListTagsForResourceCommand({ ResourceName: r?.arn }));
    expect(tags.TagList).toEqual([{ Key: 'db-autopilot:created-by', Value: 'db-autopilot' }]);
  });

  it('refuses a 16th replica of one source', async () => {
    const { rds } = account();
    for (let i = 1; i <= 15; i++) {
      await rds.send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: `r${i}`,
          SourceDBInstanceIdentifier: 'orders',
        }),
      );
    }
    const err = await rejection(
      rds.send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: 'r16',
          SourceDBInstanceIdentifier: 'orders',
        }),
      ),
    );
    expect(err).toBeInstanceOf(InstanceQuotaExceededFault);
    expect(err.message).toMatch(/more than 15 read replicas/);
  });

  it('refuses a replica of a source without automated backups', async () => {
    const { sim, rds } = account();
    const src = sim.rds.instances.get('orders');
    if (src) src.backupRetentionPeriod = 0;
    const err = await rejection(
      rds.send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: 'r1',
          SourceDBInstanceIdentifier: 'orders',
        }),
      ),
    );
    expect(err).toBeInstanceOf(InvalidDBInstanceStateFault);
    expect(err.message).toMatch(/Automated backups are not enabled for this database instance/);
  });

  it('enforces the account quota of 40 DB instances and reports missing capacity', async () => {
    const { sim, rds } = account();
    sim.rds.quotas.dbInstances = 3;
    await rds.send(
      new CreateDBInstanceReadReplicaCommand({
        DBInstanceIdentifier: 'r1',
        SourceDBInstanceIdentifier: 'orders',
      }),
    );
    const quota = await rejection(
      rds.send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: 'r2',
          SourceDBInstanceIdentifier: 'orders',
        }),
      ),
    );
    expect(quota).toBeInstanceOf(InstanceQuotaExceededFault);
    expect(quota.message).toMatch(/maximum number of DB instances allowed \(3\)/);
    sim.rds.quotas.dbInstances = 40;
    sim.rds.unavailableClasses.add('db.r6g.2xlarge');
    const cap = await rejection(
      rds.send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: 'r3',
          SourceDBInstanceIdentifier: 'orders',
          DBInstanceClass: 'db.r6g.2xlarge',
        }),
      ),
    );
    expect(cap).toBeInstanceOf(InsufficientDBInstanceCapacityFault);
  });

  it('deletes a replica only with SkipFinalSnapshot and rejects a final snapshot id', async () => {
    const { sim, rds } = account();
    await rds.send(
      new CreateDBInstanceReadReplicaCommand({
        DBInstanceIdentifier: 'r1',
        SourceDBInstanceIdentifier: 'orders',
      }),
    );
    sim.advance(20 * MINUTE_MS);
    const snap = await rejection(
      rds.send(
        new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'r1', FinalDBSnapshotIdentifier: 'final' }),
      ),
    );
    expect(snap.message).toBe(
      'FinalDBSnapshotIdentifier can not be specified when deleting a replica instance',
    );
    const none = await rejection(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'r1' })));
    expect(none.message).toBe('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
    const out = await rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'r1', SkipFinalSnapshot: true }),
    );
    expect(out.DBInstance?.DBInstanceStatus).toBe('deleting');
    sim.advance(5 * MINUTE_MS);
    expect(sim.rds.instances.has('r1')).toBe(false);
  });

  it('adds an Aurora reader with CreateDBInstance and spreads reader load over the readers', async () => {
    const sim = new SimAccount({ start: START, historyStart: Date.parse(START) - HOUR_MS });
    sim.rds.addCluster({ id: 'c1', engine: 'aurora-postgresql', workload: { readerCpu: () => 160 } });
    sim.rds.addInstance({
      id: 'c1-w',
      engine: 'aurora-postgresql',
      instanceClass: 'db.r6g.large',
      clusterId: 'c1',
      writer: true,
    });
    sim.rds.addInstance({
      id: 'c1-r1',
      engine: 'aurora-postgresql',
      instanceClass: 'db.r6g.large',
      clusterId: 'c1',
      workload: { cpu: () => 0 },
    });
    const rds = sim.clients().rds;
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'c1-r2',
        DBClusterIdentifier: 'c1',
        DBInstanceClass: 'db.r6g.large',
        Engine: 'aurora-postgresql',
        PromotionTier: 15,
      }),
    );
    const cluster = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'c1' }));
    expect(cluster.DBClusters?.[0]?.DBClusterMembers?.map((m) => m.DBInstanceIdentifier)).toEqual([
      'c1-w',
      'c1-r1',
      'c1-r2',
    ]);
    sim.advance(30 * MINUTE_MS);
    const r1 = sim.rds.instances.get('c1-r1');
    const minuteBefore = Math.floor(Date.parse(START) / MINUTE_MS) + 2;
    const minuteAfter = Math.floor(Date.parse(START) / MINUTE_MS) + 25;
    r1?.series.ensure(minuteAfter + 1);
    expect(r1?.series.get('CPUUtilization', minuteBefore)?.value).toBe(100);
    expect(r1?.series.get('CPUUtilization', minuteAfter)?.value).toBe(80);
  });

  it('reports the DB instance quota in use', async () => {
    const { rds } = account();
    const out = await rds.send(new DescribeAccountAttributesCommand({}));
    expect(out.AccountQuotas?.find((q) => q.AccountQuotaName === 'DBInstances')).toMatchObject({
      Used: 2,
      Max: 40,
    });
  });

  it('pages DescribeDBInstances with Marker and MaxRecords', async () => {
    const sim = new SimAccount({ start: START });
    for (let i = 0; i < 45; i++)
      sim.rds.addInstance({ id: `db-${i}`, engine: 'postgres', instanceClass: 'db.m5.large' });
    const rds = sim.clients().rds;
    const ids: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const out = await rds.send(new DescribeDBInstancesCommand({ MaxRecords: 20, Marker: marker }));
      ids.push(...(out.DBInstances ?? []).map((d) => d.DBInstanceIdentifier ?? ''));
      marker = out.Marker;
      pages++;
    } while (marker);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(45);
    const bad = await rejection(rds.send(new DescribeDBInstancesCommand({ MaxRecords: 5 })));
    expect(bad.name).toBe('InvalidParameterValue');
  });
});
