/**
 * The storage-change ledger of one RDS instance, built from RDS's own state as well as
 * db-autopilot's records, so that changes made by storage autoscaling or by people count too
 * (aws-facts.md: "The wait between storage changes counts changes made by storage autoscaling
 * and by people too: read StorageOperationStatus / PendingModifiedValues and RDS events").
 *
 * Pure: the tuner gathers the inputs (DescribeDBInstances, DescribeEvents, the state table),
 * this module turns them into the rules an IOPS or storage-type change must obey.
 */

import {
  MODIFIABLE_STATUSES,
  nonStoragePending,
  STORAGE_CHANGE_DAY_MS,
  STORAGE_CHANGE_WAIT_MS,
  STORAGE_CHANGES_PER_DAY,
  storagePending,
} from '../aws/rds-storage-limits.ts';
import type { Decision, RuleCheck } from '../core/model.ts';

/** One RDS event as DescribeEvents returns it (only the fields the ledger reads). */
export interface RdsEventLike {
  date: string;
  message: string;
  categories?: string[];
}

/** The storage-related facts of DescribeDBInstances for one instance. */
export interface RdsStorageStatus {
  status: string;
  /** `Optimizing` / `Initializing` while a storage operation runs (DBInstance.StorageOperationStatus). */
  storageOperationStatus?: string;
  /** DBInstance.StorageOperationPercentProgress (or the older PercentProgress string). */
  percentProgress?: number;
  pendingModifiedValues?: Record<string, unknown>;
}

export interface StorageChange {
  at: string;
  source: 'db-autopilot' | 'rds-event';
  detail: string;
}

export interface StorageLedger {
  /** Storage changes, newest first, deduplicated (our own change also shows up as an RDS event). */
  changes: StorageChange[];
  optimizing: boolean;
  percentProgress?: number;
  /** When the running optimization started ("Storage optimization started" event), if listed. */
  optimizingSince?: string;
  /** Minutes past optimizations took, newest first ("started" to "completed" events). */
  optimizationMinutes: number[];
  status: string;
  pendingStorage: string[];
  /**
   * Pending storage values db-autopilot did not set (a person queued them for the maintenance
   * window, e.g. io1 -> io2): ApplyImmediately would apply them now (aws-facts.md, "Learned from
   * review"), so a storage change defers while any is listed. Each as `Field=value`.
   */
  pendingForeign: string[];
  pendingOther: string[];
}

const OPT_STARTED = /storage optimization (started|starting)/i;
const OPT_DONE = /storage optimization (completed|finished|complete)/i;

/**
 * Optimization times from RDS events: each "Storage optimization completed" paired with the
 * latest "started" before it (RDS User Guide, USER_Events.Messages: RDS-EVENT-0177/0178 storage
 * optimization notices), newest first; and the start of one still running.
 */
export function optimizationHistory(events: RdsEventLike[]): { minutes: number[]; runningSince?: string } {
  const sorted = [...events]
    .filter((e) => !Number.isNaN(Date.parse(e.date)))
    .sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
  const minutes: number[] = [];
  let start: string | undefined;
  for (const e of sorted) {
    if (OPT_STARTED.test(e.message)) start = e.date;
    else if (OPT_DONE.test(e.message) && start !== undefined) {
      minutes.push((Date.parse(e.date) - Date.parse(start)) / 60_000);
      start = undefined;
    }
  }
  return { minutes: minutes.reverse(), runningSince: start };
}

/**
 * The pending storage values db-autopilot did not ask for: `Iops` other than the target of its
 * last applied change, a `StorageType` other than the one its last change set, and a pending
 * `AllocatedStorage` / `StorageThroughput` unless they ride with its own pending IOPS (an IOPS
 * change sends the size and gp3 throughput with it).
 */
export function foreignPending(
  pending: Record<string, unknown> | undefined,
  decisions: Decision[],
): string[] {
  const fields = storagePending(pending);
  if (fields.length === 0) return [];
  const own = decisions
    .filter(
      (d) =>
        d.outcome === 'applied' && !d.dryRun && (d.action === 'set-iops' || d.action === 'set-storage-type'),
    )
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0];
  const ownIops = own?.action === 'set-iops' ? own.to : undefined;
  const ownType =
    own?.action === 'set-storage-type'
      ? (own.to as { storageType?: unknown } | null)?.storageType
      : undefined;
  const iopsOurs = pending?.Iops !== undefined && pending.Iops === ownIops;
  const ours = (field: string): boolean => {
    const value = pending?.[field];
    if (field === 'Iops') return iopsOurs;
    if (field === 'StorageType') return ownType !== undefined && value === ownType;
    return iopsOurs || ownType !== undefined;
  };
  return fields.filter((f) => !ours(f)).map((f) => `${f}=${JSON.stringify(pending?.[f])}`);
}

