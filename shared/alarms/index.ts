export { alarmTags, deleteAlarms, describeAlarm, listAlarms, putAlarm, putDashboard } from './cloudwatch.ts';
export { DEFAULT_DASHBOARD_NAME, dashboardBody, dashboardName, OWN_NAMESPACE } from './dashboard.ts';
export { collectDesired, discoverForConfig, TUNER_KINDS } from './desired.ts';
export { type AlarmDiff, alarmSpecSchema, diffAlarms, putAlarmInput, validateAlarmSpec } from './diff.ts';
export { ALARM_TAGS, alarmName, alarmPrefix, DEFAULT_ALARM_PREFIX, parseAlarmName } from './names.ts';
export { type ReconcileInput, type ReconcileSummary, reconcileAlarms } from './reconcile.ts';
export {
  type AlarmRouteResult,
  type AlarmStateChangeEvent,
  alarmStateChangeSchema,
  routeAlarmEvent,
} from './route.ts';
