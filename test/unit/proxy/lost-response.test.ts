import {
  DescribeDBProxyTargetGroupsCommand,
  ModifyDBProxyTargetGroupCommand,
  RDSClient,
  RDSServiceException,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import '../../../shared/adapters/intent-checks.ts';
import { createProxyAdapter } from '../../../shared/adapters/rds-proxy.ts';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import type { Target } from '../../../shared/core/contracts.ts';
import { executePlan } from '../../../shared/core/executor.ts';
import type { Action } from '../../../shared/core/model.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeRun, makeSettings } from '../core/fixtures.ts';

/**
 * A ModifyDBProxyTargetGroup whose answer was lost (a 5xx after RDS applied it) is settled from
 * DescribeDBProxyTargetGroups: applied when the pool is the intended one (it was recorded failed
 * with no check for set-pool), not applied when it is not.
 */
const rds = mockClient(RDSClient);
let restore: () => void;
beforeEach(() => {
  rds.reset();
  restore = setAwsClients({ rds: new RDSClient({ region: 'us-east-1' }) });
});
afterEach(() => restore());

const target: Target = {
  ref: { kind: 'rds-proxy', id: 'shop-proxy' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};
const pool = {
  maxConnectionsPercent: 90,
  maxIdleConnectionsPercent: 40,
  connectionBorrowTimeoutSeconds: 120,
  sessionPinningFilters: [],
};
const action: Action = {
  tuner: 'proxy',
  resource: target.ref,
  kind: 'set-pool',
  from: { maxConnectionsPercent: 100 },
  to: pool,
  reason: 'raise the pool',
  evidence: [],
  monthlyCostDelta: 0,
  undo: null,
  mutating: true,
  params: { proxyName: 'shop-proxy', targetGroupName: 'default', pool },
};

async function run() {
  rds.on(ModifyDBProxyTargetGroupCommand).rejects(
    new RDSServiceException({
      name: 'InternalFailure',
      $fault: 'server',
      message: 'connection reset after the request was sent',
      $metadata: { httpStatusCode: 500 },
    }),
  );
  const [decision] = await executePlan({
    plan: { tuner: 'proxy', resource: target.ref, observedAt: '2026-11-23T18:00:00.000Z', actions: [action] },
    target,
    settings: makeSettings({ cooldownMinutes: 0 }),
    adapter: createProxyAdapter({ rds: () => new RDSClient({ region: 'us-east-1' }) }),
    run: makeRun({ tuner: 'proxy' }),
    store: new MemoryStateStore(),
  });
  return decision;
}

describe('a set-pool whose answer was lost', () => {
  it('is recorded applied when the target group shows the intended pool', async () => {
    rds.on(DescribeDBProxyTargetGroupsCommand).resolves({
      TargetGroups: [
        {
          TargetGroupName: 'default',
          ConnectionPoolConfig: {
            MaxConnectionsPercent: 90,
            MaxIdleConnectionsPercent: 40,
            ConnectionBorrowTimeout: 120,
          },
        },
      ],
    });
    const decision = await run();
    expect(decision?.outcome).toBe('applied');
    expect(decision?.resolution?.by).toBe('aws-state');
  });

  it('is recorded failed when the target group still has the old pool', async () => {
    rds.on(DescribeDBProxyTargetGroupsCommand).resolves({
      TargetGroups: [{ TargetGroupName: 'default', ConnectionPoolConfig: { MaxConnectionsPercent: 100 } }],
    });
    const decision = await run();
    expect(decision?.outcome).toBe('failed');
  });
});
