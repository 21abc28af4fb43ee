/**
 * Step 6 of the capacity decision: turn the constrained, priced changes into the plan's actions,
 * each with its reason and evidence:
 * - one increase (every resource that goes up, in one UpdateTable), first;
 * - one decrease of the resources whose budget allows it now (a separate UpdateTable);
 * - one deferred decrease per resource whose budget (or reserve) holds it back, with the time
 *   it may be tried again.
 *
 * Pure.
 */
import type { DynamodbConfig } from '../config/sections/dynamodb.ts';
import type { Action, Evidence, ResourceRef, RuleCheck } from '../core/model.ts';
import type { DecreaseTiming, ResourceChange } from './dynamodb-constrain.ts';
import {
  BACKFILLING_STATUS,
  type CapacityFloor,
  type CapacityPair,
  type CapacityParams,
  type CapacityUpdate,
  DIMS,
  type DimensionAssessment,
  metricDimensions,
  metricPrefix,
  periodsIn,
  resourceId,
  resourceOf,
  round2,
  type TableObservation,
  tail,
  windowOf,
} from './dynamodb-observation.ts';

export function evidenceFor(
  a: DimensionAssessment,
  obs: TableObservation,
  config: DynamodbConfig,
): Evidence[] {
  const m = resourceOf(obs, a.indexName)?.metrics[a.dim];
  const period = m?.periodSeconds ?? 60;
  const dims = metricDimensions(obs.tableName, a.indexName);
  const D = metricPrefix(a.dim);
  const w = windowOf(obs.observedAt, periodsIn(config.lookbackMinutes, period), period);
  return [
    {
      metric: `Consumed${D}CapacityUnits`,
      statistic: 'Sum/period (per second, peak)',
      value: round2(a.consumedRate),
      unit: 'units/s',
      window: w,
      namespace: 'AWS/DynamoDB',
      dimensions: dims,
      series: m ? tail(m.consumedUnits, 30).map((x) => round2(x / period)) : undefined,
    },
    {
      metric: `${D}ProvisionedThroughputThrottleEvents`,
      statistic: 'Sum',
      value: a.provisionedThrottles,
      unit: 'requests',
      window: w,
      namespace: 'AWS/DynamoDB',
      dimensions: dims,
    },
    {
      metric: 'estimated demand (consumed + throttled requests x units per request)',
      statistic: 'peak',
      value: round2(a.demandRate),
      unit: 'units/s',
      window: w,
      threshold: round2(a.provisioned * config.targetUtilization),
    },
    // Read only when throttle events are converted with it (shared/tuners/dynamodb.ts requestSeries).
    ...(m?.successfulRequests
      ? [
          {
            metric: 'units per successful request (SuccessfulRequestLatency SampleCount)',
            statistic: 'ratio',
            value: round2(a.unitsPerRequest),
            window: windowOf(obs.observedAt, periodsIn(config.scaleDownStabilizationMinutes, period), period),
          },
        ]
      : []),
  ];
}

export interface PlanContext {
  obs: TableObservation;
  config: DynamodbConfig;
  tableRef: ResourceRef;
  assessments: readonly DimensionAssessment[];
  floors: Map<string, CapacityFloor[]>;
  limitNotes: readonly string[];
}

function assessment(ctx: PlanContext, indexName: string | null, dim: 'read' | 'write') {
  return ctx.assessments.find((x) => x.indexName === indexName && x.dim === dim);
}

function updatingRule(ctx: PlanContext, now: Date): RuleCheck[] {
  const notActive = [ctx.obs.table, ...ctx.obs.indexes].filter(
    (r) => r.status !== 'ACTIVE' && r.status !== BACKFILLING_STATUS,
  );
  if (!notActive.length) return [{ rule: 'aws:dynamodb-table-updating', verdict: 'ok' }];
  return [
    {
      rule: 'aws:dynamodb-table-updating',
      verdict: 'defer',
      reason: `${notActive.map((r) => `${resourceId(ctx.obs.tableName, r.indexName)} is ${r.status}`).join(', ')}: UpdateTable is not accepted until ACTIVE`,
      until: new Date(now.getTime() + 60_000).toISOString(),
    },
  ];
}

