import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../../../shared/state/index.ts';
import { LIFTED_INDEX, liftedTables, storedLifts } from '../../../shared/tuners/dynamodb-handback.ts';
import { packPrewarm, storedPart, tableTunerState } from '../../../shared/tuners/dynamodb-state.ts';

/** The DynamoDB tuner's state read back (written by an older version, or edited by a person): validated. */
const NOW = new Date('2026-11-20T12:00:00.000Z');
const LEASE = {
  resourceId: 'table/securecart-catalog',
  scalableDimension: 'dynamodb:table:ReadCapacityUnits',
  originalMin: 400,
  originalMax: 10_000,
  liftedTo: 2000,
  until: '2026-11-20T13:00:00.000Z',
  originalPolicy: {
    policyName: 'catalog-read',
    targetValue: 70,
    disableScaleIn: false,
    scaleInCooldown: 120,
  },
};

describe('stored leases', () => {
  it('keeps a lease as the tuner writes it, on the table or one of its indexes', () => {
    const index = { ...LEASE, resourceId: 'table/securecart-catalog/index/by-sku' };
    expect(storedLifts({ lifts: { a: LEASE, b: index } }, 'securecart-catalog')).toEqual({
      lifts: { a: LEASE, b: index },
      malformed: [],
    });
    expect(storedLifts({}, 'securecart-catalog')).toEqual({ lifts: {}, malformed: [] });
  });

  it.each([
    ['a wrong type', { ...LEASE, liftedTo: '2000' }, 'liftedTo'],
    ['a missing field', { ...LEASE, originalMin: undefined }, 'originalMin'],
    ['a maximum below the minimum', { ...LEASE, originalMax: 10 }, 'originalMax is below originalMin'],
    ['a time that is not one', { ...LEASE, until: 'tomorrow' }, 'until'],
    [
      'a policy target outside 20-90 %',
      { ...LEASE, originalPolicy: { policyName: 'p', targetValue: 95 } },
      'originalPolicy.targetValue',
    ],
    [
      'another table’s target',
      { ...LEASE, resourceId: 'table/securecart-carts' },
      'names table/securecart-carts',
    ],
  ])('treats a lease with %s as absent, saying why', (_, lease, why) => {
    const { lifts, malformed } = storedLifts({ lifts: { a: LEASE, b: lease } }, 'securecart-catalog');
    expect(lifts).toEqual({ a: LEASE });
    expect(malformed.map((m) => m.key)).toEqual(['b']);
    expect(malformed[0]?.why).toContain(why);
  });

  it('treats leases that are not an object of leases as absent', () => {
    for (const bad of ['x', 3, null, [LEASE]])
      expect(storedLifts({ lifts: bad }, 'securecart-catalog')).toMatchObject({
        lifts: {},
        malformed: [{ key: 'lifts', why: 'not an object of leases' }],
      });
  });
});

describe('the lifted-tables index', () => {
  it('names only DynamoDB table names', async () => {
    const store = new MemoryStateStore();
    await store.putTunerState('dynamodb', LIFTED_INDEX, {
      tables: ['securecart-catalog', 'no spaces allowed', 42, 'ab', null, 'securecart-carts'],
    });
    expect(await liftedTables(store, NOW)).toEqual(['securecart-catalog', 'securecart-carts']);
    await store.putTunerState('dynamodb', LIFTED_INDEX, { tables: 'securecart-catalog' });
    expect(await liftedTables(store, NOW)).toEqual([]);
  });
});

