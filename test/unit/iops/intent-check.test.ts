import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageCheck } from '../../../shared/adapters/intent-checks.ts';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { resolvedFromState } from '../../../shared/core/intent.ts';
import { makeDecision, makeRun } from '../core/fixtures.ts';

/**
 * The set-iops intent check (a lost ModifyDBInstance response settled from DescribeDBInstances):
 * a change the adapter capped at the valid edge is applied at the capped value, not "not applied".
 */
const rds = mockClient(RDSClient);
let restore: () => void;
beforeEach(() => {
  rds.reset();
  restore = setAwsClients({ rds: new RDSClient({ region: 'us-east-1' }) });
});
afterEach(() => restore());

const intent = makeDecision({
  action: 'set-iops',
  resource: 'orders',
  outcome: 'intended',
  from: 10_000,
  to: 30_000,
  params: { AllocatedStorage: 500, Iops: 30_000 },
});

function instanceWith(iops: number, pendingIops?: number) {
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: 'orders',
        Iops: iops,
        ...(pendingIops !== undefined ? { PendingModifiedValues: { Iops: pendingIops } } : {}),
      },
    ],
  });
}

describe('set-iops intent check', () => {
  it('confirms a raise capped short of the plan at the value AWS has pending, recorded as to', async () => {
    instanceWith(10_000, 25_000);
    const verdict = await storageCheck(intent);
    expect(verdict).toMatchObject({ verdict: 'applied', appliedTo: 25_000 });
    const settled = resolvedFromState(intent, verdict, makeRun());
    expect(settled).toMatchObject({ outcome: 'applied', to: 25_000 });
  });

  it('confirms the planned value without a capped value', async () => {
    instanceWith(30_000);
    const verdict = await storageCheck(intent);
    expect(verdict.verdict).toBe('applied');
    expect(verdict.appliedTo).toBeUndefined();
  });

  it('answers not applied when IOPS did not move, or moved past the plan or the other way', async () => {
    for (const iops of [10_000, 32_000, 8_000]) {
      instanceWith(iops);
      expect((await storageCheck(intent)).verdict, String(iops)).toBe('not-applied');
    }
  });

  it('confirms a lowering capped at the valid minimum', async () => {
    instanceWith(10_000, 1_000);
    const lower = { ...intent, to: 500, params: { AllocatedStorage: 500, Iops: 500 } };
    expect(await storageCheck(lower)).toMatchObject({ verdict: 'applied', appliedTo: 1_000 });
  });
});
