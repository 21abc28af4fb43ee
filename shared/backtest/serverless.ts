import { readFileSync } from 'node:fs';
import { roundUpAcu } from '../aws/aurora-serverless.ts';
import { ValidationError } from '../core/errors.ts';
import { seededRandom } from '../core/random.ts';
import {
  DEFAULT_SERVERLESS_SETTINGS,
  historyDaysRead,
  type MinimumChange,
  minimumInEffect,
  planServerlessBounds,
  type ServerlessObservation,
  type ServerlessSettings,
} from '../policies/serverless-bounds.ts';
import { type LearnedSpikes, learnSpikes, relearnDue } from '../policies/serverless-spikes.ts';
import {
  type CapacityState,
  DEFAULT_SERVERLESS_PARAMS,
  initialState,
  type ServerlessBounds,
  type ServerlessParams,
  stepMinute,
} from '../sim/serverless-capacity.ts';

/**
 * `npm run backtest -- --kind serverless`: an Aurora Serverless v2 writer's ACU demand replayed
 * minute by minute through the capacity model the simulator uses (shared/sim/serverless-capacity.ts)
 * under five bound policies:
 *
 * - db-autopilot: the real pure policy (shared/policies/serverless-bounds.ts) every 5 minutes,
 *   seeing only what CloudWatch publishes (ServerlessDatabaseCapacity, ACUUtilization,
 *   DatabaseConnections) after the publication delay (default 2 minutes), with the tuner's inputs
 *   made the tuner's way: recurring spikes learned hourly from the published 60-s connections of
 *   the history's days (shared/policies/serverless-spikes.ts, learnSpikes), and the minimum in
 *   effect per history bucket from its own applied changes of those days (minimumInEffect);
 * - fixed-bounds-high (the cautious user): MinCapacity = half the trace's peak, MaxCapacity = twice it;
 * - fixed-bounds-low (the thrifty user): MinCapacity 0.5, MaxCapacity = twice the peak;
 * - static-exact: MinCapacity = MaxCapacity = the peak (a fixed size, no scaling);
 * - oracle: knows the trace; MinCapacity each minute = the demand of the next 3 minutes.
 *
 * Trace: CSV `minute,acu_demand` (ACU the workload needs each minute). Scores as the other kinds:
 * `unservedPct` (ACU-minutes not served in time / demand), `saturationMinutes` (demand above what
 * MaxCapacity serves, or a scale-up / resume lag longer than the model's tolerance), `cost` (USD at
 * $0.12 per ACU-hour), `changes` (bound changes).
 */

export const SERVERLESS_POLICIES = [
  'db-autopilot',
  'fixed-bounds-high',
  'fixed-bounds-low',
  'static-exact',
  'oracle',
] as const;
export type ServerlessPolicyName = (typeof SERVERLESS_POLICIES)[number];

export interface ServerlessTrace {
  kind: 'serverless';
  acu: number[];
  source: string;
}

export interface ServerlessBacktestOptions {
  publicationDelayMinutes: number;
  everyMinutes: number;
  startTime: string;
  params: ServerlessParams;
  settings: ServerlessSettings;
}

export const DEFAULT_SERVERLESS_BACKTEST: ServerlessBacktestOptions = {
  publicationDelayMinutes: 2,
  everyMinutes: 5,
  startTime: '2026-01-05T00:00:00.000Z',
  params: DEFAULT_SERVERLESS_PARAMS,
  settings: DEFAULT_SERVERLESS_SETTINGS,
};

export interface ServerlessResult {
  available: true;
  unservedPct: number;
  saturationMinutes: number;
  cost: number;
  changes: number;
  refused: number;
  detail: { demand: number; unserved: number; acuHours: number };
}

export interface ServerlessReport {
  kind: 'serverless';
  trace: string;
  minutes: number;
  policies: Record<ServerlessPolicyName, ServerlessResult>;
}

// ------------------------------------------------------------------ traces

