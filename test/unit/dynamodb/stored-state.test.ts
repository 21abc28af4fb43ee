import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from '../../../shared/state/index.ts';
import { LIFTED_INDEX, liftedTables, storedLifts } from '../../../shared/tuners/dynamodb-handback.ts';

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
