/**
 * Step 4 of the IOPS decision: the IOPS values a change may go to. AWS's valid range for the
 * engine, storage type and size (shared/aws/rds-storage-limits.ts: SQL Server's io1 ratio is
 * 1-50, Oracle stripes at 200 GiB), narrowed to what DescribeValidDBInstanceModifications says
 * for this very instance (the account's own answer wins over any table: a plan outside it is
 * capped at its edge, not skipped); the instance class's sustained EBS baseline (its burst
 * maximum only while EBSIOBalance% has balance to spare); the config's min/max and cost ceiling;
 * and, with storage autoscaling, the IOPS-to-GiB ratio at MaxAllocatedStorage. Pure.
 */
import {
  classEbsLimit,
  type IopsRange,
  minStorageForIops,
  validIopsRange,
} from '../aws/rds-storage-limits.ts';
import type { PriceTable } from '../pricing.ts';
import type { IopsPolicySettings, RdsStorageInstance } from './iops.ts';
import { maxIopsUnderCeiling } from './iops-actions.ts';

/** One storage type's entry of DescribeValidDBInstanceModifications (ValidStorageOptions). */
export interface ValidStorageOption {
  storageType: string;
  storageSize: NumberRange[];
  provisionedIops: NumberRange[];
  iopsToStorageRatio: NumberRange[];
}

export interface NumberRange {
  from?: number;
  to?: number;
}

export type IopsBounds =
  | {
      settable: true;
      lo: number;
      hi: number;
      limitedBy: string[];
      gib: number;
      growTo?: number;
      range: Extract<IopsRange, { settable: true }>;
      /** The class's IOPS cap and whether it is its sustained baseline. */
      classCap?: { iops: number; sustained: boolean };
    }
  | { settable: false; range: Extract<IopsRange, { settable: false }>; gib: number };

export interface BoundsInput {
  inst: RdsStorageInstance;
  cfg: IopsPolicySettings;
  prices: PriceTable;
  wanted: number;
  neededForPeak: number;
  saturated: boolean;
  ebsBalanceMin: number | null;
  minIopsForAutoscaling?: number;
  validStorage?: ValidStorageOption[];
}

export function iopsBounds(input: BoundsInput): IopsBounds {
  const { inst, cfg, wanted } = input;
  const { gib, growTo, range } = sizeFor(input);
  if (!range.settable) return { settable: false, range, gib };
  const limitedBy: string[] = [];
  let lo = Math.max(range.min, cfg.minIops);
  let hi = range.max;
  if (range.max < wanted) limitedBy.push(`AWS valid range (${range.note}, max ${range.max} at ${gib} GiB)`);
  const consider = (value: number, label: string) => {
    if (value < hi) hi = value;
    if (value < wanted) limitedBy.push(label);
  };
  const valid = validEdges(input.validStorage, inst.storageType, gib);
  if (valid) {
    lo = Math.max(lo, valid.lo);
    consider(valid.hi, `DescribeValidDBInstanceModifications (max ${valid.hi} IOPS at ${gib} GiB)`);
  }
  if (input.minIopsForAutoscaling !== undefined && input.minIopsForAutoscaling > lo) {
    lo = input.minIopsForAutoscaling;
  }
  consider(cfg.maxIops, `config maxIops ${cfg.maxIops}`);
  const classCap = capOfClass(inst.instanceClass, input.ebsBalanceMin, cfg);
  if (classCap) consider(classCap.iops, classCap.label);
  if (cfg.monthlyCostCeilingUsd !== undefined) {
    const ceiling = maxIopsUnderCeiling(inst, gib, cfg.monthlyCostCeilingUsd, input.prices);
    consider(ceiling, `monthly cost ceiling $${cfg.monthlyCostCeilingUsd}`);
  }
  return {
    settable: true,
    lo,
    hi,
    limitedBy,
    gib,
    growTo,
    range,
    classCap: classCap ? { iops: classCap.iops, sustained: classCap.sustained } : undefined,
  };
}

