import { type DynamodbConfig, dynamodbSection } from '../../config/sections/dynamodb.ts';
import type { Adapter, RunContext, Target, TunerSettings } from '../../core/contracts.ts';
import { executePlan } from '../../core/executor.ts';
import type { ActResult, Plan } from '../../core/model.ts';
import {
  type CadenceConfig,
  cadenceOfPlan,
  chooseCadence,
  DEFAULT_CADENCE,
} from '../../policies/dynamodb-cadence.ts';
import {
  type CapacityFloor,
  type CapacityParams,
  type DimensionMetrics,
  demandSeries,
  planTableCapacity,
  type TableObservation,
  unitsPerRequest,
} from '../../policies/dynamodb-capacity.ts';
import { type DemandShape, learnDemandShape, shapeKey } from '../../policies/dynamodb-demand-shape.ts';
import {
  adviseCapacityMode,
  type ModeSwitch,
  type UsageSeries,
} from '../../policies/dynamodb-mode-advisor.ts';
import { learnRecurringPeaks, type PeakModel, prewarmFloorAt } from '../../policies/prewarm.ts';
import { priceTable } from '../../pricing.ts';
import { MemoryStateStore } from '../../state/memory-store.ts';
import type { BacktestOptions } from '../options.ts';
import type { DynamodbObservation, DynamodbState } from '../types.ts';
import { minuteToIso, toActResult } from './adapter.ts';
import type { BacktestPolicy, CreateAutopilotPolicy, PolicyContext } from './types.ts';

/**
 * db-autopilot's DynamoDB tuner in the backtest: the REAL pure policies (capacity, pre-warming,
 * mode advisor) and the REAL shared executor (guards) with an in-memory state store; the
 * adapter goes through the harness's AWS change-rules model (`ctx.apply`).
 *
 * What the tuner sees each minute is what CloudWatch and DescribeTable would show: the published
 * series of the minutes CloudWatch has published by t (consumed units, successful requests,
 * throttle EVENTS by cause, ThrottledRequests; late, the newest partial), the capacity, UPDATING,
 * decreases today. It converts events to units itself (units per successful request, capped).
 */

export interface DynamodbPluginOptions {
  /** Pre-warming on (default: the config's `prewarm.enabled`). */
  prewarm?: boolean;
  /** Let the mode advisor switch (default: the config's `modeAdvisor.allowSwitch`). */
  allowModeSwitch?: boolean;
  /** Re-learn recurring peaks every this many minutes (default 60). */
  relearnMinutes?: number;
  /** Run the mode advisor every this many minutes (default 60). */
  adviseEveryMinutes?: number;
  /** The tuner's schedule (default 2 minutes, as deployed: serverless.yml dynamodbSchedule). */
  everyMinutes?: number;
  /**
   * Model the observation cadence as deployed (default: the config's `cadence.enabled`): a
   * table far from every threshold is observed every `cadence.slowMinutes`, and the throttling
   * alarm of the fast path (ProvisionedThroughputThrottleEvents > 0 in the newest published
   * minute, OK -> ALARM) runs the tuner at once.
   */
  cadence?: boolean;
}

const TABLE = 'backtest-table';

/** The published series of one dimension, as the tuner reads them from CloudWatch (per minute). */
function dimMetrics(rows: readonly DynamodbObservation[], dim: 'read' | 'write'): DimensionMetrics {
  return {
    periodSeconds: 60,
    consumedUnits: rows.map((r) => r[dim].consumed * 60),
    successfulRequests: rows.map((r) => r[dim].successfulRequests),
    provisionedThrottleEvents: rows.map((r) => r[dim].provisionedThrottleEvents),
    keyRangeThrottleEvents: rows.map((r) => r[dim].keyRangeThrottleEvents),
    accountLimitThrottleEvents: rows.map((r) => r[dim].accountLimitThrottleEvents),
  };
}

/**
 * Estimated demand per minute (units per second) from the published series only, as the tuner
 * estimates it: consumed + throttle events x consumed units per successful request, capped per
 * minute at `maxUnservedFactor` x provisioned (shared/policies/dynamodb-demand.ts).
 */
export function estimatedDemand(
  rows: readonly DynamodbObservation[],
  dim: 'read' | 'write',
  maxUnservedFactor: number,
): number[] {
  return demandParts(rows, dim, maxUnservedFactor).demand;
}

