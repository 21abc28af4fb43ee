import { DescribeEventsCommand, RDSClient, RDSServiceException } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { describeAccountEvents } from '../../../shared/adapters/rds-iops.ts';
import { buildStorageLedger, type RdsEventLike } from '../../../shared/policies/iops-ledger.ts';
import {
  ACCOUNT_WINDOW_MS,
  cachedValidStorage,
  copyCovers,
  type DescribeCache,
  EVENTS_LOOKBACK_MS,
  FULL_READ_MS,
  FULL_READ_SPREAD_MS,
  fullReadEvery,
  LATE_EVENT_MARGIN_MS,
  mergeEvents,
  nextDescribeCache,
  readDescribeCache,
  VALID_MAX_AGE_MS,
  validStorageKey,
} from '../../../shared/tuners/iops-describe-cache.ts';

const NOW = new Date('2026-11-20T18:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const STATUS = { status: 'available' };

function cache(through: number, fullAt = through, items: RdsEventLike[] = []): DescribeCache {
  return {
    v: 1,
    events: {
      through: ago(through),
      fullAt: ago(fullAt),
      items: items.map((e) => ({ date: e.date, message: e.message })),
    },
  };
}

describe('the kept copy of an instance’s RDS events', () => {
  it('covers the instance only while this run’s account-wide window starts the late-event margin before it', () => {
    const edge = ACCOUNT_WINDOW_MS - LATE_EVENT_MARGIN_MS;
    expect(copyCovers(cache(edge), NOW)).toBe(true);
    expect(copyCovers(cache(edge + 1), NOW)).toBe(false);
    expect(copyCovers(cache(5 * MIN), NOW)).toBe(true);
  });

  it('is not used once the instance’s own events were last read in full a day ago, nor from the future', () => {
    expect(copyCovers(cache(5 * MIN, FULL_READ_MS - 1), NOW)).toBe(true);
    expect(copyCovers(cache(5 * MIN, FULL_READ_MS), NOW)).toBe(false);
    expect(copyCovers(cache(-MIN, -MIN), NOW)).toBe(false);
    expect(copyCovers(undefined, NOW)).toBe(false);
    expect(copyCovers({ v: 1 }, NOW)).toBe(false);
  });

  it('is read in full again 22 to 24 h after the last full read, at a time fixed per instance, never later', () => {
    for (const id of ['orders', 'fleet-db-0', 'fleet-db-199', '']) {
      const every = fullReadEvery(id);
      expect(every).toBe(fullReadEvery(id));
      expect(every).toBeLessThanOrEqual(FULL_READ_MS);
      expect(every).toBeGreaterThan(FULL_READ_MS - FULL_READ_SPREAD_MS);
      expect(every % (5 * MIN)).toBe(0);
      expect(copyCovers(cache(5 * MIN, every - 1), NOW, every)).toBe(true);
      expect(copyCovers(cache(5 * MIN, every), NOW, every)).toBe(false);
    }
    // A longer interval than a day is never taken: the copy is only ever checked sooner.
    expect(copyCovers(cache(5 * MIN, FULL_READ_MS), NOW, FULL_READ_MS + HOUR)).toBe(false);
  });

  it('spreads the daily full reads of a fleet first seen in one run over 24 runs instead of one', () => {
    const perRun = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const every = fullReadEvery(`fleet-db-${i}`);
      perRun.set(every, (perRun.get(every) ?? 0) + 1);
    }
    // 200 instances at 5-minute runs: about 8 a run; all 200 in one run before.
    expect(perRun.size).toBe(24);
    expect(Math.max(...perRun.values())).toBeLessThanOrEqual(20);
  });

  it('keeps only the ledger’s events of the lookback, each once, oldest first', () => {
    const change = { date: ago(2 * HOUR), message: 'Applying modification to allocated storage' };
    const merged = mergeEvents(
      [change, { date: ago(EVENTS_LOOKBACK_MS + MIN), message: 'Storage optimization completed' }],
      [
        { date: ago(HOUR), message: 'Storage optimization completed', categories: ['notification'] },
        { date: ago(30 * MIN), message: 'Backing up DB instance' },
        change,
        { date: ago(-MIN), message: 'Storage optimization started' },
      ],
      NOW,
    );
    expect(merged).toEqual([change, { date: ago(HOUR), message: 'Storage optimization completed' }]);
  });

  it('is written when new events came, when its `through` is an hour old, or after a full read; not every run', () => {
    const items = [{ date: ago(2 * HOUR), message: 'Applying modification to allocated storage' }];
    const kept = cache(10 * MIN, 3 * HOUR, items);
    expect(nextDescribeCache(kept, NOW, { events: { items, full: false } })).toBeUndefined();
    const more = [...items, { date: ago(MIN), message: 'Storage optimization started' }];
    expect(nextDescribeCache(kept, NOW, { events: { items: more, full: false } })?.events).toEqual({
      through: NOW.toISOString(),
      fullAt: ago(3 * HOUR),
      items: more,
    });
    expect(
      nextDescribeCache(cache(HOUR, 3 * HOUR, items), NOW, { events: { items, full: false } }),
    ).toBeDefined();
    expect(nextDescribeCache(kept, NOW, { events: { items, full: true } })?.events?.fullAt).toBe(
      NOW.toISOString(),
    );
    // Not read this run (RDS failed): kept as it was, not rewritten.
    expect(nextDescribeCache(kept, NOW, {})).toBeUndefined();
  });
});