export function parseServerlessTrace(text: string, source = 'trace'): ServerlessTrace {
  const acu: number[] = [];
  let header = false;
  text.split(/\r?\n/).forEach((line, i) => {
    const raw = line.trim();
    if (raw === '' || raw.startsWith('#')) return;
    const fail = (m: string) =>
      new ValidationError(`${source}:${i + 1}: ${m}`, [{ path: source, message: m, line: i + 1 }]);
    if (!header) {
      if (raw.toLowerCase() !== 'minute,acu_demand')
        throw fail(`header must be "minute,acu_demand" for a serverless trace, got "${raw.slice(0, 80)}"`);
      header = true;
      return;
    }
    const [m, v, extra] = raw.split(',').map((c) => c.trim());
    if (extra !== undefined || m === undefined || v === undefined)
      throw fail('expected 2 columns: minute,acu_demand');
    if (Number(m) !== acu.length || !/^\d+$/.test(m))
      throw fail(`minute must be ${acu.length} (no gaps), got "${m}"`);
    const value = /^[+]?(\d+(\.\d*)?|\.\d+)$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isFinite(value) || value > 256 * 4)
      throw fail(`acu_demand must be a number >= 0, got "${v}"`);
    acu.push(value);
  });
  if (!header) throw new ValidationError(`${source}: empty trace (no header)`);
  if (acu.length < 60)
    throw new ValidationError(`${source}: a trace needs at least 60 minutes, got ${acu.length}`);
  return { kind: 'serverless', acu, source };
}

export function readServerlessTrace(file: string): ServerlessTrace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ValidationError(`${file}: cannot read the trace file`);
  }
  return parseServerlessTrace(text, file);
}

export function formatServerlessTrace(t: ServerlessTrace): string {
  return `minute,acu_demand\n${t.acu.map((v, i) => `${i},${Math.round(v * 100) / 100}`).join('\n')}\n`;
}

export const SERVERLESS_SHAPES = [
  'diurnal',
  'flash-sale',
  'dev-idle',
  'recurring-spikes',
  'weekly',
  'steady',
] as const;
export type ServerlessShape = (typeof SERVERLESS_SHAPES)[number];

/** Seeded traces (7 days; weekly 14): daily peaks with jitter in time and height, as the other kinds. */
export function generateServerlessTrace(shape: ServerlessShape, seed: number): ServerlessTrace {
  const rnd = seededRandom(seed * 7919 + shape.length);
  const days = shape === 'weekly' ? 14 : 7;
  const scale = 4 + rnd() * 28;
  const jitterHour = Array.from({ length: days }, () => (rnd() - 0.5) * 1.5);
  const jitterHeight = Array.from({ length: days }, () => 0.8 + rnd() * 0.4);
  const peakHour = 14 + rnd() * 6;
  const acu: number[] = [];
  const flashDay = 4 + Math.floor(rnd() * 2);
  for (let t = 0; t < days * 1440; t++) {
    const day = Math.floor(t / 1440);
    const hour = (t % 1440) / 60;
    const weekend = day % 7 >= 5;
    const noise = 1 + (rnd() - 0.5) * 0.1;
    const bump = (center: number, width: number) => {
      const d = Math.min(Math.abs(hour - center), 24 - Math.abs(hour - center));
      return Math.exp(-(d * d) / (2 * width * width));
    };
    const daily = 0.15 + 0.85 * (jitterHeight[day] ?? 1) * bump(peakHour + (jitterHour[day] ?? 0), 2.5);
    let v: number;
    switch (shape) {
      case 'diurnal':
        v = daily;
        break;
      case 'weekly':
        v = daily * (weekend ? 0.35 : 1);
        break;
      case 'flash-sale': {
        const into = t - (flashDay * 1440 + 12 * 60);
        v = daily + (into >= 0 && into < 120 ? 1.8 * Math.min(1, into / 3, (120 - into) / 10) : 0);
        break;
      }
      case 'recurring-spikes': {
        // A batch at the top of every 3rd hour (jittered by a few minutes), 20 minutes long.
        const jitter = Math.floor(((day * 31 + Math.floor(hour / 3)) % 7) - 3);
        const m = (t % 180) - 10 - jitter;
        v = 0.2 + (m >= 0 && m < 20 ? 0.9 * (jitterHeight[day] ?? 1) : 0) + 0.2 * bump(peakHour, 3);
        break;
      }
      case 'dev-idle': {
        // A development cluster: used in working hours (start jittered), idle nights and weekends.
        const working = !weekend && hour >= 9 + (jitterHour[day] ?? 0) && hour < 17;
        v = working ? 0.25 + 0.1 * bump(13, 2) : 0;
        break;
      }
      case 'steady':
        v = 0.75 + 0.1 * bump(peakHour, 3);
        break;
    }
    acu.push(Math.max(0, v * scale * noise));
  }
  return { kind: 'serverless', acu, source: `generated:${shape}:seed=${seed}` };
}

// ------------------------------------------------------------------ the loop

