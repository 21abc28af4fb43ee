import { classEbsLimit } from '../aws/rds-storage-limits.ts';
import { seededRandom } from '../core/random.ts';

/**
 * How simulated RDS storage serves IO and what it publishes about it (issue 17, honest world),
 * shared by the simulator (shared/sim/services/rds.ts) and the backtest's IOPS model
 * (shared/backtest/models/iops.ts) so both publish the same signals:
 *
 * - served IOPS = min(demand, what the volume delivers, what the instance class delivers now):
 *   classes with a burst balance (EBS baseline < maximum) deliver their maximum while the balance
 *   lasts (about 30 minutes a day) and their baseline after, publishing `EBSIOBalance%`
 *   (aws-facts.md: "EBSIOBalance% ... published only for smaller classes");
 * - Read/WriteLatency and DiskQueueDepth from a queueing model ({@link queueOf}) with log-normal
 *   noise on every published value: they say "saturated, roughly this much", never the exact
 *   demand (a tuner cannot invert them);
 * - storage optimization after a storage change lasts a time drawn per change
 *   ({@link drawOptimizationMinutes}): median 4 h, a tail past 24 h (AWS: can take more than a day).
 */

/** The queueing model's settings (defaults: `STORAGE_WORLD`). */
export interface StorageWorld {
  /** Latency of an unsaturated volume, seconds. */
  baseLatencySec: number;
  /** Log-normal spread of the noise on each published latency / queue-depth value. */
  latencyNoise: number;
  /** IOs the application can have in flight (its connection pools): DiskQueueDepth never exceeds it. */
  maxOutstandingIos: number;
  /** How strongly excess demand shows in latency and queue depth (1 = a closed workload). */
  signalStrength: number;
}

export const STORAGE_WORLD: StorageWorld = {
  baseLatencySec: 0.001,
  latencyNoise: 0.25,
  maxOutstandingIos: 128,
  signalStrength: 1,
};

/** Writes wait a little longer than reads on EBS (the second copy). */
export const WRITE_LATENCY_FACTOR = 1.3;

/**
 * The noiseless queueing model: latency (s) and IOs in flight for one minute with `demand`
 * wanted, `served` done and `limit` the IOPS the volume delivers. Below the limit latency rises by
 * up to half again as utilization goes from 0.7 to 1 (a knee); DiskQueueDepth = served x latency
 * (Little's law). Above it, a closed workload waits: IOs in flight grow with the excess,
 * served x latency at the limit x (1 + strength x excess / served), but never beyond
 * `maxOutstanding`; the rest waits in the application, unseen by RDS. Latency = queue / served.
 */
export function queueOf(
  demand: number,
  served: number,
  limit: number,
  baseLatencySec: number,
  maxOutstanding: number,
  strength: number,
): { latencySec: number; queueDepth: number } {
  const rho = limit > 0 ? Math.min(1, demand / limit) : 1;
  const atLoad = baseLatencySec * (1 + (0.5 * Math.max(0, rho - 0.7)) / 0.3);
  if (served <= 0) return { latencySec: atLoad, queueDepth: 0 };
  const excess = Math.max(0, demand - served) / served;
  const inFlight = Math.min(maxOutstanding, served * atLoad * (1 + strength * excess));
  const queueDepth = Math.max(served * atLoad, inFlight);
  return { latencySec: queueDepth / served, queueDepth };
}

/** A standard normal draw (Box-Muller). */
export function normalDraw(rnd: () => number): number {
  const u = Math.max(1e-12, rnd());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

export interface OptimizationTime {
  medianMinutes: number;
  /** Log-normal sigma: 0.95 puts 1 change in 10 past 13 h and about 3 in 100 past 24 h. */
  spread: number;
  minMinutes: number;
  maxMinutes: number;
}

export const OPTIMIZATION_TIME: OptimizationTime = {
  medianMinutes: 240,
  spread: 0.95,
  minMinutes: 30,
  maxMinutes: 72 * 60,
};

/** The optimization time of the `changeIndex`-th storage change under `seed` (same draw for the same inputs). */
export function drawOptimizationMinutes(t: OptimizationTime, seed: number, changeIndex: number): number {
  const z = normalDraw(seededRandom(seed * 1_000_003 + changeIndex * 7919 + 13));
  const minutes = t.medianMinutes * Math.exp(t.spread * z);
  return Math.round(Math.min(t.maxMinutes, Math.max(t.minMinutes, minutes)));
}

/** Burst minutes a day of a class with a separate EBS baseline (EC2 EBS-optimized instances). */
const BURST_MINUTES_PER_DAY = 30;

/** The instance class's EBS burst balance, minute by minute. */
export class ClassBurst {
  private credits: number;
  private readonly cap: number;
  constructor(
    private readonly baseline: number,
    private readonly max: number,
  ) {
    this.cap = Math.max(0, (max - baseline) * 60 * BURST_MINUTES_PER_DAY);
    this.credits = this.cap;
  }

  /** A class whose EBS limits are known, or undefined. */
  static of(instanceClass: string | undefined): ClassBurst | undefined {
    const l = instanceClass ? classEbsLimit(instanceClass) : undefined;
    return l ? new ClassBurst(l.baselineIops, l.maxIops) : undefined;
  }

  /** The IOPS the class lets through this minute for `wanted` IOPS, and its balance after (undefined: no balance). */
  serve(wanted: number): { ceiling: number; balancePct?: number } {
    const ceiling = this.credits > 0 ? this.max : this.baseline;
    const used = Math.min(wanted, ceiling);
    this.credits = Math.min(this.cap, Math.max(0, this.credits - (used - this.baseline) * 60));
    return { ceiling, balancePct: this.cap > 0 ? (100 * this.credits) / this.cap : undefined };
  }
}

/** What the volume publishes for one minute (before the class and the workload's other metrics). */
export interface PublishedIo {
  served: number;
  readLatency: number;
  writeLatency: number;
  diskQueueDepth: number;
}

/** Served IOPS and the noisy latency / queue depth for a minute; `rnd` is the minute's noise source. */
export function publishIo(
  demand: number,
  limit: number,
  world: StorageWorld,
  rnd: () => number,
): PublishedIo {
  const served = Math.min(demand, limit);
  const q = queueOf(
    demand,
    served,
    limit,
    world.baseLatencySec,
    world.maxOutstandingIos,
    world.signalStrength,
  );
  const readLatency = q.latencySec * jitter(world.latencyNoise, rnd);
  return {
    served,
    readLatency,
    writeLatency: readLatency * WRITE_LATENCY_FACTOR * jitter(world.latencyNoise, rnd),
    diskQueueDepth: q.queueDepth * jitter(world.latencyNoise, rnd),
  };
}

/**
 * A log-normal noise factor (one draw of `rnd`'s sequence). A function of the module, not a
 * closure per minute: the fleet bench computes hundreds of thousands of minutes.
 */
function jitter(noise: number, rnd: () => number): number {
  return Math.exp(noise * normalDraw(rnd));
}
