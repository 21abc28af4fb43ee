import { seededRandom } from '../../core/random.ts';
import {
  ClassBurst,
  drawOptimizationMinutes,
  publishIo,
  queueOf,
  type StorageWorld,
} from '../../sim/rds-storage-model.ts';
import type { BacktestOptions, Prices } from '../options.ts';
import type { ChangeResult, IopsObservation, IopsRequest, IopsState } from '../types.ts';

/**
 * Minute-level model of one RDS instance's Provisioned IOPS (io1/io2), the same for every
 * policy. Rules (aws-facts.md, "RDS storage and Provisioned IOPS"; RDS User Guide,
 * USER_PIOPS.StorageTypes and "Working with storage"):
 * - a ModifyDBInstance puts the instance in `modifying` for `modifyMinutes`; the new IOPS are
 *   in effect after that, then `storage-optimization` runs for a time drawn per change (see
 *   {@link optimizationMinutesFor}: by default a log-normal with a median of 4 h and a tail past
 *   24 h, as AWS documents "can take over 24 h"; a fixed `optimizationMinutes` replaces it);
 * - no further storage change while modifying or optimizing, and none within 6 h of the
 *   last ("6 hours or until storage-optimization ends, whichever is longer"), and at most 4
 *   in any 24 h (the current rule): both are enforced;
 * - served IOPS = min(demand, provisioned, what the instance class delivers now); a minute with
 *   demand above that is saturated (scored, never shown to a policy);
 * - cost per provisioned IOPS-month (shared/pricing.ts), prorated per minute.
 *
 * What a policy sees of a minute ({@link IopsObservation}) is only what AWS publishes:
 * ReadIOPS / WriteIOPS (served), Read/WriteLatency and DiskQueueDepth from the queueing model
 * below, EBSIOBalance% for classes that have a burst balance, FreeStorageSpace. Demand and the
 * unserved part are hidden truth, counted in `totals` to score.
 *
 * The queueing model (`queueOf`): below the limit, latency rises from `baseLatencyMs` by up to
 * half again as utilization nears 1 (a knee), and DiskQueueDepth = served x latency (Little's
 * law). Above it, a closed workload waits: the IOs in flight grow with the excess,
 * `served x latency at the limit x (1 + signalStrength x excess / served)`, but never beyond
 * `maxOutstandingIos` (the sessions the application's pools open: DiskQueueDepth cannot exceed
 * them, and the rest of the excess waits in the application where RDS does not see it); latency
 * = queue / served. Each published value then gets its own log-normal noise
 * (`latencyNoise`): the signals say "saturated, roughly by this much", never the exact demand.
 * `signalStrength` (shared/backtest/options.ts, default 1) is THE signal this kind scales: how
 * strongly demand above the IOPS shows in Read/WriteLatency and DiskQueueDepth (x0.3: a workload that sheds or retries elsewhere; x3: an
 * open workload whose queue builds fast).
 */
export interface IopsTotals {
  demand: number;
  unserved: number;
  saturationMinutes: number;
  cost: number;
  changes: number;
  refused: number;
}

/** Minutes of a storage-optimization: fixed when `optimizationMinutes` is set, else drawn per change. */
export function optimizationMinutesFor(options: BacktestOptions, changeIndex: number): number {
  const o = options.iops;
  if (o.optimizationMinutes !== undefined) return o.optimizationMinutes;
  // The k-th change of every policy draws the same duration (fairness), from the seed.
  return drawOptimizationMinutes(
    {
      medianMinutes: o.optimizationMedianMinutes,
      spread: o.optimizationSpread,
      minMinutes: o.optimizationMinMinutes,
      maxMinutes: o.optimizationMaxMinutes,
    },
    o.seed,
    changeIndex,
  );
}

export class IopsModel {
  private iops: number;
  private pending: IopsState['pending'];
  private modifyingUntil = 0;
  private optimizingFrom = 0;
  private optimizingUntil = 0;
  private lockedUntil = 0;
  private changeMinutes: number[] = [];
  private optimizations: Array<{ start: number; end: number }> = [];
  private t = 0;
  private readonly noise: () => number;
  private readonly burst: ClassBurst | undefined;
  private readonly world: StorageWorld;
  readonly totals: IopsTotals = {
    demand: 0,
    unserved: 0,
    saturationMinutes: 0,
    cost: 0,
    changes: 0,
    refused: 0,
  };

  constructor(
    private readonly options: BacktestOptions,
    private readonly prices: Prices,
    initialIops: number,
  ) {
    this.iops = initialIops;
    const o = options.iops;
    this.noise = seededRandom(o.seed * 2_654_435 + 101);
    this.burst = ClassBurst.of(o.instanceClass);
    this.world = {
      baseLatencySec: o.baseLatencyMs / 1000,
      latencyNoise: o.latencyNoise,
      maxOutstandingIos: o.maxOutstandingIos,
      signalStrength: options.signalStrength,
    };
  }

