/**
 * DynamoDB provisioned capacity: how much to provision, per table and per GSI, read and write
 * separately. Pure: (observation, config, floors, now) -> Plan. No SDK, no clock.
 *
 * The decision reads as its steps, each in its own file and tested alone
 * (../shared/examples.md, "How a decision function stays readable"):
 *   estimate demand   dynamodb-demand.ts     consumed + throttle events x units per request, capped
 *   recommend         dynamodb-recommend.ts  up to demand / target, down to the window's peak / target
 *   stabilize         dynamodb-stabilize.ts  no decrease inside the window after anyone's increase
 *   lower sooner      dynamodb-decrease-plan.ts  a short peak that is over, when the budget allows
 *   learned floor     dynamodb-demand-shape.ts  while a recurring burst is on: its learned peak / target
 *   constrain         dynamodb-constrain.ts  floors, bounds, table/account limits, no mixed update, budget
 *   price             dynamodb-price.ts      monthly cost at the table class's rates
 *   plan decreases    dynamodb-decrease-plan.ts  spend a slot now or keep it for the learned peaks
 *   plan              dynamodb-plan.ts       increase first, decrease now, deferred decreases
 * Findings (hot key, account limit) are in dynamodb-findings.ts; Application Auto Scaling in
 * dynamodb-scaling-targets.ts; the decrease budget in dynamodb-decrease-budget.ts.
 *
 * Global tables are recommend-only: a replica's capacity must not follow one Region's metrics
 * (aws-facts.md, "Learned from review": decide from every Region's metrics or leave it alone).
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { Action, Plan, ResourceRef } from '../core/model.ts';
import { HOURS_PER_MONTH, type PriceTable, price } from '../pricing.ts';
import {
  applyFloors,
  type DecreaseTiming,
  decreases,
  decreaseTiming,
  fitLimits,
  increases,
  type ResourceChange,
  splitChanges,
} from './dynamodb-constrain.ts';
import { lowerSooner, type PricedShape, stillFalling } from './dynamodb-decrease-plan.ts';
import { estimateDemand } from './dynamodb-demand.ts';
import { type DemandShape, learnedFloors, shapeKey } from './dynamodb-demand-shape.ts';
import { throttleFindings } from './dynamodb-findings.ts';
import {
  BACKFILLING_STATUS,
  type CapacityDim,
  type CapacityFloor,
  type CapacityPair,
  type CapacityResourceObservation,
  DIMS,
  type DimensionAssessment,
  resourceId,
  resourceKey,
  type TableObservation,
} from './dynamodb-observation.ts';
import {
  decreaseAction,
  deferredDecreaseAction,
  evidenceFor,
  increaseAction,
  type PlanContext,
} from './dynamodb-plan.ts';
import { dynamodbPriceKey, priceChange } from './dynamodb-price.ts';
import { recommend } from './dynamodb-recommend.ts';
import { stabilize } from './dynamodb-stabilize.ts';

export { demandSeries, unitsPerRequest } from './dynamodb-demand.ts';
export * from './dynamodb-observation.ts';
export { monthlyCapacityCost } from './dynamodb-price.ts';
export {
  handBackAll,
  leaseNotApplied,
  liftKey,
  planScalingTargets,
  type ScalingLift,
  type ScalingLifts,
  type ScalingPlan,
  scalingFloors,
} from './dynamodb-scaling-targets.ts';

/** Estimate -> recommend -> stabilize for one dimension of a table or GSI. */
export function assessDimension(
  r: CapacityResourceObservation,
  dim: CapacityDim,
  config: DynamodbConfig,
  now: Date,
): DimensionAssessment {
  const provisioned = r.provisioned[dim];
  const e = estimateDemand(r.metrics[dim], provisioned, config);
  const rec = stabilize(recommend(e, provisioned, config), e, provisioned, r.lastIncreaseAt, config, now);
  return {
    indexName: r.indexName,
    dim,
    provisioned,
    consumedRate: e.consumedRate,
    unservedRate: e.unservedRate,
    demandRate: e.demandRate,
    stableDemandRate: e.stableDemandRate,
    settledDemandRate: e.settledDemandRate,
    unitsPerRequest: e.unitsPerRequest,
    provisionedThrottles: e.provisionedThrottles,
    keyRangeThrottles: e.keyRangeThrottles,
    accountLimitThrottles: e.accountLimitThrottles,
    unservedCapped: e.unservedCapped,
    desired: rec.desired,
    direction: rec.direction,
    why: rec.why,
  };
}

