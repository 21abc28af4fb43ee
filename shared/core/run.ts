import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { GetParameterCommand, ParameterNotFound, type SSMClient } from '@aws-sdk/client-ssm';
import { ssmClient } from '../aws/clients.ts';
import { emitDecisionMetrics } from '../handler/decision-metrics.ts';
import { logger } from '../handler/observability.ts';
import { wouldChangeText, wouldChangeTotals } from '../report/totals.ts';
import { tunersRecordedBy } from '../state/keys.ts';
import { clock } from './clock.ts';
import type {
  Adapter,
  ResourceHistory,
  RunContext,
  StateStore,
  Target,
  TunerRunRequest,
  TunerRunSummary,
  TunerSettings,
} from './contracts.ts';
import { publicMessage } from './errors.ts';
import { executePlan, nextDecisionId } from './executor.ts';
import { type SettledIntents, settleTunerIntents } from './intent.ts';
import type { Decision, Mode, Plan, ResourceRef, TunerName } from './model.ts';
import { currentScope } from './scope.ts';

export const DEFAULT_PAUSE_PARAMETER = '/db-autopilot/paused';

/** Redelivered EventBridge events arrive within hours; keys are kept a week. */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;

export function pauseParameterName(): string {
  return process.env.PAUSE_PARAMETER || DEFAULT_PAUSE_PARAMETER;
}

export interface PauseState {
  paused: boolean;
  /** parameter: read it; missing: no parameter (not paused); error: could not read it (fail safe: paused). */
  source: 'parameter' | 'missing' | 'error';
  detail: string;
}

const RUNNING_VALUES = new Set(['false', 'no', 'off', '0']);
const PAUSED_VALUES = new Set(['true', 'yes', 'on', '1', 'paused']);

/**
 * The kill switch, read first by every run: SSM parameter value "true" = paused, "false" =
 * running; a value it does not recognise counts as paused (fail safe). A missing parameter means
 * not paused; any other error counts as paused (fail safe) and says so.
 */
export async function readPauseFlag(
  ssm: SSMClient = ssmClient(),
  name: string = pauseParameterName(),
): Promise<PauseState> {
  try {
    const result = await ssm.send(new GetParameterCommand({ Name: name }));
    const value = result.Parameter?.Value?.trim().toLowerCase() ?? '';
    if (RUNNING_VALUES.has(value)) {
      return { paused: false, source: 'parameter', detail: `${name} is "${value}": running` };
    }
    if (PAUSED_VALUES.has(value)) {
      return { paused: true, source: 'parameter', detail: `${name} is "${value}": paused` };
    }
    // A person who wrote something else in a hurry most likely meant to stop it.
    const detail = `${name} is "${value}", neither "true" nor "false": treated as paused (fail safe)`;
    logger.warn(detail);
    return { paused: true, source: 'parameter', detail };
  } catch (error) {
    if (error instanceof ParameterNotFound) {
      return { paused: false, source: 'missing', detail: `${name} does not exist: running` };
    }
    const detail = `could not read the pause flag ${name} (${publicMessage(error)}): treated as paused (fail safe)`;
    logger.warn(detail);
    return { paused: true, source: 'error', detail };
  }
}

/** The pause flag of one account of a fleet: `<pause parameter>/<account>` (e.g. `/db-autopilot/paused/123456789012`). */
export function accountPauseParameter(name: string, account: string): string {
  return `${name}/${account}`;
}

/**
 * The kill switch a run obeys: the global flag, and inside a fleet member scope
 * (shared/core/scope.ts) also its account's own flag, so one account can be paused alone. Both
 * live in the central account's SSM (the member scope's clients never include SSM).
 */
export async function readRunPause(
  ssm: SSMClient = ssmClient(),
  name: string = pauseParameterName(),
): Promise<PauseState> {
  const global = await readPauseFlag(ssm, name);
  const scope = currentScope();
  if (global.paused || !scope) return global;
  return readPauseFlag(ssm, accountPauseParameter(name, scope.account));
}

export interface StartRunInput {
  tuner: TunerName;
  request: TunerRunRequest;
  store: StateStore;
  now?: Date;
  ssm?: SSMClient;
  pauseParameter?: string;
  /** Tests and backtests pass their own; otherwise `${tuner}-<time>-<random>`. */
  runId?: string;
  idempotencyTtlSeconds?: number;
  /** The tuner's adapter, when it has its own check of AWS's state (else the action kind's). */
  adapter?: Adapter;
}

