/**
 * Application Auto Scaling (AAS) beside db-autopilot, per scalable target and dimension.
 *
 * - A raise lifts the target's MinCapacity (and MaxCapacity when the raise is above it) so target
 *   tracking does not scale it straight back; after `liftMinutes` both are handed back exactly to
 *   what the person had set.
 * - Where db-autopilot owns scale-in, the person's target tracking policy gets DisableScaleIn (so
 *   both do not spend the same decrease budget); the policy is recorded whole first (target,
 *   cooldowns, DisableScaleIn, metric: PutScalingPolicy replaces all of it) and restored exactly on
 *   hand-back (`handBackAll`: pause, removal) and `revert` (each action's undo carries it).
 * - Each lease (what db-autopilot changed on one target and dimension) follows the outcome of its
 *   own action only: `changes[i]` is the lease after `actions[i]`, kept only if that action applied
 *   (a change cap or a ConcurrentUpdateException leaves the old lease, retried next run).
 * - A person changing a lifted minimum is drift: their value wins and becomes the one handed back.
 * (aws-facts.md, "Native auto scaling" and "Learned from review".)
 *
 * Pure.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { Action, ResourceRef } from '../core/model.ts';
import {
  type CapacityDim,
  type CapacityFloor,
  type CapacityPair,
  DIMS,
  resourceId,
  resourceKey,
  type ScalableTargetObservation,
  type TableObservation,
  type TrackingPolicy,
} from './dynamodb-observation.ts';

/** What db-autopilot changed on one scalable target and dimension, with the person's values. */
export interface ScalingLift {
  resourceId: string;
  scalableDimension: string;
  /** The person's MinCapacity / MaxCapacity, handed back exactly. */
  originalMin: number;
  originalMax?: number;
  /** The minimum db-autopilot set (absent when no lift is active). */
  liftedTo?: number;
  /** The maximum db-autopilot set when a raise went above the person's maximum. */
  liftedMax?: number;
  /** When the lift is handed back. */
  until?: string;
  /** The person's target tracking policy, whole, before db-autopilot changed it. */
  originalPolicy?: TrackingPolicy;
  /** A lift whose action did not apply (change cap, ConcurrentUpdateException): tried again until then. */
  retry?: { minCapacity: number; until: string };
}

export type ScalingLifts = Record<string, ScalingLift>;

export function liftKey(indexName: string | null, dim: CapacityDim): string {
  return `${resourceKey(indexName)}:${dim}`;
}

function liftActive(lift: ScalingLift | undefined, now: Date): lift is ScalingLift & { liftedTo: number } {
  return lift?.liftedTo !== undefined && lift.until !== undefined && Date.parse(lift.until) > now.getTime();
}

/**
 * Floors that keep db-autopilot from fighting Application Auto Scaling: while a lift is active,
 * capacity stays at the lifted minimum; where AWS's target tracking owns scale-in
 * (autoScaling.ownScaleIn false), db-autopilot never lowers capacity itself; otherwise the
 * target's own minimum binds (target tracking would raise a lower capacity straight back).
 */
export function scalingFloors(
  obs: TableObservation,
  config: DynamodbConfig,
  lifts: ScalingLifts,
  now: Date,
): CapacityFloor[] {
  const floors: CapacityFloor[] = [];
  for (const r of [obs.table, ...obs.indexes]) {
    for (const dim of DIMS) {
      const t = r.scalableTargets?.[dim];
      if (!t) continue;
      const lift = lifts[liftKey(r.indexName, dim)];
      const floor = (units: number, reason: string) =>
        floors.push({
          indexName: r.indexName,
          dim,
          units: Math.min(units, r.provisioned[dim]),
          reason,
          evidence: [],
        });
      if (liftActive(lift, now)) {
        floor(
          lift.liftedTo,
          `the scalable target's minimum is lifted to ${lift.liftedTo} until ${lift.until}`,
        );
      } else if (!config.autoScaling.ownScaleIn) {
        floor(r.provisioned[dim], 'Application Auto Scaling owns scale-in on this target');
      } else if (t.minCapacity > 0) {
        floor(
          t.minCapacity,
          `the scalable target's minimum is ${t.minCapacity}: Application Auto Scaling would raise a lower capacity back`,
        );
      }
    }
  }
  return floors;
}

/** The lease once a person's own change of a lifted minimum is respected (drift). */
function respectPerson(lift: ScalingLift | undefined, t: ScalableTargetObservation): ScalingLift | undefined {
  if (lift?.liftedTo === undefined || t.minCapacity === lift.liftedTo) return lift;
  const { liftedTo: _l, liftedMax: _m, until: _u, ...rest } = lift;
  return withoutEmpty({ ...rest, originalMin: t.minCapacity, originalMax: t.maxCapacity });
}

