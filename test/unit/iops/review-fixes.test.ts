import {
  DescribeDBInstancesCommand,
  DescribeEventsCommand,
  DescribeValidDBInstanceModificationsCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RDSServiceException,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIopsAdapter, mapRdsError } from '../../../shared/adapters/rds-iops.ts';
import { classEbsLimit } from '../../../shared/aws/rds-storage-limits.ts';
import type { Target } from '../../../shared/core/contracts.ts';
import type { Action, Decision } from '../../../shared/core/model.ts';
import { buildStorageLedger, storageChangeRules } from '../../../shared/policies/iops-ledger.ts';

const NOW = new Date('2026-11-20T18:00:00.000Z');
const HOUR = 3_600_000;
const rds = mockClient(RDSClient);
const client = new RDSClient({ region: 'us-east-1' });
const adapter = createIopsAdapter({ rds: () => client, now: () => NOW });
const growing = createIopsAdapter({ rds: () => client, now: () => NOW, allowStorageGrowthForIops: true });
const target: Target = {
  ref: { kind: 'rds-instance', id: 'orders-db' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};

function action(kind: Action['kind'], params: Record<string, unknown>, to: unknown = params.Iops): Action {
  return {
    tuner: 'iops',
    resource: target.ref,
    kind,
    from: null,
    to,
    reason: 'test',
    evidence: [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: true,
    params,
  };
}

function instance(overrides: Record<string, unknown> = {}) {
  return {
    DBInstanceIdentifier: 'orders-db',
    DBInstanceStatus: 'available',
    Engine: 'postgres',
    StorageType: 'io1',
    AllocatedStorage: 500,
    Iops: 10_000,
    PendingModifiedValues: {},
    ...overrides,
  };
}

const VALID = {
  ValidDBInstanceModificationsMessage: {
    Storage: [
      {
        StorageType: 'io1',
        StorageSize: [{ From: 100, To: 65_536, Step: 1 }],
        ProvisionedIops: [{ From: 1000, To: 256_000, Step: 1 }],
        IopsToStorageRatio: [{ From: 0.5, To: 50 }],
      },
      { StorageType: 'gp3', StorageSize: [{ From: 20, To: 65_536, Step: 1 }] },
    ],
  },
};

const modifyInput = () => rds.commandCalls(ModifyDBInstanceCommand)[0]?.args[0].input;

beforeEach(() => {
  rds.reset();
  rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [instance()] });
  rds.on(DescribeEventsCommand).resolves({ Events: [] });
  rds.on(DescribeValidDBInstanceModificationsCommand).resolves(VALID);
  rds.on(ModifyDBInstanceCommand).resolves({ DBInstance: { DBInstanceStatus: 'modifying' } });
});

afterEach(() => {
  rds.reset();
});

describe('instance-class EBS limits (EC2 User Guide, EBS-optimized instances)', () => {
  it('has the documented maxima of the large Graviton2 classes', () => {
    expect(classEbsLimit('db.r6g.8xlarge')?.maxIops).toBe(40_000);
    expect(classEbsLimit('db.r6g.12xlarge')?.maxIops).toBe(50_000);
    expect(classEbsLimit('db.r6g.16xlarge')?.maxIops).toBe(80_000);
    expect(classEbsLimit('db.m6g.16xlarge')?.maxIops).toBe(80_000);
    expect(classEbsLimit('db.r6g.xlarge')?.baselineMibps).toBe(148.5);
  });

  it('has the documented baselines of the burstable and 6th-generation Intel classes', () => {
    expect(classEbsLimit('db.t3.micro')?.baselineIops).toBe(500);
    expect(classEbsLimit('db.t3.medium')?.baselineIops).toBe(2000);
    expect(classEbsLimit('db.t4g.micro')?.baselineIops).toBe(500);
    expect(classEbsLimit('db.t4g.2xlarge')?.baselineIops).toBe(4000);
    expect(classEbsLimit('db.m6i.large')).toEqual({
      baselineIops: 3600,
      maxIops: 40_000,
      baselineMibps: 81.25,
      maxMibps: 1250,
    });
    expect(classEbsLimit('db.r6i.4xlarge')?.baselineIops).toBe(20_000);
  });
});