interface PolicyDriver {
  bounds(t: number): ServerlessBounds;
  /** Called every `everyMinutes` with what is published up to (excluding) minute `t - delay`. */
  decide?(t: number, published: Published): void;
}

interface Published {
  capacity: number[];
  acuUtilization: number[];
  connections: number[];
}

function fixed(min: number, max: number): PolicyDriver {
  const b = { min, max, secondsUntilAutoPause: 300 };
  return { bounds: () => b };
}

function oracle(trace: ServerlessTrace, peakMax: number, params: ServerlessParams): PolicyDriver {
  // Knows the trace: the minimum covers the demand of the next minutes, early enough for a warm cache.
  const ahead = params.warmMinutes + 3;
  return {
    bounds: (t) => {
      const next = Math.max(...trace.acu.slice(t, t + ahead), 0);
      return { min: Math.min(peakMax, roundUpAcu(next)), max: peakMax, secondsUntilAutoPause: 300 };
    },
  };
}

const BUCKET = 15;

/** Published minutes folded into 15-minute buckets as they appear (what GetMetricData at 900 s returns). */
class Buckets {
  readonly capacityMax: number[] = [];
  readonly capacityMean: number[] = [];
  readonly connectionsMax: number[] = [];
  add(published: Published, from: number, to: number): void {
    for (let b = Math.floor(from / BUCKET); b < Math.floor(to / BUCKET); b++) {
      if (b < this.capacityMax.length) continue;
      const cap = published.capacity.slice(b * BUCKET, (b + 1) * BUCKET);
      this.capacityMax.push(Math.max(...cap));
      this.capacityMean.push(cap.reduce((a, x) => a + x, 0) / cap.length);
      this.connectionsMax.push(Math.max(...published.connections.slice(b * BUCKET, (b + 1) * BUCKET)));
    }
  }
}

function autopilot(o: ServerlessBacktestOptions, initial: ServerlessBounds): PolicyDriver {
  let current = { ...initial };
  const start = Date.parse(o.startTime);
  const buckets = new Buckets();
  let seen = 0;
  let learned: LearnedSpikes | undefined;
  // db-autopilot's applied changes (the tuner reads them back from its decision record).
  const changes: MinimumChange[] = [];
  return {
    bounds: () => current,
    decide: (t, published) => {
      const visible = published.capacity.length;
      buckets.add(published, seen, visible);
      seen = visible;
      if (visible < 10) return;
      const now = new Date(start + t * 60_000);
      const recentFrom = Math.max(0, visible - 60);
      const historyDays = historyDaysRead(o.settings);
      const days = historyDays * (1440 / BUCKET);
      const publishedEnd = new Date(start + visible * 60_000).toISOString();
      // As the tuner: the history's days of 60-s connections, read and learned from at most hourly.
      if (relearnDue(learned, now))
        learned = learnSpikes(
          { values: published.connections.slice(-historyDays * 1440), end: publishedEnd },
          now,
        );
      const historyEnd = new Date(start + buckets.capacityMax.length * BUCKET * 60_000).toISOString();
      const count = Math.min(days, buckets.capacityMax.length);
      const windowStart = Date.parse(historyEnd) - count * BUCKET * 60_000;
      const obs: ServerlessObservation = {
        clusterId: 'backtest-cluster',
        engine: 'aurora-postgresql',
        engineVersion: '16.4',
        observedAt: new Date(start + t * 60_000).toISOString(),
        current: { min: current.min, max: current.max, secondsUntilAutoPause: current.secondsUntilAutoPause },
        followingReaders: 0,
        recent: {
          capacity: published.capacity.slice(recentFrom),
          acuUtilization: published.acuUtilization.slice(recentFrom),
          connections: published.connections.slice(recentFrom),
          end: publishedEnd,
        },
        ...(learned ? { spikes: learned.spikes } : {}),
        history: {
          periodMinutes: BUCKET,
          capacityMax: buckets.capacityMax.slice(-days),
          capacityMean: buckets.capacityMean.slice(-days),
          connectionsMax: buckets.connectionsMax.slice(-days),
          end: historyEnd,
          minInEffect: minimumInEffect(
            changes.filter((c) => Date.parse(c.at) >= windowStart),
            { end: historyEnd, periodMinutes: BUCKET, count },
          ),
        },
      };
      const plan = planServerlessBounds(obs, o.settings, {});
      const change = plan.actions.find((a) => a.kind === 'set-serverless-bounds');
      if (change) {
        const to = change.to as { min: number; max: number; secondsUntilAutoPause?: number };
        changes.push({ at: now.toISOString(), from: current.min, to: to.min });
        current = {
          min: to.min,
          max: to.max,
          secondsUntilAutoPause: to.secondsUntilAutoPause ?? current.secondsUntilAutoPause,
        };
      }
    },
  };
}

