import { describe, expect, it } from 'vitest';
import type { StateStore } from '../../../shared/core/contracts.ts';
import { DuplicateDecisionError } from '../../../shared/state/errors.ts';
import { makeDecision, minutesAfter, T0 } from '../../unit/core/fixtures.ts';

/**
 * The StateStore contract, run against the DynamoDB store on dynalite and against the in-memory
 * store: both must behave the same (backtests use one, Lambda the other).
 */
export function describeStateStore(name: string, newStore: () => Promise<StateStore>): void {
  describe(`${name}: the StateStore contract`, () => {
    it('records a decision and reads it back by id', async () => {
      const store = await newStore();
      const decision = makeDecision({
        id: 'r1:0001',
        evidence: [
          {
            metric: 'ReadIOPS',
            statistic: 'Average',
            value: null,
            window: { start: T0.toISOString(), end: T0.toISOString(), periodSeconds: 60 },
          },
        ],
      });
      await store.recordDecision(decision);
      expect(await store.getDecision('r1:0001')).toEqual(decision);
      expect(await store.getDecision('missing')).toBeUndefined();
    });

    it('refuses to record the same decision id twice (append-only audit log)', async () => {
      const store = await newStore();
      await store.recordDecision(makeDecision({ id: 'r1:0001' }));
      await expect(
        store.recordDecision(makeDecision({ id: 'r1:0001', reason: 'again' })),
      ).rejects.toBeInstanceOf(DuplicateDecisionError);
      expect((await store.getDecision('r1:0001'))?.reason).toBe('seed');
    });

    it('lists decisions by time window across days, since inclusive and until exclusive, oldest first', async () => {
      const store = await newStore();
      const times = [
        '2026-03-01T23:59:00.000Z',
        '2026-03-02T00:01:00.000Z',
        '2026-03-03T12:00:00.000Z',
        '2026-03-04T00:00:00.000Z',
      ];
      for (const [i, at] of times.entries()) {
        await store.recordDecision(makeDecision({ id: `w:${i}`, at, resource: i % 2 === 0 ? 'a' : 'b' }));
      }
      const all = await store.listDecisions({
        since: '2026-03-01T23:59:00.000Z',
        until: '2026-03-04T00:00:00.000Z',
      });
      expect(all.map((d) => d.id)).toEqual(['w:0', 'w:1', 'w:2']);
      const onlyB = await store.listDecisions({
        since: '2026-03-01T00:00:00.000Z',
        until: '2026-03-05T00:00:00.000Z',
        resource: 'b',
      });
      expect(onlyB.map((d) => d.id)).toEqual(['w:1', 'w:3']);
      const otherTuner = await store.listDecisions({
        since: '2026-03-01T00:00:00.000Z',
        until: '2026-03-05T00:00:00.000Z',
        tuner: 'replicas',
      });
      expect(otherTuner).toEqual([]);
      // A window written with an offset means the same instants (UTC days underneath).
      const offset = await store.listDecisions({
        since: '2026-03-02T01:00:00+02:00',
        until: '2026-03-02T03:00:00+02:00',
      });
      expect(offset.map((d) => d.id)).toEqual(['w:0', 'w:1']);
    });

    it('marks decisions as reported and ignores unknown ids', async () => {
      const store = await newStore();
      await store.recordDecision(makeDecision({ id: 'm:1' }));
      await store.markReported(['m:1', 'm:unknown'], '2026-03-02T11:00:00.000Z');
      expect((await store.getDecision('m:1'))?.reportedAt).toBe('2026-03-02T11:00:00.000Z');
      expect(await store.getDecision('m:unknown')).toBeUndefined();
    });

    it('claims an idempotency key once until it expires', async () => {
      const store = await newStore();
      expect(await store.claimIdempotencyKey('eventbridge:abc', 'run-1', T0, 3600)).toBe(true);
      expect(await store.claimIdempotencyKey('eventbridge:abc', 'run-2', minutesAfter(T0, 59), 3600)).toBe(
        false,
      );
      expect(await store.claimIdempotencyKey('eventbridge:other', 'run-2', T0, 3600)).toBe(true);
      expect(await store.claimIdempotencyKey('eventbridge:abc', 'run-3', minutesAfter(T0, 61), 3600)).toBe(
        true,
      );
    });

    it('lets exactly one of many concurrent claims of one key win', async () => {
      const store = await newStore();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.claimIdempotencyKey('eventbridge:race', `run-${i}`, T0, 3600),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('grants a lease lock to one owner at a time, re-entrant for its owner', async () => {
      const store = await newStore();
      expect(await store.acquireLock('orders-db', 'run-a', T0, 900)).toBe(true);
      expect(await store.acquireLock('orders-db', 'run-b', minutesAfter(T0, 1), 900)).toBe(false);
      expect(await store.acquireLock('orders-db', 'run-a', minutesAfter(T0, 1), 900)).toBe(true);
      expect(await store.acquireLock('other-db', 'run-b', T0, 900)).toBe(true);
    });

    it('lets exactly one of many concurrent lock attempts win', async () => {
      const store = await newStore();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.acquireLock('orders-db', `run-${i}`, T0, 900)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('releases a lock only for its owner', async () => {
      const store = await newStore();
      await store.acquireLock('orders-db', 'run-a', T0, 900);
      await store.releaseLock('orders-db', 'run-b');
      expect(await store.acquireLock('orders-db', 'run-b', T0, 900)).toBe(false);
      await store.releaseLock('orders-db', 'run-a');
      expect(await store.acquireLock('orders-db', 'run-b', T0, 900)).toBe(true);
    });

    it('lets the next run take a lock a crashed run left behind once its lease has expired', async () => {
      const store = await newStore();
      expect(await store.acquireLock('orders-db', 'crashed', T0, 900)).toBe(true);
      expect(await store.acquireLock('orders-db', 'next', minutesAfter(T0, 14), 900)).toBe(false);
      expect(await store.acquireLock('orders-db', 'next', minutesAfter(T0, 15), 900)).toBe(true);
      expect(await store.acquireLock('orders-db', 'crashed', minutesAfter(T0, 16), 900)).toBe(false);
    });

    it('keeps the cooldown ledger from applied changes only, never moving it back in time', async () => {
      const store = await newStore();
      await store.recordDecision(makeDecision({ id: 'l:1', at: '2026-03-02T10:00:00.000Z' }));
      await store.recordDecision(
        makeDecision({ id: 'l:2', at: '2026-03-02T10:30:00.000Z', outcome: 'planned' }),
      );
      await store.recordDecision(makeDecision({ id: 'l:3', at: '2026-03-02T10:40:00.000Z', action: 'noop' }));
      await store.recordDecision(makeDecision({ id: 'l:4', at: '2026-03-02T09:00:00.000Z' }));
      const history = await store.getHistory('iops', 'orders-db', minutesAfter(T0, 60));
      expect(history.lastAppliedAt).toBe('2026-03-02T10:00:00.000Z');
      expect(history.recent.map((d) => d.id)).toEqual(['l:3', 'l:2', 'l:1', 'l:4']);
      expect((await store.getHistory('replicas', 'orders-db', T0)).recent).toEqual([]);
    });

    it('keeps tuner state and drift per tuner and resource', async () => {
      const store = await newStore();
      await store.putTunerState('dynamodb', 'orders', { lowSince: '2026-03-02T09:00:00.000Z', n: 3 });
      await store.recordDrift('dynamodb', 'orders', 'WCU changed outside', T0, 60, {
        decisionId: 'x:1',
        observed: 500,
      });
      const history = await store.getHistory('dynamodb', 'orders', T0);
      expect(history.tunerState).toEqual({ lowSince: '2026-03-02T09:00:00.000Z', n: 3 });
      expect(history.drift).toEqual({
        detectedAt: T0.toISOString(),
        backoffUntil: minutesAfter(T0, 60).toISOString(),
        detail: 'WCU changed outside',
        baseline: { decisionId: 'x:1', observed: 500 },
      });
      expect((await store.getHistory('iops', 'orders', T0)).drift).toBeUndefined();
    });

    it('remembers which resources db-autopilot created until told to forget', async () => {
      const store = await newStore();
      expect(await store.wasCreatedByUs('orders-db-replica-1')).toBe(false);
      await store.recordCreated('orders-db-replica-1', { source: 'orders-db' }, T0);
      expect(await store.wasCreatedByUs('orders-db-replica-1')).toBe(true);
      await store.forgetCreated('orders-db-replica-1');
      expect(await store.wasCreatedByUs('orders-db-replica-1')).toBe(false);
    });
  });
}
