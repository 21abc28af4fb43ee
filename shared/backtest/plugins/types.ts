/**
 * # How a db-autopilot tuner plugs into the backtest harness
 *
 * Each kind has a plugin file, `shared/backtest/plugins/<kind>.ts` (dynamodb, iops, replicas),
 * owned by that tuner's engineer, exporting:
 *
 * ```ts
 * export const createAutopilotPolicy: CreateAutopilotPolicy<'iops'> = (input) => { ... };
 * ```
 *
 * It returns either `{ available: false, reason }` (tuner not built yet: the harness prints
 * the reason in the `db-autopilot` column) or a {@link BacktestPolicy}.
 *
 * ## The loop, per minute t of the trace (shared/backtest/engine.ts)
 *
 * 1. the model starts minute t (changes whose delay ran out take effect, UTC-day budgets reset);
 * 2. if `t % everyMinutes === 0`, the harness calls `policy.decide(ctx)` with
 *    - `ctx.history`: a read-only, walk-forward view of the minutes CloudWatch has published
 *      by t: 0 .. t-d-1, d = `options.publicationDelayMinutes` (default 2), the newest one
 *      partial (`complete: false`, its counters hold `options.partialMinuteFraction` of the
 *      minute). Rows are the published series of the kind, nothing hidden. Asking it for
 *      minute t - d or later throws `WalkForwardViolation` and fails the run;
 *    - `ctx.state`: what Describe* would say now (capacity, UPDATING / modifying, decreases
 *      today, pending changes, readers being created);
 *    - `ctx.now`: the virtual time of minute t (policies take `now` as an argument, never a clock);
 *    - `ctx.apply(request)`: applies ONE change now through the same AWS change-rules model as
 *      every other policy and answers like an adapter would (applied / deferred until
 *      minute N / skipped because ...). Use it from a backtest Adapter given to the REAL
 *      shared executor (`shared/core/executor.ts` `executePlan` with the in-memory state store
 *      `shared/state/memory-store.ts`), so the guards (bounds, cooldowns, budgets, per-run
 *      cap) run exactly as in Lambda; `toActResult()` in ./adapter.ts converts the answer;
 * 3. alternatively `decide` may simply RETURN the change request(s) (or null for no change);
 *    the harness applies them in order through the same model;
 * 4. the model serves minute t's demand and appends its observation to the history.
 *
 * A typical plugin:
 *
 * ```ts
 * export const createAutopilotPolicy: CreateAutopilotPolicy<'iops'> = ({ options, config }) => {
 *   const store = new MemoryStateStore();                  // shared/state/memory-store.ts
 *   const settings = ...;                                  // from config.tuners.iops
 *   return {
 *     name: 'db-autopilot',
 *     everyMinutes: 5,                                     // the tuner's schedule
 *     async decide(ctx) {
 *       const observation = observationFromHistory(ctx.history, ctx.state);   // windows over published minutes
 *       const history = await store.getHistory('iops', 'orders', ctx.now);
 *       const plan = decideIops(observation, settings, history, ctx.now);      // the real pure policy
 *       const adapter: Adapter = async (action) =>
 *         toActResult(ctx.apply({ iops: Number(action.to) }), ctx.options.startTime);
 *       await executePlan({ plan, target, settings, adapter, run: runContext(ctx), store });
 *       return null;                                       // changes already went through ctx.apply
 *     },
 *   };
 * };
 * ```
 *
 * Requests per kind: dynamodb `{ read?, write?, mode? }` (one UpdateTable: never mix an increase
 * with a decrease, it is refused), iops `{ iops }` (one ModifyDBInstance), replicas
 * `{ readers }` (the reader count wanted: creations / deletions follow).
 */
import type { Config } from '../../config/schema.ts';
import type { HistoryView, Published } from '../history.ts';
import type { BacktestOptions } from '../options.ts';
import type {
  ChangeResult,
  Kind,
  ObservationOf,
  PolicyUnavailable,
  RequestOf,
  StateOf,
  TraceOf,
} from '../types.ts';

export interface PolicyContext<K extends Kind> {
  kind: K;
  /** The current minute t (0-based from the trace's start). */
  minute: number;
  /** Virtual time of minute t. */
  now: Date;
  /**
   * The minutes CloudWatch has published by t: 0 .. t-d-1 with d = options.publicationDelayMinutes
   * (walk-forward); the newest may be partial (`complete: false`).
   */
  history: HistoryView<Published<ObservationOf<K>>>;
  /** Describe* now (a frozen copy, read afresh each time: after `apply` it shows the change pending). */
  state: Readonly<StateOf<K>>;
  options: BacktestOptions;
  /** Applies one change now through the shared change-rules model. */
  apply(request: RequestOf<K>): ChangeResult;
}

export type DecideResult<K extends Kind> = RequestOf<K> | ReadonlyArray<RequestOf<K>> | null | undefined;

export interface BacktestPolicy<K extends Kind> {
  readonly name: string;
  /** Call decide every this many minutes (the tuner's schedule). Default 1. */
  readonly everyMinutes?: number;
  /**
   * Capacity at minute 0. Only policies that legitimately know the trace (static-peak, oracle)
   * set it; others start where the harness starts everyone: first minute's demand / target.
   */
  initial?(): RequestOf<K>;
  decide(ctx: PolicyContext<K>): DecideResult<K> | Promise<DecideResult<K>>;
}

export interface AutopilotPluginInput<K extends Kind> {
  kind: K;
  options: BacktestOptions;
  /** The db-autopilot configuration given with --config, if any. */
  config?: Config;
}

export type CreateAutopilotPolicy<K extends Kind> = (
  input: AutopilotPluginInput<K>,
) => BacktestPolicy<K> | PolicyUnavailable | Promise<BacktestPolicy<K> | PolicyUnavailable>;

/** Baselines that legitimately read the whole trace (static-peak, oracle) are built from it. */
export type BaselineFactory<K extends Kind> = (
  trace: TraceOf<K>,
  options: BacktestOptions,
) => BacktestPolicy<K>;