function withoutEmpty(lift: ScalingLift): ScalingLift | undefined {
  return lift.liftedTo === undefined && lift.originalPolicy === undefined && lift.retry === undefined
    ? undefined
    : lift;
}

/** The lease kept when `next` was planned but its action did not apply: the old one, plus a retry of a lift. */
export function leaseNotApplied(
  old: ScalingLift | undefined,
  next: ScalingLift | undefined,
): ScalingLift | undefined {
  const lifting = next?.liftedTo !== undefined && next.until !== undefined && next.liftedTo !== old?.liftedTo;
  if (!lifting || !next?.until || next.liftedTo === undefined) return old;
  const base = old ?? {
    resourceId: next.resourceId,
    scalableDimension: next.scalableDimension,
    originalMin: next.originalMin,
    originalMax: next.originalMax,
  };
  return { ...base, retry: { minCapacity: next.liftedTo, until: next.until } };
}

interface TargetStep {
  params: Record<string, unknown>;
  reasons: string[];
  next: ScalingLift | undefined;
}

/** Our target tracking settings on the person's policy (everything else of it kept as it was). */
function policyStep(step: TargetStep, t: ScalableTargetObservation, config: DynamodbConfig): void {
  const policy =
    t.policy ??
    (t.policyName && t.targetValue !== undefined
      ? { policyName: t.policyName, targetValue: t.targetValue, disableScaleIn: t.disableScaleIn }
      : undefined);
  if (!policy) return;
  const targetPercent = Math.round(config.targetUtilization * 100);
  const wantDisable = config.autoScaling.ownScaleIn;
  if (policy.targetValue === targetPercent && (policy.disableScaleIn ?? false) === wantDisable) return;
  step.params.policy = { ...policy, targetValue: targetPercent, disableScaleIn: wantDisable };
  const base = step.next ?? {
    resourceId: t.resourceId,
    scalableDimension: t.scalableDimension,
    originalMin: t.minCapacity,
    originalMax: t.maxCapacity,
  };
  step.next = { ...base, originalPolicy: base.originalPolicy ?? policy };
  step.reasons.push(
    `target tracking at ${targetPercent}%${wantDisable ? ' with scale-in disabled: db-autopilot spends the decrease budget' : ''} (the person's policy is recorded whole and restored on hand-back, revert and pause)`,
  );
}

/** Lift the minimum (and maximum) to a raise, or hand them back once the lift window is over. */
function liftStep(
  step: TargetStep,
  t: ScalableTargetObservation,
  wanted: number,
  provisioned: number,
  config: DynamodbConfig,
  now: Date,
): void {
  let proposed = wanted;
  const lift = step.next;
  const retry = lift?.retry && Date.parse(lift.retry.until) > now.getTime() ? lift.retry.minCapacity : 0;
  if ((proposed > provisioned || retry > 0) && Math.max(proposed, retry) > t.minCapacity) {
    proposed = Math.max(proposed, retry);
    step.params.minCapacity = proposed;
    const liftedMax = proposed > t.maxCapacity ? proposed : lift?.liftedMax;
    if (proposed > t.maxCapacity) step.params.maxCapacity = proposed;
    const { retry: _r, ...kept } = lift ?? {
      resourceId: t.resourceId,
      scalableDimension: t.scalableDimension,
    };
    step.next = {
      ...kept,
      originalMin: lift?.liftedTo !== undefined ? lift.originalMin : t.minCapacity,
      originalMax: lift?.liftedTo !== undefined ? lift.originalMax : t.maxCapacity,
      liftedTo: proposed,
      ...(liftedMax !== undefined ? { liftedMax } : {}),
      until: new Date(now.getTime() + config.autoScaling.liftMinutes * 60_000).toISOString(),
    };
    step.reasons.push(
      `minimum lifted ${t.minCapacity} -> ${proposed} so target tracking does not scale the raise straight back`,
    );
  } else if (lift?.liftedTo !== undefined && !liftActive(lift, now)) {
    step.params.minCapacity = lift.originalMin;
    if (lift.liftedMax !== undefined && lift.originalMax !== undefined)
      step.params.maxCapacity = lift.originalMax;
    const { liftedTo: _l, liftedMax: _m, until: _u, ...rest } = lift;
    step.next = withoutEmpty(rest);
    step.reasons.push(
      `minimum handed back ${t.minCapacity} -> ${lift.originalMin}${step.params.maxCapacity !== undefined ? `, maximum ${t.maxCapacity} -> ${lift.originalMax}` : ''} after the lift window`,
    );
  }
}

