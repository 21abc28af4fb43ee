/**
 * Staying inside AWS's API limits at fleet scale: bounded concurrency and a per-operation rate
 * limiter (token bucket). Retries are the SDK's alone (shared/aws/clients.ts: adaptive retry mode,
 * every attempt paced by these limiters). Time is injectable so tests never sleep.
 */

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
  return results;
}

/**
 * Token bucket: at most `perSecond` starts per second on average, bursts up to `burst`.
 * Shared by every caller of one operation in this process (the quota is per account and region).
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly perSecond: number,
    readonly burst: number = perSecond,
    private readonly sleep: Sleep = realSleep,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = this.now();
  }

  /** Resolves when one call may start. Calls are served in arrival order. */
  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        const t = this.now();
        this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
        this.last = t;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
      }
    });
    this.queue = turn;
    return turn;
  }
}

/**
 * Error names AWS uses for throttling: CloudWatch `Throttling`, DynamoDB/most JSON services
 * `ThrottlingException`, the Tagging API `ThrottledException`, API Gateway style
 * `TooManyRequestsException`, EC2-style `RequestLimitExceeded`; and any HTTP 429.
 * (AWS SDK for JavaScript v3 retry strategy's throttling error codes; CloudWatch API
 * reference "Common Errors".)
 */
const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
]);

export function isThrottling(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  if (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name)) return true;
  if (typeof e.Code === 'string' && THROTTLING_NAMES.has(e.Code)) return true;
  if (e.$metadata?.httpStatusCode === 429) return true;
  return e.$retryable?.throttling === true;
}

/** At most `limit` tasks at once; tasks may be added while others run (pipelines). */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter (active stays the same), or free it.
      if (next) next();
      else this.active--;
    }
  }
}
