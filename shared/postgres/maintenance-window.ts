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

/**
 * When the window `now` is in closes: the latest end among the windows that contain `now` (a
 * cross-midnight window started today closes tomorrow), or undefined when `now` is in none.
 */
export function windowEndAt(windows: readonly MaintenanceWindow[], now: Date): Date | undefined {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  let latest: number | undefined;
  for (const w of windows) {
    if (!inMaintenanceWindow([w], now)) continue;
    const start = minutes(w.start);
    const end = minutes(w.end);
    const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
    // Crossing midnight and started today (the evening part): it closes tomorrow.
    const tomorrow = end <= start && minute >= start;
    const at = midnight + (tomorrow ? 86_400_000 : 0) + end * 60_000;
    latest = latest === undefined ? at : Math.max(latest, at);
  }
  return latest === undefined ? undefined : new Date(latest);
}

/**
 * The time a maintenance run has: the function's, and, inside a window, no more than is left of
 * the window, so no VACUUM or index build starts (or runs, through its statement_timeout) after
 * the window closes and into the hours the windows keep clear. Both count down from `now`.
 */
export function maintenanceBudget(
  functionLeft: () => number,
  windowEnd: Date | undefined,
  now: Date,
  nowMs: () => number = Date.now,
): () => number {
  if (!windowEnd) return functionLeft;
  const started = nowMs();
  const windowMs = windowEnd.getTime() - now.getTime();
  return () => Math.min(functionLeft(), windowMs - (nowMs() - started));
}

/** How a window-gated index build is described when outside every window. */
export function windowsText(windows: readonly MaintenanceWindow[]): string {
  if (windows.length === 0) return 'no maintenanceWindows configured';
  return windows.map((w) => `${w.days.join(',')} ${w.start}-${w.end} UTC`).join('; ');
}

/** The start of the next window after `now` (within a week), or undefined when none is configured. */
export function nextWindowStart(windows: readonly MaintenanceWindow[], now: Date): Date | undefined {
  let best: Date | undefined;
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let day = 0; day <= 7; day++) {
    const dayStart = midnight + day * 86_400_000;
    const name = DAYS[new Date(dayStart).getUTCDay()] ?? 'sun';
    for (const w of windows) {
      const start = new Date(dayStart + minutes(w.start) * 60_000);
      if (w.days.includes(name) && start > now && (!best || start < best)) best = start;
    }
  }
  return best;
}

export type WindowVerdict = { run: true; note?: string } | { run: false; reason: string; until?: string };

/**
 * Whether scheduled maintenance (VACUUM / ANALYZE, index builds) may run now. Pure.
 * - No window configured: the schedule is the window (it runs when scheduled).
 * - Inside a window: it runs.
 * - Outside every window: a scheduled run does nothing and says why; a manual run does too unless
 *   it says so explicitly (`"ignoreMaintenanceWindow": true`); a dry run plans (it changes nothing).
 */
export function maintenanceWindowVerdict(input: {
  windows: readonly MaintenanceWindow[];
  now: Date;
  trigger: string;
  dryRun: boolean;
  ignoreWindow: boolean;
}): WindowVerdict {
  const { windows, now } = input;
  if (windows.length === 0 || inMaintenanceWindow(windows, now)) return { run: true };
  const outside = `${now.toISOString().slice(11, 16)} UTC is outside the maintenance windows (${windowsText(windows)})`;
  if (input.dryRun) return { run: true, note: `${outside}: a dry run plans only` };
  if (input.trigger === 'manual' && input.ignoreWindow)
    return {
      run: true,
      note: `${outside}: run anyway, as the manual event says ("ignoreMaintenanceWindow": true)`,
    };
  const next = nextWindowStart(windows, now);
  const until = next?.toISOString();
  return {
    run: false,
    reason:
      input.trigger === 'manual'
        ? `${outside}: nothing done; a manual run outside them must say "ignoreMaintenanceWindow": true`
        : `${outside}: scheduled maintenance does nothing${until ? `; the next window opens at ${until}` : ''}`,
    ...(until ? { until } : {}),
  };
}