describe('storage-change ledger: changes made with a manual override', () => {
  it('counts a change applied by an override run while the tuner is in observe mode', () => {
    const at = new Date(NOW.getTime() - HOUR).toISOString();
    const decision: Decision = {
      id: at,
      runId: 'r',
      at,
      tuner: 'iops',
      resource: 'orders-db',
      resourceKind: 'rds-instance',
      action: 'set-iops',
      outcome: 'applied',
      reason: '',
      evidence: [],
      monthlyCostDelta: 0,
      from: 10_000,
      to: 20_000,
      undo: null,
      mode: 'observe',
      dryRun: false,
      override: true,
      trigger: 'manual',
      severity: 'info',
    };
    const ledger = buildStorageLedger({
      instance: { status: 'available' },
      events: [],
      decisions: [decision],
    });
    expect(ledger.changes).toHaveLength(1);
    const wait = storageChangeRules(ledger, NOW).find((r) => r.rule === 'aws:storage-wait-6h');
    expect(wait).toMatchObject({
      verdict: 'defer',
      until: new Date(Date.parse(at) + 6 * HOUR).toISOString(),
    });
  });

  it('does not count a dry run', () => {
    const at = new Date(NOW.getTime() - HOUR).toISOString();
    const ledger = buildStorageLedger({
      instance: { status: 'available' },
      events: [],
      decisions: [
        {
          id: at,
          runId: 'r',
          at,
          tuner: 'iops',
          resource: 'orders-db',
          resourceKind: 'rds-instance',
          action: 'set-iops',
          outcome: 'applied',
          reason: '',
          evidence: [],
          monthlyCostDelta: 0,
          from: 1,
          to: 2,
          undo: null,
          mode: 'apply',
          dryRun: true,
          override: false,
          trigger: 'manual',
          severity: 'info',
        },
      ],
    });
    expect(ledger.changes).toEqual([]);
  });
});

describe('IOPS adapter: instances it must never modify', () => {
  it('skips an Aurora cluster member (its storage is the cluster’s) without calling ModifyDBInstance', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        instance({
          DBClusterIdentifier: 'orders-cluster',
          Engine: 'aurora-postgresql',
          StorageType: 'aurora',
          Iops: undefined,
        }),
      ],
    });
    const result = await adapter(action('set-iops', { AllocatedStorage: 500, Iops: 20_000 }), target);
    expect(result.status).toBe('skipped');
    expect(result.status === 'skipped' && result.reason).toMatch(/orders-cluster/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
    expect(rds).not.toHaveReceivedCommand(DescribeValidDBInstanceModificationsCommand);
  });
});

describe('IOPS adapter: the storage size it sends', () => {
  it('does not grow storage by less than 10% when autoscaling moved it since the plan', async () => {
    // Planned 500 -> 700 GiB; autoscaling has grown it to 650 since: 700 is only +7.7%.
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [instance({ AllocatedStorage: 650 })] });
    const result = await growing(
      action('set-iops', { AllocatedStorage: 700, Iops: 30_000, growsStorage: true }),
      target,
    );
    expect(result.status).toBe('skipped');
    expect(result.status === 'skipped' && result.reason).toMatch(/10%/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('never applies a size a person queued in PendingModifiedValues: it defers and says so', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [instance({ PendingModifiedValues: { AllocatedStorage: 600 } })],
    });
    const result = await adapter(action('set-iops', { AllocatedStorage: 500, Iops: 20_000 }), target);
    expect(result.status).toBe('deferred');
    expect(result.status === 'deferred' && result.reason).toMatch(/AllocatedStorage=600/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });
});

