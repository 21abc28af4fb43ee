/**
 * What the IOPS tuner keeps between runs of what RDS told it, so that it does not ask RDS the same
 * two questions for every instance every 5 minutes (both calls share the account's RDS API rate
 * limit with everything else in it):
 *
 * - DescribeEvents: the ledger's events of the instance (storage changes by db-autopilot,
 *   autoscaling or people; storage optimizations) of the last EVENTS_LOOKBACK_MS. Kept with the
 *   time they were read `through`. Each run reads the events of every instance of the account in
 *   one DescribeEvents over the last ACCOUNT_WINDOW_MS (shared/adapters/rds-iops.ts,
 *   describeAccountEvents) and merges the instance's into its copy; the copy is used only when that
 *   window reaches LATE_EVENT_MARGIN_MS before its `through` (an event RDS lists late, up to that
 *   margin after its date, is still found), and only for fullReadEvery(id) (FULL_READ_MS at most)
 *   after the last read of the instance's own events: else the instance's events are read on their
 *   own, as before. That interval is a little shorter for some instances than for others, so that
 *   a fleet first seen in one run is not read in full again all in one run each day.
 * - DescribeValidDBInstanceModifications: the valid storage options, kept with a key of what they
 *   depend on (class, engine and version, storage type, size, IOPS, throughput, Multi-AZ, pending
 *   storage values) and re-read when the key changes or after VALID_MAX_AGE_MS. A stale copy only
 *   shapes the plan: the adapter reads them again right before ModifyDBInstance.
 *
 * The copy lives in the instance's tuner state (part `describe`), which getHistory already reads
 * (no extra state read); it is written only when it changes or its `through` is older than
 * REFRESH_MS. Read back through zod: a malformed copy is ignored and read again, never trusted.
 */
import type { DBInstance } from '@aws-sdk/client-rds';
import { z } from 'zod';
import type { ValidStorageOption } from '../policies/iops-bounds.ts';
import { isLedgerEvent, type RdsEventLike } from '../policies/iops-ledger.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** RDS events are read this far back: the 24 h change window, and past optimizations to learn from. */
export const EVENTS_LOOKBACK_MS = 7 * 24 * HOUR;
/** The account-wide DescribeEvents of each run covers this much time back from the run. */
export const ACCOUNT_WINDOW_MS = 3 * HOUR;
/** An event may be listed this long after its date and still be found (the read overlaps by it). */
export const LATE_EVENT_MARGIN_MS = HOUR;
/** A copy whose `through` is older than this is written again (runs every 5 min keep it covered). */
export const REFRESH_MS = HOUR;
/** The instance's own events are read in full at least this often, whatever the copy says. */
export const FULL_READ_MS = 24 * HOUR;
/** Per instance, the full read comes up to this much sooner (in SPREAD_STEP_MS steps). */
export const FULL_READ_SPREAD_MS = 2 * HOUR;
const SPREAD_STEP_MS = 5 * MINUTE;
/** Valid storage options are read again after this long even when nothing they depend on changed. */
export const VALID_MAX_AGE_MS = 6 * HOUR;
/** A copy with more ledger events than this is not kept (the instance is read on its own). */
const MAX_CACHED_EVENTS = 500;

/** The tuner-state part the copy is stored in. */
export const DESCRIBE_CACHE_PART = 'describe';

const iso = z.string().datetime({ offset: true });
const range = z.object({ from: z.number().finite().optional(), to: z.number().finite().optional() }).strict();
const validOption = z
  .object({
    storageType: z.string(),
    storageSize: z.array(range).max(20),
    provisionedIops: z.array(range).max(20),
    iopsToStorageRatio: z.array(range).max(20),
  })
  .strict();
const cacheSchema = z
  .object({
    v: z.literal(1),
    events: z
      .object({
        through: iso,
        fullAt: iso,
        items: z
          .array(z.object({ date: iso, message: z.string().max(2_000) }).strict())
          .max(MAX_CACHED_EVENTS),
      })
      .strict()
      .optional(),
    valid: z
      .object({ key: z.string(), at: iso, options: z.array(validOption).max(16) })
      .strict()
      .optional(),
  })
  .strict();

export type DescribeCache = z.infer<typeof cacheSchema>;

/**
 * The copy kept in the instance's tuner state, or undefined (none yet, or malformed: then the
 * note says so and everything is read again from RDS).
 */
export function readDescribeCache(
  tunerState: Record<string, unknown> | undefined,
  id: string,
  notes: string[],
): DescribeCache | undefined {
  const raw = tunerState?.[DESCRIBE_CACHE_PART];
  if (raw === undefined) return undefined;
  const parsed = cacheSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${DESCRIBE_CACHE_PART}.${i.path.join('.')}: ${i.message}`)
    .join('; ');
  notes.push(`${id}: the kept copy of RDS's answers is malformed (${where}); ignored and read again`);
  return undefined;
}

