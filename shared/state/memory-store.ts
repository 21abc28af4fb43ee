import type {
  DecisionQuery,
  DecisionTotals,
  DriftBaseline,
  HistoryOptions,
  ResourceHistory,
  StateOwner,
  StateStore,
  TunerStateWrite,
} from '../core/contracts.ts';
import type { ActionKind, Decision, TunerName } from '../core/model.ts';
import { currentScopeKey } from '../core/scope.ts';
import { DuplicateDecisionError } from './errors.ts';
import {
  backoffUntil,
  byTimeThenId,
  countsAsChange,
  DECISION_TUNERS,
  expiresAfter,
  inWindow,
  isExpired,
  isNotable,
  keys,
  RECENT_WINDOW_MS,
  recentDecisionsWanted,
  statePartKey,
} from './keys.ts';
import { isDeferral, mayRepeat, repeatForm, repeats, storedForm, withoutRepeatCount } from './slim.ts';
import { addToTotals, emptyTotals, NoopTally, readTotalsItem, totalsOf } from './totals.ts';

interface Expiring {
  expiresAt: number;
}

/**
 * In-memory StateStore with the same semantics as DynamoDbStateStore (conditional writes become
 * checks on the maps; every method is atomic because JavaScript runs one at a time between awaits;
 * no-ops stored slim and left out of the notable lists and the id lookup, as on DynamoDB).
 * Used by backtests, the demo when no table is configured, and unit tests.
 */
export class MemoryStateStore implements StateStore {
  private readonly ids = new Set<string>();
  /** Notable decisions by id (getDecision: no-ops are not found, as with the sparse byId index). */
  private readonly notableById = new Map<string, Decision>();
  /** Per tuner+resource, sorted by (at, id): getHistory reads only its own resource's decisions. */
  private readonly byResource = new Map<string, Decision[]>();
  /** Per scope (shared/core/scope.ts), every decision sorted by (at, id): windows by binary search. */
  private readonly byTimeOfScope = new Map<string, Decision[]>();
  private readonly totalsByKey = new Map<string, DecisionTotals>();
  /** Successful no-ops counted, not yet added to totalsByKey (see addToTotals). */
  private readonly heldNoops = new NoopTally();
  private readonly reported = new Map<string, { at: string; reportedAt: string }>();
  private readonly ledger = new Map<string, { lastAppliedAt: string; appliedCount: number }>();
  /** Per tuner+resource: the newest applied change of each action kind. */
  private readonly lastApplied = new Map<string, Partial<Record<ActionKind, Decision>>>();
  private readonly drift = new Map<string, NonNullable<ResourceHistory['drift']>>();
  private readonly tunerState = new Map<string, Record<string, unknown>>();
  /** Per resource: the parts of its state kept on their own (putTunerState with `part`). */
  private readonly tunerStateParts = new Map<string, Map<string, Record<string, unknown>>>();
  private readonly locks = new Map<string, Expiring & { owner: string }>();
  private readonly idempotency = new Map<string, Expiring & { runId: string }>();
  private readonly created = new Map<string, { detail: Record<string, unknown>; createdAt: string }>();
  /** Per tuner+resource: intended decisions not yet resolved, by id (the `m#intent#` items). */
  private readonly intents = new Map<string, Map<string, Decision>>();
  /** Per tuner and scope: the same intents, whatever resource they name (`<tuner>#<scope>#intents`). */
  private readonly intentIndex = new Map<string, Map<string, Decision>>();
  /** Repeated skips and deferrals (stored slim, counted on their first: shared/state/slim.ts), as the `r#` items. */
  private readonly repeats = new WeakSet<Decision>();

