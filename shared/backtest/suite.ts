import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { runBacktest } from './engine.ts';
import { generateTrace, RECURRING_SHAPES, SHAPES, type Shape } from './generate-traces.ts';
import type { BacktestOptions } from './options.ts';
import type { CreateAutopilotPolicy } from './plugins/types.ts';
import { readTraceFile } from './trace.ts';
import type { BacktestReport, Kind, PolicyName, Trace, TraceOf } from './types.ts';
import { POLICY_NAMES } from './types.ts';

/**
 * A suite: every shipped trace of a kind (test/traces/<kind>/*.csv) plus UNSEEN traces of the
 * same shapes generated with other seeds (never committed), plus, with the first seed, the
 * recurring shapes jittered (each peak moved in time and height: generate-traces.ts). The tuners'
 * goals are checked on it: per trace and in total (demand-weighted unserved, summed cost).
 */
export const DEFAULT_UNSEEN_SEEDS = [101, 202];

export interface SuiteInput<K extends Kind> {
  kind: K;
  options: BacktestOptions;
  config?: Config;
  /** Directory holding <kind>/*.csv (default test/traces beside this repository's shared/). */
  tracesDir?: string;
  /** Seeds of the unseen traces (default 101, 202); [] = shipped traces only. */
  seeds?: number[];
  /** Include the shipped traces (default true). */
  shipped?: boolean;
  /** Add the recurring shapes jittered, with the first seed (default true). */
  jittered?: boolean;
  shapes?: readonly string[];
  autopilot?: CreateAutopilotPolicy<K>;
}

export interface SuiteTotals {
  /** Unserved demand over all traces, in percent of all demand. */
  unservedPct: number;
  saturationMinutes: number;
  cost: number;
  changes: number;
  traces: number;
}

export interface SuiteResult {
  kind: Kind;
  reports: BacktestReport[];
  totals: Partial<Record<PolicyName, SuiteTotals>>;
}

export const DEFAULT_TRACES_DIR = join(import.meta.dirname, '..', '..', 'test', 'traces');

export function suiteTraces<K extends Kind>(input: SuiteInput<K>): Array<TraceOf<K>> {
  const shapes = (input.shapes ?? SHAPES[input.kind]) as readonly string[];
  const traces: Trace[] = [];
  if (input.shipped ?? true) {
    for (const shape of shapes) {
      traces.push(
        readTraceFile(input.kind, join(input.tracesDir ?? DEFAULT_TRACES_DIR, input.kind, `${shape}.csv`)),
      );
    }
  }
  const seeds = input.seeds ?? DEFAULT_UNSEEN_SEEDS;
  for (const seed of seeds) {
    for (const shape of shapes) {
      traces.push(generateTrace(input.kind, shape as (typeof SHAPES)[K][number], { seed }));
    }
  }
  const first = seeds[0];
  if ((input.jittered ?? true) && first !== undefined) {
    for (const shape of shapes) {
      if (!RECURRING_SHAPES.includes(shape as Shape)) continue;
      traces.push(generateTrace(input.kind, shape as Shape, { seed: first, jitter: true }));
    }
  }
  return traces as Array<TraceOf<K>>;
}

export async function runSuite<K extends Kind>(input: SuiteInput<K>): Promise<SuiteResult> {
  const reports: BacktestReport[] = [];
  for (const trace of suiteTraces(input)) {
    reports.push(
      await runBacktest({ trace, options: input.options, config: input.config, autopilot: input.autopilot }),
    );
  }
  const totals: Partial<Record<PolicyName, SuiteTotals>> = {};
  for (const name of POLICY_NAMES) {
    let demand = 0;
    let unserved = 0;
    const sum: SuiteTotals = { unservedPct: 0, saturationMinutes: 0, cost: 0, changes: 0, traces: 0 };
    for (const report of reports) {
      const r = report.policies[name];
      if (!r?.available) continue;
      demand += r.detail.demand ?? 0;
      unserved += r.detail.unserved ?? 0;
      sum.saturationMinutes += r.saturationMinutes;
      sum.cost += r.cost;
      sum.changes += r.changes;
      sum.traces++;
    }
    if (sum.traces === 0) continue;
    sum.unservedPct = demand > 0 ? (100 * unserved) / demand : 0;
    sum.cost = Math.round(sum.cost * 100) / 100;
    totals[name] = sum;
  }
  return { kind: input.kind, reports, totals };
}
