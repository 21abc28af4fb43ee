import type {
  Action,
  ActionKind,
  ActResult,
  Decision,
  Mode,
  Outcome,
  Plan,
  ResourceRef,
  Trigger,
  TunerName,
} from './model.ts';
import type { LeftOut } from './response-budget.ts';

/**
 * Contracts between tuners, the executor (shared/core/executor.ts) and the state store
 * (shared/state/store.ts). A tuner function does:
 *
 *   const run = await startRun({ tuner, trigger, event, ... })   // pause flag, idempotency
 *   for each target: observe -> policy(observation, settings, history, now) -> Plan
 *   const decisions = await executePlan({ plan, target, settings, adapter, run, store })
 *   await finishRun(run)
 */

/** A resource as discovered, with the consent facts the guards need. */
export interface Target {
  ref: ResourceRef;
  tags: Record<string, string>;
  /** The config (identifier or tag selector) or the managed tag lets db-autopilot tune it. */
  managed: boolean;
  /** db-autopilot created it (ownership tag present); deleting also needs a recorded create. */
  created: boolean;
  /** The opt-out tag is set: never act on it. */
  optedOut: boolean;
}

/** The guard-relevant settings of one tuner for one resource, resolved from the config. */
export interface TunerSettings {
  mode: Mode;
  /** Bounds checked against Action.numericTarget (inclusive). */
  min?: number;
  max?: number;
  cooldownMinutes: number;
  maxChangesPerRun: number;
  driftBackoffMinutes: number;
  lockLeaseSeconds: number;
}

/** One invocation of a tuner (scheduled, alarm, manual, demo or backtest step). */
export interface RunContext {
  runId: string;
  tuner: TunerName;
  trigger: Trigger;
  /** Manual invocations: dryRun true = plan only, whatever the mode. */
  dryRun: boolean;
  /** Manual real run of a tuner in observe mode needs override: true (recorded). */
  override: boolean;
  /** EventBridge event id, or a caller-supplied / derived key for manual invocations. */
  idempotencyKey: string;
  now: Date;
  paused: boolean;
  /** Applied changes so far in this run (the per-run cap). */
  changesApplied: number;
}

export type Adapter = ((action: Action, target: Target) => Promise<ActResult>) & {
  /** How to tell, from AWS's own state, whether an intended change took effect (see IntentCheck). */
  check?: IntentCheck;
};

/**
 * Resolves an intended change from AWS's own state (describe calls, RDS events,
 * `LastIncreaseDateTime`, tags) when its response was lost or its run died: `applied` (AWS has it,
 * or has it pending), `not-applied` (AWS certainly does not), `unknown` (cannot tell now: the
 * intent stays and a later run asks again). Registered per action kind in shared/core/intent.ts.
 */
export type IntentCheck = (intent: Decision) => Promise<{
  verdict: 'applied' | 'not-applied' | 'unknown';
  detail: string;
  /**
   * Applied, but at another value than the intent planned (the adapter capped it at what AWS
   * allows): recorded as the decision's `to`, as the response's `appliedTo` would have been.
   */
  appliedTo?: number;
}>;

