import type { Config } from '../config/schema.ts';
import { createAuroraAutoScaling } from './baselines/aurora-autoscaling.ts';
import { createAwsDynamodbTargetTracking } from './baselines/dynamodb-target-tracking.ts';
import { greedyClairvoyant } from './baselines/greedy.ts';
import { oracleDynamodb, oracleIops, oracleReplicas } from './baselines/oracle.ts';
import {
  staticExactDynamodb,
  staticExactIops,
  staticExactReplicas,
  staticPeakDynamodb,
  staticPeakIops,
  staticPeakReplicas,
} from './baselines/static-peak.ts';
import { historyView, type Published } from './history.ts';
import { DynamodbModel } from './models/dynamodb.ts';
import { IopsModel, type IopsTotals } from './models/iops.ts';
import { MAX_READERS, ReplicasModel } from './models/replicas.ts';
import { type BacktestOptions, type Prices, prices as pricesOf } from './options.ts';
import type { BacktestPolicy, CreateAutopilotPolicy, PolicyContext } from './plugins/types.ts';
import type {
  BacktestReport,
  CapacitySeries,
  ChangeResult,
  Kind,
  ObservationOf,
  PolicyMetrics,
  PolicyName,
  PolicyResult,
  PolicyRun,
  PolicyUnavailable,
  RequestOf,
  StateOf,
  Trace,
  TraceOf,
} from './types.ts';
import { traceLength } from './types.ts';

/**
 * The harness: replays a trace minute by minute through each policy, every policy through an
 * identical, fresh capacity model (same rules, delays, prices), and scores them alike.
 */

/** One kind's model, seen through a common shape. */
interface SimModel<K extends Kind> {
  begin(t: number): void;
  state(): StateOf<K>;
  request(req: RequestOf<K>): ChangeResult;
  serve(t: number): ObservationOf<K>;
  capacity(): Record<string, number>;
  metrics(): PolicyMetrics;
}

