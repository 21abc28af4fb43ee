import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  inMaintenanceWindow,
  type MaintenanceWindow,
  maintenanceBudget,
  windowEndAt,
} from '../../../shared/postgres/maintenance-window.ts';

/**
 * A maintenance run inside a window gets no more time than the window has left: a VACUUM started
 * at 01:59 in a window that closes at 02:00 used to have the function's 14 minutes (and a
 * statement_timeout to match), running into the hours the window keeps clear.
 */
const SAT_NIGHT: MaintenanceWindow[] = [{ days: ['sat'], start: '22:00', end: '02:00' }];
const NIGHTLY: MaintenanceWindow[] = [
  { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '02:00', end: '05:00' },
];

describe('the end of the maintenance window a run is in', () => {
  it('closes a cross-midnight window the next morning, seen from either side of midnight', () => {
    expect(windowEndAt(SAT_NIGHT, new Date('2026-12-05T23:10:00Z'))?.toISOString()).toBe(
      '2026-12-06T02:00:00.000Z',
    );
    expect(windowEndAt(SAT_NIGHT, new Date('2026-12-06T01:59:00Z'))?.toISOString()).toBe(
      '2026-12-06T02:00:00.000Z',
    );
  });

  it('is undefined outside every window, and the latest end where windows overlap', () => {
    expect(windowEndAt(NIGHTLY, new Date('2026-12-06T14:00:00Z'))).toBeUndefined();
    const both = [...NIGHTLY, { days: ['sun' as const], start: '01:00', end: '06:30' }];
    expect(windowEndAt(both, new Date('2026-12-06T03:00:00Z'))?.toISOString()).toBe(
      '2026-12-06T06:30:00.000Z',
    );
  });

  it('property: inside a window, its end is after now and within a day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 * 24 * 60 - 1 }), (minute) => {
        const now = new Date(Date.UTC(2026, 10, 30) + minute * 60_000);
        const end = windowEndAt(SAT_NIGHT, now);
        expect(end !== undefined).toBe(inMaintenanceWindow(SAT_NIGHT, now));
        if (end) {
          expect(end.getTime()).toBeGreaterThan(now.getTime());
          expect(end.getTime() - now.getTime()).toBeLessThanOrEqual(86_400_000);
        }
      }),
    );
  });
});

describe('the time a maintenance run has', () => {
  it('is what is left of the window when that is less than the function has', () => {
    let t = 1_000_000;
    const now = new Date('2026-12-06T01:59:00Z');
    const budget = maintenanceBudget(
      () => 14 * 60_000,
      windowEndAt(SAT_NIGHT, now),
      now,
      () => t,
    );
    expect(budget()).toBe(60_000);
    t += 45_000;
    expect(budget()).toBe(15_000);
  });

  it("is the function's time outside a window, or when the window outlasts it", () => {
    const fn = () => 14 * 60_000;
    expect(maintenanceBudget(fn, undefined, new Date())()).toBe(14 * 60_000);
    const now = new Date('2026-12-06T03:00:00Z');
    expect(maintenanceBudget(fn, windowEndAt(NIGHTLY, now), now)()).toBe(14 * 60_000);
  });
});