describe('stored table state (prewarm, reads, cadence, explained, findings, modeAdvisedAt)', () => {
  const T = '2026-11-20T11:00:00.000Z';
  const window = { start: '2026-11-06T11:00:00.000Z', end: T, periodSeconds: 300 };
  const VALID = {
    prewarm: {
      learnedAt: T,
      models: {
        'table:read': {
          learnedAt: T,
          learnedFrom: { ...window, samples: 4032 },
          periodMinutes: 1440,
          correlation: 0.91,
          baseline: 120,
          expected: [
            {
              at: '2026-11-20T18:00:00.000Z',
              value: 900,
              periodMinutes: 1440,
              history: [{ at: T, value: 880 }],
            },
          ],
        },
        'table:write': {
          learnedAt: T,
          learnedFrom: { ...window, samples: 4032 },
          periodMinutes: null,
          correlation: 0.2,
          baseline: 10,
          expected: [],
          note: 'no recurring peak',
        },
      },
      shapes: {
        'table:read': {
          learnedAt: T,
          learnedFrom: window,
          hours: 336,
          base: 120,
          peak: 900,
          peaksPerDay: 1,
          peakMinutes: 45,
        },
      },
    },
    reads: { at: T, causesAt: T },
    cadence: {
      everyMinutes: 10,
      nextAt: '2026-11-20T11:10:00.000Z',
      speed: 'slow',
      reason: 'far from the threshold',
    },
    explained: { table: { read: 400, write: 100 }, 'index/by-sku': { read: 50, write: 5 } },
    findings: { 'hot-key:by-sku:read': T },
    modeAdvisedAt: T,
    lifts: { anything: 'validated by storedLifts' },
  };

  it('keeps every valid part exactly as stored', () => {
    const { state, malformedParts } = tableTunerState({ tunerState: VALID });
    expect(malformedParts).toEqual([]);
    const { lifts: _, ...parts } = VALID;
    expect(state).toEqual(parts);
    expect(state.prewarm).toBe(VALID.prewarm);
    expect(tableTunerState(undefined)).toEqual({ state: {}, malformedParts: [] });
  });

  it('keeps the learned peaks packed (one string, each past peak as [epoch ms, value]) and reads them back exactly', () => {
    // Act: pack, as saveTunerState stores the part, then read back.
    const stored = storedPart('prewarm', VALID.prewarm) as { packed: string };
    const { state, malformedParts } = tableTunerState({ tunerState: { ...VALID, prewarm: stored } });
    // Assess: one string attribute; the past peak without its ISO time spelled out; read back equal
    // and in the same key order (packed again, it is the same string: no rewrite when unchanged).
    expect(Object.keys(stored)).toEqual(['packed']);
    expect(stored.packed).toContain(`"history":[[${Date.parse(T)},880]]`);
    expect(malformedParts).toEqual([]);
    expect(state.prewarm).toEqual(VALID.prewarm);
    expect(JSON.stringify(state.prewarm)).toBe(JSON.stringify(VALID.prewarm));
    expect(state.prewarm && packPrewarm(state.prewarm)).toEqual(stored);
    expect(storedPart('reads', VALID.reads)).toBe(VALID.reads);
  });

  it('reads back any packed past peaks exactly, a time not in toISOString form kept as it was', () => {
    const peak = fc.record({
      at: fc.oneof(
        fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms).toISOString()),
        fc.constantFrom('2026-11-20T11:00:00Z', '2026-11-20T11:00:00.000+00:00'),
      ),
      value: fc.double({ noNaN: true, noDefaultInfinity: true }),
    });
    fc.assert(
      fc.property(fc.array(peak, { maxLength: 20 }), (history) => {
        const model = VALID.prewarm.models['table:read'];
        const prewarm = {
          ...VALID.prewarm,
          models: { 'table:read': { ...model, expected: [{ ...model.expected[0], history }] } },
        };
        const read = tableTunerState({ tunerState: { prewarm: packPrewarm(prewarm as never) } });
        const back = read.state.prewarm?.models['table:read']?.expected[0]?.history;
        // JSON keeps a double exactly; -0 is stored as 0, as DynamoDB stores it.
        expect(back).toEqual(history.map((p) => ({ ...p, value: Object.is(p.value, -0) ? 0 : p.value })));
      }),
    );
  });

  it.each([
    [{ packed: 'not JSON' }, 'packed: not JSON'],
    [{ packed: 17 }, 'packed: not a string'],
    [{ packed: JSON.stringify({ learnedAt: T, models: 'none' }) }, 'models'],
    [
      { packed: JSON.stringify({ learnedAt: T, models: { m: { expected: [{ history: [[1, 2, 3]] }] } } }) },
      'models.m',
    ],
  ])('leaves out learned peaks whose packed form is malformed (%j), saying why', (bad, why) => {
    const { state, malformedParts } = tableTunerState({ tunerState: { ...VALID, prewarm: bad } });
    expect(malformedParts.map((m) => m.part)).toEqual(['prewarm']);
    expect(malformedParts[0]?.why).toContain(why);
    expect(state).not.toHaveProperty('prewarm');
    expect(state.reads).toEqual(VALID.reads);
  });

  it.each([
    ['prewarm', { ...VALID.prewarm, learnedAt: 'an hour ago' }, 'learnedAt'],
    [
      'prewarm',
      {
        ...VALID.prewarm,
        models: { 'table:read': { ...VALID.prewarm.models['table:read'], baseline: '120' } },
      },
      'models.table:read.baseline',
    ],
    ['prewarm', { ...VALID.prewarm, shapes: { 'table:read': { learnedAt: T } } }, 'shapes.table:read'],
    ['reads', { at: T }, 'causesAt'],
    ['cadence', { ...VALID.cadence, speed: 'medium' }, 'speed'],
    ['cadence', { ...VALID.cadence, everyMinutes: 0 }, 'everyMinutes'],
    ['explained', { table: { read: -1, write: 100 } }, 'table.read'],
    ['findings', { 'hot-key:by-sku:read': 1_763_636_400_000 }, 'hot-key:by-sku:read'],
    ['modeAdvisedAt', 'yesterday', 'not a date-time'],
  ] as const)('leaves out a malformed %s part, saying where, and keeps the others', (part, bad, why) => {
    const { state, malformedParts } = tableTunerState({ tunerState: { ...VALID, [part]: bad } });
    expect(malformedParts.map((m) => m.part)).toEqual([part]);
    expect(malformedParts[0]?.why).toContain(why);
    expect(state).not.toHaveProperty(part);
    expect(Object.keys(state).sort()).toEqual(
      ['prewarm', 'reads', 'cadence', 'explained', 'findings', 'modeAdvisedAt']
        .filter((p) => p !== part)
        .sort(),
    );
  });
});

