import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
// revert runs plans of every tuner's kinds: their intent checks (shared/tuners/common.ts).
import '../adapters/intent-checks.ts';
import type { Config } from '../config/schema.ts';
import type { DecisionTotals, RunContext, StateStore, Target } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import { executePlan, nextDecisionId } from '../core/executor.ts';
import type { Action, ActionKind, Decision, Outcome, ResourceKind, TunerName } from '../core/model.ts';
import type { LeftOut } from '../core/response-budget.ts';
import { accountPauseParameter, type PauseState, readPauseFlag, startRun } from '../core/run.ts';
import { resolveSettings } from '../core/settings.ts';
import { readHistory, sinceTime } from '../report/history.ts';
import type { TunerRegistration } from '../tuners/registry.ts';
import type { ControlCommand } from './schema.ts';
import { lookupTarget } from './target-lookup.ts';

export interface ControlDeps {
  ssm: SSMClient;
  store: StateStore;
  /** Lazy: pause and resume must work even when the configuration cannot be loaded. */
  config: () => Config;
  loadTuner: (name: TunerName) => Promise<TunerRegistration | undefined>;
  tagging: ResourceGroupsTaggingAPIClient;
  pauseParameter: string;
  now: Date;
  requestId: string;
}

export type ControlResult =
  | {
      ok: true;
      command: 'pause' | 'resume';
      paused: boolean;
      parameter: string;
      decisionId?: string;
      notes: string[];
    }
  | {
      ok: true;
      command: 'status';
      paused: boolean;
      pause: PauseState;
      lastControl?: Decision;
      /** Yesterday's and today's (UTC) decisions of every tuner, from the daily totals. */
      days: DayCount[];
      notes: string[];
    }
  | {
      ok: true;
      command: 'revert';
      decisionId: string;
      reverted: boolean;
      duplicate: boolean;
      decision?: Decision;
    }
  | { ok: false; command: 'revert'; decisionId: string; error: string }
  | {
      ok: true;
      command: 'history';
      since: string;
      until: string;
      /** Decisions in the window; `decisions` holds the newest `limit` of them, oldest first. */
      total: number;
      decisions: Decision[];
      /** Present when the answer was over the response budget (shared/core/response-budget.ts). */
      leftOut?: LeftOut;
    };

/** One UTC day's decisions of every tuner: notable ones and no-ops by outcome, applied cost. */
export interface DayCount {
  day: string;
  outcomes: Partial<Record<Outcome, number>>;
  noops: Partial<Record<Outcome, number>>;
  appliedCostDelta: number;
}

export async function runControl(command: ControlCommand, deps: ControlDeps): Promise<ControlResult> {
  switch (command.command) {
    case 'pause':
      return setPaused(true, command.reason, deps, command.account);
    case 'resume':
      return setPaused(false, command.reason, deps, command.account);
    case 'status':
      return status(deps);
    case 'revert':
      return revert(command.decisionId, command.dryRun, command.override, deps);
    case 'history':
      return history(command, deps);
  }
}

/** The audit log of a window (shared/report/history.ts), as `npm run history -- --table` reads it. */
async function history(
  command: Extract<ControlCommand, { command: 'history' }>,
  deps: ControlDeps,
): Promise<ControlResult> {
  const since = sinceTime(command.since, deps.now);
  const until = deps.now.toISOString();
  const decisions = await readHistory(deps.store, {
    since,
    until,
    tuner: command.tuner,
    resource: command.resource,
  });
  return {
    ok: true,
    command: 'history',
    since,
    until,
    total: decisions.length,
    decisions: decisions.slice(-command.limit),
  };
}

const ACCOUNT = { kind: 'account', id: 'db-autopilot' } as const;

/**
 * The kill switch: PutParameter (Overwrite) first, then the audit record. A broken state table
 * must not stop a person from pausing, so a failed record is reported, not thrown. With `account`
 * (a fleet's member account, issue 27) the account's own flag: only that account's runs stop.
 */
