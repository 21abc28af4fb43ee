/**
 * Application Auto Scaling beside db-autopilot, per scalable target and dimension.
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
  type TableObservation,
} from './dynamodb-observation.ts';

/** A scalable target's minimum lifted by db-autopilot after a raise, to hand back later. */
export interface ScalingLift {
  resourceId: string;
  scalableDimension: string;
  originalMin: number;
  liftedTo: number;
  until: string;
}

export type ScalingLifts = Record<string, ScalingLift>;

function liftKey(indexName: string | null, dim: CapacityDim): string {
  return `${resourceKey(indexName)}:${dim}`;
}

/**
 * Floors that keep db-autopilot from fighting Application Auto Scaling: while a lift is active,
 * capacity stays at the lifted minimum; where AWS's target tracking owns scale-in
 * (autoScaling.ownScaleIn false), db-autopilot never lowers capacity itself.
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
      if (lift && Date.parse(lift.until) > now.getTime()) {
        floors.push({
          indexName: r.indexName,
          dim,
          units: Math.min(lift.liftedTo, r.provisioned[dim]),
          reason: `the scalable target's minimum is lifted to ${lift.liftedTo} until ${lift.until}`,
          evidence: [],
        });
      } else if (!config.autoScaling.ownScaleIn) {
        floors.push({
          indexName: r.indexName,
          dim,
          units: r.provisioned[dim],
          reason: 'Application Auto Scaling owns scale-in on this target',
          evidence: [],
        });
      } else if (t.minCapacity > 0) {
        // db-autopilot owns scale-in, but the scalable target's own minimum still binds: target
        // tracking raises anything below it straight back, spending a decrease for nothing.
        floors.push({
          indexName: r.indexName,
          dim,
          units: Math.min(t.minCapacity, r.provisioned[dim]),
          reason: `the scalable target's minimum is ${t.minCapacity}: Application Auto Scaling would raise a lower capacity back`,
          evidence: [],
        });
      }
    }
  }
  return floors;
}

/**
 * Actions on the scalable targets of a table: keep the target tracking policy at the configured
 * target with DisableScaleIn where db-autopilot owns scale-in (so both do not spend the same
 * decrease budget, aws-facts.md "Native auto scaling"); lift the minimum to a raised capacity so
 * target tracking does not scale it straight back; hand the minimum back after `liftMinutes`.
 */
export function planScalingTargets(input: {
  observation: TableObservation;
  config: DynamodbConfig;
  proposed: Map<string, CapacityPair>;
  lifts: ScalingLifts;
  now: Date;
  tableRef?: ResourceRef;
}): { actions: Action[]; lifts: ScalingLifts } {
  const { observation: obs, config, now } = input;
  const tableRef: ResourceRef = input.tableRef ?? { kind: 'dynamodb-table', id: obs.tableName, arn: obs.arn };
  const lifts: ScalingLifts = { ...input.lifts };
  const actions: Action[] = [];
  const targetPercent = Math.round(config.targetUtilization * 100);
  for (const r of [obs.table, ...obs.indexes]) {
    for (const dim of DIMS) {
      const t = r.scalableTargets?.[dim];
      if (!t) continue;
      const key = liftKey(r.indexName, dim);
      const name = `${resourceId(obs.tableName, r.indexName)} ${dim}`;
      const params: Record<string, unknown> = {
        resourceId: t.resourceId,
        scalableDimension: t.scalableDimension,
      };
      const reasons: string[] = [];
      const wantDisable = config.autoScaling.ownScaleIn;
      if (t.policyName && (t.targetValue !== targetPercent || (t.disableScaleIn ?? false) !== wantDisable)) {
        params.policy = { policyName: t.policyName, targetValue: targetPercent, disableScaleIn: wantDisable };
        reasons.push(
          `target tracking at ${targetPercent}%${wantDisable ? ' with scale-in disabled: db-autopilot spends the decrease budget' : ''}`,
        );
      }
      const proposed = input.proposed.get(resourceKey(r.indexName))?.[dim] ?? r.provisioned[dim];
      const lift = lifts[key];
      if (proposed > r.provisioned[dim] && proposed > t.minCapacity) {
        params.minCapacity = proposed;
        if (proposed > t.maxCapacity) params.maxCapacity = proposed;
        lifts[key] = {
          resourceId: t.resourceId,
          scalableDimension: t.scalableDimension,
          originalMin: lift?.originalMin ?? t.minCapacity,
          liftedTo: proposed,
          until: new Date(now.getTime() + config.autoScaling.liftMinutes * 60_000).toISOString(),
        };
        reasons.push(
          `minimum lifted ${t.minCapacity} -> ${proposed} so target tracking does not scale the raise straight back`,
        );
      } else if (lift && Date.parse(lift.until) <= now.getTime()) {
        params.minCapacity = Math.min(lift.originalMin, t.maxCapacity);
        delete lifts[key];
        reasons.push(
          `minimum handed back ${t.minCapacity} -> ${lift.originalMin} after the stabilization window`,
        );
      }
      if (!reasons.length) continue;
      actions.push({
        tuner: 'dynamodb',
        resource: tableRef,
        kind: 'set-scaling-target',
        from: {
          minCapacity: t.minCapacity,
          maxCapacity: t.maxCapacity,
          targetValue: t.targetValue,
          disableScaleIn: t.disableScaleIn,
        },
        to: {
          minCapacity: params.minCapacity ?? t.minCapacity,
          maxCapacity: params.maxCapacity ?? t.maxCapacity,
          policy: params.policy,
        },
        reason: `${name}: ${reasons.join('; ')}`,
        evidence: [],
        monthlyCostDelta: 0,
        undo: {
          kind: 'set-scaling-target',
          params: {
            resourceId: t.resourceId,
            scalableDimension: t.scalableDimension,
            minCapacity: t.minCapacity,
            maxCapacity: t.maxCapacity,
          },
        },
        mutating: true,
        params,
      });
    }
  }
  return { actions, lifts };
}
