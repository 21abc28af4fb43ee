/**
 * How many read replicas a source needs, and keeping reads served while they change, decided in
 * named pure steps in the style of Kubernetes' horizontal pod autoscaler (../shared/examples.md):
 *
 *   classifyReaders   (replica-readers.ts)  counted / creating / stuck / broken / lagging / serving
 *   measureLoad       (replica-load.ts)     CPUUtilization, DBLoadCPU / vCPUs, DatabaseConnections
 *   standDown                               Aurora Auto Scaling owns the cluster's readers: report only
 *   recommendReaders  (replica-load.ts)     HPA ratio, the schedule, or the writer
 *   stabilizeReaders  (replica-load.ts)     bounds; scale out at once, scale in to the window's highest
 *   planRouting       (replica-routing.ts)  fallback record, route / withdraw / sweep, last serving record
 *   brokenActions     (replica-actions.ts)  failed and stuck replicas: reported, removed if ours
 *   planScaleOut / planScaleIn (replica-actions.ts)   with the AWS rules each declares
 *
 * Pure: no SDK, no clock, no randomness. `now` and the recorded recommendations come in as
 * arguments; the new recommendation list goes out in `tunerState` for the tuner to store.
 * Only replicas db-autopilot created (ownership tag AND recorded resource id) are ever removed
 * (design.md, "created" consent), never below the minimum, and only once drained.
 */
import type { Action, Plan, ResourceRef } from '../core/model.ts';
import {
  type ActionContext,
  brokenActions,
  handBackToAuroraAutoScaling,
  lagFindings,
  mismatchFindings,
  planScaleIn,
  planScaleOut,
  scaleInCandidates,
} from './replica-actions.ts';
import { readerMonthlyCost } from './replica-cost.ts';
import { measureLoad, recommendReaders, round, stabilizeReaders } from './replica-load.ts';
import { classifyReaders, isOwned, type ReaderClasses } from './replica-readers.ts';
import { keepServingRecord, planRouting, removeRouteAction, servingIds } from './replica-routing.ts';
import type {
  ReaderObservation,
  ReplicaObservation,
  ReplicaPolicyHistory,
  ReplicaPolicySettings,
  ReplicaTunerState,
} from './replica-types.ts';

export { RETRY_AFTER_MINUTES } from './replica-actions.ts';
export {
  DEFAULT_ACCOUNT_INSTANCE_QUOTA,
  instancePriceKey,
  MAX_REPLICAS_PER_SOURCE,
  REPLICA_NAME_PREFIX,
  readerMonthlyCost,
  replicaName,
  storageMonthlyCost,
} from './replica-cost.ts';
export { scheduledReaders } from './replica-load.ts';
export { isBroken, isLagging, isOwned } from './replica-readers.ts';
export type * from './replica-types.ts';

export interface ReplicaPolicyResult {
  plan: Plan;
  tunerState: ReplicaTunerState;
  /** Reader count the policy aims for after stabilization (what the backtest plots). */
  targetReaders: number;
  /** How the target was decided. */
  basis: 'metrics' | 'schedule' | 'recommend-only' | 'aurora-auto-scaling';
  /** The load ratio behind the decision (null without a measurable reader). */
  ratio: number | null;
}

function mostCommon(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  let n = 0;
  for (const [v, k] of counts) {
    if (k > n) {
      best = v;
      n = k;
    }
  }
  return best;
}

function sourceRefOf(obs: ReplicaObservation): ResourceRef {
  return {
    kind: obs.family === 'aurora' ? 'aurora-cluster' : 'rds-instance',
    id: obs.source.id,
    ...(obs.source.arn ? { arn: obs.source.arn } : {}),
  };
}

/** Aurora Auto Scaling registered on the cluster: it scales the readers; db-autopilot says so and stays out. */
function standDown(ctx: ActionContext): Action {
  const aas = ctx.obs.autoScaling;
  const own = ctx.c.listed.filter(isOwned).map((r) => r.id);
  const left = own.length
    ? `; its own reader(s) ${own.join(', ')} are removed once drained (Aurora Auto Scaling removes only readers it created)`
    : '';
  return {
    tuner: 'replicas',
    evidence: ctx.evidence,
    resource: ctx.sourceRef,
    kind: 'finding',
    from: null,
    to: null,
    reason: `Aurora Auto Scaling manages the readers of ${ctx.obs.source.id} (${aas?.resourceId}, ${aas?.minCapacity}-${aas?.maxCapacity} readers): db-autopilot stands down for this cluster's readers so the two never scale on the same signal${left}`,
    monthlyCostDelta: 0,
    undo: null,
    mutating: false,
    severity: own.length ? 'warning' : 'info',
  };
}

/** Plain RDS without routing or schedule: a new replica would offload nothing, so only recommend. */
function recommendOnly(ctx: ActionContext, target: number): Action[] {
  const current = ctx.c.counted.length;
  if (target === current) return [];
  const { obs, settings } = ctx;
  const each = ctx.newClass
    ? readerMonthlyCost(settings.prices, obs.family, ctx.newClass, obs.source.storage)
    : null;
  return [
    {
      tuner: 'replicas',
      evidence: ctx.evidence,
      resource: ctx.sourceRef,
      kind: 'recommend',
      from: current,
      to: target,
      reason: `${ctx.why}. Recommend ${target > current ? 'adding' : 'removing'} ${Math.abs(target - current)} read replica(s) of ${obs.source.id}: no read routing is configured, so a new replica would offload nothing until the application reads from it (configure tuners.replicas.sources.${obs.source.id}.routing or a schedule)`,
      monthlyCostDelta: each === null ? 0 : round(each * (target - current)),
      undo: null,
      mutating: false,
      numericTarget: target,
      severity: target > current ? 'warning' : 'info',
    },
  ];
}

