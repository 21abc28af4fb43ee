/**
 * Step 5 of the replicas decision (plain RDS with routing): keep the read name's weighted record
 * set serving. aws-facts.md (read replicas, learned from review):
 * - a name whose last record is deleted stops resolving; when every record of a weighted set is
 *   unhealthy Route 53 answers as if all were healthy;
 * - keep a fallback record (the source's endpoint), withdraw any replica that is not `available`
 *   and caught up, and remove records whose replica is gone.
 *
 * So, in this order: (1) the fallback record must exist (added when missing, never removed);
 * (2) route owned replicas that are available, caught up and verified to match their source;
 * (3) withdraw owned replicas that are not (and any replica that is broken or being deleted);
 * (4) sweep records whose replica no longer exists; (5) never remove the last serving record.
 */
import type { Action, Evidence, ResourceRef } from '../core/model.ts';
import {
  isBroken,
  isGone,
  isLagging,
  isOwned,
  isServingStatus,
  isVerified,
  type ReaderClasses,
} from './replica-readers.ts';
import type {
  ReaderObservation,
  ReplicaObservation,
  ReplicaPolicySettings,
  ReplicaRoutingSettings,
  RouteRecord,
} from './replica-types.ts';

interface RoutingContext {
  obs: ReplicaObservation;
  settings: ReplicaPolicySettings;
  routing: ReplicaRoutingSettings;
  sourceRef: ResourceRef;
  evidence: Evidence[];
}

const routeLabel = (routing: ReplicaRoutingSettings, weight: number) =>
  `${routing.recordName} weight ${weight}`;

function routeParams(ctx: RoutingContext, setIdentifier: string, replicaId: string) {
  const { hostedZoneId, recordName, ttlSeconds, weight, healthChecks } = ctx.routing;
  return {
    hostedZoneId,
    recordName,
    ttlSeconds,
    weight,
    setIdentifier,
    replicaId,
    sourceId: ctx.obs.source.id,
    ...(healthChecks ? { healthCheck: true, maxReplicaLagSeconds: ctx.settings.maxReplicaLagSeconds } : {}),
  };
}

/** Stops routing reads to a record (its undo routes them again). */
export function removeRouteAction(
  ctx: RoutingContext,
  resource: ResourceRef,
  record: { setIdentifier: string; replicaId: string; endpoint?: string; weight: number },
  reason: string,
): Action {
  return {
    tuner: 'replicas',
    evidence: ctx.evidence,
    resource,
    kind: 'remove-route',
    from: routeLabel(ctx.routing, record.weight),
    to: 'not routed',
    reason,
    monthlyCostDelta: 0,
    undo: {
      kind: 'add-route',
      params: { ...routeParams(ctx, record.setIdentifier, record.replicaId), endpoint: record.endpoint },
    },
    mutating: true,
    params: routeParams(ctx, record.setIdentifier, record.replicaId),
    rules: [{ rule: 'replicas:keeps-a-serving-record', verdict: 'ok' }],
  };
}

function addRouteAction(ctx: RoutingContext, r: ReaderObservation): Action {
  return {
    tuner: 'replicas',
    evidence: ctx.evidence,
    resource: { kind: 'rds-instance', id: r.id },
    kind: 'add-route',
    from: 'not routed',
    to: routeLabel(ctx.routing, ctx.routing.weight),
    reason: `replica ${r.id} is available, in sync and matches its source: route reads to it through ${ctx.routing.recordName}`,
    monthlyCostDelta: 0,
    undo: { kind: 'remove-route', params: routeParams(ctx, r.id, r.id) },
    mutating: true,
    params: { ...routeParams(ctx, r.id, r.id), endpoint: r.endpoint },
    rules: [
      { rule: 'replicas:replica-in-sync', verdict: 'ok' },
      { rule: 'replicas:matches-source', verdict: 'ok' },
    ],
  };
}

