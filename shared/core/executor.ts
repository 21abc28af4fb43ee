import type { Adapter, ExecutePlanInput, ResourceHistory, RunContext, Target } from './contracts.ts';
import { publicMessage } from './errors.ts';
import { effectOf, evaluateGuards, type GuardVerdict, guardsBeforeAct, guardsUnderLock } from './guards.ts';
import { intentCheckFor, pendingIntents, resolvedFromState, resolvePending, runCheck } from './intent.ts';
import type { Action, ActResult, Decision, Outcome, Plan } from './model.ts';

/**
 * guard -> intend -> act -> resolve, for every Action of a Plan:
 *   0. intents other runs left pending on the resource (the run died, the response was lost, the
 *      record failed) are resolved first from AWS's own state, under the resource's lock
 *      (shared/core/intent.ts); one that AWS cannot settle yet keeps the resource untouched;
 *   1. the shared guards (guards.ts) decide skipped / deferred / planned, or let the action through;
 *   2. the resource's lease lock is taken (not acquired: skipped), the time guards are re-checked
 *      with fresh history (another run may just have acted: with `planHistory`, any change by
 *      another run since the plan was made skips the action);
 *   3. a mutating action is recorded as `intended` (with its undo) BEFORE the adapter calls AWS: if
 *      that write fails, AWS is not called; then the adapter runs and the same decision (same id)
 *      is resolved from its response, or, when the response says nothing certain, from AWS's state;
 *   4. every other action is recorded as one Decision (a plan without actions records one no-op)
 *      before the lock is released, so the next lock holder sees the cooldown.
 * Time is `run.now` throughout (the virtual clock in the simulator and backtests).
 */
export async function executePlan(input: ExecutePlanInput): Promise<Decision[]> {
  const { plan, run, store } = input;
  const histories = new Map<string, ResourceHistory>();
  const decisions: Decision[] = [];
  const actions = plan.actions.length > 0 ? plan.actions : [noopAction(plan)];
  for (const action of actions) {
    let history = histories.get(action.resource.id);
    if (!history) {
      // The history the tuner read for this plan is not read again (once per target per run).
      history =
        (action.resource.id === plan.resource.id && action.tuner === plan.tuner
          ? input.planHistory
          : undefined) ?? (await store.getHistory(action.tuner, action.resource.id, run.now));
      if (pendingIntents(history, run).length > 0) history = await resolveUnderLock(input, action, history);
      histories.set(action.resource.id, history);
    }
    const decision = await guardActRecord(input, action, history);
    decisions.push(decision);
    if (decision.outcome === 'applied' && action.mutating) histories.delete(action.resource.id);
  }
  return decisions;
}

/** Per run: when it last changed each resource (the cooldown treats one run's actions as one change). */
const ownChanges = new WeakMap<RunContext, Map<string, string>>();
let lockSequence = 0;

/** One owner per attempt: even two actions of one run never share a lease. */
function nextOwner(run: RunContext): string {
  lockSequence += 1;
  return `${run.runId}#${lockSequence}`;
}

/** Resolves other runs' pending intents on the action's resource holding its lock; the history after. */
async function resolveUnderLock(
  input: ExecutePlanInput,
  action: Action,
  history: ResourceHistory,
): Promise<ResourceHistory> {
  const { run, store, settings } = input;
  const owner = nextOwner(run);
  if (!(await store.acquireLock(action.tuner, action.resource.id, owner, run.now, settings.lockLeaseSeconds)))
    return history;
  try {
    const resolved = await resolvePending(store, history, run, input.adapter);
    return resolved.length > 0 ? await store.getHistory(action.tuner, action.resource.id, run.now) : history;
  } finally {
    await store.releaseLock(action.tuner, action.resource.id, owner);
  }
}

/** An intent AWS could not settle yet: the resource is left alone until it is. */
function intentPendingGuard(history: ResourceHistory, run: RunContext): GuardVerdict | undefined {
  const pending = pendingIntents(history, run)[0];
  if (!pending) return undefined;
  return {
    outcome: 'skipped',
    guard: 'intent-pending',
    reason: `${pending.action} ${pending.id} (${pending.at}) is not yet confirmed or ruled out in AWS's state: left alone until it is`,
  };
}

