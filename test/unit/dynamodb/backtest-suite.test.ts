import { describe, expect, it } from 'vitest';
import { runSuite, totals } from './suite.ts';
import { diurnal, idleBursts, recurringSpikes, suite, weekly } from './traces.ts';

/**
 * The goals over a suite of DynamoDB traces (shipped kinds + unseen seeds), every policy
 * through the same AWS change-rules model (shared/backtest/models/dynamodb.ts). Both db-autopilot
 * and AWS target tracking use the same target utilization (0.9; the oracle provisions exactly
 * the demand, so at 0.7 nobody can be within 1.2x of it).
 */
const options = { dynamodb: { targetUtilization: 0.9 } };

describe('DynamoDB backtest goals', () => {
  it('serves all but a tenth of what AWS target tracking leaves unserved, within 1.2x the oracle cost, on no trace worse than AWS + 0.1 pp', async () => {
    const rows = await runSuite(suite([101]), { prewarm: true, allowModeSwitch: false }, options);
    const t = totals(rows);
    expect(t.autopilotUnserved).toBeLessThanOrEqual(t.awsUnserved / 10);
    expect(t.autopilotCost).toBeLessThanOrEqual(1.2 * t.oracleCost);
    for (const r of rows)
      expect(r.autopilot.unservedPct, r.trace).toBeLessThanOrEqual(r.aws.unservedPct + 0.1);
  });

  it('runs the mostly idle table with random bursts on on-demand when the switch is allowed, serving nearly all of it for less', async () => {
    const traces = [idleBursts(6), idleBursts(106)];
    const [withSwitch, without] = await Promise.all([
      runSuite(traces, { prewarm: true, allowModeSwitch: true }, options),
      runSuite(traces, { prewarm: true, allowModeSwitch: false }, options),
    ]);
    for (let i = 0; i < traces.length; i++) {
      const a = withSwitch[i];
      const b = without[i];
      if (!a || !b) throw new Error('missing row');
      expect(a.autopilot.detail.onDemandMinutes).toBeGreaterThan(0.8 * (traces[i]?.read.length ?? 0));
      expect(a.autopilot.unservedPct).toBeLessThan(10);
      expect(a.autopilot.unservedPct).toBeLessThan(b.autopilot.unservedPct / 5);
      expect(a.autopilot.cost).toBeLessThan(b.autopilot.cost);
    }
  });

  it('pre-warming lowers unserved demand on recurring-peak traces at a small cost increase', async () => {
    const traces = [diurnal(1), weekly(2), recurringSpikes(4), recurringSpikes(104)];
    const [on, off] = await Promise.all([
      runSuite(traces, { prewarm: true, allowModeSwitch: false }, options),
      runSuite(traces, { prewarm: false, allowModeSwitch: false }, options),
    ]);
    const on_ = totals(on);
    const off_ = totals(off);
    expect(on_.autopilotUnserved).toBeLessThan(off_.autopilotUnserved / 2);
    expect(on_.autopilotCost).toBeLessThan(off_.autopilotCost * 1.05);
    for (let i = 0; i < traces.length; i++) {
      expect(on[i]?.autopilot.unservedPct ?? 0).toBeLessThanOrEqual(off[i]?.autopilot.unservedPct ?? 0);
    }
  });
});
