/**
 * Step 4 of the capacity decision: constrain the stabilized recommendations by floors, the
 * configured bounds and AWS's rules (like Kubernetes HPA's normalizeDesiredReplicasWithBehaviors):
 * - floors (pre-warming, alarm lift, scalable-target minimum) raise, never lower, within bounds;
 * - per table 40,000 RCU / WCU GSIs included, 80,000 per account (DescribeLimits): increases that
 *   do not fit are scaled back proportionally (aws-facts.md, DynamoDB provisioned capacity);
 * - never an increase and a decrease in one UpdateTable (dynamic-dynamodb #103): each resource's
 *   change is split into an increase and a decrease that starts from the post-increase capacity;
 * - decreases: AWS's budget (dynamodb-decrease-budget.ts) and the day's plan against the learned
 *   demand shape (dynamodb-decrease-plan.ts) decide whether a decrease is spent now or deferred;
 *   before a shape is learned (less than MIN_SHAPE_HOURS of history), the configured reserve.
 *
 * Pure.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import { type DecreaseLedger, decreaseAllowance, maySpendDecrease } from './dynamodb-decrease-budget.ts';
import { type PricedShape, planDecrease, reconsiderAt } from './dynamodb-decrease-plan.ts';
import {
  type CapacityFloor,
  type CapacityPair,
  type CapacityResourceObservation,
  DIMS,
  resourceKey,
  type TableObservation,
} from './dynamodb-observation.ts';

/** Raises each proposal to its floors (never lowers); returns the floors that raised something. */
export function applyFloors(
  floors: readonly CapacityFloor[],
  proposed: Map<string, CapacityPair>,
  config: Pick<DynamodbConfig, 'minCapacity' | 'maxCapacity'>,
): Map<string, CapacityFloor[]> {
  const applied = new Map<string, CapacityFloor[]>();
  for (const f of floors) {
    const k = resourceKey(f.indexName);
    const p = proposed.get(k);
    if (!p) continue;
    const units = Math.min(Math.max(1, config.maxCapacity), Math.max(config.minCapacity, Math.ceil(f.units)));
    if (units > p[f.dim]) {
      p[f.dim] = units;
      applied.set(k, [...(applied.get(k) ?? []), f]);
    }
  }
  return applied;
}

/**
 * Fits the increases into AWS's per-table (GSIs included) and per-account limits: decreases may
 * not be applied (they are separate actions), so the others count at max(current, proposed).
 * Increases are scaled back proportionally when they do not fit. Returns notes on what was capped.
 */
export function fitLimits(
  obs: TableObservation,
  current: Map<string, CapacityPair>,
  proposed: Map<string, CapacityPair>,
): string[] {
  const notes: string[] = [];
  for (const dim of DIMS) {
    let fixed = 0;
    let increases = 0;
    for (const [k, cur] of current) {
      const p = proposed.get(k) ?? cur;
      fixed += cur[dim];
      if (p[dim] > cur[dim]) increases += p[dim] - cur[dim];
    }
    if (increases <= 0) continue;
    const tableRoom = obs.limits.tableMax[dim] - fixed;
    const accountRoom = obs.limits.accountMax[dim] - obs.limits.accountProvisioned[dim];
    const room = Math.max(0, Math.min(tableRoom, accountRoom));
    if (increases <= room) continue;
    const f = room / increases;
    const which = tableRoom <= accountRoom ? 'table' : 'account';
    notes.push(
      `${dim} increase capped by the AWS ${which} limit (${which === 'table' ? obs.limits.tableMax[dim] : obs.limits.accountMax[dim]} units, ${which === 'table' ? 'GSIs included' : 'all tables'})`,
    );
    for (const [k, cur] of current) {
      const p = proposed.get(k);
      if (!p || p[dim] <= cur[dim]) continue;
      p[dim] = cur[dim] + Math.floor((p[dim] - cur[dim]) * f);
    }
  }
  return notes;
}

/** One resource's change, split so no UpdateTable mixes an increase with a decrease. */
export interface ResourceChange {
  resource: CapacityResourceObservation;
  key: string;
  current: CapacityPair;
  /** After the increase (each dimension at max(current, proposed)). */
  up: CapacityPair;
  /** After the decrease, which starts from `up` (so it never undoes an increase). */
  down: CapacityPair;
}

export function splitChanges(
  resources: readonly CapacityResourceObservation[],
  current: Map<string, CapacityPair>,
  proposed: Map<string, CapacityPair>,
): ResourceChange[] {
  const out: ResourceChange[] = [];
  for (const r of resources) {
    const key = resourceKey(r.indexName);
    const cur = current.get(key);
    const p = proposed.get(key);
    if (!cur || !p) continue;
    const up = { read: Math.max(cur.read, p.read), write: Math.max(cur.write, p.write) };
    const down = { read: Math.min(up.read, p.read), write: Math.min(up.write, p.write) };
    out.push({ resource: r, key, current: cur, up, down });
  }
  return out;
}

export function increases(c: ResourceChange): boolean {
  return c.up.read > c.current.read || c.up.write > c.current.write;
}

export function decreases(c: ResourceChange): boolean {
  return c.down.read < c.up.read || c.down.write < c.up.write;
}

export interface DecreaseTiming {
  /** Spend the decrease now. */
  now: boolean;
  /** Otherwise: the earliest time it is worth trying again. */
  until: string;
  /** AWS allows one now, but the reserve (or the day's plan) keeps it for later. */
  reserveKept: boolean;
  budgetText: string;
  /** The day's plan against the learned demand shape, when one was learned. */
  planText?: string;
}

/** What the day's plan needs to judge a decrease: its saving and the learned shapes. */
export interface DecreaseWorthInput {
  /** USD per hour the decrease saves. */
  savingPerHour: number;
  /** The resource's learned shape per dimension (empty: none learned yet). */
  shapes: readonly PricedShape[];
  targetUtilization: number;
  /** Why demand is still falling below the decrease's target (dynamodb-decrease-plan.ts stillFalling). */
  falling?: string;
}

/**
 * When a decrease of this resource may be spent: AWS's budget, then the day's plan against the
 * learned demand shape (a table with learned peaks), else the configured reserve.
 */
export function decreaseTiming(
  ledger: DecreaseLedger,
  now: Date,
  observedAt: string,
  reserve: number,
  worth?: DecreaseWorthInput,
): DecreaseTiming {
  const allowance = decreaseAllowance(ledger, now);
  const budgetText = `${allowance.usedToday} decrease(s) used today, AWS allows ${allowance.remainingToday} more today`;
  const learned = worth?.shapes.some((s) => s.shape.peaksPerDay > 0);
  if (worth && learned && allowance.allowedNow) {
    const d = planDecrease(
      ledger,
      now,
      worth.savingPerHour,
      worth.shapes,
      worth.targetUtilization,
      worth.falling,
    );
    return d.spend
      ? { now: true, until: now.toISOString(), reserveKept: false, budgetText, planText: d.why }
      : { now: false, until: reconsiderAt(now), reserveKept: true, budgetText, planText: d.why };
  }
  if (maySpendDecrease(ledger, now, reserve)) {
    return { now: true, until: now.toISOString(), reserveKept: false, budgetText };
  }
  const until = allowance.allowedNow
    ? new Date(
        Math.max(now.getTime(), Date.parse(ledger.lastDecreaseAt ?? observedAt) + 3_600_000),
      ).toISOString()
    : allowance.nextSlotAt;
  return { now: false, until, reserveKept: allowance.allowedNow, budgetText };
}
