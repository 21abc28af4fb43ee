/**
 * Step 6 of the replicas decision: the actions that change the reader count, each with its
 * declared AWS rules (aws-facts.md, "Read replicas"):
 * - scale out: the source available, backups on, 15 per source and the account quota (failed,
 *   stuck and deleting replicas count against both);
 * - scale in: only replicas db-autopilot created (tag AND record), never below the minimum; a
 *   routed plain RDS replica loses its record first and is deleted on a later run once drained;
 * - lagging, broken and stuck replicas are reported; broken and stuck ones db-autopilot created
 *   are removed (their record first), others are left to their owner.
 */
import type { Action, Evidence, ResourceRef, RuleCheck } from '../core/model.ts';
import { MAX_REPLICAS_PER_SOURCE, readerMonthlyCost, replicaName } from './replica-cost.ts';
import { round } from './replica-load.ts';
import { isLagging, isOwned, ownershipGap, type ReaderClasses } from './replica-readers.ts';
import type { ReaderObservation, ReplicaObservation, ReplicaPolicySettings } from './replica-types.ts';

/** How long to wait before trying again when a rule defers an action. */
export const RETRY_AFTER_MINUTES = 5;

export interface ActionContext {
  obs: ReplicaObservation;
  settings: ReplicaPolicySettings;
  c: ReaderClasses;
  sourceRef: ResourceRef;
  evidence: Evidence[];
  now: Date;
  why: string;
  /** The class of new readers (config, then the readers seen, then the writer). */
  newClass: string | undefined;
}

const base = (ctx: ActionContext) => ({ tuner: 'replicas' as const, evidence: ctx.evidence });
const retryAt = (now: Date) => new Date(now.getTime() + RETRY_AFTER_MINUTES * 60_000).toISOString();
const lagMetric = (ctx: ActionContext) => (ctx.obs.family === 'aurora' ? 'AuroraReplicaLag' : 'ReplicaLag');

function finding(ctx: ActionContext, r: ReaderObservation, reason: string, evidence?: Evidence[]): Action {
  return {
    ...base(ctx),
    ...(evidence ? { evidence } : {}),
    resource: { kind: 'rds-instance', id: r.id },
    kind: 'finding',
    from: null,
    to: null,
    reason,
    monthlyCostDelta: 0,
    undo: null,
    mutating: false,
    severity: 'warning',
  };
}

/** Lagging readers are reported, never a reason to add. */
export function lagFindings(ctx: ActionContext): Action[] {
  const metric = lagMetric(ctx);
  const max = ctx.settings.maxReplicaLagSeconds;
  return ctx.c.lagging.map((r) =>
    finding(
      ctx,
      r,
      r.replicaLagSeconds === -1
        ? `replica ${r.id} is not replicating (${metric} -1): not counted as capacity`
        : `replica ${r.id} lags ${r.replicaLagSeconds} s (> ${max} s, ${metric}): not counted as capacity`,
      [
        {
          metric,
          statistic: 'Maximum',
          // AuroraReplicaLag is published in milliseconds, ReplicaLag in seconds.
          value: metric === 'AuroraReplicaLag' ? (r.replicaLagSeconds ?? 0) * 1000 : r.replicaLagSeconds,
          unit: metric === 'AuroraReplicaLag' ? 'Milliseconds' : 'Seconds',
          window: ctx.obs.window,
          namespace: 'AWS/RDS',
          dimensions: { DBInstanceIdentifier: r.id },
          threshold: metric === 'AuroraReplicaLag' ? max * 1000 : max,
        },
      ],
    ),
  );
}

function removeReplicaAction(
  ctx: ActionContext,
  r: ReaderObservation,
  from: number,
  rules: RuleCheck[],
  reason: string,
): Action {
  const { obs, settings, now } = ctx;
  const each = readerMonthlyCost(settings.prices, obs.family, r.instanceClass, obs.source.storage);
  return {
    ...base(ctx),
    resource: { kind: 'rds-instance', id: r.id },
    kind: 'remove-replica',
    from,
    to: from - 1,
    reason,
    monthlyCostDelta: each === null ? 0 : -each,
    // The undo creates a new replica of the same class (a deleted replica cannot come back).
    undo: {
      kind: 'add-replica',
      params: {
        ...addParams(ctx, replicaName(obs.source.id, now, 0), r.instanceClass),
        resource: ctx.sourceRef,
        numericTarget: from,
      },
    },
    mutating: true,
    deletes: true,
    numericTarget: from - 1,
    rules,
    params: { family: obs.family, sourceId: obs.source.id, replicaId: r.id, ...routingParams(ctx) },
  };
}

