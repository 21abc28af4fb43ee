/**
 * Handing Application Auto Scaling back to the person (shared/policies/dynamodb-scaling-targets.ts
 * `handBackAll`): every lifted minimum and maximum and every target tracking policy db-autopilot
 * changed is restored exactly when db-autopilot stops tuning a table: paused, the table carries the
 * opt-out tag, or it is no longer managed (the config's resources or the managed tag dropped it).
 *
 * The restoring actions carry `restores: true`: they pass the opt-out and managed-consent guards
 * (shared/core/guards.ts); every other guard (mode, change cap, drift, write-ahead intent, AWS-state
 * checks, idempotency of the run) still applies. Each is recorded ("handed back ... (table opted
 * out)").
 *
 * Which tables have something to hand back: the state table keeps one index of the tables with
 * recorded lifts (`LIFTED_INDEX`, tuner state of the `dynamodb` owner), so a table that left the
 * managed list is still found without listing every table of the account each run.
 */
import { z } from 'zod';
import {
  scalableDimensionSchema,
  scalableResourceIdSchema,
  trackingPolicySchema,
} from '../adapters/app-autoscaling.ts';
import type { Config } from '../config/schema.ts';
import type {
  Adapter,
  ResourceHistory,
  RunContext,
  StateStore,
  Target,
  TunerSettings,
} from '../core/contracts.ts';
import { executePlan } from '../core/executor.ts';
import type { Action, Decision, Plan } from '../core/model.ts';
import { handBackAll, type ScalingLifts } from '../policies/dynamodb-scaling-targets.ts';
import { handBackNotice } from './handback-notice.ts';

/** The index's resource id: `#` is not allowed in a DynamoDB table name, so no table shares it. */
export const LIFTED_INDEX = '#lifted-tables';

const capacity = z.number().int().min(1);
const tableName = z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/);
const isoTime = z.string().datetime();

/**
 * One lease as the tuner writes it (`ScalingLift`, shared/policies/dynamodb-scaling-targets.ts) in
 * a table's tuner state `lifts`. State written by an older version or edited by a person is
 * external input: a lease that does not parse is never acted on.
 */
const scalingLiftSchema = z
  .object({
    resourceId: scalableResourceIdSchema,
    scalableDimension: scalableDimensionSchema,
    originalMin: capacity,
    originalMax: capacity.optional(),
    liftedTo: capacity.optional(),
    liftedMax: capacity.optional(),
    until: isoTime.optional(),
    originalPolicy: trackingPolicySchema.optional(),
    retry: z.object({ minCapacity: capacity, until: isoTime }).optional(),
  })
  .refine((l) => l.originalMax === undefined || l.originalMax >= l.originalMin, {
    message: 'originalMax is below originalMin',
    path: ['originalMax'],
  });

/** A stored lease that does not parse: its key, why, and the stored value. */
export interface MalformedLift {
  key: string;
  why: string;
  stored: unknown;
}

/**
 * A table's stored leases: the valid ones, and those that are not what this code writes (wrong
 * types, missing fields, out-of-range numbers, another table's scalable target): treated as absent.
 */
export function storedLifts(
  tunerState: Record<string, unknown> | undefined,
  table: string,
): { lifts: ScalingLifts; malformed: MalformedLift[] } {
  const raw = tunerState?.lifts;
  if (raw === undefined) return { lifts: {}, malformed: [] };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { lifts: {}, malformed: [{ key: 'lifts', why: 'not an object of leases', stored: raw }] };
  const lifts: ScalingLifts = {};
  const malformed: MalformedLift[] = [];
  for (const [key, stored] of Object.entries(raw)) {
    const parsed = scalingLiftSchema.safeParse(stored);
    const own = parsed.success && ownTarget(parsed.data.resourceId, table);
    if (parsed.success && own) lifts[key] = parsed.data;
    else
      malformed.push({
        key,
        stored,
        why: parsed.success ? `names ${parsed.data.resourceId}, not table ${table}` : issues(parsed.error),
      });
  }
  return { lifts, malformed };
}