function demandParts(rows: readonly DynamodbObservation[], dim: 'read' | 'write', maxUnservedFactor: number) {
  const m = dimMetrics(rows, dim);
  const upr = unitsPerRequest(m, rows.length);
  const provisioned = rows.map((r) => (r.mode === 'on-demand' ? 2 * r[dim].consumed : r[dim].provisioned));
  return demandSeries(m, provisioned, upr, maxUnservedFactor);
}

/** DescribeTable + CloudWatch, as of minute t, for the capacity policy. */
export function observationAt(
  rows: readonly DynamodbObservation[],
  state: Readonly<DynamodbState>,
  minute: number,
  startTime: string,
): TableObservation {
  const iso = (m: number | undefined) => (m === undefined ? undefined : minuteToIso(startTime, m));
  const updating = minute < state.updatingUntil;
  return {
    tableName: TABLE,
    observedAt: minuteToIso(startTime, minute),
    billingMode: state.mode === 'on-demand' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
    table: {
      indexName: null,
      status: updating ? 'UPDATING' : 'ACTIVE',
      provisioned: { read: state.read, write: state.write },
      decreases: {
        numberOfDecreasesToday: state.decreasesToday,
        lastDecreaseAt: iso(state.lastDecreaseMinute),
      },
      lastIncreaseAt: iso(state.lastIncreaseMinute),
      metrics: { read: dimMetrics(rows, 'read'), write: dimMetrics(rows, 'write') },
    },
    indexes: [],
    limits: {
      tableMax: { read: 40_000, write: 40_000 },
      accountMax: { read: 80_000, write: 80_000 },
      accountProvisioned: { read: state.read, write: state.write },
    },
  };
}

/** Hourly use for the mode advisor, from the minutes before t (demand = consumed + throttled). */
export function usageAt(
  rows: readonly DynamodbObservation[],
  startTime: string,
  minute: number,
  maxUnservedFactor = 10,
): UsageSeries {
  const hours = Math.floor(rows.length / 60);
  const first = rows.length - hours * 60;
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const hourly = (dim: 'read' | 'write') => {
    const parts = demandParts(rows, dim, maxUnservedFactor);
    const units: number[] = [];
    const peaks: number[] = [];
    const unserved: number[] = [];
    const provisioned: Array<number | null> = [];
    for (let h = 0; h < hours; h++) {
      const from = first + h * 60;
      const d = parts.demand.slice(from, from + 60);
      units.push(sum(d) * 60);
      peaks.push(Math.max(0, ...d));
      unserved.push(sum(parts.unserved.slice(from, from + 60)) * 60);
      // ProvisionedCapacityUnits (Average): published only while the table is provisioned.
      const hour = rows.slice(from, from + 60);
      provisioned.push(
        hour.every((r) => r.mode === 'provisioned') ? sum(hour.map((r) => r[dim].provisioned)) / 60 : null,
      );
    }
    return { units, peaks, unserved, provisioned };
  };
  const r = hourly('read');
  const w = hourly('write');
  return {
    periodSeconds: 3600,
    end: minuteToIso(startTime, minute),
    readUnits: r.units,
    writeUnits: w.units,
    readPeakPerSecond: r.peaks,
    writePeakPerSecond: w.peaks,
    readProvisioned: r.provisioned,
    writeProvisioned: w.provisioned,
    readUnservedUnits: r.unserved,
    writeUnservedUnits: w.unserved,
  };
}

/** Minutes until a learned recurring peak asks for a pre-warm, if within `within` minutes. */
function minutesToPeak(
  models: { read?: PeakModel; write?: PeakModel },
  now: Date,
  within: number,
  config: DynamodbConfig,
): number | undefined {
  for (let m = 0; m <= within; m++) {
    const at = new Date(now.getTime() + m * 60_000);
    for (const model of [models.read, models.write])
      if (model && prewarmFloorAt(model, at, config.prewarm, config.targetUtilization)) return m;
  }
  return undefined;
}

/**
 * When the deployed tuner runs: the schedule fires and the table's time has come (the cadence),
 * or the throttling alarm goes OK -> ALARM on the newest published minute (the fast path).
 */
