import { optimizationMinutesFor } from '../models/iops.ts';
import { createDelayMinutes, MAX_READERS } from '../models/replicas.ts';
import type { BacktestOptions } from '../options.ts';
import type { BacktestPolicy, BaselineFactory } from '../plugins/types.ts';
import { RangeMax } from '../range-max.ts';
import type { DynamodbRequest } from '../types.ts';

/**
 * Oracles: they know the whole trace in advance (the only policies allowed to) and provision
 * the least capacity that serves it, within the SAME change rules and delays as everyone
 * (they go through the same model, so a plan that broke a rule would be refused). They do not
 * count on DynamoDB burst capacity (best effort), so their cost is a slight over-estimate of
 * the true optimum.
 */

const EPS = 1e-9;

function needs(values: readonly number[], min: number, max: number, divisor = 1): number[] {
  return values.map((v) => Math.min(max, Math.max(min, Math.ceil(v / divisor - EPS))));
}

/** Horizon a DynamoDB decrease must cover: after 4 decreases a day the next needs an hour's gap. */
export const DYNAMODB_DECREASE_HORIZON_MINUTES = 60;
/** Spend a decrease only when it cuts a dimension by at least this fraction. */
export const DYNAMODB_DECREASE_MIN_CUT = 0.15;

/**
 * DynamoDB oracle. With an UpdateTable delay d (the table UPDATING meanwhile):
 * - an increase made at t is in place at t+d and must cover [t+d, t+2d] (the next change made
 *   at t+d is in place at t+2d at the earliest): raise to the peak need of that window;
 * - decreases are budgeted (4 per UTC day, then 1 per hour): lower to the peak need of the next
 *   hour after the delay (so the level holds until the next decrease could be spent), and only
 *   when that cuts capacity by 15 % or more, so the budget goes to the big drops (lookahead).
 * The table is provisioned from the start with the peak need of minutes [0, d].
 */
export const oracleDynamodb: BaselineFactory<'dynamodb'> = (trace, options) => {
  const o = options.dynamodb;
  const d = o.updateDelayMinutes;
  const read = new RangeMax(needs(trace.read, o.minCapacity, o.maxCapacity), o.minCapacity);
  const write = new RangeMax(needs(trace.write, o.minCapacity, o.maxCapacity), o.minCapacity);
  return {
    name: 'oracle',
    initial: () => ({ read: read.max(0, d), write: write.max(0, d) }),
    decide(ctx) {
      const t = ctx.minute;
      const s = ctx.state;
      if (s.mode !== 'provisioned' || t < s.updatingUntil) return null;
      const upRead = read.max(t + d, t + 2 * d);
      const upWrite = write.max(t + d, t + 2 * d);
      if (upRead > s.read || upWrite > s.write) {
        const req: DynamodbRequest = {};
        if (upRead > s.read) req.read = upRead;
        if (upWrite > s.write) req.write = upWrite;
        return req;
      }
      const budgetOk =
        s.decreasesToday < 4 || s.lastDecreaseMinute === undefined || t - s.lastDecreaseMinute >= 60;
      if (!budgetOk) return null;
      const horizon = Math.max(2 * d, d + DYNAMODB_DECREASE_HORIZON_MINUTES);
      const lowRead = Math.max(upRead, read.max(t + d, t + horizon));
      const lowWrite = Math.max(upWrite, write.max(t + d, t + horizon));
      const cut = (low: number, cur: number): boolean =>
        low < cur && (cur - low) / cur >= DYNAMODB_DECREASE_MIN_CUT;
      if (!cut(lowRead, s.read) && !cut(lowWrite, s.write)) return null;
      const req: DynamodbRequest = {};
      if (lowRead < s.read) req.read = lowRead;
      if (lowWrite < s.write) req.write = lowWrite;
      return req;
    },
  };
};

/**
 * IOPS oracle: piecewise-constant segments at each segment's peak need. A change made at b is
 * in effect at b + modifyMinutes; consecutive changes are at least S = max(6 h, modify +
 * optimization) apart (which also keeps them at <= 4 per 24 h). Change times are chosen on a
 * 60-minute grid by dynamic programming to minimise the IOPS-minutes paid.
 */
export const ORACLE_IOPS_GRID_MINUTES = 60;

