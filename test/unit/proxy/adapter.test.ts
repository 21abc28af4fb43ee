import {
  DBProxyNotFoundFault,
  InvalidDBProxyStateFault,
  ModifyDBProxyTargetGroupCommand,
  RDSClient,
  RDSServiceException,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyAdapter } from '../../../shared/adapters/rds-proxy.ts';
import type { Target } from '../../../shared/core/contracts.ts';
import type { Action } from '../../../shared/core/model.ts';
import { writerTarget } from '../../../shared/tuners/proxy.ts';

const NOW = new Date('2026-11-20T18:00:00.000Z');
const rds = mockClient(RDSClient);
const client = new RDSClient({ region: 'us-east-1' });
const adapter = createProxyAdapter({ rds: () => client, now: () => NOW });
const target: Target = {
  ref: { kind: 'rds-proxy', id: 'orders-proxy' },
  tags: {},
  managed: true,
  created: false,
  optedOut: false,
};
const $metadata = { httpStatusCode: 400 };

function setPool(pool: Record<string, unknown>): Action {
  return {
    tuner: 'proxy',
    resource: target.ref,
    kind: 'set-pool',
    from: null,
    to: pool,
    reason: 'test',
    evidence: [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: true,
    params: {
      proxyName: 'orders-proxy',
      targetGroupName: 'default',
      pool: {
        maxConnectionsPercent: 75,
        maxIdleConnectionsPercent: 40,
        connectionBorrowTimeoutSeconds: 120,
        sessionPinningFilters: [],
        ...pool,
      },
    },
  };
}

afterEach(() => rds.reset());

describe('RDS Proxy adapter', () => {
  it('sends the whole pool in one ModifyDBProxyTargetGroup', async () => {
    rds.on(ModifyDBProxyTargetGroupCommand).resolves({});
    expect(await adapter(setPool({}), target)).toEqual({ status: 'applied' });
    expect(rds).toHaveReceivedCommandWith(ModifyDBProxyTargetGroupCommand, {
      DBProxyName: 'orders-proxy',
      TargetGroupName: 'default',
      ConnectionPoolConfig: {
        MaxConnectionsPercent: 75,
        MaxIdleConnectionsPercent: 40,
        ConnectionBorrowTimeout: 120,
        SessionPinningFilters: [],
      },
    });
  });

  it('refuses idle connections above the maximum without calling AWS', async () => {
    const r = await adapter(setPool({ maxIdleConnectionsPercent: 80 }), target);
    expect(r).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/must not exceed maxConnectionsPercent/),
    });
    expect(rds).not.toHaveReceivedCommand(ModifyDBProxyTargetGroupCommand);
  });

  it('refuses a filter AWS does not support', async () => {
    const r = await adapter(setPool({ sessionPinningFilters: ['EXCLUDE_EVERYTHING'] }), target);
    expect(r.status).toBe('skipped');
    expect(rds).not.toHaveReceivedCommand(ModifyDBProxyTargetGroupCommand);
  });

  it('skips a proxy that no longer exists', async () => {
    rds
      .on(ModifyDBProxyTargetGroupCommand)
      .rejects(new DBProxyNotFoundFault({ message: 'DBProxy orders-proxy not found.', $metadata }));
    expect(await adapter(setPool({}), target)).toMatchObject({ status: 'skipped' });
  });

  it('defers while the proxy is not available', async () => {
    rds
      .on(ModifyDBProxyTargetGroupCommand)
      .rejects(new InvalidDBProxyStateFault({ message: 'The proxy is modifying.', $metadata }));
    expect(await adapter(setPool({}), target)).toEqual({
      status: 'deferred',
      until: '2026-11-20T18:05:00.000Z',
      reason: expect.stringMatching(/not available for changes/),
    });
  });

  it('reports any other error as failed with its code', async () => {
    rds.on(ModifyDBProxyTargetGroupCommand).rejects(
      new RDSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'not authorized',
        $metadata,
      }),
    );
    expect(await adapter(setPool({}), target)).toMatchObject({ status: 'failed', code: 'AccessDenied' });
  });
});

describe('the instance behind a proxy', () => {
  it('is the READ_WRITE target, not the first instance listed (a proxy in front of an Aurora cluster lists its readers too)', () => {
    const targets = [
      { Type: 'TRACKED_CLUSTER' as const, RdsResourceId: 'orders-aurora', Role: 'UNKNOWN' as const },
      { Type: 'RDS_INSTANCE' as const, RdsResourceId: 'orders-aurora-reader-1', Role: 'READ_ONLY' as const },
      { Type: 'RDS_INSTANCE' as const, RdsResourceId: 'orders-aurora-writer', Role: 'READ_WRITE' as const },
    ];
    expect(writerTarget(targets)?.RdsResourceId).toBe('orders-aurora-writer');
    expect(writerTarget(targets.slice(0, 2))).toBeUndefined();
    expect(writerTarget([{ Type: 'RDS_INSTANCE', RdsResourceId: 'orders' }])?.RdsResourceId).toBe('orders');
  });
});
