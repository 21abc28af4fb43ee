import {
  CreateDBInstanceCommand,
  CreateDBInstanceReadReplicaCommand,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  InsufficientDBInstanceCapacityFault,
  InvalidDBClusterStateFault,
  InvalidDBInstanceStateFault,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  PriorRequestNotComplete,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createReplicaAdapter,
  type ReplicaAdapterDeps,
  readReplicaInput,
} from '../../../shared/adapters/rds-replicas.ts';
import type { Target } from '../../../shared/core/contracts.ts';
import type { Action } from '../../../shared/core/model.ts';
import { planReplicas } from '../../../shared/policies/replicas.ts';
import { aurora, NOW, ours, ROUTING, reader, settings } from './fixtures.ts';

const rdsMock = mockClient(RDSClient);
const r53Mock = mockClient(Route53Client);
const TAG = { key: 'db-autopilot:created-by', value: 'db-autopilot' };

/** The replicas tuner's "created" register (its own partition in the state table). */
class MemoryCreated {
  readonly created = new Map<string, Record<string, unknown>>();
  async recordCreated(tuner: string, id: string, detail: Record<string, unknown>) {
    if (tuner === 'replicas') this.created.set(id, detail);
  }
  async wasCreatedByUs(tuner: string, id: string) {
    return tuner === 'replicas' && this.created.has(id);
  }
  async forgetCreated(tuner: string, id: string) {
    if (tuner === 'replicas') this.created.delete(id);
  }
}

let store: MemoryCreated;
let adapter: ReturnType<typeof createReplicaAdapter>;
const target: Target = {
  ref: { kind: 'aurora-cluster', id: 'securecart-aurora' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};

function action(kind: Action['kind'], params: Record<string, unknown>, id = 'securecart-aurora'): Action {
  return {
    tuner: 'replicas',
    resource: { kind: 'rds-instance', id },
    kind,
    from: 1,
    to: 2,
    reason: 'test',
    evidence: [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: true,
    params,
  };
}

const auroraAdd = (extra: Record<string, unknown> = {}) =>
  action('add-replica', {
    family: 'aurora',
    sourceId: 'securecart-aurora',
    replicaId: 'dbap-securecart-aurora-2026112318001',
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
    instanceClasses: ['db.r6g.large', 'db.r6g.xlarge'],
    availabilityZones: [],
    ...extra,
  });

beforeEach(() => {
  store = new MemoryCreated();
  const deps: ReplicaAdapterDeps = {
    rds: () => new RDSClient({ region: 'us-east-1' }),
    route53: () => new Route53Client({ region: 'us-east-1' }),
    store,
    createdByTag: TAG,
    now: () => NOW,
  };
  adapter = createReplicaAdapter(deps);
  // What creation copies: the cluster's existing reader, the plain source (overridden per test).
  rdsMock.on(DescribeDBClustersCommand).resolves({
    DBClusters: [
      {
        DBClusterIdentifier: 'securecart-aurora',
        DBClusterMembers: [
          { DBInstanceIdentifier: 'securecart-aurora-writer', IsClusterWriter: true },
          { DBInstanceIdentifier: 'securecart-aurora-reader-1', IsClusterWriter: false },
        ],
      },
    ],
  });
  rdsMock
    .on(DescribeDBInstancesCommand, { Filters: [{ Name: 'db-cluster-id', Values: ['securecart-aurora'] }] })
    .resolves({
      DBInstances: [
        { DBInstanceIdentifier: 'securecart-aurora-writer', DBInstanceStatus: 'available' },
        AURORA_READER,
      ],
    });
  rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'securecart-mysql' }).resolves({
    DBInstances: [MYSQL_SOURCE],
  });
});