  async recordDecision(decision: Decision): Promise<void> {
    if (this.ids.has(decision.id)) throw new DuplicateDecisionError(decision.id);
    this.ids.add(decision.id);
    const key = keys.resource(decision.tuner, decision.resource);
    const first = mayRepeat(decision)
      ? this.byResource.get(key)?.findLast((d) => isNotable(d) && !this.repeats.has(d))
      : undefined;
    const repeat = repeats(first, decision);
    const stored = structuredClone(repeat ? repeatForm(decision) : storedForm(decision));
    if (repeat && first) {
      // As on DynamoDB: the repeat is its own slim record, out of the notable lists; its first counts it.
      this.repeats.add(stored);
      first.repeatedAt = [...(first.repeatedAt ?? []), decision.at];
      if (isDeferral(decision)) first.latestRepeat = structuredClone(repeatForm(decision));
    }
    if (isNotable(decision) && !repeat) this.notableById.set(decision.id, stored);
    const list = this.byResource.get(key);
    if (list) list.splice(upperBound(list, stored), 0, stored);
    else this.byResource.set(key, [stored]);
    const byTime = this.byTime();
    byTime.splice(upperBound(byTime, stored), 0, stored);
    if (decision.outcome === 'intended') {
      const open = this.intents.get(key) ?? new Map<string, Decision>();
      open.set(decision.id, stored);
      this.intents.set(key, open);
      const index = keys.intents(decision.tuner);
      const indexed = this.intentIndex.get(index) ?? new Map<string, Decision>();
      indexed.set(decision.id, stored);
      this.intentIndex.set(index, indexed);
    }
    this.addToTotals(decision);
    if (countsAsChange(decision)) this.advanceLedger(key, decision);
  }

  async resolveDecision(decision: Decision): Promise<boolean> {
    const stored = this.notableById.get(decision.id);
    this.intents.get(keys.resource(decision.tuner, decision.resource))?.delete(decision.id);
    this.intentIndex.get(keys.intents(decision.tuner))?.delete(decision.id);
    if (stored?.outcome !== 'intended') return false;
    // Same id, same time: the sorted indexes keep their order; the object is updated in place.
    Object.assign(stored, structuredClone(storedForm(decision)));
    // An intended decision is in no total yet (totals count outcomes, not intents).
    this.addToTotals(decision);
    if (countsAsChange(decision))
      this.advanceLedger(keys.resource(decision.tuner, decision.resource), decision);
    return true;
  }

  async listIntents(tuner: TunerName): Promise<Decision[]> {
    return [...(this.intentIndex.get(keys.intents(tuner))?.values() ?? [])]
      .sort(byTimeThenId)
      .map((d) => structuredClone(d));
  }

  /**
   * As on DynamoDB: a notable decision is counted as it is recorded (with the no-ops held for its
   * tuner and day), a successful no-op is held until then or until flushTotals, an intended
   * decision counts nothing until it is resolved.
   */
  private addToTotals(decision: Decision): void {
    if (decision.outcome === 'intended') return;
    const day = new Date(decision.at).toISOString().slice(0, 10);
    const key = keys.aggregate(decision.tuner, day);
    if (NoopTally.holds(decision)) {
      this.heldNoops.count(key, day, decision, 0);
      return;
    }
    const held = this.heldNoops.heldFor(key);
    this.addTotals(key, decision.tuner, day, totalsOf(decision));
    if (held) {
      this.addTotals(key, decision.tuner, day, readTotalsItem(held.counts));
      this.heldNoops.written(held);
    }
  }

  private addTotals(
    key: { pk: string; sk: string },
    tuner: TunerName,
    day: string,
    part: Omit<DecisionTotals, 'tuner' | 'period'>,
  ): void {
    const k = JSON.stringify(key);
    this.totalsByKey.set(k, addToTotals(this.totalsByKey.get(k) ?? emptyTotals(tuner, day), part));
  }

  async flushTotals(): Promise<number> {
    const held = this.heldNoops.all();
    for (const h of held) {
      this.addTotals(h.key, h.tuner, h.day, readTotalsItem(h.counts));
      this.heldNoops.written(h);
    }
    return held.length;
  }

