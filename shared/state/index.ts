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

/**
 * Writes the no-op counts the functions' store holds to the daily totals (StateStore.flushTotals),
 * when a store was made or installed; the Lambda wrapper calls it at the end of every run.
 */
export async function flushStateTotals(): Promise<number> {
  return defaultStore ? defaultStore.flushTotals() : 0;
}

/** The demo, backtests and tests install their own store. Returns a restore function. */
export function setStateStore(store: StateStore | undefined): () => void {
  const previous = defaultStore;
  defaultStore = store;
  return () => {
    defaultStore = previous;
  };
}