const AURORA_READER = {
  DBInstanceIdentifier: 'securecart-aurora-reader-1',
  DBInstanceStatus: 'available',
  DBParameterGroups: [{ DBParameterGroupName: 'catalog-pg16-tuned' }],
  PerformanceInsightsEnabled: true,
  PerformanceInsightsRetentionPeriod: 7,
  MonitoringInterval: 60,
  MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
};

const MYSQL_SOURCE = {
  DBInstanceIdentifier: 'securecart-mysql',
  DBInstanceArn: 'arn:aws:rds:us-east-1:123456789012:db:securecart-mysql',
  DBInstanceStatus: 'available',
  VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0app' }, { VpcSecurityGroupId: 'sg-0bastion' }],
  MonitoringInterval: 30,
  MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
  PerformanceInsightsEnabled: true,
  PerformanceInsightsKMSKeyId: 'arn:aws:kms:us-east-1:123456789012:key/pi',
  CACertificateIdentifier: 'rds-ca-ecc384-g1',
  PubliclyAccessible: false,
  StorageEncrypted: true,
};

afterEach(() => {
  rdsMock.reset();
  r53Mock.reset();
});

describe('Aurora reader creation', () => {
  it('creates a reader in the cluster with promotion tier 15, the engine and the ownership tag, and records it', async () => {
    rdsMock.on(CreateDBInstanceCommand).resolves({ DBInstance: { DBInstanceIdentifier: 'x' } });
    const result = await adapter(auroraAdd(), target);
    expect(result.status).toBe('applied');
    expect(rdsMock).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
      DBInstanceIdentifier: 'dbap-securecart-aurora-2026112318001',
      DBClusterIdentifier: 'securecart-aurora',
      Engine: 'aurora-postgresql',
      DBInstanceClass: 'db.r6g.large',
      PromotionTier: 15,
      Tags: expect.arrayContaining([{ Key: TAG.key, Value: TAG.value }]),
    });
    expect(await store.wasCreatedByUs('replicas', 'dbap-securecart-aurora-2026112318001')).toBe(true);
  });

  it('gives a new Aurora reader the parameter group, Performance Insights and monitoring of the existing readers', async () => {
    rdsMock.on(CreateDBInstanceCommand).resolves({});
    await adapter(auroraAdd(), target);
    expect(rdsMock).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
      DBParameterGroupName: 'catalog-pg16-tuned',
      EnablePerformanceInsights: true,
      PerformanceInsightsRetentionPeriod: 7,
      MonitoringInterval: 60,
      MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
    });
  });

  it('tries the next instance class on InsufficientDBInstanceCapacity and reports it', async () => {
    rdsMock
      .on(CreateDBInstanceCommand, { DBInstanceClass: 'db.r6g.large' })
      .rejects(new InsufficientDBInstanceCapacityFault({ message: 'no capacity', $metadata: {} }))
      .on(CreateDBInstanceCommand, { DBInstanceClass: 'db.r6g.xlarge' })
      .resolves({});
    const result = await adapter(auroraAdd(), target);
    expect(result).toMatchObject({ status: 'applied' });
    expect(result.status === 'applied' && result.detail).toMatch(
      /db\.r6g\.xlarge.*insufficient capacity for db\.r6g\.large/,
    );
    expect(rdsMock).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 2);
    expect(store.created.get('dbap-securecart-aurora-2026112318001')).toMatchObject({
      instanceClass: 'db.r6g.xlarge',
    });
  });

  it('tries each availability zone before the next class, and fails naming every attempt when none has capacity', async () => {
    rdsMock
      .on(CreateDBInstanceCommand)
      .rejects(new InsufficientDBInstanceCapacityFault({ message: 'no capacity', $metadata: {} }));
    const result = await adapter(auroraAdd({ availabilityZones: ['us-east-1a', 'us-east-1b'] }), target);
    expect(result.status).toBe('failed');
    expect(rdsMock).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 4);
    expect(rdsMock).toHaveReceivedNthCommandWith(CreateDBInstanceCommand, 2, {
      DBInstanceClass: 'db.r6g.large',
      AvailabilityZone: 'us-east-1b',
    });
    expect(result.status === 'failed' && result.reason).toMatch(/db\.r6g\.xlarge in us-east-1b/);
    expect(store.created.size).toBe(0);
  });

  it('defers while the cluster is not available', async () => {
    rdsMock
      .on(CreateDBInstanceCommand)
      .rejects(new InvalidDBClusterStateFault({ message: 'cluster is modifying', $metadata: {} }));
    const result = await adapter(auroraAdd(), target);
    expect(result).toMatchObject({ status: 'deferred', until: '2026-11-23T18:05:00.000Z' });
  });

  it('never creates a twin when a redelivered run asks for the same name', async () => {
    rdsMock
      .on(CreateDBInstanceCommand)
      .rejects(new DBInstanceAlreadyExistsFault({ message: 'exists', $metadata: {} }));
    const result = await adapter(auroraAdd(), target);
    expect(result.status).toBe('skipped');
    expect(store.created.size).toBe(0);
  });

  it('refuses a replica name without the dbap- prefix and calls nothing', async () => {
    const result = await adapter(auroraAdd({ replicaId: 'reader-3' }), target);
    expect(result).toMatchObject({ status: 'failed', code: 'InvalidParams' });
    expect(result.status === 'failed' && result.reason).toMatch(/params\.replicaId/);
    expect(rdsMock).not.toHaveReceivedCommand(CreateDBInstanceCommand);
  });

  it('copies the security groups, monitoring, Performance Insights, CA certificate and public accessibility of the source', async () => {
    rdsMock.on(CreateDBInstanceReadReplicaCommand).resolves({});
    const result = await adapter(
      action('add-replica', {
        family: 'rds',
        sourceId: 'securecart-mysql',
        replicaId: 'dbap-securecart-mysql-2026112318001',
        engine: 'mysql',
        instanceClass: 'db.m6g.large',
      }),
      target,
    );
    expect(result.status).toBe('applied');
    expect(rdsMock).toHaveReceivedCommandWith(CreateDBInstanceReadReplicaCommand, {
      VpcSecurityGroupIds: ['sg-0app', 'sg-0bastion'],
      MonitoringInterval: 30,
      MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
      EnablePerformanceInsights: true,
      PerformanceInsightsKMSKeyId: 'arn:aws:kms:us-east-1:123456789012:key/pi',
      CACertificateIdentifier: 'rds-ca-ecc384-g1',
      PubliclyAccessible: false,
    });
    // Same Region: parameter, option and subnet groups are inherited, never sent.
    const sent = rdsMock.commandCalls(CreateDBInstanceReadReplicaCommand)[0]?.args[0].input;
    expect(sent?.DBParameterGroupName).toBeUndefined();
    expect(sent?.DBSubnetGroupName).toBeUndefined();
  });

  it('turns on IAM database authentication on the replica when the source has it (RDS leaves it off by default)', () => {
    const base = {
      replicaId: 'dbap-securecart-mysql-2026112318001',
      instanceClass: 'db.m6g.large',
      tags: [],
    };
    const withIam = readReplicaInput({ ...MYSQL_SOURCE, IAMDatabaseAuthenticationEnabled: true }, base);
    expect(withIam.EnableIAMDatabaseAuthentication).toBe(true);
    expect(readReplicaInput(MYSQL_SOURCE, base).EnableIAMDatabaseAuthentication).toBe(false);
  });

  it("gives the replica the source's storage autoscaling maximum, so it cannot fill up while the source grows", () => {
    const base = { replicaId: 'dbap-securecart-mysql-3', instanceClass: 'db.m6g.large', tags: [] };
    const grows = { ...MYSQL_SOURCE, AllocatedStorage: 200, MaxAllocatedStorage: 1000 };
    expect(readReplicaInput(grows, base).MaxAllocatedStorage).toBe(1000);
    // Within 10% of its own maximum: the replica gets the 10% AWS requires above its size.
    const nearMax = { ...MYSQL_SOURCE, AllocatedStorage: 950, MaxAllocatedStorage: 1000 };
    expect(readReplicaInput(nearMax, base).MaxAllocatedStorage).toBe(1045);
    // No autoscaling on the source: none on the replica.
    expect(readReplicaInput(MYSQL_SOURCE, base)).not.toHaveProperty('MaxAllocatedStorage');
  });

  it('across Regions names the subnet, parameter and option groups and a KMS key for an encrypted source', () => {
    const input = readReplicaInput(
      MYSQL_SOURCE,
      { replicaId: 'dbap-securecart-mysql-dr', instanceClass: 'db.m6g.large', tags: [] },
      {
        dbSubnetGroupName: 'dr-private',
        dbParameterGroupName: 'mysql80-dr',
        optionGroupName: 'mysql80-dr',
        kmsKeyId: 'arn:aws:kms:us-west-2:123456789012:key/dr',
      },
    );
    expect(input).toMatchObject({
      SourceDBInstanceIdentifier: MYSQL_SOURCE.DBInstanceArn,
      DBSubnetGroupName: 'dr-private',
      DBParameterGroupName: 'mysql80-dr',
      OptionGroupName: 'mysql80-dr',
      KmsKeyId: 'arn:aws:kms:us-west-2:123456789012:key/dr',
    });
  });
});

