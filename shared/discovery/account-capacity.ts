import {
  DescribeTableCommand,
  paginateListTables,
  ResourceNotFoundException,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { dynamodbClient } from '../aws/clients.ts';
import type { StateStore } from '../core/contracts.ts';
import { mapLimit } from '../metrics/limits.ts';

/**
 * The account's provisioned DynamoDB capacity, for the 80,000 RCU / WCU account quota
 * (aws-facts.md, DynamoDB: the quota counts every table and GSI of the account).
 *
 * The managed tables are described by every run anyway. The other tables of the account are not
 * listed and described every 2 minutes: their sum is kept in the DynamoDB tuner's state and
 * refreshed at most once an hour (ListTables + DescribeTable of the tables not managed). A change
 * someone makes to an unmanaged table within that hour is seen late; if the account quota is then
 * exceeded, UpdateTable fails with LimitExceededException and the adapter records it.
 */
export interface ProvisionedCapacity {
  read: number;
  write: number;
}

export const OTHER_TABLES_REFRESH_MS = 3_600_000;
/** Where the sum of the unmanaged tables is kept (the dynamodb tuner's own partition). */
export const OTHER_TABLES_STATE = { tuner: 'dynamodb', resource: '(account)' } as const;

/** Provisioned read and write units of a table and its GSIs (0 for on-demand tables). */
export function provisionedOf(table: TableDescription): ProvisionedCapacity {
  if (table.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST') return { read: 0, write: 0 };
  const out = { read: 0, write: 0 };
  for (const pt of [
    table.ProvisionedThroughput,
    ...(table.GlobalSecondaryIndexes ?? []).map((g) => g.ProvisionedThroughput),
  ]) {
    out.read += pt?.ReadCapacityUnits ?? 0;
    out.write += pt?.WriteCapacityUnits ?? 0;
  }
  return out;
}

function readCached(state: Record<string, unknown> | undefined, now: Date): ProvisionedCapacity | undefined {
  const cached = state?.otherTables as { read?: unknown; write?: unknown; at?: unknown } | undefined;
  if (!cached || typeof cached.at !== 'string') return undefined;
  const age = now.getTime() - Date.parse(cached.at);
  if (!(age >= 0 && age < OTHER_TABLES_REFRESH_MS)) return undefined;
  const read = Number(cached.read);
  const write = Number(cached.write);
  return Number.isFinite(read) && Number.isFinite(write) ? { read, write } : undefined;
}

async function describeOthers(managed: ReadonlySet<string>): Promise<ProvisionedCapacity> {
  const names: string[] = [];
  for await (const page of paginateListTables({ client: dynamodbClient(), pageSize: 100 }, {})) {
    for (const name of page.TableNames ?? []) if (!managed.has(name)) names.push(name);
  }
  const sum = { read: 0, write: 0 };
  await mapLimit(names, 16, async (name) => {
    try {
      const out = await dynamodbClient().send(new DescribeTableCommand({ TableName: name }));
      if (!out.Table) return;
      const p = provisionedOf(out.Table);
      sum.read += p.read;
      sum.write += p.write;
    } catch (error) {
      if (
        !(error instanceof ResourceNotFoundException || (error as Error).name === 'ResourceNotFoundException')
      )
        throw error;
    }
  });
  return sum;
}

/** Managed tables as described now + the other tables' sum (cached for an hour in the state table). */
export async function accountProvisioned(input: {
  managed: TableDescription[];
  store: StateStore;
  now: Date;
}): Promise<ProvisionedCapacity> {
  const total = { read: 0, write: 0 };
  for (const t of input.managed) {
    const p = provisionedOf(t);
    total.read += p.read;
    total.write += p.write;
  }
  const history = await input.store.getHistory(
    OTHER_TABLES_STATE.tuner,
    OTHER_TABLES_STATE.resource,
    input.now,
  );
  let others = readCached(history.tunerState, input.now);
  if (!others) {
    others = await describeOthers(new Set(input.managed.map((t) => t.TableName ?? '')));
    await input.store.putTunerState(OTHER_TABLES_STATE.tuner, OTHER_TABLES_STATE.resource, {
      ...history.tunerState,
      otherTables: { ...others, at: input.now.toISOString() },
    });
  }
  return { read: total.read + others.read, write: total.write + others.write };
}
