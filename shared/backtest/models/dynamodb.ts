import type { BacktestOptions, Prices } from '../options.ts';
import type { ChangeResult, DynamodbObservation, DynamodbRequest, DynamodbState } from '../types.ts';
import { publishedCounts } from './dynamodb-workload.ts';

/**
 * Minute-level model of one DynamoDB table (read and write separately), the same for every
 * policy. Rules (aws-facts.md, "DynamoDB provisioned capacity"; DynamoDB Developer Guide,
 * "Service, account, and table quotas" and "Burst capacity"):
 * - provisioned capacity 1 .. 40,000 units per dimension;
 * - burst: up to 300 s of unused capacity is banked (best effort), so consumed can exceed
 *   provisioned for a while; demand beyond provisioned + bank is throttled (unserved);
 * - UpdateTable puts the table in UPDATING for `updateDelayMinutes`; the new values are in
 *   effect at the end; no other UpdateTable is accepted meanwhile;
 * - decreases: 4 at any time in a UTC day, then one more only when there was no decrease in
 *   the preceding hour; lowering read and write in one call counts once;
 * - an UpdateTable never mixes an increase with a decrease (dynamic-dynamodb #103): refused;
 * - on-demand: billed per request unit served; serves instantly up to double the previous
 *   peak (the peak starts at the provisioned capacity at the switch, or AWS's initial
 *   on-demand throughput, whichever is higher); traffic above that is throttled;
 * - provisioned -> on-demand at most 4 times in a rolling 24 h; back to provisioned any time;
 * - UpdateTable takes `updateDelayMinutes`, plus `splitMinutesPerDoubling` per doubling above the
 *   highest capacity the table ever had (partitions split; they never merge).
 * What it publishes per minute is only what CloudWatch shows (consumed, successful requests,
 * throttle events by cause, ThrottledRequests: models/dynamodb-workload.ts, scaled by
 * `signalStrength`); the throttled units stay hidden and only score (`totals`, `lastThrottled`).
 */
export const MAX_TABLE_CAPACITY = 40_000;
export const FREE_DECREASES_PER_DAY = 4;
export const MAX_ON_DEMAND_SWITCHES_PER_24H = 4;

interface Dimension {
  provisioned: number;
  /** Banked unused capacity, in unit-seconds. */
  bank: number;
  /** On-demand previous peak, units per second. */
  peak: number;
  /** Highest provisioned capacity so far (partitions never merge). */
  highest: number;
}

export interface DynamodbTotals {
  demandUnits: number;
  unservedUnits: number;
  readUnserved: number;
  writeUnserved: number;
  readDemand: number;
  writeDemand: number;
  saturationMinutes: number;
  provisionedCost: number;
  onDemandCost: number;
  onDemandMinutes: number;
  changes: number;
  decreases: number;
  refused: number;
}

export class DynamodbModel {
  private mode: 'provisioned' | 'on-demand' = 'provisioned';
  private readonly read: Dimension;
  private readonly write: Dimension;
  private updatingUntil = 0;
  private pending: DynamodbState['pending'];
  private decreasesToday = 0;
  private decreaseDay = 0;
  private lastDecreaseMinute: number | undefined;
  private lastIncreaseMinute: number | undefined;
  private onDemandSwitches: number[] = [];
  private t = 0;
  readonly totals: DynamodbTotals = {
    demandUnits: 0,
    unservedUnits: 0,
    readUnserved: 0,
    writeUnserved: 0,
    readDemand: 0,
    writeDemand: 0,
    saturationMinutes: 0,
    provisionedCost: 0,
    onDemandCost: 0,
    onDemandMinutes: 0,
    changes: 0,
    decreases: 0,
    refused: 0,
  };

  constructor(
    private readonly options: BacktestOptions,
    private readonly prices: Prices,
    initial: { read: number; write: number; mode?: 'provisioned' | 'on-demand' },
  ) {
    const o = options.dynamodb;
    // A table that has been running a while at its capacity starts with a full burst bank.
    this.read = {
      provisioned: initial.read,
      bank: initial.read * o.burstSeconds,
      peak: 0,
      highest: initial.read,
    };
    this.write = {
      provisioned: initial.write,
      bank: initial.write * o.burstSeconds,
      peak: 0,
      highest: initial.write,
    };
    if (initial.mode === 'on-demand') this.enterOnDemand();
  }

  private dayOf(minute: number): number {
    return Math.floor((Date.parse(this.options.startTime) + minute * 60_000) / 86_400_000);
  }