describe('when a table was observed (reads, cadence): the observed part', () => {
  const reads = { at: '2026-11-20T11:58:00.000Z', causesAt: '2026-11-20T11:56:00.000Z' };
  const cadence = { everyMinutes: 2, nextAt: '2026-11-20T12:00:00.000Z', speed: 'fast', reason: 'busy' };
  const older = { at: '2026-11-20T10:00:00.000Z', causesAt: '2026-11-20T10:00:00.000Z' };

  it('reads reads and cadence from the observed part, over what an older main item kept', () => {
    const { state, malformedParts } = tableTunerState({
      tunerState: { reads: older, explained: { table: { read: 5, write: 5 } }, observed: { reads, cadence } },
    });
    expect(state).toEqual({ reads, cadence, explained: { table: { read: 5, write: 5 } } });
    expect(malformedParts).toEqual([]);
  });

  it('reads the newer copy by observedAt: the main item written with a later observation wins', () => {
    const main = { reads, cadence, observedAt: '2026-11-20T11:58:00.000Z' };
    const part = {
      reads: older,
      cadence: { ...cadence, nextAt: '2026-11-20T10:02:00.000Z' },
      observedAt: '2026-11-20T10:00:00.000Z',
    };
    expect(tableTunerState({ tunerState: { ...main, observed: part } }).state).toEqual(main);
    expect(tableTunerState({ tunerState: { ...part, observed: main } }).state).toEqual(main);
    // A copy without a valid observedAt is the older.
    expect(tableTunerState({ tunerState: { ...main, observedAt: 'x', observed: part } }).state.reads).toEqual(
      older,
    );
  });

  it('reads state written before the part (both in the main item) as before', () => {
    expect(tableTunerState({ tunerState: { reads, cadence } }).state).toEqual({ reads, cadence });
  });

  it('treats an observed part that is not an object as absent (the table is due), saying so', () => {
    const { state, malformedParts } = tableTunerState({ tunerState: { reads: older, observed: 'x' } });
    expect(state).toEqual({ reads: older });
    expect(malformedParts).toEqual([{ part: 'observed', why: 'not an object' }]);
  });

  it('validates what the observed part holds like the rest', () => {
    const { state, malformedParts } = tableTunerState({
      tunerState: { observed: { reads: { at: 'now', causesAt: reads.causesAt }, cadence } },
    });
    expect(state).toEqual({ cadence });
    expect(malformedParts.map((m) => m.part)).toEqual(['reads']);
  });
});