function toUpdates(m: Record<string, CapacityPair>): CapacityUpdate[] {
  return Object.entries(m).map(([k, v]) => ({
    indexName: k === '(table)' ? null : k,
    read: v.read,
    write: v.write,
  }));
}

function floorsOnly(updates: CapacityUpdate[], assessments: readonly DimensionAssessment[]): boolean {
  return updates.every((u) =>
    assessments.filter((a) => a.indexName === u.indexName).every((a) => a.direction !== 'up'),
  );
}

/** The one increase action (every resource that goes up), or none. */
export function increaseAction(
  ctx: PlanContext,
  ups: readonly ResourceChange[],
  costDelta: number,
  now: Date,
): Action | undefined {
  if (!ups.length) return undefined;
  const { obs, config } = ctx;
  const updates = ups.map((c) => ({ indexName: c.resource.indexName, read: c.up.read, write: c.up.write }));
  const from = Object.fromEntries(ups.map((c) => [c.key, c.current]));
  const to = Object.fromEntries(ups.map((c) => [c.key, c.up]));
  const reasons: string[] = [];
  const evidence: Evidence[] = [];
  for (const c of ups) {
    for (const dim of DIMS) {
      if (c.up[dim] <= c.current[dim]) continue;
      const a = assessment(ctx, c.resource.indexName, dim);
      const floors = (ctx.floors.get(c.key) ?? []).filter((f) => f.dim === dim);
      // A floor that raised the capacity further (pre-warm, learned burst floor) says so too.
      const floorWhy = floors.map((f) => f.reason).join('; ');
      const why = !floors.length
        ? (a?.why ?? '')
        : a?.direction === 'up'
          ? `${a.why}; ${floorWhy}`
          : floorWhy;
      reasons.push(
        `${resourceId(obs.tableName, c.resource.indexName)} ${dim} ${c.current[dim]} -> ${c.up[dim]}: ${why}`,
      );
      if (a) evidence.push(...evidenceFor(a, obs, config));
      for (const f of floors) evidence.push(...f.evidence);
    }
  }
  const applied = [...ctx.floors.values()].flat();
  const params: CapacityParams = {
    tableName: obs.tableName,
    direction: 'increase',
    updates,
    ...(applied.length
      ? { floors: applied.map((f) => ({ indexName: f.indexName, dim: f.dim, units: f.units, ...f.detail })) }
      : {}),
  };
  return {
    tuner: 'dynamodb',
    resource: ctx.tableRef,
    kind: floorsOnly(updates, ctx.assessments) ? 'prewarm' : 'set-capacity',
    from,
    to,
    reason: [...reasons, ...ctx.limitNotes].join('; '),
    evidence,
    monthlyCostDelta: round2(costDelta),
    undo: {
      kind: 'set-capacity',
      params: { tableName: obs.tableName, direction: 'decrease', updates: toUpdates(from) },
    },
    mutating: true,
    numericTarget: Math.max(0, ...updates.flatMap((u) => [u.read, u.write])),
    rules: [...updatingRule(ctx, now), { rule: 'aws:dynamodb-no-mixed-update', verdict: 'ok' }],
    params,
    severity: ctx.assessments.some((a) => a.direction === 'up' && a.provisionedThrottles > 0)
      ? 'warning'
      : 'info',
  };
}

function decreaseWhy(ctx: PlanContext, c: ResourceChange): string {
  return DIMS.filter((d) => c.down[d] < c.up[d])
    .map(
      (d) =>
        `${resourceId(ctx.obs.tableName, c.resource.indexName)} ${d} ${c.up[d]} -> ${c.down[d]}: ${assessment(ctx, c.resource.indexName, d)?.why ?? ''}`,
    )
    .join('; ');
}

