import type { BacktestPolicy } from '../plugins/types.ts';

/**
 * `aws-on-demand`: the table simply runs in on-demand mode, what many users pick for a mostly
 * idle, spiky table. Billed per request unit served (shared/pricing.ts on-demand prices); it
 * serves instantly up to double the previous peak, starting from AWS's initial on-demand
 * throughput (options `onDemandInitialRead` / `onDemandInitialWrite`), and throttles beyond that
 * (models/dynamodb.ts; DynamoDB Developer Guide, "On-demand capacity mode": "up to double your
 * previous peak traffic"). It never changes anything.
 */
export function createAwsOnDemand(): BacktestPolicy<'dynamodb'> {
  return {
    name: 'aws-on-demand',
    initial: () => ({ mode: 'on-demand', read: 1, write: 1 }),
    decide: () => null,
  };
}