function runGate(schedule: number, cadenceOn: boolean) {
  const due = { nextMinute: 0, alarmOn: false };
  return {
    due,
    now(ctx: PolicyContext<'dynamodb'>): { run: boolean; alarm: boolean } {
      const newest = ctx.history.last(1)[0];
      const throttling =
        newest !== undefined &&
        newest.read.provisionedThrottleEvents + newest.write.provisionedThrottleEvents > 0;
      const fired = cadenceOn && throttling && !due.alarmOn;
      due.alarmOn = throttling;
      const scheduled = ctx.minute % schedule === 0 && (!cadenceOn || ctx.minute >= due.nextMinute);
      return { run: fired || scheduled, alarm: fired && !scheduled };
    },
  };
}

function configFrom(options: BacktestOptions, config: DynamodbConfig | undefined): DynamodbConfig {
  const base = config ?? dynamodbSection.parse({});
  return {
    ...base,
    targetUtilization: options.dynamodb.targetUtilization,
    minCapacity: options.dynamodb.minCapacity,
    maxCapacity: options.dynamodb.maxCapacity,
  };
}

/** What one backtest run of the tuner is set up with (fixed for the whole trace). */
interface AutopilotSetup {
  config: DynamodbConfig;
  prices: ReturnType<typeof priceTable>;
  prewarmOn: boolean;
  switchOn: boolean;
  /** The config the mode advisor sees (its switch allowed or not by the plugin options). */
  advisorConfig: DynamodbConfig;
  relearnMinutes: number;
  adviseEveryMinutes: number;
  target: Target;
  settings: TunerSettings;
  /** Minutes of published metrics the capacity policy reads. */
  lookback: number;
  /** The schedule, minutes. */
  schedule: number;
  cadenceOn: boolean;
  cadence: CadenceConfig;
}

/** What the tuner remembers between runs (its tuner state in the deployed tuner). */
interface AutopilotMemory {
  models: { read?: PeakModel; write?: PeakModel; learnedAt: number };
  shapes: Record<string, DemandShape>;
  switches: ModeSwitch[];
  advisedAt: number;
}

function autopilotSetup(
  options: BacktestOptions,
  sectionConfig: DynamodbConfig | undefined,
  pluginOptions: DynamodbPluginOptions,
): AutopilotSetup {
  const config = configFrom(options, sectionConfig);
  const switchOn = pluginOptions.allowModeSwitch ?? config.modeAdvisor.allowSwitch;
  const schedule = Math.max(1, Math.floor(pluginOptions.everyMinutes ?? 2));
  return {
    config,
    prices: priceTable(options.prices),
    prewarmOn: pluginOptions.prewarm ?? config.prewarm.enabled,
    switchOn,
    advisorConfig: { ...config, modeAdvisor: { ...config.modeAdvisor, allowSwitch: switchOn } },
    relearnMinutes: pluginOptions.relearnMinutes ?? 60,
    adviseEveryMinutes: pluginOptions.adviseEveryMinutes ?? 60,
    target: {
      ref: { kind: 'dynamodb-table', id: TABLE },
      tags: {},
      managed: true,
      created: false,
      optedOut: false,
    },
    settings: {
      mode: 'apply',
      min: config.minCapacity,
      max: config.maxCapacity,
      // The policy has its own stabilization window and decrease budget; no extra cooldown.
      cooldownMinutes: config.cooldownMinutes ?? 0,
      maxChangesPerRun: config.maxChangesPerRun ?? 10,
      driftBackoffMinutes: 0,
      lockLeaseSeconds: 60,
    },
    lookback: Math.max(config.scaleDownStabilizationMinutes, config.lookbackMinutes) + 1,
    schedule,
    cadenceOn: pluginOptions.cadence ?? config.cadence.enabled,
    cadence: { ...DEFAULT_CADENCE, ...config.cadence, fastMinutes: schedule },
  };
}

/**
 * The deployed tuner, minute by minute: run when the schedule, the cadence or the alarm says
 * so -> the mode advice (hourly) -> on a provisioned table: re-learn peaks (hourly) -> pre-warm
 * floors -> observe -> plan capacity -> when to observe next -> act through the shared executor.
 */