function simulate(
  trace: ServerlessTrace,
  driver: PolicyDriver,
  o: ServerlessBacktestOptions,
): ServerlessResult {
  const published: Published = { capacity: [], acuUtilization: [], connections: [] };
  const rows: Published = { capacity: [], acuUtilization: [], connections: [] };
  let state: CapacityState = initialState(driver.bounds(0), trace.acu[0] ?? 0, o.params);
  let last = JSON.stringify(driver.bounds(0));
  let changes = 0;
  let demand = 0;
  let unserved = 0;
  let acuMinutes = 0;
  let saturation = 0;
  for (let t = 0; t < trace.acu.length; t++) {
    if (driver.decide && t % o.everyMinutes === 0) {
      const upTo = Math.max(0, t - o.publicationDelayMinutes);
      while (published.capacity.length < upTo) {
        const i = published.capacity.length;
        published.capacity.push(rows.capacity[i] ?? 0);
        published.acuUtilization.push(rows.acuUtilization[i] ?? 0);
        published.connections.push(rows.connections[i] ?? 0);
      }
      driver.decide(t, published);
    }
    const bounds = driver.bounds(t);
    const key = JSON.stringify(bounds);
    if (key !== last) {
      changes++;
      last = key;
    }
    const d = trace.acu[t] ?? 0;
    const { next, result } = stepMinute(state, d, bounds, o.params);
    state = next;
    demand += d;
    unserved += result.unserved;
    acuMinutes += result.averageCapacity;
    if (result.saturated) saturation++;
    rows.capacity.push(result.averageCapacity);
    rows.acuUtilization.push(result.acuUtilization);
    rows.connections.push(d > 0 ? Math.max(1, Math.round(d * 8)) : 0);
  }
  const acuHours = acuMinutes / 60;
  return {
    available: true,
    unservedPct: demand > 0 ? Math.round((1e6 * unserved) / demand) / 1e4 : 0,
    saturationMinutes: saturation,
    cost: Math.round(acuHours * o.settings.acuHourUsd * 100) / 100,
    changes,
    refused: 0,
    detail: {
      demand: Math.round(demand),
      unserved: Math.round(unserved * 100) / 100,
      acuHours: Math.round(acuHours * 10) / 10,
    },
  };
}

export function runServerlessBacktest(
  trace: ServerlessTrace,
  options: Partial<ServerlessBacktestOptions> = {},
): ServerlessReport {
  const o = { ...DEFAULT_SERVERLESS_BACKTEST, ...options };
  const peak = Math.max(0.5, ...trace.acu);
  const cap = (x: number) => Math.min(256, Math.max(1, roundUpAcu(x)));
  const initial = { min: 0.5, max: cap(2 * peak), secondsUntilAutoPause: 300 };
  const drivers: Record<ServerlessPolicyName, PolicyDriver> = {
    'db-autopilot': autopilot(o, initial),
    'fixed-bounds-high': fixed(Math.min(cap(2 * peak), roundUpAcu(peak / 2)), cap(2 * peak)),
    'fixed-bounds-low': fixed(0.5, cap(2 * peak)),
    'static-exact': fixed(cap(peak), cap(peak)),
    oracle: oracle(trace, cap(peak), o.params),
  };
  const policies = Object.fromEntries(
    SERVERLESS_POLICIES.map((name) => [name, simulate(trace, drivers[name], o)]),
  ) as Record<ServerlessPolicyName, ServerlessResult>;
  return { kind: 'serverless', trace: trace.source, minutes: trace.acu.length, policies };
}

export function formatServerlessTable(r: ServerlessReport): string {
  const lines = [
    `serverless backtest: ${r.trace} (${r.minutes} minutes)`,
    'policy              unserved%  saturated-min  cost-USD  changes',
  ];
  for (const name of SERVERLESS_POLICIES) {
    const p = r.policies[name];
    lines.push(
      `${name.padEnd(20)}${p.unservedPct.toFixed(4).padStart(9)}  ${String(p.saturationMinutes).padStart(13)}  ${p.cost.toFixed(2).padStart(8)}  ${String(p.changes).padStart(7)}`,
    );
  }
  return lines.join('\n');
}