/** The routing a removal must undo first (plain RDS with routing): the adapter removes the record. */
function routingParams(ctx: ActionContext): Record<string, unknown> {
  const routing = ctx.settings.routing;
  if (ctx.obs.family !== 'rds' || !routing) return {};
  return { routing: { hostedZoneId: routing.hostedZoneId, recordName: routing.recordName } };
}

function addParams(ctx: ActionContext, replicaId: string, instanceClass: string | undefined) {
  const { obs, settings } = ctx;
  return {
    family: obs.family,
    sourceId: obs.source.id,
    replicaId,
    engine: obs.source.engine,
    instanceClass,
    instanceClasses: [
      ...new Set([instanceClass, ...settings.instanceClasses].filter((x): x is string => !!x)),
    ],
    availabilityZones: settings.availabilityZones,
  };
}

/**
 * Owned replicas whose settings differ from their source (verified after creation): reported;
 * plain RDS ones are not routed until they match (replica-routing.ts).
 */
export function mismatchFindings(ctx: ActionContext): Action[] {
  return ctx.c.listed
    .filter((r) => isOwned(r) && r.status === 'available' && (r.mismatches ?? []).length > 0)
    .map((r) =>
      finding(
        ctx,
        r,
        `replica ${r.id} does not match ${ctx.obs.family === 'aurora' ? "the cluster's readers" : `its source ${ctx.obs.source.id}`}: ${(r.mismatches ?? []).join('; ')}${ctx.obs.family === 'rds' ? ': not routed until fixed' : ''}`,
      ),
    );
}

/** Broken and stuck readers: reported; removed when db-autopilot created them (record first). */
export function brokenActions(ctx: ActionContext, routedIds: ReadonlySet<string>): Action[] {
  const out: Action[] = [];
  const listed = ctx.c.listed.length;
  for (const r of [...ctx.c.broken, ...ctx.c.stuck]) {
    const state =
      r.status === 'creating'
        ? `stuck creating since ${r.createdAt} (over ${ctx.settings.stuckCreatingMinutes ?? 360} min)`
        : r.status;
    if (!isOwned(r)) {
      out.push(
        finding(
          ctx,
          r,
          `replica ${r.id} is ${state}: it serves nothing but counts against the 15 per source and the account quota; db-autopilot did not create it (${ownershipGap(r)}), so it is left to its owner`,
        ),
      );
      continue;
    }
    if (routedIds.has(r.id)) continue; // its record is withdrawn first (routing step)
    out.push(
      removeReplicaAction(
        ctx,
        r,
        listed,
        [{ rule: 'replicas:ownership', verdict: 'ok' }],
        `replica ${r.id} (created by db-autopilot) is ${state}: it serves nothing and uses the quota, remove it`,
      ),
    );
  }
  return out;
}

function scaleOutRules(ctx: ActionContext, i: number): RuleCheck[] {
  const { obs, c } = ctx;
  const kind = obs.family === 'aurora' ? 'cluster' : 'source';
  const rules: RuleCheck[] = [
    obs.source.status === 'available'
      ? { rule: 'replicas:source-available', verdict: 'ok' }
      : {
          rule: 'replicas:source-available',
          verdict: 'defer',
          reason: `${kind} ${obs.source.id} is ${obs.source.status}, not available`,
          until: retryAt(ctx.now),
        },
    obs.source.backupRetentionPeriod > 0
      ? { rule: 'replicas:backup-retention', verdict: 'ok' }
      : {
          rule: 'replicas:backup-retention',
          verdict: 'skip',
          reason: `${obs.source.id} has backup retention 0: a source needs backups enabled to have read replicas`,
        },
    c.listed.length + i <= MAX_REPLICAS_PER_SOURCE
      ? { rule: 'replicas:per-source-limit', verdict: 'ok' }
      : {
          rule: 'replicas:per-source-limit',
          verdict: 'skip',
          reason: `${obs.source.id} already has ${c.listed.length} replicas (${c.broken.length + c.stuck.length} failed or stuck, ${c.deleting.length} deleting: they count); AWS allows ${MAX_REPLICAS_PER_SOURCE} per source`,
        },
    obs.account.instancesUsed + i <= obs.account.instanceQuota
      ? { rule: 'replicas:account-quota', verdict: 'ok' }
      : {
          rule: 'replicas:account-quota',
          verdict: 'skip',
          reason: `the account uses ${obs.account.instancesUsed} of its ${obs.account.instanceQuota} DB instances`,
        },
  ];
  if (!ctx.newClass) {
    rules.push({
      rule: 'replicas:instance-class',
      verdict: 'skip',
      reason: 'no instance class configured or seen on the source',
    });
  }
  return rules;
}

