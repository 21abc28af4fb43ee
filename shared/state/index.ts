import type { StateStore } from '../core/contracts.ts';
import { DynamoDbStateStore } from './dynamodb-store.ts';

export { DynamoDbStateStore, type DynamoDbStateStoreOptions, decisionRetention } from './dynamodb-store.ts';
export { DuplicateDecisionError } from './errors.ts';
export { MemoryStateStore } from './memory-store.ts';
export { createStateTable, STATE_TABLE, stateTableDefinition, stateTableTtl } from './table-definition.ts';

let defaultStore: StateStore | undefined;

/** The store Lambda functions use: the DynamoDB state table (env STATE_TABLE), created once per container. */
export function stateStore(): StateStore {
  defaultStore ??= new DynamoDbStateStore();
  return defaultStore;
}

/** The demo, backtests and tests install their own store. Returns a restore function. */
export function setStateStore(store: StateStore | undefined): () => void {
  const previous = defaultStore;
  defaultStore = store;
  return () => {
    defaultStore = previous;
  };
}