const ownTarget = (resourceId: string, table: string) =>
  resourceId === `table/${table}` || resourceId.startsWith(`table/${table}/index/`);

const issues = (e: z.ZodError) =>
  e.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');

/** What a malformed lease still says of the person's settings (each field only when valid on its own). */
export function handRestore(m: MalformedLift, table: string): string {
  const s = (m.stored ?? {}) as Record<string, unknown>;
  const target = scalableResourceIdSchema.safeParse(s.resourceId);
  const dim = scalableDimensionSchema.safeParse(s.scalableDimension);
  const min = capacity.safeParse(s.originalMin);
  const max = capacity.safeParse(s.originalMax);
  const policy = trackingPolicySchema.safeParse(s.originalPolicy);
  const known = [
    ...(min.success ? [`MinCapacity ${min.data}`] : []),
    ...(max.success ? [`MaxCapacity ${max.data}`] : []),
    ...(policy.success ? [`the policy ${policy.data.policyName} at target ${policy.data.targetValue}`] : []),
  ];
  if (!known.length) return "the person's settings are not known: check the scalable target by hand";
  // Where: only a target of this table (a lease naming another table says nothing of this one's).
  const on =
    target.success && dim.success && ownTarget(target.data, table) ? ` on ${target.data} ${dim.data}` : '';
  return `set ${known.join(', ')}${on} by hand to restore the person's settings`;
}

/** The recorded notice for a lease not handed back (changes nothing). */
function notHandedBack(target: Target, m: MalformedLift, why: string): Action {
  return handBackNotice(
    'dynamodb',
    target.ref,
    'restore the scalable target by hand',
    `${target.ref.id}: db-autopilot stopped tuning it (${why}) but did not hand back lease ${m.key}: its stored record is not valid (${m.why}); ${handRestore(m, target.ref.id)}`,
  );
}

/** Why a table's settings are handed back (the end of each decision's reason). */
export function handBackWhy(target: Target, paused: boolean): string {
  if (paused) return 'db-autopilot is paused';
  if (target.optedOut) return 'table opted out';
  return 'table no longer managed';
}

function hasLifts(history: ResourceHistory | undefined): boolean {
  const lifts = (history?.tunerState as { lifts?: ScalingLifts } | undefined)?.lifts;
  return !!lifts && Object.keys(lifts).length > 0;
}

/** The tables the index names (tables with recorded lifts). */
export async function liftedTables(store: StateStore, now: Date): Promise<string[]> {
  const history = await store.getHistory('dynamodb', LIFTED_INDEX, now);
  // Written as `{ tables: string[] }`; an entry that is not a DynamoDB table name is ignored.
  const tables = history.tunerState?.tables;
  return Array.isArray(tables) ? tables.filter((t): t is string => tableName.safeParse(t).success) : [];
}

/** Index bookkeeping from histories read before tuning: which have lifts, which have none. */
export function liftsSeen(histories: ReadonlyMap<string, ResourceHistory>): {
  lifted: string[];
  cleared: string[];
} {
  const lifted: string[] = [];
  const cleared: string[] = [];
  for (const [id, h] of histories) (hasLifts(h) ? lifted : cleared).push(id);
  return { lifted, cleared };
}

/** A table the run did not discover (no longer managed): only its name is known. */
export function unmanagedTable(id: string): Target {
  return { ref: { kind: 'dynamodb-table', id }, tags: {}, managed: false, created: false, optedOut: false };
}

/**
 * Hands every listed table's recorded lifts back; returns the decisions and the tables left with
 * nothing to hand back (to drop from the index).
 */
