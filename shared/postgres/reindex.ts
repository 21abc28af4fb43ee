import { assertQuotedName } from './vacuum-sql.ts';

/**
 * The index rebuild decision (pure), as named steps:
 *   1. bloatOf            - an index's bloat from pgstattuple's pgstatindex (leaf density against
 *                           the fillfactor) or, without it, from a catalog estimate of its size;
 *   2. canRebuildConcurrently - the server can run REINDEX INDEX CONCURRENTLY at all (PG12+,
 *                           a primary, a plain B-tree index of a user table);
 *   3. selectRebuilds     - bloated enough, big enough, inside a maintenance window, fitting the
 *                           time left, most wasted bytes first, at most N per run;
 *   4. reindexStatement   - `REINDEX INDEX CONCURRENTLY <catalog name>`.
 * The I/O (catalog reads, pgstatindex, the REINDEX, leftovers) is in reindex-run.ts.
 */

export interface IndexStats {
  oid: number;
  /** `oid::regclass::text`: schema-qualified when needed, quoted by the server. */
  name: string;
  table: string;
  bytes: number;
  /** B-tree fillfactor (default 90). */
  fillfactor: number;
  /** pgstatindex's avg_leaf_density (percent), when pgstattuple answered. */
  leafDensity?: number;
  /** Catalog estimate of the size the index would have when rebuilt. */
  expectedBytes?: number;
  /** pgstatindex could not take its lock in lock_timeout: the table is locked. */
  locked?: boolean;
  isBtree: boolean;
  isValid: boolean;
  /** Backs an exclusion constraint (REINDEX CONCURRENTLY refuses those). */
  isExclusion: boolean;
  isSystem: boolean;
  /** The role may REINDEX it (the table's owner before 17, MAINTAIN on 17+); undefined: not known. */
  mayRebuild?: boolean;
}

export interface Bloat {
  ratio: number;
  wastedBytes: number;
  source: 'pgstatindex' | 'catalog estimate';
}

/** Step 1: the fraction of the index a rebuild would give back. */
export function bloatOf(index: IndexStats): Bloat | undefined {
  if (index.leafDensity !== undefined && Number.isFinite(index.leafDensity)) {
    // A fresh B-tree's leaves are filled to the fillfactor; density below that is free space.
    const ratio = clamp(1 - index.leafDensity / index.fillfactor);
    return { ratio, wastedBytes: Math.round(index.bytes * ratio), source: 'pgstatindex' };
  }
  if (index.expectedBytes !== undefined && index.bytes > 0) {
    const ratio = clamp(1 - index.expectedBytes / index.bytes);
    return { ratio, wastedBytes: Math.round(index.bytes * ratio), source: 'catalog estimate' };
  }
  return undefined;
}

