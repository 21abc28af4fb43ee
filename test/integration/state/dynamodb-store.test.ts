import { afterAll, beforeAll } from 'vitest';
import { DynamoDbStateStore } from '../../../shared/state/dynamodb-store.ts';
import { createStateTable } from '../../../shared/state/table-definition.ts';
import { type Dynalite, startDynalite } from '../../support/dynalite.ts';
import { describeStateStore } from './store-contract.ts';

let server: Dynalite;
let tables = 0;

beforeAll(async () => {
  server = await startDynalite();
});

afterAll(async () => {
  await server?.teardown();
});

// A fresh table per test keeps tests independent on one server.
describeStateStore('DynamoDbStateStore on dynalite', async () => {
  tables += 1;
  const tableName = `state-${tables}`;
  await createStateTable(server.client, tableName);
  return new DynamoDbStateStore({ client: server.client, tableName });
});
