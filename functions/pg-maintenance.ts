import { toRunRequest } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { pgMaintenanceEventSchema, runDoctorCommand, runMaintenanceTuner } from '../shared/postgres/tuner.ts';

/**
 * PostgreSQL VACUUM / ANALYZE where and when needed. Runs inside the databases' VPC (see
 * shared/postgres/README.md), records its decisions in the state table; the report function
 * posts them. Events:
 * - the EventBridge schedule (events/pg-maintenance-scheduled.json): every configured database;
 * - a manual run (events/pg-maintenance-manual-dry-run.json):
 *   `{ "database": "orders", "tables": ["public.line_items"], "dryRun": true, "analyzeOnly": false }`;
 * - `{ "command": "doctor", "database": "orders" }` (events/pg-maintenance-doctor.json): what is missing.
 * Outside the configured maintenanceWindows a scheduled run does nothing and records why; a real
 * manual run there must say `"ignoreMaintenanceWindow": true`.
 */
export { pgMaintenanceEventSchema };

export const handler = lambdaHandler('pg-maintenance', pgMaintenanceEventSchema, async (event, ctx) => {
  if ('source' in event) {
    return runMaintenanceTuner({ request: toRunRequest(event, ctx.requestId, ctx.remainingMs) });
  }
  if ('command' in event) return runDoctorCommand(event.database);
  const { dryRun, override, idempotencyKey } = event;
  return runMaintenanceTuner({
    request: toRunRequest({ dryRun, override, idempotencyKey }, ctx.requestId, ctx.remainingMs),
    database: event.database,
    tables: event.tables,
    analyzeOnly: event.analyzeOnly,
    ignoreMaintenanceWindow: event.ignoreMaintenanceWindow,
  });
});
