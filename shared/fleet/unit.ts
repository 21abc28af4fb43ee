/**
 * One unit of a fleet run: one tuner in one member account and Region. Credentials first (a role
 * that cannot be assumed is recorded as a failed decision of that scope and the unit ends: the
 * other units never wait for it), then the tuner's own run inside the scope: its discovery and
 * changes reach the member account, its records carry the scope, its account's pause flag is
 * obeyed (shared/core/scope.ts, shared/core/run.ts).
 */
import type { StateStore, TunerEntry, TunerRunRequest } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import type { Decision, Outcome, TunerName } from '../core/model.ts';
import { type FleetScope, type MemberClients, runInScope, scopeKey } from '../core/scope.ts';
import type { AssumeResult, MemberCredentials } from './credentials.ts';
import type { FleetUnit } from './plan.ts';

export interface UnitDeps {
  credentials: (account: string) => Promise<AssumeResult>;
  clientsFor: (scope: FleetScope, credentials: MemberCredentials) => MemberClients;
  tuner: (name: TunerName) => Promise<TunerEntry>;
  store: StateStore;
  now: () => Date;
  remainingMs?: () => number;
}

export type UnitStatus = 'done' | 'paused' | 'duplicate' | 'unavailable' | 'failed';

export interface UnitResult {
  scope: string;
  account: string;
  region: string;
  tuner: TunerName;
  status: UnitStatus;
  /** Decisions of this unit by outcome. */
  outcomes: Partial<Record<Outcome, number>>;
  detail?: string;
}

function resultOf(unit: FleetUnit, status: UnitStatus, decisions: Decision[], detail?: string): UnitResult {
  const outcomes: Partial<Record<Outcome, number>> = {};
  for (const d of decisions) outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
  return {
    scope: scopeKey(unit),
    account: unit.account,
    region: unit.region,
    tuner: unit.tuner,
    status,
    outcomes,
    ...(detail ? { detail } : {}),
  };
}

/**
 * The failed no-op a unit records in its own scope when it could not run (guard `member-role` or
 * `run-failed`), so the reports list the scope. The id is the unit's: a redelivered unit records
 * it once.
 */
function unitFailure(unit: FleetUnit, guard: string, reason: string, now: Date): Decision {
  const runId = `fleet-${unit.runId}-${unit.tuner}`;
  return {
    id: `${runId}:${scopeKey(unit)}:${guard}`,
    runId,
    at: now.toISOString(),
    tuner: unit.tuner,
    resource: `account:${unit.account}`,
    resourceKind: 'account',
    action: 'noop',
    outcome: 'failed',
    reason,
    evidence: [],
    monthlyCostDelta: 0,
    from: null,
    to: null,
    undo: null,
    guard,
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'warning',
  };
}

async function recordFailure(unit: FleetUnit, decision: Decision, deps: UnitDeps): Promise<void> {
  await runInScope(unit, {}, async () => {
    try {
      await deps.store.recordDecision(decision);
    } catch (error) {
      // Recorded before (a redelivered unit) or the table failed: the unit's result still says it.
      if ((error as Error).name !== 'DuplicateDecisionError') throw error;
    }
  });
}

/** Runs one unit; never throws for one scope's trouble (the Map goes on with the others). */
export async function runFleetUnit(unit: FleetUnit, deps: UnitDeps): Promise<UnitResult> {
  const assumed = await deps.credentials(unit.account);
  if (!assumed.ok) {
    await recordFailure(unit, unitFailure(unit, 'member-role', assumed.reason, deps.now()), deps);
    return resultOf(unit, 'unavailable', [], assumed.reason);
  }
  const clients = deps.clientsFor(unit, assumed.credentials);
  const request: TunerRunRequest = {
    trigger: 'schedule',
    dryRun: false,
    override: false,
    // Scoped by the key layout: the same run id in two scopes are two keys.
    idempotencyKey: `fleet:${unit.runId}:${unit.tuner}`,
    ...(deps.remainingMs ? { remainingMs: deps.remainingMs } : {}),
  };
  try {
    const run = await deps.tuner(unit.tuner);
    const summary = await runInScope(unit, clients, () => run(request));
    const status: UnitStatus = summary.paused ? 'paused' : summary.duplicate ? 'duplicate' : 'done';
    return resultOf(unit, status, summary.decisions, summary.paused ? summary.notes[0] : undefined);
  } catch (error) {
    const reason = `run failed: ${publicMessage(error)}`;
    await recordFailure(unit, unitFailure(unit, 'run-failed', reason, deps.now()), deps).catch(
      () => undefined,
    );
    return resultOf(unit, 'failed', [], reason);
  }
}
