import { z } from 'zod';
import type { TunerRunRequest } from './contracts.ts';

/**
 * The events a tuner function accepts:
 * - an EventBridge scheduled event (idempotency key = the event id, so a redelivery acts once);
 * - a manual invocation: `{ "dryRun": true|false, "override"?: true, "resources"?: [...], "idempotencyKey"?: "..." }`.
 *   A manual real run of a tuner in observe mode is refused unless `override: true` (the executor records it).
 * The alarm handler calls tuners directly with trigger 'alarm'.
 */
export const scheduledEventSchema = z
  .object({
    source: z.literal('aws.events'),
    'detail-type': z.literal('Scheduled Event'),
    id: z.string().min(1),
    time: z.string().datetime({ offset: true }),
    resources: z.array(z.string()).optional(),
    detail: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

const resourceId = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._:/-]+$/, 'a resource identifier (letters, digits, . _ : / -)');

export const manualInvocationSchema = z
  .object({
    dryRun: z.boolean({
      error: (issue) =>
        issue.input === undefined
          ? 'dryRun is required: true plans only, false acts'
          : `dryRun must be true or false (got ${JSON.stringify(issue.input)})`,
    }),
    override: z.boolean().default(false),
    resources: z.array(resourceId).min(1).max(100).optional(),
    idempotencyKey: z.string().min(8).max(128).optional(),
  })
  .strict();

export const tunerEventSchema = z.union([scheduledEventSchema, manualInvocationSchema], {
  error: 'expected an EventBridge "Scheduled Event" or a manual invocation { "dryRun": true|false, ... }',
});

export type TunerEvent = z.infer<typeof tunerEventSchema>;

/**
 * Turns a parsed event into a run request. A manual invocation without an idempotency key
 * gets one derived from the Lambda request id, so a Lambda retry of the same
 * request is recognised while a new invocation by a person is not.
 */
export function toRunRequest(
  event: TunerEvent,
  requestId: string,
  remainingMs?: () => number,
): TunerRunRequest {
  if ('source' in event) {
    return {
      trigger: 'schedule',
      dryRun: false,
      override: false,
      idempotencyKey: `eventbridge:${event.id}`,
      remainingMs,
    };
  }
  return {
    trigger: 'manual',
    resourceIds: event.resources,
    dryRun: event.dryRun,
    override: event.override,
    idempotencyKey: event.idempotencyKey ? `manual:${event.idempotencyKey}` : `manual:${requestId}`,
    remainingMs,
  };
}
