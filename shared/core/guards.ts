import type { ResourceHistory, RunContext, Target, TunerSettings } from './contracts.ts';
import type { Action, Decision, Outcome } from './model.ts';

/**
 * The shared guards every Action goes through before an adapter may run (see executor.ts).
 * Each guard is a small pure function: it returns a verdict that decides the action's outcome,
 * or undefined to let the action through to the next guard. The first verdict wins.
 */

/** Action kinds that change nothing: an applied one does not start a cooldown. */
const NON_CHANGING = new Set<string>(['noop', 'recommend', 'finding', 'pause', 'resume']);

/** An applied change starts the resource's cooldown (the ledger's lastAppliedAt). */
export function countsAsChange(decision: Pick<Decision, 'action' | 'outcome'>): boolean {
  return decision.outcome === 'applied' && !NON_CHANGING.has(decision.action);
}

export interface GuardInput {
  action: Action;
  target: Target;
  settings: TunerSettings;
  run: RunContext;
  history: ResourceHistory;
  now: Date;
  /** The store's record that db-autopilot created the resource (only looked up for deletes). */
  createdByUs: boolean;
  /** When this same run last changed the resource (several actions of one run are one change). */
  ownChangeAt?: string;
  /** The ledger's lastAppliedAt when the plan was made (null: none yet; undefined: not known). */
  plannedLastAppliedAt?: string | null;
}

export interface GuardVerdict {
  outcome: Exclude<Outcome, 'failed'>;
  /** Names what decided: "paused", "opt-out", "drift", "bounds", "consent", "cooldown", a rule name... */
  guard: string;
  reason: string;
  until?: string;
}

export type Guard = (input: GuardInput) => GuardVerdict | undefined;

/** How this run treats a change: the tuner's mode, dryRun and a manual override together. */
export type Effect = 'dry-run' | 'observe' | 'refused' | 'override' | 'apply';

export function effectOf(settings: TunerSettings, run: RunContext): Effect {
  if (run.dryRun) return 'dry-run';
  if (settings.mode === 'apply') return 'apply';
  if (run.trigger !== 'manual') return 'observe';
  return run.override ? 'override' : 'refused';
}

export const pausedGuard: Guard = ({ run }) =>
  run.paused
    ? {
        outcome: 'skipped',
        guard: 'paused',
        reason: 'db-autopilot is paused (pause flag set): nothing is done',
      }
    : undefined;

/**
 * The opt-out tag stops tuning; an action that only restores the person's own setting (a lifted
 * minimum or a changed policy handed back, `Action.restores`) passes: opting out must not leave
 * db-autopilot's last change in place.
 */
export const optOutGuard: Guard = ({ action, target }) =>
  target.optedOut && !action.restores
    ? {
        outcome: 'skipped',
        guard: 'opt-out',
        reason: `${target.ref.id} carries the opt-out tag: never acted on`,
      }
    : undefined;

export const driftGuard: Guard = ({ history, now }) => {
  const drift = history.drift;
  if (!drift || Date.parse(drift.backoffUntil) <= now.getTime()) return undefined;
  return {
    outcome: 'skipped',
    guard: 'drift',
    reason: `backing off until ${drift.backoffUntil}: a change db-autopilot did not make was detected at ${drift.detectedAt} (${drift.detail})`,
  };
};

/**
 * Recommendations, findings and no-ops change nothing: recorded, never handed to a mutating adapter.
 * A no-op is recorded as `skipped` (nothing was done, and the reason says why); a recommendation or
 * finding as `applied` (it was made) or `planned` (observe mode, dry run).
 */
export const nonMutatingGuard: Guard = ({ action, settings, run }) => {
  if (action.mutating) return undefined;
  if (action.kind === 'noop') return { outcome: 'skipped', guard: 'noop', reason: action.reason };
  const effect = effectOf(settings, run);
  const planned = effect === 'dry-run' || effect === 'observe' || effect === 'refused';
  return { outcome: planned ? 'planned' : 'applied', guard: 'non-mutating', reason: action.reason };
};

export const boundsGuard: Guard = ({ action, settings }) => {
  const value = action.numericTarget;
  if (value === undefined) return undefined;
  const below = settings.min !== undefined && value < settings.min;
  const above = settings.max !== undefined && value > settings.max;
  if (!Number.isFinite(value) || below || above) {
    return {
      outcome: 'skipped',
      guard: 'bounds',
      reason: `target ${value} is outside the configured bounds [${settings.min ?? '-inf'}, ${settings.max ?? '+inf'}]`,
    };
  }
  return undefined;
};

