import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../../shared/backtest/options.ts';
import { usageAt } from '../../../shared/backtest/plugins/dynamodb.ts';
import { runSuite, type SuiteResult } from '../../../shared/backtest/suite.ts';
import type { PolicyMetrics, PolicyResult } from '../../../shared/backtest/types.ts';
import { dynamodbSection } from '../../../shared/config/sections/dynamodb.ts';
import { adviseCapacityMode } from '../../../shared/policies/dynamodb-mode-advisor.ts';
import { priceTable } from '../../../shared/pricing.ts';

/**
 * Issue 18's goal, judged as `npm run backtest -- --kind dynamodb --trace FILE --json` judges a
 * trace: no `--config` (the schema defaults), the honest world (2-minute publication delay,
 * throttle events with the SDK's default retries, nothing hidden handed over), on the shipped
 * traces plus 16 unseen generated ones (seeds 101 and 202).
 */
function metrics(r: PolicyResult | undefined): PolicyMetrics {
  if (!r?.available) throw new Error('policy unavailable');
  return r;
}

let cached: Promise<SuiteResult> | undefined;
function suite(): Promise<SuiteResult> {
  cached ??= runSuite({ kind: 'dynamodb', options: parseOptions({}), seeds: [101, 202] });
  return cached;
}

describe('DynamoDB backtest goal (issue 18, honest world, schema defaults)', () => {
  it('leaves at most a third of what AWS target tracking leaves unserved over the suite, and on no trace more than AWS + 0.1 points', async () => {
    const r = await suite();
    expect(r.reports.length).toBeGreaterThanOrEqual(24);
    const auto = r.totals['db-autopilot'];
    const aws = r.totals['aws-target-tracking'];
    if (!auto || !aws) throw new Error('missing totals');
    expect(auto.unservedPct).toBeLessThanOrEqual(aws.unservedPct / 3);
    for (const report of r.reports) {
      const a = metrics(report.policies['db-autopilot']);
      const w = metrics(report.policies['aws-target-tracking']);
      expect(a.unservedPct, report.trace).toBeLessThanOrEqual(w.unservedPct + 0.1);
    }
  }, 900_000);

  it('costs no more than AWS target tracking over the suite', async () => {
    const r = await suite();
    const auto = r.totals['db-autopilot'];
    const aws = r.totals['aws-target-tracking'];
    if (!auto || !aws) throw new Error('missing totals');
    expect(auto.cost).toBeLessThanOrEqual(aws.cost);
  }, 900_000);

  it('leaves at most half of what AWS target tracking leaves unserved on the mostly idle, spiky tables', async () => {
    const r = await suite();
    const idle = r.reports.filter((x) => x.trace.includes('idle-bursts'));
    expect(idle.length).toBe(3);
    for (const report of idle) {
      const a = metrics(report.policies['db-autopilot']);
      const w = metrics(report.policies['aws-target-tracking']);
      expect(a.unservedPct, report.trace).toBeLessThanOrEqual(w.unservedPct / 2);
      // aws-on-demand serves them whole: the baseline a user would pick instead.
      expect(metrics(report.policies['aws-on-demand']).unservedPct).toBe(0);
    }
  }, 900_000);

  it('recommends on-demand for the mostly idle, spiky tables from the published series alone', async () => {
    const { suiteTraces } = await import('../../../shared/backtest/suite.ts');
    const { runPolicy } = await import('../../../shared/backtest/engine.ts');
    const { createAwsDynamodbTargetTracking } = await import(
      '../../../shared/backtest/baselines/dynamodb-target-tracking.ts'
    );
    const options = parseOptions({});
    const config = dynamodbSection.parse({});
    for (const trace of suiteTraces({
      kind: 'dynamodb',
      options,
      seeds: [101, 202],
      shapes: ['idle-bursts'],
    })) {
      const advice: string[] = [];
      const aws = createAwsDynamodbTargetTracking();
      await runPolicy(
        trace,
        {
          name: 'advised',
          decide(ctx) {
            if (ctx.minute === trace.read.length - 1) {
              const rows = ctx.history.range(0, ctx.minute);
              const a = adviseCapacityMode({
                tableName: 't',
                billingMode: 'PROVISIONED',
                usage: usageAt(rows, options.startTime, ctx.minute),
                config,
                prices: priceTable(),
                now: ctx.now,
                switches: [],
              });
              advice.push(String(a.plan.actions[0]?.to));
            }
            return aws.decide(ctx);
          },
        },
        options,
      );
      expect(advice, trace.source).toEqual(['PAY_PER_REQUEST']);
    }
  }, 900_000);
});
