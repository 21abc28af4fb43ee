import type { AlarmSpec } from '../core/contracts.ts';
import { TUNER_NAMES, type TunerName } from '../core/model.ts';

/**
 * Alarm names: `${prefix}${tuner}-${resourceId}-${key}`. The EventBridge rule that invokes the
 * alarm handler filters on the prefix, so AWS's own target-tracking alarms (which flap often)
 * never reach it, and the reconciler never touches an alarm outside the prefix.
 */
export const DEFAULT_ALARM_PREFIX = 'dbap-';

export function alarmPrefix(): string {
  return process.env.ALARM_PREFIX || DEFAULT_ALARM_PREFIX;
}

/** Tags on every alarm the reconciler creates (PutMetricAlarm applies tags only on create). */
export const ALARM_TAGS = {
  managedBy: 'db-autopilot:managed-by',
  tuner: 'db-autopilot:tuner',
  resource: 'db-autopilot:resource',
  key: 'db-autopilot:alarm-key',
} as const;

/** Every tuner name (the alarm spec schema and the name parser share it). */
export { TUNER_NAMES };

export function isTunerName(value: unknown): value is TunerName {
  return (TUNER_NAMES as readonly unknown[]).includes(value);
}

/** Tuner names, longest first, so "dynamodb-mode-..." is not read as tuner "dynamodb". */
const TUNERS: readonly TunerName[] = [...TUNER_NAMES].sort((a, b) => b.length - a.length);

/** Keys are short and dash-free so the name can be parsed back: letters, digits, _ and . */
export const ALARM_KEY_PATTERN = /^[A-Za-z0-9_.]{1,40}$/;

/** CloudWatch alarm names are at most 255 characters (PutMetricAlarm AlarmName). */
export const MAX_ALARM_NAME = 255;

export function alarmName(spec: Pick<AlarmSpec, 'tuner' | 'resourceId' | 'key'>, prefix: string): string {
  return `${prefix}${spec.tuner}-${spec.resourceId}-${spec.key}`;
}

export interface ParsedAlarmName {
  tuner: TunerName;
  resourceId: string;
  key: string;
}

/** Reads tuner, resource and key back from a name; undefined when it is not one of ours. */
export function parseAlarmName(name: string, prefix: string): ParsedAlarmName | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  const tuner = TUNERS.find((t) => rest.startsWith(`${t}-`));
  if (!tuner) return undefined;
  const tail = rest.slice(tuner.length + 1);
  const dash = tail.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const key = tail.slice(dash + 1);
  const resourceId = tail.slice(0, dash);
  if (!ALARM_KEY_PATTERN.test(key)) return undefined;
  return { tuner, resourceId, key };
}