export const consentGuard: Guard = ({ action, target, createdByUs }) => {
  // A resource no longer managed still gets the person's own settings back (`Action.restores`).
  if (!target.managed && !action.restores) {
    return {
      outcome: 'skipped',
      guard: 'consent',
      reason: `${target.ref.id} is not managed: neither the config's resources selector nor the managed tag lets db-autopilot change it`,
    };
  }
  if (action.deletes && !(target.created && createdByUs)) {
    const missing = !target.created
      ? 'it has no created-by tag'
      : 'the state table has no record of creating it';
    return {
      outcome: 'skipped',
      guard: 'consent',
      reason: `only resources db-autopilot created may be deleted, and ${missing}`,
    };
  }
  return undefined;
};

export const cooldownGuard: Guard = ({ settings, history, now, ownChangeAt }) => {
  if (!history.lastAppliedAt || settings.cooldownMinutes <= 0) return undefined;
  // Several actions of one run on one resource (e.g. add a replica, then route to it) are one
  // change, unless another run has changed it since.
  if (ownChangeAt !== undefined && ownChangeAt === history.lastAppliedAt) return undefined;
  const until = Date.parse(history.lastAppliedAt) + settings.cooldownMinutes * 60_000;
  if (until <= now.getTime()) return undefined;
  const untilIso = new Date(until).toISOString();
  return {
    outcome: 'deferred',
    guard: 'cooldown',
    until: untilIso,
    reason: `cooldown: last change at ${history.lastAppliedAt}, next allowed at ${untilIso} (${settings.cooldownMinutes} min)`,
  };
};

/** The AWS / PostgreSQL rules the policy evaluated: any skip wins, else the latest defer. */
export const rulesGuard: Guard = ({ action }) => {
  const rules = action.rules ?? [];
  const skip = rules.find((r) => r.verdict === 'skip');
  if (skip)
    return { outcome: 'skipped', guard: skip.rule, reason: skip.reason ?? `rule ${skip.rule} forbids it` };
  const defers = rules.filter((r) => r.verdict === 'defer');
  if (defers.length === 0) return undefined;
  const latest = defers.reduce((a, b) =>
    b.until !== undefined && (a.until === undefined || Date.parse(b.until) > Date.parse(a.until)) ? b : a,
  );
  return {
    outcome: 'deferred',
    guard: latest.rule,
    reason: latest.reason ?? `rule ${latest.rule} says not now`,
    ...(latest.until !== undefined ? { until: latest.until } : {}),
  };
};

/** Cloud Custodian's max-resources: a run never changes more than maxChangesPerRun resources. */
export const changeCapGuard: Guard = ({ settings, run }) =>
  run.changesApplied >= settings.maxChangesPerRun
    ? {
        outcome: 'deferred',
        guard: 'change-cap',
        reason: `per-run change cap (${settings.maxChangesPerRun}) reached: the next run reconsiders it`,
      }
    : undefined;

export const modeGuard: Guard = ({ action, settings, run }) => {
  switch (effectOf(settings, run)) {
    case 'dry-run':
      return { outcome: 'planned', guard: 'dry-run', reason: action.reason };
    case 'observe':
      return { outcome: 'planned', guard: 'mode', reason: action.reason };
    case 'refused':
      return {
        outcome: 'skipped',
        guard: 'mode',
        reason: `the ${action.tuner} tuner is in observe mode: a manual real run must pass "override": true (or "dryRun": true)`,
      };
    default:
      return undefined;
  }
};

/**
 * Under the lock: another run applied a change to the resource after this plan was made (two runs
 * observed the same state at once, e.g. a scheduled and an alarm run): the plan is stale, so it is
 * not applied; the next run plans again from a fresh observation. Matters most without a cooldown.
 */
export const changedSincePlanGuard: Guard = ({ action, history, plannedLastAppliedAt, ownChangeAt }) => {
  if (plannedLastAppliedAt === undefined) return undefined;
  const latest = history.lastAppliedAt;
  if (latest === undefined || latest === plannedLastAppliedAt || latest === ownChangeAt) return undefined;
  return {
    outcome: 'skipped',
    guard: 'changed-since-plan',
    reason: `another run changed ${action.resource.id} (at ${latest}) after this plan was made: the next run plans again from a fresh observation`,
  };
};

/** Before the lock, in this order (the first verdict wins). */
export const guardsBeforeAct: readonly Guard[] = [
  pausedGuard,
  optOutGuard,
  driftGuard,
  nonMutatingGuard,
  boundsGuard,
  consentGuard,
  cooldownGuard,
  rulesGuard,
  changeCapGuard,
  modeGuard,
];

/** Re-checked under the lock with freshly read history: another run may have acted meanwhile. */
export const guardsUnderLock: readonly Guard[] = [driftGuard, cooldownGuard, changedSincePlanGuard];

export function evaluateGuards(guards: readonly Guard[], input: GuardInput): GuardVerdict | undefined {
  for (const guard of guards) {
    const verdict = guard(input);
    if (verdict) return verdict;
  }
  return undefined;
}