export interface CapacityPolicyInput {
  observation: TableObservation;
  config: DynamodbConfig;
  prices: PriceTable;
  now: Date;
  /** Capacity floors (pre-warming, alarm fast path lift); never above the bounds. */
  floors?: CapacityFloor[];
  /**
   * Demand shapes learned from history per resource dimension (`shapeKey`): the day's decrease
   * plan and the learned burst floor. None: the configured reserve, no learned floor.
   */
  shapes?: Readonly<Record<string, DemandShape>>;
  tableRef?: ResourceRef;
}

export interface CapacityPolicyResult {
  plan: Plan;
  assessments: DimensionAssessment[];
  /** Final capacity per resource if every action applies. */
  proposed: Map<string, CapacityPair>;
}

function capacityOf(obs: TableObservation): Map<string, CapacityPair> {
  return new Map([obs.table, ...obs.indexes].map((r) => [resourceKey(r.indexName), { ...r.provisioned }]));
}

/** A resource's learned shapes with each dimension's price per unit-hour. */
function pricedShapes(
  shapes: Readonly<Record<string, DemandShape>> | undefined,
  obs: TableObservation,
  indexName: string | null,
  prices: PriceTable,
): PricedShape[] {
  return DIMS.flatMap((dim) => {
    const shape = shapes?.[shapeKey(indexName, dim)];
    const item = dim === 'read' ? 'rcuHour' : 'wcuHour';
    return shape ? [{ shape, unitHour: price(prices, dynamodbPriceKey(item, obs.tableClass)) }] : [];
  });
}

/** Lower sooner after a short peak (dynamodb-decrease-plan.ts), applied to one assessment. */
function sooner(
  a: DimensionAssessment,
  r: CapacityResourceObservation,
  input: CapacityPolicyInput,
): DimensionAssessment {
  const { observation: obs, config, prices, now } = input;
  const budget = { ledger: r.decreases, now, shapes: pricedShapes(input.shapes, obs, r.indexName, prices) };
  const s = lowerSooner(a, input.shapes?.[shapeKey(r.indexName, a.dim)], budget, config);
  return s ? { ...a, desired: s.desired, direction: 'down', why: s.why } : a;
}

/** The actions of the constrained changes: increase first, then decreases now or deferred. */
function actionsOf(
  ctx: PlanContext & { shapes?: Readonly<Record<string, DemandShape>> },
  changes: readonly ResourceChange[],
  prices: PriceTable,
  now: Date,
): Action[] {
  const { obs, config } = ctx;
  const ups = changes.filter(increases);
  const downs = changes.filter(decreases);
  const timed = downs.map((change) => ({
    change,
    timing: decreaseTiming(change.resource.decreases, now, obs.observedAt, config.decreaseReserve, {
      savingPerHour: -priceChange(change.up, change.down, prices, obs.tableClass) / HOURS_PER_MONTH,
      shapes: pricedShapes(ctx.shapes, obs, change.resource.indexName, prices),
      targetUtilization: config.targetUtilization,
      falling: stillFalling(
        change.down,
        change.up,
        ctx.assessments.filter((a) => a.indexName === change.resource.indexName),
        config.targetUtilization,
        config.scaleDownTolerance,
      ),
    }) as DecreaseTiming,
  }));
  const downNow = timed.filter((d) => d.timing.now);
  const costUp = ups.reduce((s, c) => s + priceChange(c.current, c.up, prices, obs.tableClass), 0);
  const costDown = downNow.reduce(
    (s, d) => s + priceChange(d.change.up, d.change.down, prices, obs.tableClass),
    0,
  );
  const inc = increaseAction(ctx, ups, costUp, now);
  const dec = decreaseAction(ctx, downNow, downs, costDown, inc !== undefined, now);
  const later = timed
    .filter((d) => !d.timing.now)
    .map((d) => deferredDecreaseAction(ctx, d.change, d.timing, downs));
  return [...(inc ? [inc] : []), ...(dec ? [dec] : []), ...later];
}

