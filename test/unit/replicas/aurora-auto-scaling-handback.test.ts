import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planReplicas } from '../../../shared/policies/replicas.ts';
import { aurora, NOW, ours, reader, settings } from './fixtures.ts';

/**
 * Aurora Auto Scaling turned on after db-autopilot added readers: it removes only its own readers,
 * only drained ones, never below the cluster's floor (AAS minimum, minReaders, at least one).
 */
const AAS = (min: number) => ({ resourceId: 'cluster:securecart-aurora', minCapacity: min, maxCapacity: 8 });
const applies = (rules: Array<{ verdict: string }> | undefined) =>
  (rules ?? []).every((r) => r.verdict === 'ok');

describe('stepping back for Aurora Auto Scaling', () => {
  it('plans the removal of its own drained reader and adds none', () => {
    const obs = aurora([reader('person-1'), ours('dbap-1', { maxConnections: 0 })], { autoScaling: AAS(1) });
    const { plan } = planReplicas(obs, settings(), { recommendations: [] }, NOW);
    const removals = plan.actions.filter((a) => a.kind === 'remove-replica');
    expect(removals.map((a) => [a.resource.id, applies(a.rules)])).toEqual([['dbap-1', true]]);
    expect(plan.actions.some((a) => a.kind === 'add-replica')).toBe(false);
  });

  it('property: never removes a reader it did not create, a busy one, or below the floor', () => {
    const readerArb = fc.record({
      owned: fc.boolean(),
      maxConnections: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 50 })),
      status: fc.constantFrom('available', 'available', 'creating', 'modifying'),
    });
    fc.assert(
      fc.property(
        fc.array(readerArb, { minLength: 0, maxLength: 8 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 4 }),
        (specs, min, minReaders) => {
          const readers = specs.map((s, i) =>
            (s.owned ? ours : reader)(`r-${i}`, { maxConnections: s.maxConnections, status: s.status }),
          );
          const obs = aurora(readers, { autoScaling: AAS(min) });
          const set = settings({ minReaders });
          const { plan } = planReplicas(obs, set, { recommendations: [] }, NOW);
          expect(plan.actions.some((a) => a.kind === 'add-replica')).toBe(false);
          const removed = plan.actions.filter((a) => a.kind === 'remove-replica' && applies(a.rules));
          const byId = new Map(readers.map((r) => [r.id, r]));
          for (const a of removed) {
            const r = byId.get(a.resource.id);
            expect(r?.ownershipTag && r.recordedCreated).toBe(true);
            expect(r?.maxConnections ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(
              set.drainConnectionThreshold,
            );
            expect(r?.status).not.toBe('creating');
          }
          const counted = planReplicas(obs, set, { recommendations: [] }, NOW).targetReaders;
          if (removed.length > 0)
            expect(counted - removed.length).toBeGreaterThanOrEqual(Math.max(1, min, minReaders));
        },
      ),
      { numRuns: 300 },
    );
  });
});
