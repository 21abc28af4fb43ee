import { toRunRequest, tunerEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { runIops } from '../shared/tuners/iops.ts';

/**
 * Tunes the Provisioned IOPS of the managed RDS instances (io1, io2, gp3 >= 400 GiB), reports
 * when the instance class is the limit and advises gp2 -> gp3. Runs on its EventBridge schedule,
 * from the alarm handler (DiskQueueDepth, latency, BurstBalance), or by hand:
 * `osls invoke -f iops-tuner -p events/iops-tuner-manual.json`.
 */
export const handler = lambdaHandler('iops-tuner', tunerEventSchema, (event, ctx) =>
  runIops(toRunRequest(event, ctx.requestId, ctx.remainingMs)),
);
