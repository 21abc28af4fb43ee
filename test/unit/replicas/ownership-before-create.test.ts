import {
  CreateDBInstanceCommand,
  type DBInstance,
  DBInstanceAlreadyExistsFault,
  DescribeDBInstancesCommand,
  InstanceQuotaExceededFault,
  RDSClient,
  RDSServiceException,
} from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReplicaAdapter, type ReplicaAdapterDeps } from '../../../shared/adapters/rds-replicas.ts';
import type { Target } from '../../../shared/core/contracts.ts';
import type { Action } from '../../../shared/core/model.ts';

const rdsMock = mockClient(RDSClient);
const TAG = { key: 'db-autopilot:created-by', value: 'db-autopilot' };
const NOW = new Date('2026-11-23T18:00:00Z');
const REPLICA = 'dbap-securecart-aurora-2026112318001';

const target: Target = {
  ref: { kind: 'aurora-cluster', id: 'securecart-aurora' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};

const add: Action = {
  tuner: 'replicas',
  resource: { kind: 'aurora-cluster', id: 'securecart-aurora' },
  kind: 'add-replica',
  from: 1,
  to: 2,
  reason: 'test',
  evidence: [],
  monthlyCostDelta: 0,
  undo: null,
  mutating: true,
  params: {
    family: 'aurora',
    sourceId: 'securecart-aurora',
    replicaId: REPLICA,
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
  },
};

/**
 * The create is answered DBInstanceAlreadyExists (the SDK's retry after a lost answer, or a name an
 * earlier run used), and DescribeDBInstances shows the instance: ours (created-by tag), in the cluster.
 */
function retryFinds(instance: Partial<DBInstance>): void {
  rdsMock
    .on(CreateDBInstanceCommand)
    .rejects(new DBInstanceAlreadyExistsFault({ message: 'exists', $metadata: {} }));
  rdsMock.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: REPLICA,
        DBClusterIdentifier: 'securecart-aurora',
        TagList: [{ Key: TAG.key, Value: TAG.value }],
        ...instance,
      },
    ],
  });
}

describe('replica ownership is recorded before CreateDBInstance (issue 21)', () => {
  const created = new Map<string, Record<string, unknown>>();
  /** What the store held at the moment CreateDBInstance was sent. */
  let recordedAtCreate: Record<string, unknown> | undefined;
  let adapter: ReturnType<typeof createReplicaAdapter>;

  beforeEach(() => {
    created.clear();
    recordedAtCreate = undefined;
    const deps: ReplicaAdapterDeps = {
      rds: () => new RDSClient({ region: 'us-east-1' }),
      route53: () => new Route53Client({ region: 'us-east-1' }),
      store: {
        recordCreated: async (_tuner, id, detail) => void created.set(id, detail),
        wasCreatedByUs: async (_tuner, id) => created.has(id),
        forgetCreated: async (_tuner, id) => void created.delete(id),
      },
      createdByTag: TAG,
      now: () => NOW,
    };
    adapter = createReplicaAdapter(deps);
  });
  afterEach(() => rdsMock.reset());

  it('holds the ownership record when the create is sent, and confirms it after', async () => {
    rdsMock.on(CreateDBInstanceCommand).callsFake(async () => {
      recordedAtCreate = structuredClone(created.get(REPLICA));
      return { DBInstance: { DBInstanceIdentifier: REPLICA } };
    });
    expect(await adapter(add, target)).toMatchObject({ status: 'applied' });
    expect(recordedAtCreate).toMatchObject({ sourceId: 'securecart-aurora', status: 'intended' });
    expect(created.get(REPLICA)).toMatchObject({ status: 'confirmed' });
  });

  it('keeps the record when the response is lost after the create (the replica must not be orphaned)', async () => {
    rdsMock.on(CreateDBInstanceCommand).rejects(
      new RDSServiceException({
        name: 'InternalFailure',
        $fault: 'server',
        message: 'connection reset after the request was sent',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    expect(await adapter(add, target)).toMatchObject({ status: 'failed' });
    expect(created.has(REPLICA)).toBe(true);
  });

  it('drops the record when AWS certainly created nothing (quota reached)', async () => {
    rdsMock
      .on(CreateDBInstanceCommand)
      .rejects(new InstanceQuotaExceededFault({ message: 'quota', $metadata: {} }));
    expect(await adapter(add, target)).toMatchObject({ status: 'skipped' });
    expect(created.has(REPLICA)).toBe(false);
  });

  it('keeps the record on a retry that finds its own earlier replica (tagged, same source)', async () => {
    retryFinds({});
    expect(await adapter(add, target)).toMatchObject({ status: 'skipped' });
    expect(created.has(REPLICA)).toBe(true);
  });

  it("records the create as applied when the SDK's retry finds the instance its own lost first attempt made", async () => {
    // Adaptive retries (MAX_ATTEMPTS 3): the first CreateDBInstance made the reader and its answer
    // was lost (5xx / timeout); the retry is answered DBInstanceAlreadyExists.
    retryFinds({
      DBInstanceStatus: 'creating',
      InstanceCreateTime: new Date(NOW.getTime() + 20_000),
    });
    const result = await adapter(add, target);
    expect(result).toMatchObject({ status: 'applied' });
    expect(result.status === 'applied' && result.detail).toMatch(/retry found it/);
    expect(created.has(REPLICA)).toBe(true);
  });

  it('records it applied when the retry finds its instance still creating, which AWS shows without InstanceCreateTime', async () => {
    retryFinds({
      DBInstanceStatus: 'creating',
    });
    const result = await adapter(add, target);
    expect(result).toMatchObject({ status: 'applied' });
    expect(result.status === 'applied' && result.detail).toMatch(/no earlier run recorded creating it/);
    expect(created.get(REPLICA)).toMatchObject({ status: 'intended' });
  });

  it('skips an instance of that name still creating when an earlier run recorded creating it', async () => {
    created.set(REPLICA, { tuner: 'replicas', sourceId: 'securecart-aurora', status: 'confirmed' });
    retryFinds({
      DBInstanceStatus: 'creating',
    });
    expect(await adapter(add, target)).toMatchObject({ status: 'skipped' });
    expect(created.has(REPLICA)).toBe(true);
  });

  it('still skips an instance of that name an earlier run created', async () => {
    retryFinds({
      DBInstanceStatus: 'available',
      InstanceCreateTime: new Date(NOW.getTime() - 3_600_000),
    });
    expect(await adapter(add, target)).toMatchObject({ status: 'skipped' });
    expect(created.has(REPLICA)).toBe(true);
  });
});
