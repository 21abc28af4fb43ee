/**
 * The last step of the IOPS decision: the actions a plan carries (a set-iops change with its cost,
 * undo and the storage-change rules the executor enforces; findings; the gp2 -> gp3
 * recommendation). Pure.
 */
import {
  GP3_LARGE_INCLUDED_IOPS,
  GP3_LARGE_INCLUDED_MIBPS,
  gp2BaselineIops,
  gp3Baseline,
  gp3ThroughputFor,
} from '../aws/rds-storage-limits.ts';
import type { Action, Evidence, ResourceRef, RuleCheck } from '../core/model.ts';
import type { PriceTable } from '../pricing.ts';
import type { IopsPolicySettings, RdsStorageInstance } from './iops.ts';
import { round2, type StorageConfig, storageMonthlyCost } from './iops-cost.ts';

/** Recorded with every undo: reverting is itself a storage change (aws-facts.md, RDS storage). */
export const UNDO_WAIT_NOTE =
  'undoing is another storage change: it waits 6 h after this one (or until optimization ends, whichever is longer) and counts toward 4 storage changes per 24 h';

export function refOf(inst: RdsStorageInstance): ResourceRef {
  return { kind: 'rds-instance', id: inst.id, arn: inst.arn };
}

export function storageOf(inst: RdsStorageInstance): StorageConfig {
  return {
    storageType: inst.storageType,
    allocatedGiB: inst.allocatedGiB,
    iops: inst.iops,
    throughputMibps: inst.throughputMibps,
    multiAz: inst.multiAz,
    engine: inst.engine,
  };
}

/** A non-mutating finding (reported, never applied). */
export function finding(
  inst: RdsStorageInstance,
  from: unknown,
  to: unknown,
  reason: string,
  evidence: Evidence[],
  params?: Record<string, unknown>,
): Action {
  return {
    tuner: 'iops',
    resource: refOf(inst),
    kind: 'finding',
    from,
    to,
    reason,
    evidence,
    monthlyCostDelta: 0,
    undo: null,
    mutating: false,
    severity: 'warning',
    ...(params ? { params } : {}),
  };
}

export interface SetIopsInput {
  inst: RdsStorageInstance;
  currentIops: number;
  target: number;
  gib: number;
  growTo?: number;
  why: string;
  evidence: Evidence[];
  rules: RuleCheck[];
  prices: PriceTable;
  saturated: boolean;
}

/** The monthly cost change of moving to `target` IOPS at `gib`. */
export function costDelta(inst: RdsStorageInstance, target: number, gib: number, prices: PriceTable): number {
  const next: StorageConfig = {
    ...storageOf(inst),
    allocatedGiB: gib,
    iops: target,
    throughputMibps: inst.storageType === 'gp3' ? gp3ThroughputFor(target, inst.throughputMibps) : undefined,
  };
  return round2(storageMonthlyCost(next, prices) - storageMonthlyCost(storageOf(inst), prices));
}

export function setIopsAction(i: SetIopsInput): Action {
  const { inst, target, gib, growTo } = i;
  const throughput = inst.storageType === 'gp3' ? gp3ThroughputFor(target, inst.throughputMibps) : undefined;
  const params: Record<string, unknown> = { AllocatedStorage: gib, Iops: target };
  if (throughput !== undefined) params.StorageThroughput = throughput;
  if (growTo !== undefined) params.growsStorage = true;
  const undoParams: Record<string, unknown> = {
    AllocatedStorage: gib,
    Iops: i.currentIops,
    waitRule: UNDO_WAIT_NOTE,
  };
  if (inst.storageType === 'gp3')
    undoParams.StorageThroughput = inst.throughputMibps ?? GP3_LARGE_INCLUDED_MIBPS;
  const grows =
    growTo !== undefined
      ? `; storage grows ${inst.allocatedGiB} -> ${gib} GiB (allowed by allowStorageGrowthForIops; cannot be undone)`
      : '';
  return {
    tuner: 'iops',
    resource: refOf(inst),
    kind: 'set-iops',
    from: i.currentIops,
    to: target,
    reason: i.why + grows,
    evidence: i.evidence,
    monthlyCostDelta: costDelta(inst, target, gib, i.prices),
    undo: {
      kind: 'set-iops',
      params: undoParams,
      ...(growTo !== undefined
        ? { impossibleBecause: 'storage never shrinks: only the IOPS can be set back' }
        : {}),
    },
    mutating: true,
    numericTarget: target,
    rules: i.rules,
    params,
    severity: target > i.currentIops && i.saturated ? 'warning' : 'info',
  };
}