async function setPaused(
  paused: boolean,
  reason: string | undefined,
  deps: ControlDeps,
  account?: string,
): Promise<ControlResult> {
  const parameter = account ? accountPauseParameter(deps.pauseParameter, account) : deps.pauseParameter;
  const before = await readPauseFlag(deps.ssm, parameter);
  const why = reason ?? 'no reason given';
  await deps.ssm.send(
    new PutParameterCommand({
      Name: parameter,
      Value: paused ? 'true' : 'false',
      Type: 'String',
      Overwrite: true,
      Description:
        `db-autopilot kill switch: ${paused ? 'paused' : 'resumed'} at ${deps.now.toISOString()}: ${why}`.slice(
          0,
          1024,
        ),
    }),
  );
  const run = controlRun(deps, paused ? 'pause' : 'resume');
  const decision: Decision = {
    id: nextDecisionId(run),
    runId: run.runId,
    at: deps.now.toISOString(),
    tuner: 'control',
    resource: account ? `account:${account}` : ACCOUNT.id,
    resourceKind: ACCOUNT.kind,
    action: paused ? 'pause' : 'resume',
    outcome: 'applied',
    reason: `${account ? `account ${account} ` : ''}${paused ? 'paused' : 'resumed'} by a manual invocation: ${why}`,
    evidence: [],
    monthlyCostDelta: 0,
    from: { paused: before.paused },
    to: { paused },
    undo: { kind: paused ? 'resume' : 'pause', params: {} },
    guard: 'control',
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'manual',
    severity: paused ? 'warning' : 'info',
  };
  const notes = before.source === 'error' ? [before.detail] : [];
  let recorded = true;
  try {
    await deps.store.recordDecision(decision);
  } catch (error) {
    recorded = false;
    notes.push(`the ${decision.action} took effect but could not be recorded: ${publicMessage(error)}`);
  }
  return {
    ok: true,
    command: decision.action as 'pause' | 'resume',
    paused,
    parameter,
    ...(recorded ? { decisionId: decision.id } : {}),
    notes,
  };
}

function controlRun(deps: ControlDeps, what: string): RunContext {
  return {
    runId: `control-${what}-${deps.requestId}`,
    tuner: 'control',
    trigger: 'manual',
    dryRun: false,
    override: false,
    idempotencyKey: `control:${what}:${deps.requestId}`,
    now: deps.now,
    paused: false,
    changesApplied: 0,
  };
}

async function status(deps: ControlDeps): Promise<ControlResult> {
  const pause = await readPauseFlag(deps.ssm, deps.pauseParameter);
  const notes: string[] = [];
  const days: DayCount[] = [];
  let lastControl: Decision | undefined;
  try {
    // Counted from the daily totals kept as decisions are recorded (no decision is read).
    for (const ago of [1, 0]) {
      const day = new Date(deps.now.getTime() - ago * 86_400_000).toISOString().slice(0, 10);
      days.push(dayCount(day, await deps.store.totals(day)));
    }
    lastControl = await deps.store.newestDecision('control', ACCOUNT.id);
  } catch (error) {
    notes.push(`the state table could not be read: ${publicMessage(error)}`);
  }
  return {
    ok: true,
    command: 'status',
    paused: pause.paused,
    pause,
    ...(lastControl ? { lastControl } : {}),
    days,
    notes,
  };
}

/** Every tuner's totals of one day, summed. */
function dayCount(day: string, totals: DecisionTotals[]): DayCount {
  const out: DayCount = { day, outcomes: {}, noops: {}, appliedCostDelta: 0 };
  for (const t of totals) {
    for (const [o, n] of Object.entries(t.outcomes) as [Outcome, number][])
      out.outcomes[o] = (out.outcomes[o] ?? 0) + n;
    for (const [o, n] of Object.entries(t.noops) as [Outcome, number][])
      out.noops[o] = (out.noops[o] ?? 0) + n;
    out.appliedCostDelta += t.appliedCostDelta;
  }
  return out;
}

