import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  inMaintenanceWindow,
  type MaintenanceWindow,
  maintenanceWindowVerdict,
  nextWindowStart,
} from '../../../shared/postgres/maintenance-window.ts';

const NIGHTLY: MaintenanceWindow[] = [
  { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '02:00', end: '05:00' },
];
const inside = new Date('2026-11-23T03:00:00Z');
const outside = new Date('2026-11-23T14:30:00Z');
const base = { windows: NIGHTLY, trigger: 'schedule', dryRun: false, ignoreWindow: false };

describe('maintenance windows enforced for scheduled maintenance', () => {
  it('lets a scheduled run work inside a window', () => {
    expect(maintenanceWindowVerdict({ ...base, now: inside })).toEqual({ run: true });
  });

  it('stops a scheduled run outside every window, says why and when the next window opens', () => {
    expect(maintenanceWindowVerdict({ ...base, now: outside })).toEqual({
      run: false,
      reason:
        '14:30 UTC is outside the maintenance windows (mon,tue,wed,thu,fri,sat,sun 02:00-05:00 UTC): scheduled maintenance does nothing; the next window opens at 2026-11-24T02:00:00.000Z',
      until: '2026-11-24T02:00:00.000Z',
    });
  });

  it('lets a manual run outside the windows act only when it says so explicitly', () => {
    const manual = { ...base, now: outside, trigger: 'manual' };
    const refused = maintenanceWindowVerdict(manual);
    expect(refused.run).toBe(false);
    expect(!refused.run && refused.reason).toContain('must say "ignoreMaintenanceWindow": true');
    expect(maintenanceWindowVerdict({ ...manual, ignoreWindow: true })).toMatchObject({ run: true });
    // The flag on a scheduled event changes nothing (EventBridge sends no such field anyway).
    expect(maintenanceWindowVerdict({ ...base, now: outside, ignoreWindow: true }).run).toBe(false);
  });

  it('lets a dry run plan outside the windows, and runs on schedule when no window is configured', () => {
    expect(maintenanceWindowVerdict({ ...base, now: outside, dryRun: true })).toMatchObject({ run: true });
    expect(maintenanceWindowVerdict({ ...base, windows: [], now: outside })).toEqual({ run: true });
  });

  it('never lets a real scheduled run work outside a window (property)', () => {
    const hhmm = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    const window = fc.record({
      days: fc.uniqueArray(fc.constantFrom('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun' as const), {
        minLength: 1,
      }),
      start: hhmm,
      end: hhmm,
    });
    fc.assert(
      fc.property(
        fc.array(window, { minLength: 1, maxLength: 3 }),
        fc.date({ min: new Date('2026-01-01'), max: new Date('2027-01-01'), noInvalidDate: true }),
        (windows, now) => {
          const v = maintenanceWindowVerdict({ ...base, windows, now });
          expect(v.run).toBe(inMaintenanceWindow(windows, now));
          const next = nextWindowStart(windows, now);
          if (next) expect(next.getTime()).toBeGreaterThan(now.getTime());
        },
      ),
      { numRuns: 300 },
    );
  });
});