  private advanceLedger(key: string, decision: Decision): void {
    const byKind = this.lastApplied.get(key) ?? {};
    const last = byKind[decision.action];
    // As on DynamoDB: kept without its evidence (drift compares what was applied).
    if (!last || byTimeThenId(last, decision) < 0)
      byKind[decision.action] = structuredClone({ ...decision, evidence: [] });
    this.lastApplied.set(key, byKind);
    const previous = this.ledger.get(key);
    if (!previous || Date.parse(previous.lastAppliedAt) < Date.parse(decision.at)) {
      this.ledger.set(key, { lastAppliedAt: decision.at, appliedCount: (previous?.appliedCount ?? 0) + 1 });
    } else {
      previous.appliedCount += 1;
    }
  }

  async listDecisions(query: DecisionQuery): Promise<Decision[]> {
    const source =
      query.resource !== undefined && query.tuner !== undefined
        ? (this.byResource.get(keys.resource(query.tuner, query.resource)) ?? [])
        : this.byTime();
    return this.window(source, query.since, query.until ?? new Date(8.64e15).toISOString())
      .filter((d) => isNotable(d) && !this.repeats.has(d))
      .filter((d) => query.tuner === undefined || d.tuner === query.tuner)
      .filter((d) => query.resource === undefined || d.resource === query.resource)
      .map((d) => structuredClone(d));
  }

  async exportDecisions(query: { since: string; until?: string }): Promise<Decision[]> {
    return this.window(this.byTime(), query.since, query.until ?? new Date(8.64e15).toISOString()).map((d) =>
      structuredClone(withoutRepeatCount(d)),
    );
  }

  /** The current scope's decisions by time (a scope reads only its own, as on DynamoDB by key). */
  private byTime(): Decision[] {
    const scope = currentScopeKey();
    let list = this.byTimeOfScope.get(scope);
    if (!list) {
      list = [];
      this.byTimeOfScope.set(scope, list);
    }
    return list;
  }

  private window(sorted: Decision[], since: string, until: string): Decision[] {
    const out: Decision[] = [];
    for (let i = lowerBoundAt(sorted, since); i < sorted.length; i++) {
      const d = sorted[i] as Decision;
      if (!inWindow(d, since, until)) break;
      out.push(d);
    }
    return out;
  }

  async totals(period: string): Promise<DecisionTotals[]> {
    return DECISION_TUNERS.flatMap((tuner) => {
      // A month is the sum of its days, as on DynamoDB.
      const days =
        period.length === 7
          ? Array.from({ length: 31 }, (_, i) => `${period}-${String(i + 1).padStart(2, '0')}`)
          : [period];
      const found = days.flatMap(
        (day) => this.totalsByKey.get(JSON.stringify(keys.aggregate(tuner, day))) ?? [],
      );
      if (found.length === 0) return [];
      return [found.reduce((sum, t) => addToTotals(sum, t), emptyTotals(tuner, period))];
    });
  }

  async markReported(decisions: Array<Pick<Decision, 'id' | 'at'>>, at: string): Promise<void> {
    for (const d of decisions) this.reported.set(d.id, { at: d.at, reportedAt: at });
  }