/**
 * RDS events that mark a storage modification. DescribeEvents returns no event id, only the
 * message, so the message is matched (RDS User Guide, USER_Events.Messages: "Applying
 * modification to allocated storage", "Applying autoscaling-initiated modification to allocated
 * storage" (RDS-EVENT-0217) and their "Finished applying ..." (RDS-EVENT-0218) counterparts).
 * "Storage optimization started/completed" and storage-full warnings are not changes.
 */
const STORAGE_WORDS =
  /(allocated storage|storage type|provisioned iops|\biops\b|storage throughput|storage size)/i;
const APPLYING = /^\s*applying\b.*modification/i;
const FINISHED = /^\s*finished applying\b.*modification/i;

export function isStorageChangeEvent(event: RdsEventLike): boolean {
  return STORAGE_WORDS.test(event.message) && (APPLYING.test(event.message) || FINISHED.test(event.message));
}

/**
 * Whether the ledger reads this event at all: a storage change, or the start or end of a storage
 * optimization. The ledger built from these events alone is the ledger built from every event (a
 * cache of an instance's events keeps only these: shared/tuners/iops-describe-cache.ts).
 */
export function isLedgerEvent(event: RdsEventLike): boolean {
  return isStorageChangeEvent(event) || OPT_STARTED.test(event.message) || OPT_DONE.test(event.message);
}

/** Two records closer than this describe the same change (our record and RDS's "Applying" event). */
const SAME_CHANGE_MS = 5 * 60 * 1000;
/** A "Finished applying" event is the end of a change whose "Applying" event came at most this long before. */
const MODIFY_SPAN_MS = 6 * 60 * 60 * 1000;

/** One change per modification: its "Applying" event, or the "Finished" one when the start is not listed. */
function changesFromEvents(events: RdsEventLike[]): StorageChange[] {
  const storage = events.filter(isStorageChangeEvent);
  const starts = storage.filter((e) => APPLYING.test(e.message)).map((e) => Date.parse(e.date));
  return storage
    .filter((e) => {
      if (APPLYING.test(e.message)) return true;
      const end = Date.parse(e.date);
      return !starts.some((s) => s <= end && end - s <= MODIFY_SPAN_MS);
    })
    .map((e) => ({ at: e.date, source: 'rds-event' as const, detail: e.message }));
}

export function buildStorageLedger(input: {
  instance: RdsStorageStatus;
  events: RdsEventLike[];
  /** db-autopilot's recorded decisions for this instance (any tuner). */
  decisions: Decision[];
}): StorageLedger {
  // Every applied storage change counts, whatever the tuner's mode: a manual run with
  // `override: true` applies changes while the tuner is in observe mode (mode 'observe', override
  // true), and that change locks storage for 6 h like any other (aws-facts.md, RDS storage).
  // A mutating action is only ever `applied` when ModifyDBInstance accepted it.
  const own: StorageChange[] = input.decisions
    .filter(
      (d) =>
        d.outcome === 'applied' && (d.action === 'set-iops' || d.action === 'set-storage-type') && !d.dryRun,
    )
    .map((d) => ({ at: d.at, source: 'db-autopilot' as const, detail: `${d.action} ${String(d.to)}` }));
  const fromEvents = changesFromEvents(input.events);
  const all = [...own, ...fromEvents].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  const changes: StorageChange[] = [];
  for (const change of all) {
    const t = Date.parse(change.at);
    if (Number.isNaN(t)) continue;
    const dup = changes.some((c) => Math.abs(Date.parse(c.at) - t) < SAME_CHANGE_MS);
    if (!dup) changes.push(change);
  }
  const op = input.instance.storageOperationStatus?.toLowerCase();
  const optimizing =
    input.instance.status === 'storage-optimization' || op === 'optimizing' || op === 'initializing';
  const opt = optimizationHistory(input.events);
  return {
    changes,
    optimizing,
    percentProgress: input.instance.percentProgress,
    optimizingSince: optimizing ? opt.runningSince : undefined,
    optimizationMinutes: opt.minutes,
    status: input.instance.status,
    pendingStorage: storagePending(input.instance.pendingModifiedValues),
    pendingForeign: foreignPending(input.instance.pendingModifiedValues, input.decisions),
    pendingOther: nonStoragePending(input.instance.pendingModifiedValues),
  };
}

/** How long to wait before looking again at a state whose end AWS does not announce. */
export const RECHECK_MS = 30 * 60 * 1000;

