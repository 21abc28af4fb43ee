import { toRunRequest, tunerEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { runProxy } from '../shared/tuners/proxy.ts';

/**
 * Tunes the connection pool of the configured RDS Proxies (MaxConnectionsPercent,
 * MaxIdleConnectionsPercent, ConnectionBorrowTimeout) within the database's own connection
 * headroom, and reports session pinning and what each proxy costs. Scheduled, or by hand:
 * `osls invoke -f proxy-tuner -p events/proxy-tuner-manual-dry-run.json`.
 */
export const handler = lambdaHandler('proxy-tuner', tunerEventSchema, (event, ctx) =>
  runProxy(toRunRequest(event, ctx.requestId, ctx.remainingMs)),
);