describe('plain RDS read replica creation', () => {
  it('creates a read replica of the source with the ownership tag', async () => {
    rdsMock.on(CreateDBInstanceReadReplicaCommand).resolves({});
    const result = await adapter(
      action('add-replica', {
        family: 'rds',
        sourceId: 'securecart-mysql',
        replicaId: 'dbap-securecart-mysql-2026112318001',
        engine: 'mysql',
        instanceClass: 'db.m6g.large',
      }),
      target,
    );
    expect(result.status).toBe('applied');
    expect(rdsMock).toHaveReceivedCommandWith(CreateDBInstanceReadReplicaCommand, {
      DBInstanceIdentifier: 'dbap-securecart-mysql-2026112318001',
      SourceDBInstanceIdentifier: 'securecart-mysql',
      DBInstanceClass: 'db.m6g.large',
      Tags: expect.arrayContaining([{ Key: TAG.key, Value: TAG.value }]),
    });
    expect(rdsMock).not.toHaveReceivedCommand(CreateDBInstanceCommand);
  });
});

describe('replica deletion', () => {
  const rdsRemove = () =>
    action(
      'remove-replica',
      { family: 'rds', sourceId: 'securecart-mysql', replicaId: 'dbap-securecart-mysql-1' },
      'dbap-securecart-mysql-1',
    );

  it('deletes a read replica it created with SkipFinalSnapshot and forgets it', async () => {
    await store.recordCreated('replicas', 'dbap-securecart-mysql-1', {});
    rdsMock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'dbap-securecart-mysql-1',
          DBInstanceStatus: 'available',
          ReadReplicaSourceDBInstanceIdentifier: 'securecart-mysql',
          TagList: [{ Key: TAG.key, Value: TAG.value }],
        },
      ],
    });
    rdsMock.on(DeleteDBInstanceCommand).resolves({});
    const result = await adapter(rdsRemove(), target);
    expect(result.status).toBe('applied');
    expect(rdsMock).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'dbap-securecart-mysql-1',
      SkipFinalSnapshot: true,
    });
    expect(await store.wasCreatedByUs('replicas', 'dbap-securecart-mysql-1')).toBe(false);
  });

  it('leaves alone a replica without a recorded create, even with the tag', async () => {
    rdsMock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        { DBInstanceIdentifier: 'dbap-securecart-mysql-1', TagList: [{ Key: TAG.key, Value: TAG.value }] },
      ],
    });
    const result = await adapter(rdsRemove(), target);
    expect(result.status).toBe('skipped');
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('leaves alone a recorded replica whose ownership tag was removed', async () => {
    await store.recordCreated('replicas', 'dbap-securecart-mysql-1', {});
    rdsMock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'dbap-securecart-mysql-1',
          ReadReplicaSourceDBInstanceIdentifier: 'securecart-mysql',
          TagList: [],
        },
      ],
    });
    const result = await adapter(rdsRemove(), target);
    expect(result).toMatchObject({ status: 'skipped' });
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('never deletes an Aurora instance that became the writer', async () => {
    await store.recordCreated('replicas', 'dbap-a', {});
    rdsMock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'dbap-a',
          DBClusterIdentifier: 'securecart-aurora',
          DBInstanceStatus: 'available',
          TagList: [{ Key: TAG.key, Value: TAG.value }],
        },
      ],
    });
    rdsMock.on(DescribeDBClustersCommand).resolves({
      DBClusters: [{ DBClusterMembers: [{ DBInstanceIdentifier: 'dbap-a', IsClusterWriter: true }] }],
    });
    const result = await adapter(
      action(
        'remove-replica',
        { family: 'aurora', sourceId: 'securecart-aurora', replicaId: 'dbap-a' },
        'dbap-a',
      ),
      target,
    );
    expect(result.status).toBe('skipped');
    expect(result.status === 'skipped' && result.reason).toMatch(/writer/);
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('never deletes an Aurora instance the cluster does not confirm as a reader', async () => {
    await store.recordCreated('replicas', 'dbap-a', {});
    rdsMock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'dbap-a',
          DBClusterIdentifier: 'securecart-aurora',
          DBInstanceStatus: 'available',
          TagList: [{ Key: TAG.key, Value: TAG.value }],
        },
      ],
    });
    rdsMock.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ DBClusterMembers: [] }] });
    const result = await adapter(
      action(
        'remove-replica',
        { family: 'aurora', sourceId: 'securecart-aurora', replicaId: 'dbap-a' },
        'dbap-a',
      ),
      target,
    );
    expect(result).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/cannot confirm/) });
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('deletes an Aurora reader it created without a final snapshot parameter', async () => {
    await store.recordCreated('replicas', 'dbap-a', {});
    rdsMock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'dbap-a',
          DBClusterIdentifier: 'securecart-aurora',
          TagList: [{ Key: TAG.key, Value: TAG.value }],
        },
      ],
    });
    rdsMock.on(DescribeDBClustersCommand).resolves({
      DBClusters: [{ DBClusterMembers: [{ DBInstanceIdentifier: 'dbap-a', IsClusterWriter: false }] }],
    });
    rdsMock.on(DeleteDBInstanceCommand).resolves({});
    const result = await adapter(
      action(
        'remove-replica',
        { family: 'aurora', sourceId: 'securecart-aurora', replicaId: 'dbap-a' },
        'dbap-a',
      ),
      target,
    );
    expect(result.status).toBe('applied');
    const call = rdsMock.commandCalls(DeleteDBInstanceCommand)[0];
    expect(call?.args[0].input).toEqual({ DBInstanceIdentifier: 'dbap-a' });
  });

  it('defers when RDS says the instance is not in a state to delete', async () => {
    await store.recordCreated('replicas', 'dbap-securecart-mysql-1', {});
    rdsMock.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'dbap-securecart-mysql-1',
          ReadReplicaSourceDBInstanceIdentifier: 'securecart-mysql',
          TagList: [{ Key: TAG.key, Value: TAG.value }],
        },
      ],
    });
    rdsMock
      .on(DeleteDBInstanceCommand)
      .rejects(
        new InvalidDBInstanceStateFault({ message: 'Instance is not in available state', $metadata: {} }),
      );
    const result = await adapter(rdsRemove(), target);
    expect(result.status).toBe('deferred');
    expect(await store.wasCreatedByUs('replicas', 'dbap-securecart-mysql-1')).toBe(true);
  });
});