/** A global table: every capacity change becomes a recommendation (nothing is changed). */
function recommendOnly(actions: Action[], obs: TableObservation): Action[] {
  const regions = obs.replicaRegions ?? [];
  return actions.map((a) =>
    a.mutating
      ? {
          ...a,
          kind: 'recommend',
          mutating: false,
          undo: null,
          rules: undefined,
          reason: `global table (replicas in ${regions.join(', ')}): recommend only, a replica is never tuned from one Region's metrics: ${a.reason}`,
        }
      : a,
  );
}

/** The capacity plan for one table and its GSIs. */
export function planTableCapacity(input: CapacityPolicyInput): CapacityPolicyResult {
  const { observation: obs, config, prices, now } = input;
  const tableRef: ResourceRef = input.tableRef ?? { kind: 'dynamodb-table', id: obs.tableName, arn: obs.arn };
  const base: Plan = { tuner: 'dynamodb', resource: tableRef, observedAt: obs.observedAt, actions: [] };
  const current = capacityOf(obs);
  const proposed = capacityOf(obs);
  if (obs.billingMode !== 'PROVISIONED') {
    return {
      plan: { ...base, noopReason: 'on-demand table: no provisioned capacity to tune' },
      assessments: [],
      proposed,
    };
  }
  // A GSI whose backfill is under way is left as it is (its write capacity feeds the backfill).
  const resources = [obs.table, ...obs.indexes.filter((i) => i.status !== BACKFILLING_STATUS)];
  // estimate demand -> recommend -> stabilize, per resource and dimension
  // (lower sooner: a short peak that is over goes down now when the budget allows)
  const assessments = resources.flatMap((r) =>
    DIMS.map((dim) => sooner(assessDimension(r, dim, config, now), r, input)),
  );
  for (const a of assessments) {
    const p = proposed.get(resourceKey(a.indexName));
    if (p && a.direction !== 'hold') p[a.dim] = a.desired;
  }
  // learned floor: a recurring burst that is on goes to its learned peak at once
  const learned = learnedFloors(assessments, input.shapes ?? {}, config.targetUtilization);
  // constrain: floors, AWS limits, split increase / decrease
  const floors = applyFloors([...(input.floors ?? []), ...learned], proposed, config);
  const limitNotes = fitLimits(obs, current, proposed);
  const changes = splitChanges(resources, current, proposed);
  // price -> plan
  const ctx: PlanContext = { obs, config, tableRef, assessments, floors, limitNotes };
  const capacity = actionsOf({ ...ctx, shapes: input.shapes }, changes, prices, now);
  const findings = throttleFindings(assessments, obs, tableRef, config);
  const global = (obs.replicaRegions?.length ?? 0) > 0;
  const actions = [...(global ? recommendOnly(capacity, obs) : capacity), ...findings];
  const plan: Plan = { ...base, actions };
  if (!actions.length) {
    plan.noopReason = assessments
      .map((a) => `${resourceId(obs.tableName, a.indexName)} ${a.dim} ${a.provisioned}: ${a.why}`)
      .join('; ');
    plan.noopEvidence = assessments.flatMap((a) => evidenceFor(a, obs, config).slice(0, 1));
  }
  return { plan, assessments, proposed: global ? current : proposed };
}
