import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replicaName, replicaNameMinute } from '../../../shared/policies/replica-cost.ts';

/**
 * AWS gives no InstanceCreateTime while an instance is being created; db-autopilot's replica names
 * carry the minute they were asked for, read back by replicaNameMinute.
 */
describe('replicaNameMinute', () => {
  it('reads back the minute of every name replicaName gives (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }),
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2099-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: 1, max: 15 }),
        (source, at, index) => {
          const minute = new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
          expect(replicaNameMinute(replicaName(source, at, index))).toBe(minute);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('knows no minute for any other name', () => {
    for (const id of [
      'catalog-aurora-reader-1',
      'dbap-catalog-aurora',
      'dbap-catalog-aurora-20261123',
      'dbap-x-2026133118001', // month 13
      'dbap-x-2026023018001', // 30 February
      'securecart-2026112318001', // not our prefix
    ])
      expect(replicaNameMinute(id), id).toBeUndefined();
  });
});
