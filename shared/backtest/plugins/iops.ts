import { type IopsSection, iopsSection } from '../../config/sections/iops.ts';
import type { Adapter, RunContext, Target, TunerSettings } from '../../core/contracts.ts';
import { executePlan } from '../../core/executor.ts';
import { decideIops, type IopsObservation, type MetricSeries, policySettings } from '../../policies/iops.ts';
import { buildStorageLedger } from '../../policies/iops-ledger.ts';
import { priceTable } from '../../pricing.ts';
import { MemoryStateStore } from '../../state/memory-store.ts';
import { historyMinutes } from '../../tuners/iops.ts';
import type { IopsState, IopsObservation as MinuteObservation } from '../types.ts';
import { minuteToIso, toActResult } from './adapter.ts';
import type { BacktestPolicy, CreateAutopilotPolicy, PolicyContext } from './types.ts';

/**
 * db-autopilot's IOPS tuner in the backtest: the REAL pure policy (shared/policies/iops.ts) and
 * the REAL shared executor (guards, declared AWS rules) with an in-memory state store; the
 * adapter goes through the harness's AWS change-rules model (`ctx.apply`).
 *
 * What the tuner sees at minute t is what CloudWatch and DescribeDBInstances would show for the
 * minutes before t (walk-forward): ReadIOPS + WriteIOPS (served, capped by what is provisioned),
 * and Read/WriteLatency. Demand beyond the provisioned IOPS queues: for a closed workload
 * (a connection pool), latency = normal latency x demand / served (Little's law), which is
 * what the harness's `queuedIops` turns into here. The storage-change ledger comes from the
 * model's state (RDS's own record of changes, as DescribeEvents would list them) and the store.
 */

const RESOURCE = 'backtest-db';
/** Unsaturated storage latency assumed for the synthetic latency series (seconds). */
const NORMAL_LATENCY_SEC = 0.001;
/** History is aggregated to this period (max per period), as the tuner reads it from CloudWatch. */
const HISTORY_PERIOD_MIN = 5;

export function tunerSettingsFor(section: IopsSection): TunerSettings {
  return {
    mode: 'apply',
    min: section.minIops,
    max: section.maxIops,
    cooldownMinutes: section.cooldownMinutes ?? 30,
    maxChangesPerRun: section.maxChangesPerRun ?? 10,
    driftBackoffMinutes: 0,
    lockLeaseSeconds: 60,
  };
}

function series(
  rows: readonly MinuteObservation[],
  pick: (r: MinuteObservation) => number | null,
  periodMin: number,
  agg: 'max' | 'avg',
): MetricSeries {
  const first = rows[0];
  const values: Array<number | null> = [];
  for (let i = 0; i < rows.length; i += periodMin) {
    const chunk = rows
      .slice(i, i + periodMin)
      .map(pick)
      .filter((v): v is number => v !== null);
    if (chunk.length === 0) values.push(null);
    else values.push(agg === 'max' ? Math.max(...chunk) : chunk.reduce((a, b) => a + b, 0) / chunk.length);
  }
  return {
    start: first?.at ?? new Date(0).toISOString(),
    periodSeconds: periodMin * 60,
    values,
    statistic: agg === 'max' ? 'Maximum' : 'Average',
  };
}

const latencyOf = (r: MinuteObservation): number | null =>
  r.servedIops > 0 ? (NORMAL_LATENCY_SEC * (r.servedIops + r.queuedIops)) / r.servedIops : null;

/** The observation the tuner would build from CloudWatch and DescribeDBInstances at minute t. */
export function observationAt(
  ctx: Pick<PolicyContext<'iops'>, 'history' | 'state' | 'now' | 'options'>,
  section: IopsSection,
  decisions: Parameters<typeof buildStorageLedger>[0]['decisions'],
): IopsObservation {
  const state: Readonly<IopsState> = ctx.state;
  const lookback = section.lookbackMinutes;
  const longMinutes = historyMinutes(section);
  const recentRows = ctx.history.last(lookback);
  const t = ctx.history.length;
  // Align the long window on the history period so slices line up with clock time.
  const from = Math.max(
    0,
    t - longMinutes - ((((t - longMinutes) % HISTORY_PERIOD_MIN) + HISTORY_PERIOD_MIN) % HISTORY_PERIOD_MIN),
  );
  const longRows = ctx.history.range(from, t);
  const start = ctx.options.startTime;
  return {
    instance: {
      id: RESOURCE,
      engine: 'postgres',
      // No class limit in the harness model: an instance class db-autopilot has no table entry for.
      instanceClass: 'db.backtest',
      storageType: ctx.options.iops.storageType,
      // 2,000 GiB: io1 allows 1,000-100,000 IOPS (0.5-50 per GiB), so the ratio never binds here.
      allocatedGiB: 2000,
      iops: state.iops,
    },
    recent: {
      readIops: series(recentRows, (r) => r.servedIops * 0.6, 1, 'avg'),
      writeIops: series(recentRows, (r) => r.servedIops * 0.4, 1, 'avg'),
      readLatency: series(recentRows, latencyOf, 1, 'avg'),
      writeLatency: series(recentRows, latencyOf, 1, 'avg'),
    },
    history: {
      totalIops: series(longRows, (r) => r.servedIops, HISTORY_PERIOD_MIN, 'max'),
      latency: series(longRows, latencyOf, HISTORY_PERIOD_MIN, 'avg'),
    },
    ledger: buildStorageLedger({
      instance: {
        status: state.status,
        storageOperationStatus: state.status === 'storage-optimization' ? 'Optimizing' : undefined,
        pendingModifiedValues: state.pending ? { Iops: state.pending.iops } : {},
      },
      events: state.changeMinutes.map((m) => ({
        date: minuteToIso(start, m),
        message: 'Applying modification to Provisioned IOPS',
      })),
      decisions,
    }),
  };
}

export const createAutopilotPolicy: CreateAutopilotPolicy<'iops'> = ({ options, config }) => {
  const section = config?.tuners.iops ?? iopsSection.parse({});
  const cfg = policySettings(section);
  const prices = priceTable({ ...config?.prices, ...options.prices });
  const settings = tunerSettingsFor(section);
  const store = new MemoryStateStore();
  const target: Target = {
    ref: { kind: 'rds-instance', id: RESOURCE },
    tags: {},
    managed: true,
    created: false,
    optedOut: false,
  };
  let runs = 0;
  const policy: BacktestPolicy<'iops'> = {
    name: 'db-autopilot',
    everyMinutes: 5,
    async decide(ctx) {
      if (ctx.history.length === 0) return null;
      const history = await store.getHistory('iops', RESOURCE, ctx.now);
      const observation = observationAt(ctx, section, history.recent);
      const { plan } = decideIops({ observation, settings: cfg, prices, now: ctx.now });
      const adapter: Adapter = async (action) => {
        const iops = Number((action.params as { Iops?: unknown } | undefined)?.Iops ?? action.to);
        return toActResult(ctx.apply({ iops }), ctx.options.startTime);
      };
      runs += 1;
      const run: RunContext = {
        runId: `backtest-${runs}`,
        tuner: 'iops',
        trigger: 'backtest',
        dryRun: false,
        override: false,
        idempotencyKey: `backtest:${ctx.minute}`,
        now: ctx.now,
        paused: false,
        changesApplied: 0,
      };
      await executePlan({ plan, target, settings, adapter, run, store });
      return null;
    },
  };
  return policy;
};
