import { isDeepStrictEqual } from 'node:util';
import { backoffUntil, byTimeThenId } from '../state/keys.ts';
import type { ResourceHistory, StateStore, TunerSettings } from './contracts.ts';
import { countsAsChange } from './guards.ts';
import type { ActionKind, Decision, TunerName } from './model.ts';

/**
 * Drift: a managed resource no longer has the value db-autopilot last set (a person, Terraform
 * or another tool changed it). The tuner checks on every run, before its policy; on drift the
 * store records it and the executor's drift guard leaves the resource alone for
 * `driftBackoffMinutes` instead of fighting the other party. The outside value then becomes the
 * baseline: the same outside change is not reported again.
 */

export interface DriftInput {
  /** The value the resource has now, as observed (e.g. provisioned IOPS from DescribeDBInstances). */
  observed: unknown;
  history: ResourceHistory;
  /** Only applied decisions of these kinds set the compared value (e.g. ['set-iops']); all by default. */
  kinds?: readonly ActionKind[];
  /** Values that differ from the last applied one yet are not drift (e.g. a modification still pending). */
  inFlight?: readonly unknown[];
  equals?: (a: unknown, b: unknown) => boolean;
}

export interface DriftVerdict {
  drifted: boolean;
  detail: string;
  /** The applied decision the observation was compared with. */
  decision?: Decision;
}

/**
 * The newest applied change db-autopilot made to this resource: from the recent decisions (newest
 * first) and from the ledger's newest change per kind (which outlives the recent window).
 */
export function lastAppliedChange(
  history: ResourceHistory,
  kinds?: readonly ActionKind[],
): Decision | undefined {
  const wanted = (d: Decision) => countsAsChange(d) && (kinds === undefined || kinds.includes(d.action));
  const candidates = [
    ...history.recent.filter(wanted).slice(0, 1),
    ...Object.values(history.lastApplied ?? {}).filter((d): d is Decision => d !== undefined && wanted(d)),
  ];
  return candidates.reduce<Decision | undefined>(
    (newest, d) => (newest === undefined || byTimeThenId(d, newest) > 0 ? d : newest),
    undefined,
  );
}

/** Changes db-autopilot intended (recorded before calling AWS) and has not resolved yet. */
export function intendedChanges(history: ResourceHistory, kinds?: readonly ActionKind[]): Decision[] {
  return [...(history.pending ?? []), ...history.recent].filter(
    (d) => d.outcome === 'intended' && (kinds === undefined || kinds.includes(d.action)),
  );
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Pure: was the resource changed outside db-autopilot since its last applied change? */
export function detectDrift(input: DriftInput): DriftVerdict {
  const equals = input.equals ?? isDeepStrictEqual;
  const last = lastAppliedChange(input.history, input.kinds);
  if (!last) return { drifted: false, detail: 'no applied change by db-autopilot to compare with' };
  if (equals(input.observed, last.to)) {
    return { drifted: false, detail: `matches the last applied change ${last.id}`, decision: last };
  }
  if ((input.inFlight ?? []).some((v) => equals(input.observed, v))) {
    return { drifted: false, detail: `change ${last.id} is still in flight`, decision: last };
  }
  // db-autopilot's own change, recorded as intended and not yet confirmed (its response was lost,
  // its record failed or its run died): never a person's change.
  const own = intendedChanges(input.history, input.kinds).find((d) => equals(input.observed, d.to));
  if (own) {
    return {
      drifted: false,
      detail: `db-autopilot's own intended change ${own.id} (not yet confirmed)`,
      decision: last,
    };
  }
  const baseline = input.history.drift?.baseline;
  if (baseline?.decisionId === last.id && equals(input.observed, baseline.observed)) {
    return {
      drifted: false,
      detail: `outside change already recorded at ${input.history.drift?.detectedAt}`,
      decision: last,
    };
  }
  return {
    drifted: true,
    decision: last,
    detail: `${last.resource}: db-autopilot set ${show(last.to)} (decision ${last.id} at ${last.at}) but found ${show(input.observed)}`,
  };
}

export interface CheckDriftInput extends DriftInput {
  store: StateStore;
  tuner: TunerName;
  resourceId: string;
  settings: Pick<TunerSettings, 'driftBackoffMinutes'>;
  now: Date;
}

/**
 * detectDrift, and on drift records it (so the executor backs off) and returns the history the
 * policy should see, with the drift in it.
 */
export async function checkDrift(
  input: CheckDriftInput,
): Promise<{ verdict: DriftVerdict; history: ResourceHistory }> {
  const verdict = detectDrift(input);
  if (!verdict.drifted) return { verdict, history: input.history };
  const backoff = input.settings.driftBackoffMinutes;
  const baseline = { decisionId: verdict.decision?.id, observed: input.observed };
  await input.store.recordDrift(input.tuner, input.resourceId, verdict.detail, input.now, backoff, baseline);
  const history: ResourceHistory = {
    ...input.history,
    drift: {
      detectedAt: input.now.toISOString(),
      backoffUntil: backoffUntil(input.now, backoff).toISOString(),
      detail: verdict.detail,
      baseline,
    },
  };
  return { verdict, history };
}
