/**
 * The DynamoDB provisioned-capacity decrease budget, counted exactly as AWS counts it.
 *
 * Source: DynamoDB Developer Guide, "Service, account, and table quotas" (aws-facts.md,
 * DynamoDB provisioned capacity): up to 4 decreases at any time in a UTC day; after those,
 * one more whenever there was no decrease in the preceding hour (at most 27 a day).
 * Lowering read and write in one UpdateTable counts as one decrease. The table and each GSI
 * have separate budgets, read from DescribeTable's NumberOfDecreasesToday and
 * LastDecreaseDateTime.
 *
 * Pure: `now` is an argument.
 */

export const FREE_DECREASES_PER_DAY = 4;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const MAX_DECREASES_PER_DAY = 27;

export interface DecreaseLedger {
  /** DescribeTable ProvisionedThroughput.NumberOfDecreasesToday (table or GSI). */
  numberOfDecreasesToday: number;
  /** DescribeTable ProvisionedThroughput.LastDecreaseDateTime (ISO), if any. */
  lastDecreaseAt?: string;
}

export interface DecreaseAllowance {
  /** A decrease is accepted now. */
  allowedNow: boolean;
  /** The earliest time a decrease is accepted (now when allowedNow). */
  nextSlotAt: string;
  /** Decreases already made today (UTC), as AWS counts them. */
  usedToday: number;
  /** Decreases still possible before the UTC day ends, if spent as early as allowed (including now). */
  remainingToday: number;
}

export function utcDayStart(t: number): number {
  return Math.floor(t / DAY_MS) * DAY_MS;
}

/** LastDecreaseDateTime in ms (NaN when there is none or it does not parse). */
function lastDecreaseMs(ledger: DecreaseLedger): number {
  return ledger.lastDecreaseAt ? Date.parse(ledger.lastDecreaseAt) : Number.NaN;
}

/** The count AWS applies now: NumberOfDecreasesToday resets at 00:00 UTC. */
export function decreasesToday(ledger: DecreaseLedger, now: Date): number {
  const last = lastDecreaseMs(ledger);
  if (Number.isFinite(last) && utcDayStart(last) < utcDayStart(now.getTime())) return 0;
  return Math.max(0, ledger.numberOfDecreasesToday);
}

/** Number of k >= 1 with start + k hours strictly before end. */
function hourlySlotsAfter(start: number, end: number): number {
  if (start >= end) return 0;
  return Math.max(0, Math.ceil((end - start) / HOUR_MS) - 1);
}

export function decreaseAllowance(ledger: DecreaseLedger, now: Date): DecreaseAllowance {
  const t = now.getTime();
  const dayEnd = utcDayStart(t) + DAY_MS;
  const used = decreasesToday(ledger, now);
  const last = lastDecreaseMs(ledger);
  if (used < FREE_DECREASES_PER_DAY) {
    const free = FREE_DECREASES_PER_DAY - used;
    // Spend the free ones now; the next one needs an hour without a decrease.
    return {
      allowedNow: true,
      nextSlotAt: now.toISOString(),
      usedToday: used,
      remainingToday: free + hourlySlotsAfter(t, dayEnd),
    };
  }
  const hourAfterLast = Number.isFinite(last) ? last + HOUR_MS : t;
  const slot = Math.max(t, hourAfterLast);
  if (slot >= dayEnd) {
    // Next day: the count resets at midnight, so a decrease is possible at 00:00 UTC.
    return {
      allowedNow: false,
      nextSlotAt: new Date(dayEnd).toISOString(),
      usedToday: used,
      remainingToday: 0,
    };
  }
  return {
    allowedNow: slot <= t,
    nextSlotAt: new Date(slot).toISOString(),
    usedToday: used,
    remainingToday: 1 + hourlySlotsAfter(slot, dayEnd),
  };
}

/**
 * Whether the policy may spend a decrease now while keeping a reserve: of the four decreases
 * AWS allows back to back, `reserve` are kept for a later spike (so capacity can follow it back
 * down quickly). Below the reserve the policy paces itself like AWS's hourly slots: one decrease
 * only when the last was at least an hour ago. Hourly slots after the free four renew every hour,
 * so they are spent whenever AWS allows.
 */
export function maySpendDecrease(ledger: DecreaseLedger, now: Date, reserve: number): boolean {
  const a = decreaseAllowance(ledger, now);
  if (!a.allowedNow) return false;
  if (a.usedToday >= FREE_DECREASES_PER_DAY) return true;
  const freeLeftAfter = FREE_DECREASES_PER_DAY - a.usedToday - 1;
  if (freeLeftAfter >= Math.min(reserve, FREE_DECREASES_PER_DAY)) return true;
  const last = lastDecreaseMs(ledger);
  if (!Number.isFinite(last) || a.usedToday === 0) return true;
  return now.getTime() - last >= HOUR_MS;
}

/** The ledger after one decrease at `now` (what DescribeTable would show next). */
export function afterDecrease(ledger: DecreaseLedger, now: Date): DecreaseLedger {
  return { numberOfDecreasesToday: decreasesToday(ledger, now) + 1, lastDecreaseAt: now.toISOString() };
}

/**
 * Checks a sequence of decrease times against AWS's rule (for tests and the simulator):
 * returns the index of the first decrease AWS would reject, or -1.
 */
export function firstRejectedDecrease(times: readonly string[], start: DecreaseLedger): number {
  let ledger = start;
  for (let i = 0; i < times.length; i++) {
    const at = new Date(times[i] ?? '');
    if (!decreaseAllowance(ledger, at).allowedNow) return i;
    ledger = afterDecrease(ledger, at);
  }
  return -1;
}
