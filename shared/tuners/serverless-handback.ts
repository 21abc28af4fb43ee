/**
 * Handing an Aurora Serverless v2 cluster's capacity range back to the person when db-autopilot
 * stops tuning it: paused, the opt-out tag, or no longer managed (the config's resources and the
 * managed tag no longer select it). The person's bounds (the ones before db-autopilot's first
 * change, or the ones a person set since) are restored exactly, recorded; a person who changed the
 * bounds since db-autopilot's last change keeps them, and is told so in a recorded notice.
 *
 * The restoring actions carry `restores: true`: they pass the opt-out and managed-consent guards
 * (shared/core/guards.ts); every other guard still applies. No cooldown: stopping is not tuning.
 *
 * Which clusters have something to hand back: the state table keeps one index of the clusters whose
 * range db-autopilot set and has not handed back (`CHANGED_INDEX`, tuner state of the `serverless`
 * owner), so a cluster that left the config is still found (as DynamoDB's `#lifted-tables`,
 * shared/tuners/dynamodb-handback.ts). A cluster deleted meanwhile leaves the index with a note.
 */
import { isDeepStrictEqual } from 'node:util';
import type { DBCluster } from '@aws-sdk/client-rds';
import type { createServerlessAdapter } from '../adapters/aurora-serverless.ts';
import {
  boundsOf,
  type ServerlessBoundsParams,
  setServerlessBoundsParamsSchema,
} from '../adapters/aurora-serverless.ts';
import type { ResourceHistory, RunContext, StateStore, TunerSettings } from '../core/contracts.ts';
import { lastAppliedChange } from '../core/drift.ts';
import { executePlan } from '../core/executor.ts';
import type { Action, Decision, Plan } from '../core/model.ts';
import type { DiscoveredTarget } from '../discovery/index.ts';
import { handBackNotice } from './handback-notice.ts';
import { knownPersonBounds, storedPersonBounds } from './serverless-inputs.ts';

type Cluster = DiscoveredTarget<DBCluster>;
const KINDS: Action['kind'][] = ['set-serverless-bounds'];

/** The index's resource id: `#` is not allowed in a DB cluster identifier, so no cluster shares it. */
export const CHANGED_INDEX = '#changed-clusters';

/** The clusters the index names (db-autopilot's range in effect when last seen). */
export async function changedClusters(store: StateStore, now: Date): Promise<string[]> {
  const history = await store.getHistory('serverless', CHANGED_INDEX, now);
  // Written as `{ clusters: string[] }`; an entry that is not a DB cluster identifier is ignored.
  const clusters = history.tunerState?.clusters;
  const id = setServerlessBoundsParamsSchema.shape.clusterId;
  return Array.isArray(clusters) ? clusters.filter((c): c is string => id.safeParse(c).success) : [];
}

/** Writes the index when it changed. */
export async function saveChangedIndex(
  store: StateStore,
  known: readonly string[],
  next: ReadonlySet<string>,
): Promise<void> {
  const clusters = [...next].sort();
  const before = [...known].sort();
  if (isDeepStrictEqual(clusters, before)) return;
  await store.putTunerState('serverless', CHANGED_INDEX, { clusters });
}

/** The person's range as stored, when valid (a malformed one is never handed back). */
function personOf(history: ResourceHistory): ServerlessBoundsParams | undefined {
  const kept = storedPersonBounds(history);
  return kept && 'bounds' in kept ? kept.bounds : undefined;
}

/**
 * The stored person's range is malformed while db-autopilot's range is in effect: nothing is set
 * from it; a recorded notice (changes nothing) says why, with what the record still says.
 */
export function malformedNotice(c: Cluster, history: ResourceHistory, why: string): Action | undefined {
  const kept = storedPersonBounds(history);
  const current = boundsOf(c.raw);
  const last = lastAppliedChange(history, KINDS);
  if (!kept || !('malformed' in kept) || !current || !last || !isDeepStrictEqual(last.to, current))
    return undefined;
  return handBackNotice(
    'serverless',
    c.ref,
    'restore the capacity range by hand',
    `${c.ref.id}: db-autopilot stopped tuning it (${why}) but did not hand back its range ${current.min}-${current.max} ACU: the person's range kept in the state table is not valid (${kept.malformed}); ${knownPersonBounds(kept.stored)}`,
  );
}

