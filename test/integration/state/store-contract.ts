import { describe, expect, it } from 'vitest';
import type { StateStore } from '../../../shared/core/contracts.ts';
import type { Decision } from '../../../shared/core/model.ts';
import { DuplicateDecisionError } from '../../../shared/state/errors.ts';
import { makeDecision, minutesAfter, T0 } from '../../unit/core/fixtures.ts';

/** The ISO time `minutes` after T0. */
const at = (minutes: number) => minutesAfter(T0, minutes).toISOString();

/** One evidence item with a series at T0 (what a slim record drops). */
function seriesEvidence(metric: string, statistic: string): Decision['evidence'] {
  return [
    {
      metric,
      statistic,
      value: 10,
      window: { start: T0.toISOString(), end: T0.toISOString(), periodSeconds: 60 },
      series: [1, 2, 3],
    },
  ];
}

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

    it("keeps what the report function posted in its own partition, read back by the decisions' window", async () => {
      const store = await newStore();
      const decision = makeDecision({ id: 'm:1' });
      await store.recordDecision(decision);
      await store.markReported(
        [decision, { id: 'm:unknown', at: '2026-03-01T00:00:00.000Z' }],
        '2026-03-02T11:00:00.000Z',
      );
      const seen = await store.reportedIn({ since: decision.at, until: '2026-03-02T12:00:00.000Z' });
      expect([...seen]).toEqual([['m:1', '2026-03-02T11:00:00.000Z']]);
      // The decision itself is never rewritten by the report function.
      expect((await store.getDecision('m:1'))?.reportedAt).toBeUndefined();
    });

    it('stores a no-op slim (no evidence) and keeps it out of the notable lists and the id lookup', async () => {
      const store = await newStore();
      const evidence = seriesEvidence('ReadIOPS', 'Average');
      await store.recordDecision(makeDecision({ id: 'n:1', action: 'noop', outcome: 'applied', evidence }));
      await store.recordDecision(
        makeDecision({
          id: 'n:2',
          action: 'noop',
          outcome: 'failed',
          at: minutesAfter(T0, 1).toISOString(),
          evidence,
        }),
      );
      await store.recordDecision(
        makeDecision({ id: 'n:3', at: minutesAfter(T0, 2).toISOString(), evidence }),
      );
      const window = { since: T0.toISOString(), until: minutesAfter(T0, 10).toISOString() };
      // A failed no-op is notable (it is reported); a successful one is not.
      expect((await store.listDecisions(window)).map((d) => d.id)).toEqual(['n:2', 'n:3']);
      expect(
        (await store.listDecisions({ ...window, tuner: 'iops', resource: 'orders-db' })).map((d) => d.id),
      ).toEqual(['n:2', 'n:3']);
      expect(await store.getDecision('n:1')).toBeUndefined();
      expect((await store.getDecision('n:2'))?.evidence).toEqual(evidence);
      const all = await store.exportDecisions(window);
      expect(all.map((d) => [d.id, d.evidence.length])).toEqual([
        ['n:1', 0],
        ['n:2', 1],
        ['n:3', 1],
      ]);
      const history = await store.getHistory('iops', 'orders-db', T0);
      expect(history.recent.map((d) => d.id)).toEqual(['n:3', 'n:2']);
      expect((await store.newestDecision('iops', 'orders-db'))?.id).toBe('n:3');
    });

    it('stores a repeated skip slim and counts it on the first skip of the run; the audit log keeps every record', async () => {
      const store = await newStore();
      const evidence = seriesEvidence('ReadIOPS', 'Average');
      const skip = (id: string, minutes: number, extra: Partial<Decision> = {}) =>
        makeDecision({
          id,
          at: at(minutes),
          outcome: 'skipped',
          guard: 'consent',
          reason: 'only resources db-autopilot created may be deleted',
          evidence,
          ...extra,
        });
      await store.recordDecision(skip('s:1', 0));
      await store.recordDecision(skip('s:2', 5));
      await store.recordDecision(makeDecision({ id: 's:n', at: at(7), action: 'noop', outcome: 'skipped' }));
      await store.recordDecision(skip('s:3', 10));
      // Another reason: a new run; then the first reason again: a new run too (not consecutive).
      await store.recordDecision(skip('s:4', 15, { reason: 'another rule holds it' }));
      await store.recordDecision(skip('s:5', 20));
      // The next UTC day starts a new run.
      await store.recordDecision(skip('s:6', 14 * 60 + 5));
      const window = { since: T0.toISOString(), until: at(24 * 60) };
      const listed = await store.listDecisions(window);
      expect(listed.map((d) => [d.id, d.repeatedAt ?? []])).toEqual([
        ['s:1', [at(5), at(10)]],
        ['s:4', []],
        ['s:5', []],
        ['s:6', []],
      ]);
      expect(listed[0]?.evidence).toEqual(evidence);
      const all = await store.exportDecisions(window);
      expect(all.map((d) => [d.id, d.evidence.length, d.repeatedAt])).toEqual([
        ['s:1', 1, undefined],
        ['s:2', 0, undefined],
        ['s:n', 0, undefined],
        ['s:3', 0, undefined],
        ['s:4', 1, undefined],
        ['s:5', 1, undefined],
        ['s:6', 1, undefined],
      ]);
      expect((await store.totals('2026-03-02'))[0]?.outcomes).toEqual({ skipped: 5 });
      expect((await store.newestDecision('iops', 'orders-db'))?.id).toBe('s:6');
      const history = await store.getHistory('iops', 'orders-db', minutesAfter(T0, 30));
      expect(history.recent.map((d) => d.id)).toEqual(['s:6', 's:5', 's:4', 's:1']);
    });

    it('stores a repeated deferral slim, counted on the first of its hour with its latest repeat kept there', async () => {
      const store = await newStore();
      const evidence = seriesEvidence('ConsumedWriteCapacityUnits', 'Sum');
      const defer = (id: string, minutes: number, extra: Partial<Decision> = {}) =>
        makeDecision({
          id,
          at: at(minutes),
          outcome: 'deferred',
          guard: 'aws:dynamodb-decrease-budget',
          reason: `write 400 -> ${5 + minutes}: reconsidered at ${at(minutes + 60)}`,
          deferredUntil: at(minutes + 60),
          to: 5 + minutes,
          evidence,
          ...extra,
        });
      // T0 is on the hour: 0..59 one hour, 60.. the next.
      await store.recordDecision(defer('f:1', 0));
      await store.recordDecision(defer('f:2', 2));
      await store.recordDecision(makeDecision({ id: 'f:n', at: at(3), action: 'noop', outcome: 'skipped' }));
      await store.recordDecision(defer('f:3', 4));
      await store.recordDecision(defer('f:4', 6, { guard: 'change-cap' }));
      await store.recordDecision(defer('f:5', 8, { guard: 'change-cap' }));
      await store.recordDecision(defer('f:6', 61, { guard: 'change-cap' }));
      const window = { since: T0.toISOString(), until: at(24 * 60) };
      const listed = await store.listDecisions(window);
      expect(listed.map((d) => [d.id, d.repeatedAt ?? [], d.latestRepeat?.id])).toEqual([
        ['f:1', [at(2), at(4)], 'f:3'],
        ['f:4', [at(8)], 'f:5'],
        ['f:6', [], undefined],
      ]);
      expect(listed[0]?.evidence).toEqual(evidence);
      expect(listed[0]?.latestRepeat).toMatchObject({
        at: at(4),
        to: 9,
        deferredUntil: at(64),
        reason: `write 400 -> 9: reconsidered at ${at(64)}`,
        evidence: [],
      });
      const all = await store.exportDecisions(window);
      expect(all.map((d) => [d.id, d.evidence.length, d.repeatedAt, d.latestRepeat])).toEqual([
        ['f:1', 1, undefined, undefined],
        ['f:2', 0, undefined, undefined],
        ['f:n', 0, undefined, undefined],
        ['f:3', 0, undefined, undefined],
        ['f:4', 1, undefined, undefined],
        ['f:5', 0, undefined, undefined],
        ['f:6', 1, undefined, undefined],
      ]);
      expect(all.find((d) => d.id === 'f:2')).toMatchObject({ to: 7, deferredUntil: at(62) });
      expect((await store.totals(at(0).slice(0, 10)))[0]?.outcomes).toEqual({ deferred: 6 });
      expect((await store.newestDecision('iops', 'orders-db'))?.id).toBe('f:6');
      const history = await store.getHistory('iops', 'orders-db', minutesAfter(T0, 90));
      expect(history.recent.map((d) => d.id)).toEqual(['f:6', 'f:4', 'f:1']);
    });

    it("tells whether a resource's newest decision is a no-op since a time (a deferral settled)", async () => {
      const store = await newStore();
      const defer = (id: string, minutes: number) =>
        makeDecision({ id, at: at(minutes), outcome: 'deferred', guard: 'change-cap' });
      const noop = (id: string, minutes: number) =>
        makeDecision({ id, at: at(minutes), action: 'noop', outcome: 'skipped' });
      await store.recordDecision(noop('g:0', 0));
      await store.recordDecision(defer('g:1', 2));
      expect(await store.settlingNoop('iops', 'orders-db', at(2))).toBeUndefined();
      await store.recordDecision(noop('g:2', 4));
      expect((await store.settlingNoop('iops', 'orders-db', at(2)))?.id).toBe('g:2');
      // A no-op older than the time asked about settles nothing; a repeat after the no-op stands.
      expect(await store.settlingNoop('iops', 'orders-db', at(5))).toBeUndefined();
      await store.recordDecision(defer('g:3', 6));
      expect(await store.settlingNoop('iops', 'orders-db', at(2))).toBeUndefined();
      expect((await store.newestDecision('iops', 'orders-db'))?.id).toBe('g:3');
      expect(await store.settlingNoop('iops', 'nothing-here', at(0))).toBeUndefined();
    });

    it('finds the same first for a repeat within a run whose history was read as without it', async () => {
      // Prepare: two stores' worth of the same records, one reading the history first (as a run does).
      const store = await newStore();
      const defer = (id: string, minutes: number, resource: string, guard = 'change-cap') =>
        makeDecision({ id, at: at(minutes), resource, outcome: 'deferred', guard });
      for (const resource of ['db-a', 'db-b'])
        await store.recordDecision(defer(`${resource}:1`, 0, resource));
      // Act: the next run reads db-a's history, then records a repeat, a new rule, and its repeat.
      await store.getHistory('iops', 'db-a', minutesAfter(T0, 2));
      await store.recordDecision(defer('db-a:2', 2, 'db-a'));
      await store.recordDecision(defer('db-a:3', 2, 'db-a', 'cooldown'));
      await store.recordDecision(defer('db-a:4', 2, 'db-a', 'cooldown'));
      await store.recordDecision(defer('db-b:2', 2, 'db-b'));
      // Assess
      const listed = await store.listDecisions({ since: at(0), until: at(60) });
      expect(listed.map((d) => [d.id, d.repeatedAt ?? []])).toEqual([
        ['db-a:1', [at(2)]],
        ['db-b:1', [at(2)]],
        ['db-a:3', [at(2)]],
      ]);
    });

    it("returns a resource's notable decisions of the last day as its history (no-ops are not history)", async () => {
      const store = await newStore();
      for (let i = 0; i < 25; i++) {
        const at = minutesAfter(T0, i).toISOString();
        const notable = i === 3 || i === 22;
        await store.recordDecision(
          makeDecision({ id: `h:${String(i).padStart(2, '0')}`, at, ...(notable ? {} : { action: 'noop' }) }),
        );
      }
      await store.recordDecision(
        makeDecision({ id: 'h:old', at: minutesAfter(T0, -24 * 60 - 1).toISOString() }),
      );
      const history = await store.getHistory('iops', 'orders-db', minutesAfter(T0, 30));
      expect(history.recent.map((d) => d.id)).toEqual(['h:22', 'h:03']);
      // The newest decision of any kind (the report asks whether a deferral settled).
      expect((await store.newestDecision('iops', 'orders-db'))?.id).toBe('h:24');
      expect(await store.newestDecision('iops', 'nothing-recorded')).toBeUndefined();
    });

    it('returns at most the 20 newest notable decisions as history', async () => {
      const store = await newStore();
      for (let i = 0; i < 23; i++) {
        await store.recordDecision(
          makeDecision({ id: `m:${String(i).padStart(2, '0')}`, at: minutesAfter(T0, i).toISOString() }),
        );
      }
      const history = await store.getHistory('iops', 'orders-db', minutesAfter(T0, 30));
      expect(history.recent.map((d) => d.id)).toEqual(
        Array.from({ length: 20 }, (_, k) => `m:${String(22 - k).padStart(2, '0')}`),
      );
    });

    it('returns every meta item and the 20 newest notable decisions of a partition crowded with both', async () => {
      // Prepare: state with eight parts, drift, an applied change (ledger, newest applied), two
      // intents, 30 notable decisions of the last day, older ones, no-ops and repeats.
      const store = await newStore();
      await store.putTunerState('dynamodb', 'orders', { cadence: 1 });
      for (let p = 0; p < 8; p++) await store.putTunerState('dynamodb', 'orders', { p }, `part${p}`);
      await store.recordDrift('dynamodb', 'orders', 'changed outside', T0, 60);
      const table = { tuner: 'dynamodb' as const, resource: 'orders', action: 'set-capacity' as const };
      await store.recordDecision(makeDecision({ ...table, id: 'c:old', at: at(-25 * 60) }));
      await store.recordDecision(makeDecision({ ...table, id: 'c:int1', at: at(1), outcome: 'intended' }));
      await store.recordDecision(makeDecision({ ...table, id: 'c:int2', at: at(2), outcome: 'intended' }));
      for (let i = 0; i < 30; i++) {
        const id = `c:${String(i).padStart(2, '0')}`;
        const d = makeDecision({ ...table, id, at: at(10 + i), outcome: 'deferred', guard: `rule-${i}` });
        await store.recordDecision(d);
        await store.recordDecision({ ...d, id: `${id}:again` });
        await store.recordDecision(
          makeDecision({ ...table, id: `${id}:noop`, at: at(10 + i), action: 'noop' }),
        );
      }
      await store.recordDecision(makeDecision({ ...table, id: 'c:applied', at: at(50) }));
      // Act: the history at the end of the run, twice (a second read of the same partition).
      const now = minutesAfter(T0, 60);
      const first = await store.getHistory('dynamodb', 'orders', now);
      const second = await store.getHistory('dynamodb', 'orders', now);
      // Assess: the 20 newest notable decisions, newest first (no repeat, no no-op), and every meta item.
      expect(first.recent.map((d) => d.id)).toEqual([
        'c:applied',
        ...Array.from({ length: 19 }, (_, k) => `c:${String(29 - k).padStart(2, '0')}`),
      ]);
      expect(first.tunerState).toEqual({
        cadence: 1,
        ...Object.fromEntries(Array.from({ length: 8 }, (_, p) => [`part${p}`, { p }])),
      });
      expect([...(first.tunerStateParts ?? [])].sort()).toEqual(
        Array.from({ length: 8 }, (_, p) => `part${p}`),
      );
      expect(first.drift?.detail).toBe('changed outside');
      expect(first.pending?.map((d) => d.id).sort()).toEqual(['c:int1', 'c:int2']);
      expect(first.lastAppliedAt).toBe(at(50));
      expect(first.lastApplied?.['set-capacity']?.id).toBe('c:applied');
      expect(second).toEqual(first);
    });

    it('returns only the newest notable decisions asked for, with every meta item, however many meta items came since the last read', async () => {
      // Prepare: state and a part, drift, an intent, an applied change and five deferrals.
      const store = await newStore();
      const table = { tuner: 'dynamodb' as const, resource: 'orders', action: 'set-capacity' as const };
      await store.putTunerState('dynamodb', 'orders', { cadence: 1 });
      await store.putTunerState('dynamodb', 'orders', { p: 0 }, 'part0');
      await store.recordDrift('dynamodb', 'orders', 'changed outside', T0, 60);
      await store.recordDecision(makeDecision({ ...table, id: 'o:applied', at: at(1) }));
      await store.recordDecision(makeDecision({ ...table, id: 'o:int', at: at(2), outcome: 'intended' }));
      for (let i = 0; i < 5; i++)
        await store.recordDecision(
          makeDecision({ ...table, id: `o:${i}`, at: at(10 + i), outcome: 'deferred', guard: `rule-${i}` }),
        );
      const now = minutesAfter(T0, 60);
      // Act: the newest one, then again after six more meta items (more than one page's guess).
      const one = await store.getHistory('dynamodb', 'orders', now, { recentDecisions: 1 });
      for (let p = 1; p <= 6; p++) await store.putTunerState('dynamodb', 'orders', { p }, `part${p}`);
      const again = await store.getHistory('dynamodb', 'orders', now, { recentDecisions: 1 });
      const three = await store.getHistory('dynamodb', 'orders', now, { recentDecisions: 3 });
      const full = await store.getHistory('dynamodb', 'orders', now);
      // Assess: the newest decisions asked for, and the same meta as a full read.
      expect(one.recent.map((d) => d.id)).toEqual(['o:4']);
      expect(three.recent.map((d) => d.id)).toEqual(['o:4', 'o:3', 'o:2']);
      expect(full.recent.map((d) => d.id)).toEqual(['o:4', 'o:3', 'o:2', 'o:1', 'o:0', 'o:int', 'o:applied']);
      const { recent: _one, ...oneMeta } = one;
      expect(oneMeta).toMatchObject({
        tunerState: { cadence: 1, part0: { p: 0 } },
        lastAppliedAt: at(1),
        drift: { detail: 'changed outside' },
      });
      expect(one.pending?.map((d) => d.id)).toEqual(['o:int']);
      expect(one.lastApplied?.['set-capacity']?.id).toBe('o:applied');
      const { recent: _again, ...againMeta } = again;
      const { recent: _full, ...fullMeta } = full;
      expect(againMeta).toEqual(fullMeta);
      expect(again.tunerStateParts).toHaveLength(7);
      expect(again.recent.map((d) => d.id)).toEqual(['o:4']);
      // Out of range: at least the newest, at most 20.
      expect((await store.getHistory('dynamodb', 'orders', now, { recentDecisions: 0 })).recent).toHaveLength(
        1,
      );
      expect(
        (await store.getHistory('dynamodb', 'orders', now, { recentDecisions: 50 })).recent,
      ).toHaveLength(7);
    });

    it('returns history without evidence (an intended decision keeps it) while the audit log keeps every series', async () => {
      const store = await newStore();
      const evidence = seriesEvidence('ReadIOPS', 'Average');
      const applied = makeDecision({ id: 'e:1', evidence });
      const intended = makeDecision({ id: 'e:2', at: at(5), outcome: 'intended', guard: 'intent', evidence });
      await store.recordDecision(applied);
      await store.recordDecision(intended);
      const history = await store.getHistory('iops', 'orders-db', minutesAfter(T0, 10));
      expect(history.recent.map((d) => [d.id, d.evidence.length])).toEqual([
        ['e:2', 1],
        ['e:1', 0],
      ]);
      expect(history.recent[1]).toEqual({ ...applied, evidence: [] });
      // The newest applied change of its kind (drift compares what was applied) is kept without it.
      expect(history.lastApplied?.['set-iops']).toEqual({ ...applied, evidence: [] });
      // The reports and revert read every decision with its evidence.
      expect((await store.getDecision('e:1'))?.evidence).toEqual(evidence);
      const listed = await store.listDecisions({ since: T0.toISOString(), until: at(10) });
      expect(listed.map((d) => d.evidence)).toEqual([evidence, evidence]);
      expect((await store.exportDecisions({ since: T0.toISOString() })).map((d) => d.evidence)).toEqual([
        evidence,
        evidence,
      ]);
      // Resolved from what the history shows, the intent keeps its evidence.
      const [fromHistory] = history.recent;
      expect(await store.resolveDecision({ ...(fromHistory as Decision), outcome: 'applied' })).toBe(true);
      expect((await store.getDecision('e:2'))?.evidence).toEqual(evidence);
      const later = await store.getHistory('iops', 'orders-db', minutesAfter(T0, 10));
      expect(later.recent.map((d) => [d.id, d.outcome, d.evidence.length])).toEqual([
        ['e:2', 'applied', 0],
        ['e:1', 'applied', 0],
      ]);
    });

    it('keeps daily totals per tuner as decisions are recorded; a month is the sum of its days', async () => {
      const store = await newStore();
      await store.recordDecision(makeDecision({ id: 't:1', monthlyCostDelta: 195.5 }));
      await store.recordDecision(makeDecision({ id: 't:2', action: 'noop', outcome: 'applied' }));
      await store.recordDecision(makeDecision({ id: 't:3', outcome: 'deferred', monthlyCostDelta: 50 }));
      await store.recordDecision(
        makeDecision({ id: 't:4', at: '2026-03-05T00:00:00.000Z', monthlyCostDelta: -20, tuner: 'replicas' }),
      );
      await store.recordDecision(
        makeDecision({ id: 't:5', at: '2026-03-06T00:00:00.000Z', monthlyCostDelta: 7.5, tuner: 'replicas' }),
      );
      expect(await store.totals('2026-03-02')).toEqual([
        {
          tuner: 'iops',
          period: '2026-03-02',
          outcomes: { applied: 1, deferred: 1 },
          noops: { applied: 1 },
          appliedCostDelta: 195.5,
        },
      ]);
      const month = await store.totals('2026-03');
      expect(month.map((t) => [t.tuner, t.outcomes, t.appliedCostDelta])).toEqual([
        ['iops', { applied: 1, deferred: 1 }, 195.5],
        ['replicas', { applied: 2 }, -12.5],
      ]);
      expect(await store.totals('2026-04')).toEqual([]);
    });

    it("holds a run's no-op counts until the next notable decision of the same tuner and day, or until flushed", async () => {
      const store = await newStore();
      const noop = (id: string, tuner: Decision['tuner'] = 'iops') =>
        makeDecision({ id, tuner, action: 'noop', outcome: 'applied' });
      for (const id of ['h:1', 'h:2', 'h:3']) await store.recordDecision(noop(id));
      await store.recordDecision(noop('h:4', 'replicas'));
      // Recorded (the audit log has them all) but not yet in the totals.
      expect((await store.exportDecisions({ since: '2026-03-01T00:00:00Z' })).length).toBe(4);
      expect(await store.totals('2026-03-02')).toEqual([]);
      // A notable decision of the same tuner and day carries the three held iops no-ops.
      await store.recordDecision(makeDecision({ id: 'h:5', outcome: 'deferred', monthlyCostDelta: 40 }));
      await store.recordDecision(noop('h:6'));
      expect((await store.totals('2026-03-02')).map((t) => [t.tuner, t.outcomes, t.noops])).toEqual([
        ['iops', { deferred: 1 }, { applied: 3 }],
      ]);
      // The end of the run writes the rest: one item per tuner and day.
      expect(await store.flushTotals()).toBe(2);
      expect(await store.totals('2026-03-02')).toEqual([
        {
          tuner: 'iops',
          period: '2026-03-02',
          outcomes: { deferred: 1 },
          noops: { applied: 4 },
          appliedCostDelta: 0,
        },
        { tuner: 'replicas', period: '2026-03-02', outcomes: {}, noops: { applied: 1 }, appliedCostDelta: 0 },
      ]);
      // Nothing left to write, nothing counted twice.
      expect(await store.flushTotals()).toBe(0);
      expect((await store.totals('2026-03'))[0]?.noops).toEqual({ applied: 4 });
    });

    it('counts each held no-op on the UTC day of its own time when a run spans midnight', async () => {
      const store = await newStore();
      const noop = (id: string, time: string, outcome: Decision['outcome'] = 'applied') =>
        makeDecision({ id, at: time, action: 'noop', outcome });
      await store.recordDecision(noop('m:1', '2026-03-02T23:59:58.000Z'));
      await store.recordDecision(noop('m:2', '2026-03-02T23:59:59.000Z', 'skipped'));
      await store.recordDecision(noop('m:3', '2026-03-03T00:00:01.000Z'));
      // A notable decision after midnight carries only its own day's no-ops.
      await store.recordDecision(makeDecision({ id: 'm:4', at: '2026-03-03T00:00:02.000Z' }));
      expect((await store.totals('2026-03-03'))[0]?.noops).toEqual({ applied: 1 });
      expect(await store.totals('2026-03-02')).toEqual([]);
      expect(await store.flushTotals()).toBe(1);
      expect((await store.totals('2026-03-02'))[0]?.noops).toEqual({ applied: 1, skipped: 1 });
      expect((await store.totals('2026-03-03'))[0]).toMatchObject({
        outcomes: { applied: 1 },
        noops: { applied: 1 },
      });
    });

    it('counts an intended decision only once it is resolved (its outcome)', async () => {
      const store = await newStore();
      const intended = makeDecision({
        id: 'ir:1',
        outcome: 'intended',
        guard: 'intent',
        monthlyCostDelta: 12,
      });
      await store.recordDecision(intended);
      expect(await store.totals('2026-03-02')).toEqual([]);
      expect(await store.resolveDecision({ ...intended, outcome: 'applied' })).toBe(true);
      expect((await store.totals('2026-03-02'))[0]).toMatchObject({
        outcomes: { applied: 1 },
        appliedCostDelta: 12,
      });
    });

    it('counts an applied recommendation or finding as an applied decision but adds nothing to the applied cost', async () => {
      const store = await newStore();
      await store.recordDecision(makeDecision({ id: 'c:1', monthlyCostDelta: -40 }));
      await store.recordDecision(
        makeDecision({ id: 'c:2', action: 'recommend', outcome: 'applied', monthlyCostDelta: -300 }),
      );
      await store.recordDecision(
        makeDecision({ id: 'c:3', action: 'finding', outcome: 'applied', monthlyCostDelta: -90 }),
      );
      const [day] = await store.totals('2026-03-02');
      expect(day?.outcomes).toEqual({ applied: 3 });
      expect(day?.appliedCostDelta).toBe(-40);
      const [month] = await store.totals('2026-03');
      expect(month?.appliedCostDelta).toBe(-40);
    });

    it("keeps locks, idempotency keys and the created register per tuner (each tuner's own keys)", async () => {
      const store = await newStore();
      expect(await store.acquireLock('iops', 'orders-db', 'run-a', T0, 900)).toBe(true);
      expect(await store.acquireLock('replicas', 'orders-db', 'run-b', T0, 900)).toBe(true);
      expect(await store.claimIdempotencyKey('iops', 'eventbridge:e1', 'run-a', T0, 60)).toBe(true);
      expect(await store.claimIdempotencyKey('replicas', 'eventbridge:e1', 'run-b', T0, 60)).toBe(true);
      await store.recordCreated('replicas', 'dbap-orders-db-1', {}, T0);
      expect(await store.wasCreatedByUs('iops', 'dbap-orders-db-1')).toBe(false);
      expect(await store.wasCreatedByUs('replicas', 'dbap-orders-db-1')).toBe(true);
    });

    it('claims an idempotency key once until it expires', async () => {
      const store = await newStore();
      expect(await store.claimIdempotencyKey('iops', 'eventbridge:abc', 'run-1', T0, 3600)).toBe(true);
      expect(
        await store.claimIdempotencyKey('iops', 'eventbridge:abc', 'run-2', minutesAfter(T0, 59), 3600),
      ).toBe(false);
      expect(await store.claimIdempotencyKey('iops', 'eventbridge:other', 'run-2', T0, 3600)).toBe(true);
      expect(
        await store.claimIdempotencyKey('iops', 'eventbridge:abc', 'run-3', minutesAfter(T0, 61), 3600),
      ).toBe(true);
    });

    it('lets exactly one of many concurrent claims of one key win', async () => {
      const store = await newStore();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.claimIdempotencyKey('iops', 'eventbridge:race', `run-${i}`, T0, 3600),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('grants a lease lock to one owner at a time, re-entrant for its owner', async () => {
      const store = await newStore();
      expect(await store.acquireLock('iops', 'orders-db', 'run-a', T0, 900)).toBe(true);
      expect(await store.acquireLock('iops', 'orders-db', 'run-b', minutesAfter(T0, 1), 900)).toBe(false);
      expect(await store.acquireLock('iops', 'orders-db', 'run-a', minutesAfter(T0, 1), 900)).toBe(true);
      expect(await store.acquireLock('iops', 'other-db', 'run-b', T0, 900)).toBe(true);
    });

    it('lets exactly one of many concurrent lock attempts win', async () => {
      const store = await newStore();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.acquireLock('iops', 'orders-db', `run-${i}`, T0, 900)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('releases a lock only for its owner', async () => {
      const store = await newStore();
      await store.acquireLock('iops', 'orders-db', 'run-a', T0, 900);
      await store.releaseLock('iops', 'orders-db', 'run-b');
      expect(await store.acquireLock('iops', 'orders-db', 'run-b', T0, 900)).toBe(false);
      await store.releaseLock('iops', 'orders-db', 'run-a');
      expect(await store.acquireLock('iops', 'orders-db', 'run-b', T0, 900)).toBe(true);
    });

    it('lets the next run take a lock a crashed run left behind once its lease has expired', async () => {
      const store = await newStore();
      expect(await store.acquireLock('iops', 'orders-db', 'crashed', T0, 900)).toBe(true);
      expect(await store.acquireLock('iops', 'orders-db', 'next', minutesAfter(T0, 14), 900)).toBe(false);
      expect(await store.acquireLock('iops', 'orders-db', 'next', minutesAfter(T0, 15), 900)).toBe(true);
      expect(await store.acquireLock('iops', 'orders-db', 'crashed', minutesAfter(T0, 16), 900)).toBe(false);
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
      expect(history.recent.map((d) => d.id)).toEqual(['l:2', 'l:1', 'l:4']);
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

    it('keeps a part of the tuner state in an item of its own, merged over the main state when read', async () => {
      const store = await newStore();
      expect((await store.getHistory('dynamodb', 'orders', T0)).tunerStateParts).toBeUndefined();
      // An older main item still holding the part's key: the part stored on its own wins.
      await store.putTunerState('dynamodb', 'orders', {
        cadence: { nextAt: 'a' },
        prewarm: { learnedAt: 'old' },
      });
      await store.putTunerState(
        'dynamodb',
        'orders',
        { learnedAt: 'new', models: { ':read': 1 } },
        'prewarm',
      );
      const first = await store.getHistory('dynamodb', 'orders', T0);
      expect(first.tunerState).toEqual({
        cadence: { nextAt: 'a' },
        prewarm: { learnedAt: 'new', models: { ':read': 1 } },
      });
      expect(first.tunerStateParts).toEqual(['prewarm']);
      // Rewriting the main state leaves the part as it is.
      await store.putTunerState('dynamodb', 'orders', { cadence: { nextAt: 'b' } });
      const second = await store.getHistory('dynamodb', 'orders', T0);
      expect(second.tunerState).toEqual({
        cadence: { nextAt: 'b' },
        prewarm: { learnedAt: 'new', models: { ':read': 1 } },
      });
      // Another resource's and another owner's state are apart.
      expect((await store.getHistory('dynamodb', 'carts', T0)).tunerState).toBeUndefined();
      expect((await store.getHistory('dynamodb-mode', 'orders', T0)).tunerState).toBeUndefined();
      await expect(store.putTunerState('dynamodb', 'orders', {}, 'no#hash')).rejects.toThrow(
        /tuner state part "no#hash"/,
      );
    });

    it('gives an idempotency key back only to the run holding it, so a corrected retry can claim it', async () => {
      const store = await newStore();
      expect(await store.claimIdempotencyKey('control', 'manual:k', 'run-1', T0, 3600)).toBe(true);
      await store.releaseIdempotencyKey('control', 'manual:k', 'run-other');
      expect(await store.claimIdempotencyKey('control', 'manual:k', 'run-2', T0, 3600)).toBe(false);
      await store.releaseIdempotencyKey('control', 'manual:k', 'run-1');
      expect(await store.claimIdempotencyKey('control', 'manual:k', 'run-2', T0, 3600)).toBe(true);
      // Giving back a key nobody holds changes nothing.
      await store.releaseIdempotencyKey('control', 'manual:none', 'run-1');
      expect(await store.claimIdempotencyKey('control', 'manual:k', 'run-3', T0, 3600)).toBe(false);
    });

    it('resolves an intended decision in place once: same id, outcome counted once, ledger advanced', async () => {
      const store = await newStore();
      const intended = makeDecision({ id: 'i:1', outcome: 'intended', guard: 'intent' });
      await store.recordDecision(intended);
      expect((await store.getHistory('iops', 'orders-db', T0)).lastAppliedAt).toBeUndefined();
      const applied = {
        ...intended,
        outcome: 'applied' as const,
        resolution: { by: 'aws-state' as const, at: T0.toISOString(), runId: 'r2' },
      };
      expect(await store.resolveDecision(applied)).toBe(true);
      expect(await store.getDecision('i:1')).toEqual(applied);
      // A second resolution (another run, or a retry) writes nothing: never a second applied.
      expect(await store.resolveDecision({ ...intended, outcome: 'failed', reason: 'late' })).toBe(false);
      expect(await store.getDecision('i:1')).toEqual(applied);
      expect(await store.resolveDecision(makeDecision({ id: 'i:unknown', outcome: 'applied' }))).toBe(false);
      expect(await store.getDecision('i:unknown')).toBeUndefined();
      const [totals] = await store.totals('2026-03-02');
      expect(totals?.outcomes).toEqual({ applied: 1 });
      expect((await store.getHistory('iops', 'orders-db', T0)).lastAppliedAt).toBe(T0.toISOString());
      const all = await store.listDecisions({ since: '2026-03-01T00:00:00Z', until: '2026-03-03T00:00:00Z' });
      expect(all.map((d) => [d.id, d.outcome])).toEqual([['i:1', 'applied']]);
    });

    it("keeps an intent in sight until it is resolved: the resource's pending list and the tuner's intent index", async () => {
      const store = await newStore();
      const early = makeDecision({
        id: 'p:1',
        outcome: 'intended',
        resource: 'db-b',
        at: '2026-03-02T09:00:00.000Z',
      });
      const late = makeDecision({ id: 'p:2', outcome: 'intended', resource: 'db-a' });
      const other = makeDecision({
        id: 'p:3',
        outcome: 'intended',
        tuner: 'replicas',
        action: 'remove-replica',
        resource: 'dbap-x',
      });
      for (const d of [late, early, other]) await store.recordDecision(d);
      // Thirty newer notable decisions on db-a (each deferred by another rule: none repeats the
      // one before) push the intent out of the recent history (at most 20), not out of sight.
      for (let i = 0; i < 30; i++)
        await store.recordDecision(
          makeDecision({
            id: `p:n${i}`,
            resource: 'db-a',
            outcome: 'deferred',
            guard: `rule-${i}`,
            at: minutesAfter(T0, i + 1).toISOString(),
          }),
        );
      const history = await store.getHistory('iops', 'db-a', minutesAfter(T0, 40));
      expect(history.recent.map((d) => d.id)).not.toContain('p:2');
      expect(history.pending?.map((d) => d.id)).toEqual(['p:2']);
      // Per tuner, whatever resource, oldest first.
      expect((await store.listIntents('iops')).map((d) => d.id)).toEqual(['p:1', 'p:2']);
      expect((await store.listIntents('replicas')).map((d) => d.id)).toEqual(['p:3']);
      expect(await store.listIntents('dynamodb')).toEqual([]);
      // Resolved (or found already resolved): gone from both.
      expect(await store.resolveDecision({ ...late, outcome: 'failed' })).toBe(true);
      expect((await store.getHistory('iops', 'db-a', minutesAfter(T0, 40))).pending).toBeUndefined();
      expect((await store.listIntents('iops')).map((d) => d.id)).toEqual(['p:1']);
      expect(await store.resolveDecision({ ...other, outcome: 'applied' })).toBe(true);
      expect(await store.listIntents('replicas')).toEqual([]);
    });

    it('remembers which resources db-autopilot created until told to forget', async () => {
      const store = await newStore();
      expect(await store.wasCreatedByUs('replicas', 'orders-db-replica-1')).toBe(false);
      await store.recordCreated('replicas', 'orders-db-replica-1', { source: 'orders-db' }, T0);
      expect(await store.wasCreatedByUs('replicas', 'orders-db-replica-1')).toBe(true);
      await store.forgetCreated('replicas', 'orders-db-replica-1');
      expect(await store.wasCreatedByUs('replicas', 'orders-db-replica-1')).toBe(false);
    });
  });
}