function scalingAction(
  tableRef: ResourceRef,
  name: string,
  t: ScalableTargetObservation,
  step: TargetStep,
  key: string,
): Action {
  return {
    tuner: 'dynamodb',
    resource: tableRef,
    kind: 'set-scaling-target',
    from: {
      minCapacity: t.minCapacity,
      maxCapacity: t.maxCapacity,
      policy:
        t.policy ??
        (t.policyName
          ? { policyName: t.policyName, targetValue: t.targetValue, disableScaleIn: t.disableScaleIn }
          : undefined),
    },
    to: {
      minCapacity: step.params.minCapacity ?? t.minCapacity,
      maxCapacity: step.params.maxCapacity ?? t.maxCapacity,
      policy: step.params.policy,
    },
    reason: `${name}: ${step.reasons.join('; ')}`,
    evidence: [],
    monthlyCostDelta: 0,
    undo: {
      kind: 'set-scaling-target',
      params: {
        resourceId: t.resourceId,
        scalableDimension: t.scalableDimension,
        minCapacity: t.minCapacity,
        maxCapacity: t.maxCapacity,
        ...(step.params.policy && t.policy ? { policy: t.policy } : {}),
      },
    },
    mutating: true,
    params: { ...step.params, leaseKey: key },
  };
}

export interface ScalingPlan {
  actions: Action[];
  /** The lease of `actions[i]`'s target once that action applied (undefined: no lease left). */
  changes: Array<{ key: string; next: ScalingLift | undefined }>;
  /** Leases as they are whatever the actions' outcomes (a person's change respected). */
  lifts: ScalingLifts;
}

/**
 * Actions on the scalable targets of a table: target tracking at the configured target (with
 * DisableScaleIn where db-autopilot owns scale-in), a lifted minimum after a raise, the hand-back
 * after `liftMinutes`.
 */
export function planScalingTargets(input: {
  observation: TableObservation;
  config: DynamodbConfig;
  proposed: Map<string, CapacityPair>;
  lifts: ScalingLifts;
  now: Date;
  tableRef?: ResourceRef;
}): ScalingPlan {
  const { observation: obs, config, now } = input;
  const tableRef: ResourceRef = input.tableRef ?? { kind: 'dynamodb-table', id: obs.tableName, arn: obs.arn };
  const lifts: ScalingLifts = {};
  const out: ScalingPlan = { actions: [], changes: [], lifts };
  for (const r of [obs.table, ...obs.indexes]) {
    for (const dim of DIMS) {
      const key = liftKey(r.indexName, dim);
      const t = r.scalableTargets?.[dim];
      const known = input.lifts[key];
      if (!t) {
        if (known) lifts[key] = known;
        continue;
      }
      const respected = respectPerson(known, t);
      if (respected) lifts[key] = respected;
      const step: TargetStep = {
        params: { resourceId: t.resourceId, scalableDimension: t.scalableDimension },
        reasons: [],
        next: respected,
      };
      if (respected !== known)
        step.reasons.push(
          `a person set the minimum to ${t.minCapacity}: respected, handed back to it from now on`,
        );
      policyStep(step, t, config);
      const proposed = input.proposed.get(resourceKey(r.indexName))?.[dim] ?? r.provisioned[dim];
      liftStep(step, t, proposed, r.provisioned[dim], config, now);
      if (
        step.params.minCapacity === undefined &&
        step.params.maxCapacity === undefined &&
        !step.params.policy
      )
        continue;
      out.actions.push(
        scalingAction(tableRef, `${resourceId(obs.tableName, r.indexName)} ${dim}`, t, step, key),
      );
      out.changes.push({ key, next: step.next });
    }
  }
  return out;
}

/**
 * Everything db-autopilot changed on the scalable targets, handed back exactly: each person's
 * minimum, maximum and whole target tracking policy (pause, and the removal step in README.md).
 */
export function handBackAll(lifts: ScalingLifts, tableRef: ResourceRef, why: string): ScalingPlan {
  const out: ScalingPlan = { actions: [], changes: [], lifts: {} };
  for (const [key, lift] of Object.entries(lifts)) {
    const params: Record<string, unknown> = {
      resourceId: lift.resourceId,
      scalableDimension: lift.scalableDimension,
      leaseKey: key,
    };
    if (lift.liftedTo !== undefined) params.minCapacity = lift.originalMin;
    if (lift.liftedMax !== undefined && lift.originalMax !== undefined) params.maxCapacity = lift.originalMax;
    if (lift.originalPolicy) params.policy = lift.originalPolicy;
    if (Object.keys(params).length === 3) continue;
    out.actions.push({
      tuner: 'dynamodb',
      resource: tableRef,
      kind: 'set-scaling-target',
      from: { minCapacity: lift.liftedTo, maxCapacity: lift.liftedMax },
      to: { minCapacity: params.minCapacity, maxCapacity: params.maxCapacity, policy: params.policy },
      reason: `${lift.resourceId} ${lift.scalableDimension}: handed back to the person's settings (${why})`,
      evidence: [],
      monthlyCostDelta: 0,
      undo: null,
      mutating: true,
      params,
    });
    out.changes.push({ key, next: undefined });
    out.lifts[key] = lift;
  }
  return out;
}
