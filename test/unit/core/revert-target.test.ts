import { describe, expect, it } from 'vitest';
import { revertAction, undoTargetRef } from '../../../shared/control/commands.ts';
import { planReplicas } from '../../../shared/policies/replicas.ts';
import { aurora, NOW, ours, reader, settings } from '../replicas/fixtures.ts';
import { makeDecision } from './fixtures.ts';

describe('revert target', () => {
  it('reverts a scale-out on the replica it created, not on the cluster', () => {
    const scaleOut = makeDecision({
      tuner: 'replicas',
      resource: 'securecart-catalog-aurora',
      resourceKind: 'aurora-cluster',
      action: 'add-replica',
      undo: { kind: 'remove-replica', params: { resource: 'dbap-securecart-catalog-aurora-1' } },
    });
    expect(undoTargetRef(scaleOut)).toEqual({ kind: 'rds-instance', id: 'dbap-securecart-catalog-aurora-1' });
    const action = revertAction(scaleOut);
    expect(action.resource.id).toBe('dbap-securecart-catalog-aurora-1');
    expect(action.deletes).toBe(true);
  });

  it('reverts an IOPS change on the same instance', () => {
    const d = makeDecision({ resource: 'orders-db', resourceKind: 'rds-instance' });
    expect(undoTargetRef(d)).toEqual({ kind: 'rds-instance', id: 'orders-db' });
  });
});

describe('revert target of what the replicas policy really records', () => {
  const hot = aurora([reader('r1', { cpuPercent: 95 })]);

  it('reverts an Aurora scale-out on the replica it created (undo.params.resource is a ResourceRef)', () => {
    const add = planReplicas(hot, settings(), { recommendations: [] }, NOW).plan.actions.find(
      (a) => a.kind === 'add-replica',
    );
    if (!add) throw new Error('the policy planned no add-replica');
    const decision = makeDecision({
      tuner: 'replicas',
      resource: add.resource.id,
      resourceKind: add.resource.kind,
      action: add.kind,
      undo: add.undo,
    });
    const replicaId = (add.params as { replicaId: string }).replicaId;
    expect(undoTargetRef(decision)).toEqual({ kind: 'rds-instance', id: replicaId });
    expect(revertAction(decision).resource).toEqual({ kind: 'rds-instance', id: replicaId });
  });

  it('reverts a scale-in on the source it removed a replica from', () => {
    const idle = aurora([
      ours('dbap-a', { cpuPercent: 5, maxConnections: 0 }),
      reader('r1', { cpuPercent: 5 }),
    ]);
    const remove = planReplicas(
      idle,
      settings({ scaleInStabilizationMinutes: 0 }),
      { recommendations: [] },
      NOW,
    ).plan.actions.find((a) => a.kind === 'remove-replica' && a.resource.id === 'dbap-a');
    if (!remove) throw new Error('the policy planned no remove-replica');
    const decision = makeDecision({
      tuner: 'replicas',
      resource: remove.resource.id,
      resourceKind: remove.resource.kind,
      action: remove.kind,
      undo: remove.undo,
    });
    expect(undoTargetRef(decision)).toEqual({ kind: 'aurora-cluster', id: 'securecart-aurora' });
  });
});

describe('revert target lookup', () => {
  it('finds an untagged resource the config names by identifier, and nothing else', async () => {
    const { ResourceGroupsTaggingAPIClient, GetResourcesCommand } = await import(
      '@aws-sdk/client-resource-groups-tagging-api'
    );
    const { mockClient } = await import('aws-sdk-client-mock');
    const { lookupTarget } = await import('../../../shared/control/target-lookup.ts');
    const { parseConfig } = await import('../../../shared/config/load.ts');
    const tagging = mockClient(ResourceGroupsTaggingAPIClient);
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    const config = parseConfig(
      'version: 1\ntuners:\n  iops:\n    resources:\n      identifiers: [orders-db]\n',
    );
    const client = new ResourceGroupsTaggingAPIClient({ region: 'us-east-1' });
    const listed = await lookupTarget(client, config, 'iops', { kind: 'rds-instance', id: 'orders-db' });
    expect(listed).toMatchObject({ managed: true, optedOut: false, created: false });
    const other = await lookupTarget(client, config, 'iops', {
      kind: 'rds-instance',
      id: 'someone-elses-db',
    });
    expect(other).toBeUndefined();
    tagging.restore();
  });
});