async function guardActRecord(input: ExecutePlanInput, action: Action, history: ResourceHistory) {
  const { target, settings, run, store } = input;
  const resourceId = action.resource.id;
  const createdByUs = action.deletes === true ? await store.wasCreatedByUs(action.tuner, resourceId) : false;
  const ownChangeAt = ownChanges.get(run)?.get(resourceId);
  const plannedLastAppliedAt =
    input.planHistory && resourceId === input.plan.resource.id
      ? (input.planHistory.lastAppliedAt ?? null)
      : undefined;
  const guardInput = {
    action,
    target,
    settings,
    run,
    history,
    now: run.now,
    createdByUs,
    ownChangeAt,
    plannedLastAppliedAt,
  };
  const verdict = evaluateGuards(guardsBeforeAct, guardInput);
  if (verdict) return record(input, decisionOf(input, action, verdict));

  const owner = nextOwner(run);
  if (!(await store.acquireLock(action.tuner, resourceId, owner, run.now, settings.lockLeaseSeconds))) {
    const locked: GuardVerdict = { outcome: 'skipped', guard: 'lock', reason: 'locked by another run' };
    return record(input, decisionOf(input, action, locked));
  }
  try {
    const fresh = await store.getHistory(action.tuner, resourceId, run.now);
    const recheck =
      (action.mutating ? intentPendingGuard(fresh, run) : undefined) ??
      evaluateGuards(guardsUnderLock, { ...guardInput, history: fresh });
    if (recheck) return await record(input, decisionOf(input, action, recheck));
    return await intendActResolve(input, action);
  } finally {
    await store.releaseLock(action.tuner, resourceId, owner);
  }
}

/**
 * Write-ahead: the intent (with its undo) is recorded before the adapter runs, then resolved in
 * place from the response. A failure that does not say whether AWS made the change (a lost
 * response, an unexpected error) is settled by the action kind's check of AWS's state; while that
 * cannot tell, the intent stays pending for a later run to settle.
 */
async function intendActResolve(input: ExecutePlanInput, action: Action): Promise<Decision> {
  const { adapter, target, run, store } = input;
  const intent = decisionOf(input, action, { outcome: 'intended', guard: 'intent', reason: action.reason });
  if (!action.mutating) {
    const { result } = await callAdapter(adapter, action, target);
    return record(input, { ...decisionOf(input, action, verdictOf(action, result)), id: intent.id });
  }
  await store.recordDecision(intent);
  const { result, certain } = await callAdapter(adapter, action, target);
  const resolution = { by: 'response' as const, at: run.now.toISOString(), runId: run.runId };
  let decision: Decision = {
    ...intent,
    ...fromVerdict(action, verdictOf(action, result)),
    ...(result.status === 'applied' && result.appliedTo !== undefined ? { to: result.appliedTo } : {}),
    resolution,
  };
  const check = intentCheckFor(action.kind, adapter);
  if (result.status === 'failed' && !certain && check) {
    const settled = resolvedFromState(intent, await runCheck(check, intent), run);
    if (!settled)
      return { ...intent, reason: `${result.reason}; whether AWS made the change is not known yet` };
    decision = settled.outcome === 'applied' ? settled : decision;
  }
  if (decision.outcome === 'applied') {
    run.changesApplied += 1;
    const changes = ownChanges.get(run) ?? new Map<string, string>();
    changes.set(action.resource.id, decision.at);
    ownChanges.set(run, changes);
  }
  await store.resolveDecision(decision);
  return decision;
}

/**
 * Adapter exceptions become a failed outcome with a message safe to show. `certain`: AWS answered
 * that it rejected the request (a client fault, HTTP 4xx), so it certainly made no change; any
 * other failure (a server fault, a timeout, a lost connection, an adapter's own failed result)
 * may hide a change AWS made, and is checked against AWS's state.
 */
