import type { DriftBaseline, ResourceHistory, StateStore } from '../core/contracts.ts';
import type { ActionKind, Decision, TunerName } from '../core/model.ts';
import { DuplicateDecisionError } from './errors.ts';
import {
  backoffUntil,
  byTimeThenId,
  countsAsChange,
  expiresAfter,
  inWindow,
  isExpired,
  keys,
  RECENT_DECISIONS,
} from './keys.ts';

interface Expiring {
  expiresAt: number;
}

/**
 * In-memory StateStore with the same semantics as DynamoDbStateStore (conditional writes become
 * checks on the maps; every method is atomic because JavaScript runs one at a time between awaits).
 * Used by backtests, the demo when no table is configured, and unit tests.
 */
export class MemoryStateStore implements StateStore {
  private readonly decisions = new Map<string, Decision>();
  /** Per tuner+resource, sorted by (at, id): getHistory reads only its own resource's decisions. */
  private readonly byResource = new Map<string, Decision[]>();
  /** Sorted by (at, id): listDecisions reads only its time window. */
  private readonly byTime: Decision[] = [];
  private readonly ledger = new Map<string, { lastAppliedAt: string; appliedCount: number }>();
  /** Per tuner+resource: the newest applied change of each action kind. */
  private readonly lastApplied = new Map<string, Partial<Record<ActionKind, Decision>>>();
  private readonly drift = new Map<string, NonNullable<ResourceHistory['drift']>>();
  private readonly tunerState = new Map<string, Record<string, unknown>>();
  private readonly locks = new Map<string, Expiring & { owner: string }>();
  private readonly idempotency = new Map<string, Expiring & { runId: string }>();
  private readonly created = new Map<string, { detail: Record<string, unknown>; createdAt: string }>();

  async recordDecision(decision: Decision): Promise<void> {
    if (this.decisions.has(decision.id)) throw new DuplicateDecisionError(decision.id);
    const stored = structuredClone(decision);
    this.decisions.set(decision.id, stored);
    const key = keys.resource(decision.tuner, decision.resource);
    const list = this.byResource.get(key);
    if (list) list.splice(upperBound(list, stored), 0, stored);
    else this.byResource.set(key, [stored]);
    this.byTime.splice(upperBound(this.byTime, stored), 0, stored);
    this.advance(decision);
  }

  async resolveDecision(decision: Decision): Promise<boolean> {
    const stored = this.decisions.get(decision.id);
    if (!stored || stored.outcome !== 'intended') return false;
    // Same id, same time: the sorted indexes keep their order; the object is updated in place.
    Object.assign(stored, structuredClone(decision));
    this.advance(decision);
    return true;
  }

  /** The cooldown ledger and the newest applied change per kind, for a change. */
  private advance(decision: Decision): void {
    const key = keys.resource(decision.tuner, decision.resource);
    if (countsAsChange(decision)) {
      const byKind = this.lastApplied.get(key) ?? {};
      const last = byKind[decision.action];
      if (!last || byTimeThenId(last, decision) < 0) byKind[decision.action] = structuredClone(decision);
      this.lastApplied.set(key, byKind);
      const previous = this.ledger.get(key);
      if (!previous || Date.parse(previous.lastAppliedAt) < Date.parse(decision.at)) {
        this.ledger.set(key, { lastAppliedAt: decision.at, appliedCount: (previous?.appliedCount ?? 0) + 1 });
      } else {
        previous.appliedCount += 1;
      }
    }
  }

  async listDecisions(query: {
    since: string;
    until?: string;
    tuner?: TunerName;
    resource?: string;
  }): Promise<Decision[]> {
    const first = lowerBoundAt(this.byTime, query.since);
    return this.byTime
      .slice(first)
      .filter((d) => inWindow(d, query.since, query.until))
      .filter((d) => query.tuner === undefined || d.tuner === query.tuner)
      .filter((d) => query.resource === undefined || d.resource === query.resource)
      .map((d) => structuredClone(d));
  }

