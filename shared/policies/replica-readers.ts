/**
 * Step 1 of the replicas decision: sort a source's readers by what they can do.
 *
 * aws-facts.md (read replicas, learned from review): replicas in `failed`,
 * `inaccessible-encryption-credentials`, `storage-full`, `incompatible-*` or `deleting` serve
 * nothing and still count against the 40-instance account quota and the 15 per source. A lagging
 * replica (lag above the threshold, or -1 = replication not running) is not capacity either, and
 * more replicas do not reduce lag. Plain RDS: an owned replica offloads nothing until a record
 * routes reads to it, and it is routed only once it is available, caught up and verified to match
 * its source.
 */
import type { ReaderObservation, ReplicaObservation, ReplicaPolicySettings } from './replica-types.ts';

/** Default for `stuckCreatingMinutes`: RDS replica creation can take hours on large storage. */
export const DEFAULT_STUCK_CREATING_MINUTES = 360;

/** Statuses in which a replica serves nothing and will not recover by waiting. */
export function isBroken(status: string): boolean {
  return (
    status === 'failed' ||
    status === 'storage-full' ||
    status === 'inaccessible-encryption-credentials' ||
    status === 'inaccessible-encryption-credentials-recoverable' ||
    status.startsWith('incompatible-')
  );
}

/**
 * Statuses in which a replica serves reads: `available`, and `storage-optimization`, which follows
 * every storage change (storage autoscaling included) and can last more than 24 hours while "the
 * instance is operational ... and your application is still available" (AWS knowledge center,
 * rds-stuck-in-storage-optimization: https://repost.aws/knowledge-center/rds-stuck-in-storage-optimization).
 * Withdrawing such a replica from routing would move its reads onto the others for a day.
 */
export function isServingStatus(status: string | undefined): boolean {
  return status === 'available' || status === 'storage-optimization';
}

export function isGone(status: string): boolean {
  return status === 'deleting' || status === 'deleted';
}

/**
 * Lagging: a lag above the threshold, -1 (replication not running) or a value that is not a number
 * at all (a reader is never routed on a lag nobody can read). No datapoint (null) is not lagging:
 * the source publishes no ReplicaLag, see the lag health check of its record.
 */
export function isLagging(r: ReaderObservation, maxLagSeconds: number): boolean {
  const lag = r.replicaLagSeconds;
  return lag !== null && (!Number.isFinite(lag) || lag < 0 || lag > maxLagSeconds);
}

export function isOwned(r: ReaderObservation): boolean {
  return r.ownershipTag && r.recordedCreated;
}

/** Verified: the replica's settings were compared with its source and nothing differs. */
export function isVerified(r: ReaderObservation): boolean {
  return r.mismatches !== undefined && r.mismatches.length === 0;
}

export function ownershipGap(r: ReaderObservation): string {
  if (!r.ownershipTag && !r.recordedCreated) return 'no ownership tag and no recorded create';
  if (!r.ownershipTag) return 'recorded as created but the ownership tag is missing';
  return 'has the ownership tag but db-autopilot has no record of creating it';
}

export interface ReaderClasses {
  /** Every listed instance: what counts against the 15 per source and the account quota. */
  listed: ReaderObservation[];
  /** Available or being created (not stuck): the reader count the target is compared with. */
  counted: ReaderObservation[];
  creating: ReaderObservation[];
  /** `creating` for longer than the stuck threshold. */
  stuck: ReaderObservation[];
  /** failed, storage-full, incompatible-*, inaccessible-encryption-credentials. */
  broken: ReaderObservation[];
  deleting: ReaderObservation[];
  available: ReaderObservation[];
  lagging: ReaderObservation[];
  /** Available, caught up and, for plain RDS, routed (or read by the application its own way). */
  serving: ReaderObservation[];
  /** Serving readers with a CPU datapoint: the ones the load is measured on. */
  ready: ReaderObservation[];
  /**
   * Available readers that would serve were they caught up, with a CPU datapoint: `ready` and the
   * lagging ones. Their mean load places a run in the tolerance band or a pinned CPU, whether or
   * not one of them lags.
   */
  measured: ReaderObservation[];
}

function isStuck(r: ReaderObservation, stuckMinutes: number, now: Date): boolean {
  if (r.status !== 'creating' || r.createdAt === undefined) return false;
  const since = Date.parse(r.createdAt);
  return Number.isFinite(since) && now.getTime() - since > stuckMinutes * 60_000;
}

export function classifyReaders(
  obs: ReplicaObservation,
  settings: ReplicaPolicySettings,
  now: Date,
): ReaderClasses {
  const stuckMinutes = settings.stuckCreatingMinutes ?? DEFAULT_STUCK_CREATING_MINUTES;
  const listed = obs.readers.filter((r) => r.status !== 'deleted');
  const stuck = listed.filter((r) => isStuck(r, stuckMinutes, now));
  const creating = listed.filter((r) => r.status === 'creating' && !stuck.includes(r));
  const broken = listed.filter((r) => isBroken(r.status));
  const deleting = listed.filter((r) => r.status === 'deleting');
  const available = listed.filter((r) => isServingStatus(r.status));
  const lagging = available.filter((r) => isLagging(r, settings.maxReplicaLagSeconds));
  const healthy = available.filter((r) => !isLagging(r, settings.maxReplicaLagSeconds));
  // Plain RDS: an owned replica offloads nothing until it is routed; a replica someone else made
  // is read by the application its own way, so it counts as soon as it is healthy.
  const wouldServe = (r: ReaderObservation) => obs.family === 'aurora' || r.routed || !isOwned(r);
  const serving = healthy.filter(wouldServe);
  // Other statuses (modifying, rebooting, backing-up, ...) are passing: they count as readers
  // (so nothing is added for a reboot) but are not measured.
  const passing = listed.filter(
    (r) => !isBroken(r.status) && !isGone(r.status) && r.status !== 'creating' && !isServingStatus(r.status),
  );
  return {
    listed,
    counted: [...available, ...creating, ...passing],
    creating,
    stuck,
    broken,
    deleting,
    available,
    lagging,
    serving,
    ready: serving.filter((r) => r.cpuPercent !== null),
    measured: available.filter((r) => wouldServe(r) && r.cpuPercent !== null),
  };
}
