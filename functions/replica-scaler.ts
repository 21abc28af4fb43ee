import { toRunRequest, tunerEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { runReplicas } from '../shared/tuners/replicas.ts';

/**
 * Adds and removes read replicas of the managed Aurora clusters and RDS sources. Runs on its
 * EventBridge schedule, from the alarm handler (reader CPU), or by hand:
 * `osls invoke -f replica-scaler -p events/replica-manual-dry-run.json`.
 */
export const handler = lambdaHandler('replica-scaler', tunerEventSchema, (event, ctx) =>
  runReplicas(toRunRequest(event, ctx.requestId, ctx.remainingMs)),
);
