import type { BacktestOptions, Prices } from '../options.ts';
import type { ChangeResult, ReplicasObservation, ReplicasRequest, ReplicasState } from '../types.ts';

/**
 * Minute-level model of a cluster's readers (Aurora, or RDS replicas behind routing), the
 * same for every policy. Rules (aws-facts.md, "Read replicas"):
 * - at most 15 readers per cluster / source;
 * - a new reader is billed from its creation and serves after `createDelayMinutes(options)`
 *   (Aurora: `readerCreateMinutes`; plain RDS: + the copy of the source's storage + the DNS TTL);
 * - a new reader's cache is cold: its CPU per query starts `coldCacheCpuFactor` x higher and
 *   fades over `coldCacheMinutes`;
 * - removing readers: those still being created go first (latest first), then the newest;
 * - load spreads evenly over available readers (Aurora's reader endpoint, weighted records);
 * - cost per reader-minute (shared/pricing.ts; plain RDS adds its storage copy).
 *
 * What a policy sees (published, `ReplicasObservation`): the readers' average CPUUtilization
 * (capped at 100) and, where Performance Insights is on, their average DBLoadCPU (sessions
 * running or waiting on CPU), both with deterministic noise; DescribeDBInstances' counts.
 * The SIGNAL `signalStrength` scales (options.ts contract): the DBLoadCPU sessions above the
 * readers' vCPUs, i.e. how much of the work beyond capacity shows in the run queue
 * (`dbLoadGain` x signalStrength of it, at most `dbLoadMaxPerVcpu` sessions per vCPU).
 *
 * Hidden truth, to score only: demand, unserved demand (CPU work above what the readers
 * deliver), saturated minutes (true average reader CPU above `saturationCpuPercent`).
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

/** Plain RDS when the price key says so (`rds.instance.*`), else Aurora. */
export function familyOf(options: BacktestOptions): 'aurora' | 'rds' {
  return options.replicas.instancePriceKey.startsWith('rds.') ? 'rds' : 'aurora';
}

/** Minutes from a create request to the reader taking load. */
export function createDelayMinutes(options: BacktestOptions): number {
  const o = options.replicas;
  if (familyOf(options) === 'aurora') return o.readerCreateMinutes;
  return (
    o.readerCreateMinutes +
    Math.ceil(o.storageGiB * o.rdsCreateMinutesPerGiB) +
    Math.ceil(o.dnsTtlSeconds / 60)
  );
}

/** vCPUs of the readers' class (from the price key: db.<family>.<size>). */
export function readerVcpus(options: BacktestOptions): number {
  const size =
    /\.instance\.db\.[a-z0-9]+\.([a-z0-9]+)\.hour$/.exec(options.replicas.instancePriceKey)?.[1] ?? 'large';
  if (size === 'xlarge') return 4;
  const n = /^(\d+)xlarge$/.exec(size);
  return n ? 4 * Number(n[1]) : 2;
}

/** Deterministic noise in [-1, 1] for minute t and a salt (mulberry32 step). */
export function noise(t: number, salt: number): number {
  let x = (t * 0x9e3779b1 + salt * 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 15), x | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return (((x ^ (x >>> 14)) >>> 0) / 4294967296) * 2 - 1;
}

export class ReplicasModel {
  /** Minute each available reader started serving (readers present at the start: warm). */
  private readyAt: number[];
  private pendingReadyAt: number[] = [];
  private t = 0;
  private readonly vcpus: number;
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
    this.readyAt = Array.from({ length: initialReaders }, () => Number.NEGATIVE_INFINITY);
    this.vcpus = readerVcpus(options);
  }

  private get readers(): number {
    return this.readyAt.length;
  }

  begin(t: number): void {
    this.t = t;
    for (const m of this.pendingReadyAt.filter((x) => x <= t)) this.readyAt.push(m);
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
    const delay = createDelayMinutes(this.options);
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
      this.readyAt.sort((a, b) => a - b);
      this.readyAt.splice(this.readyAt.length - remove, remove);
    }
    this.totals.changes++;
    return { status: 'applied', effectiveAt: req.readers > total ? t + delay : t };
  }

  /** CPU per query of a reader serving since `since`, relative to a warm one. */
  private coldFactor(since: number): number {
    const o = this.options.replicas;
    const age = this.t - since;
    if (o.coldCacheMinutes <= 0 || age >= o.coldCacheMinutes) return 1;
    return 1 + (o.coldCacheCpuFactor - 1) * (1 - age / o.coldCacheMinutes);
  }

  serve(demand: number): ReplicasObservation {
    const t = this.t;
    const o = this.options.replicas;
    const n = this.readers;
    const share = n > 0 ? demand / n : 0;
    let cpuSum = 0;
    let sessions = 0;
    let unserved = n > 0 ? 0 : demand;
    const gain = o.dbLoadGain * this.options.signalStrength;
    for (const since of this.readyAt) {
      const f = this.coldFactor(since);
      const wanted = share * f;
      const over = Math.max(0, wanted - 100);
      cpuSum += Math.min(100, wanted);
      unserved += over / f;
      const queue = (this.vcpus * (Math.min(100, wanted) + gain * over)) / 100;
      sessions += Math.min(this.vcpus * o.dbLoadMaxPerVcpu, queue);
    }
    const trueCpu = n > 0 ? cpuSum / n : demand > 0 ? 100 : 0;
    this.totals.demand += demand;
    this.totals.unserved += unserved;
    if (trueCpu > o.saturationCpuPercent) this.totals.saturationMinutes++;
    const billed = n + this.pendingReadyAt.length;
    this.totals.readerMinutes += billed;
    this.totals.cost += billed * this.prices.readerMinute;
    const jitter = (salt: number) => 1 + o.metricNoise * noise(t, salt);
    return Object.freeze({
      minute: t,
      at: new Date(Date.parse(this.options.startTime) + t * 60_000).toISOString(),
      readers: n,
      pendingReaders: this.pendingReadyAt.length,
      avgReaderCpu: Math.max(0, Math.min(100, trueCpu * jitter(1))),
      dbLoadCpu: o.performanceInsights && n > 0 ? (sessions / n) * jitter(2) : null,
    });
  }

  capacity(): number {
    return this.readers;
  }
}
