/**
 * Walk-forward history as CloudWatch publishes it: at minute t a policy sees the minutes
 * published by then, 0 .. t-d-1 with d the publication delay (`publicationDelayMinutes`), and
 * the newest of them may still be partial (its row says `complete: false`). The view is
 * read-only and throws WalkForwardViolation when asked for minute t or later (the future) or
 * for a minute not yet published, so a policy that peeks fails its backtest loudly instead of
 * scoring well.
 */
export class WalkForwardViolation extends Error {
  constructor(
    readonly requested: number,
    readonly now: number,
    readonly published: number = now,
  ) {
    super(
      requested >= now || published === now
        ? `walk-forward violation: minute ${requested} was requested at minute ${now} (only minutes < ${now} are visible)`
        : `walk-forward violation: minute ${requested} is not published yet at minute ${now} (CloudWatch publication delay: only minutes < ${published} are visible)`,
    );
    this.name = 'WalkForwardViolation';
  }
}

/** A row as published: `complete` is false while CloudWatch still lacks part of the minute. */
export type Published<T> = T & { readonly complete: boolean };

export interface HistoryView<T> {
  /** Number of visible (published) minutes: t - delay (never below 0). */
  readonly length: number;
  /** The current minute t. */
  readonly minute: number;
  /** The publication delay d in minutes (minutes t-d .. t-1 are not visible yet). */
  readonly delay: number;
  /** Observation of minute m; throws for m >= t - d (the future, or not yet published) and for m < 0. */
  at(minute: number): T;
  /**
   * Observations of minutes [from, to), oldest first, cut at the newest published minute;
   * throws if to > t (the future).
   */
  range(from: number, to: number): readonly T[];
  /** The last n visible observations (fewer at the start), oldest first. */
  last(n: number): readonly T[];
}

export interface Publication<T> {
  /** Publication delay in minutes (default 0: every minute < t visible and complete). */
  delay?: number;
  /** The newest published minute as it shows while partial (applied only when delay > 0). */
  partial?: (row: T) => T;
}

/**
 * A view over `rows` (written by the harness as minutes complete) at minute `now`, bounded at
 * the published minutes (< now - delay).
 */
export function historyView<T>(
  rows: readonly T[],
  now: number,
  publication: Publication<T> = {},
): HistoryView<T> {
  const delay = Math.max(0, publication.delay ?? 0);
  const length = Math.max(0, Math.min(rows.length, now - delay));
  const newest = length - 1;
  let partialRow: T | undefined;
  const rowAt = (m: number): T => {
    const row = rows[m] as T;
    if (m !== newest || delay === 0 || !publication.partial) return row;
    partialRow ??= publication.partial(row);
    return partialRow;
  };
  const slice = (from: number, to: number): readonly T[] => {
    const start = Math.max(0, from);
    const end = Math.min(length, Math.max(start, to));
    const out = rows.slice(start, end) as T[];
    if (end - 1 === newest && end > start) out[out.length - 1] = rowAt(newest);
    return Object.freeze(out);
  };
  const view: HistoryView<T> = {
    length,
    minute: now,
    delay,
    at(minute) {
      if (!Number.isInteger(minute) || minute >= length) {
        throw new WalkForwardViolation(minute, now, length);
      }
      if (minute < 0) throw new RangeError(`minute ${minute} is before the start of the trace`);
      return rowAt(minute);
    },
    range(from, to) {
      if (to > now) throw new WalkForwardViolation(to - 1, now, length);
      return slice(from, to);
    },
    last(n) {
      return slice(length - n, length);
    },
  };
  return Object.freeze(view);
}
