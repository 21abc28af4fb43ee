import { describe, expect, it } from 'vitest';
import { prewarmDemand } from '../../../shared/tuners/dynamodb.ts';
import { flat } from './fixtures.ts';

describe('pre-warming demand history', () => {
  // 2 capacity units per successful request recently; 100 RCU provisioned; cap 10x provisioned.
  const r = {
    metrics: { read: flat(20, 100, { unitsPerRequest: 2 }), write: flat(20, 10) },
    provisioned: { read: 100, write: 10 },
  };

  it('converts throttle events to capacity units with the units per successful request', () => {
    // 300 s periods: 30,000 units consumed (100/s) and 3,000 throttled requests (2 units each).
    expect(prewarmDemand([30_000], [3_000], 300, r, 'read', 10)).toEqual([100 + (3_000 * 2) / 300]);
  });

  it('caps the unserved part per step, so a retry storm cannot inflate a learned peak', () => {
    const [d] = prewarmDemand([30_000, 30_000], [3_000_000, 0], 300, r, 'read', 10);
    // Uncapped it would be 100 + 20,000 units/s; the cap is 10 x 100 provisioned.
    expect(d).toBe(100 + 1_000);
  });

  it('treats a missing throttle datapoint as zero', () => {
    expect(prewarmDemand([30_000, 60_000], [0], 300, r, 'read', 10)).toEqual([100, 200]);
  });
});
