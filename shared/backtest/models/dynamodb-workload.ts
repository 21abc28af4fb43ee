import { z } from 'zod';

/**
 * The DynamoDB workload mix: how a demand in capacity units shows in what CloudWatch publishes.
 * The same for the backtest model and the simulated account (shared/sim/services/dynamodb.ts).
 *
 * CloudWatch never publishes unserved capacity units. It publishes (DynamoDB Developer Guide,
 * "DynamoDB Metrics and dimensions"; aws-facts.md, DynamoDB provisioned capacity):
 * - `Consumed{Read,Write}CapacityUnits` Sum (units served) and SampleCount (requests served);
 * - `{Read,Write}ProvisionedThroughputThrottleEvents` (and KeyRange / AccountLimit by cause):
 *   one event per throttled single-item request and one per throttled ITEM of a batch, counted
 *   again for every retry the client makes;
 * - `ThrottledRequests`: a request counts once, however many of its items were throttled;
 * - `SuccessfulRequestLatency` SampleCount: successful requests.
 *
 * Clients (`client`):
 * - `sdk-default` (the default, what most applications run): the AWS SDK's standard retry mode,
 *   `maxAttempts` 3: a throttled attempt is retried at once and is throttled again as often as
 *   the minute is throttled (share f), so the events of a throttled item are 1 + f + f^2 (x up
 *   to 3 when everything is throttled): retries inflate the signal;
 * - `closed-loop`: a fixed pool of workers that waits for each answer and backs off when
 *   throttled: the demand it does not even send is invisible, so the events shrink with
 *   saturation (events x (1 - f));
 * - `no-retry`: one event per throttled item.
 * `signalStrength` (backtest option) multiplies every throttle count; it never changes scores.
 */
export const dynamodbWorkloadSchema = z
  .object({
    /** Average read capacity units per item (4 KB strongly consistent = 1, eventually consistent 0.5, larger items more). */
    readUnitsPerItem: z.number().positive().default(1.5),
    /** Average write capacity units per item (1 KB = 1). */
    writeUnitsPerItem: z.number().positive().default(1),
    /** Share of the items read or written through batch calls (BatchGetItem / BatchWriteItem). */
    batchShare: z.number().min(0).max(1).default(0.1),
    /** Items per batch call. */
    batchItems: z.number().int().min(1).max(100).default(10),
    client: z.enum(['sdk-default', 'closed-loop', 'no-retry']).default('sdk-default'),
    /** Attempts per request of the SDK's standard retry mode (AWS SDK default 3). */
    maxAttempts: z.number().int().min(1).max(10).default(3),
  })
  .strict();

export type DynamodbWorkloadMix = z.infer<typeof dynamodbWorkloadSchema>;

export const DEFAULT_WORKLOAD_MIX: DynamodbWorkloadMix = dynamodbWorkloadSchema.parse({});

/** What CloudWatch publishes for one dimension in one minute. */
export interface PublishedCounts {
  /** Requests that consumed capacity (Consumed* SampleCount = successful requests). */
  successfulRequests: number;
  /** Throttle events (per request and per batch item, retries included). */
  throttleEvents: number;
  /** Requests with at least one throttled item (ThrottledRequests), retries included. */
  throttledRequests: number;
}

/**
 * The published counts of one dimension in one minute, from the units demanded and served
 * (both hidden: only what this returns is published).
 */
export function publishedCounts(
  demandUnits: number,
  servedUnits: number,
  unitsPerItem: number,
  mix: DynamodbWorkloadMix,
  signalStrength = 1,
): PublishedCounts {
  const throttledUnits = Math.max(0, demandUnits - servedUnits);
  const f = demandUnits > 0 ? Math.min(1, throttledUnits / demandUnits) : 0;
  const servedItems = servedUnits / unitsPerItem;
  const throttledItems = throttledUnits / unitsPerItem;
  const bs = mix.batchShare;
  let attempts = 1;
  if (mix.client === 'sdk-default') {
    attempts = 0;
    for (let k = 0; k < mix.maxAttempts; k++) attempts += f ** k;
  } else if (mix.client === 'closed-loop') {
    attempts = 1 - f;
  }
  // A batch is throttled when any of its items is: 1 - (1 - f)^items of the batches.
  const throttledBatches =
    f > 0 ? ((throttledItems + servedItems) * bs * (1 - (1 - f) ** mix.batchItems)) / mix.batchItems : 0;
  return {
    successfulRequests: requestsFor(servedItems, mix),
    throttleEvents: throttledItems * attempts * signalStrength,
    throttledRequests: (throttledItems * (1 - bs) + throttledBatches) * attempts * signalStrength,
  };
}

/**
 * Requests that carry `items` (single-item calls and batches of `batchItems`). A function of the
 * module, not a closure per call: the simulated account calls publishedCounts for every table,
 * dimension and minute.
 */
function requestsFor(items: number, mix: DynamodbWorkloadMix): number {
  return items * (1 - mix.batchShare) + (items * mix.batchShare) / mix.batchItems;
}
