import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { describeStateStore } from './store-contract.ts';

describeStateStore('MemoryStateStore', async () => new MemoryStateStore());