export function createDynamodbAutopilot(
  options: BacktestOptions,
  sectionConfig: DynamodbConfig | undefined,
  pluginOptions: DynamodbPluginOptions = {},
): BacktestPolicy<'dynamodb'> {
  const setup = autopilotSetup(options, sectionConfig, pluginOptions);
  const memory: AutopilotMemory = {
    models: { learnedAt: -Infinity },
    shapes: {},
    switches: [],
    advisedAt: 0,
  };
  const gate = runGate(setup.schedule, setup.cadenceOn);
  return {
    name: 'db-autopilot',
    // Asked every minute: the schedule, the cadence and the alarm decide when it runs (runsNow).
    everyMinutes: 1,
    async decide(ctx) {
      const trigger = gate.now(ctx);
      if (!trigger.run) return null;
      if (modeAdviceDue(setup, memory, ctx.minute)) await adviseMode(setup, memory, ctx);
      if (ctx.state.mode === 'on-demand') return null;
      if (relearnDue(setup, memory, ctx.minute)) relearnPeaks(setup, memory, ctx);
      const floors = prewarmFloors(setup, memory, ctx.now);
      const obs = observe(setup, ctx);
      const { plan, assessments } = planTableCapacity({
        observation: obs,
        config: setup.config,
        prices: setup.prices,
        now: ctx.now,
        floors,
        shapes: memory.shapes,
      });
      if (setup.cadenceOn)
        gate.due.nextMinute = nextObservedAt(setup, memory, ctx, plan, assessments, trigger.alarm);
      await execute(setup, ctx, plan, capacityAdapter(ctx));
      return null;
    },
  };
}

/** The shared executor (guards) on a plan, with a fresh in-memory store. */
async function execute(
  setup: AutopilotSetup,
  ctx: PolicyContext<'dynamodb'>,
  plan: Plan,
  adapter: Adapter,
): Promise<void> {
  if (plan.actions.length === 0) return;
  const run: RunContext = {
    runId: `backtest-${ctx.minute}`,
    tuner: plan.tuner,
    trigger: 'backtest',
    dryRun: false,
    override: false,
    idempotencyKey: `backtest-${ctx.minute}`,
    now: ctx.now,
    paused: false,
    changesApplied: 0,
  };
  // A fresh store per step: the policy reads its state from DescribeTable (ctx.state), so the
  // audit log is not needed across steps, and this keeps long traces linear.
  const { target, settings } = setup;
  await executePlan({ plan, target, settings, adapter, run, store: new MemoryStateStore() });
}

/** The mode advisor runs hourly (after minute 0), and only when it may switch. */
function modeAdviceDue(setup: AutopilotSetup, memory: AutopilotMemory, t: number): boolean {
  return setup.switchOn && t > 0 && t - memory.advisedAt >= setup.adviseEveryMinutes;
}

/** Mode advisor: recommend, or switch where allowed (each applied switch remembered). */
async function adviseMode(
  setup: AutopilotSetup,
  memory: AutopilotMemory,
  ctx: PolicyContext<'dynamodb'>,
): Promise<void> {
  const { config } = setup;
  const start = ctx.options.startTime;
  const t = ctx.minute;
  memory.advisedAt = t;
  const rows = ctx.history.range(Math.max(0, t - config.modeAdvisor.lookbackDays * 1440), t);
  const advice = adviseCapacityMode({
    tableName: TABLE,
    billingMode: ctx.state.mode === 'on-demand' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
    usage: usageAt(rows, start, t, config.maxUnservedFactor),
    config: setup.advisorConfig,
    prices: setup.prices,
    now: ctx.now,
    switches: memory.switches,
  });
  const adapter: Adapter = async (action): Promise<ActResult> => {
    const mode = action.to === 'PAY_PER_REQUEST' ? 'on-demand' : 'provisioned';
    const initial = (action.params?.provisioned ?? {}) as { read?: number; write?: number };
    const res = ctx.apply(
      mode === 'provisioned' ? { mode, read: initial.read, write: initial.write } : { mode },
    );
    if (res.status === 'applied') {
      memory.switches.push({
        at: ctx.now.toISOString(),
        to: mode === 'on-demand' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
      });
    }
    return toActResult(res, start);
  };
  await execute(setup, ctx, advice.plan, adapter);
}

/** Recurring peaks and the demand shape are re-learned hourly, once two hours are published. */
function relearnDue(setup: AutopilotSetup, memory: AutopilotMemory, t: number): boolean {
  return t - memory.models.learnedAt >= setup.relearnMinutes && t >= 120;
}

