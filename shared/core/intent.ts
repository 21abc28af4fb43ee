import type { Adapter, IntentCheck, ResourceHistory, RunContext, StateStore } from './contracts.ts';
import { publicMessage } from './errors.ts';
import type { ActionKind, Decision, TunerName } from './model.ts';

/**
 * Write-ahead intent (design.md "Intent is written before AWS is called"). The executor records a
 * mutating action as an `intended` decision, with its undo, before the adapter calls AWS, then
 * resolves that same decision (same id) from the response. When the response says nothing certain
 * (lost, an unexpected error) or the run dies, the intent is resolved from AWS's own state: now by
 * the action kind's IntentCheck, or on a later run that finds it pending. A resolution is a
 * conditional update of an `intended` decision, so a change is never recorded `applied` twice.
 */

const checks = new Map<ActionKind, IntentCheck>();

/** Adapters (shared/adapters/intent-checks.ts) register how AWS shows each kind of change. */
export function registerIntentCheck(kind: ActionKind, check: IntentCheck): void {
  checks.set(kind, check);
}

/** The adapter's own check, else the one registered for the action kind. */
export function intentCheckFor(kind: ActionKind, adapter?: Adapter): IntentCheck | undefined {
  return adapter?.check ?? checks.get(kind);
}

/** Intended decisions of other runs still waiting to be resolved, oldest first. */
export function pendingIntents(history: ResourceHistory, run: RunContext): Decision[] {
  const byId = new Map<string, Decision>();
  for (const d of [...(history.pending ?? []), ...history.recent]) {
    if (d.outcome === 'intended' && d.runId !== run.runId) byId.set(d.id, d);
  }
  return [...byId.values()].sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
}

export type CheckVerdict = Awaited<ReturnType<IntentCheck>>;

/** Runs a check; an error of the check itself is `unknown` (ask again later), never a verdict. */
export async function runCheck(check: IntentCheck | undefined, intent: Decision): Promise<CheckVerdict> {
  if (!check) return { verdict: 'unknown', detail: `no way to check a ${intent.action} in AWS's state` };
  try {
    return await check(intent);
  } catch (error) {
    return { verdict: 'unknown', detail: `the check failed: ${publicMessage(error)}` };
  }
}

/** The intended decision as AWS's state shows it, or undefined while AWS cannot tell. */
export function resolvedFromState(
  intent: Decision,
  verdict: CheckVerdict,
  run: RunContext,
): Decision | undefined {
  if (verdict.verdict === 'unknown') return undefined;
  const resolution = {
    by: 'aws-state' as const,
    at: run.now.toISOString(),
    runId: run.runId,
    detail: verdict.detail,
  };
  if (verdict.verdict === 'applied') {
    return {
      ...intent,
      ...(verdict.appliedTo !== undefined ? { to: verdict.appliedTo } : {}),
      outcome: 'applied',
      guard: 'intent',
      reason: `${intent.reason} (confirmed from AWS's state: ${verdict.detail})`,
      resolution,
    };
  }
  return {
    ...intent,
    outcome: 'failed',
    guard: 'intent',
    reason: `not applied: ${verdict.detail} (the run stopped or its call failed before AWS made the change)`,
    severity: 'warning',
    resolution,
  };
}

/**
 * Resolves the pending intents of other runs on one resource from AWS's state (call it holding the
 * resource's lock, so no run is between its intent and its call). Returns the decisions it resolved.
 */
export async function resolvePending(
  store: StateStore,
  history: ResourceHistory,
  run: RunContext,
  adapter?: Adapter,
): Promise<Decision[]> {
  const resolved: Decision[] = [];
  for (const intent of pendingIntents(history, run)) {
    const check = intentCheckFor(intent.action, adapter);
    // Without a check, AWS's state cannot settle it: recorded as failed with an unknown outcome
    // (the run that intended it is gone: this run holds the lock), never left blocking the resource.
    const decision = check
      ? resolvedFromState(intent, await runCheck(check, intent), run)
      : {
          ...intent,
          outcome: 'failed' as const,
          guard: 'intent',
          reason: `outcome unknown: the run stopped after recording its intent to ${intent.action} and AWS's state cannot be checked for it`,
          severity: 'warning' as const,
          resolution: { by: 'aws-state' as const, at: run.now.toISOString(), runId: run.runId },
        };
    if (decision && (await store.resolveDecision(decision))) resolved.push(decision);
  }
  return resolved;
}

/** How long a run holds a resource's lock while it settles intents there (a few describe calls). */
export const SETTLE_LOCK_SECONDS = 120;

export interface SettledIntents {
  /** The intents this run resolved from AWS's state. */
  resolved: Decision[];
  /** What kept some from being settled (AWS cannot tell yet, the resource is locked, a failure). */
  notes: string[];
}

/**
 * Settles every pending intent of the given tuners (their intent indexes in the store), whatever
 * resource it names, at the start of a run: a removed replica or an alarm that no later plan names
 * is still resolved from AWS's state. Each resource's intents are settled holding its lock (a run
 * still between its intent and its call holds that lock: its intents are left to it). Best effort:
 * a failure is noted and the run goes on (the executor settles a planned resource's intents again
 * under its lock, and leaves the resource alone while one is pending).
 */
export async function settleTunerIntents(
  store: StateStore,
  tuners: readonly TunerName[],
  run: RunContext,
  adapter?: Adapter,
): Promise<SettledIntents> {
  const out: SettledIntents = { resolved: [], notes: [] };
  for (const tuner of tuners) {
    let intents: Decision[];
    try {
      intents = (await store.listIntents(tuner)).filter((d) => d.runId !== run.runId);
    } catch (error) {
      out.notes.push(`could not read the ${tuner} intents to settle: ${publicMessage(error)}`);
      continue;
    }
    for (const [resource, pending] of groupByResource(intents)) {
      try {
        await settleResource(store, tuner, resource, pending, run, adapter, out);
      } catch (error) {
        out.notes.push(`could not settle the ${tuner} intents on ${resource}: ${publicMessage(error)}`);
      }
    }
  }
  return out;
}

function groupByResource(intents: Decision[]): Map<string, Decision[]> {
  const byResource = new Map<string, Decision[]>();
  for (const d of intents) byResource.set(d.resource, [...(byResource.get(d.resource) ?? []), d]);
  return byResource;
}

async function settleResource(
  store: StateStore,
  tuner: TunerName,
  resource: string,
  pending: Decision[],
  run: RunContext,
  adapter: Adapter | undefined,
  out: SettledIntents,
): Promise<void> {
  const owner = `${run.runId}#settle#${resource}`;
  if (!(await store.acquireLock(tuner, resource, owner, run.now, SETTLE_LOCK_SECONDS))) {
    out.notes.push(
      `${pending.length} ${tuner} intent(s) on ${resource} left for later: the resource is locked`,
    );
    return;
  }
  try {
    const resolved = await resolvePending(store, { recent: [], pending }, run, adapter);
    out.resolved.push(...resolved);
    const left = pending.length - resolved.length;
    if (left > 0)
      out.notes.push(
        `${left} ${tuner} intent(s) on ${resource} not settled by this run (AWS's state cannot tell yet, or another run settled it)`,
      );
  } finally {
    await store.releaseLock(tuner, resource, owner);
  }
}
