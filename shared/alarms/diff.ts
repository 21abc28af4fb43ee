import type { MetricAlarm, PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import { z } from 'zod';
import type { AlarmSpec } from '../core/contracts.ts';
import { parseOrThrow } from '../handler/wrap.ts';
import {
  ALARM_KEY_PATTERN,
  ALARM_TAGS,
  alarmName,
  MAX_ALARM_NAME,
  parseAlarmName,
  TUNER_NAMES,
} from './names.ts';

/**
 * The pure half of the alarm reconciler: desired specs vs the alarms that exist under the
 * prefix -> create / update / delete. No SDK call. An alarm whose name does not start with the
 * prefix is never in any list, whatever the caller passes in.
 */

const tunerName = z.enum(TUNER_NAMES);

/** Validates what a tuner declares (its alarms are external input to the reconciler). */
export const alarmSpecSchema = z
  .object({
    tuner: tunerName,
    resourceId: z.string().min(1).max(200),
    key: z.string().regex(ALARM_KEY_PATTERN, 'a short key: letters, digits, _ or . (no dashes)'),
    namespace: z.string().min(1).max(255),
    metricName: z.string().min(1).max(255),
    dimensions: z.record(z.string().min(1), z.string().min(1)),
    statistic: z.enum(['Average', 'Sum', 'Maximum', 'Minimum', 'SampleCount']),
    // PutMetricAlarm Period: 10, 20, 30 or a multiple of 60 seconds.
    periodSeconds: z
      .number()
      .int()
      .refine(
        (p) => [10, 20, 30].includes(p) || (p >= 60 && p % 60 === 0),
        'a period of 10, 20, 30 or a multiple of 60 s',
      ),
    evaluationPeriods: z.number().int().min(1),
    datapointsToAlarm: z.number().int().min(1),
    threshold: z.number().finite(),
    comparison: z.enum([
      'GreaterThanThreshold',
      'GreaterThanOrEqualToThreshold',
      'LessThanThreshold',
      'LessThanOrEqualToThreshold',
    ]),
    treatMissingData: z.enum(['missing', 'notBreaching', 'breaching', 'ignore']),
    description: z.string().max(1024),
  })
  .strict()
  .refine((s) => s.datapointsToAlarm <= s.evaluationPeriods, {
    message: 'datapointsToAlarm must not exceed evaluationPeriods',
    path: ['datapointsToAlarm'],
  })
  // PutMetricAlarm: Period x EvaluationPeriods must not exceed one day (86,400 s).
  .refine((s) => s.periodSeconds * s.evaluationPeriods <= 86_400, {
    message: 'periodSeconds x evaluationPeriods must not exceed 86,400 s (one day)',
    path: ['evaluationPeriods'],
  });

export function validateAlarmSpec(spec: unknown, where: string): AlarmSpec {
  return parseOrThrow(alarmSpecSchema, spec, 'invalid alarm spec', where);
}

export interface AlarmUpdate {
  name: string;
  spec: AlarmSpec;
  /** Which fields differ, e.g. ["Threshold: 64 -> 32"]. */
  changes: string[];
}

export interface AlarmDiff {
  create: Array<{ name: string; spec: AlarmSpec }>;
  update: AlarmUpdate[];
  delete: string[];
  unchanged: string[];
  /** Desired specs that could not be used (duplicate or over-long names). */
  rejected: string[];
  /** Alarms under the prefix whose name db-autopilot never gives an alarm: not its own, left alone. */
  foreign: string[];
}

export interface DiffOptions {
  prefix: string;
  /**
   * Tuners whose desired set is unknown this run (discovery or their declaration failed):
   * their existing alarms are kept as they are, never deleted on missing information.
   */
  frozenTuners?: ReadonlySet<string>;
  /** Resolves which tuner an existing alarm belongs to (from its name or tags). */
  tunerOf?: (alarm: MetricAlarm) => string | undefined;
}

function dimsKey(d: Record<string, string> | Array<{ Name?: string; Value?: string }> | undefined): string {
  const pairs = Array.isArray(d)
    ? d.map((x) => [x.Name ?? '', x.Value ?? ''] as const)
    : Object.entries(d ?? {});
  return pairs
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
}

/** Fields the reconciler owns, compared as CloudWatch reports them back. */
function differences(spec: AlarmSpec, alarm: MetricAlarm): string[] {
  const out: string[] = [];
  const cmp = (field: string, want: unknown, have: unknown) => {
    if (want !== have) out.push(`${field}: ${String(have)} -> ${String(want)}`);
  };
  cmp('Namespace', spec.namespace, alarm.Namespace);
  cmp('MetricName', spec.metricName, alarm.MetricName);
  cmp('Dimensions', dimsKey(spec.dimensions), dimsKey(alarm.Dimensions));
  cmp('Statistic', spec.statistic, alarm.Statistic);
  cmp('Period', spec.periodSeconds, alarm.Period);
  cmp('EvaluationPeriods', spec.evaluationPeriods, alarm.EvaluationPeriods);
  cmp('DatapointsToAlarm', spec.datapointsToAlarm, alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods);
  cmp('Threshold', spec.threshold, alarm.Threshold);
  cmp('ComparisonOperator', spec.comparison, alarm.ComparisonOperator);
  cmp('TreatMissingData', spec.treatMissingData, alarm.TreatMissingData ?? 'missing');
  cmp('AlarmDescription', spec.description, alarm.AlarmDescription ?? '');
  return out;
}

export function diffAlarms(
  desired: readonly AlarmSpec[],
  existing: readonly MetricAlarm[],
  options: DiffOptions,
): AlarmDiff {
  const { prefix } = options;
  const diff: AlarmDiff = { create: [], update: [], delete: [], unchanged: [], rejected: [], foreign: [] };
  const wanted = new Map<string, AlarmSpec>();
  for (const spec of desired) {
    const name = alarmName(spec, prefix);
    if (name.length > MAX_ALARM_NAME) {
      diff.rejected.push(`${name.slice(0, 60)}...: longer than ${MAX_ALARM_NAME} characters`);
    } else if (wanted.has(name)) {
      diff.rejected.push(`${name}: declared twice (the first declaration is used)`);
    } else {
      wanted.set(name, spec);
    }
  }
  const have = new Map<string, MetricAlarm>();
  for (const alarm of existing) {
    // Never touch an alarm outside the prefix, even if a caller passed one in.
    if (alarm.AlarmName?.startsWith(prefix)) have.set(alarm.AlarmName, alarm);
  }
  for (const [name, spec] of wanted) {
    const alarm = have.get(name);
    if (!alarm) {
      diff.create.push({ name, spec });
      continue;
    }
    const changes = differences(spec, alarm);
    if (changes.length > 0) diff.update.push({ name, spec, changes });
    else diff.unchanged.push(name);
  }
  for (const [name, alarm] of have) {
    if (wanted.has(name)) continue;
    // Only what db-autopilot created may be deleted: a name it would not generate is someone else's.
    if (!parseAlarmName(name, prefix)) {
      diff.foreign.push(name);
      continue;
    }
    const tuner = options.tunerOf?.(alarm);
    if (tuner !== undefined && options.frozenTuners?.has(tuner)) {
      diff.unchanged.push(name);
      continue;
    }
    diff.delete.push(name);
  }
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  diff.create.sort(byName);
  diff.update.sort(byName);
  diff.delete.sort();
  diff.foreign.sort();
  return diff;
}

/** The PutMetricAlarm input for a spec: tagged so the alarm can be traced to its tuner and resource. */
export function putAlarmInput(name: string, spec: AlarmSpec): PutMetricAlarmCommandInput {
  return {
    AlarmName: name,
    AlarmDescription: spec.description,
    Namespace: spec.namespace,
    MetricName: spec.metricName,
    Dimensions: Object.entries(spec.dimensions).map(([Name, Value]) => ({ Name, Value })),
    Statistic: spec.statistic,
    Period: spec.periodSeconds,
    EvaluationPeriods: spec.evaluationPeriods,
    DatapointsToAlarm: spec.datapointsToAlarm,
    Threshold: spec.threshold,
    ComparisonOperator: spec.comparison,
    TreatMissingData: spec.treatMissingData,
    // No alarm actions: the EventBridge rule on the prefix routes state changes to the handler.
    ActionsEnabled: true,
    Tags: [
      { Key: ALARM_TAGS.managedBy, Value: 'db-autopilot' },
      { Key: ALARM_TAGS.tuner, Value: spec.tuner },
      { Key: ALARM_TAGS.resource, Value: spec.resourceId },
      { Key: ALARM_TAGS.key, Value: spec.key },
    ],
  };
}
