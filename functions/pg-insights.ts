import { z } from 'zod';
import { scheduledEventSchema, toRunRequest } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { runInsightsTuner } from '../shared/postgres/tuner.ts';

/**
 * PostgreSQL and RDS insights: slow queries, unused / duplicate / invalid indexes, vacuum
 * blockers, wraparound risk, connections (RDS Proxy). Findings only: nothing is ever run.
 * Runs in the databases' VPC like pg-maintenance. Events: the schedule
 * (events/pg-insights-scheduled.json) or `{ "database": "orders", "dryRun": true }`
 * (events/pg-insights-manual.json; dryRun true = do not record).
 */
const manualInsightsSchema = z
  .object({
    database: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'a configured database name')
      .optional(),
    dryRun: z.boolean({ error: 'dryRun is required: true = findings only, not recorded' }),
    idempotencyKey: z.string().min(8).max(128).optional(),
  })
  .strict();

export const pgInsightsEventSchema = z.union([scheduledEventSchema, manualInsightsSchema], {
  error: 'expected an EventBridge "Scheduled Event" or { "database"?: "...", "dryRun": true|false }',
});

export const handler = lambdaHandler('pg-insights', pgInsightsEventSchema, async (event, ctx) => {
  if ('source' in event)
    return runInsightsTuner({ request: toRunRequest(event, ctx.requestId, ctx.remainingMs) });
  const { dryRun, idempotencyKey } = event;
  return runInsightsTuner({
    request: toRunRequest({ dryRun, override: false, idempotencyKey }, ctx.requestId, ctx.remainingMs),
    database: event.database,
  });
});
