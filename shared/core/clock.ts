/**
 * The one place the application reads time. Lambda uses the system clock; the simulated
 * account and backtests install a virtual clock. Policies never call this: time is an argument.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

let current: Clock = systemClock;

export function clock(): Clock {
  return current;
}

export function nowIso(): string {
  return current.now().toISOString();
}

/** Install a clock (simulator, backtest, tests). Returns a function that restores the previous one. */
export function useClock(c: Clock): () => void {
  const previous = current;
  current = c;
  return () => {
    current = previous;
  };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