/**
 * The AWS rules a storage change (IOPS, throughput, size, type) must pass now, as RuleChecks the
 * executor enforces. Every `defer` carries the time it can be retried.
 */
export function storageChangeRules(ledger: StorageLedger, now: Date): RuleCheck[] {
  const t = now.getTime();
  const iso = (ms: number) => new Date(ms).toISOString();
  const rules: RuleCheck[] = [];

  // Only `available` (or `storage-full`) instances accept a storage change (aws-facts.md, statuses).
  if (!MODIFIABLE_STATUSES.includes(ledger.status)) {
    rules.push({
      rule: 'aws:rds-status',
      verdict: 'defer',
      reason: `instance is "${ledger.status}", not available`,
      until: iso(t + RECHECK_MS),
    });
  } else {
    rules.push({ rule: 'aws:rds-status', verdict: 'ok' });
  }

  const last = ledger.changes[0];
  const lastAt = last ? Date.parse(last.at) : undefined;
  // "6 hours or until storage-optimization ends, whichever is longer" (aws-facts.md, RDS storage).
  if (ledger.optimizing) {
    const sixHours = lastAt !== undefined ? lastAt + STORAGE_CHANGE_WAIT_MS : 0;
    const progress = ledger.percentProgress !== undefined ? ` (${ledger.percentProgress}% done)` : '';
    rules.push({
      rule: 'aws:storage-optimization',
      verdict: 'defer',
      reason: `a previous storage change is still being optimized${progress}`,
      until: iso(Math.max(t + RECHECK_MS, sixHours)),
    });
  } else {
    rules.push({ rule: 'aws:storage-optimization', verdict: 'ok' });
  }

  if (lastAt !== undefined && t < lastAt + STORAGE_CHANGE_WAIT_MS) {
    rules.push({
      rule: 'aws:storage-wait-6h',
      verdict: 'defer',
      reason: `last storage change at ${last?.at} (${last?.source}); 6 h must pass between storage changes`,
      until: iso(lastAt + STORAGE_CHANGE_WAIT_MS),
    });
  } else {
    rules.push({ rule: 'aws:storage-wait-6h', verdict: 'ok' });
  }

  // "at most 4 storage changes in any 24 hours" (aws-facts.md, current RDS User Guide wording).
  const inDay = ledger.changes.filter((c) => t - Date.parse(c.at) < STORAGE_CHANGE_DAY_MS);
  if (inDay.length >= STORAGE_CHANGES_PER_DAY) {
    const oldestCounted = inDay[STORAGE_CHANGES_PER_DAY - 1];
    const until = oldestCounted ? Date.parse(oldestCounted.at) + STORAGE_CHANGE_DAY_MS : t + RECHECK_MS;
    rules.push({
      rule: 'aws:storage-4-per-24h',
      verdict: 'defer',
      reason: `${inDay.length} storage changes in the last 24 h (at most ${STORAGE_CHANGES_PER_DAY})`,
      until: iso(until),
    });
  } else {
    rules.push({ rule: 'aws:storage-4-per-24h', verdict: 'ok' });
  }

  // ApplyImmediately=true would also apply a storage value a person queued for the maintenance
  // window (e.g. io1 -> io2) now: aws-facts.md, "Learned from review".
  if (ledger.pendingForeign.length > 0) {
    rules.push({
      rule: 'aws:pending-storage-not-ours',
      verdict: 'defer',
      reason: `PendingModifiedValues holds ${ledger.pendingForeign.join(', ')}, not set by db-autopilot: ApplyImmediately would apply it now`,
      until: iso(t + RECHECK_MS),
    });
  } else {
    rules.push({ rule: 'aws:pending-storage-not-ours', verdict: 'ok' });
  }

  // ApplyImmediately=true would also apply these now (a queued class change reboots): aws-facts.md.
  if (ledger.pendingOther.length > 0) {
    rules.push({
      rule: 'aws:pending-non-storage',
      verdict: 'defer',
      reason: `PendingModifiedValues holds ${ledger.pendingOther.join(', ')}: ApplyImmediately would apply it too`,
      until: iso(t + RECHECK_MS),
    });
  } else {
    rules.push({ rule: 'aws:pending-non-storage', verdict: 'ok' });
  }
  return rules;
}

/** The earliest time all deferring rules allow a change, or undefined when none defers. */
export function deferredUntil(rules: RuleCheck[]): string | undefined {
  const times = rules
    .filter((r) => r.verdict === 'defer' && r.until)
    .map((r) => Date.parse(r.until ?? ''))
    .filter((n) => !Number.isNaN(n));
  if (times.length === 0) return undefined;
  return new Date(Math.max(...times)).toISOString();
}
