import type { BacktestOptions, Prices } from '../options.ts';
import type { ChangeResult, ReplicasObservation, ReplicasRequest, ReplicasState } from '../types.ts';

/**
 * Minute-level model of a cluster's readers (Aurora, or RDS replicas behind routing), the
 * same for every policy. Rules (aws-facts.md, "Read replicas"):
 * - at most 15 readers per cluster / source;
 * - a new reader is billed from its creation and serves after `readerCreateMinutes`;
 * - removing readers: those still being created go first (latest first), then available ones;
 * - load spreads evenly over available readers (Aurora's reader endpoint);
 * - saturated minute: average reader CPU above `saturationCpuPercent`; unserved demand:
 *   CPU demand above readers x 100 %;
 * - cost per reader-hour (shared/pricing.ts).
 */
export const MAX_READERS = 15;

export interface ReplicasTotals {
  demand: number;
  unserved: number;
  saturationMinutes: number;
  cost: number;
  readerMinutes: number;
  changes: number;
  refused: number;
}

export class ReplicasModel {
  private readers: number;
  private pendingReadyAt: number[] = [];
  private t = 0;
  readonly totals: ReplicasTotals = {
    demand: 0,
    unserved: 0,
    saturationMinutes: 0,
    cost: 0,
    readerMinutes: 0,
    changes: 0,
    refused: 0,
  };

  constructor(
    private readonly options: BacktestOptions,
    private readonly prices: Prices,
    initialReaders: number,
  ) {
    this.readers = initialReaders;
  }

  begin(t: number): void {
    this.t = t;
    const ready = this.pendingReadyAt.filter((m) => m <= t).length;
    this.readers += ready;
    this.pendingReadyAt = this.pendingReadyAt.filter((m) => m > t);
  }

  state(): ReplicasState {
    return { readers: this.readers, pendingReadyAt: [...this.pendingReadyAt] };
  }

  request(req: ReplicasRequest): ChangeResult {
    const result = this.tryRequest(req);
    if (result.status !== 'applied') this.totals.refused++;
    return result;
  }

  private tryRequest(req: ReplicasRequest): ChangeResult {
    const t = this.t;
    const max = Math.min(MAX_READERS, this.options.replicas.maxReaders);
    if (!Number.isInteger(req.readers) || req.readers < 0 || req.readers > max) {
      return { status: 'skipped', reason: `reader count ${req.readers} outside 0..${max}` };
    }
    const total = this.readers + this.pendingReadyAt.length;
    if (req.readers === total) return { status: 'skipped', reason: 'no change requested' };
    const delay = this.options.replicas.readerCreateMinutes;
    if (req.readers > total) {
      for (let i = total; i < req.readers; i++) this.pendingReadyAt.push(t + delay);
      if (delay === 0) this.begin(t);
    } else {
      let remove = total - req.readers;
      this.pendingReadyAt.sort((a, b) => a - b);
      while (remove > 0 && this.pendingReadyAt.length > 0) {
        this.pendingReadyAt.pop();
        remove--;
      }
      this.readers -= remove;
    }
    this.totals.changes++;
    return { status: 'applied', effectiveAt: req.readers > total ? t + delay : t };
  }

  serve(demand: number): ReplicasObservation {
    const t = this.t;
    const o = this.options.replicas;
    const perReader = this.readers > 0 ? demand / this.readers : demand > 0 ? Number.POSITIVE_INFINITY : 0;
    const unserved = Math.max(0, demand - this.readers * 100);
    this.totals.demand += demand;
    this.totals.unserved += unserved;
    if (perReader > o.saturationCpuPercent) this.totals.saturationMinutes++;
    const billed = this.readers + this.pendingReadyAt.length;
    this.totals.readerMinutes += billed;
    this.totals.cost += billed * this.prices.readerMinute;
    return Object.freeze({
      minute: t,
      at: new Date(Date.parse(this.options.startTime) + t * 60_000).toISOString(),
      readers: this.readers,
      pendingReaders: this.pendingReadyAt.length,
      avgReaderCpu: Math.min(100, perReader),
      unservedCpu: unserved,
    });
  }

  capacity(): number {
    return this.readers;
  }
}