  async reportedIn(query: { since: string; until: string }): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [id, r] of this.reported) {
      if (inWindow({ at: r.at } as Decision, query.since, query.until)) out.set(id, r.reportedAt);
    }
    return out;
  }

  async claimIdempotencyKey(
    tuner: TunerName,
    key: string,
    runId: string,
    now: Date,
    ttlSeconds: number,
  ): Promise<boolean> {
    const k = keys.idempotency(tuner, key).pk;
    const existing = this.idempotency.get(k);
    if (existing && !isExpired(existing.expiresAt, now)) return false;
    this.idempotency.set(k, { runId, expiresAt: expiresAfter(now, ttlSeconds) });
    return true;
  }

  async releaseIdempotencyKey(tuner: TunerName, key: string, runId: string): Promise<void> {
    const k = keys.idempotency(tuner, key).pk;
    if (this.idempotency.get(k)?.runId === runId) this.idempotency.delete(k);
  }

  async acquireLock(
    tuner: TunerName,
    resourceId: string,
    owner: string,
    now: Date,
    leaseSeconds: number,
  ): Promise<boolean> {
    const k = keys.lock(tuner, resourceId).pk;
    const existing = this.locks.get(k);
    if (existing && !isExpired(existing.expiresAt, now) && existing.owner !== owner) return false;
    this.locks.set(k, { owner, expiresAt: expiresAfter(now, leaseSeconds) });
    return true;
  }

  async releaseLock(tuner: TunerName, resourceId: string, owner: string): Promise<void> {
    const k = keys.lock(tuner, resourceId).pk;
    if (this.locks.get(k)?.owner === owner) this.locks.delete(k);
  }

  async getHistory(
    owner: StateOwner,
    resourceId: string,
    now: Date,
    options?: HistoryOptions,
  ): Promise<ResourceHistory> {
    const key = keys.resource(owner, resourceId);
    const since = new Date(now.getTime() - RECENT_WINDOW_MS).toISOString();
    const open = this.intents.get(key);
    // As on DynamoDB: without their evidence, but an intended one as its intent holds it (with evidence).
    const recent = this.window(this.byResource.get(key) ?? [], since, new Date(8.64e15).toISOString())
      .filter((d) => isNotable(d) && !this.repeats.has(d))
      .slice(-recentDecisionsWanted(options))
      .reverse()
      .map((d) => structuredClone(d.outcome === 'intended' && open?.has(d.id) ? d : { ...d, evidence: [] }));
    const history: ResourceHistory = { recent };
    const ledger = this.ledger.get(key);
    if (ledger) history.lastAppliedAt = ledger.lastAppliedAt;
    const lastApplied = this.lastApplied.get(key);
    if (lastApplied) history.lastApplied = structuredClone(lastApplied);
    const drift = this.drift.get(key);
    if (drift) history.drift = structuredClone(drift);
    const state = this.tunerState.get(key);
    if (state) history.tunerState = structuredClone(state);
    const parts = this.tunerStateParts.get(key);
    if (parts && parts.size > 0) {
      history.tunerState = { ...history.tunerState, ...structuredClone(Object.fromEntries(parts)) };
      history.tunerStateParts = [...parts.keys()].sort();
    }
    if (open && open.size > 0) history.pending = [...open.values()].map((d) => structuredClone(d));
    return history;
  }

  async newestDecision(owner: StateOwner, resourceId: string): Promise<Decision | undefined> {
    const newest = this.byResource.get(keys.resource(owner, resourceId))?.at(-1);
    return newest ? structuredClone(newest) : undefined;
  }

  async settlingNoop(owner: StateOwner, resourceId: string, after: string): Promise<Decision | undefined> {
    const newest = await this.newestDecision(owner, resourceId);
    return newest?.action === 'noop' && newest.at >= after ? newest : undefined;
  }

  async putTunerState(
    owner: StateOwner,
    resourceId: string,
    state: Record<string, unknown>,
    part?: string,
    // Nothing is held here: every write is in memory at once (the contract allows either).
    _options?: TunerStateWrite,
  ): Promise<void> {
    const key = keys.resource(owner, resourceId);
    if (part === undefined) {
      this.tunerState.set(key, structuredClone(state));
      return;
    }
    statePartKey(part);
    const parts = this.tunerStateParts.get(key) ?? new Map<string, Record<string, unknown>>();
    parts.set(part, structuredClone(state));
    this.tunerStateParts.set(key, parts);
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

  async recordCreated(
    tuner: TunerName,
    resourceId: string,
    detail: Record<string, unknown>,
    now: Date,
  ): Promise<void> {
    this.created.set(keys.created(tuner, resourceId).pk, {
      detail: structuredClone(detail),
      createdAt: now.toISOString(),
    });
  }

  async wasCreatedByUs(tuner: TunerName, resourceId: string): Promise<boolean> {
    return this.created.has(keys.created(tuner, resourceId).pk);
  }

  async forgetCreated(tuner: TunerName, resourceId: string): Promise<void> {
    this.created.delete(keys.created(tuner, resourceId).pk);
  }

  async getDecision(id: string): Promise<Decision | undefined> {
    const decision = this.notableById.get(id);
    return decision ? structuredClone(decision) : undefined;
  }
}

/** Index of the first decision whose time is at or after `since` (sorted by time). */
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
