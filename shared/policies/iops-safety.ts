/**
 * Step 2 of the IOPS decision: storage safety first. Every IOPS change is a storage modification,
 * and storage autoscaling (or a person growing the disk) must wait after it: 6 h or until
 * optimization ends, and at most 4 storage changes in 24 h (aws-facts.md, "Learned from review").
 * So FreeStorageSpace, MaxAllocatedStorage and its headroom are read before any change:
 * - free space low: no storage change at all (a full disk stops writes, worse than slow IO);
 * - free space falling so that autoscaling may need the slot within the lock-out: no change;
 * - lowering only with room to spare: never the last change of the 24 h window (kept for a
 *   raise), never when free space is anywhere near low;
 * - io1/io2: the IOPS must stay valid (IOPS-to-GiB ratio) at every size autoscaling may grow to.
 * Pure.
 */
import { minIopsRatio, STORAGE_CHANGE_DAY_MS, STORAGE_CHANGES_PER_DAY } from '../aws/rds-storage-limits.ts';
import type { IopsObservation, IopsPolicySettings } from './iops.ts';
import { round2 } from './iops-cost.ts';
import { minOf, present, trendPerHour } from './iops-series.ts';

const GIB = 1024 ** 3;
const HOUR_MS = 3_600_000;
/** RDS storage autoscaling grows when free space is below 10% (aws-facts.md, RDS storage). */
export const AUTOSCALING_FREE_FRACTION = 0.1;
/** A lowering needs free space above this multiple of the low threshold and of the lock-out. */
const LOWERING_MARGIN = 2;

export interface StorageSafety {
  /** Why no storage change may be made now. */
  blockAll?: string;
  /** Why no lowering may be made now. */
  blockLowering?: string;
  /** io1/io2: the lowest IOPS valid at MaxAllocatedStorage (autoscaling keeps the IOPS). */
  minIopsForAutoscaling?: number;
  /** Hours until free space reaches the autoscaling threshold (or zero without autoscaling). */
  hoursToThreshold?: number;
  /** Something to report even when nothing is blocked (no autoscaling headroom). */
  note?: string;
}

export function checkStorageSafety(
  obs: IopsObservation,
  freeBytesMin: number | null,
  cfg: IopsPolicySettings,
  now: Date,
  lockoutMs: number,
): StorageSafety {
  const inst = obs.instance;
  const out: StorageSafety = {};
  const autoscaling = inst.maxAllocatedGiB !== undefined && inst.maxAllocatedGiB > inst.allocatedGiB;
  const ratio = minIopsRatio(inst.engine, inst.storageType);
  if (autoscaling && ratio > 0) {
    out.minIopsForAutoscaling = Math.ceil(ratio * (inst.maxAllocatedGiB ?? inst.allocatedGiB));
  }
  if (autoscaling && (inst.maxAllocatedGiB ?? 0) < Math.ceil(inst.allocatedGiB * 1.1)) {
    out.note = `storage autoscaling has no headroom (MaxAllocatedStorage ${inst.maxAllocatedGiB} GiB, allocated ${inst.allocatedGiB} GiB): it cannot grow the disk by the 10% minimum`;
  }
  const lowering = lastSlotRule(obs, now);
  if (lowering) out.blockLowering = lowering;
  if (freeBytesMin === null || inst.allocatedGiB <= 0) return out;
  const allocated = inst.allocatedGiB * GIB;
  const freePct = (100 * freeBytesMin) / allocated;
  const fmt = `FreeStorageSpace ${round2(freeBytesMin / GIB)} GiB (${round2(freePct)}% of ${inst.allocatedGiB} GiB)`;
  if (freePct < cfg.freeStorageLowPercent) {
    out.blockAll = `${fmt} is below ${cfg.freeStorageLowPercent}%: no storage change now, so storage autoscaling (or a person) can grow the disk without waiting ${Math.round(lockoutMs / HOUR_MS)} h behind it (a full disk stops writes)`;
    return out;
  }
  const hours = hoursUntilThreshold(obs, freeBytesMin, autoscaling);
  out.hoursToThreshold = hours;
  const lockoutHours = lockoutMs / HOUR_MS;
  const who = autoscaling ? 'storage autoscaling' : 'a person growing the disk';
  if (hours !== undefined && hours < lockoutHours + 1) {
    out.blockAll = `${fmt} is falling: it reaches ${autoscaling ? 'the autoscaling threshold (10% free)' : 'zero'} in about ${round2(hours)} h, within the ${round2(lockoutHours)} h a storage change locks storage; the slot is kept for ${who}`;
    return out;
  }
  if (
    !out.blockLowering &&
    (freePct < LOWERING_MARGIN * cfg.freeStorageLowPercent ||
      (hours !== undefined && hours < LOWERING_MARGIN * (lockoutHours + 1)))
  ) {
    out.blockLowering = `${fmt}: not lowering while free space is this close to needing ${who}`;
  }
  return out;
}

/** Hours until free space reaches the autoscaling threshold (10%) or zero, from its trend; undefined when not falling. */
function hoursUntilThreshold(
  obs: IopsObservation,
  freeNow: number,
  autoscaling: boolean,
): number | undefined {
  const hist = obs.history.freeStorageSpace;
  if (!hist) return undefined;
  const values = present(hist.values);
  if (values.length < 10) return undefined;
  const slope = trendPerHour(hist.values, hist.periodSeconds);
  if (slope >= 0) return undefined;
  const floor = autoscaling ? AUTOSCALING_FREE_FRACTION * obs.instance.allocatedGiB * GIB : 0;
  const free = Math.min(freeNow, minOf(hist.values.slice(-3)) ?? freeNow);
  return Math.max(0, (free - floor) / -slope);
}

/**
 * "The last change of the 24 h window is kept for raises": a lowering may not be the 4th storage
 * change in 24 h (aws-facts.md: at most 4 per 24 h; a saturated instance must still be raisable).
 */
function lastSlotRule(obs: IopsObservation, now: Date): string | undefined {
  const t = now.getTime();
  const inDay = obs.ledger.changes.filter((c) => t - Date.parse(c.at) < STORAGE_CHANGE_DAY_MS).length;
  if (inDay < STORAGE_CHANGES_PER_DAY - 1) return undefined;
  return `${inDay} storage changes in the last 24 h: the last of ${STORAGE_CHANGES_PER_DAY} is kept for a raise, not spent on a lowering`;
}
