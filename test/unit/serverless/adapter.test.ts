import {
  type DBCluster,
  DBClusterNotFoundFault,
  DescribeDBClustersCommand,
  InvalidDBClusterStateFault,
  InvalidDBInstanceStateFault,
  ModifyDBClusterCommand,
  RDSClient,
  RDSServiceException,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createServerlessAdapter } from '../../../shared/adapters/aurora-serverless.ts';
import type { Target } from '../../../shared/core/contracts.ts';
import type { Action } from '../../../shared/core/model.ts';

const NOW = new Date('2026-11-20T07:30:00.000Z');
const rds = mockClient(RDSClient);
const client = new RDSClient({ region: 'us-east-1' });
const adapter = createServerlessAdapter({ rds: () => client, now: () => NOW });
const target: Target = {
  ref: { kind: 'aurora-cluster', id: 'accounts' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};
const $metadata = { httpStatusCode: 400 };

function cluster(over: Partial<DBCluster> = {}): DBCluster {
  return {
    DBClusterIdentifier: 'accounts',
    Engine: 'aurora-postgresql',
    EngineVersion: '16.4',
    Status: 'available',
    ServerlessV2ScalingConfiguration: { MinCapacity: 8, MaxCapacity: 32 },
    ...over,
  };
}

function setBounds(bounds: Record<string, unknown>, extra: Record<string, unknown> = {}): Action {
  return {
    tuner: 'serverless',
    resource: target.ref,
    kind: 'set-serverless-bounds',
    from: { min: 8, max: 32 },
    to: bounds,
    reason: 'test',
    evidence: [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: true,
    params: { clusterId: 'accounts', bounds, ...extra },
  };
}

afterEach(() => rds.reset());

describe('Aurora Serverless v2 adapter', () => {
  it('sends MinCapacity and MaxCapacity in one ModifyDBCluster, without applying queued changes', async () => {
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster()] });
    rds.on(ModifyDBClusterCommand).resolves({});
    expect(await adapter(setBounds({ min: 12.5, max: 32 }), target)).toEqual({ status: 'applied' });
    expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
      DBClusterIdentifier: 'accounts',
      ServerlessV2ScalingConfiguration: { MinCapacity: 12.5, MaxCapacity: 32 },
      ApplyImmediately: false,
    });
  });

  it('sets MinCapacity 0 with SecondsUntilAutoPause on a version that supports auto-pause', async () => {
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster()] });
    rds.on(ModifyDBClusterCommand).resolves({});
    const result = await adapter(setBounds({ min: 0, max: 8, secondsUntilAutoPause: 600 }), target);
    expect(result).toEqual({ status: 'applied' });
    expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 8, SecondsUntilAutoPause: 600 },
    });
  });

  it('skips MinCapacity 0 on an engine version without auto-pause, and never calls ModifyDBCluster', async () => {
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster({ EngineVersion: '15.4' })] });
    const result = await adapter(setBounds({ min: 0, max: 8 }), target);
    expect(result).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/below 0\.5/) });
    expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
  });

  it.each([
    [{ min: 1.25, max: 8 }, /multiple of 0\.5/],
    [{ min: 4, max: 300 }, /less than or equal to 256|<=256/],
    [{ min: 16, max: 8 }, /at least MinCapacity/],
    [{ min: 0, max: 8, secondsUntilAutoPause: 60 }, /secondsUntilAutoPause/],
  ])('refuses invalid bounds %j before any AWS call', async (bounds, message) => {
    const result = await adapter(setBounds(bounds), target);
    expect(result).toMatchObject({ status: 'skipped', reason: expect.stringMatching(message) });
    expect(rds).not.toHaveReceivedCommand(DescribeDBClustersCommand);
    expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
  });

  it('accepts a replayed undo that carries revert bookkeeping beside the bounds', async () => {
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster()] });
    rds.on(ModifyDBClusterCommand).resolves({});
    const undo = setBounds(
      { min: 8, max: 32 },
      { undoKind: 'set-serverless-bounds', revertOf: 'run-1:0001' },
    );
    expect(await adapter(undo, target)).toEqual({ status: 'applied' });
  });

  it('defers while the cluster is not available, as DescribeDBClusters shows it', async () => {
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster({ Status: 'modifying' })] });
    const result = await adapter(setBounds({ min: 12, max: 32 }), target);
    expect(result).toEqual({
      status: 'deferred',
      until: '2026-11-20T07:35:00.000Z',
      reason: expect.stringMatching(/modifying/),
    });
    expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
  });

  it('defers on InvalidDBClusterStateFault and InvalidDBInstanceStateFault from ModifyDBCluster', async () => {
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster()] });
    for (const error of [
      new InvalidDBClusterStateFault({ message: 'DBCluster accounts is not in available state.', $metadata }),
      new InvalidDBInstanceStateFault({ message: 'Database instance is not in available state.', $metadata }),
    ]) {
      rds.on(ModifyDBClusterCommand).rejects(error);
      expect(await adapter(setBounds({ min: 12, max: 32 }), target)).toMatchObject({
        status: 'deferred',
        until: '2026-11-20T07:35:00.000Z',
      });
    }
  });

  it('skips a cluster that no longer exists (DBClusterNotFoundFault)', async () => {
    rds
      .on(DescribeDBClustersCommand)
      .rejects(new DBClusterNotFoundFault({ message: 'DBCluster accounts not found.', $metadata }));
    expect(await adapter(setBounds({ min: 12, max: 32 }), target)).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/no such DB cluster/),
    });
  });

  it('skips a provisioned cluster that has no Serverless v2 scaling configuration', async () => {
    rds.on(DescribeDBClustersCommand).resolves({
      DBClusters: [cluster({ ServerlessV2ScalingConfiguration: undefined })],
    });
    expect(await adapter(setBounds({ min: 12, max: 32 }), target)).toMatchObject({ status: 'skipped' });
    expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
  });

  it('skips when AWS rejects the values (InvalidParameterValue), and fails on a server error', async () => {
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster()] });
    rds
      .on(ModifyDBClusterCommand)
      .rejectsOnce(
        new RDSServiceException({
          name: 'InvalidParameterValue',
          $fault: 'client',
          message: 'MaxCapacity 256 is not supported for this engine version.',
          $metadata,
        }),
      )
      .rejectsOnce(
        new RDSServiceException({
          name: 'InternalFailure',
          $fault: 'server',
          message: 'internal',
          $metadata: { httpStatusCode: 500 },
        }),
      );
    expect(await adapter(setBounds({ min: 12, max: 256 }), target)).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/AWS rejected/),
    });
    expect(await adapter(setBounds({ min: 12, max: 256 }), target)).toMatchObject({
      status: 'failed',
      code: 'InternalFailure',
    });
  });

  it('does nothing for another action kind', async () => {
    const other = { ...setBounds({ min: 1, max: 2 }), kind: 'set-pool' as const };
    expect(await adapter(other, target)).toMatchObject({ status: 'skipped' });
    expect(rds).not.toHaveReceivedAnyCommand();
  });
});