function pct(part: number, whole: number): number {
  return whole > 0 ? (100 * part) / whole : 0;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The scores of a model that counts demand and unserved demand in one unit (IOPS, reader CPU). */
function scored(x: IopsTotals, detail: Record<string, number>): PolicyMetrics {
  return {
    available: true,
    unservedPct: round(pct(x.unserved, x.demand), 4),
    saturationMinutes: x.saturationMinutes,
    cost: round(x.cost, 4),
    changes: x.changes,
    refused: x.refused,
    detail: { demand: round(x.demand, 2), unserved: round(x.unserved, 2), ...detail },
  };
}

type Binding<K extends Kind> = {
  /** Where every policy that does not know the trace starts: first minute's demand / target. */
  defaultInitial(trace: TraceOf<K>, options: BacktestOptions): RequestOf<K>;
  create(trace: TraceOf<K>, options: BacktestOptions, prices: Prices, initial: RequestOf<K>): SimModel<K>;
  demandSeries(trace: TraceOf<K>): CapacitySeries;
  /**
   * The newest published minute while CloudWatch still lacks part of it: counters (Sum,
   * SampleCount) hold `fraction` of the minute, averages and gauges stay as they are.
   */
  partial(row: ObservationOf<K>, fraction: number): ObservationOf<K>;
};

const dynamodbBinding: Binding<'dynamodb'> = {
  defaultInitial(trace, options) {
    const o = options.dynamodb;
    const start = (v: number | undefined): number =>
      Math.min(o.maxCapacity, Math.max(o.minCapacity, Math.ceil((v ?? 0) / o.targetUtilization)));
    return { read: start(trace.read[0]), write: start(trace.write[0]) };
  },
  create(trace, options, prices, initial) {
    const model = new DynamodbModel(options, prices, {
      read: initial.read ?? 1,
      write: initial.write ?? 1,
      mode: initial.mode,
    });
    return {
      begin: (t) => model.begin(t),
      state: () => model.state(),
      request: (r) => model.request(r),
      serve: (t) => model.serve(trace.read[t] ?? 0, trace.write[t] ?? 0),
      capacity: () => model.capacity(),
      metrics() {
        const x = model.totals;
        return {
          available: true,
          unservedPct: round(pct(x.unservedUnits, x.demandUnits), 4),
          saturationMinutes: x.saturationMinutes,
          cost: round(x.provisionedCost + x.onDemandCost, 4),
          changes: x.changes,
          refused: x.refused,
          detail: {
            demand: round(x.demandUnits, 2),
            unserved: round(x.unservedUnits, 2),
            readUnservedPct: round(pct(x.readUnserved, x.readDemand), 4),
            writeUnservedPct: round(pct(x.writeUnserved, x.writeDemand), 4),
            decreases: x.decreases,
            onDemandMinutes: x.onDemandMinutes,
            provisionedCost: round(x.provisionedCost, 4),
            onDemandCost: round(x.onDemandCost, 4),
          },
        };
      },
    };
  },
  demandSeries: (trace) => ({ read: trace.read, write: trace.write }),
  partial: (row, f) => ({
    ...row,
    read: { ...row.read, consumed: row.read.consumed * f, throttled: row.read.throttled * f },
    write: { ...row.write, consumed: row.write.consumed * f, throttled: row.write.throttled * f },
  }),
};

const iopsBinding: Binding<'iops'> = {
  defaultInitial(trace, options) {
    const o = options.iops;
    return {
      iops: Math.min(o.maxIops, Math.max(o.minIops, Math.ceil((trace.iops[0] ?? 0) / o.targetUtilization))),
    };
  },
  create(trace, options, prices, initial) {
    const model = new IopsModel(options, prices, initial.iops);
    return {
      begin: (t) => model.begin(t),
      state: () => model.state(),
      request: (r) => model.request(r),
      serve: (t) => model.serve(trace.iops[t] ?? 0),
      capacity: () => ({ iops: model.capacity() }),
      metrics: () =>
        scored(model.totals, {
          saturationPct: round(pct(model.totals.saturationMinutes, trace.iops.length), 4),
        }),
    };
  },
  demandSeries: (trace) => ({ iops: trace.iops }),
  // ReadIOPS / WriteIOPS are averages (count per second): a partial minute keeps its average.
  partial: (row) => row,
};

const replicasBinding: Binding<'replicas'> = {
  defaultInitial(trace, options) {
    const o = options.replicas;
    return {
      readers: Math.min(
        Math.min(MAX_READERS, o.maxReaders),
        Math.max(o.minReaders, Math.ceil((trace.cpu[0] ?? 0) / o.targetCpuPercent)),
      ),
    };
  },
  create(trace, options, prices, initial) {
    const model = new ReplicasModel(options, prices, initial.readers);
    return {
      begin: (t) => model.begin(t),
      state: () => model.state(),
      request: (r) => model.request(r),
      serve: (t) => model.serve(trace.cpu[t] ?? 0),
      capacity: () => ({ readers: model.capacity() }),
      metrics: () => scored(model.totals, { readerHours: round(model.totals.readerMinutes / 60, 2) }),
    };
  },
  demandSeries: (trace) => ({ cpu: trace.cpu }),
  // CPUUtilization is an average: a partial minute keeps its average.
  partial: (row) => row,
};

function binding<K extends Kind>(kind: K): Binding<K> {
  const all: { [P in Kind]: Binding<P> } = {
    dynamodb: dynamodbBinding,
    iops: iopsBinding,
    replicas: replicasBinding,
  };
  return all[kind] as unknown as Binding<K>;
}

/** Runs one policy over the whole trace through a fresh model. */
export async function runPolicy<K extends Kind>(
  trace: TraceOf<K>,
  policy: BacktestPolicy<K>,
  options: BacktestOptions,
): Promise<PolicyRun> {
  const kind = trace.kind as K;
  const b = binding(kind);
  const n = traceLength(trace);
  const initial = policy.initial ? policy.initial() : b.defaultInitial(trace, options);
  const model = b.create(trace, options, pricesOf(options), initial);
  const rows: Published<ObservationOf<K>>[] = [];
  const publication = {
    delay: options.publicationDelayMinutes,
    partial: (row: Published<ObservationOf<K>>): Published<ObservationOf<K>> =>
      Object.freeze({ ...b.partial(row, options.partialMinuteFraction), complete: false }) as Published<
        ObservationOf<K>
      >,
  };
  const capacity: CapacitySeries = {};
  const every = Math.max(1, Math.floor(policy.everyMinutes ?? 1));
  const start = Date.parse(options.startTime);
  for (let t = 0; t < n; t++) {
    model.begin(t);
    if (t % every === 0) {
      const ctx: PolicyContext<K> = {
        kind,
        minute: t,
        now: new Date(start + t * 60_000),
        history: historyView(rows, t, publication),
        // A fresh frozen snapshot on every read: after ctx.apply it shows the UPDATING table.
        get state() {
          return Object.freeze(model.state());
        },
        options,
        apply: (req) => model.request(req),
      };
      const decided = await policy.decide(ctx);
      if (decided) {
        const list = (Array.isArray(decided) ? decided : [decided]) as RequestOf<K>[];
        for (const req of list) model.request(req);
      }
    }
    rows.push(Object.freeze({ ...model.serve(t), complete: true }) as Published<ObservationOf<K>>);
    for (const [name, value] of Object.entries(model.capacity())) {
      let series = capacity[name];
      if (!series) {
        series = [];
        capacity[name] = series;
      }
      series.push(value);
    }
  }
  return { result: model.metrics(), capacity };
}

export interface RunBacktestInput<K extends Kind> {
  trace: TraceOf<K>;
  options: BacktestOptions;
  config?: Config;
  /** Replaces the plugin in shared/backtest/plugins/<kind>.ts (tests, tuner engineers' experiments). */
  autopilot?: CreateAutopilotPolicy<K>;
}

async function loadPlugin<K extends Kind>(kind: K): Promise<CreateAutopilotPolicy<K>> {
  const plugins = {
    dynamodb: () => import('./plugins/dynamodb.ts'),
    iops: () => import('./plugins/iops.ts'),
    replicas: () => import('./plugins/replicas.ts'),
  } as const;
  const mod = await plugins[kind]();
  return mod.createAutopilotPolicy as unknown as CreateAutopilotPolicy<K>;
}

function isUnavailable<K extends Kind>(p: BacktestPolicy<K> | PolicyUnavailable): p is PolicyUnavailable {
  return (p as PolicyUnavailable).available === false;
}

/** The baselines of a kind, in the order of the report (iops has no AWS baseline). */
export function baselines<K extends Kind>(
  trace: TraceOf<K>,
  options: BacktestOptions,
): Partial<Record<PolicyName, BacktestPolicy<K>>> {
  const t: Trace = trace;
  let out: Partial<Record<PolicyName, BacktestPolicy<Kind>>>;
  switch (t.kind) {
    case 'dynamodb':
      out = {
        'aws-target-tracking': createAwsDynamodbTargetTracking() as BacktestPolicy<Kind>,
        'static-peak': staticPeakDynamodb(t, options) as BacktestPolicy<Kind>,
        'static-exact': staticExactDynamodb(t, options) as BacktestPolicy<Kind>,
        oracle: oracleDynamodb(t, options) as BacktestPolicy<Kind>,
      };
      break;
    case 'iops':
      out = {
        'static-peak': staticPeakIops(t, options) as BacktestPolicy<Kind>,
        'static-exact': staticExactIops(t, options) as BacktestPolicy<Kind>,
        oracle: oracleIops(t, options) as BacktestPolicy<Kind>,
      };
      break;
    case 'replicas':
      out = {
        'aws-target-tracking': createAuroraAutoScaling() as BacktestPolicy<Kind>,
        'static-peak': staticPeakReplicas(t, options) as BacktestPolicy<Kind>,
        'static-exact': staticExactReplicas(t, options) as BacktestPolicy<Kind>,
        oracle: oracleReplicas(t, options) as BacktestPolicy<Kind>,
      };
      break;
  }
  return out as Partial<Record<PolicyName, BacktestPolicy<K>>>;
}

/**
 * The oracle never costs more than the greedy clairvoyant (baselines/greedy.ts) at the same
 * service: both run, the cheaper one that serves at least as much is reported, and
 * `detail.greedy` says which (1 = the greedy clairvoyant's plan).
 */
export async function bestOracle<K extends Kind>(
  trace: TraceOf<K>,
  oracle: BacktestPolicy<K>,
  options: BacktestOptions,
): Promise<PolicyRun> {
  const planned = await runPolicy(trace, oracle, options);
  const greedy = await runPolicy(trace, greedyClairvoyant(trace, options), options);
  const a = planned.result;
  const b = greedy.result;
  const greedyWins = a.available && b.available && b.unservedPct <= a.unservedPct + 1e-9 && b.cost < a.cost;
  const best = greedyWins ? greedy : planned;
  if (!best.result.available) return best;
  return {
    ...best,
    result: { ...best.result, detail: { ...best.result.detail, greedy: greedyWins ? 1 : 0 } },
  };
}

export async function runBacktest<K extends Kind>(input: RunBacktestInput<K>): Promise<BacktestReport> {
  const { trace, options, config } = input;
  const kind = trace.kind as K;
  const policies: Partial<Record<PolicyName, PolicyResult>> = {};
  const capacity: Partial<Record<PolicyName, CapacitySeries>> = {};
  const create = input.autopilot ?? (await loadPlugin(kind));
  const autopilot = await create({ kind, options, config });
  if (isUnavailable(autopilot)) {
    policies['db-autopilot'] = { available: false, reason: autopilot.reason };
  } else {
    const run = await runPolicy(trace, autopilot, options);
    policies['db-autopilot'] = run.result;
    capacity['db-autopilot'] = run.capacity;
  }
  for (const [name, policy] of Object.entries(baselines(trace, options)) as Array<
    [PolicyName, BacktestPolicy<K>]
  >) {
    const run =
      name === 'oracle' ? await bestOracle(trace, policy, options) : await runPolicy(trace, policy, options);
    policies[name] = run.result;
    capacity[name] = run.capacity;
  }
  return {
    kind,
    trace: trace.source,
    minutes: traceLength(trace),
    policies,
    series: { demand: binding(kind).demandSeries(trace), capacity },
  };
}