/** A record of what happened to a resource, read by policies as their history. */
export interface ResourceHistory {
  /** Last applied change by db-autopilot (any kind), for cooldowns. */
  lastAppliedAt?: string;
  /**
   * The notable decisions of this resource and tuner of the last 24 h (RECENT_WINDOW_MS), newest
   * first, at most 20. No-ops are left out: they change nothing, and no policy or guard reads them
   * (`newestDecision` gives the newest decision of any kind). Without their evidence (`[]`: no
   * policy or guard reads past evidence; the reports read it with `listDecisions`), except an
   * intended one, which is resolved from here as its intent holds it.
   */
  recent: Decision[];
  /**
   * The newest applied change of each action kind, however old (kept with the cooldown ledger, so
   * drift detection still has it after any number of later no-op decisions), without its evidence.
   */
  lastApplied?: Partial<Record<ActionKind, Decision>>;
  /** Drift: a change db-autopilot did not make was seen at this time; back off until `backoffUntil`. */
  drift?: {
    detectedAt: string;
    backoffUntil: string;
    detail: string;
    /** What the drift was measured against, so the same outside change is not reported again. */
    baseline?: DriftBaseline;
  };
  /**
   * Intended changes not yet resolved (kept apart from `recent`, so one that a run of faults keeps
   * unresolved never drops out of sight behind newer decisions).
   */
  pending?: Decision[];
  /**
   * Free-form tuner state (e.g. scale-in recommendations over a stabilization window): the main
   * state with each part stored on its own (putTunerState with `part`) as its key.
   */
  tunerState?: Record<string, unknown>;
  /** The keys of tunerState that were read from parts stored on their own. */
  tunerStateParts?: string[];
}

/**
 * How putTunerState writes. `held`: the store may hold the put and write it with the run's other
 * held puts (a no-op decision's, another table's state) in one BatchWriteItem, at the latest when
 * the run ends (flushTotals); a read of the same resource's history sees it. Only for state whose
 * loss in a crash is harmless: a process killed before its flush leaves the state as it was
 * before the run (e.g. when a table was last observed: the next run observes it again).
 */
export interface TunerStateWrite {
  held?: boolean;
}

/** What a getHistory reads beyond a resource's meta items (ledger, drift, state, intents, newest changes). */
export interface HistoryOptions {
  /**
   * At most this many of the newest notable decisions in `recent` (1 to 20; default 20). A reader
   * that needs only the newest (the guards, intents and repeat checks read `pending` and the
   * newest decision, never older ones) reads fewer items: each is ~1.5 KB of a consistent read.
   */
  recentDecisions?: number;
}

/** The applied decision a drift was detected against and the value seen instead. */
export interface DriftBaseline {
  decisionId?: string;
  observed?: unknown;
}

/** Whose items in the state table: a tuner, or a reporting function's delivery state. */
export type StateOwner = TunerName | 'report' | 'digest';

/** A time window of decisions: since inclusive, until exclusive (default: now). */
export interface DecisionQuery {
  since: string;
  until?: string;
  tuner?: TunerName;
  resource?: string;
}

/** Counts and cost sums of one tuner's decisions over one UTC day or month, kept as they are recorded. */
export interface DecisionTotals {
  tuner: TunerName;
  /** YYYY-MM-DD or YYYY-MM. */
  period: string;
  /** Notable decisions (everything but successful no-ops) by outcome. */
  outcomes: Partial<Record<Outcome, number>>;
  /** No-op decisions by outcome. */
  noops: Partial<Record<Outcome, number>>;
  /** Sum of monthlyCostDelta over applied changes (not recommendations or findings). */
  appliedCostDelta: number;
}

/**
 * The state table (shared/state: key layout in keys.ts). Every read is bounded by key: a
 * resource's own partition with a time range, one index partition per tuner and day with a range.
 */