describe('IOPS adapter: gp3 IOPS and throughput', () => {
  const gp3Valid = {
    ValidDBInstanceModificationsMessage: {
      Storage: [{ StorageType: 'gp3', StorageSize: [{ From: 20, To: 65_536, Step: 1 }] }],
    },
  };

  it('moves a small gp2 volume to gp3 without IOPS or throughput (fixed below 400 GiB)', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [instance({ StorageType: 'gp2', AllocatedStorage: 200, Iops: 600, StorageThroughput: 0 })],
    });
    rds.on(DescribeValidDBInstanceModificationsCommand).resolves(gp3Valid);
    const result = await adapter(
      action('set-storage-type', { StorageType: 'gp3', AllocatedStorage: 200 }, { storageType: 'gp3' }),
      target,
    );
    expect(result.status).toBe('applied');
    const input = modifyInput();
    expect(input).toMatchObject({ StorageType: 'gp3', AllocatedStorage: 200, ApplyImmediately: true });
    expect(input).not.toHaveProperty('StorageThroughput');
    expect(input).not.toHaveProperty('Iops');
  });

  it('refuses to set IOPS on gp3 below 400 GiB', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        instance({ StorageType: 'gp3', AllocatedStorage: 300, Iops: 3000, StorageThroughput: 125 }),
      ],
    });
    rds.on(DescribeValidDBInstanceModificationsCommand).resolves(gp3Valid);
    const result = await adapter(action('set-iops', { AllocatedStorage: 300, Iops: 6000 }), target);
    expect(result.status).toBe('skipped');
    expect(result.status === 'skipped' && result.reason).toMatch(/400 GiB/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('sends StorageThroughput with the IOPS on gp3 even when the action carries none', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [instance({ StorageType: 'gp3', AllocatedStorage: 500, Iops: 12_000 })],
    });
    rds.on(DescribeValidDBInstanceModificationsCommand).resolves(gp3Valid);
    const result = await adapter(action('set-iops', { AllocatedStorage: 500, Iops: 16_000 }), target);
    expect(result.status).toBe('applied');
    expect(modifyInput()).toMatchObject({ AllocatedStorage: 500, Iops: 16_000, StorageThroughput: 500 });
  });
});

describe('RDS errors: retry-later outcomes', () => {
  const later = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
  const combination = (message: string) =>
    new RDSServiceException({
      name: 'InvalidParameterCombination',
      $fault: 'client',
      message,
      $metadata: {},
    });

  it('defers the 4-storage-changes-per-24-hours rejection instead of failing', () => {
    const result = mapRdsError(
      combination(
        "You can't currently modify the storage of this DB instance. You can make at most 4 storage modifications in 24 hours.",
      ),
      later,
    );
    expect(result.status).toBe('deferred');
    expect(result.status === 'deferred' && Date.parse(result.until)).toBeGreaterThan(NOW.getTime());
  });

  it('defers the 6-hour rejection until 6 h after the modification it names', () => {
    const last = new Date(NOW.getTime() - 2 * HOUR).toISOString();
    const result = mapRdsError(
      combination(
        `You can't currently modify the storage of this DB instance. Storage can be modified only once every 6 hours; the last storage modification was at ${last}.`,
      ),
      later,
    );
    expect(result).toMatchObject({
      status: 'deferred',
      until: new Date(NOW.getTime() + 4 * HOUR).toISOString(),
    });
  });

  it('recognises faults by name when they are not instances of this SDK copy’s classes', () => {
    const named = (name: string) => Object.assign(new Error('from another SDK copy'), { name });
    expect(mapRdsError(named('InvalidDBInstanceStateFault'), later).status).toBe('deferred');
    expect(mapRdsError(named('InsufficientDBInstanceCapacityFault'), later).status).toBe('deferred');
    expect(mapRdsError(named('DBInstanceNotFoundFault'), later).status).toBe('skipped');
    expect(mapRdsError(named('StorageQuotaExceededFault'), later)).toMatchObject({
      status: 'failed',
      code: 'StorageQuotaExceeded',
    });
  });
});

describe('IOPS adapter: RDS events on later pages', () => {
  it('reads every DescribeEvents page, so a recent change on page 2 still defers the next one', async () => {
    const old = new Date(NOW.getTime() - 20 * HOUR);
    const recent = new Date(NOW.getTime() - HOUR);
    rds
      .on(DescribeEventsCommand)
      .resolvesOnce({
        Events: Array.from({ length: 100 }, () => ({ Date: old, Message: 'Backing up DB instance' })),
        Marker: 'page-2',
      })
      .resolves({ Events: [{ Date: recent, Message: 'Applying modification to allocated storage' }] });
    const result = await adapter(action('set-iops', { AllocatedStorage: 500, Iops: 20_000 }), target);
    expect(result).toMatchObject({
      status: 'deferred',
      until: new Date(recent.getTime() + 6 * HOUR).toISOString(),
    });
    expect(rds).toHaveReceivedCommandWith(DescribeEventsCommand, { Marker: 'page-2' });
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });
});