describe('Route 53 read routing', () => {
  const routeParams = { ...ROUTING, replicaId: 'dbap-m', endpoint: 'dbap-m.abc.us-east-1.rds.amazonaws.com' };
  beforeEach(() => {
    rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'dbap-m' }).resolves({
      DBInstances: [{ DBInstanceIdentifier: 'dbap-m', DBInstanceStatus: 'available' }],
    });
  });

  for (const status of ['failed', 'storage-full', 'deleting', 'creating']) {
    it(`never routes reads to a replica that is ${status} (a replayed undo of a withdrawal)`, async () => {
      rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'dbap-m' }).resolves({
        DBInstances: [{ DBInstanceIdentifier: 'dbap-m', DBInstanceStatus: status }],
      });
      const result = await adapter(action('add-route', routeParams, 'dbap-m'), target);
      expect(result).toMatchObject({ status: 'skipped', reason: expect.stringContaining(status) });
      expect(r53Mock).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    });
  }

  it('never routes reads to a replica that no longer exists', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'dbap-m' })
      .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance dbap-m not found.', $metadata: {} }));
    const result = await adapter(action('add-route', routeParams, 'dbap-m'), target);
    expect(result.status).toBe('skipped');
    expect(r53Mock).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('upserts a weighted CNAME per replica with the replica id as set identifier', async () => {
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({});
    const result = await adapter(action('add-route', routeParams, 'dbap-m'), target);
    expect(result.status).toBe('applied');
    expect(r53Mock).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      HostedZoneId: ROUTING.hostedZoneId,
      ChangeBatch: expect.objectContaining({
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: ROUTING.recordName,
              Type: 'CNAME',
              SetIdentifier: 'dbap-m',
              Weight: 100,
              TTL: 30,
              ResourceRecords: [{ Value: 'dbap-m.abc.us-east-1.rds.amazonaws.com' }],
            },
          },
        ],
      }),
    });
  });

  it('deletes exactly the record that exists for the replica', async () => {
    const existing = {
      Name: 'reads.securecart.internal.',
      Type: 'CNAME' as const,
      SetIdentifier: 'dbap-m',
      Weight: 50,
      TTL: 60,
      ResourceRecords: [{ Value: 'dbap-m.abc.us-east-1.rds.amazonaws.com' }],
    };
    r53Mock.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { ...existing, SetIdentifier: 'securecart-mysql', ResourceRecords: [{ Value: 'primary' }] },
        existing,
        { Name: 'zzz.securecart.internal.', Type: 'A', ResourceRecords: [{ Value: '10.0.0.1' }] },
      ],
      IsTruncated: false,
    });
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({});
    const result = await adapter(action('remove-route', routeParams, 'dbap-m'), target);
    expect(result.status).toBe('applied');
    expect(r53Mock).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      ChangeBatch: expect.objectContaining({ Changes: [{ Action: 'DELETE', ResourceRecordSet: existing }] }),
    });
  });

  it('stops listing once the next page starts at another record name', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { Name: 'zzz.securecart.internal.', Type: 'A', ResourceRecords: [{ Value: '10.0.0.1' }] },
      ],
      IsTruncated: true,
      NextRecordName: 'zzz2.securecart.internal.',
      NextRecordType: 'CNAME',
    });
    const result = await adapter(action('remove-route', routeParams, 'dbap-m'), target);
    expect(result.status).toBe('applied');
    expect(r53Mock.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(1);
  });

  it('treats an already-removed record as done', async () => {
    r53Mock.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [], IsTruncated: false });
    const result = await adapter(action('remove-route', routeParams, 'dbap-m'), target);
    expect(result.status).toBe('applied');
    expect(r53Mock).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('defers while a previous Route 53 change is still in progress', async () => {
    r53Mock
      .on(ChangeResourceRecordSetsCommand)
      .rejects(new PriorRequestNotComplete({ message: 'busy', $metadata: {} }));
    const result = await adapter(action('add-route', routeParams, 'dbap-m'), target);
    expect(result.status).toBe('deferred');
  });

  it('fails with the Route 53 reason when the change batch is rejected', async () => {
    r53Mock
      .on(ChangeResourceRecordSetsCommand)
      .rejects(new InvalidChangeBatch({ message: 'RRSet with DNS name x is not permitted', $metadata: {} }));
    const result = await adapter(action('add-route', routeParams, 'dbap-m'), target);
    expect(result).toMatchObject({ status: 'failed', code: 'InvalidChangeBatch' });
  });
});

