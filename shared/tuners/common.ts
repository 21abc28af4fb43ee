/**
 * What every tuner's run does before it discovers anything: resolve its dependencies (the
 * configuration, the state table, the clock; tests and backtests pass their own) and start the
 * run (pause flag, idempotency key: shared/core/run.ts). Each tuner then reads as
 * discover -> observe -> policy -> executePlan.
 */
import { getConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { clock } from '../core/clock.ts';
import type { Adapter, StateStore, TunerRunRequest } from '../core/contracts.ts';
import type { TunerName } from '../core/model.ts';
import { type StartedRun, startRun } from '../core/run.ts';
import { stateStore } from '../state/index.ts';

/** What tests and backtests may pass to a tuner's run instead of the real thing. */
export interface TunerRunDeps {
  config?: Config;
  store?: StateStore;
  now?: Date;
  runId?: string;
  /** Tests and backtests pass their own adapter; default: the tuner's AWS adapter. */
  adapter?: Adapter;
}

export interface OpenedRun {
  config: Config;
  store: StateStore;
  now: Date;
  started: StartedRun;
}

/** Resolves the dependencies and starts the run; the caller returns early if it is paused or a duplicate. */
export async function openTunerRun(
  tuner: TunerName,
  request: TunerRunRequest,
  deps: TunerRunDeps,
): Promise<OpenedRun> {
  const config = deps.config ?? getConfig();
  const store = deps.store ?? stateStore();
  const now = deps.now ?? clock().now();
  const started = await startRun({
    tuner,
    request,
    store,
    now,
    ...(deps.runId ? { runId: deps.runId } : {}),
  });
  return { config, store, now, started };
}

/** The note a run of a tuner its configuration does not enable returns. */
export function notEnabledNote(tuner: TunerName): string {
  return `the ${tuner} tuner is not enabled in the configuration`;
}