function clamp(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/** REINDEX ... CONCURRENTLY appeared in PostgreSQL 12 (docs, "REINDEX"). */
export const PG12 = 120000;

/** Step 2: why the server cannot rebuild without blocking writes, if it cannot. */
export function cannotRunConcurrently(server: { version: number; inRecovery: boolean }): string | undefined {
  if (server.version < PG12)
    return 'REINDEX CONCURRENTLY needs PostgreSQL 12+: never rebuilt with a blocking REINDEX';
  if (server.inRecovery) return 'a read replica (in recovery) cannot rebuild indexes';
  return undefined;
}

export interface RebuildSettings {
  minBloatRatio: number;
  minBytes: number;
  maxPerRun: number;
  assumedBytesPerSecond: number;
  safetyMarginMs: number;
}

export interface RebuildCandidate {
  index: IndexStats;
  bloat: Bloat;
  estimatedMs: number;
}

export interface NotRebuilt {
  index: IndexStats;
  bloat?: Bloat;
  why: string;
  outcome: 'skipped' | 'deferred';
  guard: string;
}

export interface RebuildSelection {
  candidates: RebuildCandidate[];
  notRebuilt: NotRebuilt[];
}

/** A rebuild reads the table's index keys and writes a fresh index: about twice its size moved. */
export function estimateRebuildMs(bytes: number, bytesPerSecond: number): number {
  return Math.ceil(((2 * bytes) / bytesPerSecond) * 1000) + 1_000;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

function structural(index: IndexStats): string | undefined {
  if (!index.isBtree) return 'not a B-tree';
  if (index.isSystem) return 'a system catalog index';
  if (index.isExclusion) return 'backs an exclusion constraint (REINDEX CONCURRENTLY refuses it)';
  if (!index.isValid) return 'invalid index (a leftover is dropped, not rebuilt)';
  return undefined;
}

export const NOT_PERMITTED_WHY =
  'bloated, but the db-autopilot role may not rebuild it: REINDEX needs the table owner (GRANT the owning role TO the db-autopilot role) before PostgreSQL 17, the MAINTAIN privilege (pg_maintain) from 17; not tried';

/** Step 3: which bloated indexes to rebuild this run, one at a time, most wasted bytes first. */
export function selectRebuilds(
  indexes: IndexStats[],
  context: { inWindow: boolean; windows: string; remainingMs: number },
  settings: RebuildSettings,
): RebuildSelection {
  const notRebuilt: NotRebuilt[] = [];
  const bloated: RebuildCandidate[] = [];
  for (const index of indexes) {
    if (structural(index) || index.bytes < settings.minBytes) continue;
    const bloat = bloatOf(index);
    if (index.locked) {
      notRebuilt.push({
        index,
        why: 'table locked by another session: its bloat could not be measured within lock_timeout; next run',
        outcome: 'skipped',
        guard: 'postgres:lock-not-available',
      });
      continue;
    }
    if (!bloat || bloat.ratio < settings.minBloatRatio) continue;
    if (index.mayRebuild === false) {
      // REINDEX would fail with "must be owner" every run: said once, in words that do not change
      // from run to run (a repeated skip), and never tried.
      notRebuilt.push({
        index,
        why: NOT_PERMITTED_WHY,
        outcome: 'skipped',
        guard: 'postgres:not-permitted',
      });
      continue;
    }
    bloated.push({
      index,
      bloat,
      estimatedMs: estimateRebuildMs(index.bytes, settings.assumedBytesPerSecond),
    });
  }
  bloated.sort((a, b) => b.bloat.wastedBytes - a.bloat.wastedBytes);
  const candidates: RebuildCandidate[] = [];
  let left = context.remainingMs - settings.safetyMarginMs;
  for (const c of bloated) {
    const about = `${pct(c.bloat.ratio)} bloat (${c.bloat.source})`;
    if (!context.inWindow) {
      notRebuilt.push({
        ...c,
        why: `${about}: outside the maintenance windows (${context.windows}); rebuilt in a window`,
        outcome: 'deferred',
        guard: 'maintenance-window',
      });
    } else if (candidates.length >= settings.maxPerRun) {
      notRebuilt.push({
        ...c,
        why: `${about}: over the per-run cap of ${settings.maxPerRun} rebuild(s); next run`,
        outcome: 'deferred',
        guard: 'max-changes-per-run',
      });
    } else if (c.estimatedMs > left) {
      notRebuilt.push({
        ...c,
        why: `${about}: estimated ${Math.ceil(c.estimatedMs / 1000)} s does not fit the ${Math.max(0, Math.floor(left / 1000))} s left; next run`,
        outcome: 'deferred',
        guard: 'time-budget:would-not-finish',
      });
    } else {
      candidates.push(c);
      left -= c.estimatedMs;
    }
  }
  return { candidates, notRebuilt };
}

/** Step 4: the statement; `name` is the catalog's `oid::regclass::text`, never a person's input. */
export function reindexStatement(name: string): string {
  assertQuotedName(name);
  return `REINDEX INDEX CONCURRENTLY ${name}`;
}

/** REINDEX CONCURRENTLY's transient indexes: `<name>_ccnew`, `_ccnew1`, ..., `_ccold`, ... */
export const LEFTOVER_SUFFIX = /_cc(new|old)\d*$/;

export function isRebuildLeftover(relname: string): boolean {
  return LEFTOVER_SUFFIX.test(relname);
}