  /** Starts minute t: resets the UTC-day decrease count, puts a finished update in effect. */
  begin(t: number): void {
    this.t = t;
    const day = this.dayOf(t);
    if (day !== this.decreaseDay) {
      this.decreaseDay = day;
      this.decreasesToday = 0;
    }
    if (this.pending && this.pending.at <= t) this.applyPending();
  }

  private applyPending(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const wasOnDemand = this.mode === 'on-demand';
    this.read.provisioned = p.read;
    this.write.provisioned = p.write;
    if (p.mode === 'on-demand' && !wasOnDemand) this.enterOnDemand();
    if (p.mode === 'provisioned') {
      this.mode = 'provisioned';
      if (wasOnDemand) {
        this.read.bank = 0;
        this.write.bank = 0;
      }
    }
  }

  private enterOnDemand(): void {
    const o = this.options.dynamodb;
    this.mode = 'on-demand';
    // Half of the starting instant capacity: 2 x peak >= provisioned and >= initial throughput.
    this.read.peak = Math.max(this.read.peak, this.read.provisioned / 2, o.onDemandInitialRead / 2);
    this.write.peak = Math.max(this.write.peak, this.write.provisioned / 2, o.onDemandInitialWrite / 2);
  }

  state(): DynamodbState {
    return {
      mode: this.mode,
      read: this.read.provisioned,
      write: this.write.provisioned,
      updatingUntil: this.updatingUntil,
      pending: this.pending ? { ...this.pending } : undefined,
      decreasesToday: this.decreasesToday,
      lastDecreaseMinute: this.lastDecreaseMinute,
      lastIncreaseMinute: this.lastIncreaseMinute,
      onDemandSwitches: [...this.onDemandSwitches],
    };
  }

  /** True when the decrease budget allows a decrease at minute t (as DynamoDB counts it). */
  decreaseAllowed(t = this.t): boolean {
    const sameDay = this.dayOf(t) === this.decreaseDay;
    const today = sameDay ? this.decreasesToday : 0;
    if (today < FREE_DECREASES_PER_DAY) return true;
    return this.lastDecreaseMinute === undefined || t - this.lastDecreaseMinute >= 60;
  }

  /** One UpdateTable at the current minute. */
  request(req: DynamodbRequest): ChangeResult {
    const t = this.t;
    const result = this.tryRequest(req, t);
    if (result.status !== 'applied') this.totals.refused++;
    return result;
  }

  private tryRequest(req: DynamodbRequest, t: number): ChangeResult {
    if (t < this.updatingUntil) {
      return {
        status: 'deferred',
        until: this.updatingUntil,
        reason: 'ResourceInUseException: table is UPDATING',
      };
    }
    const mode = req.mode ?? this.mode;
    const read = req.read ?? this.read.provisioned;
    const write = req.write ?? this.write.provisioned;
    for (const [name, v] of [
      ['read', read],
      ['write', write],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > MAX_TABLE_CAPACITY) {
        return {
          status: 'skipped',
          reason: `ValidationException: ${name} capacity ${v} outside 1..${MAX_TABLE_CAPACITY}`,
        };
      }
    }
    const switching = mode !== this.mode;
    if (switching && mode === 'on-demand') {
      const recent = this.onDemandSwitches.filter((m) => t - m < 24 * 60);
      if (recent.length >= MAX_ON_DEMAND_SWITCHES_PER_24H) {
        const oldest = Math.min(...recent);
        return {
          status: 'deferred',
          until: oldest + 24 * 60,
          reason: 'LimitExceededException: at most 4 switches to on-demand in 24 h',
        };
      }
    }
    let increase = false;
    let decrease = false;
    if (mode === 'provisioned' && this.mode === 'provisioned') {
      increase = read > this.read.provisioned || write > this.write.provisioned;
      decrease = read < this.read.provisioned || write < this.write.provisioned;
      if (increase && decrease) {
        return {
          status: 'skipped',
          reason: 'an UpdateTable must not mix an increase with a decrease (dynamic-dynamodb #103)',
        };
      }
      if (!increase && !decrease)
        return { status: 'skipped', reason: 'ValidationException: no change requested' };
      if (decrease && !this.decreaseAllowed(t)) {
        return {
          status: 'deferred',
          until: (this.lastDecreaseMinute ?? t) + 60,
          reason: 'LimitExceededException: decrease budget spent (4 per UTC day, then 1 per hour)',
        };
      }
    }
    if (switching && mode === 'on-demand') this.onDemandSwitches.push(t);
    this.onDemandSwitches = this.onDemandSwitches.filter((m) => t - m < 24 * 60);
    if (decrease) {
      this.decreasesToday++;
      this.lastDecreaseMinute = t;
      this.totals.decreases++;
    }
    if (increase) this.lastIncreaseMinute = t;
    this.totals.changes++;
    const delay = this.updateDelay(mode, read, write);
    this.pending = { at: t + delay, mode, read, write };
    this.updatingUntil = t + delay;
    if (delay === 0) this.applyPending();
    return { status: 'applied', effectiveAt: t + delay };
  }