const ACTION_KINDS: Record<ActionKind, true> = {
  'set-iops': true,
  'set-storage-type': true,
  'add-replica': true,
  'remove-replica': true,
  'add-route': true,
  'remove-route': true,
  'set-capacity': true,
  'set-scaling-target': true,
  'set-capacity-mode': true,
  prewarm: true,
  'set-pool': true,
  'set-serverless-bounds': true,
  'idle-instance': true,
  'oversized-instance': true,
  vacuum: true,
  analyze: true,
  reindex: true,
  'create-index': true,
  'drop-index': true,
  recommend: true,
  finding: true,
  'put-alarm': true,
  'delete-alarm': true,
  'put-dashboard': true,
  noop: true,
  pause: true,
  resume: true,
  revert: true,
};

const DELETING: ReadonlySet<ActionKind> = new Set<ActionKind>(['remove-replica', 'delete-alarm']);

function isActionKind(kind: string): kind is ActionKind {
  return Object.hasOwn(ACTION_KINDS, kind);
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Why a recorded decision cannot be reverted, or undefined if it can be tried. */
export function revertRefusal(decision: Decision): string | undefined {
  if (decision.tuner === 'control')
    return `decision ${decision.id} is a ${decision.action}: use the pause / resume commands`;
  if (decision.outcome !== 'applied') {
    return `decision ${decision.id} was not applied (outcome ${decision.outcome}): there is nothing to revert`;
  }
  if (!decision.undo) return `decision ${decision.id} (${decision.action}) records no way to undo it`;
  if (decision.undo.impossibleBecause)
    return `AWS does not allow undoing ${decision.id}: ${decision.undo.impossibleBecause}`;
  return undefined;
}

const resourceKindSchema = z.enum([
  'rds-instance',
  'aurora-cluster',
  'dynamodb-table',
  'dynamodb-gsi',
  'postgres-database',
  'postgres-table',
  'postgres-index',
  'cloudwatch-alarm',
  'account',
] as const satisfies readonly ResourceKind[]);

/** An undo names its resource as an id (plus `resourceKind`) or as a ResourceRef `{ kind, id }`. */
const undoResourceSchema = z.union([
  z.string().min(1),
  z.object({ kind: resourceKindSchema, id: z.string().min(1) }).passthrough(),
]);

/**
 * The resource an undo acts on: usually the decision's own resource, but an undo may name another
 * (a scale-out is recorded on the cluster; its undo deletes the replica it created). Policies
 * record it as `params.resource`, either an id or a ResourceRef (shared/policies/replicas.ts).
 */
export function undoTargetRef(decision: Decision): { kind: Decision['resourceKind']; id: string } {
  const params = decision.undo?.params ?? {};
  const named = undoResourceSchema.safeParse(params.resource);
  if (named.success && typeof named.data !== 'string') return { kind: named.data.kind, id: named.data.id };
  const id = named.success && typeof named.data === 'string' ? named.data : decision.resource;
  const kindParam = resourceKindSchema.safeParse(params.resourceKind);
  const kind = kindParam.success
    ? kindParam.data
    : id !== decision.resource && decision.resourceKind === 'aurora-cluster'
      ? 'rds-instance'
      : decision.resourceKind;
  return { kind, id };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * The numbers the tuner's adapter will actually apply for a replayed undo, read from the same
 * fields the adapter reads (shared/adapters/rds-iops.ts: `Iops`, else the target value;
 * shared/adapters/dynamodb-capacity.ts: every `updates[].read` / `write`), never from a field
 * the adapter ignores (a recorded `numericTarget`).
 */
export function appliedValues(kind: ActionKind, params: Record<string, unknown>, to: unknown): number[] {
  switch (kind) {
    case 'set-iops': {
      const v = num(params.Iops) ?? num(to);
      return v === undefined ? [] : [v];
    }
    case 'set-capacity':
    case 'prewarm': {
      const updates = Array.isArray(params.updates) ? (params.updates as Array<Record<string, unknown>>) : [];
      const values = updates.flatMap((u) => [num(u.read), num(u.write)]).filter((v) => v !== undefined);
      return values.length > 0 ? values : num(to) === undefined ? [] : [num(to) as number];
    }
    default:
      return num(to) === undefined ? [] : [num(to) as number];
  }
}

/** The Action that replays a decision's recorded undo. */
export function revertAction(decision: Decision): Action {
  const undo = decision.undo ?? { kind: 'revert', params: {} };
  const kind: ActionKind = isActionKind(undo.kind) ? undo.kind : 'revert';
  const values = appliedValues(kind, undo.params, decision.from);
  const target = values.length === 1 ? values[0] : undefined;
  return {
    tuner: decision.tuner,
    resource: undoTargetRef(decision),
    kind,
    from: decision.to,
    to: decision.from,
    reason: `revert of ${decision.id} (${decision.action} ${show(decision.from)} -> ${show(decision.to)}) as recorded: ${undo.kind}`,
    evidence: [],
    monthlyCostDelta: -decision.monthlyCostDelta,
    undo: null,
    mutating: true,
    deletes: undo.params.deletes === true || DELETING.has(kind),
    ...(typeof target === 'number' ? { numericTarget: target } : {}),
    params: { ...undo.params, undoKind: undo.kind, revertOf: decision.id },
    severity: 'warning',
  };
}

/** Replays a recorded undo through executePlan: the pause flag, consent, bounds, cooldown, mode, lock. */
async function revert(
  decisionId: string,
  dryRun: boolean,
  override: boolean,
  deps: ControlDeps,
): Promise<ControlResult> {
  const refuse = (error: string): ControlResult => ({ ok: false, command: 'revert', decisionId, error });
  const original = await deps.store.getDecision(decisionId);
  if (!original) return refuse(`no decision ${decisionId} is recorded`);
  const refusal = revertRefusal(original);
  if (refusal) return refuse(refusal);
  const registration = await deps.loadTuner(original.tuner);
  if (!registration?.adapter)
    return refuse(`the ${original.tuner} tuner registers no adapter to revert with`);
  const ref = undoTargetRef(original);
  const config = deps.config();
  const target: Target | undefined = registration.target
    ? await registration.target(ref)
    : await lookupTarget(deps.tagging, config, original.tuner, ref);
  if (!target) return refuse(`${ref.id} was not found: its tags (consent, opt-out) cannot be checked`);

  const started = await startRun({
    tuner: original.tuner,
    request: {
      trigger: 'manual',
      dryRun,
      override,
      idempotencyKey: `revert:${decisionId}:${deps.requestId}`,
    },
    store: deps.store,
    ssm: deps.ssm,
    pauseParameter: deps.pauseParameter,
    now: deps.now,
    runId: `revert-${deps.requestId}`,
  });
  if (started.duplicate) return { ok: true, command: 'revert', decisionId, reverted: false, duplicate: true };
  const action = revertAction(original);
  const settings = resolveSettings(config, original.tuner);
  // The current configuration's bounds, on exactly the values the adapter will apply.
  const outside = appliedValues(action.kind, action.params ?? {}, action.to).filter(
    (v) =>
      (settings.min !== undefined && v < settings.min) || (settings.max !== undefined && v > settings.max),
  );
  if (outside.length > 0) {
    return refuse(
      `reverting ${decisionId} would apply ${outside.join(', ')}, outside the configured bounds ${settings.min ?? '-'}..${settings.max ?? '-'} of ${original.tuner}`,
    );
  }
  const [decision] = await executePlan({
    plan: { tuner: original.tuner, resource: ref, observedAt: deps.now.toISOString(), actions: [action] },
    target,
    settings,
    adapter: registration.adapter,
    run: started.run,
    store: deps.store,
  });
  return {
    ok: true,
    command: 'revert',
    decisionId,
    reverted: decision?.outcome === 'applied',
    duplicate: false,
    ...(decision ? { decision } : {}),
  };
}
