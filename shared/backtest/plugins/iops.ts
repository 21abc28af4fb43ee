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
 * What the tuner sees at minute t is what CloudWatch and DescribeDBInstances / DescribeEvents
 * would show for the minutes before t (walk-forward, and the harness hides what CloudWatch has
 * not published yet): ReadIOPS, WriteIOPS, Read/WriteLatency, DiskQueueDepth, FreeStorageSpace,
 * EBSIOBalance% where the class has one, as the model publishes them (noisy, from its queueing
 * model). Never demand: the observation rows carry none. The storage-change ledger comes from
 * the model's state as RDS shows it (status, PercentProgress, the change and optimization
 * events) and the store.
 */

const RESOURCE = 'backtest-db';
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
  pick: (r: MinuteObservation) => number | null | undefined,
  periodMin: number,
  agg: 'max' | 'avg' | 'min',
  start: string,
): MetricSeries {
  const values: Array<number | null> = [];
  for (let i = 0; i < rows.length; i += periodMin) {
    const chunk = rows
      .slice(i, i + periodMin)
      .map(pick)
      .filter((v): v is number => v !== null && v !== undefined);
    if (chunk.length === 0) values.push(null);
    else if (agg === 'max') values.push(Math.max(...chunk));
    else if (agg === 'min') values.push(Math.min(...chunk));
    else values.push(chunk.reduce((a, b) => a + b, 0) / chunk.length);
  }
  const statistic = agg === 'max' ? 'Maximum' : agg === 'min' ? 'Minimum' : 'Average';
  return { start, periodSeconds: periodMin * 60, values, statistic };
}

const totalIops = (r: MinuteObservation): number => r.readIops + r.writeIops;

/** The RDS events DescribeEvents would list: each change, its optimization start and end. */
function eventsOf(state: Readonly<IopsState>, start: string) {
  const events = state.changeMinutes.map((m) => ({
    date: minuteToIso(start, m),
    message: 'Applying modification to Provisioned IOPS',
  }));
  for (const o of state.completedOptimizations) {
    events.push({ date: minuteToIso(start, o.start), message: 'Storage optimization started' });
    events.push({ date: minuteToIso(start, o.end), message: 'Storage optimization completed' });
  }
  if (state.optimizingSince !== undefined) {
    events.push({ date: minuteToIso(start, state.optimizingSince), message: 'Storage optimization started' });
  }
  return events;
}

/** The observation the tuner would build from CloudWatch and Describe* at minute t. */
export function observationAt(
  ctx: Pick<PolicyContext<'iops'>, 'history' | 'state' | 'now' | 'options'>,
  section: IopsSection,
  decisions: Parameters<typeof buildStorageLedger>[0]['decisions'],
): IopsObservation {
  const state: Readonly<IopsState> = ctx.state;
  const t = ctx.history.length;
  const recentRows = ctx.history.last(section.lookbackMinutes);
  const recentStart = recentRows[0]?.at ?? ctx.now.toISOString();
  const longMinutes = historyMinutes(section);
  // Align the long window on the history period so slices line up with clock time.
  const from = Math.max(
    0,
    t - longMinutes - ((((t - longMinutes) % HISTORY_PERIOD_MIN) + HISTORY_PERIOD_MIN) % HISTORY_PERIOD_MIN),
  );
  const longRows = ctx.history.range(from, t);
  const longStart = longRows[0]?.at ?? ctx.now.toISOString();
  const start = ctx.options.startTime;
  const o = ctx.options.iops;
  const recent = (pick: (r: MinuteObservation) => number | null | undefined) =>
    series(recentRows, pick, 1, 'avg', recentStart);
  const hasBalance = recentRows.some((r) => r.ebsIoBalance !== undefined);
  return {
    instance: {
      id: RESOURCE,
      engine: 'postgres',
      // An instance class db-autopilot has no table entry for unless the options name one.
      instanceClass: state.instanceClass ?? 'db.backtest',
      storageType: o.storageType,
      allocatedGiB: state.allocatedGiB,
      iops: state.iops,
    },
    recent: {
      readIops: recent((r) => r.readIops),
      writeIops: recent((r) => r.writeIops),
      readLatency: recent((r) => r.readLatency),
      writeLatency: recent((r) => r.writeLatency),
      diskQueueDepth: recent((r) => r.diskQueueDepth),
      freeStorageSpace: recent((r) => r.freeStorageSpace),
      ebsIoBalance: hasBalance ? series(recentRows, (r) => r.ebsIoBalance, 1, 'min', recentStart) : undefined,
    },
    history: {
      totalIops: series(longRows, totalIops, HISTORY_PERIOD_MIN, 'max', longStart),
      latency: series(longRows, (r) => r.readLatency, HISTORY_PERIOD_MIN, 'avg', longStart),
      freeStorageSpace: series(longRows, (r) => r.freeStorageSpace, HISTORY_PERIOD_MIN, 'min', longStart),
    },
    ledger: buildStorageLedger({
      instance: {
        status: state.status,
        storageOperationStatus: state.status === 'storage-optimization' ? 'Optimizing' : undefined,
        percentProgress: state.percentProgress,
        pendingModifiedValues: state.pending ? { Iops: state.pending.iops } : {},
      },
      events: eventsOf(state, start),
      decisions,
    }),
  };
}

export const createAutopilotPolicy: CreateAutopilotPolicy<'iops'> = ({ options, config }) => {
  const section = config?.tuners.iops ?? iopsSection.parse({});
  const cfg = policySettings(section);
  const prices = priceTable({ ...(config ? config.prices[config.region] : undefined), ...options.prices });
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