  async markReported(decisionIds: string[], at: string): Promise<void> {
    for (const id of decisionIds) {
      const decision = this.decisions.get(id);
      if (decision) decision.reportedAt = at;
    }
  }

  async claimIdempotencyKey(key: string, runId: string, now: Date, ttlSeconds: number): Promise<boolean> {
    const existing = this.idempotency.get(key);
    if (existing && !isExpired(existing.expiresAt, now)) return false;
    this.idempotency.set(key, { runId, expiresAt: expiresAfter(now, ttlSeconds) });
    return true;
  }

  async releaseIdempotencyKey(key: string, runId: string): Promise<void> {
    if (this.idempotency.get(key)?.runId === runId) this.idempotency.delete(key);
  }

  async acquireLock(resourceId: string, owner: string, now: Date, leaseSeconds: number): Promise<boolean> {
    const existing = this.locks.get(resourceId);
    if (existing && !isExpired(existing.expiresAt, now) && existing.owner !== owner) return false;
    this.locks.set(resourceId, { owner, expiresAt: expiresAfter(now, leaseSeconds) });
    return true;
  }

  async releaseLock(resourceId: string, owner: string): Promise<void> {
    if (this.locks.get(resourceId)?.owner === owner) this.locks.delete(resourceId);
  }

  async getHistory(tuner: TunerName, resourceId: string, _now: Date): Promise<ResourceHistory> {
    const key = keys.resource(tuner, resourceId);
    const recent = (this.byResource.get(key) ?? [])
      .slice(-RECENT_DECISIONS)
      .reverse()
      .map((d) => structuredClone(d));
    const history: ResourceHistory = { recent };
    const ledger = this.ledger.get(key);
    if (ledger) history.lastAppliedAt = ledger.lastAppliedAt;
    const lastApplied = this.lastApplied.get(key);
    if (lastApplied) history.lastApplied = structuredClone(lastApplied);
    const drift = this.drift.get(key);
    if (drift) history.drift = structuredClone(drift);
    const state = this.tunerState.get(key);
    if (state) history.tunerState = structuredClone(state);
    return history;
  }

  async putTunerState(tuner: TunerName, resourceId: string, state: Record<string, unknown>): Promise<void> {
    this.tunerState.set(keys.resource(tuner, resourceId), structuredClone(state));
  }

  async recordDrift(
    tuner: TunerName,
    resourceId: string,
    detail: string,
    now: Date,
    backoffMinutes: number,
    baseline?: DriftBaseline,
  ): Promise<void> {
    this.drift.set(keys.resource(tuner, resourceId), {
      detectedAt: now.toISOString(),
      backoffUntil: backoffUntil(now, backoffMinutes).toISOString(),
      detail,
      ...(baseline ? { baseline: structuredClone(baseline) } : {}),
    });
  }

  async recordCreated(resourceId: string, detail: Record<string, unknown>, now: Date): Promise<void> {
    this.created.set(resourceId, { detail: structuredClone(detail), createdAt: now.toISOString() });
  }

  async wasCreatedByUs(resourceId: string): Promise<boolean> {
    return this.created.has(resourceId);
  }

  async forgetCreated(resourceId: string): Promise<void> {
    this.created.delete(resourceId);
  }

  async getDecision(id: string): Promise<Decision | undefined> {
    const decision = this.decisions.get(id);
    return decision ? structuredClone(decision) : undefined;
  }
}

/** Index of the first decision whose time is at or after `since` (byTime is sorted). */
function lowerBoundAt(sorted: Decision[], since: string): number {
  const t = Date.parse(since);
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const d = sorted[mid];
    if (d && Date.parse(d.at) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where a decision goes in a list sorted by (at, id) to keep it sorted. */
function upperBound(sorted: Decision[], decision: Decision): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const d = sorted[mid];
    if (d && byTimeThenId(d, decision) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
