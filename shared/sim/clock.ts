import type { Clock } from '../core/clock.ts';

/** The simulated account's clock: time moves only when the simulation advances it. */
export class VirtualClock implements Clock {
  private ms: number;

  constructor(start: Date | string | number) {
    this.ms = typeof start === 'number' ? start : new Date(start).getTime();
    if (!Number.isFinite(this.ms)) throw new Error(`VirtualClock: invalid start time ${String(start)}`);
  }

  now(): Date {
    return new Date(this.ms);
  }

  nowMs(): number {
    return this.ms;
  }

  /** Only the engine moves the clock (SimAccount.advance runs the timers due on the way). */
  set(ms: number): void {
    if (ms < this.ms) throw new Error('VirtualClock: time never goes backwards');
    this.ms = ms;
  }
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

/** UTC day key (YYYY-MM-DD) of a time, as DynamoDB counts its daily decrease budget. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
