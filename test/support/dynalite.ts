import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { DynamoDbStateStore } from '../../shared/state/dynamodb-store.ts';
import { createStateTable } from '../../shared/state/table-definition.ts';

/**
 * dynalite (a DynamoDB-compatible server on LevelDB, in memory) started in-process on loopback,
 * port 0, with the state table created. Each call gets its own server: tests do not share state.
 */
export interface Dynalite {
  client: DynamoDBClient;
  /** A client of its own on this server (for a test that adds middleware to count or fail calls). */
  newClient: () => DynamoDBClient;
  endpoint: string;
  tableName: string;
  teardown: () => Promise<void>;
}

type DynaliteFactory = (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

// dynalite ships no type declarations: load it through require and give it the one signature used.
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

export async function startDynalite(tableName = 'db-autopilot-state-test'): Promise<Dynalite> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const newClient = () =>
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  const client = newClient();
  await createStateTable(client, tableName);
  return {
    client,
    newClient,
    endpoint,
    tableName,
    teardown: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * One dynalite server for a test file (started before its tests, stopped after them) and a fresh
 * state table per `newStore()`, named `${prefix}-1`, `${prefix}-2`, ...: tests stay independent
 * on one server.
 */
export function dynaliteForFile(prefix: string): {
  server: () => Dynalite;
  newStore: () => Promise<DynamoDbStateStore>;
} {
  let server: Dynalite | undefined;
  let tables = 0;
  beforeAll(async () => {
    server = await startDynalite();
  });
  afterAll(async () => {
    await server?.teardown();
  });
  const started = (): Dynalite => {
    if (!server) throw new Error('dynalite is not started (beforeAll has not run)');
    return server;
  };
  return {
    server: started,
    newStore: async () => {
      tables += 1;
      const tableName = `${prefix}-${tables}`;
      await createStateTable(started().client, tableName);
      return new DynamoDbStateStore({ client: started().client, tableName });
    },
  };
}