/**
 * From one demand history: recurring peaks (pre-warming, when on) and the demand shape (the
 * day's decrease plan, the learned burst floor).
 */
function relearnPeaks(setup: AutopilotSetup, memory: AutopilotMemory, ctx: PolicyContext<'dynamodb'>): void {
  const { config } = setup;
  const t = ctx.minute;
  const from = Math.max(0, t - config.prewarm.historyMinutes);
  const rows = ctx.history.range(from, t);
  memory.shapes = {};
  for (const dim of ['read', 'write'] as const) {
    const h = {
      start: minuteToIso(ctx.options.startTime, from),
      periodSeconds: 60,
      values: estimatedDemand(rows, dim, config.maxUnservedFactor),
    };
    if (setup.prewarmOn) memory.models[dim] = learnRecurringPeaks(h, ctx.now, config.prewarm);
    const shape = learnDemandShape(h, ctx.now);
    if (shape) memory.shapes[shapeKey(null, dim)] = shape;
  }
  memory.models.learnedAt = t;
}

/** The capacity floors the learned recurring peaks ask for now (pre-warming on). */
function prewarmFloors(setup: AutopilotSetup, memory: AutopilotMemory, now: Date): CapacityFloor[] {
  const floors: CapacityFloor[] = [];
  if (!setup.prewarmOn) return floors;
  const { config } = setup;
  for (const dim of ['read', 'write'] as const) {
    const model = memory.models[dim];
    if (!model) continue;
    const f = prewarmFloorAt(model, now, config.prewarm, config.targetUtilization);
    if (f) floors.push({ indexName: null, dim, units: f.units, reason: f.reason, evidence: f.evidence });
  }
  return floors;
}

/** DescribeTable and the complete published minutes the capacity policy reads. */
function observe(setup: AutopilotSetup, ctx: PolicyContext<'dynamodb'>): TableObservation {
  // As the metrics client does: a minute still filling is unknown, not low (shared/metrics).
  const rows = ctx.history
    .last(setup.lookback + 1)
    .filter((r) => r.complete)
    .slice(-setup.lookback);
  return observationAt(rows, ctx.state, ctx.minute, ctx.options.startTime);
}

/** The minute the cadence observes the table next (shared/policies/dynamodb-cadence.ts). */
function nextObservedAt(
  setup: AutopilotSetup,
  memory: AutopilotMemory,
  ctx: PolicyContext<'dynamodb'>,
  plan: Plan,
  assessments: ReturnType<typeof planTableCapacity>['assessments'],
  alarm: boolean,
): number {
  const { config, cadence } = setup;
  const t = ctx.minute;
  const peakSoon = setup.prewarmOn
    ? minutesToPeak(memory.models, ctx.now, cadence.slowMinutes, config)
    : undefined;
  const next = chooseCadence({
    ...cadenceOfPlan(plan),
    now: ctx.now,
    assessments,
    updating: t < ctx.state.updatingUntil,
    alarm,
    ...(peakSoon !== undefined ? { nextPeakAt: minuteToIso(ctx.options.startTime, t + peakSoon) } : {}),
    config,
    cadence,
  });
  return t + next.everyMinutes;
}

/** Applies a capacity action as the AWS adapter does: the table's update, never a mixed one. */
function capacityAdapter(ctx: PolicyContext<'dynamodb'>): Adapter {
  return async (action): Promise<ActResult> => {
    const params = action.params as CapacityParams | undefined;
    const u = params?.updates.find((x) => x.indexName === null);
    if (!params || !u) return { status: 'skipped', reason: 'no table update in the action' };
    // As the AWS adapter does: never send a mixed update (compare with the capacity now).
    const s = ctx.state;
    const read = params.direction === 'increase' ? Math.max(u.read, s.read) : Math.min(u.read, s.read);
    const write = params.direction === 'increase' ? Math.max(u.write, s.write) : Math.min(u.write, s.write);
    if (read === s.read && write === s.write)
      return { status: 'skipped', reason: 'already at that capacity' };
    return toActResult(ctx.apply({ read, write }), ctx.options.startTime);
  };
}

export const createAutopilotPolicy: CreateAutopilotPolicy<'dynamodb'> = ({ options, config }) =>
  createDynamodbAutopilot(options, config?.tuners.dynamodb);