export interface StateStore {
  /**
   * Audit log: one record per decision, no-ops included (a no-op is stored slim: no evidence).
   * Also adds it to the day's totals of its tuner: a notable decision at once; a successful
   * no-op is held by the store until the next notable decision of the same tuner and day, or
   * until flushTotals (shared/state/totals.ts). A notable decision is written before this
   * returns; a successful no-op's record may be held too (the DynamoDB store writes a run's
   * no-ops 25 to a BatchWriteItem: when 25 are held, before a read that could return one, and at
   * flushTotals). Recording the same decision id twice throws DuplicateDecisionError.
   */
  recordDecision(decision: Decision): Promise<void>;
  /**
   * Writes what this store holds: the held no-op records and held tuner state (putTunerState
   * `held`), then the no-op counts, one write per tuner and day; returns how many totals items
   * it wrote. Called when a run ends, however it ends (the Lambda wrapper,
   * shared/handler/wrap.ts: after success, after failure, and at middy's early timeout); a failed
   * write keeps what it did not write held for the next flush. What a process that dies before
   * it loses (killed, out of memory, Lambda's hard timeout): its run's successful no-op records
   * not yet written (fewer than 25: a full batch is written at once) and their counts, and held
   * tuner state; every notable decision (a change, intent, skip, deferral, finding, failure) is
   * written as it is recorded.
   */
  flushTotals(): Promise<number>;
  /**
   * Resolves an `intended` decision in place (same id): true when it was still intended and now
   * holds `decision`'s outcome (an applied one advances the cooldown ledger), false when another
   * run resolved it first or it is unknown (then nothing is written: never a second `applied`).
   */
  resolveDecision(decision: Decision): Promise<boolean>;
  /**
   * The tuner's intent index: its `intended` decisions not yet resolved, whatever resource they
   * name, oldest first. Every run of the tuner settles them first (shared/core/intent.ts), so an
   * intent on a resource no later plan names (a removed replica, an alarm not touched again) is
   * still settled. Recording an intent adds it; resolving it (or finding it already resolved)
   * removes it.
   */
  listIntents(tuner: TunerName): Promise<Decision[]>;
  /**
   * The notable decisions of a window (no-ops left out unless they failed), oldest first. With
   * `resource` (and `tuner`), read from that resource's own partition; otherwise from the byDay
   * index, one query per tuner and day.
   */
  listDecisions(query: DecisionQuery): Promise<Decision[]>;
  /**
   * Every decision of a window, no-ops included (slim). For offline tools (the demo's report,
   * benches, tests): on DynamoDB it scans the table. Functions never call it.
   */
  exportDecisions(query: { since: string; until?: string }): Promise<Decision[]>;
  /**
   * Day (YYYY-MM-DD) or month (YYYY-MM, the sum of its days) totals of every tuner that recorded
   * decisions in it, as written: no-op counts still held by a running run are not in them yet.
   */
  totals(period: string): Promise<DecisionTotals[]>;
  /** The report function's record of what it posted (in its own partition, not in the decisions). */
  markReported(decisions: Array<Pick<Decision, 'id' | 'at'>>, at: string): Promise<void>;
  /** Decision id -> when it was reported, for decisions recorded in the window. */
  reportedIn(query: { since: string; until: string }): Promise<Map<string, string>>;

  /** Idempotency: true if this tuner's key was claimed now, false if seen before (then do nothing). */
  claimIdempotencyKey(
    tuner: TunerName,
    key: string,
    runId: string,
    now: Date,
    ttlSeconds: number,
  ): Promise<boolean>;
  /**
   * Gives a claimed key back (only if `runId` still holds it): a run rejected as bad input did
   * nothing, so the corrected retry with the same key must be able to act.
   */
  releaseIdempotencyKey(tuner: TunerName, key: string, runId: string): Promise<void>;

  /** Per-tuner, per-resource lease lock with expiry; true if acquired. */
  acquireLock(
    tuner: TunerName,
    resourceId: string,
    owner: string,
    now: Date,
    leaseSeconds: number,
  ): Promise<boolean>;
  releaseLock(tuner: TunerName, resourceId: string, owner: string): Promise<void>;