/** The storage size to plan at: the current one, or larger when growth may unlock needed IOPS. */
function sizeFor(input: BoundsInput): { gib: number; growTo?: number; range: IopsRange } {
  const { inst, cfg, wanted } = input;
  const gib = inst.allocatedGiB;
  const range = validIopsRange(inst.engine, inst.storageType, gib);
  const rangeMax = range.settable ? range.max : range.fixedIops;
  if (
    !(
      wanted > rangeMax &&
      (input.saturated || input.neededForPeak > rangeMax) &&
      cfg.allowStorageGrowthForIops
    )
  ) {
    return { gib, range };
  }
  // Growing storage only to unlock IOPS is a full data copy across 400 GiB and cannot be undone:
  // only when the config allows it (aws-facts.md, RDS storage).
  const limit = classEbsLimit(inst.instanceClass);
  const target = Math.min(wanted, cfg.maxIops, limit?.baselineIops ?? Number.POSITIVE_INFINITY);
  const size = minStorageForIops(inst.engine, inst.storageType, target, gib);
  if (size === undefined || size <= gib) return { gib, range };
  return { gib: size, growTo: size, range: validIopsRange(inst.engine, inst.storageType, size) };
}

/**
 * The class's cap: its sustained EBS baseline; its burst maximum only while EBSIOBalance% has
 * balance to spare (smaller classes burst about 30 minutes a day: IOPS bought above the baseline
 * are wasted once the balance is gone; aws-facts.md, "Learned from review").
 */
export function capOfClass(
  instanceClass: string,
  ebsBalanceMin: number | null,
  cfg: IopsPolicySettings,
): { iops: number; sustained: boolean; label: string } | undefined {
  const limit = classEbsLimit(instanceClass);
  if (!limit) return undefined;
  if (limit.baselineIops >= limit.maxIops) {
    return {
      iops: limit.maxIops,
      sustained: true,
      label: `${instanceClass} EBS maximum ${limit.maxIops} IOPS`,
    };
  }
  const spare = ebsBalanceMin !== null && ebsBalanceMin >= cfg.ebsBalanceSparePercent;
  if (spare) {
    return {
      iops: limit.maxIops,
      sustained: false,
      label: `${instanceClass} EBS burst maximum ${limit.maxIops} IOPS (EBSIOBalance% >= ${cfg.ebsBalanceSparePercent}%)`,
    };
  }
  return {
    iops: limit.baselineIops,
    sustained: true,
    label: `${instanceClass} sustains ${limit.baselineIops} IOPS (EBS baseline; ${limit.maxIops} only while its burst balance lasts)`,
  };
}

/** The IOPS DescribeValidDBInstanceModifications allows at `gib` for the storage type, if it said. */
export function validEdges(
  options: ValidStorageOption[] | undefined,
  storageType: string,
  gib: number,
): { lo: number; hi: number } | undefined {
  const opts = (options ?? []).filter((o) => o.storageType === storageType);
  if (opts.length === 0) return undefined;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const o of opts) {
    const iops = span(o.provisionedIops);
    const ratio = span(o.iopsToStorageRatio);
    const from = Math.max(iops.from, Math.ceil(ratio.from * gib));
    const to = Math.min(iops.to, Math.floor(ratio.to * gib));
    if (from > to) continue;
    lo = Math.min(lo, from);
    hi = Math.max(hi, to);
  }
  return Number.isFinite(lo) && Number.isFinite(hi) ? { lo, hi } : undefined;
}

function span(ranges: NumberRange[]): { from: number; to: number } {
  if (ranges.length === 0) return { from: 0, to: Number.POSITIVE_INFINITY };
  return {
    from: Math.min(...ranges.map((r) => r.from ?? 0)),
    to: Math.max(...ranges.map((r) => r.to ?? Number.POSITIVE_INFINITY)),
  };
}