describe('the kept valid storage options', () => {
  const instance = {
    DBInstanceClass: 'db.r6i.large',
    Engine: 'postgres',
    EngineVersion: '16.3',
    StorageType: 'io1',
    AllocatedStorage: 500,
    Iops: 10_000,
    MultiAZ: false,
  };
  const options = [
    {
      storageType: 'io1',
      storageSize: [],
      provisionedIops: [{ from: 1000, to: 25_000 }],
      iopsToStorageRatio: [],
    },
  ];

  it('are used while nothing they depend on changed and they are younger than the maximum age', () => {
    const key = validStorageKey(instance);
    const kept: DescribeCache = { v: 1, valid: { key, at: ago(VALID_MAX_AGE_MS - 1), options } };
    expect(cachedValidStorage(kept, key, NOW)).toEqual(options);
    expect(
      cachedValidStorage({ v: 1, valid: { key, at: ago(VALID_MAX_AGE_MS), options } }, key, NOW),
    ).toBeUndefined();
  });

  it('are read again when the size, IOPS, class, engine version, Multi-AZ or a pending value changed', () => {
    const key = validStorageKey(instance);
    const kept: DescribeCache = { v: 1, valid: { key, at: ago(MIN), options } };
    for (const changed of [
      { AllocatedStorage: 550 },
      { Iops: 12_000 },
      { DBInstanceClass: 'db.r6i.xlarge' },
      { EngineVersion: '16.4' },
      { MultiAZ: true },
      { StorageType: 'io2' },
      { PendingModifiedValues: { AllocatedStorage: 600 } },
    ]) {
      expect(cachedValidStorage(kept, validStorageKey({ ...instance, ...changed }), NOW)).toBeUndefined();
    }
  });
});