/** (1) The fallback record: the source's endpoint at its own weight, added when missing. */
function fallbackActions(ctx: RoutingContext): Action[] {
  const fb = ctx.routing.fallback;
  const record = (ctx.obs.routes ?? []).find((r) => r.setIdentifier === fb.setIdentifier);
  const endpoint = ctx.obs.source.endpoint;
  const base = { tuner: 'replicas' as const, evidence: ctx.evidence, resource: ctx.sourceRef };
  if (record) {
    if (endpoint === undefined || sameHost(record.value, endpoint)) return [];
    return [
      {
        ...base,
        kind: 'finding',
        from: null,
        to: null,
        reason: `the fallback record ${fb.setIdentifier} of ${ctx.routing.recordName} points at ${record.value}, not at the source ${endpoint}: reads may not reach ${ctx.obs.source.id} when no replica serves`,
        monthlyCostDelta: 0,
        undo: null,
        mutating: false,
        severity: 'warning',
      },
    ];
  }
  if (endpoint === undefined) {
    return [
      {
        ...base,
        kind: 'finding',
        from: null,
        to: null,
        reason: `${ctx.routing.recordName} has no fallback record ${fb.setIdentifier} and the source's endpoint is unknown: no record is removed until it exists`,
        monthlyCostDelta: 0,
        undo: null,
        mutating: false,
        severity: 'critical',
      },
    ];
  }
  return [
    {
      ...base,
      kind: 'add-route',
      from: 'no fallback record',
      to: routeLabel(ctx.routing, fb.weight),
      reason: `${ctx.routing.recordName} has no fallback record: add ${fb.setIdentifier} -> the source ${endpoint} (weight ${fb.weight}) so the name keeps resolving whatever happens to the replicas`,
      monthlyCostDelta: 0,
      undo: null,
      mutating: true,
      // The source publishes no ReplicaLag: its record carries no lag health check.
      params: {
        ...routeParams(ctx, fb.setIdentifier, ctx.obs.source.id),
        weight: fb.weight,
        endpoint,
        healthCheck: false,
      },
    },
  ];
}

function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.+$/, '') === b.toLowerCase().replace(/\.+$/, '');
}

/** The record routing reads to a reader: by set identifier, else by endpoint. */
function recordOf(routes: RouteRecord[], r: ReaderObservation): RouteRecord | undefined {
  return (
    routes.find((x) => x.setIdentifier === r.id) ??
    (r.endpoint ? routes.find((x) => sameHost(x.value, r.endpoint ?? '')) : undefined)
  );
}

/** Why a routed reader must be withdrawn, or undefined when it may keep serving. */
function withdrawReason(ctx: RoutingContext, r: ReaderObservation, removing: boolean): string | undefined {
  if (isBroken(r.status) || isGone(r.status)) return `replica ${r.id} is ${r.status}: it serves nothing`;
  if (!isOwned(r)) return undefined;
  if (removing) return undefined; // the scale-in step withdraws it with its own reason
  if (!isServingStatus(r.status)) return `replica ${r.id} is ${r.status}, not available`;
  if (isLagging(r, ctx.settings.maxReplicaLagSeconds)) {
    return `replica ${r.id} lags (lag ${r.replicaLagSeconds} s > ${ctx.settings.maxReplicaLagSeconds} s): stop routing reads to it until it catches up`;
  }
  if (!isVerified(r)) {
    return `replica ${r.id} does not match its source (${(r.mismatches ?? ['not verified']).join(', ')})`;
  }
  return undefined;
}

export interface RoutingPlan {
  actions: Action[];
  /** Set identifiers whose records stay after this plan (for the last-record rule of the scale-in). */
  remaining: Set<string>;
}