  /** Cooldown and change-budget ledger + tuner state + drift (report and digest keep their state here too). */
  getHistory(
    owner: StateOwner,
    resourceId: string,
    now: Date,
    options?: HistoryOptions,
  ): Promise<ResourceHistory>;
  /** The newest decision of a resource, no-ops included (the report: did a deferral settle?). */
  newestDecision(owner: StateOwner, resourceId: string): Promise<Decision | undefined>;
  /**
   * The newest decision of a resource when it is a no-op recorded at or after `after` (the report:
   * did a deferral standing since `after` settle?). Cheaper than newestDecision when, as mostly,
   * no no-op came since.
   */
  settlingNoop(owner: StateOwner, resourceId: string, after: string): Promise<Decision | undefined>;
  /**
   * Writes a resource's free-form state. With `part`, only that key of it, in an item of its own
   * (a large part that changes rarely is not rewritten with the small ones that change every
   * run); getHistory returns the parts merged over the main state (a part wins over the same key
   * in the main state) and lists them in `tunerStateParts`.
   */
  putTunerState(
    owner: StateOwner,
    resourceId: string,
    state: Record<string, unknown>,
    part?: string,
    options?: TunerStateWrite,
  ): Promise<void>;
  recordDrift(
    tuner: TunerName,
    resourceId: string,
    detail: string,
    now: Date,
    backoffMinutes: number,
    baseline?: DriftBaseline,
  ): Promise<void>;

  /** Resources a tuner created (replicas): the second half of "created" consent. */
  recordCreated(
    tuner: TunerName,
    resourceId: string,
    detail: Record<string, unknown>,
    now: Date,
  ): Promise<void>;
  wasCreatedByUs(tuner: TunerName, resourceId: string): Promise<boolean>;
  forgetCreated(tuner: TunerName, resourceId: string): Promise<void>;

  /** A notable decision by id (revert); no-ops are not found. */
  getDecision(id: string): Promise<Decision | undefined>;
}

export interface ExecutePlanInput {
  plan: Plan;
  target: Target;
  settings: TunerSettings;
  adapter: Adapter;
  run: RunContext;
  store: StateStore;
  /**
   * The history of `plan.resource` read before it was observed and planned. When given, an action
   * on that resource is skipped if another run has applied a change to it since (the plan was made
   * from a stale observation), even without a cooldown.
   */
  planHistory?: ResourceHistory;
}

/** How any tuner is invoked: by its schedule, by the alarm handler, by a person, by the demo. */
export interface TunerRunRequest {
  trigger: Trigger;
  /** Limit the run to these resource ids (alarm fast path, manual runs); all managed ones otherwise. */
  resourceIds?: string[];
  dryRun: boolean;
  override: boolean;
  idempotencyKey: string;
  /** Milliseconds left before the function must stop (maintenance uses it as its time budget). */
  remainingMs?: () => number;
}

export interface TunerRunSummary {
  ok: true;
  tuner: TunerName;
  runId: string;
  /** true when the pause flag was set: nothing was planned or done. */
  paused: boolean;
  /** true when the idempotency key had been seen: nothing was done again. */
  duplicate: boolean;
  decisions: Decision[];
  /** Identifiers in the config that do not exist, and other things worth telling. */
  notes: string[];
  /**
   * Present when the run planned changes it did not make (observe mode, dry run): how many and
   * what they would save or add a month; `text` is "would change N / would save $X a month".
   */
  plan?: { wouldChange: number; wouldSaveMonthly: number; wouldAddMonthly: number; text: string };
  /**
   * Present only when the answer was over the response budget (shared/core/response-budget.ts,
   * applied by the Lambda wrapper): what it left out, by outcome and action, and where to read it.
   */
  leftOut?: LeftOut;
}

export type TunerEntry = (request: TunerRunRequest) => Promise<TunerRunSummary>;

/** An alarm a tuner wants on a managed resource; the reconciler (shared/alarms) keeps them in step. */
export interface AlarmSpec {
  tuner: TunerName;
  resourceId: string;
  /** Short, stable suffix: the full name is `${prefix}${tuner}-${resourceId}-${key}`. */
  key: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  statistic: 'Average' | 'Sum' | 'Maximum' | 'Minimum' | 'SampleCount';
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison:
    | 'GreaterThanThreshold'
    | 'GreaterThanOrEqualToThreshold'
    | 'LessThanThreshold'
    | 'LessThanOrEqualToThreshold';
  treatMissingData: 'missing' | 'notBreaching' | 'breaching' | 'ignore';
  description: string;
}