describe('a malformed copy in the tuner state', () => {
  it('is ignored with a note naming what is wrong, never trusted', () => {
    const notes: string[] = [];
    const bad = { v: 1, events: { through: 'yesterday', fullAt: ago(MIN), items: [] } };
    expect(readDescribeCache({ describe: bad }, 'orders-db', notes)).toBeUndefined();
    expect(notes[0]).toMatch(/orders-db: .*malformed \(describe\.events\.through: /);
    expect(readDescribeCache({ describe: { v: 2 } }, 'orders-db', [])).toBeUndefined();
    expect(readDescribeCache({ describe: 'x' }, 'orders-db', [])).toBeUndefined();
    const good = cache(MIN);
    expect(readDescribeCache({ describe: good }, 'orders-db', [])).toEqual(good);
  });
});

/**
 * The safety of the copy: for any events (each listed by RDS up to the late-event margin after its
 * date), a copy written at T1 plus the account-wide read at T2 gives the ledger a full read of the
 * instance's own events at T2 gives: the same storage changes (the 6 h wait and 4 per 24 h count
 * the same ones) and the same optimizations.
 */
describe('the copy plus the account-wide read', () => {
  const messages = [
    'Applying modification to allocated storage',
    'Finished applying modification to allocated storage',
    'Applying autoscaling-initiated modification to allocated storage from 100 GiB to 110 GiB.',
    'Storage optimization started',
    'Storage optimization completed',
    'Backing up DB instance',
  ];
  const event = fc.record({
    // Minutes before the run: most in the last hours, where the copy and the window meet.
    at: fc.oneof(fc.integer({ min: -8 * 24 * 60, max: 0 }), fc.integer({ min: -5 * 60, max: 0 })),
    lag: fc.integer({ min: 0, max: LATE_EVENT_MARGIN_MS / MIN }),
    message: fc.constantFrom(...messages),
  });

  it('gives the ledger a full read gives, late-listed events included, whenever the tuner uses it', () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 40 }),
        // Copies up to 4 h old: those the tuner uses (up to 2 h) must be exact; older ones unused.
        fc.integer({ min: 0, max: 4 * 60 }),
        (raw, sinceCopy) => {
          const t2 = NOW.getTime();
          const t1 = t2 - sinceCopy * MIN;
          const all = raw
            .map((e) => ({ date: t2 + e.at * MIN, listed: t2 + (e.at + e.lag) * MIN, message: e.message }))
            .sort((a, b) => a.date - b.date);
          // What DescribeEvents lists at `t` for [from, t].
          const listed = (from: number, t: number): RdsEventLike[] =>
            all
              .filter((e) => e.listed <= t && e.date >= from && e.date <= t)
              .map((e) => ({ date: new Date(e.date).toISOString(), message: e.message }));
          const at1 = new Date(t1);
          const copy = nextDescribeCache(undefined, at1, {
            events: { items: mergeEvents([], listed(t1 - EVENTS_LOOKBACK_MS, t1), at1), full: true },
          });
          if (!copyCovers(copy, NOW)) return;
          const viaCopy = mergeEvents(copy?.events?.items ?? [], listed(t2 - ACCOUNT_WINDOW_MS, t2), NOW);
          const full = listed(t2 - EVENTS_LOOKBACK_MS, t2);
          const ledger = (events: RdsEventLike[]) =>
            buildStorageLedger({ instance: STATUS, events, decisions: [] });
          expect(ledger(viaCopy)).toEqual(ledger(full));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the account-wide DescribeEvents (aws-sdk-client-mock)', () => {
  const rds = mockClient(RDSClient);
  const client = new RDSClient({ region: 'us-east-1' });
  afterEach(() => rds.reset());

  it('reads every page without a SourceIdentifier and groups the events by instance', async () => {
    rds
      .on(DescribeEventsCommand)
      .resolvesOnce({
        Events: [
          { SourceIdentifier: 'a', Date: new Date(ago(HOUR)), Message: 'Storage optimization started' },
        ],
        Marker: 'p2',
      })
      .resolves({
        Events: [
          {
            SourceIdentifier: 'b',
            Date: new Date(ago(MIN)),
            Message: 'Applying modification to allocated storage',
          },
        ],
      });
    const byId = await describeAccountEvents(client, new Date(ago(ACCOUNT_WINDOW_MS)), NOW);
    expect(byId?.get('a')?.map((e) => e.message)).toEqual(['Storage optimization started']);
    expect(byId?.get('b')?.map((e) => e.date)).toEqual([ago(MIN)]);
    const inputs = rds.commandCalls(DescribeEventsCommand).map((c) => c.args[0].input);
    expect(inputs[0]).toEqual({
      SourceType: 'db-instance',
      StartTime: new Date(ago(ACCOUNT_WINDOW_MS)),
      EndTime: NOW,
    });
    expect(inputs[1]?.Marker).toBe('p2');
  });

  it('says it is incomplete (undefined) rather than drop the newest events past its page limit', async () => {
    rds.on(DescribeEventsCommand).resolves({ Events: [], Marker: 'more' });
    expect(await describeAccountEvents(client, new Date(ago(HOUR)), NOW)).toBeUndefined();
    expect(rds.commandCalls(DescribeEventsCommand)).toHaveLength(50);
  });

  it('lets RDS errors through to the caller (which then reads instance by instance)', async () => {
    rds.on(DescribeEventsCommand).rejects(
      new RDSServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: {},
        message: 'Rate exceeded',
      }),
    );
    await expect(describeAccountEvents(client, new Date(ago(HOUR)), NOW)).rejects.toThrow('Rate exceeded');
  });
});