export function planScaleOut(ctx: ActionContext, target: number): Action[] {
  const { obs, c, settings, now } = ctx;
  const current = c.counted.length;
  const wanted = target - current;
  const perSourceRoom = MAX_REPLICAS_PER_SOURCE - c.listed.length;
  const quotaRoom = obs.account.instanceQuota - obs.account.instancesUsed;
  const count = Math.max(1, Math.min(wanted, perSourceRoom, quotaRoom));
  const each = ctx.newClass
    ? readerMonthlyCost(settings.prices, obs.family, ctx.newClass, obs.source.storage)
    : null;
  const actions: Action[] = [];
  for (let i = 1; i <= count; i++) {
    const to = current + i;
    const replicaId = replicaName(obs.source.id, now, i);
    actions.push({
      ...base(ctx),
      resource: ctx.sourceRef,
      kind: 'add-replica',
      from: to - 1,
      to,
      reason: `${ctx.why}: add reader ${i} of ${count} (${replicaId}, ${ctx.newClass ?? 'unknown class'})${each === null ? ` (no price for ${ctx.newClass} in the price table)` : ''}`,
      monthlyCostDelta: each ?? 0,
      // The undo removes the replica itself (resource: the replica, where "created" consent applies),
      // its routing record first.
      undo: {
        kind: 'remove-replica',
        params: {
          replicaId,
          sourceId: obs.source.id,
          family: obs.family,
          resource: { kind: 'rds-instance', id: replicaId },
          numericTarget: to - 1,
          ...routingParams(ctx),
        },
      },
      mutating: true,
      numericTarget: to,
      rules: scaleOutRules(ctx, i),
      params: addParams(ctx, replicaId, ctx.newClass),
      severity: 'info',
    });
  }
  return actions;
}