/** What DescribeValidDBInstanceModifications' answer depends on, as one string. */
export function validStorageKey(inst: DBInstance): string {
  const p = inst.PendingModifiedValues;
  return JSON.stringify([
    inst.DBInstanceClass,
    inst.Engine,
    inst.EngineVersion,
    inst.StorageType,
    inst.AllocatedStorage,
    inst.Iops,
    inst.StorageThroughput,
    inst.MultiAZ,
    p?.DBInstanceClass,
    p?.StorageType,
    p?.AllocatedStorage,
    p?.Iops,
    p?.StorageThroughput,
    p?.MultiAZ,
    p?.EngineVersion,
  ]);
}

/** The kept valid storage options, when their key matches and they are recent enough. */
export function cachedValidStorage(
  cache: DescribeCache | undefined,
  key: string,
  now: Date,
): ValidStorageOption[] | undefined {
  const valid = cache?.valid;
  if (!valid || valid.key !== key) return undefined;
  const age = now.getTime() - Date.parse(valid.at);
  return age >= 0 && age < VALID_MAX_AGE_MS ? valid.options : undefined;
}

/**
 * Whether the account-wide read of this run (which covers [now - ACCOUNT_WINDOW_MS, now]) plus
 * the kept copy is every ledger event of the instance: the copy reaches to `through`, the read
 * starts at least LATE_EVENT_MARGIN_MS before it, and the instance's own events were read in full
 * within `fullReadMs` (the instance's fullReadEvery, FULL_READ_MS at most).
 */
export function copyCovers(
  cache: DescribeCache | undefined,
  now: Date,
  fullReadMs: number = FULL_READ_MS,
): boolean {
  const events = cache?.events;
  if (!events) return false;
  const t = now.getTime();
  const through = Date.parse(events.through);
  const fullAt = Date.parse(events.fullAt);
  return (
    through <= t &&
    fullAt <= through &&
    through - LATE_EVENT_MARGIN_MS >= t - ACCOUNT_WINDOW_MS &&
    t - fullAt < Math.min(fullReadMs, FULL_READ_MS)
  );
}

/**
 * How often the instance's own events are read in full: FULL_READ_MS less a fixed share of
 * FULL_READ_SPREAD_MS that depends only on its id (FNV-1a), so that instances first read in the
 * same run (every instance, on the tuner's first run) are read again spread over that time, a
 * twenty-fourth of them per 5-minute run, instead of all of them in one run every day. Never
 * longer than FULL_READ_MS: the copy is only ever checked sooner.
 */
export function fullReadEvery(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  const steps = FULL_READ_SPREAD_MS / SPREAD_STEP_MS;
  return FULL_READ_MS - ((h >>> 0) % steps) * SPREAD_STEP_MS;
}

/**
 * The ledger's events of the instance in [now - EVENTS_LOOKBACK_MS, now], oldest first, from the
 * kept ones and the freshly read ones (an event in both counted once: same date and message).
 */
export function mergeEvents(kept: RdsEventLike[], fresh: RdsEventLike[], now: Date): RdsEventLike[] {
  const t = now.getTime();
  const seen = new Set<string>();
  const out: RdsEventLike[] = [];
  for (const e of [...kept, ...fresh]) {
    const at = Date.parse(e.date);
    if (Number.isNaN(at) || at < t - EVENTS_LOOKBACK_MS || at > t || !isLedgerEvent(e)) continue;
    const k = `${at}\u0000${e.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ date: new Date(at).toISOString(), message: e.message });
  }
  // Stable: events of the same instant keep the order RDS listed them in.
  return out.sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
}

/** The copy to write after this run, or undefined when the kept one is still good enough. */
export function nextDescribeCache(
  kept: DescribeCache | undefined,
  now: Date,
  read: {
    /** The instance's ledger events as of now, and whether they came from a full read (absent: not read). */
    events?: { items: RdsEventLike[]; full: boolean };
    valid?: { key: string; options: ValidStorageOption[]; fresh: boolean };
  },
): DescribeCache | undefined {
  const t = now.toISOString();
  // What was not read this run (RDS failed) stays as it was kept.
  const events = read.events
    ? {
        through: t,
        fullAt: read.events.full ? t : (kept?.events?.fullAt ?? t),
        items: read.events.items.map((e) => ({ date: e.date, message: e.message })),
      }
    : kept?.events;
  const valid = read.valid
    ? { key: read.valid.key, at: read.valid.fresh ? t : (kept?.valid?.at ?? t), options: read.valid.options }
    : kept?.valid;
  const next: DescribeCache = {
    v: 1,
    ...(events && events.items.length <= MAX_CACHED_EVENTS ? { events } : {}),
    ...(valid ? { valid } : {}),
  };
  return changed(kept, next, now) ? next : undefined;
}

function changed(kept: DescribeCache | undefined, next: DescribeCache, now: Date): boolean {
  if (!kept) return true;
  const a = kept.events;
  const b = next.events;
  if (!a !== !b) return true;
  if (a && b && a !== b) {
    if (a.fullAt !== b.fullAt) return true;
    if (now.getTime() - Date.parse(a.through) >= REFRESH_MS) return true;
    if (JSON.stringify(a.items) !== JSON.stringify(b.items)) return true;
  }
  if (!kept.valid !== !next.valid) return true;
  return kept.valid?.key !== next.valid?.key || kept.valid?.at !== next.valid?.at;
}
