import { replicasSection } from '../../config/sections/replicas.ts';
import type { RunContext, TunerSettings } from '../../core/contracts.ts';
import { executePlan } from '../../core/executor.ts';
import type { Action, ActResult } from '../../core/model.ts';
import {
  planReplicas,
  type ReaderObservation,
  type ReplicaObservation,
  type ReplicaPolicySettings,
} from '../../policies/replicas.ts';
import { priceTable } from '../../pricing.ts';
import { MemoryStateStore } from '../../state/memory-store.ts';
import { recommendationsFrom } from '../../tuners/replicas.ts';
import { readerVcpus } from '../models/replicas.ts';
import type { BacktestOptions } from '../options.ts';
import { toActResult } from './adapter.ts';
import type { CreateAutopilotPolicy, PolicyContext } from './types.ts';

/**
 * db-autopilot's replicas tuner in the backtest: the REAL pure policy (shared/policies/replicas.ts)
 * and the REAL shared executor and guards (shared/core/executor.ts with the in-memory state
 * store), over the harness's reader model (an Aurora cluster behind its reader endpoint).
 *
 * When it runs, as deployed: every `SCHEDULE_MINUTES` on its EventBridge schedule, and at once
 * when the reader-CPU alarm of `replicaAlarms()` fires (average reader CPU above target x
 * (1 + tolerance) for 2 of 2 one-minute datapoints).
 *
 * What it sees (walk-forward, the minutes CloudWatch has published by t): the readers' average
 * CPUUtilization (capped at 100) and, with Performance Insights, their DBLoadCPU over the
 * tuner's `lookbackMinutes`; the readers available and being created (DescribeDBInstances). Readers it created are recorded
 * in the store (like `recordCreated` in the AWS adapter); readers present at minute 0 above the
 * minimum count as its own, as the Aurora Auto Scaling baseline counts them as its own.
 */
export const SCHEDULE_MINUTES = 5;
const SOURCE_ID = 'backtest-cluster';
const SOURCE_ENDPOINT = `${SOURCE_ID}.backtest`;
const ALARM_DATAPOINTS = 2;

type Section = ReturnType<typeof replicasSection.parse>;
type Family = 'aurora' | 'rds';
/** A reader db-autopilot created: its id and the minute it serves from. */
interface OwnedReader {
  id: string;
  readyAt: number;
  createdAt: number;
}

/** The policy's settings from the config section and the harness's options. */
function policySettingsFor(
  section: Section,
  o: BacktestOptions['replicas'],
  family: Family,
  instanceClass: string,
  prices: ReplicaPolicySettings['prices'],
): ReplicaPolicySettings {
  return {
    minReaders: o.minReaders,
    maxReaders: Math.max(o.minReaders, o.maxReaders),
    targetCpuPercent: o.targetCpuPercent,
    tolerance: section.tolerance,
    scaleInStabilizationMinutes: section.scaleInStabilizationMinutes,
    maxReplicaLagSeconds: section.maxReplicaLagSeconds,
    drainConnectionThreshold: section.drainConnectionThreshold,
    waitForCreatingReplicas: section.waitForCreatingReplicas,
    instanceClasses: [instanceClass],
    availabilityZones: [],
    // Plain RDS: reads reach replicas through weighted records (the model counts the DNS TTL
    // in the creation delay); withdrawing a record is where a removal starts.
    ...(family === 'rds'
      ? {
          routing: {
            hostedZoneId: 'ZBACKTEST',
            recordName: 'reads.backtest.internal',
            ttlSeconds: o.dnsTtlSeconds,
            weight: 100,
            fallback: { setIdentifier: SOURCE_ID, weight: 1 },
          },
        }
      : {}),
    prices,
  };
}

/** Whether the tuner runs this minute: on its schedule, or when its reader-CPU alarm fires. */
function shouldRun(ctx: PolicyContext<'replicas'>, alarmThreshold: number, lastRun: number): boolean {
  const recent = ctx.history.last(ALARM_DATAPOINTS);
  const alarm = recent.length === ALARM_DATAPOINTS && recent.every((r) => r.avgReaderCpu > alarmThreshold);
  const scheduled = ctx.minute % SCHEDULE_MINUTES === 0;
  return scheduled || (alarm && ctx.minute - lastRun >= ALARM_DATAPOINTS);
}