export function gp3Recommendation(
  inst: RdsStorageInstance,
  cfg: IopsPolicySettings,
  prices: PriceTable,
  evidence: Evidence[],
  rules: RuleCheck[],
  demand: number,
  burstMin: number | null,
): Action {
  // The engine's gp3 row: striped (12,000 IOPS / 500 MiB/s included) from 400 GiB, Oracle 200 GiB,
  // SQL Server never (3,000 / 125 at every size, sent as nothing).
  const gp3Iops = gp3Baseline(inst.engine, inst.allocatedGiB).iops;
  const large = gp3Iops === GP3_LARGE_INCLUDED_IOPS;
  const next: StorageConfig = {
    storageType: 'gp3',
    allocatedGiB: inst.allocatedGiB,
    iops: large ? gp3Iops : undefined,
    throughputMibps: large ? GP3_LARGE_INCLUDED_MIBPS : undefined,
    multiAz: inst.multiAz,
  };
  const delta = round2(storageMonthlyCost(next, prices) - storageMonthlyCost(storageOf(inst), prices));
  const fits = demand <= cfg.targetUtilization * gp3Iops;
  const reason =
    `gp2 BurstBalance is draining (${burstMin === null ? 'unknown' : `${round2(burstMin)}%`} at its lowest in the window, falling under demand above the baseline); ` +
    `gp2 gives ${gp2BaselineIops(inst.allocatedGiB)} IOPS baseline at ${inst.allocatedGiB} GiB, gp3 gives ${gp3Iops} IOPS without bursting ` +
    `for $${delta >= 0 ? '+' : ''}${delta}/month.` +
    (fits ? '' : ` Demand ${Math.round(demand)} IOPS exceeds that too: consider io1/io2 or >= 400 GiB gp3.`) +
    ' Moving standard <-> Provisioned IOPS storage can take up to days; gp2 -> gp3 runs online but is a storage change (6 h wait).';
  const params: Record<string, unknown> = { StorageType: 'gp3', AllocatedStorage: inst.allocatedGiB };
  if (large) {
    params.Iops = gp3Iops;
    params.StorageThroughput = GP3_LARGE_INCLUDED_MIBPS;
  }
  const mutating = cfg.allowStorageTypeChange;
  return {
    tuner: 'iops',
    resource: refOf(inst),
    kind: mutating ? 'set-storage-type' : 'recommend',
    from: { storageType: 'gp2', allocatedGiB: inst.allocatedGiB, iops: gp2BaselineIops(inst.allocatedGiB) },
    to: { storageType: 'gp3', allocatedGiB: inst.allocatedGiB, iops: gp3Iops },
    reason: mutating ? reason : `${reason} (allowStorageTypeChange is off: recommendation only)`,
    evidence,
    monthlyCostDelta: delta,
    undo: mutating
      ? {
          kind: 'set-storage-type',
          params: { StorageType: 'gp2', AllocatedStorage: inst.allocatedGiB, waitRule: UNDO_WAIT_NOTE },
        }
      : null,
    mutating,
    rules: mutating ? rules : undefined,
    params,
    severity: 'warning',
  };
}

/** Highest IOPS whose monthly storage bill stays within the ceiling (at `gib`). */
export function maxIopsUnderCeiling(
  inst: RdsStorageInstance,
  gib: number,
  ceilingUsd: number,
  prices: PriceTable,
): number {
  const base: StorageConfig = { ...storageOf(inst), allocatedGiB: gib, iops: 0 };
  if (inst.storageType === 'gp3') {
    const included = gp3Baseline(inst.engine, gib).iops;
    const fixed = storageMonthlyCost({ ...base, iops: included }, prices);
    const unit = storageMonthlyCost({ ...base, iops: included + 1000 }, prices) - fixed;
    if (unit <= 0) return Number.MAX_SAFE_INTEGER;
    return included + Math.floor(((ceilingUsd - fixed) / unit) * 1000);
  }
  const fixed = storageMonthlyCost(base, prices);
  const unit = storageMonthlyCost({ ...base, iops: 1000 }, prices) - fixed;
  if (unit <= 0) return Number.MAX_SAFE_INTEGER;
  return Math.floor(((ceilingUsd - fixed) / unit) * 1000);
}
