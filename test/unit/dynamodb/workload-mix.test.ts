import { describe, expect, it } from 'vitest';
import { DynamodbModel } from '../../../shared/backtest/models/dynamodb.ts';
import {
  DEFAULT_WORKLOAD_MIX,
  dynamodbWorkloadSchema,
  publishedCounts,
} from '../../../shared/backtest/models/dynamodb-workload.ts';
import { parseOptions, prices } from '../../../shared/backtest/options.ts';

const single = dynamodbWorkloadSchema.parse({ batchShare: 0, client: 'no-retry', readUnitsPerItem: 1 });

describe('DynamoDB workload mix: what CloudWatch publishes of throttled demand', () => {
  it('counts one event per throttled item, and a batch once in ThrottledRequests', () => {
    const plain = publishedCounts(6000, 3000, 1, single);
    expect(plain.throttleEvents).toBeCloseTo(3000);
    expect(plain.throttledRequests).toBeCloseTo(3000);
    expect(plain.successfulRequests).toBeCloseTo(3000);
    const batched = publishedCounts(6000, 3000, 1, { ...single, batchShare: 1, batchItems: 10 });
    expect(batched.throttleEvents).toBeCloseTo(3000);
    expect(batched.throttledRequests).toBeLessThan(600 + 1e-9);
    expect(batched.successfulRequests).toBeCloseTo(300);
  });

  it("inflates events with the SDK's default retries and hides demand behind a closed-loop client", () => {
    const sdk = publishedCounts(6000, 3000, 1, { ...single, client: 'sdk-default', maxAttempts: 3 });
    expect(sdk.throttleEvents).toBeCloseTo(3000 * (1 + 0.5 + 0.25));
    const closed = publishedCounts(6000, 3000, 1, { ...single, client: 'closed-loop' });
    expect(closed.throttleEvents).toBeCloseTo(1500);
  });

  it('scales only the throttle signal with signalStrength, never what is served', () => {
    const x1 = publishedCounts(6000, 3000, 1.5, DEFAULT_WORKLOAD_MIX, 1);
    const x3 = publishedCounts(6000, 3000, 1.5, DEFAULT_WORKLOAD_MIX, 3);
    expect(x3.throttleEvents).toBeCloseTo(3 * x1.throttleEvents);
    expect(x3.throttledRequests).toBeCloseTo(3 * x1.throttledRequests);
    expect(x3.successfulRequests).toBeCloseTo(x1.successfulRequests);
  });

  it('publishes no throttling when everything is served', () => {
    expect(publishedCounts(600, 600, 1, DEFAULT_WORKLOAD_MIX)).toMatchObject({
      throttleEvents: 0,
      throttledRequests: 0,
    });
  });

  it('the model publishes events, never the throttled units it scores', () => {
    const options = parseOptions({ signalStrength: 2 });
    const m = new DynamodbModel(options, prices(options), { read: 100, write: 10 });
    m.begin(0);
    const row = m.serve(1000, 0);
    expect(Object.keys(row.read).sort()).toEqual(
      [
        'accountLimitThrottleEvents',
        'consumed',
        'keyRangeThrottleEvents',
        'provisioned',
        'provisionedThrottleEvents',
        'successfulRequests',
      ].sort(),
    );
    const hidden = m.lastThrottled().read;
    expect(hidden).toBeGreaterThan(0);
    const c = publishedCounts(1000 * 60, row.read.consumed * 60, 1.5, options.dynamodb.workload, 2);
    expect(row.read.provisionedThrottleEvents).toBeCloseTo(c.throttleEvents);
    expect(row.throttledRequests).toBeGreaterThan(0);
  });
});
