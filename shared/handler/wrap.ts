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

/** Formats zod issues as `path: message` lines that say what is wrong and where. */
export function zodIssues(error: z.ZodError, root = 'event'): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({
    path: [root, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
      .join('.')
      .replace(/\.\[/g, '['),
    message: i.message,
  }));
}

export function parseEvent<S extends z.ZodType>(schema: S, event: unknown): z.infer<S> {
  const result = schema.safeParse(event);
  if (!result.success) {
    const issues = zodIssues(result.error);
    throw new ValidationError(
      `invalid event: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
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
      parsed = parseEvent(eventSchema, event);
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