export interface StartedRun {
  run: RunContext;
  /** The idempotency key was seen before: do nothing. */
  duplicate: boolean;
  pause: PauseState;
  /** Intents of earlier runs this run settled before anything else (see settleTunerIntents). */
  settled?: SettledIntents;
}

export function newRunId(tuner: TunerName, now: Date): string {
  return `${tuner}-${now.toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
}

/**
 * Starts a run: the pause flag first, then the idempotency key. A paused run claims no key
 * (it did nothing, so a redelivery after `resume` may act). A run that goes on then settles the
 * pending intents of earlier runs of its tuner, whatever resource they name (write-ahead intent:
 * shared/core/intent.ts): reading AWS's state and recording, never changing AWS.
 */
export async function startRun(input: StartRunInput): Promise<StartedRun> {
  const now = input.now ?? clock().now();
  const { request, tuner } = input;
  const pause = await readRunPause(input.ssm, input.pauseParameter);
  const run: RunContext = {
    runId: input.runId ?? newRunId(tuner, now),
    tuner,
    trigger: request.trigger,
    dryRun: request.dryRun,
    override: request.override,
    idempotencyKey: request.idempotencyKey,
    now,
    paused: pause.paused,
    changesApplied: 0,
  };
  const none: SettledIntents = { resolved: [], notes: [] };
  if (pause.paused) return { run, duplicate: false, pause, settled: none };
  const ttl = input.idempotencyTtlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS;
  const key = request.idempotencyKey;
  const claimed = await input.store.claimIdempotencyKey(tuner, key, run.runId, now, ttl);
  if (!claimed) return { run, duplicate: true, pause, settled: none };
  invocationClaims.getStore()?.push({ store: input.store, tuner, key, runId: run.runId });
  const settled = await settleTunerIntents(input.store, tunersRecordedBy(tuner), run, input.adapter);
  return { run, duplicate: false, pause, settled };
}

interface Claim {
  store: StateStore;
  tuner: TunerName;
  key: string;
  runId: string;
}

/** The idempotency keys claimed during one invocation (shared/handler/wrap.ts opens the scope). */
const invocationClaims = new AsyncLocalStorage<Claim[]>();

/**
 * Runs `fn` with a record of the idempotency keys its runs claim. `onRejected` (the caller's
 * decision that the invocation was bad input, which by contract changed nothing) gives them back,
 * so a corrected retry with the same key acts; after any other failure the keys stay claimed and
 * Lambda's asynchronous retries of the failed run find them (never act twice).
 */
export async function withClaimScope<T>(
  fn: () => Promise<T>,
  onError: (error: unknown) => { release: boolean },
): Promise<T> {
  const claims: Claim[] = [];
  try {
    return await invocationClaims.run(claims, fn);
  } catch (error) {
    if (onError(error).release) {
      for (const c of claims)
        await c.store.releaseIdempotencyKey(c.tuner, c.key, c.runId).catch(() => undefined);
    }
    throw error;
  }
}

/** The summary a tuner function returns. */
export function finishRun(started: StartedRun, decisions: Decision[], notes: string[] = []): TunerRunSummary {
  const extra = [
    ...(started.pause.paused ? [started.pause.detail] : []),
    ...(started.duplicate
      ? [`idempotency key ${started.run.idempotencyKey} was already handled: nothing done`]
      : []),
  ];
  const settled = started.settled?.resolved ?? [];
  const settledNotes = [
    ...(settled.length > 0 ? [`settled ${settled.length} intent(s) of earlier runs from AWS's state`] : []),
    ...(started.settled?.notes ?? []),
  ];
  emitDecisionMetrics([...settled, ...decisions]);
  const plan = wouldChangeTotals(decisions);
  return {
    ok: true,
    tuner: started.run.tuner,
    runId: started.run.runId,
    paused: started.pause.paused,
    duplicate: started.duplicate,
    decisions: [...settled, ...decisions],
    notes: [...extra, ...settledNotes, ...notes],
    // Observe mode (or a dry run): what the plan would change and save.
    ...(plan.wouldChange > 0 ? { plan: { ...plan, text: wouldChangeText(plan) } } : {}),
  };
}

export interface TunerLoopInput {
  tuner: TunerName;
  request: TunerRunRequest;
  store: StateStore;
  adapter: Adapter;
  /** The targets this tuner may look at (discovery + resolveTarget). */
  discover: () => Promise<Target[]>;
  settingsFor: (target: Target) => TunerSettings;
  /** observe + decide for one target (drift check included); `history` is the store's record. */
  plan: (target: Target, history: ResourceHistory, run: RunContext) => Promise<Plan>;
  now?: Date;
  ssm?: SSMClient;
  pauseParameter?: string;
  runId?: string;
  /** Stop starting targets when less than this is left (default 30 s). */
  safetyMarginMs?: number;
}

