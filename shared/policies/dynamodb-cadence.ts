/**
 * How soon the DynamoDB tuner observes a table again (issue 23: what db-autopilot costs). Every
 * observation reads CloudWatch (GetMetricData is billed per metric requested), so a table far
 * from every threshold is observed less often, and the throttling alarms of the fast path
 * (dynamodbAlarms: ProvisionedThroughputThrottleEvents > 0 for one minute) run the tuner at once
 * when a spike throttles in between. Pure: the capacity policy's own assessments in, a time out.
 *
 * Read in order:
 *   activity      -> anything happening now (a planned change, UPDATING, throttling, an alarm) keeps it fast
 *   headroomToUp  -> the least headroom of any dimension to the scale-up threshold
 *   prewarmSoon   -> a learned recurring peak due before a slow run would come
 *   chooseCadence -> fast, or slow when every dimension is far from scaling up
 *
 * The decrease side never holds the fast cadence: a decrease observed one slow interval late
 * costs that interval's over-provisioning (cents), never service, and the capacity policy plans
 * it at the next observation.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { Plan } from '../core/model.ts';
import type { DimensionAssessment } from './dynamodb-observation.ts';

export interface CadenceConfig {
  /** The schedule (serverless.yml dynamodbSchedule): the fast cadence. */
  fastMinutes: number;
  /** The longest a table far from every threshold waits between observations. */
  slowMinutes: number;
  /**
   * A dimension is near the scale-up threshold when its recent peak uses more than this fraction
   * of what the threshold allows (target utilization x (1 + scaleUpTolerance) x provisioned).
   */
  nearFraction: number;
}

export const DEFAULT_CADENCE: CadenceConfig = { fastMinutes: 2, slowMinutes: 10, nearFraction: 0.8 };

export interface CadenceInput {
  now: Date;
  /** The capacity policy's assessment of every dimension of the table and its GSIs. */
  assessments: readonly Pick<
    DimensionAssessment,
    | 'indexName'
    | 'dim'
    | 'provisioned'
    | 'demandRate'
    | 'unservedRate'
    | 'provisionedThrottles'
    | 'keyRangeThrottles'
    | 'accountLimitThrottles'
  >[];
  /** Actions this observation planned for now (a change, a pre-warm, a finding). */
  plannedActions: number;
  /** The earliest time a decrease held back by AWS's budget may be made (a deferred action). */
  deferredUntil?: string;
  /** The table or a GSI is UPDATING. */
  updating: boolean;
  /** The run was started by a fast-path alarm. */
  alarm: boolean;
  /** The next expected recurring peak (pre-warming), if one was learned. */
  nextPeakAt?: string;
  config: Pick<DynamodbConfig, 'targetUtilization' | 'scaleUpTolerance'>;
  cadence: CadenceConfig;
}

export interface CadenceDecision {
  everyMinutes: number;
  /** The earliest time a scheduled run observes the table again. */
  nextAt: string;
  speed: 'fast' | 'slow';
  reason: string;
}

/** Step 1: why the table must stay on the fast cadence now, if anything is happening. */
export function activity(input: CadenceInput): string | undefined {
  if (input.alarm) return 'started by a throttling alarm';
  if (input.updating) return 'UPDATING';
  if (input.plannedActions > 0) return `${input.plannedActions} action(s) planned`;
  const throttled = input.assessments.find(
    (a) => a.provisionedThrottles + a.keyRangeThrottles + a.accountLimitThrottles > 0 || a.unservedRate > 0,
  );
  if (throttled) return `${throttled.indexName ?? 'table'} ${throttled.dim} throttled recently`;
  return undefined;
}

/**
 * Step 2: the smallest headroom to the scale-up threshold over all dimensions, as the fraction of
 * the threshold the recent peak uses (0 = idle, 1 = at the threshold). No assessment: 1 (unknown
 * is treated as near).
 */
export function headroomToUp(input: CadenceInput): { used: number; where: string } {
  const threshold = input.config.targetUtilization * (1 + input.config.scaleUpTolerance);
  let worst = { used: input.assessments.length ? 0 : 1, where: 'no metrics' };
  for (const a of input.assessments) {
    const allowed = threshold * a.provisioned;
    const used = allowed > 0 ? a.demandRate / allowed : 1;
    if (used >= worst.used) worst = { used, where: `${a.indexName ?? 'table'} ${a.dim}` };
  }
  return worst;
}

/** Step 3: a learned recurring peak is due before a slow run would come (pre-warming must not wait). */
export function prewarmSoon(input: CadenceInput): boolean {
  if (!input.nextPeakAt) return false;
  const at = Date.parse(input.nextPeakAt);
  const slowEnd = input.now.getTime() + input.cadence.slowMinutes * 60_000;
  return Number.isFinite(at) && at <= slowEnd;
}

/** Step 4: fast or slow, and when the next scheduled observation is due. */
export function chooseCadence(input: CadenceInput): CadenceDecision {
  const { cadence, now } = input;
  const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000).toISOString();
  const fast = (reason: string): CadenceDecision => ({
    everyMinutes: cadence.fastMinutes,
    nextAt: at(cadence.fastMinutes),
    speed: 'fast',
    reason,
  });
  const busy = activity(input);
  if (busy) return fast(busy);
  if (prewarmSoon(input)) return fast(`a recurring peak is expected at ${input.nextPeakAt}`);
  const head = headroomToUp(input);
  if (head.used >= cadence.nearFraction)
    return fast(`${head.where} uses ${Math.round(head.used * 100)}% of its scale-up threshold`);
  // A decrease waiting for AWS's budget is observed again when its slot opens, not later.
  const untilSlot = input.deferredUntil
    ? (Date.parse(input.deferredUntil) - now.getTime()) / 60_000
    : Infinity;
  const slow = Math.max(
    cadence.fastMinutes,
    Math.min(cadence.slowMinutes, Number.isFinite(untilSlot) ? Math.ceil(untilSlot) : Infinity),
  );
  return {
    everyMinutes: slow,
    nextAt: at(slow),
    speed: 'slow',
    reason: `far from every threshold (busiest: ${head.where} at ${Math.round(head.used * 100)}% of its scale-up threshold); the throttling alarms catch a spike sooner`,
  };
}

/**
 * What a plan says about the cadence: the actions for now, and the earliest slot of a decrease
 * deferred by AWS's budget (an action whose rules say `defer ... until`).
 */
export function cadenceOfPlan(plan: Pick<Plan, 'actions'>): {
  plannedActions: number;
  deferredUntil?: string;
} {
  const deferred = plan.actions.flatMap((a) =>
    (a.rules ?? []).filter((r) => r.verdict === 'defer' && r.until).map((r) => r.until as string),
  );
  return {
    plannedActions: plan.actions.filter((a) => !(a.rules ?? []).some((r) => r.verdict === 'defer')).length,
    ...(deferred.length ? { deferredUntil: deferred.sort()[0] } : {}),
  };
}

/** A scheduled run observes a table only when its time has come; an alarm or a manual run always does. */
export function isDue(nextAt: string | undefined, now: Date, trigger: string): boolean {
  if (trigger !== 'schedule' || !nextAt) return true;
  const t = Date.parse(nextAt);
  // Runs start on the minute while the recorded time may carry seconds: due within the minute.
  return !Number.isFinite(t) || t - now.getTime() < 60_000;
}