async function callAdapter(
  adapter: Adapter,
  action: Action,
  target: Target,
): Promise<{ result: ActResult; certain: boolean }> {
  try {
    const result = await adapter(action, target);
    return { result, certain: result.status !== 'failed' };
  } catch (error) {
    const e = error as { $fault?: unknown; $metadata?: { httpStatusCode?: number } };
    const status = e?.$metadata?.httpStatusCode;
    const rejected = e?.$fault === 'client' && (status === undefined || (status >= 400 && status < 500));
    return { result: { status: 'failed', reason: publicMessage(error) }, certain: rejected };
  }
}

function verdictOf(
  action: Action,
  result: ActResult,
): GuardVerdict | { outcome: 'failed'; guard: string; reason: string } {
  switch (result.status) {
    case 'applied':
      return {
        outcome: 'applied',
        guard: 'adapter',
        reason: result.detail ? `${action.reason} (${result.detail})` : action.reason,
      };
    case 'deferred':
      return { outcome: 'deferred', guard: 'adapter', reason: result.reason, until: result.until };
    case 'skipped':
      return { outcome: 'skipped', guard: 'adapter', reason: result.reason };
    case 'failed':
      return {
        outcome: 'failed',
        guard: result.code ? `aws:${result.code}` : 'adapter',
        reason: result.reason,
      };
  }
}

async function record(input: ExecutePlanInput, decision: Decision): Promise<Decision> {
  await input.store.recordDecision(decision);
  return decision;
}

/**
 * Decision numbers per run id, not per run object: a copy of the run (`{ ...run, paused: false }`
 * for a hand-back) shares the numbering, so two decisions of one run never share an id (the state
 * table refuses the second record). Bounded: a Lambda container runs one invocation at a time, so
 * only the newest runs are ever still numbering.
 */
const sequence = new Map<string, number>();
const SEQUENCE_RUNS_KEPT = 256;

/** `${runId}:${n}`: unique within a run (run ids are unique), sortable within a run. */
export function nextDecisionId(run: RunContext): string {
  const n = (sequence.get(run.runId) ?? 0) + 1;
  sequence.delete(run.runId);
  sequence.set(run.runId, n);
  if (sequence.size > SEQUENCE_RUNS_KEPT) {
    const oldest = sequence.keys().next().value;
    if (oldest !== undefined) sequence.delete(oldest);
  }
  return `${run.runId}:${String(n).padStart(4, '0')}`;
}

type Verdict = { outcome: Outcome; guard: string; reason: string; until?: string };

/** The fields of a decision that a verdict sets. */
function fromVerdict(action: Action, verdict: Verdict): Partial<Decision> & Pick<Decision, 'outcome'> {
  return {
    outcome: verdict.outcome,
    reason: verdict.reason,
    guard: verdict.guard,
    ...(verdict.until !== undefined ? { deferredUntil: verdict.until } : {}),
    severity: action.severity ?? (verdict.outcome === 'failed' ? 'warning' : 'info'),
  };
}

function decisionOf(input: ExecutePlanInput, action: Action, verdict: Verdict): Decision {
  const { run, settings } = input;
  return {
    id: nextDecisionId(run),
    runId: run.runId,
    at: run.now.toISOString(),
    tuner: action.tuner,
    resource: action.resource.id,
    resourceKind: action.resource.kind,
    action: action.kind,
    outcome: verdict.outcome,
    reason: verdict.reason,
    evidence: action.evidence,
    monthlyCostDelta: action.monthlyCostDelta,
    from: action.from,
    to: action.to,
    undo: action.undo,
    ...(action.mutating && action.params ? { params: action.params } : {}),
    ...(verdict.until !== undefined ? { deferredUntil: verdict.until } : {}),
    guard: verdict.guard,
    mode: settings.mode,
    dryRun: run.dryRun,
    override: effectOf(settings, run) === 'override',
    trigger: run.trigger,
    severity: action.severity ?? (verdict.outcome === 'failed' ? 'warning' : 'info'),
  };
}

/** A plan without actions is recorded as one no-op, with the policy's reason and evidence. */
export function noopAction(plan: Plan): Action {
  return {
    tuner: plan.tuner,
    resource: plan.resource,
    kind: 'noop',
    from: null,
    to: null,
    reason: plan.noopReason ?? 'nothing to change',
    evidence: plan.noopEvidence ?? [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: false,
  };
}
