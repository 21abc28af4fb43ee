import { optimizationMinutesFor } from '../models/iops.ts';
import { createDelayMinutes, MAX_READERS } from '../models/replicas.ts';
import type { BacktestOptions } from '../options.ts';
import type { BacktestPolicy, BaselineFactory } from '../plugins/types.ts';
import { RangeMax } from '../range-max.ts';
import type { DynamodbRequest, Kind, Trace, TraceOf } from '../types.ts';

/**
 * Greedy clairvoyants: they know the trace like the oracle, but plan nothing. They raise exactly
 * when the need would exceed what is provisioned by the time a change takes effect, and lower
 * whenever AWS's rules allow, to what a change made now must cover until the next change could
 * take effect. The oracle must never cost more than this at the same service: the harness runs
 * both and reports the cheaper as `oracle` (engine.ts, `bestOracle`), and the oracle's
 * `detail.greedy` says which one it was (1 = the greedy clairvoyant).
 */

const EPS = 1e-9;

function needs(values: readonly number[], min: number, max: number, divisor = 1): number[] {
  return values.map((v) => Math.min(max, Math.max(min, Math.ceil(v / divisor - EPS))));
}

/**
 * DynamoDB: with an UpdateTable delay d a change made at t is in place over [t+d, t+2d] at least
 * (the next one, made at t+d at the earliest, lands at t+2d). Raise every dimension whose peak
 * need over that window is above its capacity; otherwise lower every dimension above it,
 * whenever the decrease budget allows (4 per UTC day, then one an hour).
 */
export const greedyDynamodb: BaselineFactory<'dynamodb'> = (trace, options) => {
  const o = options.dynamodb;
  const d = o.updateDelayMinutes;
  const read = new RangeMax(needs(trace.read, o.minCapacity, o.maxCapacity), o.minCapacity);
  const write = new RangeMax(needs(trace.write, o.minCapacity, o.maxCapacity), o.minCapacity);
  return {
    name: 'greedy-clairvoyant',
    initial: () => ({ read: read.max(0, d), write: write.max(0, d) }),
    decide(ctx) {
      const t = ctx.minute;
      const s = ctx.state;
      if (s.mode !== 'provisioned' || t < s.updatingUntil) return null;
      const wantRead = read.max(t + d, t + 2 * d);
      const wantWrite = write.max(t + d, t + 2 * d);
      if (wantRead > s.read || wantWrite > s.write) {
        const up: DynamodbRequest = {};
        if (wantRead > s.read) up.read = wantRead;
        if (wantWrite > s.write) up.write = wantWrite;
        return up;
      }
      if (wantRead === s.read && wantWrite === s.write) return null;
      const budget =
        s.decreasesToday < 4 || s.lastDecreaseMinute === undefined || t - s.lastDecreaseMinute >= 60;
      return budget ? { read: wantRead, write: wantWrite } : null;
    },
  };
};

/**
 * IOPS: a change made at t is in effect from t + modify and holds until a next change could be
 * in effect, S = max(6 h, modify + optimization) later. Raise when the need at t + modify is
 * above the provisioned IOPS; lower whenever the storage rules allow; either way to the peak
 * need over [t + modify, t + modify + S].
 */
export const greedyIops: BaselineFactory<'iops'> = (trace, options) => {
  const o = options.iops;
  const m = o.modifyMinutes;
  // Clairvoyant: it knows the optimization time of its k-th change (the model's draw).
  let changes = 0;
  const span = () => Math.max(o.minMinutesBetweenChanges, m + optimizationMinutesFor(options, changes));
  const need = new RangeMax(needs(trace.iops, o.minIops, o.maxIops), o.minIops);
  return {
    name: 'greedy-clairvoyant',
    initial: () => ({ iops: need.max(0, m + span()) }),
    decide(ctx) {
      const t = ctx.minute;
      const s = ctx.state;
      if (s.status !== 'available' || t < s.lockedUntil || s.pending) return null;
      const recent = s.changeMinutes.filter((c) => t - c < 24 * 60).length;
      if (recent >= o.maxChangesPer24h) return null;
      const want = need.max(t + m, t + m + span());
      const raise = need.max(t + m, t + m) > s.iops;
      if (!(raise || want < s.iops)) return null;
      changes++;
      return { iops: want };
    },
  };
};

/**
 * Replicas: a reader asked for at t serves from t + N and is billed from t. Raise when the
 * readers needed at t + N exceed the readers there and on their way; lower whenever fewer are
 * needed over [t, t + N] (a reader removed now cannot serve again before t + N).
 */
export const greedyReplicas: BaselineFactory<'replicas'> = (trace, options) => {
  const o = options.replicas;
  // A reader serves after the model's creation delay and runs cold for coldCacheMinutes more
  // (models/replicas.ts): needed warm at t + N, it is asked for at t.
  const N = createDelayMinutes(options) + o.coldCacheMinutes;
  const max = Math.min(MAX_READERS, o.maxReaders);
  const need = new RangeMax(needs(trace.cpu, o.minReaders, max, o.saturationCpuPercent), o.minReaders);
  return {
    name: 'greedy-clairvoyant',
    initial: () => ({ readers: need.max(0, N) }),
    decide(ctx) {
      const t = ctx.minute;
      const total = ctx.state.readers + ctx.state.pendingReadyAt.length;
      const atReady = need.max(t + N, t + N);
      if (atReady > total) return { readers: atReady };
      const keep = need.max(t, t + N);
      return keep < total ? { readers: keep } : null;
    },
  };
};

/** The greedy clairvoyant of a trace's kind. */
export function greedyClairvoyant<K extends Kind>(
  trace: TraceOf<K>,
  options: BacktestOptions,
): BacktestPolicy<K> {
  const t: Trace = trace;
  let policy: BacktestPolicy<Kind>;
  switch (t.kind) {
    case 'dynamodb':
      policy = greedyDynamodb(t, options) as BacktestPolicy<Kind>;
      break;
    case 'iops':
      policy = greedyIops(t, options) as BacktestPolicy<Kind>;
      break;
    case 'replicas':
      policy = greedyReplicas(t, options) as BacktestPolicy<Kind>;
      break;
  }
  return policy as BacktestPolicy<K>;
}
