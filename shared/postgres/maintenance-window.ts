import type { Config } from '../config/schema.ts';

/**
 * Whether `now` falls inside one of the configured maintenance windows (config
 * `maintenanceWindows`, times in UTC). Pure: time comes in as an argument.
 *
 * A window whose end is not after its start crosses midnight: `sat 22:00-02:00` covers Saturday
 * 22:00 to Sunday 02:00 (the day named is the day it starts). No window configured: never inside.
 */

export type MaintenanceWindow = Config['maintenanceWindows'][number];

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function minutes(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

export function inMaintenanceWindow(windows: readonly MaintenanceWindow[], now: Date): boolean {
  const today = DAYS[now.getUTCDay()] ?? 'sun';
  const yesterday = DAYS[(now.getUTCDay() + 6) % 7] ?? 'sat';
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  return windows.some((w) => {
    const start = minutes(w.start);
    const end = minutes(w.end);
    if (end > start) return w.days.includes(today) && minute >= start && minute < end;
    // Crosses midnight: the evening part belongs to today, the morning part to yesterday's window.
    return (w.days.includes(today) && minute >= start) || (w.days.includes(yesterday) && minute < end);
  });
}

/** How a window-gated index build is described when outside every window. */
export function windowsText(windows: readonly MaintenanceWindow[]): string {
  if (windows.length === 0) return 'no maintenanceWindows configured';
  return windows.map((w) => `${w.days.join(',')} ${w.start}-${w.end} UTC`).join('; ');
}
