import { describe, expect, it } from 'vitest';
import { revertAction, undoTargetRef } from '../../../shared/control/commands.ts';
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