describe('recorded undo', () => {
  it('replays the undo of a removal as a valid creation of a new reader', async () => {
    const obs = aurora([
      reader('r1', { cpuPercent: 5 }),
      ours('dbap-a', { cpuPercent: 5, maxConnections: 0 }),
    ]);
    const removal = planReplicas(obs, settings(), { recommendations: [] }, NOW).plan.actions.find(
      (a) => a.kind === 'remove-replica' && a.resource.id === 'dbap-a',
    );
    const undo = removal?.undo;
    expect(undo?.kind).toBe('add-replica');
    rdsMock.on(CreateDBInstanceCommand).resolves({});
    const result = await adapter(
      { ...(removal as Action), kind: 'add-replica', params: { ...undo?.params, undoKind: undo?.kind } },
      target,
    );
    expect(result.status).toBe('applied');
    expect(rdsMock).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
      DBClusterIdentifier: 'securecart-aurora',
      Engine: 'aurora-postgresql',
      PromotionTier: 15,
    });
  });
});

describe('removing a routed replica (revert of a scale-out)', () => {
  const removal = () =>
    action(
      'remove-replica',
      {
        family: 'rds',
        sourceId: 'securecart-mysql',
        replicaId: 'dbap-securecart-mysql-1',
        routing: { hostedZoneId: ROUTING.hostedZoneId, recordName: ROUTING.recordName },
      },
      'dbap-securecart-mysql-1',
    );
  const record = {
    Name: 'reads.securecart.internal.',
    Type: 'CNAME' as const,
    SetIdentifier: 'dbap-securecart-mysql-1',
    Weight: 100,
    TTL: 30,
    ResourceRecords: [{ Value: 'dbap-securecart-mysql-1.abc.us-east-1.rds.amazonaws.com' }],
  };

  it('removes the record first and leaves the replica for a later attempt, once connections drained', async () => {
    await store.recordCreated('replicas', 'dbap-securecart-mysql-1', {});
    r53Mock.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [record], IsTruncated: false });
    r53Mock.on(ChangeResourceRecordSetsCommand).resolves({});
    const result = await adapter(removal(), target);
    expect(result.status).toBe('deferred');
    expect(r53Mock).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      ChangeBatch: expect.objectContaining({ Changes: [{ Action: 'DELETE', ResourceRecordSet: record }] }),
    });
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('deletes the replica once no record routes to it', async () => {
    await store.recordCreated('replicas', 'dbap-securecart-mysql-1', {});
    r53Mock.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [], IsTruncated: false });
    rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'dbap-securecart-mysql-1' }).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'dbap-securecart-mysql-1',
          DBInstanceStatus: 'available',
          ReadReplicaSourceDBInstanceIdentifier: 'securecart-mysql',
          TagList: [{ Key: TAG.key, Value: TAG.value }],
        },
      ],
    });
    rdsMock.on(DeleteDBInstanceCommand).resolves({});
    const result = await adapter(removal(), target);
    expect(result.status).toBe('applied');
    expect(r53Mock).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    expect(rdsMock).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'dbap-securecart-mysql-1',
    });
  });
});
