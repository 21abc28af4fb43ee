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
 * What it sees (walk-forward, minutes < t only): the average reader CPU over the tuner's
 * `lookbackMinutes`, the readers available and being created. Readers it created are recorded
 * in the store (like `recordCreated` in the AWS adapter); readers present at minute 0 above the
 * minimum count as its own, as the Aurora Auto Scaling baseline counts them as its own.
 */
export const SCHEDULE_MINUTES = 5;
const ALARM_DATAPOINTS = 2;

export const createAutopilotPolicy: CreateAutopilotPolicy<'replicas'> = ({ options, config }) => {
  const section = config?.tuners.replicas ?? replicasSection.parse({});
  const o = options.replicas;
  const classMatch = /^(aurora|rds)\.instance\.(.+)\.hour$/.exec(o.instancePriceKey);
  const family = classMatch?.[1] === 'rds' ? 'rds' : 'aurora';
  const instanceClass = classMatch?.[2] ?? 'db.r6g.large';
  const policySettings: ReplicaPolicySettings = {
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
    prices: priceTable({ ...config?.prices, ...options.prices }),
  };
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
  const sourceId = 'backtest-cluster';
  const target = {
    ref: { kind: 'aurora-cluster' as const, id: sourceId },
    tags: {},
    managed: true,
    created: false,
    optedOut: false,
  };
  /** Readers it created, oldest first: id and the minute it serves from. */
  let owned: Array<{ id: string; readyAt: number }> | undefined;
  let seq = 0;
  let lastRun = Number.NEGATIVE_INFINITY;
  const alarmThreshold = Math.min(100, policySettings.targetCpuPercent * (1 + policySettings.tolerance));

  return {
    name: 'db-autopilot',
    everyMinutes: 1,
    async decide(ctx: PolicyContext<'replicas'>) {
      const t = ctx.minute;
      const total = ctx.state.readers + ctx.state.pendingReadyAt.length;
      if (owned === undefined) {
        owned = [];
        for (let i = 0; i < Math.max(0, total - o.minReaders); i++) {
          const id = `dbap-initial-${i}`;
          owned.push({ id, readyAt: 0 });
          await store.recordCreated('replicas', id, { initial: true }, ctx.now);
        }
      }
      const recent = ctx.history.last(ALARM_DATAPOINTS);
      const alarm =
        recent.length === ALARM_DATAPOINTS && recent.every((r) => r.avgReaderCpu > alarmThreshold);
      const scheduled = t % SCHEDULE_MINUTES === 0;
      if (!scheduled && !(alarm && t - lastRun >= ALARM_DATAPOINTS)) return null;
      const window = ctx.history.last(section.lookbackMinutes);
      if (window.length === 0) return null;
      lastRun = t;

      // Readers as DescribeDBInstances + GetMetricData would show them.
      // Summed over the readers of each minute, then shared by the readers available now (the sum
      // of the readers' CPUUtilization and of their DBLoadCPU / vCPUs, i.e. demand beyond 100 %).
      const ready = Math.max(1, ctx.state.readers);
      const cpu = window.reduce((a, r) => a + r.avgReaderCpu * r.readers, 0) / window.length / ready;
      const demand =
        window.reduce((a, r) => a + r.avgReaderCpu * r.readers + r.unservedCpu, 0) / window.length / ready;
      const ownedNow = owned;
      const ownedCreating = ownedNow.filter((r) => r.readyAt > t);
      const ownedReady = ownedNow.filter((r) => r.readyAt <= t);
      const baseReady = Math.max(0, ctx.state.readers - ownedReady.length);
      const reader = (id: string, status: string, ours: boolean): ReaderObservation => ({
        id,
        status,
        instanceClass,
        cpuPercent: status === 'available' ? cpu : null,
        cpuDemandPercent: status === 'available' ? demand : null,
        connections: null,
        // The model drains instantly: the reader endpoint stops sending to a reader being deleted.
        maxConnections: 0,
        replicaLagSeconds: 0,
        ownershipTag: ours,
        recordedCreated: ours,
        routed: true,
      });
      const readers = [
        ...Array.from({ length: baseReady }, (_, i) => reader(`base-${i}`, 'available', false)),
        ...ownedReady.map((r) => reader(r.id, 'available', true)),
        ...ownedCreating.map((r) => reader(r.id, 'creating', true)),
      ];
      const observation: ReplicaObservation = {
        family,
        source: {
          id: sourceId,
          status: 'available',
          engine: 'aurora-postgresql',
          backupRetentionPeriod: 7,
          instanceClass,
        },
        readers,
        account: { instancesUsed: total + 1, instanceQuota: 40 },
        window: {
          start: window[0]?.at ?? ctx.now.toISOString(),
          end: ctx.now.toISOString(),
          periodSeconds: 60,
        },
      };
      const history = await store.getHistory('replicas', sourceId, ctx.now);
      const result = planReplicas(
        observation,
        policySettings,
        { recommendations: recommendationsFrom(history.tunerState) },
        ctx.now,
      );
      await store.putTunerState('replicas', sourceId, result.tunerState);

      const adapter = async (action: Action): Promise<ActResult> => {
        if (action.kind !== 'add-replica' && action.kind !== 'remove-replica') {
          return { status: 'skipped', reason: `${action.kind} has no effect in the reader model` };
        }
        const readersWanted = Number(action.numericTarget);
        const answer = ctx.apply({ readers: readersWanted });
        if (answer.status === 'applied') {
          if (action.kind === 'add-replica') {
            const id = `dbap-${++seq}`;
            owned?.push({ id, readyAt: answer.effectiveAt });
            await store.recordCreated('replicas', id, {}, ctx.now);
          } else {
            owned = owned?.filter((r) => r.id !== action.resource.id);
            await store.forgetCreated('replicas', action.resource.id);
          }
        }
        return toActResult(answer, ctx.options.startTime);
      };
      const run: RunContext = {
        runId: `backtest-replicas-${t}`,
        tuner: 'replicas',
        trigger: 'backtest',
        dryRun: false,
        override: false,
        idempotencyKey: `backtest:${t}`,
        now: ctx.now,
        paused: false,
        changesApplied: 0,
      };
      // Each action against its own resource: the source for adds, the replica for removals.
      for (const action of result.plan.actions) {
        const isReplica = action.resource.id !== sourceId;
        const actionTarget = isReplica
          ? {
              ref: action.resource,
              tags: {},
              managed: true,
              created: readers.find((r) => r.id === action.resource.id)?.ownershipTag ?? false,
              optedOut: false,
            }
          : target;
        await executePlan({
          plan: { ...result.plan, resource: action.resource, actions: [action] },
          target: actionTarget,
          settings: guard,
          adapter,
          run,
          store,
        });
      }
      return null;
    },
  };
};
