/**
 * What every tuner's run does before it discovers anything: resolve its dependencies (the
 * configuration, the state table, the clock; tests and backtests pass their own) and start the
 * run (pause flag, idempotency key: shared/core/run.ts). Each tuner then reads as
 * discover -> observe -> policy -> executePlan.
 */
// How AWS's state shows each kind of change a tuner makes (registered on import), for the
// executor to settle a run's left-over intents. Imported here, where plans of those kinds are
// run, not by the executor: functions that never change a database (report, digest,
// maintenance) then do not carry the RDS client in their bundles.
import '../adapters/intent-checks.ts';
import { getConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { clock } from '../core/clock.ts';
import type { Adapter, StateStore, TunerRunRequest } from '../core/contracts.ts';
import type { Action, Decision, Plan, TunerName } from '../core/model.ts';
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
    ...(deps.adapter ? { adapter: deps.adapter } : {}),
  });
  return { config, store, now, started };
}

/** The note a run of a tuner its configuration does not enable returns. */
export function notEnabledNote(tuner: TunerName): string {
  return `the ${tuner} tuner is not enabled in the configuration`;
}

/** A recommendation or finding is reported again only after this long (not every 5 minutes). */
export const REPEAT_FINDING_MS = 6 * 60 * 60_000;

/**
 * Drops recommendations and findings already reported within REPEAT_FINDING_MS (same kind and
 * target value); the plan then records a no-op that says so.
 */
export function withoutRepeats(plan: Plan, recent: Decision[], now: Date): void {
  const repeated = (a: Action): Decision | undefined =>
    a.mutating
      ? undefined
      : recent.find(
          (d) =>
            d.action === a.kind &&
            (d.outcome === 'applied' || d.outcome === 'planned') &&
            now.getTime() - Date.parse(d.at) < REPEAT_FINDING_MS &&
            JSON.stringify(d.to) === JSON.stringify(a.to),
        );
  const checked = plan.actions.map((a) => ({ a, d: repeated(a) }));
  const dropped = checked.filter((x) => x.d !== undefined);
  if (dropped.length === 0) return;
  plan.actions = checked.filter((x) => x.d === undefined).map((x) => x.a);
  if (plan.actions.length === 0) {
    const first = dropped[0];
    plan.noopReason = `${first?.a.kind} already reported at ${first?.d?.at} (repeated every ${REPEAT_FINDING_MS / (60 * 60_000)} h): ${first?.a.reason ?? ''}`;
    plan.noopEvidence = first?.a.evidence ?? [];
  }
}