/** The record removals of a scale-in, kept behind the last-serving-record rule. */
function scaleInRouteRemoval(ctx: ActionContext, remaining: Set<string>) {
  const routing = ctx.settings.routing;
  return (r: ReaderObservation): Action => {
    if (!routing) throw new Error('scale-in route removal without routing');
    const record = (ctx.obs.routes ?? []).find((x) => x.setIdentifier === r.id);
    const action = removeRouteAction(
      { obs: ctx.obs, settings: ctx.settings, routing, sourceRef: ctx.sourceRef, evidence: ctx.evidence },
      { kind: 'rds-instance', id: r.id },
      {
        setIdentifier: record?.setIdentifier ?? r.id,
        replicaId: r.id,
        endpoint: r.endpoint,
        weight: record?.weight ?? routing.weight,
      },
      `${ctx.why}: stop routing reads to ${r.id} so its connections drain; it is deleted on a later run once drained`,
    );
    const [kept] = keepServingRecord({ routing }, [action], remaining, servingIds(ctx.obs, ctx.c, routing));
    return kept ?? action;
  };
}

function finish(
  ctx: ActionContext,
  actions: Action[],
  result: Omit<ReplicaPolicyResult, 'plan'>,
  noopReason?: string,
): ReplicaPolicyResult {
  const plan: Plan = {
    tuner: 'replicas',
    resource: ctx.sourceRef,
    observedAt: ctx.now.toISOString(),
    actions,
  };
  const counted = ctx.c.counted.length;
  if (actions.length === 0) {
    plan.noopReason = noopReason ?? `${ctx.why}: ${counted} reader(s), no change`;
    plan.noopEvidence = ctx.evidence;
  } else if (noopReason && !actions.some((a) => a.mutating)) {
    // Only findings were planned: keep the reason the count did not change.
    plan.noopReason = noopReason;
    plan.noopEvidence = ctx.evidence;
  }
  return { plan, ...result };
}

/** Which replicas a removal of theirs must wait for: those whose record is still in the set. */
function recordedIds(obs: ReplicaObservation, c: ReaderClasses): Set<string> {
  return new Set(c.listed.filter((r) => obs.family === 'rds' && r.routed).map((r) => r.id));
}

/**
 * Plans the readers of one source. Returns the plan (actions with evidence, reasons, cost,
 * undo, numeric target = reader count, declared rules) and the recommendation list to store.
 */
export function planReplicas(
  obs: ReplicaObservation,
  settings: ReplicaPolicySettings,
  history: ReplicaPolicyHistory,
  now: Date,
): ReplicaPolicyResult {
  const c = classifyReaders(obs, settings, now);
  const load = measureLoad(obs, settings, c);
  const routed = obs.family === 'aurora' || settings.routing !== undefined;
  const newClass =
    settings.instanceClasses[0] ??
    mostCommon(c.listed.map((r) => r.instanceClass)) ??
    obs.source.instanceClass;
  const ctx: ActionContext = {
    obs,
    settings,
    c,
    sourceRef: sourceRefOf(obs),
    evidence: load.evidence,
    now,
    why: '',
    newClass,
  };
  if (obs.family === 'aurora' && obs.autoScaling) {
    ctx.why = 'Aurora Auto Scaling manages the readers';
    const state = { recommendations: history.recommendations };
    const result = {
      tunerState: state,
      targetReaders: c.counted.length,
      basis: 'aurora-auto-scaling' as const,
      ratio: null,
    };
    return finish(
      ctx,
      [standDown(ctx), ...lagFindings(ctx), ...handBackToAuroraAutoScaling(ctx)],
      result,
      `${ctx.why} of ${obs.source.id}: db-autopilot stands down`,
    );
  }
  const rec = recommendReaders(obs, settings, c, load, now, routed);
  const stable = stabilizeReaders(settings, history.recommendations, rec, c.counted.length, now);
  ctx.why = stable.why;
  const target = stable.target;
  const basis = !routed && rec.basis !== 'schedule' ? ('recommend-only' as const) : rec.basis;
  const result = {
    tunerState: { recommendations: stable.recommendations },
    targetReaders: target,
    basis,
    ratio: rec.ratio,
  };
  const actions: Action[] = [...lagFindings(ctx), ...mismatchFindings(ctx)];
  if (basis === 'recommend-only') {
    actions.push(...recommendOnly(ctx, target), ...brokenActions(ctx, new Set()));
    return finish(ctx, actions, result);
  }
  const toRemove = target < c.counted.length ? scaleInCandidates(ctx, target) : [];
  const routing = planRouting(
    obs,
    settings,
    c,
    new Set(toRemove.map((r) => r.id)),
    ctx.sourceRef,
    ctx.evidence,
  );
  actions.push(...routing.actions, ...brokenActions(ctx, recordedIds(obs, c)));
  const counted = c.counted.length;
  if (target > counted) {
    if (c.creating.length > 0 && settings.waitForCreatingReplicas === true) {
      const waiting = `${ctx.why}; but ${c.creating.map((r) => r.id).join(', ')} is being created and counts: no second add until it is available`;
      return finish(ctx, actions, result, waiting);
    }
    actions.push(...planScaleOut(ctx, target));
    return finish(ctx, actions, result);
  }
  if (target < counted) {
    actions.push(...planScaleIn(ctx, toRemove, target, scaleInRouteRemoval(ctx, routing.remaining)));
    if (toRemove.length === 0 && c.counted.every(isOwned)) {
      return finish(ctx, actions, result, `${ctx.why}; no replica is in a state to be removed`);
    }
    return finish(ctx, actions, result);
  }
  return finish(ctx, actions, result, `${ctx.why}: ${counted} reader(s), no change`);
}