/** The action that hands a cluster's bounds back to the person's, when db-autopilot's are in effect. */
export function handBackAction(c: Cluster, history: ResourceHistory, why: string): Action | undefined {
  const person = personOf(history);
  const current = boundsOf(c.raw);
  const last = lastAppliedChange(history, KINDS);
  if (!person || !current || !last || isDeepStrictEqual(person, current)) return undefined;
  // Only db-autopilot's own bounds are handed back: a person's newer change stays.
  if (!isDeepStrictEqual(last.to, current)) return undefined;
  return {
    tuner: 'serverless',
    resource: c.ref,
    kind: 'set-serverless-bounds',
    from: current,
    to: person,
    reason: `${c.ref.id}: capacity range handed back to the person's ${person.min}-${person.max} ACU (${why})`,
    evidence: [],
    monthlyCostDelta: 0,
    undo: { kind: 'set-serverless-bounds', params: { clusterId: c.ref.id, bounds: current } },
    mutating: true,
    params: { clusterId: c.ref.id, bounds: person },
    severity: 'warning',
    // Only the person's own bounds: passes the opt-out guard (shared/core/guards.ts).
    restores: true,
  };
}

/**
 * A person changed the range since db-autopilot's last change: it is theirs and stays. The notice
 * (a recorded recommendation, changes nothing) tells them db-autopilot stopped and left it.
 */
export function leftAloneNotice(c: Cluster, history: ResourceHistory, why: string): Action | undefined {
  const person = personOf(history);
  const current = boundsOf(c.raw);
  const last = lastAppliedChange(history, KINDS);
  if (!person || !current || !last) return undefined;
  if (isDeepStrictEqual(last.to, current) || isDeepStrictEqual(person, current)) return undefined;
  const ours = last.to as ServerlessBoundsParams;
  return handBackNotice(
    'serverless',
    c.ref,
    'capacity range left as a person set it',
    `${c.ref.id}: db-autopilot stopped tuning it (${why}) and did not hand back ${person.min}-${person.max} ACU: its range is ${current.min}-${current.max} ACU, changed by a person since db-autopilot set ${ours.min}-${ours.max}; left as it is`,
  );
}

export interface HandBackRun {
  run: RunContext;
  store: StateStore;
  settings: TunerSettings;
  adapter: ReturnType<typeof createServerlessAdapter>;
}

/**
 * Hands one cluster's capacity range back to the person's (or tells them it stays theirs),
 * recorded. `settled`: nothing is left to hand back (the index drops the cluster).
 */
export async function handBackCluster(
  x: HandBackRun,
  c: Cluster,
  why: string,
): Promise<{ decisions: Decision[]; settled: boolean }> {
  const history = await x.store.getHistory('serverless', c.ref.id, x.run.now);
  const action =
    handBackAction(c, history, why) ?? leftAloneNotice(c, history, why) ?? malformedNotice(c, history, why);
  if (!action) return { decisions: [], settled: true };
  const plan: Plan = {
    tuner: 'serverless',
    resource: c.ref,
    observedAt: x.run.now.toISOString(),
    actions: [action],
  };
  const settings = { ...x.settings, cooldownMinutes: 0 };
  const decisions = await executePlan({
    plan,
    target: c,
    settings,
    adapter: x.adapter,
    run: x.run,
    store: x.store,
  });
  // db-autopilot's role may no longer modify it (dropped from the config's identifiers at deploy,
  // or the managed tag removed: IAM's ModifyDBCluster follows both): the person is told, once,
  // the range to set.
  if (action.mutating && decisions.some(denied)) {
    const to = action.to as ServerlessBoundsParams;
    const notice: Action = {
      ...action,
      kind: 'recommend',
      to: { advice: 'restore the capacity range by hand' },
      reason: `${c.ref.id}: db-autopilot stopped tuning it (${why}) but may no longer modify it (AccessDenied): set MinCapacity ${to.min} and MaxCapacity ${to.max} ACU to restore the person's range`,
      undo: null,
      mutating: false,
      params: undefined,
    };
    const told = await executePlan({
      plan: { ...plan, actions: [notice] },
      target: c,
      settings,
      adapter: x.adapter,
      run: x.run,
      store: x.store,
    });
    return { decisions: [...decisions, ...told], settled: true };
  }
  // Handed back (or told): settled; retried when AWS did not take it (failed, deferred, pending).
  return { decisions, settled: decisions.every((d) => d.outcome === 'applied') };
}

/** AWS refused the call for want of permission (the role's policy), not for the cluster's state. */
const denied = (d: Decision) =>
  d.outcome === 'failed' && /AccessDenied|not authorized/i.test(`${d.guard ?? ''} ${d.reason}`);