export function planIopsOracle(
  demand: readonly number[],
  options: BacktestOptions,
): {
  initial: number;
  changes: Array<{ minute: number; iops: number }>;
} {
  const o = options.iops;
  const n = demand.length;
  const need = needs(demand, o.minIops, o.maxIops);
  const rm = new RangeMax(need, o.minIops);
  const m = o.modifyMinutes;
  const G = ORACLE_IOPS_GRID_MINUTES;
  // It knows the optimization time of every change it could make (the model draws the k-th
  // change's time the same for every policy): spacing by the longest keeps every change accepted.
  let longest = 0;
  for (let k = 0; k <= Math.ceil(n / Math.max(1, o.minMinutesBetweenChanges)); k++) {
    longest = Math.max(longest, optimizationMinutesFor(options, k));
  }
  const S = Math.ceil(Math.max(o.minMinutesBetweenChanges, m + longest) / G) * G;
  const boundaries: number[] = [];
  for (let b = 0; b + m < n; b += G) boundaries.push(b);
  const P = boundaries.length;
  const level = (from: number, to: number): number => rm.max(from, to - 1);
  // f[i]: least cost of minutes [b_i + m, n) given a change at b_i; next[i]: the following change.
  const f = new Float64Array(P);
  const next = new Int32Array(P).fill(-1);
  for (let i = P - 1; i >= 0; i--) {
    const start = (boundaries[i] ?? 0) + m;
    let best = level(start, n) * (n - start);
    let bestJ = -1;
    for (let j = i + 1; j < P; j++) {
      const bj = boundaries[j] ?? 0;
      if (bj - (boundaries[i] ?? 0) < S) continue;
      const cost = level(start, bj + m) * (bj + m - start) + (f[j] ?? 0);
      if (cost < best) {
        best = cost;
        bestJ = j;
      }
    }
    f[i] = best;
    next[i] = bestJ;
  }
  // The initial level covers [0, b_first + m); the first change can be made at any boundary.
  let best = level(0, n) * n;
  let first = -1;
  for (let j = 0; j < P; j++) {
    const bj = boundaries[j] ?? 0;
    const cost = level(0, bj + m) * (bj + m) + (f[j] ?? 0);
    if (cost < best) {
      best = cost;
      first = j;
    }
  }
  const initial = first === -1 ? level(0, n) : level(0, (boundaries[first] ?? 0) + m);
  const changes: Array<{ minute: number; iops: number }> = [];
  for (let i = first; i !== -1; i = next[i] ?? -1) {
    const b = boundaries[i] ?? 0;
    const j = next[i] ?? -1;
    const end = j === -1 ? n : (boundaries[j] ?? 0) + m;
    changes.push({ minute: b, iops: level(b + m, end) });
  }
  return { initial, changes };
}

export const oracleIops: BaselineFactory<'iops'> = (trace, options) => {
  const plan = planIopsOracle(trace.iops, options);
  const byMinute = new Map(plan.changes.map((c) => [c.minute, c.iops]));
  return {
    name: 'oracle',
    initial: () => ({ iops: plan.initial }),
    decide(ctx) {
      const iops = byMinute.get(ctx.minute);
      if (iops === undefined) return null;
      const current = ctx.state.pending?.iops ?? ctx.state.iops;
      return iops === current ? null : { iops };
    },
  };
};

/**
 * Replicas oracle: readers needed at s, r(s) = ceil(demand / saturation threshold) (at least
 * the minimum). A reader asked for at t serves warm from t + N (creation delay + cold cache),
 * and is billed from t; so at t it
 * keeps max r over [t, t+N] readers (a reader needed again within N minutes is kept, since
 * deleting and re-creating it would cost as much and serve later).
 */
export const oracleReplicas: BaselineFactory<'replicas'> = (trace, options) => {
  const o = options.replicas;
  // A new reader serves after the creation delay and runs cold for coldCacheMinutes more: the
  // oracle asks early enough for it to be warm when needed.
  const N = createDelayMinutes(options) + o.coldCacheMinutes;
  const max = Math.min(MAX_READERS, o.maxReaders);
  const r = new RangeMax(needs(trace.cpu, o.minReaders, max, o.saturationCpuPercent), o.minReaders);
  const policy: BacktestPolicy<'replicas'> = {
    name: 'oracle',
    initial: () => ({ readers: r.max(0, N) }),
    decide(ctx) {
      const t = ctx.minute;
      const want = r.max(t, t + N);
      const total = ctx.state.readers + ctx.state.pendingReadyAt.length;
      return want === total ? null : { readers: want };
    },
  };
  return policy;
};
