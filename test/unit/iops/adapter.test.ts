import {
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  DescribeEventsCommand,
  DescribeValidDBInstanceModificationsCommand,
  InsufficientDBInstanceCapacityFault,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  ProvisionedIopsNotAvailableInAZFault,
  RDSClient,
  RDSServiceException,
  StorageQuotaExceededFault,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIopsAdapter } from '../../../shared/adapters/rds-iops.ts';
import type { Target } from '../../../shared/core/contracts.ts';
import type { Action } from '../../../shared/core/model.ts';

const NOW = new Date('2026-11-20T18:00:00.000Z');
const rds = mockClient(RDSClient);
const client = new RDSClient({ region: 'us-east-1' });
const adapter = createIopsAdapter({ rds: () => client, now: () => NOW });
const target: Target = {
  ref: { kind: 'rds-instance', id: 'orders-db' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};

function setIops(iops: number, extra: Record<string, unknown> = {}): Action {
  return {
    tuner: 'iops',
    resource: target.ref,
    kind: 'set-iops',
    from: 10_000,
    to: iops,
    reason: 'test',
    evidence: [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: true,
    numericTarget: iops,
    params: { AllocatedStorage: 500, Iops: iops, ...extra },
  };
}

function instance(overrides: Record<string, unknown> = {}) {
  return {
    DBInstanceIdentifier: 'orders-db',
    DBInstanceStatus: 'available',
    StorageType: 'io1',
    AllocatedStorage: 500,
    Iops: 10_000,
    PendingModifiedValues: {},
    ...overrides,
  };
}

const VALID_IO1 = {
  ValidDBInstanceModificationsMessage: {
    Storage: [
      {
        StorageType: 'io1',
        StorageSize: [{ From: 100, To: 65_536, Step: 1 }],
        ProvisionedIops: [{ From: 1000, To: 256_000, Step: 1 }],
        IopsToStorageRatio: [{ From: 0.5, To: 50 }],
      },
    ],
  },
};

const meta = { $metadata: {} };

beforeEach(() => {
  rds.reset();
  rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [instance()] });
  rds.on(DescribeEventsCommand).resolves({ Events: [] });
  rds.on(DescribeValidDBInstanceModificationsCommand).resolves(VALID_IO1);
  rds.on(ModifyDBInstanceCommand).resolves({ DBInstance: { DBInstanceStatus: 'modifying' } });
});

afterEach(() => {
  rds.reset();
});

describe('IOPS adapter: the modification it sends', () => {
  it('sends AllocatedStorage and Iops together with ApplyImmediately after validating them', async () => {
    const result = await adapter(setIops(20_000), target);
    expect(result.status).toBe('applied');
    expect(rds).toHaveReceivedCommandWith(DescribeValidDBInstanceModificationsCommand, {
      DBInstanceIdentifier: 'orders-db',
    });
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      DBInstanceIdentifier: 'orders-db',
      AllocatedStorage: 500,
      Iops: 20_000,
      ApplyImmediately: true,
    });
  });

  it('sends StorageThroughput with the IOPS on gp3', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [instance({ StorageType: 'gp3', Iops: 12_000, StorageThroughput: 500 })],
    });
    rds.on(DescribeValidDBInstanceModificationsCommand).resolves({
      ValidDBInstanceModificationsMessage: {
        Storage: [
          {
            StorageType: 'gp3',
            StorageSize: [{ From: 20, To: 65_536, Step: 1 }],
            ProvisionedIops: [{ From: 12_000, To: 64_000, Step: 1 }],
            IopsToStorageRatio: [{ From: 0, To: 500 }],
            ProvisionedStorageThroughput: [{ From: 500, To: 4000, Step: 1 }],
            StorageThroughputToIopsRatio: [{ From: 0, To: 0.25 }],
          },
        ],
      },
    });
    const result = await adapter(setIops(16_000, { StorageThroughput: 500 }), target);
    expect(result.status).toBe('applied');
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      AllocatedStorage: 500,
      Iops: 16_000,
      StorageThroughput: 500,
      ApplyImmediately: true,
    });
  });

  it('caps an IOPS value outside DescribeValidDBInstanceModifications at its valid edge instead of skipping it', async () => {
    const result = await adapter(setIops(30_000), target); // 60 IOPS/GiB > 50 at 500 GiB
    expect(result.status).toBe('applied');
    expect(result.status === 'applied' && result.detail).toMatch(/capped at the valid edge 25000/);
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { AllocatedStorage: 500, Iops: 25_000 });
  });

  it('never grows storage to unlock IOPS unless allowed', async () => {
    const result = await adapter(setIops(30_000, { AllocatedStorage: 700, growsStorage: true }), target);
    expect(result.status).toBe('skipped');
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);

    const allowing = createIopsAdapter({
      rds: () => client,
      now: () => NOW,
      allowStorageGrowthForIops: true,
    });
    const grown = await allowing(setIops(30_000, { AllocatedStorage: 700, growsStorage: true }), target);
    expect(grown.status).toBe('applied');
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { AllocatedStorage: 700, Iops: 30_000 });
  });

  it('rejects malformed parameters with a message that says where, and changes nothing', async () => {
    const result = await adapter(setIops(20_000, { Iops: 'lots' }), target);
    expect(result.status).toBe('failed');
    expect(result.status === 'failed' && result.reason).toMatch(/params\.Iops/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });
});

