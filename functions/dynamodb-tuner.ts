import { toRunRequest, tunerEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { runDynamodb } from '../shared/tuners/dynamodb.ts';

/**
 * Tunes DynamoDB provisioned capacity (tables and GSIs), pre-warms before recurring peaks and
 * advises the capacity mode. Runs on its EventBridge schedule, from the alarm handler (throttling
 * fast path), or by hand: `osls invoke -f dynamodb-tuner -p events/dynamodb-manual-dry-run.json`.
 */
export const handler = lambdaHandler('dynamodb-tuner', tunerEventSchema, (event, ctx) =>
  runDynamodb(toRunRequest(event, ctx.requestId, ctx.remainingMs)),
);