/** Lagging first, then not routed, then the fewest connections, then the newest name. */
function removalRank(a: ReaderObservation, b: ReaderObservation, maxLag: number): number {
  const lag = Number(isLagging(b, maxLag)) - Number(isLagging(a, maxLag));
  if (lag !== 0) return lag;
  const route = Number(a.routed) - Number(b.routed);
  if (route !== 0) return route;
  const ca = a.maxConnections ?? Number.POSITIVE_INFINITY;
  const cb = b.maxConnections ?? Number.POSITIVE_INFINITY;
  if (ca !== cb) return ca - cb;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The owned readers a scale-in to `target` removes (never one being created). */
export function scaleInCandidates(ctx: ActionContext, target: number): ReaderObservation[] {
  const excess = Math.max(0, ctx.c.counted.length - target);
  if (excess === 0) return [];
  return ownReadersInRemovalOrder(ctx).slice(0, excess);
}

/** The readers db-autopilot created (never one being created), the first to remove first. */
function ownReadersInRemovalOrder(ctx: ActionContext): ReaderObservation[] {
  return ctx.c.counted
    .filter((r) => isOwned(r) && r.status !== 'creating')
    .sort((a, b) => removalRank(a, b, ctx.settings.maxReplicaLagSeconds));
}

function drainRule(ctx: ActionContext, r: ReaderObservation): RuleCheck {
  if (r.maxConnections !== null && r.maxConnections <= ctx.settings.drainConnectionThreshold) {
    return { rule: 'replicas:drained', verdict: 'ok' };
  }
  return {
    rule: 'replicas:drained',
    verdict: 'defer',
    reason:
      r.maxConnections === null
        ? `${r.id} has no DatabaseConnections data: cannot tell it has drained`
        : `${r.id} still has ${round(r.maxConnections)} connections (> ${ctx.settings.drainConnectionThreshold}): waiting for them to drain`,
    until: retryAt(ctx.now),
  };
}

/**
 * Aurora Auto Scaling was turned on after db-autopilot added readers: AAS removes only the readers
 * it created (aws-facts.md, Aurora), so db-autopilot's would run beside AAS's for good. It steps
 * back: each reader it created (tag AND record) is removed once drained (DatabaseConnections at most
 * the drain threshold: the reader endpoint no longer gives it work), never one being created, and
 * never below the floor of readers the cluster keeps (AAS's MinCapacity, tuners.replicas
 * minReaders, and at least one: a reader is also the failover target). Until then the removal is
 * deferred with the reason, so the report says which readers are still db-autopilot's and why.
 */
export function handBackToAuroraAutoScaling(ctx: ActionContext): Action[] {
  const { c, settings } = ctx;
  const aas = ctx.obs.autoScaling;
  if (!aas) return [];
  const floor = Math.max(1, aas.minCapacity, Math.min(settings.minReaders, MAX_REPLICAS_PER_SOURCE));
  const own = ownReadersInRemovalOrder(ctx);
  let remaining = c.counted.length;
  return own.map((r) => {
    const to = remaining - 1;
    const rules = ownReaderRemovalRules(
      ctx,
      r,
      to,
      floor,
      `removing ${r.id} would leave ${to} < ${floor} readers (Aurora Auto Scaling minimum ${aas.minCapacity}); Aurora Auto Scaling does not remove readers it did not create: delete ${r.id} yourself once it has added its own`,
    );
    if (rules.every((x) => x.verdict === 'ok')) remaining = to;
    const reason = `Aurora Auto Scaling now manages the readers of ${ctx.obs.source.id} and removes only the readers it created: db-autopilot steps back and removes its own reader ${r.id} once drained`;
    return removeReplicaAction(ctx, r, to + 1, rules, reason);
  });
}

/**
 * The rules of removing reader `r`, which db-autopilot created, leaving `to` readers: it is ours,
 * at least `floor` readers stay (else skipped with `belowFloor`), and it has drained.
 */
function ownReaderRemovalRules(
  ctx: ActionContext,
  r: ReaderObservation,
  to: number,
  floor: number,
  belowFloor: string,
): RuleCheck[] {
  return [
    { rule: 'replicas:ownership', verdict: 'ok' },
    to >= floor
      ? { rule: 'replicas:min-readers', verdict: 'ok' }
      : { rule: 'replicas:min-readers', verdict: 'skip', reason: belowFloor },
    drainRule(ctx, r),
  ];
}

/**
 * Removes `toRemove` (routed plain RDS replicas: the record only, this run), and names the
 * replicas db-autopilot did not create when they would have been candidates.
 */
export function planScaleIn(
  ctx: ActionContext,
  toRemove: ReaderObservation[],
  target: number,
  routeRemoval: (r: ReaderObservation) => Action,
): Action[] {
  const { obs, settings, c } = ctx;
  const minReaders = Math.min(settings.minReaders, MAX_REPLICAS_PER_SOURCE);
  const actions: Action[] = [];
  let remaining = c.counted.length;
  for (const r of toRemove) {
    if (obs.family === 'rds' && settings.routing && r.routed) {
      actions.push(routeRemoval(r));
      continue;
    }
    const to = remaining - 1;
    const belowFloor = `removing ${r.id} would leave ${to} < ${minReaders} readers`;
    const rules = ownReaderRemovalRules(ctx, r, to, minReaders, belowFloor);
    const detail = `created by db-autopilot${isLagging(r, settings.maxReplicaLagSeconds) ? ', lagging' : ''}${r.maxConnections !== null ? `, ${round(r.maxConnections)} connections` : ''}`;
    actions.push(removeReplicaAction(ctx, r, remaining, rules, `${ctx.why}: remove ${r.id} (${detail})`));
    remaining = to;
  }
  // Replicas db-autopilot did not create are never removed; name them so the report says so: in
  // the run that removes one of its own, or when its own are too few to reach the target.
  const removesNow = actions.some(
    (a) => a.kind === 'remove-replica' && (a.rules ?? []).every((x) => x.verdict === 'ok'),
  );
  const shortOfOwn = toRemove.length < c.counted.length - target;
  const notOwned = removesNow || shortOfOwn ? c.counted.filter((x) => !isOwned(x)) : [];
  for (const r of notOwned) {
    actions.push({
      ...base(ctx),
      resource: { kind: 'rds-instance', id: r.id },
      kind: 'remove-replica',
      from: c.counted.length,
      to: c.counted.length,
      reason: `${r.id} would be a scale-in candidate but db-autopilot did not create it (${ownershipGap(r)}): left alone`,
      monthlyCostDelta: 0,
      undo: null,
      mutating: true,
      deletes: true,
      numericTarget: c.counted.length,
      rules: [
        {
          rule: 'replicas:ownership',
          verdict: 'skip',
          reason: `not created by db-autopilot: ${ownershipGap(r)}`,
        },
      ],
      params: { family: obs.family, sourceId: obs.source.id, replicaId: r.id },
    });
  }
  return actions;
}
