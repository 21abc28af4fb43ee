import { ThrottlingException } from '@aws-sdk/client-dynamodb';
import { ThrottledException } from '@aws-sdk/client-resource-groups-tagging-api';
import { describe, expect, it } from 'vitest';
import { isThrottling, mapLimit, RateLimiter, Semaphore } from '../../../shared/metrics/limits.ts';

describe('RateLimiter', () => {
  it('lets a burst through, then spaces calls at the rate', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const limiter = new RateLimiter(
      2,
      2,
      async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
      () => now,
    );

    await limiter.take();
    await limiter.take();
    await limiter.take();

    expect(sleeps).toEqual([500]); // the third call waits for one token at 2 per second
  });
});

describe('Semaphore and mapLimit', () => {
  it('never runs more than the limit at once and keeps the order of results', async () => {
    let active = 0;
    let most = 0;
    const sem = new Semaphore(3);
    const results = await mapLimit(
      Array.from({ length: 20 }, (_, i) => i),
      20,
      (i) =>
        sem.use(async () => {
          active++;
          most = Math.max(most, active);
          await new Promise((r) => setImmediate(r));
          active--;
          return i * 2;
        }),
    );
    expect(most).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });
});

describe('isThrottling', () => {
  it('recognises the SDK throttling errors of each service', () => {
    expect(
      isThrottling(
        new ThrottlingException({
          message: 'Rate of requests exceeds the allowed throughput.',
          $metadata: {},
        }),
      ),
    ).toBe(true);
    expect(isThrottling(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }))).toBe(true);
    expect(isThrottling({ name: 'Other', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottling(new Error('boom'))).toBe(false);
  });
});
