import type { BacktestOptions, Prices } from '../options.ts';
import type { ChangeResult, IopsObservation, IopsRequest, IopsState } from '../types.ts';

/**
 * Minute-level model of one RDS instance's Provisioned IOPS (io1/io2), the same for every
 * policy. Rules (aws-facts.md, "RDS storage and Provisioned IOPS"; RDS User Guide,
 * USER_PIOPS.StorageTypes and "Working with storage"):
 * - a ModifyDBInstance puts the instance in `modifying` for `modifyMinutes`; the new IOPS are
 *   in effect after that, then `storage-optimization` runs for `optimizationMinutes`;
 * - no further storage change while modifying or optimizing, and none within 6 h of the
 *   last ("6 hours or until storage-optimization ends, whichever is longer"), and at most 4
 *   in any 24 h (the current rule): both are enforced;
 * - served IOPS = min(demand, provisioned); a minute with demand above provisioned is saturated;
 * - cost per provisioned IOPS-month (shared/pricing.ts), prorated per minute.
 */
export interface IopsTotals {
  demand: number;
  unserved: number;
  saturationMinutes: number;
  cost: number;
  changes: number;
  refused: number;
}

export class IopsModel {
  private iops: number;
  private pending: IopsState['pending'];
  private modifyingUntil = 0;
  private optimizingUntil = 0;
  private lockedUntil = 0;
  private changeMinutes: number[] = [];
  private t = 0;
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

  state(): IopsState {
    return {
      iops: this.iops,
      status: this.status(this.t),
      pending: this.pending ? { ...this.pending } : undefined,
      lockedUntil: this.lockedUntil,
      changeMinutes: [...this.changeMinutes],
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
    this.optimizingUntil = this.modifyingUntil + o.optimizationMinutes;
    this.lockedUntil = Math.max(this.optimizingUntil, t + o.minMinutesBetweenChanges);
    this.pending = { at: t + o.modifyMinutes, iops: req.iops };
    this.totals.changes++;
    if (o.modifyMinutes === 0) this.begin(t);
    return { status: 'applied', effectiveAt: t + o.modifyMinutes };
  }

  serve(demand: number): IopsObservation {
    const t = this.t;
    const served = Math.min(demand, this.iops);
    const queued = demand - served;
    this.totals.demand += demand;
    this.totals.unserved += queued;
    if (queued > 1e-9) this.totals.saturationMinutes++;
    this.totals.cost += this.iops * this.prices.iopsMinute;
    return Object.freeze({
      minute: t,
      at: new Date(Date.parse(this.options.startTime) + t * 60_000).toISOString(),
      provisionedIops: this.iops,
      servedIops: served,
      queuedIops: queued,
      status: this.status(t),
    });
  }

  capacity(): number {
    return this.iops;
  }
}