export async function handBackTables(input: {
  targets: readonly Target[];
  run: RunContext;
  config: Config;
  settings: TunerSettings;
  adapter: Adapter;
  store: StateStore;
}): Promise<{ decisions: Decision[]; cleared: string[] }> {
  const { run, store } = input;
  const decisions: Decision[] = [];
  const cleared: string[] = [];
  // The pause guard stops tuning; handing the person's settings back is what pausing asks for.
  // One unpaused run for every table: decision ids are numbered per run object.
  const acting: RunContext = { ...run, paused: false };
  for (const target of input.targets) {
    const history = await store.getHistory('dynamodb', target.ref.id, run.now);
    const { lifts, malformed } = storedLifts(history.tunerState, target.ref.id);
    const why = handBackWhy(target, run.paused);
    const back = handBackAll(lifts, target.ref, why);
    // A malformed lease never sets anything: the person is told, once (it leaves the state).
    const actions = [
      ...back.actions.map((a) => ({ ...a, restores: true })),
      ...malformed.map((m) => notHandedBack(target, m, why)),
    ];
    const done = actions.length
      ? await executePlan({
          plan: {
            tuner: 'dynamodb',
            resource: target.ref,
            observedAt: run.now.toISOString(),
            actions,
          } as Plan,
          target,
          settings: input.settings,
          adapter: input.adapter,
          run: acting,
          store,
        })
      : [];
    decisions.push(...done);
    // A lease stays only where its hand-back did not apply (retried next run).
    const left: ScalingLifts = {};
    back.changes.forEach((c, i) => {
      const lift = lifts[c.key];
      if (lift && done[i]?.outcome !== 'applied') left[c.key] = lift;
    });
    if (Object.keys(left).length === 0) cleared.push(target.ref.id);
    if (Object.keys(lifts).length > 0 || malformed.length > 0)
      await store.putTunerState('dynamodb', target.ref.id, { ...mainState(history), lifts: left });
  }
  return { decisions, cleared };
}

/** A resource's main state: its tuner state less the parts stored on their own (they stay as they are). */
function mainState(history: ResourceHistory): Record<string, unknown> {
  const main = { ...history.tunerState };
  for (const part of history.tunerStateParts ?? []) delete main[part];
  return main;
}

export interface StoppedHandBack {
  decisions: Decision[];
  /** The index as read. */
  known: string[];
  /** Tables handed back with nothing left to hand back. */
  cleared: string[];
}

/**
 * A run's hand-back of the tables it stops tuning: the selected ones that carry the opt-out tag,
 * and the indexed ones the run did not discover as managed (a run for named tables: only those).
 */
export async function handBackStopped(input: {
  managed: readonly Target[];
  selected: readonly Target[];
  requested: readonly string[] | undefined;
  run: RunContext;
  config: Config;
  settings: TunerSettings;
  adapter: Adapter;
  store: StateStore;
}): Promise<StoppedHandBack> {
  const known = await liftedTables(input.store, input.run.now);
  const managed = new Set(input.managed.map((t) => t.ref.id));
  const requested = input.requested?.map((id) => id.split('/index/')[0] ?? id);
  const gone = known
    .filter((id) => !managed.has(id) && (!requested || requested.includes(id)))
    .map(unmanagedTable);
  const targets = [...input.selected.filter((t) => t.optedOut), ...gone];
  const back = targets.length ? await handBackTables({ ...input, targets }) : { decisions: [], cleared: [] };
  return { ...back, known };
}

/**
 * The index after a run: tables whose history showed no lifts leave it, those with lifts or with a
 * scaling target change applied this run join it, and the tables handed back for good leave it.
 */
export async function saveLiftedIndex(
  store: StateStore,
  stopped: StoppedHandBack,
  histories: ReadonlyMap<string, ResourceHistory>,
  tuned: readonly Decision[],
): Promise<void> {
  const seen = liftsSeen(histories);
  const changed = tuned
    .filter((d) => d.action === 'set-scaling-target' && d.outcome === 'applied')
    .map((d) => d.resource);
  const next = new Set(stopped.known);
  for (const id of seen.cleared) next.delete(id);
  for (const id of [...seen.lifted, ...changed]) next.add(id);
  for (const id of stopped.cleared) next.delete(id);
  await writeLiftedIndex(store, stopped.known, next);
}

async function writeLiftedIndex(
  store: StateStore,
  known: readonly string[],
  next: Set<string>,
): Promise<void> {
  const tables = [...next].sort();
  const before = [...known].sort();
  if (tables.length === before.length && tables.every((t, i) => t === before[i])) return;
  await store.putTunerState('dynamodb', LIFTED_INDEX, { tables });
}