  /** Minutes an UpdateTable takes: longer when it splits partitions (a raise above the highest so far). */
  private updateDelay(mode: 'provisioned' | 'on-demand', read: number, write: number): number {
    const o = this.options.dynamodb;
    if (mode !== 'provisioned') return o.updateDelayMinutes;
    const doublings = Math.max(
      0,
      Math.log2(read / Math.max(1, this.read.highest)),
      Math.log2(write / Math.max(1, this.write.highest)),
    );
    this.read.highest = Math.max(this.read.highest, read);
    this.write.highest = Math.max(this.write.highest, write);
    return o.updateDelayMinutes + Math.ceil(doublings * o.splitMinutesPerDoubling);
  }

  private hidden = { read: 0, write: 0 };

  /** The throttled units per second of the last minute served (hidden truth, for scoring and tests only). */
  lastThrottled(): { read: number; write: number } {
    return { ...this.hidden };
  }

  /** Serves minute t's demand (units per second) and returns what CloudWatch would show. */
  serve(readDemand: number, writeDemand: number): DynamodbObservation {
    const t = this.t;
    const r = this.serveDimension(this.read, readDemand, this.prices.readRequestUnit);
    const w = this.serveDimension(this.write, writeDemand, this.prices.writeRequestUnit);
    const tot = this.totals;
    tot.readDemand += readDemand * 60;
    tot.writeDemand += writeDemand * 60;
    tot.demandUnits += (readDemand + writeDemand) * 60;
    tot.readUnserved += r.throttled * 60;
    tot.writeUnserved += w.throttled * 60;
    tot.unservedUnits += (r.throttled + w.throttled) * 60;
    if (r.throttled > 1e-9 || w.throttled > 1e-9) tot.saturationMinutes++;
    if (this.mode === 'on-demand') {
      tot.onDemandMinutes++;
    } else {
      tot.provisionedCost +=
        this.read.provisioned * this.prices.rcuMinute + this.write.provisioned * this.prices.wcuMinute;
    }
    this.hidden = { read: r.throttled, write: w.throttled };
    const at = new Date(Date.parse(this.options.startTime) + t * 60_000).toISOString();
    const mix = this.options.dynamodb.workload;
    const signal = this.options.signalStrength;
    const published = (d: Dimension, demand: number, x: { consumed: number }, unitsPerItem: number) => {
      const c = publishedCounts(demand * 60, x.consumed * 60, unitsPerItem, mix, signal);
      return {
        row: Object.freeze({
          provisioned: this.mode === 'on-demand' ? 0 : d.provisioned,
          consumed: x.consumed,
          successfulRequests: c.successfulRequests,
          // On-demand beyond double the previous peak throttles too (the table's throughput).
          provisionedThrottleEvents: c.throttleEvents,
          keyRangeThrottleEvents: 0,
          accountLimitThrottleEvents: 0,
        }),
        throttledRequests: c.throttledRequests,
      };
    };
    const pr = published(this.read, readDemand, r, mix.readUnitsPerItem);
    const pw = published(this.write, writeDemand, w, mix.writeUnitsPerItem);
    return Object.freeze({
      minute: t,
      at,
      mode: this.mode,
      read: pr.row,
      write: pw.row,
      throttledRequests: pr.throttledRequests + pw.throttledRequests,
    });
  }

  private serveDimension(
    d: Dimension,
    demand: number,
    unitPrice: number,
  ): { consumed: number; throttled: number } {
    if (this.mode === 'on-demand') {
      const capacity = 2 * d.peak;
      const consumed = Math.min(demand, capacity);
      d.peak = Math.max(d.peak, consumed);
      this.totals.onDemandCost += consumed * 60 * unitPrice;
      return { consumed, throttled: demand - consumed };
    }
    const maxBank = d.provisioned * this.options.dynamodb.burstSeconds;
    const available = d.provisioned + d.bank / 60;
    const consumed = Math.min(demand, available);
    d.bank = Math.min(maxBank, Math.max(0, d.bank + (d.provisioned - consumed) * 60));
    return { consumed, throttled: demand - consumed };
  }

  /** Capacity that could serve this minute (for charts): provisioned, or 2 x peak on-demand. */
  capacity(): { read: number; write: number } {
    if (this.mode === 'on-demand') return { read: 2 * this.read.peak, write: 2 * this.write.peak };
    return { read: this.read.provisioned, write: this.write.provisioned };
  }
}
