import { iopsSection } from '../../../shared/config/sections/iops.ts';
import type {
  IopsObservation,
  IopsPolicySettings,
  MetricSeries,
  RdsStorageInstance,
} from '../../../shared/policies/iops.ts';
import { buildStorageLedger, type StorageLedger } from '../../../shared/policies/iops-ledger.ts';
import { priceTable } from '../../../shared/pricing.ts';

export const NOW = new Date('2026-11-20T18:00:00.000Z');
export const PRICES = priceTable();

export function settings(overrides: Partial<IopsPolicySettings> = {}): IopsPolicySettings {
  const parsed = iopsSection.parse({});
  return { ...parsed, ...overrides };
}

export function series(
  values: Array<number | null>,
  end: Date = NOW,
  periodSeconds = 60,
  statistic = 'Average',
): MetricSeries {
  const start = new Date(end.getTime() - values.length * periodSeconds * 1000).toISOString();
  return { start, periodSeconds, values, statistic };
}

export function constant(value: number | null, n: number): Array<number | null> {
  return Array.from({ length: n }, () => value);
}

export function emptyLedger(status = 'available'): StorageLedger {
  return buildStorageLedger({ instance: { status }, events: [], decisions: [] });
}

export function io1(overrides: Partial<RdsStorageInstance> = {}): RdsStorageInstance {
  return {
    id: 'orders-db',
    engine: 'postgres',
    // Sustains 40,000 IOPS (no separate burst): the class never binds unless a test says so.
    instanceClass: 'db.r6i.8xlarge',
    storageType: 'io1',
    allocatedGiB: 500,
    iops: 10_000,
    ...overrides,
  };
}

export interface ObsOptions {
  instance?: RdsStorageInstance;
  /** total IOPS per minute over the recent window (split 60/40 read/write). */
  recent: Array<number | null>;
  /** peak total IOPS per hour over the history window (oldest first, ends at NOW). */
  hourly?: Array<number | null>;
  latencySec?: Array<number | null>;
  historyLatencySec?: Array<number | null>;
  burstBalance?: Array<number | null>;
  ebsIoBalance?: Array<number | null>;
  ledger?: StorageLedger;
  now?: Date;
}

export function observation(o: ObsOptions): IopsObservation {
  const now = o.now ?? NOW;
  const read = o.recent.map((v) => (v === null ? null : v * 0.6));
  const write = o.recent.map((v) => (v === null ? null : v * 0.4));
  return {
    instance: o.instance ?? io1(),
    recent: {
      readIops: series(read, now),
      writeIops: series(write, now),
      readLatency: o.latencySec ? series(o.latencySec, now) : undefined,
      writeLatency: o.latencySec ? series(o.latencySec, now) : undefined,
      burstBalance: o.burstBalance ? series(o.burstBalance, now) : undefined,
      ebsIoBalance: o.ebsIoBalance ? series(o.ebsIoBalance, now) : undefined,
    },
    history: {
      totalIops: series(o.hourly ?? constant(null, 48), now, 3600, 'Maximum'),
      latency: o.historyLatencySec ? series(o.historyLatencySec, now, 3600) : undefined,
    },
    ledger: o.ledger ?? emptyLedger(),
  };
}