/**
 * Readers as DescribeDBInstances + GetMetricData would show them: the readers' published
 * CPUUtilization and DBLoadCPU (Performance Insights), each summed over the readers of its
 * minute and shared by the readers available now.
 */
function observeReaders(
  ctx: PolicyContext<'replicas'>,
  window: ReturnType<PolicyContext<'replicas'>['history']['last']>,
  owned: OwnedReader[],
  shape: { family: Family; instanceClass: string; vcpus: number },
): ReplicaObservation {
  const t = ctx.minute;
  const ready = Math.max(1, ctx.state.readers);
  const cpu = window.reduce((a, r) => a + r.avgReaderCpu * r.readers, 0) / window.length / ready;
  const loads = window.filter((r) => r.dbLoadCpu !== null);
  const dbLoad =
    loads.length === 0
      ? null
      : loads.reduce((a, r) => a + (r.dbLoadCpu ?? 0) * r.readers, 0) / loads.length / ready;
  const ownedCreating = owned.filter((r) => r.readyAt > t);
  const ownedReady = owned.filter((r) => r.readyAt <= t);
  const baseReady = Math.max(0, ctx.state.readers - ownedReady.length);
  const start = Date.parse(ctx.options.startTime);
  const reader = (id: string, status: string, ours: boolean, createdAt?: number): ReaderObservation => ({
    ...(createdAt !== undefined ? { createdAt: new Date(start + createdAt * 60_000).toISOString() } : {}),
    id,
    status,
    instanceClass: shape.instanceClass,
    cpuPercent: status === 'available' ? cpu : null,
    dbLoadCpu: status === 'available' ? dbLoad : null,
    vcpus: shape.vcpus,
    connections: null,
    // The model drains instantly: the reader endpoint stops sending to a reader being deleted.
    maxConnections: 0,
    replicaLagSeconds: 0,
    ownershipTag: ours,
    recordedCreated: ours,
    routed: true,
    endpoint: `${id}.backtest`,
    mismatches: [],
  });
  const readers = [
    ...Array.from({ length: baseReady }, (_, i) => reader(`base-${i}`, 'available', false)),
    ...ownedReady.map((r) => reader(r.id, 'available', true)),
    ...ownedCreating.map((r) => reader(r.id, 'creating', true, r.createdAt)),
  ];
  return {
    family: shape.family,
    source: {
      id: SOURCE_ID,
      status: 'available',
      engine: 'aurora-postgresql',
      backupRetentionPeriod: 7,
      instanceClass: shape.instanceClass,
      endpoint: SOURCE_ENDPOINT,
    },
    readers,
    ...(shape.family === 'rds'
      ? {
          routes: [
            { setIdentifier: SOURCE_ID, value: SOURCE_ENDPOINT, weight: 1 },
            ...readers.map((r) => ({ setIdentifier: r.id, value: `${r.id}.backtest`, weight: 100 })),
          ],
        }
      : {}),
    account: { instancesUsed: ctx.state.readers + ctx.state.pendingReadyAt.length + 1, instanceQuota: 40 },
    window: { start: window[0]?.at ?? ctx.now.toISOString(), end: ctx.now.toISOString(), periodSeconds: 60 },
  };
}

/** Each action against its own resource (the source for adds, the replica for removals). */
async function executeEach(
  plan: ReturnType<typeof planReplicas>['plan'],
  observation: ReplicaObservation,
  ctx: PolicyContext<'replicas'>,
  deps: { guard: TunerSettings; adapter: (action: Action) => Promise<ActResult>; store: MemoryStateStore },
): Promise<void> {
  const run: RunContext = {
    runId: `backtest-replicas-${ctx.minute}`,
    tuner: 'replicas',
    trigger: 'backtest',
    dryRun: false,
    override: false,
    idempotencyKey: `backtest:${ctx.minute}`,
    now: ctx.now,
    paused: false,
    changesApplied: 0,
  };
  for (const action of plan.actions) {
    const isReplica = action.resource.id !== SOURCE_ID;
    const target = {
      ref: isReplica ? action.resource : { kind: 'aurora-cluster' as const, id: SOURCE_ID },
      tags: {},
      managed: true,
      created:
        isReplica && (observation.readers.find((r) => r.id === action.resource.id)?.ownershipTag ?? false),
      optedOut: false,
    };
    await executePlan({
      plan: { ...plan, resource: action.resource, actions: [action] },
      target,
      settings: deps.guard,
      adapter: deps.adapter,
      run,
      store: deps.store,
    });
  }
}