/**
 * The whole loop for tuners that want it: start (pause, idempotency) -> discover -> for each
 * target: history -> plan -> executePlan -> summary. A target whose observation fails records a
 * failed decision and the loop goes on.
 */
export async function runTunerLoop(input: TunerLoopInput): Promise<TunerRunSummary> {
  const started = await startRun(input);
  if (started.run.paused || started.duplicate) return finishRun(started, []);
  const { run } = started;
  const notes: string[] = [];
  const targets = selectRequested(
    await input.discover(),
    input.request.resourceIds,
    notes,
    (id) => `${id}: not found among the ${input.tuner} targets`,
  );
  const decisions: Decision[] = [];
  for (const target of targets) {
    if (outOfTime(input.request, target.ref.id, notes, input.safetyMarginMs)) break;
    const settings = input.settingsFor(target);
    let plan: Plan;
    let history: ResourceHistory;
    try {
      history = await input.store.getHistory(input.tuner, target.ref.id, run.now);
      plan = await input.plan(target, history, run);
    } catch (error) {
      decisions.push(await recordObservationFailure(input.store, run, target.ref, settings.mode, error));
      continue;
    }
    decisions.push(
      ...(await executePlan({
        plan,
        target,
        settings,
        adapter: input.adapter,
        run,
        store: input.store,
        planHistory: history,
      })),
    );
  }
  return finishRun(started, decisions, notes);
}

/**
 * Keeps the targets a request names (`resourceIds`; every target when it names none) and notes
 * each named id that is not among them (`missing` words the note). Shared by every tuner loop.
 * A target matches an id by its own `ref.id`, or by `matches` where a target answers to more
 * ids than its own (a replica source also to its readers' ids).
 */
export function selectRequested<T extends { ref: { id: string } }>(
  targets: T[],
  wanted: readonly string[] | undefined,
  notes: string[],
  missing: (id: string) => string,
): T[];
export function selectRequested<T>(
  targets: T[],
  wanted: readonly string[] | undefined,
  notes: string[],
  missing: (id: string) => string,
  matches: (target: T, id: string) => boolean,
): T[];
export function selectRequested<T>(
  targets: T[],
  wanted: readonly string[] | undefined,
  notes: string[],
  missing: (id: string) => string,
  matches: (target: T, id: string) => boolean = matchesOwnId,
): T[] {
  if (!wanted) return targets;
  for (const id of wanted) {
    if (!targets.some((t) => matches(t, id))) notes.push(missing(id));
  }
  return targets.filter((t) => wanted.some((id) => matches(t, id)));
}

function matchesOwnId(target: unknown, id: string): boolean {
  return (target as { ref: { id: string } }).ref.id === id;
}

/** Default time a tuner loop keeps in hand before it stops starting targets. */
export const DEFAULT_SAFETY_MARGIN_MS = 30_000;

/**
 * True (and a note saying so) when less than `marginMs` of the function's time is left, so the
 * loop stops before `next` instead of being cut off half-way through a change.
 */
export function outOfTime(
  request: TunerRunRequest,
  next: string,
  notes: string[],
  marginMs: number = DEFAULT_SAFETY_MARGIN_MS,
): boolean {
  if (!request.remainingMs || request.remainingMs() >= marginMs) return false;
  notes.push(`stopped before ${next}: the function's time is nearly up`);
  return true;
}

/**
 * Records a target whose observation or planning failed (one failed no-op decision) so the run
 * goes on with the next target and the report says why. Shared by every tuner loop.
 * `options.override`: what the decision records as `override` (default false; the DynamoDB tuner
 * records the run's own).
 */
export async function recordObservationFailure(
  store: StateStore,
  run: RunContext,
  ref: ResourceRef,
  mode: Mode,
  error: unknown,
  options: { override?: boolean } = {},
): Promise<Decision> {
  const decision: Decision = {
    id: nextDecisionId(run),
    runId: run.runId,
    at: run.now.toISOString(),
    tuner: run.tuner,
    resource: ref.id,
    resourceKind: ref.kind,
    action: 'noop',
    outcome: 'failed',
    reason: `could not observe or plan: ${publicMessage(error)}`,
    evidence: [],
    monthlyCostDelta: 0,
    from: null,
    to: null,
    undo: null,
    guard: 'observe',
    mode,
    dryRun: run.dryRun,
    override: options.override ?? false,
    trigger: run.trigger,
    severity: 'warning',
  };
  await store.recordDecision(decision);
  return decision;
}