/** (2)-(5): route, withdraw, sweep; every removal keeps at least one serving record. */
export function planRouting(
  obs: ReplicaObservation,
  settings: ReplicaPolicySettings,
  c: ReaderClasses,
  removing: ReadonlySet<string>,
  sourceRef: ResourceRef,
  evidence: Evidence[],
): RoutingPlan {
  const routing = settings.routing;
  if (obs.family !== 'rds' || !routing) return { actions: [], remaining: new Set() };
  const ctx: RoutingContext = { obs, settings, routing, sourceRef, evidence };
  const routes = obs.routes ?? [];
  const actions = fallbackActions(ctx);
  const removals: Action[] = [];
  const claimed = new Set<string>();
  for (const r of c.listed) {
    const record = recordOf(routes, r);
    if (record) claimed.add(record.setIdentifier);
    const healthy = isServingStatus(r.status) && !isLagging(r, settings.maxReplicaLagSeconds);
    if (!record && isOwned(r) && healthy && !removing.has(r.id) && r.replicaLagSeconds !== null) {
      if (isVerified(r)) actions.push(addRouteAction(ctx, r));
      continue;
    }
    const why = record ? withdrawReason(ctx, r, removing.has(r.id)) : undefined;
    if (record && why) {
      const resource: ResourceRef = isOwned(r) ? { kind: 'rds-instance', id: r.id } : sourceRef;
      removals.push(
        removeRouteAction(ctx, resource, { ...record, replicaId: r.id, endpoint: r.endpoint }, why),
      );
    }
  }
  // (4) Records whose replica is gone (deleted by a person, or never existed): swept.
  for (const record of routes) {
    if (claimed.has(record.setIdentifier) || record.setIdentifier === routing.fallback.setIdentifier)
      continue;
    if (obs.source.endpoint && sameHost(record.value, obs.source.endpoint)) continue;
    removals.push(
      removeRouteAction(
        ctx,
        sourceRef,
        { ...record, replicaId: record.setIdentifier },
        `record ${record.setIdentifier} of ${routing.recordName} points at ${record.value}, which is no live replica of ${obs.source.id}: reads sent there fail`,
      ),
    );
  }
  const remaining = new Set(routes.map((r) => r.setIdentifier));
  for (const a of actions) if (a.kind === 'add-route') remaining.add(String(a.params?.setIdentifier));
  actions.push(...keepServingRecord(ctx, removals, remaining, servingIds(obs, c, routing)));
  return { actions, remaining };
}

/** Set identifiers that serve reads: the fallback (source available) and serving replicas. */
export function servingIds(
  obs: ReplicaObservation,
  c: ReaderClasses,
  routing: ReplicaRoutingSettings,
): Set<string> {
  const ids = new Set(c.serving.map((r) => r.id));
  if (isServingStatus(obs.source.status)) ids.add(routing.fallback.setIdentifier);
  for (const r of obs.routes ?? []) {
    if (isServingStatus(obs.source.status) && obs.source.endpoint && sameHost(r.value, obs.source.endpoint)) {
      ids.add(r.setIdentifier);
    }
    const reader = c.serving.find((x) => x.endpoint && sameHost(r.value, x.endpoint));
    if (reader) ids.add(r.setIdentifier);
  }
  return ids;
}

/**
 * (5) Removes records in order while another serving record remains (or is being added);
 * a removal that would take the last one is skipped and says why.
 */
export function keepServingRecord(
  ctx: { routing: ReplicaRoutingSettings },
  removals: Action[],
  remaining: Set<string>,
  serving: ReadonlySet<string>,
): Action[] {
  for (const a of removals) {
    const id = String(a.params?.setIdentifier);
    const others = [...remaining].filter((x) => x !== id && serving.has(x));
    if (others.length > 0) {
      remaining.delete(id);
      continue;
    }
    a.rules = [
      {
        rule: 'replicas:keeps-a-serving-record',
        verdict: 'skip',
        reason: `${id} is the last serving record of ${ctx.routing.recordName}: removing it would leave the read name without a serving target (add the fallback record)`,
      },
    ];
  }
  return removals;
}