function decreaseEvidence(ctx: PlanContext, downs: readonly ResourceChange[]): Evidence[] {
  const ev: Evidence[] = [];
  for (const c of downs) {
    for (const d of DIMS.filter((x) => c.down[x] < c.up[x])) {
      const a = assessment(ctx, c.resource.indexName, d);
      if (a) ev.push(...evidenceFor(a, ctx.obs, ctx.config));
    }
  }
  return ev;
}

function decreaseUpdate(ctx: PlanContext, c: ResourceChange): CapacityUpdate {
  const update: CapacityUpdate = { indexName: c.resource.indexName, read: c.down.read, write: c.down.write };
  const raisedFirst = c.up.read > c.current.read || c.up.write > c.current.write;
  if (!raisedFirst) update.plannedAt = ctx.obs.observedAt;
  return update;
}

/** The decrease spent now (one UpdateTable for every resource whose budget allows it), or none. */
export function decreaseAction(
  ctx: PlanContext,
  downs: ReadonlyArray<{ change: ResourceChange; timing: DecreaseTiming }>,
  allDowns: readonly ResourceChange[],
  costDelta: number,
  hasIncrease: boolean,
  now: Date,
): Action | undefined {
  if (!downs.length) return undefined;
  const { obs } = ctx;
  const updates = downs.map(({ change: c }) => decreaseUpdate(ctx, c));
  const from = Object.fromEntries(downs.map(({ change: c }) => [c.key, c.up]));
  return {
    tuner: 'dynamodb',
    resource: ctx.tableRef,
    kind: 'set-capacity',
    from,
    to: Object.fromEntries(downs.map(({ change: c }) => [c.key, c.down])),
    reason: downs
      .map(
        ({ change, timing }) =>
          `${decreaseWhy(ctx, change)} (${timing.budgetText}${timing.planText ? `; ${timing.planText}` : ''})`,
      )
      .join('; '),
    evidence: decreaseEvidence(ctx, allDowns),
    monthlyCostDelta: round2(costDelta),
    undo: {
      kind: 'set-capacity',
      params: { tableName: obs.tableName, direction: 'increase', updates: toUpdates(from) },
    },
    mutating: true,
    numericTarget: Math.min(...updates.flatMap((u) => [u.read, u.write])),
    rules: [
      ...updatingRule(ctx, now),
      { rule: 'aws:dynamodb-decrease-budget', verdict: 'ok' },
      ...(hasIncrease
        ? [
            {
              rule: 'aws:dynamodb-no-mixed-update',
              verdict: 'ok' as const,
              reason: 'separate from the increase, which goes first',
            },
          ]
        : []),
    ],
    params: { tableName: obs.tableName, direction: 'decrease', updates } satisfies CapacityParams,
  };
}

/** A decrease the budget (or the reserve) holds back: deferred to `timing.until`. */
export function deferredDecreaseAction(
  ctx: PlanContext,
  c: ResourceChange,
  timing: DecreaseTiming,
  allDowns: readonly ResourceChange[],
): Action {
  const kept = timing.planText
    ? `the day's plan keeps the slot: ${timing.planText}; reconsidered`
    : timing.reserveKept
      ? `keeping a reserve of ${ctx.config.decreaseReserve} for later spikes`
      : 'the next decrease slot';
  const why = `${decreaseWhy(ctx, c)} (${timing.budgetText}; ${kept} at ${timing.until})`;
  const update = decreaseUpdate(ctx, c);
  return {
    tuner: 'dynamodb',
    resource: ctx.tableRef,
    kind: 'set-capacity',
    from: { [c.key]: c.up },
    to: { [c.key]: c.down },
    reason: why,
    evidence: decreaseEvidence(ctx, allDowns),
    monthlyCostDelta: 0,
    undo: null,
    mutating: true,
    numericTarget: Math.min(update.read, update.write),
    rules: [{ rule: 'aws:dynamodb-decrease-budget', verdict: 'defer', reason: why, until: timing.until }],
    params: {
      tableName: ctx.obs.tableName,
      direction: 'decrease',
      updates: [update],
    } satisfies CapacityParams,
  };
}
