import type { Adapter, ExecutePlanInput, ResourceHistory, RunContext, Target } from './contracts.ts';
import { publicMessage } from './errors.ts';
import { effectOf, evaluateGuards, type GuardVerdict, guardsBeforeAct, guardsUnderLock } from './guards.ts';
import type { Action, ActResult, Decision, Outcome, Plan } from './model.ts';

/**
 * guard -> act -> record, for every Action of a Plan:
 *   1. the shared guards (guards.ts) decide skipped / deferred / planned, or let the action through;
 *   2. the resource's lease lock is taken (not acquired: skipped), the time guards are re-checked
 *      with fresh history (another run may just have acted: with `planHistory`, any change by
 *      another run since the plan was made skips the action), and the adapter runs;
 *   3. one Decision per Action is recorded (a plan without actions records one no-op) before the
 *      lock is released, so the next lock holder sees the cooldown.
 * Time is `run.now` throughout (the virtual clock in the simulator and backtests).
 */
export async function executePlan(input: ExecutePlanInput): Promise<Decision[]> {
  const { plan, run, store } = input;
  const histories = new Map<string, ResourceHistory>();
  const decisions: Decision[] = [];
  const actions = plan.actions.length > 0 ? plan.actions : [noopAction(plan)];
  for (const action of actions) {
    // The history the tuner read for this plan is not read again (once per target per run).
    let history =
      histories.get(action.resource.id) ??
      (action.resource.id === plan.resource.id && action.tuner === plan.tuner
        ? input.planHistory
        : undefined);
    if (!history) {
      history = await store.getHistory(action.tuner, action.resource.id, run.now);
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

async function guardActRecord(input: ExecutePlanInput, action: Action, history: ResourceHistory) {
  const { target, settings, adapter, run, store } = input;
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

  // One owner per attempt: even two actions of one run never share a lease.
  lockSequence += 1;
  const owner = `${run.runId}#${lockSequence}`;
  if (!(await store.acquireLock(action.tuner, resourceId, owner, run.now, settings.lockLeaseSeconds))) {
    const locked: GuardVerdict = { outcome: 'skipped', guard: 'lock', reason: 'locked by another run' };
    return record(input, decisionOf(input, action, locked));
  }
  try {
    const fresh = await store.getHistory(action.tuner, resourceId, run.now);
    const recheck = evaluateGuards(guardsUnderLock, { ...guardInput, history: fresh });
    if (recheck) return await record(input, decisionOf(input, action, recheck));
    const result = await callAdapter(adapter, action, target);
    const decision = decisionOf(input, action, verdictOf(action, result));
    if (result.status === 'applied') {
      run.changesApplied += 1;
      const changes = ownChanges.get(run) ?? new Map<string, string>();
      changes.set(resourceId, decision.at);
      ownChanges.set(run, changes);
    }
    return await record(input, decision);
  } finally {
    await store.releaseLock(action.tuner, resourceId, owner);
  }
}

/** Adapter exceptions become a failed outcome with a message safe to show. */
async function callAdapter(adapter: Adapter, action: Action, target: Target): Promise<ActResult> {
  try {
    return await adapter(action, target);
  } catch (error) {
    return { status: 'failed', reason: publicMessage(error) };
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

const sequence = new WeakMap<RunContext, number>();

/** `${runId}:${n}`: unique within a run (run ids are unique), sortable within a run. */
export function nextDecisionId(run: RunContext): string {
  const n = (sequence.get(run) ?? 0) + 1;
  sequence.set(run, n);
  return `${run.runId}:${String(n).padStart(4, '0')}`;
}

function decisionOf(
  input: ExecutePlanInput,
  action: Action,
  verdict: { outcome: Outcome; guard: string; reason: string; until?: string },
): Decision {
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
