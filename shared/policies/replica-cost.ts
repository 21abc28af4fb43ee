/**
 * Prices, limits and names of read replicas.
 *
 * aws-facts.md (read replicas, learned from review): a plain RDS read replica has its own copy of
 * the source's storage (same type, size, IOPS), billed like the source's; Aurora readers share
 * the cluster volume (billed per cluster, not per reader).
 */
import { HOURS_PER_MONTH, type PriceTable } from '../pricing.ts';
import type { SourceFamily, SourceStorage } from './replica-types.ts';

/** aws-facts.md (read replicas): up to 15 read replicas per source; Aurora: up to 15 replicas. */
export const MAX_REPLICAS_PER_SOURCE = 15;
/** aws-facts.md: default account quota of 40 DB instances. */
export const DEFAULT_ACCOUNT_INSTANCE_QUOTA = 40;
/** Name prefix of every replica db-autopilot creates: IAM policies are scoped on `db:dbap-*`. */
export const REPLICA_NAME_PREFIX = 'dbap-';

/**
 * vCPUs of an instance class from its size (EC2 naming of the current generations: micro to
 * large 2, xlarge 4, Nxlarge 4N); undefined for sizes it cannot tell.
 */
export function vcpusOf(instanceClass: string): number | undefined {
  const size = instanceClass.split('.')[2] ?? '';
  if (size === 'micro' || size === 'small' || size === 'medium' || size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const n = /^(\d+)xlarge$/.exec(size);
  return n ? 4 * Number(n[1]) : undefined;
}

export function instancePriceKey(family: SourceFamily, instanceClass: string): string {
  return `${family === 'aurora' ? 'aurora' : 'rds'}.instance.${instanceClass}.hour`;
}

const cents = (n: number) => Math.round(n * 100) / 100;

/**
 * Monthly cost of a plain RDS replica's copy of the source's storage: size x the type's GiB-month
 * price, plus provisioned IOPS (io1/io2: all of them; gp3: those above the included baseline of
 * 3,000, or 12,000 at 400 GiB and more) and gp3 throughput above its baseline. Unknown prices: 0.
 */
export function storageMonthlyCost(prices: PriceTable, storage: SourceStorage): number {
  const type = storage.type;
  const gb = prices[`rds.${type}.gbMonth`] ?? 0;
  let total = gb * storage.allocatedGiB;
  const iopsPrice = prices[`rds.${type}.iopsMonth`] ?? 0;
  if (storage.iops !== undefined) {
    if (type === 'gp3') {
      const included = storage.allocatedGiB >= 400 ? 12_000 : 3_000;
      total += iopsPrice * Math.max(0, storage.iops - included);
      const mibps = prices['rds.gp3.mibpsMonth'] ?? 0;
      const baseline = storage.allocatedGiB >= 400 ? 500 : 125;
      total += mibps * Math.max(0, (storage.throughputMiBps ?? baseline) - baseline);
    } else {
      total += iopsPrice * storage.iops;
    }
  }
  return cents(total);
}

/**
 * Monthly cost of one reader of this class: the instance, and for plain RDS its storage copy.
 * null when the price table has no entry for the class.
 */
export function readerMonthlyCost(
  prices: PriceTable,
  family: SourceFamily,
  instanceClass: string,
  storage?: SourceStorage,
): number | null {
  const hourly = prices[instancePriceKey(family, instanceClass)];
  if (hourly === undefined) return null;
  const storageCost = family === 'rds' && storage ? storageMonthlyCost(prices, storage) : 0;
  return cents(hourly * HOURS_PER_MONTH + storageCost);
}

/**
 * The identifier of a new replica: `dbap-<source>-<yyyymmddhhmm><n>`, at most 63 characters,
 * letters, digits and single hyphens (RDS DBInstanceIdentifier rules, CreateDBInstance API
 * reference). Deterministic, so a redelivered run asks for the same name and RDS refuses a twin.
 */
export function replicaName(sourceId: string, now: Date, index: number): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 12);
  const suffix = `-${stamp}${index}`;
  const room = 63 - REPLICA_NAME_PREFIX.length - suffix.length;
  const base = sourceId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  return `${REPLICA_NAME_PREFIX}${base || 'src'}${suffix}`;
}

/**
 * The minute a name `replicaName` gave was asked for (ISO), or undefined for any other name: what
 * db-autopilot knows of when its replica was created while AWS shows no InstanceCreateTime yet.
 */
export function replicaNameMinute(id: string): string | undefined {
  if (!id.startsWith(REPLICA_NAME_PREFIX)) return undefined;
  const stamp = /-(\d{12})\d+$/.exec(id)?.[1];
  if (!stamp) return undefined;
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:00.000Z`;
  const at = Date.parse(iso);
  return Number.isFinite(at) && new Date(at).toISOString() === iso ? iso : undefined;
}