export const createAutopilotPolicy: CreateAutopilotPolicy<'replicas'> = ({ options, config }) => {
  const section = config?.tuners.replicas ?? replicasSection.parse({});
  const o = options.replicas;
  const classMatch = /^(aurora|rds)\.instance\.(.+)\.hour$/.exec(o.instancePriceKey);
  const family: Family = classMatch?.[1] === 'rds' ? 'rds' : 'aurora';
  const instanceClass = classMatch?.[2] ?? 'db.r6g.large';
  const vcpus = readerVcpus(options);
  const policySettings = policySettingsFor(
    section,
    o,
    family,
    instanceClass,
    priceTable({ ...config?.prices, ...options.prices }),
  );
  const guard: TunerSettings = {
    mode: 'apply',
    min: policySettings.minReaders,
    max: policySettings.maxReaders,
    cooldownMinutes: section.cooldownMinutes ?? 0,
    maxChangesPerRun: section.maxChangesPerRun ?? 15,
    driftBackoffMinutes: 0,
    lockLeaseSeconds: 60,
  };
  const store = new MemoryStateStore();

  /** Readers it created, oldest first. */
  let owned: OwnedReader[] | undefined;
  let seq = 0;
  let lastRun = Number.NEGATIVE_INFINITY;
  const alarmThreshold = Math.min(100, policySettings.targetCpuPercent * (1 + policySettings.tolerance));

  /** Readers present at minute 0 above the minimum count as its own (as AWS's baseline does). */
  const adoptInitial = async (ctx: PolicyContext<'replicas'>): Promise<OwnedReader[]> => {
    const adopted: OwnedReader[] = [];
    const total = ctx.state.readers + ctx.state.pendingReadyAt.length;
    for (let i = 0; i < Math.max(0, total - o.minReaders); i++) {
      const id = `dbap-initial-${i}`;
      adopted.push({ id, readyAt: 0, createdAt: 0 });
      await store.recordCreated('replicas', id, { initial: true }, ctx.now);
    }
    return adopted;
  };

  /** The reader model as the adapter: adds and removals (or withdrawn records) change readers. */
  const adapterFor =
    (ctx: PolicyContext<'replicas'>) =>
    async (action: Action): Promise<ActResult> => {
      const removing = action.kind === 'remove-replica' || action.kind === 'remove-route';
      if (action.kind !== 'add-replica' && !removing) {
        return { status: 'skipped', reason: `${action.kind} has no effect in the reader model` };
      }
      const current = ctx.state.readers + ctx.state.pendingReadyAt.length;
      const readersWanted = action.kind === 'remove-route' ? current - 1 : Number(action.numericTarget);
      const answer = ctx.apply({ readers: readersWanted });
      if (answer.status === 'applied') {
        if (action.kind === 'add-replica') {
          const id = `dbap-${++seq}`;
          owned?.push({ id, readyAt: answer.effectiveAt, createdAt: ctx.minute });
          await store.recordCreated('replicas', id, {}, ctx.now);
        } else {
          owned = owned?.filter((r) => r.id !== action.resource.id);
          await store.forgetCreated('replicas', action.resource.id);
        }
      }
      return toActResult(answer, ctx.options.startTime);
    };

  return {
    name: 'db-autopilot',
    everyMinutes: 1,
    async decide(ctx: PolicyContext<'replicas'>) {
      const t = ctx.minute;
      owned ??= await adoptInitial(ctx);
      if (!shouldRun(ctx, alarmThreshold, lastRun)) return null;
      const window = ctx.history.last(section.lookbackMinutes);
      if (window.length === 0) return null;
      lastRun = t;

      const observation = observeReaders(ctx, window, owned, { family, instanceClass, vcpus });
      const history = await store.getHistory('replicas', SOURCE_ID, ctx.now);
      const result = planReplicas(
        observation,
        policySettings,
        { recommendations: recommendationsFrom(history.tunerState) },
        ctx.now,
      );
      await store.putTunerState('replicas', SOURCE_ID, result.tunerState);

      await executeEach(result.plan, observation, ctx, { guard, adapter: adapterFor(ctx), store });
      return null;
    },
  };
};
