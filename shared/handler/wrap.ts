import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { clock } from '../core/clock.ts';
import { DbAutopilotError, publicMessage, ValidationError } from '../core/errors.ts';
import type { TunerName } from '../core/model.ts';
import { fitResponse, type LeftOut, RESPONSE_BUDGET_BYTES } from '../core/response-budget.ts';
import { withClaimScope } from '../core/run.ts';
import { flushStateTotals, stateStore } from '../state/index.ts';
import { logger, MetricUnit, metrics } from './observability.ts';

export interface HandlerContext {
  /** Milliseconds left before Lambda stops the function (a large number outside Lambda). */
  remainingMs(): number;
  requestId: string;
  functionName: string;
}

export interface ErrorSummary {
  ok: false;
  error: string;
  issues?: Array<{ path: string; message: string }>;
}

type Issue = z.core.$ZodIssue;

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = input;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * A failed plain union (e.g. "scheduled event or manual invocation") reports one issue at the
 * root; replace it with the issues of the branch the input was meant for, so the message says
 * `event.dryRun: ...` rather than "expected A or B". The branch meant is the one with the fewest
 * issues, not counting against it a discriminating literal the input gives with a wrong value
 * (`"detail-type": "Sched"` means the scheduled branch), but counting heavily a literal the input
 * lacks altogether. Without the input, or with no branch errors, the union issue stays.
 */
function expandUnions(issue: Issue, input: unknown, hasInput: boolean): Issue[] {
  if (issue.code !== 'invalid_union' || !hasInput || issue.errors.length === 0) return [issue];
  const score = (branch: Issue[]) =>
    branch.reduce((n, i) => {
      if (i.code !== 'invalid_value') return n + 1;
      return n + (valueAt(input, [...issue.path, ...i.path]) === undefined ? 100 : 1);
    }, 0);
  let best: Issue[] | undefined;
  for (const branch of issue.errors) if (!best || score(branch) < score(best)) best = branch;
  if (!best || best.length === 0) return [issue];
  return best.flatMap((i) =>
    expandUnions({ ...i, path: [...issue.path, ...i.path] } as Issue, input, hasInput),
  );
}

/** What an error message may quote of the input: a short prefix, never the whole value. */
export const MAX_ISSUE_CHARS = 200;
/** Longest error a caller gets back (a few issues). */
export const MAX_ERROR_CHARS = 1000;
/** Deepest nesting an event may have (every event of db-autopilot is a few levels deep). */
export const MAX_EVENT_DEPTH = 32;
/** Largest event accepted, in characters of its values and keys (EventBridge events are at most 256 KB). */
export const MAX_EVENT_CHARS = 256 * 1024;

/** `text` cut to `max` characters, saying how much was left out. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}

/**
 * Cheap shape check before the schema: an event nested deeper than MAX_EVENT_DEPTH (a recursive
 * validator would overflow the stack) or larger than MAX_EVENT_CHARS is rejected with what and
 * where, reading at most MAX_EVENT_CHARS of it. Iterative, so any depth is safe.
 */
export function eventShapeProblem(event: unknown): string | undefined {
  let chars = 0;
  const stack: Array<{ value: unknown; depth: number; path: string }> = [
    { value: event, depth: 0, path: 'event' },
  ];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop() as { value: unknown; depth: number; path: string };
    if (typeof value === 'string') chars += value.length;
    else chars += 8;
    if (chars > MAX_EVENT_CHARS)
      return `event is larger than ${MAX_EVENT_CHARS} characters (near ${clip(path, 80)})`;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_EVENT_DEPTH)
      return `event is nested deeper than ${MAX_EVENT_DEPTH} levels at ${clip(path, 80)}`;
    for (const [key, child] of Object.entries(value)) {
      chars += key.length;
      const step = Array.isArray(value) ? `[${key}]` : `.${key}`;
      stack.push({ value: child, depth: depth + 1, path: path.length < 200 ? `${path}${step}` : path });
    }
  }
  return undefined;
}

/**
 * Formats zod issues as `path: message` lines that say what is wrong and where. Pass the parsed
 * `input` (third argument) to have failed unions reported at the field that is wrong.
 */
