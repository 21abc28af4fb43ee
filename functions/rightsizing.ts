import { toRunRequest, tunerEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { runRightsizing } from '../shared/tuners/rightsizing.ts';

/**
 * Finds idle (no connection for 7 days) and oversized (CPU and connections far below the class
 * for 14 days) RDS and Aurora instances and recommends what to do with the saving; never stops,
 * deletes or resizes anything. Daily, or by hand: `osls invoke -f rightsizing -p events/rightsizing-manual.json`.
 */
export const handler = lambdaHandler('rightsizing', tunerEventSchema, (event, ctx) =>
  runRightsizing(toRunRequest(event, ctx.requestId, ctx.remainingMs)),
);
