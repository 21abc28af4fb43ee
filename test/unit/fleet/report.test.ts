import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecisionTotals } from '../../../shared/core/contracts.ts';
import {
  fleetSubject,
  renderFleetText,
  type ScopeTotals,
  summarizeFleet,
} from '../../../shared/fleet/report.ts';

const totals = (
  tuner: DecisionTotals['tuner'],
  applied: number,
  failed: number,
  cost = 0,
): DecisionTotals => ({
  tuner,
  period: '2026-11-23',
  outcomes: { applied, failed },
  noops: { applied: 5 },
  appliedCostDelta: cost,
});

describe('the fleet report, grouped by account and Region with fleet totals', () => {
  it('groups scopes by account and Region (sorted) and sums each level', () => {
    const rows: ScopeTotals[] = [
      { account: '222222222222', region: 'us-east-1', totals: [totals('iops', 1, 0, -10)] },
      {
        account: '111111111111',
        region: 'us-east-1',
        totals: [totals('iops', 2, 0, 5), totals('dynamodb', 1, 0)],
      },
      {
        account: '111111111111',
        region: 'eu-west-1',
        totals: [totals('dynamodb', 0, 1)],
        failures: ['dynamodb account:111111111111: cannot assume'],
      },
    ];
    const s = summarizeFleet('2026-11-23', rows);
    expect(s.accounts.map((a) => [a.account, a.regions.map((r) => r.region)])).toEqual([
      ['111111111111', ['eu-west-1', 'us-east-1']],
      ['222222222222', ['us-east-1']],
    ]);
    expect(s.accounts[0]?.total.outcomes).toEqual({ applied: 3, failed: 1 });
    expect(s.fleet).toMatchObject({
      accounts: 2,
      scopes: 3,
      outcomes: { applied: 4, failed: 1 },
      appliedCostDelta: -5,
    });
    expect(s.attention).toEqual([
      {
        scope: '111111111111.eu-west-1',
        failed: 1,
        reasons: ['dynamodb account:111111111111: cannot assume'],
      },
    ]);
    const text = renderFleetText(s);
    expect(text).toContain('Fleet: 4 applied, 0 deferred, 0 skipped, 1 failed, 0 planned, -$5.00/month');
    expect(text).toContain('Account 111111111111: 3 applied');
    expect(text).toContain('  eu-west-1: 0 applied');
    expect(text).toContain('111111111111.eu-west-1: 1 failed - dynamodb account:111111111111: cannot assume');
    expect(fleetSubject(s).length).toBeLessThan(100);
  });

  it('fleet totals are the sum over every account-Region (property)', () => {
    const row = fc.record({
      account: fc.constantFrom('111111111111', '222222222222', '333333333333'),
      region: fc.constantFrom('us-east-1', 'eu-west-1'),
      applied: fc.nat(50),
      failed: fc.nat(5),
      cost: fc.integer({ min: -100, max: 100 }),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), (rs) => {
        const s = summarizeFleet(
          'd',
          rs.map((r) => ({
            account: r.account,
            region: r.region,
            totals: [totals('iops', r.applied, r.failed, r.cost)],
          })),
        );
        const sum = (f: (r: (typeof rs)[number]) => number) => rs.reduce((n, r) => n + f(r), 0);
        expect(s.fleet.outcomes.applied ?? 0).toBe(sum((r) => r.applied));
        expect(s.fleet.outcomes.failed ?? 0).toBe(sum((r) => r.failed));
        expect(s.fleet.appliedCostDelta).toBe(sum((r) => r.cost));
        expect(s.accounts.reduce((n, a) => n + (a.total.outcomes.applied ?? 0), 0)).toBe(
          sum((r) => r.applied),
        );
      }),
    );
  });
});