export function zodIssues(
  error: z.ZodError,
  root = 'event',
  ...input: [unknown?]
): Array<{ path: string; message: string }> {
  const issues = error.issues.flatMap((i) => expandUnions(i, input[0], input.length > 0));
  return issues.map((i) => ({
    path: clip(
      [root, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
        .join('.')
        .replace(/\.\[/g, '['),
      MAX_ISSUE_CHARS,
    ),
    message: clip(i.message, MAX_ISSUE_CHARS),
  }));
}

/**
 * Parses `value` with `schema`, or throws a ValidationError `${what}: path: message; ...` naming
 * every issue under `root` (pass the input as the last argument as for zodIssues).
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
  root: string,
  ...input: [unknown?]
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = zodIssues(result.error, root, ...input);
    const text = `${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
    throw new ValidationError(clip(text, MAX_ERROR_CHARS), issues.slice(0, 10));
  }
  return result.data;
}

/** The invocation failed on something unexpected: thrown so Lambda counts it (Errors metric, retries). */
export class RunFailedError extends DbAutopilotError {}

/**
 * The tuner under which each function's failed runs are recorded: one the function's role may
 * write (its STATE_WRITERS owners, shared/state/keys.ts). Every function in serverless.yml has one
 * (test/unit/core/loud-failures.test.ts).
 */
export const FUNCTION_TUNER: Record<string, TunerName> = {
  'iops-tuner': 'iops',
  'replica-scaler': 'replicas',
  'dynamodb-tuner': 'dynamodb',
  'pg-maintenance': 'maintenance',
  'pg-insights': 'insights',
  'proxy-tuner': 'proxy',
  rightsizing: 'rightsizing',
  'serverless-tuner': 'serverless',
  'alarm-reconciler': 'alarms',
  'alarm-handler': 'alarms',
  control: 'control',
  report: 'report',
  digest: 'digest',
  'fleet-planner': 'fleet',
  'fleet-worker': 'fleet',
  'fleet-report': 'fleet',
};

/**
 * Records a failed run in the audit log (best effort: the state table may be what failed), so the
 * report and the digest list it: a failed no-op of the function's tuner, guard `run-failed`.
 */
export async function recordFailedRun(name: string, message: string, requestId: string): Promise<void> {
  const tuner = FUNCTION_TUNER[name];
  if (!tuner) {
    logger.error('a failed run of a function with no tuner to record it under', { function: name });
    return;
  }
  try {
    const at = clock().now().toISOString();
    await stateStore().recordDecision({
      id: `${name}-failed-${requestId}:0001`,
      runId: `${name}-failed-${requestId}`,
      at,
      tuner,
      resource: name,
      resourceKind: 'account',
      action: 'noop',
      outcome: 'failed',
      reason: `run failed: ${message}`,
      evidence: [],
      monthlyCostDelta: 0,
      from: null,
      to: null,
      undo: null,
      guard: 'run-failed',
      mode: 'apply',
      dryRun: false,
      override: false,
      trigger: 'schedule',
      severity: 'critical',
    });
  } catch (error) {
    logger.warn('could not record the failed run', { function: name, error: publicMessage(error) });
  }
}

/**
 * How long before Lambda's timeout middy cuts a run short (its TimeoutError), so that the
 * onError middlewares (flushTotals below, the metrics) still have time to write. Tuner loops stop
 * starting targets well before (DEFAULT_SAFETY_MARGIN_MS, shared/core/run.ts).
 */
export const TIMEOUT_EARLY_MS = 1000;

/**
 * Writes what the run's store held (StateStore.flushTotals): its successful no-op records and
 * per-run tuner state not yet written (25 to a BatchWriteItem), then the no-op counts for the
 * daily totals (shared/state/totals.ts), when the run ends, however it ends: after its answer (a
 * rejected event too), after a failure (once the failed run is recorded), and when middy's early
 * timeout cut it short (onError runs then, TIMEOUT_EARLY_MS before Lambda's). Best effort: a
 * failed write is logged and what it did not write stays held in this container for its next
 * run's flush; a container that dies first loses them (every notable decision is written as it
 * is recorded).
 */
export function flushTotalsMiddleware(name: string): MiddlewareObj {
  const flush = async (): Promise<void> => {
    try {
      await flushStateTotals();
    } catch (error) {
      logger.warn('could not write the daily totals of the run', {
        function: name,
        error: publicMessage(error),
      });
    }
  };
  return { after: flush, onError: flush };
}

let responseBudget = RESPONSE_BUDGET_BYTES;

/**
 * Sets a smaller response budget (tests: a large fleet's answer without a large fleet); returns
 * the function that puts the production budget back. Never above RESPONSE_BUDGET_BYTES.
 */
export function setResponseBudget(bytes: number): () => void {
  responseBudget = Math.min(Math.max(1, Math.floor(bytes)), RESPONSE_BUDGET_BYTES);
  return () => {
    responseBudget = RESPONSE_BUDGET_BYTES;
  };
}

/**
 * The answer within the response budget (shared/core/response-budget.ts): Lambda refuses a
 * synchronous response over 6 MB after the run has acted. What was left out is logged too.
 */
function withinBudget<R>(name: string, result: R): R {
  const answer = fitResponse(result, responseBudget);
  if (answer !== result) {
    const o = answer as { leftOut?: LeftOut; run?: { leftOut?: LeftOut } };
    const leftOut = o.leftOut ?? o.run?.leftOut;
    logger.info('answer over the response budget: part of it left out (every decision is recorded)', {
      function: name,
      budgetBytes: leftOut?.budgetBytes,
      fullBytes: leftOut?.fullBytes,
      noopEvidence: leftOut?.noopEvidence,
      decisionsLeftOut: leftOut?.decisions,
    });
  }
  return answer;
}

/**
 * Wraps a function's core in middy with Powertools logging and metrics. The event is checked
 * cheaply for size and depth, then validated with zod (bad input changes nothing and is answered
 * with `{ ok: false, error, issues }`, messages quoting at most a short prefix of the input). A
 * ValidationError found at run time is answered the same way and gives back the idempotency keys
 * the run claimed. Any other error is logged, counted (FailedRuns) and thrown: the invocation
 * fails, Lambda's Errors metric and the failure alarms see it, and the keys stay claimed so
 * Lambda's asynchronous retries never act twice. An answer with decisions is kept within the
 * response budget (withinBudget).
 */
export function lambdaHandler<S extends z.ZodType, R>(
  name: string,
  eventSchema: S,
  core: (event: z.infer<S>, ctx: HandlerContext) => Promise<R>,
) {
  const rejected = (error: unknown, what: string): ErrorSummary => {
    const issues = error instanceof ValidationError ? error.issues : undefined;
    logger.warn(what, { function: name, issues });
    metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
    return { ok: false, error: clip(publicMessage(error), MAX_ERROR_CHARS), ...(issues ? { issues } : {}) };
  };
  const run = async (event: unknown, context: Context): Promise<R | ErrorSummary> => {
    const ctx: HandlerContext = {
      remainingMs: () =>
        typeof context?.getRemainingTimeInMillis === 'function'
          ? context.getRemainingTimeInMillis()
          : Number.MAX_SAFE_INTEGER,
      requestId: context?.awsRequestId ?? 'local',
      functionName: context?.functionName ?? name,
    };
    let parsed: z.infer<S>;
    try {
      const problem = eventShapeProblem(event);
      if (problem)
        throw new ValidationError(`invalid event: ${problem}`, [{ path: 'event', message: problem }]);
      parsed = parseOrThrow(eventSchema, event, 'invalid event', 'event', event);
    } catch (error) {
      return rejected(error, 'rejected event');
    }
    try {
      const result = await withClaimScope(
        () => core(parsed, ctx),
        (error) => ({ release: error instanceof ValidationError }),
      );
      return withinBudget(name, result);
    } catch (error) {
      // A ValidationError found at run time (unknown database or table) is the caller's mistake:
      // a warning with what and where, no stack; anything else is ours: logged, counted, thrown.
      if (error instanceof ValidationError) return rejected(error, 'rejected at run time');
      logger.error('run failed', { function: name, error: error as Error });
      metrics.addMetric('FailedRuns', MetricUnit.Count, 1);
      const message = clip(publicMessage(error), MAX_ERROR_CHARS);
      await recordFailedRun(name, message, ctx.requestId);
      throw new RunFailedError(message);
    }
  };
  return middy<unknown, R | ErrorSummary, Error, Context>({ timeoutEarlyInMillis: TIMEOUT_EARLY_MS })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(flushTotalsMiddleware(name))
    .handler(run);
}
