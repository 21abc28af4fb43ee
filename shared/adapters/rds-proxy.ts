/**
 * How a pool change is applied to an RDS Proxy target group. Thin: one `set-pool` Action (or its
 * recorded undo) in, ModifyDBProxyTargetGroup out, SDK errors turned into a typed ActResult.
 * The parameters are validated again here (a `revert` replays a recorded undo): AWS's ranges
 * (RDS API reference, ConnectionPoolConfiguration) and MaxIdleConnectionsPercent <=
 * MaxConnectionsPercent. A pool change needs no restart (RDS User Guide, rds-proxy-connections).
 */
import {
  DBProxyNotFoundFault,
  DBProxyTargetGroupNotFoundFault,
  InvalidDBProxyStateFault,
  ModifyDBProxyTargetGroupCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { z } from 'zod';
import { rdsClient } from '../aws/clients.ts';
import { clock } from '../core/clock.ts';
import type { Adapter } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import type { ActResult } from '../core/model.ts';

/** When the proxy is not in a state to change: look again after this long. */
export const RETRY_PROXY_STATE_MS = 5 * 60_000;

const poolSchema = z
  .object({
    maxConnectionsPercent: z.number().int().min(1).max(100),
    maxIdleConnectionsPercent: z.number().int().min(0).max(100),
    connectionBorrowTimeoutSeconds: z.number().int().min(0).max(3600),
    sessionPinningFilters: z.array(z.literal('EXCLUDE_VARIABLE_SETS')).max(1),
  })
  .strict()
  .refine((p) => p.maxIdleConnectionsPercent <= p.maxConnectionsPercent, {
    message: 'maxIdleConnectionsPercent must not exceed maxConnectionsPercent',
  });

export const setPoolParamsSchema = z
  .object({
    proxyName: z.string().regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'a DB proxy name'),
    targetGroupName: z.literal('default'),
    pool: poolSchema,
  })
  .strict();

export function createProxyAdapter(options: { rds?: () => RDSClient; now?: () => Date } = {}): Adapter {
  const rds = options.rds ?? (() => rdsClient());
  const now = options.now ?? (() => clock().now());
  return async (action): Promise<ActResult> => {
    if (action.kind !== 'set-pool')
      return { status: 'skipped', reason: `the proxy adapter does not do ${action.kind}` };
    const parsed = setPoolParamsSchema.safeParse(action.params);
    if (!parsed.success)
      return {
        status: 'skipped',
        reason: `invalid set-pool parameters: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      };
    const { proxyName, targetGroupName, pool } = parsed.data;
    try {
      await rds().send(
        new ModifyDBProxyTargetGroupCommand({
          DBProxyName: proxyName,
          TargetGroupName: targetGroupName,
          ConnectionPoolConfig: {
            MaxConnectionsPercent: pool.maxConnectionsPercent,
            MaxIdleConnectionsPercent: pool.maxIdleConnectionsPercent,
            ConnectionBorrowTimeout: pool.connectionBorrowTimeoutSeconds,
            SessionPinningFilters: pool.sessionPinningFilters,
          },
        }),
      );
      return { status: 'applied' };
    } catch (error) {
      if (error instanceof DBProxyNotFoundFault || error instanceof DBProxyTargetGroupNotFoundFault)
        return { status: 'skipped', reason: `${proxyName}: ${publicMessage(error)}` };
      if (error instanceof InvalidDBProxyStateFault)
        return {
          status: 'deferred',
          until: new Date(now().getTime() + RETRY_PROXY_STATE_MS).toISOString(),
          reason: `${proxyName} is not available for changes: ${publicMessage(error)}`,
        };
      return { status: 'failed', reason: publicMessage(error), code: (error as { name?: string }).name };
    }
  };
}