describe('IOPS adapter: live state checks', () => {
  it('defers while PendingModifiedValues holds a non-storage change (ApplyImmediately would apply it)', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [instance({ PendingModifiedValues: { DBInstanceClass: 'db.r6i.4xlarge' } })],
    });
    const result = await adapter(setIops(20_000), target);
    expect(result.status).toBe('deferred');
    expect(result.status === 'deferred' && result.reason).toMatch(/DBInstanceClass/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('defers while a storage value a person queued for the maintenance window is pending (ApplyImmediately would apply it now)', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [instance({ PendingModifiedValues: { StorageType: 'io2', Iops: 12_000 } })],
    });
    const result = await adapter(setIops(20_000), target);
    expect(result.status).toBe('deferred');
    expect(result.status === 'deferred' && result.reason).toMatch(
      /StorageType="io2".*not set by db-autopilot/,
    );
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('defers while storage is optimizing', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [instance({ StorageOperationStatus: 'Optimizing', StorageOperationPercentProgress: 35 })],
    });
    const result = await adapter(setIops(20_000), target);
    expect(result.status).toBe('deferred');
    expect(result.status === 'deferred' && result.reason).toMatch(/35% done/);
  });

  it('defers within 6 h of a storage change made by autoscaling (RDS event), until that change + 6 h', async () => {
    rds.on(DescribeEventsCommand).resolves({
      Events: [
        {
          Date: new Date(NOW.getTime() - 2 * 3_600_000),
          Message: 'Finished applying autoscaling-initiated modification to allocated storage.',
        },
      ],
    });
    const result = await adapter(setIops(20_000), target);
    expect(result).toMatchObject({ status: 'deferred', until: '2026-11-20T22:00:00.000Z' });
  });

  it('defers on an instance that is backing up, and acts on one that is storage-full', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [instance({ DBInstanceStatus: 'backing-up' })] });
    expect((await adapter(setIops(20_000), target)).status).toBe('deferred');
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [instance({ DBInstanceStatus: 'storage-full' })] });
    expect((await adapter(setIops(20_000), target)).status).toBe('applied');
  });
});

describe('IOPS adapter: every RDS error becomes the right outcome', () => {
  const cases: Array<{ name: string; error: Error; outcome: string; match: RegExp }> = [
    {
      name: 'InvalidDBInstanceState',
      error: new InvalidDBInstanceStateFault({
        message: 'Instance orders-db is not in available state.',
        ...meta,
      }),
      outcome: 'deferred',
      match: /not in available state/,
    },
    {
      name: 'InvalidParameterCombination (previous storage change is being optimized)',
      error: Object.assign(
        new RDSServiceException({
          name: 'InvalidParameterCombination',
          $fault: 'client',
          message:
            "You can't currently modify the storage of this DB instance because the previous storage change is being optimized.",
          ...meta,
        }),
      ),
      outcome: 'deferred',
      match: /being optimized/,
    },
    {
      name: 'InvalidParameterCombination (IOPS with storage size less than 400)',
      error: new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        message:
          "You can't specify IOPS or storage throughput for engine postgres and a storage size less than 400.",
        ...meta,
      }),
      outcome: 'skipped',
      match: /storage size/,
    },
    {
      name: 'InvalidParameterCombination (No modifications were requested)',
      error: new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        message: 'No modifications were requested',
        ...meta,
      }),
      outcome: 'skipped',
      match: /already at the requested/,
    },
    {
      name: 'InvalidParameterCombination (anything else)',
      error: new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        message: 'You must specify both the storage size and iops when modifying the storage size or iops',
        ...meta,
      }),
      outcome: 'failed',
      match: /You must specify both/,
    },
    {
      name: 'StorageQuotaExceeded',
      error: new StorageQuotaExceededFault({ message: 'Storage quota exceeded', ...meta }),
      outcome: 'failed',
      match: /storage quota/,
    },
    {
      name: 'ProvisionedIopsNotAvailableInAZ',
      error: new ProvisionedIopsNotAvailableInAZFault({ message: 'not available in us-east-1a', ...meta }),
      outcome: 'failed',
      match: /Availability Zone/,
    },
    {
      name: 'InsufficientDBInstanceCapacity',
      error: new InsufficientDBInstanceCapacityFault({ message: 'insufficient capacity', ...meta }),
      outcome: 'deferred',
      match: /capacity/,
    },
    {
      name: 'DBInstanceNotFound',
      error: new DBInstanceNotFoundFault({ message: 'DBInstance orders-db not found', ...meta }),
      outcome: 'skipped',
      match: /not found/,
    },
    {
      name: 'Throttling',
      error: new RDSServiceException({
        name: 'Throttling',
        $fault: 'client',
        message: 'Rate exceeded',
        ...meta,
      }),
      outcome: 'deferred',
      match: /throttled/,
    },
  ];

  for (const c of cases) {
    it(`turns ${c.name} from ModifyDBInstance into ${c.outcome}`, async () => {
      rds.on(ModifyDBInstanceCommand).rejects(c.error);
      const result = await adapter(setIops(20_000), target);
      expect(result.status).toBe(c.outcome);
      const text = 'reason' in result ? result.reason : '';
      expect(text).toMatch(c.match);
      if (result.status === 'deferred') expect(Date.parse(result.until)).toBeGreaterThan(NOW.getTime());
    });
  }

  it('records the AWS error code on failures', async () => {
    rds.on(ModifyDBInstanceCommand).rejects(new StorageQuotaExceededFault({ message: 'quota', ...meta }));
    expect(await adapter(setIops(20_000), target)).toMatchObject({
      status: 'failed',
      code: 'StorageQuotaExceeded',
    });
  });

  it('turns InvalidDBInstanceState from DescribeDBInstances into deferred too', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(new InvalidDBInstanceStateFault({ message: 'busy', ...meta }));
    expect((await adapter(setIops(20_000), target)).status).toBe('deferred');
  });
});
