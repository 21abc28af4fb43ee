/**
 * Walk-forward history: at minute t a policy sees observations of minutes 0 .. t-1 only.
 * The view is read-only and throws WalkForwardViolation when asked for minute t or later,
 * so a policy that peeks at the future fails its backtest loudly instead of scoring well.
 */
export class WalkForwardViolation extends Error {
  constructor(
    readonly requested: number,
    readonly now: number,
  ) {
    super(
      `walk-forward violation: minute ${requested} was requested at minute ${now} (only minutes < ${now} are visible)`,
    );
    this.name = 'WalkForwardViolation';
  }
}

export interface HistoryView<T> {
  /** Number of visible minutes (= the current minute t). */
  readonly length: number;
  /** Observation of minute m; throws for m >= t (the future) and for m < 0. */
  at(minute: number): T;
  /** Observations of minutes [from, to), oldest first; throws if to > t. */
  range(from: number, to: number): readonly T[];
  /** The last n visible observations (fewer at the start), oldest first. */
  last(n: number): readonly T[];
}

/** A view over `rows` (written by the harness as minutes complete) bounded at minute `now`. */
export function historyView<T>(rows: readonly T[], now: number): HistoryView<T> {
  const check = (minute: number): void => {
    if (!Number.isInteger(minute) || minute >= now) {
      throw new WalkForwardViolation(minute, now);
    }
    if (minute < 0) throw new RangeError(`minute ${minute} is before the start of the trace`);
  };
  const view: HistoryView<T> = {
    length: now,
    at(minute) {
      check(minute);
      const row = rows[minute];
      if (row === undefined) throw new WalkForwardViolation(minute, now);
      return row;
    },
    range(from, to) {
      if (to > now) throw new WalkForwardViolation(to - 1, now);
      const start = Math.max(0, from);
      return Object.freeze(rows.slice(start, Math.max(start, to)));
    },
    last(n) {
      return Object.freeze(rows.slice(Math.max(0, now - n), now));
    },
  };
  return Object.freeze(view);
}
