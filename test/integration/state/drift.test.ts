import { afterAll, beforeAll } from 'vitest';
import { DynamoDbStateStore } from '../../../shared/state/dynamodb-store.ts';
import { createStateTable } from '../../../shared/state/table-definition.ts';
import { type Dynalite, startDynalite } from '../../support/dynalite.ts';
import { describeDriftScenario } from '../../unit/core/drift-scenario.ts';

let server: Dynalite;
let tables = 0;

beforeAll(async () => {
  server = await startDynalite();
});

afterAll(async () => {
  await server?.teardown();
});

describeDriftScenario('DynamoDB state table on dynalite', async () => {
  tables += 1;
  const tableName = `drift-${tables}`;
  await createStateTable(server.client, tableName);
  return new DynamoDbStateStore({ client: server.client, tableName });
});
