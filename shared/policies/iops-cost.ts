/**
 * Monthly cost of an RDS instance's storage configuration (size, IOPS, gp3 throughput), from the
 * price table (shared/pricing.ts defaults, overridden by the config's `prices`). Pure.
 * Multi-AZ storage and IOPS are billed twice (RDS pricing page).
 */

import { gp3Baseline, type RdsStorageType } from '../aws/rds-storage-limits.ts';
import { type PriceTable, price } from '../pricing.ts';

export interface StorageConfig {
  storageType: RdsStorageType;
  allocatedGiB: number;
  iops?: number;
  throughputMibps?: number;
  multiAz?: boolean;
  /** The engine (gp3's included IOPS start at 200 GiB on Oracle and never on SQL Server). */
  engine?: string;
}

/** USD per month for the storage configuration. Magnetic (`standard`) is priced like gp2 size. */
export function storageMonthlyCost(config: StorageConfig, prices: PriceTable): number {
  const az = config.multiAz ? 2 : 1;
  const gib = config.allocatedGiB;
  switch (config.storageType) {
    case 'gp2':
    case 'standard':
      return az * gib * price(prices, 'rds.gp2.gbMonth');
    case 'gp3': {
      const inc = gp3Baseline(config.engine, gib);
      const extraIops = Math.max(0, (config.iops ?? inc.iops) - inc.iops);
      const extraMibps = Math.max(0, (config.throughputMibps ?? inc.mibps) - inc.mibps);
      return (
        az *
        (gib * price(prices, 'rds.gp3.gbMonth') +
          extraIops * price(prices, 'rds.gp3.iopsMonth') +
          extraMibps * price(prices, 'rds.gp3.mibpsMonth'))
      );
    }
    case 'io1':
    case 'io2':
      return (
        az *
        (gib * price(prices, `rds.${config.storageType}.gbMonth`) +
          (config.iops ?? 0) * price(prices, `rds.${config.storageType}.iopsMonth`))
      );
  }
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
