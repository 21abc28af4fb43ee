import { alarmPrefix } from '../shared/alarms/names.ts';
import { alarmStateChangeSchema, routeAlarmEvent } from '../shared/alarms/route.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { stateStore } from '../shared/state/index.ts';
import { loadTuner } from '../shared/tuners/registry.ts';

/**
 * The fast path: EventBridge delivers "CloudWatch Alarm State Change" events for alarms under
 * the prefix (env ALARM_PREFIX, default `dbap-`); the alarm is re-read and its resource handed
 * to the tuner that declared it. Try it: `osls invoke local -f alarm-handler -p events/alarm-state-change.json`.
 */
export const handler = lambdaHandler('alarm-handler', alarmStateChangeSchema, (event, ctx) =>
  routeAlarmEvent(event, {
    prefix: alarmPrefix(),
    loadTuner,
    store: stateStore(),
    remainingMs: ctx.remainingMs,
  }),
);
