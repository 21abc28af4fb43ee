import type { Decision, TunerName } from '../core/model.ts';

/** Key builders and expiry arithmetic shared by the DynamoDB and in-memory stores (same semantics). */

export const keys = {
  decision: (id: string) => ({ pk: `decision#${id}`, sk: 'decision' }),
  resource: (tuner: TunerName, resourceId: string) => `res#${tuner}#${resourceId}`,
  day: (iso: string) => `day#${new Date(iso).toISOString().slice(0, 10)}`,
  lock: (resourceId: string) => ({ pk: `lock#${resourceId}`, sk: 'lock' }),
  idempotency: (key: string) => ({ pk: `idem#${key}`, sk: 'idem' }),
  created: (resourceId: string) => ({ pk: `created#${resourceId}`, sk: 'created' }),
} as const;

export { countsAsChange } from '../core/guards.ts';

/** Newest decisions returned as a resource's history. */
export const RECENT_DECISIONS = 20;

export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** TTL value (epoch seconds) `seconds` after `now`, rounded up so a lease is never shorter than asked. */
export function expiresAfter(now: Date, seconds: number): number {
  return Math.ceil((now.getTime() + seconds * 1000) / 1000);
}

/** The end of a drift back-off of `minutes` from `now` (both stores and the drift check use it). */
export function backoffUntil(now: Date, minutes: number): Date {
  return new Date(now.getTime() + minutes * 60_000);
}

/** An item whose TTL has passed counts as gone, whether or not DynamoDB has deleted it yet. */
export function isExpired(expiresAt: number | undefined, now: Date): boolean {
  return expiresAt !== undefined && expiresAt <= epochSeconds(now);
}

/** Every UTC day (YYYY-MM-DD) from since to until inclusive, for the byDay index. */
export function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  const from = Date.parse(since);
  const end = Date.parse(until);
  if (Number.isNaN(from) || Number.isNaN(end)) throw new RangeError(`invalid time window ${since}..${until}`);
  // UTC days, whatever offset the caller wrote the window in.
  const start = Date.parse(`${new Date(from).toISOString().slice(0, 10)}T00:00:00.000Z`);
  for (let t = start; t <= end; t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** since inclusive, until exclusive, compared as times. */
export function inWindow(decision: Decision, since: string, until: string | undefined): boolean {
  const at = Date.parse(decision.at);
  return at >= Date.parse(since) && (until === undefined || at < Date.parse(until));
}

export function byTimeThenId(a: Decision, b: Decision): number {
  return Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
