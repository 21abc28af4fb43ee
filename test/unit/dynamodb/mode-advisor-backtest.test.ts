import { describe, expect, it } from 'vitest';
import { createAwsOnDemand } from '../../../shared/backtest/baselines/dynamodb-on-demand.ts';
import { runPolicy } from '../../../shared/backtest/engine.ts';
import { parseOptions } from '../../../shared/backtest/options.ts';
import { createDynamodbAutopilot, usageAt } from '../../../shared/backtest/plugins/dynamodb.ts';
import type { BacktestPolicy } from '../../../shared/backtest/plugins/types.ts';
import { suiteTraces } from '../../../shared/backtest/suite.ts';
import type { DynamodbTrace } from '../../../shared/backtest/types.ts';
import { dynamodbSection } from '../../../shared/config/sections/dynamodb.ts';
import { adviseCapacityMode, type BillingMode } from '../../../shared/policies/dynamodb-mode-advisor.ts';
import { priceTable } from '../../../shared/pricing.ts';

/**
 * The mode advisor on the table db-autopilot tunes, judged against what the backtest measures:
 * the schema defaults (no `--config`), the honest world, the published series only (consumed,
 * throttle events, ProvisionedRead/WriteCapacityUnits), advised at the trace's last minute.
 */
const options = parseOptions({});
const config = dynamodbSection.parse({});

async function tunedAndAdvised(
  trace: DynamodbTrace,
): Promise<{ advice: BillingMode | null; cost: number; onDemandCost: number }> {
  const autopilot = createDynamodbAutopilot(options, undefined);
  let advice: BillingMode | null = null;
  const advised: BacktestPolicy<'dynamodb'> = {
    ...autopilot,
    name: 'advised',
    async decide(ctx) {
      if (ctx.minute === trace.read.length - 1) {
        advice = adviseCapacityMode({
          tableName: 't',
          billingMode: 'PROVISIONED',
          usage: usageAt(ctx.history.range(0, ctx.minute), options.startTime, ctx.minute),
          config,
          prices: priceTable(),
          now: ctx.now,
          switches: [],
        }).better;
      }
      return autopilot.decide(ctx);
    },
  };
  const run = await runPolicy(trace, advised, options);
  const od = await runPolicy(trace, createAwsOnDemand(), options);
  if (!run.result.available || !od.result.available) throw new Error('policy unavailable');
  return { advice, cost: run.result.cost, onDemandCost: od.result.cost };
}

const traces = (shape: 'recurring-spikes' | 'idle-bursts') =>
  suiteTraces({ kind: 'dynamodb', options, seeds: [101, 202], shapes: [shape], jittered: false });

describe('DynamoDB mode advisor on the tables db-autopilot tunes (backtest, schema defaults)', () => {
  it('keeps recurring spikes on provisioned, where db-autopilot costs less than on-demand', async () => {
    const all = traces('recurring-spikes');
    expect(all).toHaveLength(3);
    for (const trace of all) {
      const r = await tunedAndAdvised(trace);
      // The measured truth the advice must match: the tuned table is cheaper than on-demand.
      expect(r.cost, trace.source).toBeLessThan(r.onDemandCost * 0.85);
      expect(r.advice, trace.source).toBe('PROVISIONED');
    }
  }, 300_000);

  it('still recommends on-demand for the mostly idle, spiky tables after db-autopilot tuned them', async () => {
    const all = traces('idle-bursts');
    expect(all).toHaveLength(3);
    for (const trace of all) {
      const r = await tunedAndAdvised(trace);
      expect(r.advice, trace.source).toBe('PAY_PER_REQUEST');
    }
  }, 300_000);
});
