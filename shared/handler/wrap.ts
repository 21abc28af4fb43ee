import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { publicMessage, ValidationError } from '../core/errors.ts';
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
    path: [root, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
      .join('.')
      .replace(/\.\[/g, '['),
    message: i.message,
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
    throw new ValidationError(`${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  return result.data;
}

/**
 * Wraps a function's core in middy with Powertools logging and metrics, validates the event
 * with zod first (bad input changes nothing) and turns errors into a clear summary that never
 * leaks internals. The core receives the parsed event.
 */
export function lambdaHandler<S extends z.ZodType, R>(
  name: string,
  eventSchema: S,
  core: (event: z.infer<S>, ctx: HandlerContext) => Promise<R>,
) {
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
      parsed = parseOrThrow(eventSchema, event, 'invalid event', 'event', event);
    } catch (error) {
      const summary: ErrorSummary = {
        ok: false,
        error: publicMessage(error),
        issues: error instanceof ValidationError ? error.issues : undefined,
      };
      logger.warn('rejected event', { function: name, issues: summary.issues });
      metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
      return summary;
    }
    try {
      return await core(parsed, ctx);
    } catch (error) {
      // A ValidationError found at run time (unknown database or table) is the caller's mistake:
      // a warning with what and where, no stack; anything else is ours and logged as an error.
      if (error instanceof ValidationError) {
        logger.warn('rejected at run time', { function: name, issues: error.issues });
        metrics.addMetric('RejectedEvents', MetricUnit.Count, 1);
        return { ok: false, error: publicMessage(error), issues: error.issues };
      }
      logger.error('run failed', { function: name, error: error as Error });
      metrics.addMetric('FailedRuns', MetricUnit.Count, 1);
      return { ok: false, error: publicMessage(error) };
    }
  };
  return middy<unknown, R | ErrorSummary, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(run);
}
