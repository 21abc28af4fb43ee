import { describe, expect, it } from 'vitest';
import { adoptIfIntended } from '../../../shared/core/ownership.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeDecision, minutesAfter, T0 } from './fixtures.ts';

const intent = makeDecision({
  id: 'replicas-run:0001',
  tuner: 'replicas',
  resource: 'catalog-aurora',
  resourceKind: 'aurora-cluster',
  action: 'add-replica',
  outcome: 'intended',
  params: { replicaId: 'dbap-catalog-aurora-1', sourceId: 'catalog-aurora' },
});

describe('owned resources without a creation record (issue 21)', () => {
  it('adopts a tagged replica whose creation db-autopilot intended (the record write was lost)', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision(intent);
    const verdict = await adoptIfIntended(
      store,
      'replicas',
      {
        id: 'dbap-catalog-aurora-1',
        sourceId: 'catalog-aurora',
        createdAt: minutesAfter(T0, 1).toISOString(),
      },
      minutesAfter(T0, 10),
    );
    expect(verdict).toMatchObject({ adopted: true, decisionId: intent.id });
    expect(await store.wasCreatedByUs('replicas', 'dbap-catalog-aurora-1')).toBe(true);
  });

  it('leaves alone and reports a tagged instance no intent explains (the tag alone is no consent)', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision(intent);
    for (const forged of [
      { id: 'dbap-someone-else', sourceId: 'catalog-aurora' },
      { id: 'dbap-catalog-aurora-1', sourceId: 'orders-aurora' },
    ]) {
      const verdict = await adoptIfIntended(store, 'replicas', forged, minutesAfter(T0, 10));
      expect(verdict.adopted).toBe(false);
      expect(verdict.detail).toContain('left alone and reported');
      expect(await store.wasCreatedByUs('replicas', forged.id)).toBe(false);
    }
  });
});
