import { z } from 'zod';
import { clock } from '../core/clock.ts';
import type { StateStore, TunerRunSummary } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import { nextDecisionId } from '../core/executor.ts';
import type { Decision, TunerName } from '../core/model.ts';
import { newRunId } from '../core/run.ts';
import { emitDecisionMetrics } from '../handler/decision-metrics.ts';
import { logger, MetricUnit, metrics } from '../handler/observability.ts';
import type { TunerRegistration } from '../tuners/registry.ts';
import { alarmTags, describeAlarm } from './cloudwatch.ts';
import { ALARM_TAGS, isTunerName, parseAlarmName } from './names.ts';

/**
 * The alarm fast path: an EventBridge "CloudWatch Alarm State Change" event for an alarm under
 * the prefix -> re-read the alarm (events arrive late or twice) -> the tuner that declared it
 * runs for that one resource, with the same guards and idempotency as a scheduled run
 * (idempotency key = the EventBridge event id, so a redelivery acts once).
 * Event shape: CloudWatch User Guide, "Alarm events and EventBridge".
 */
const stateSchema = z
  .object({
    value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
    reason: z.string().optional(),
    timestamp: z.string().optional(),
  })
  .passthrough();

export const alarmStateChangeSchema = z
  .object({
    source: z.literal('aws.cloudwatch'),
    'detail-type': z.literal('CloudWatch Alarm State Change'),
    id: z.string().min(1),
    time: z.string().datetime({ offset: true }),
    account: z.string().optional(),
    region: z.string().optional(),
    resources: z.array(z.string()).default([]),
    detail: z
      .object({
        alarmName: z.string().min(1).max(255),
        state: stateSchema,
        previousState: stateSchema,
      })
      .passthrough(),
  })
  .passthrough();

export type AlarmStateChangeEvent = z.infer<typeof alarmStateChangeSchema>;

export type AlarmRouteOutcome =
  | 'routed'
  | 'outside-prefix'
  | 'not-alarm'
  | 'stale'
  | 'unknown-alarm'
  | 'unparsable'
  | 'no-tuner';

export interface AlarmRouteResult {
  ok: true;
  outcome: AlarmRouteOutcome;
  alarmName: string;
  reason: string;
  tuner?: TunerName;
  resourceId?: string;
  /** The tuner's own summary when routed (duplicate: true when the event had been handled). */
  run?: TunerRunSummary;
}

export interface RouteDeps {
  prefix: string;
  loadTuner: (name: TunerName) => Promise<TunerRegistration | undefined>;
  store: StateStore;
  now?: Date;
  remainingMs?: () => number;
}

/** Records why an alarm event under the prefix did nothing (reports and the audit log show it). */
async function recordIgnored(
  deps: RouteDeps,
  event: AlarmStateChangeEvent,
  reason: string,
  guard: string,
  resource?: string,
) {
  const now = deps.now ?? clock().now();
  const runId = newRunId('alarms', now);
  const decision: Decision = {
    id: nextDecisionId({
      runId,
      tuner: 'alarms',
      trigger: 'alarm',
      dryRun: false,
      override: false,
      idempotencyKey: `eventbridge:${event.id}`,
      now,
      paused: false,
      changesApplied: 0,
    }),
    runId,
    at: now.toISOString(),
    tuner: 'alarms',
    resource: resource ?? event.detail.alarmName,
    resourceKind: 'cloudwatch-alarm',
    action: 'noop',
    outcome: 'skipped',
    reason,
    evidence: [],
    monthlyCostDelta: 0,
    from: event.detail.previousState.value,
    to: event.detail.state.value,
    undo: null,
    guard,
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'alarm',
    severity: 'info',
  };
  try {
    await deps.store.recordDecision(decision);
    emitDecisionMetrics([decision]);
  } catch (error) {
    // Recording must not turn a correct "do nothing" into a failure (and a retried event).
    logger.warn('could not record an ignored alarm event', { error: publicMessage(error) });
  }
}

export async function routeAlarmEvent(
  event: AlarmStateChangeEvent,
  deps: RouteDeps,
): Promise<AlarmRouteResult> {
  const alarmName = event.detail.alarmName;
  const done = (
    outcome: AlarmRouteOutcome,
    reason: string,
    extra: Partial<AlarmRouteResult> = {},
  ): AlarmRouteResult => {
    metrics.addMetric(outcome === 'routed' ? 'AlarmEventsRouted' : 'AlarmEventsIgnored', MetricUnit.Count, 1);
    logger.info('alarm event', { alarmName, outcome, reason });
    return { ok: true, outcome, alarmName, reason, ...extra };
  };

  // The EventBridge rule filters on the prefix; check again so a broader rule can never route
  // someone else's alarm (e.g. AWS's own target-tracking alarms) to a tuner.
  if (!alarmName.startsWith(deps.prefix)) {
    return done('outside-prefix', `${alarmName} is not under ${deps.prefix}: not db-autopilot's alarm`);
  }
  if (event.detail.state.value !== 'ALARM') {
    const reason = `${event.detail.previousState.value} -> ${event.detail.state.value}: only a change into ALARM triggers the fast path`;
    await recordIgnored(deps, event, reason, 'alarm-state');
    return done('not-alarm', reason);
  }

  // Re-read: the event may be late or a redelivery, and the alarm may have recovered or gone.
  const current = await describeAlarm(alarmName);
  if (!current) {
    const reason = `${alarmName} no longer exists (removed by the reconciler?)`;
    await recordIgnored(deps, event, reason, 'alarm-gone');
    return done('unknown-alarm', reason);
  }
  let parsed = parseAlarmName(alarmName, deps.prefix);
  if (current.AlarmArn) {
    try {
      const tags = await alarmTags(current.AlarmArn);
      const tuner = tags[ALARM_TAGS.tuner];
      const resourceId = tags[ALARM_TAGS.resource];
      // Tags can be edited by anyone: only a known tuner name is trusted, else the name decides.
      if (isTunerName(tuner) && resourceId)
        parsed = { tuner, resourceId, key: tags[ALARM_TAGS.key] ?? parsed?.key ?? '' };
    } catch (error) {
      logger.warn('could not read the alarm tags; using its name', {
        alarmName,
        error: publicMessage(error),
      });
    }
  }
  if (!parsed) {
    const reason = `${alarmName}: neither its name nor its tags say which tuner and resource it is for`;
    await recordIgnored(deps, event, reason, 'alarm-name');
    return done('unparsable', reason);
  }
  const { tuner, resourceId } = parsed;
  if (current.StateValue !== 'ALARM') {
    const reason = `stale event: ${alarmName} is ${current.StateValue ?? 'unknown'} now (event said ALARM at ${event.detail.state.timestamp ?? event.time})`;
    await recordIgnored(deps, event, reason, 'stale-alarm', resourceId);
    return done('stale', reason, { tuner, resourceId });
  }

  const registration = await deps.loadTuner(tuner);
  if (!registration) {
    const reason = `no tuner named ${tuner} is registered`;
    await recordIgnored(deps, event, reason, 'no-tuner', resourceId);
    return done('no-tuner', reason, { tuner, resourceId });
  }
  const run = await registration.run({
    trigger: 'alarm',
    resourceIds: [resourceId],
    dryRun: false,
    override: false,
    idempotencyKey: `eventbridge:${event.id}`,
    remainingMs: deps.remainingMs,
  });
  const reason = run.duplicate
    ? `event ${event.id} was already handled by ${tuner}: nothing done again`
    : `${alarmName} is in ALARM: ran ${tuner} for ${resourceId}`;
  return done('routed', reason, { tuner, resourceId, run });
}