  begin(t: number): void {
    this.t = t;
    if (this.pending && this.pending.at <= t) {
      this.iops = this.pending.iops;
      this.pending = undefined;
    }
  }

  private status(t: number): IopsState['status'] {
    if (t < this.modifyingUntil) return 'modifying';
    if (t < this.optimizingUntil) return 'storage-optimization';
    return 'available';
  }

  /** What DescribeDBInstances and DescribeEvents show now (never when optimization will end). */
  state(): IopsState {
    const t = this.t;
    const optimizing = this.status(t) === 'storage-optimization';
    const span = this.optimizingUntil - this.optimizingFrom;
    return {
      iops: this.iops,
      status: this.status(t),
      pending: this.pending ? { ...this.pending } : undefined,
      lockedUntil: this.lockedUntil,
      changeMinutes: [...this.changeMinutes],
      // StorageOperationPercentProgress, whole percent as RDS shows it.
      percentProgress:
        optimizing && span > 0 ? Math.floor((100 * (t - this.optimizingFrom)) / span) : undefined,
      optimizingSince: optimizing ? this.optimizingFrom : undefined,
      // "Storage optimization completed" events: only those already in the past.
      completedOptimizations: this.optimizations.filter((o) => o.end <= t).map((o) => ({ ...o })),
      allocatedGiB: this.options.iops.allocatedGiB,
      instanceClass: this.options.iops.instanceClass,
    };
  }

  request(req: IopsRequest): ChangeResult {
    const result = this.tryRequest(req);
    if (result.status !== 'applied') this.totals.refused++;
    return result;
  }

  private tryRequest(req: IopsRequest): ChangeResult {
    const t = this.t;
    const o = this.options.iops;
    if (!Number.isInteger(req.iops) || req.iops < o.minIops || req.iops > o.maxIops) {
      return {
        status: 'skipped',
        reason: `InvalidParameterValue: IOPS ${req.iops} outside ${o.minIops}..${o.maxIops}`,
      };
    }
    const target = this.pending?.iops ?? this.iops;
    if (req.iops === target) {
      return { status: 'skipped', reason: 'InvalidParameterCombination: No modifications were requested' };
    }
    if (t < this.lockedUntil) {
      return {
        status: 'deferred',
        until: this.lockedUntil,
        reason:
          this.status(t) === 'available'
            ? 'storage wait: 6 h since the last storage change'
            : `InvalidDBInstanceState / previous storage change is being optimized (${this.status(t)})`,
      };
    }
    const recent = this.changeMinutes.filter((m) => t - m < 24 * 60);
    if (recent.length >= o.maxChangesPer24h) {
      return {
        status: 'deferred',
        until: Math.min(...recent) + 24 * 60,
        reason: `storage wait: at most ${o.maxChangesPer24h} storage changes in 24 h`,
      };
    }
    this.changeMinutes = [...recent, t];
    this.modifyingUntil = t + o.modifyMinutes;
    this.optimizingFrom = this.modifyingUntil;
    this.optimizingUntil = this.modifyingUntil + optimizationMinutesFor(this.options, this.totals.changes);
    this.optimizations.push({ start: this.optimizingFrom, end: this.optimizingUntil });
    // The lock lasts until optimization ends (unknown to the policy) or 6 h, whichever is longer.
    this.lockedUntil = Math.max(this.optimizingUntil, t + o.minMinutesBetweenChanges);
    this.pending = { at: t + o.modifyMinutes, iops: req.iops };
    this.totals.changes++;
    if (o.modifyMinutes === 0) this.begin(t);
    return { status: 'applied', effectiveAt: t + o.modifyMinutes };
  }

  serve(demand: number): IopsObservation {
    const t = this.t;
    const o = this.options.iops;
    const cls = this.burst?.serve(Math.min(demand, this.iops));
    const limit = Math.max(1, Math.min(this.iops, cls?.ceiling ?? Number.POSITIVE_INFINITY));
    const io = publishIo(demand, limit, this.world, this.noise);
    const queued = demand - io.served;
    this.totals.demand += demand;
    this.totals.unserved += queued;
    if (queued > 1e-9) this.totals.saturationMinutes++;
    this.totals.cost += this.iops * this.prices.iopsMinute;
    return Object.freeze({
      minute: t,
      at: new Date(Date.parse(this.options.startTime) + t * 60_000).toISOString(),
      provisionedIops: this.iops,
      readIops: io.served * o.readFraction,
      writeIops: io.served * (1 - o.readFraction),
      readLatency: io.readLatency,
      writeLatency: io.writeLatency,
      diskQueueDepth: io.diskQueueDepth,
      freeStorageSpace: o.allocatedGiB * o.freeStorageFraction * 1024 ** 3,
      ebsIoBalance: cls?.balancePct,
      status: this.status(t),
    });
  }

  capacity(): number {
    return this.iops;
  }
}

export { queueOf };
