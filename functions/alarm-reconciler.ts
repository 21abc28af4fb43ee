import { reconcileAlarms } from '../shared/alarms/reconcile.ts';
import { getConfig } from '../shared/config/load.ts';
import { toRunRequest, tunerEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { stateStore } from '../shared/state/index.ts';
import { tuners } from '../shared/tuners/registry.ts';

/**
 * Scheduled: keeps the CloudWatch alarms under the prefix (env ALARM_PREFIX, default `dbap-`)
 * in step with what the tuners want for their managed fleet, and the dashboard (env
 * DASHBOARD_NAME, default `db-autopilot`). By hand: `{ "dryRun": true }` plans only.
 */
export const handler = lambdaHandler('alarm-reconciler', tunerEventSchema, (event, ctx) =>
  reconcileAlarms({
    request: toRunRequest(event, ctx.requestId, ctx.remainingMs),
    config: getConfig(),
    store: stateStore(),
    tuners,
  }),
);
