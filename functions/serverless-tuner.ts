import { toRunRequest, tunerEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { runServerless } from '../shared/tuners/serverless.ts';

/**
 * Sets the capacity range (MinCapacity, MaxCapacity, SecondsUntilAutoPause) of the managed Aurora
 * Serverless v2 clusters: the minimum raised ahead of recurring peaks and lowered in quiet hours,
 * the maximum above observed peaks within the cost ceiling; advises auto-pause for idle clusters
 * and provisioned instances for steady load. Scheduled, from the ACUUtilization alarm, or by hand:
 * `osls invoke -f serverless-tuner -p events/serverless-tuner-manual-dry-run.json`.
 */
export const handler = lambdaHandler('serverless-tuner', tunerEventSchema, (event, ctx) =>
  runServerless(toRunRequest(event, ctx.requestId, ctx.remainingMs)),
);
