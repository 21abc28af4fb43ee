import { LimitExceededException } from '@aws-sdk/client-dynamodb';
import type { SimAccount } from './engine.ts';
import { errorMetadata } from './errors.ts';
import { arr, num, rec, str } from './paging.ts';
import { type Input, registerRule } from './registry.ts';
// The DynamoDB operations must be registered before the rules below refer to them.
import { TABLE_MAX_UNITS } from './services/dynamodb.ts';

/**
 * DynamoDB rules added by the DynamoDB tuner (issues #10, #11), on top of
 * shared/sim/services/dynamodb.ts (which already has UPDATING, the decrease budget, burst,
 * KeyRange throttling, the on-demand switch limit and the per-node and account quotas):
 *
 * - UpdateTable: the per-table quota counts the table and all its GSIs together
 *   (aws-facts.md, DynamoDB: "Per table default max 40,000 RCU and 40,000 WCU, GSIs included").
 */

registerRule('dynamodb', 'UpdateTable', 'table-quota-includes-gsis', (sim: SimAccount, input: Input) => {
  const name = str(input.TableName);
  const t = name ? sim.dynamodb.tables.get(name) : undefined;
  if (t?.billingMode !== 'PROVISIONED') return;
  const after = new Map<string, { read: number; write: number }>();
  after.set('', { read: t.read, write: t.write });
  for (const g of t.gsis.values()) after.set(g.name, { read: g.read, write: g.write });
  const pt = input.ProvisionedThroughput !== undefined ? rec(input.ProvisionedThroughput) : undefined;
  if (pt)
    after.set('', {
      read: num(pt.ReadCapacityUnits) ?? t.read,
      write: num(pt.WriteCapacityUnits) ?? t.write,
    });
  for (const u of arr(input.GlobalSecondaryIndexUpdates).map(rec)) {
    const update = rec(u.Update);
    const idx = str(update.IndexName);
    const g = idx ? t.gsis.get(idx) : undefined;
    if (!g || !idx) continue;
    const gpt = rec(update.ProvisionedThroughput);
    after.set(idx, {
      read: num(gpt.ReadCapacityUnits) ?? g.read,
      write: num(gpt.WriteCapacityUnits) ?? g.write,
    });
  }
  let read = 0;
  let write = 0;
  for (const v of after.values()) {
    read += v.read;
    write += v.write;
  }
  if (read > TABLE_MAX_UNITS || write > TABLE_MAX_UNITS) {
    throw new LimitExceededException({
      message: `Subscriber limit exceeded: Provisioned throughput for table ${t.name} and its indexes cannot exceed ${TABLE_MAX_UNITS} read or write capacity units in total (requested ${read} RCU, ${write} WCU).`,
      $metadata: errorMetadata(),
    });
  }
});
