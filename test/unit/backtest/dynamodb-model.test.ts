import { describe, expect, it } from 'vitest';
import { DynamodbModel } from '../../../shared/backtest/models/dynamodb.ts';
import { parseOptions, prices } from '../../../shared/backtest/options.ts';

function model(initial: { read: number; write: number; mode?: 'provisioned' | 'on-demand' }, delay = 2) {
  const options = parseOptions({ dynamodb: { updateDelayMinutes: delay } });
  return new DynamodbModel(options, prices(options), initial);
}

/** Serves `minutes` minutes of constant demand starting at minute `from`; returns throttled read per minute. */
function serve(m: DynamodbModel, from: number, minutes: number, read: number, write = 0): number[] {
  const out: number[] = [];
  for (let t = from; t < from + minutes; t++) {
    m.begin(t);
    m.serve(read, write);
    out.push(m.lastThrottled().read);
  }
  return out;
}

describe('DynamoDB capacity model', () => {
  it('lets 150 RCU provisioned serve 200 RCU for about 15 minutes from banked burst, then throttles', () => {
    // aws-facts.md: 150 RCU idle, then 200 RCU for about 15 minutes.
    const m = model({ read: 150, write: 10 });
    serve(m, 0, 10, 0);
    const throttled = serve(m, 10, 20, 200);
    const servedFully = throttled.filter((x) => x === 0).length;
    expect(servedFully).toBe(15);
    expect(throttled[16]).toBeCloseTo(50);
  });

  it('puts an increase in place after the update delay and refuses a second UpdateTable while UPDATING', () => {
    const m = model({ read: 100, write: 10 }, 3);
    m.begin(0);
    expect(m.request({ read: 300 })).toEqual({ status: 'applied', effectiveAt: 3 });
    expect(m.state().read).toBe(100);
    const second = m.request({ read: 400 });
    expect(second.status).toBe('deferred');
    m.begin(2);
    expect(m.state().read).toBe(100);
    m.begin(3);
    expect(m.state().read).toBe(300);
    expect(m.request({ read: 400 }).status).toBe('applied');
  });

  it('allows 4 decreases at any time in a UTC day, then one more only after an hour without a decrease', () => {
    const m = model({ read: 1000, write: 100 }, 0);
    const results: string[] = [];
    for (let t = 0; t < 5; t++) {
      m.begin(t);
      results.push(m.request({ read: 1000 - 100 * (t + 1) }).status);
    }
    expect(results).toEqual(['applied', 'applied', 'applied', 'applied', 'deferred']);
    m.begin(3 + 59);
    expect(m.request({ read: 500 }).status).toBe('deferred');
    m.begin(3 + 60);
    expect(m.request({ read: 500 }).status).toBe('applied');
    m.begin(3 + 61);
    expect(m.request({ read: 400 }).status).toBe('deferred');
    expect(m.state().decreasesToday).toBe(5);
  });

  it('resets the decrease count at UTC midnight', () => {
    const m = model({ read: 1000, write: 100 }, 0);
    for (let t = 0; t < 4; t++) {
      m.begin(1430 + t);
      m.request({ read: 900 - 100 * t });
    }
    m.begin(1434);
    expect(m.request({ read: 100 }).status).toBe('deferred');
    m.begin(1440);
    expect(m.state().decreasesToday).toBe(0);
    expect(m.request({ read: 100 }).status).toBe('applied');
  });

  it('counts lowering read and write in one UpdateTable as one decrease', () => {
    const m = model({ read: 1000, write: 100 }, 0);
    m.begin(0);
    m.request({ read: 500, write: 50 });
    expect(m.state().decreasesToday).toBe(1);
  });

  it('refuses an UpdateTable that mixes an increase with a decrease', () => {
    const m = model({ read: 1000, write: 100 }, 0);
    m.begin(0);
    const result = m.request({ read: 2000, write: 50 });
    expect(result.status).toBe('skipped');
    expect(m.state()).toMatchObject({ read: 1000, write: 100, decreasesToday: 0 });
  });

  it('refuses capacity outside 1..40,000', () => {
    const m = model({ read: 10, write: 10 }, 0);
    m.begin(0);
    expect(m.request({ read: 40_001 }).status).toBe('skipped');
    expect(m.request({ read: 0 }).status).toBe('skipped');
  });

  it('bills provisioned capacity per unit-hour and on-demand per request unit served', () => {
    const options = parseOptions({});
    const p = prices(options);
    const prov = new DynamodbModel(options, p, { read: 100, write: 10 });
    serve(prov, 0, 60, 50, 5);
    expect(prov.totals.provisionedCost).toBeCloseTo(100 * 0.00013 + 10 * 0.00065, 8);
    const od = new DynamodbModel(options, p, { read: 100, write: 10, mode: 'on-demand' });
    serve(od, 0, 60, 50, 5);
    expect(od.totals.provisionedCost).toBe(0);
    expect(od.totals.onDemandCost).toBeCloseTo((50 * 3600 * 0.125 + 5 * 3600 * 0.625) / 1e6, 8);
  });

  it('on-demand serves up to double the previous peak at once and throttles above it', () => {
    const options = parseOptions({ dynamodb: { onDemandInitialRead: 100, onDemandInitialWrite: 100 } });
    const m = new DynamodbModel(options, prices(options), { read: 10, write: 10, mode: 'on-demand' });
    // Initial instant capacity: 2 x 50 = 100.
    expect(serve(m, 0, 1, 100)[0]).toBe(0);
    // New peak 100 -> up to 200 at once; 500 exceeds it.
    expect(serve(m, 1, 1, 500)[0]).toBeCloseTo(300);
    // The peak is now 200: 400 is served.
    expect(serve(m, 2, 1, 400)[0]).toBe(0);
  });

  it('allows at most 4 switches to on-demand in 24 h', () => {
    const m = model({ read: 10, write: 10 }, 0);
    const statuses: string[] = [];
    for (let i = 0; i < 5; i++) {
      m.begin(i * 10);
      statuses.push(m.request({ mode: 'on-demand' }).status);
      m.begin(i * 10 + 5);
      m.request({ mode: 'provisioned', read: 10, write: 10 });
    }
    expect(statuses).toEqual(['applied', 'applied', 'applied', 'applied', 'deferred']);
    m.begin(24 * 60);
    expect(m.request({ mode: 'on-demand' }).status).toBe('applied');
  });
});
