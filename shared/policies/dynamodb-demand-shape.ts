/**
 * The demand shape a table's history shows, learned walk-forward: its typical level, its typical
 * peak, how many peaks a day come and go, and how long they last. The capacity decision plans its
 * decreases against it (dynamodb-decrease-plan.ts: a decrease slot is worth what the learned
 * peaks would save with it) and keeps a learned floor while a recurring burst is on
 * (`burstFloor`), instead of a fixed reserve and a blind climb.
 *
 * Learned from the same demand history as pre-warming (consumed + throttle events x units per
 * request, per period: shared/policies/prewarm.ts `DemandHistory`); never reads a sample that
 * ends after `now`.
 *
 * Pure: (history, now) -> DemandShape; (shape, ...) -> floor.
 */
import type { Evidence } from '../core/model.ts';
import type { CapacityDim, CapacityFloor } from './dynamodb-observation.ts';
import type { DemandHistory } from './prewarm.ts';

export interface DemandShape {
  learnedAt: string;
  /** The history window it was learned from (never after learnedAt). */
  learnedFrom: Evidence['window'];
  /** Hours of history the shape was learned from. */
  hours: number;
  /** Typical demand (median), units per second. */
  base: number;
  /** Typical peak: the median of the peaks' highest periods, units per second (base when none). */
  peak: number;
  /** Peaks that came and went per day (demand above a fifth of base..high, then back). */
  peaksPerDay: number;
  /** Median length of a peak, minutes (0 when none). */
  peakMinutes: number;
}

/** Below this much history nothing is learned (a day's shape needs most of a day). */
export const MIN_SHAPE_HOURS = 12;
/** A peak is demand above base + this share of (high - base), `high` the 99th percentile. */
const PEAK_COUNT_LEVEL = 0.2;
/** A burst is on when demand is above base + this share of (typical peak - base). */
const PEAK_LEVEL = 0.5;
/** A table is peaky only when its high is at least this many times its base. */
const PEAK_FACTOR = 2;
/** Dips shorter than this inside a peak do not split it (minutes). */
const MERGE_GAP_MINUTES = 5;
/** Estimated unserved demand above this many times the base (and above what is served) is a burst starting. */
const BURST_UNSERVED_FACTOR = 4;
/** A burst is a peak this short (minutes); longer ones are plateaus (a daily peak, a sale). */
export const BURST_MAX_MINUTES = 60;

function median(xs: readonly number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

/** The samples of the history that end at or before `now` (walk-forward). */
function usableSamples(history: DemandHistory, now: Date): number[] {
  const periodMs = history.periodSeconds * 1000;
  const usable = Math.max(
    0,
    Math.min(history.values.length, Math.floor((now.getTime() - Date.parse(history.start)) / periodMs)),
  );
  const out: number[] = [];
  for (let i = 0; i < usable; i++) {
    const v = Number(history.values[i]);
    out.push(Number.isFinite(v) && v > 0 ? v : 0);
  }
  return out;
}

/** Runs of samples above `level` (dips up to `mergeGap` samples merged): each run's length and peak. */
export function peaksAbove(
  values: readonly number[],
  level: number,
  mergeGap: number,
): Array<{ start: number; length: number; peak: number }> {
  const runs: Array<{ start: number; length: number; peak: number }> = [];
  let lastAbove = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    if (v <= level) continue;
    const run = runs[runs.length - 1];
    if (run && i - lastAbove <= mergeGap + 1) {
      run.length = i - run.start + 1;
      run.peak = Math.max(run.peak, v);
    } else {
      runs.push({ start: i, length: 1, peak: v });
    }
    lastAbove = i;
  }
  return runs;
}

/** The demand shape of one dimension; undefined while the history is shorter than MIN_SHAPE_HOURS. */
export function learnDemandShape(history: DemandHistory, now: Date): DemandShape | undefined {
  const values = usableSamples(history, now);
  const periodMinutes = history.periodSeconds / 60;
  const hours = (values.length * periodMinutes) / 60;
  if (hours < MIN_SHAPE_HOURS) return undefined;
  const base = median(values);
  const high = quantile(values, 0.99);
  const start = Date.parse(history.start);
  const learnedFrom = {
    start: history.start,
    end: new Date(start + values.length * history.periodSeconds * 1000).toISOString(),
    periodSeconds: history.periodSeconds,
  };
  const flat = {
    learnedAt: now.toISOString(),
    learnedFrom,
    hours,
    base,
    peak: base,
    peaksPerDay: 0,
    peakMinutes: 0,
  };
  if (high <= 0 || high < PEAK_FACTOR * base) return flat;
  const level = base + PEAK_COUNT_LEVEL * (high - base);
  const runs = peaksAbove(values, level, Math.max(0, Math.round(MERGE_GAP_MINUTES / periodMinutes)));
  if (!runs.length) return flat;
  return {
    ...flat,
    peak: median(runs.map((r) => r.peak)),
    peaksPerDay: (runs.length * 24) / hours,
    peakMinutes: median(runs.map((r) => r.length * periodMinutes)),
  };
}

/** Peaks that recur (at least one a day), are short (bursts, not plateaus) and stand out. */
export function isBursty(shape: DemandShape): boolean {
  return (
    shape.peaksPerDay >= 1 && shape.peakMinutes <= BURST_MAX_MINUTES && shape.peak >= PEAK_FACTOR * shape.base
  );
}

/**
 * The learned floor of a table with recurring bursts: while a burst is on (demand above the
 * middle of base..peak, or estimated unserved demand above BURST_UNSERVED_FACTOR x the base and
 * above what is served: the estimate is capped per step, so a burst that starts on low capacity
 * shows as throttling first, while noise on an idle table throttles a little), capacity goes at
 * least to the learned typical peak / target at once, instead of climbing to it one capped step
 * per UpdateTable (each 2 minutes late on an honest signal). Only for shapes whose peaks recur
 * (at least one a day) and are bursts (at most BURST_MAX_MINUTES long); undefined otherwise.
 */
export function burstFloor(
  shape: DemandShape | undefined,
  now: { demandRate: number; unservedRate: number; consumedRate: number },
  targetUtilization: number,
): { units: number; reason: string } | undefined {
  if (!shape || !isBursty(shape)) return undefined;
  const on =
    now.demandRate > shape.base + PEAK_LEVEL * (shape.peak - shape.base) ||
    (now.unservedRate > BURST_UNSERVED_FACTOR * Math.max(shape.base, 1) &&
      now.unservedRate > now.consumedRate);
  if (!on) return undefined;
  // (less a rounding hair: 1,400 / 0.7 is 2,000, not 2,001)
  const units = Math.ceil(shape.peak / targetUtilization - 1e-9);
  return {
    units,
    reason: `a recurring burst is on: ${shape.peaksPerDay.toFixed(1)} a day in the last ${Math.round(shape.hours)} h, typically ${shape.peak.toFixed(0)} units/s for ${shape.peakMinutes.toFixed(0)} min (learned floor ${units})`,
  };
}

/** The key of a resource dimension's shape: `<index name or empty>:<dim>` (as pre-warm models). */
export function shapeKey(indexName: string | null, dim: CapacityDim): string {
  return `${indexName ?? ''}:${dim}`;
}

/** What a learned shape shows, as evidence for the floor or the day's plan. */
export function shapeEvidence(shape: DemandShape): Evidence {
  return {
    metric: 'learned demand shape (walk-forward: consumed + throttle events x units per request)',
    statistic: `median peak; ${shape.peaksPerDay.toFixed(1)} peaks/day, ${shape.peakMinutes.toFixed(0)} min, base ${shape.base.toFixed(1)}`,
    value: Math.round(shape.peak * 100) / 100,
    unit: 'units/s',
    window: shape.learnedFrom,
  };
}

/** The learned burst floors of the dimensions whose burst is on now. */
export function learnedFloors(
  now: ReadonlyArray<{
    indexName: string | null;
    dim: CapacityDim;
    demandRate: number;
    unservedRate: number;
    consumedRate: number;
    direction: 'up' | 'down' | 'hold';
  }>,
  shapes: Readonly<Record<string, DemandShape>>,
  targetUtilization: number,
): CapacityFloor[] {
  // Only on the way up: a floor below the capacity now must not turn into a partial decrease.
  return now.flatMap((a) => {
    if (a.direction !== 'up') return [];
    const shape = shapes[shapeKey(a.indexName, a.dim)];
    const f = burstFloor(shape, a, targetUtilization);
    if (!f || !shape) return [];
    return [
      {
        indexName: a.indexName,
        dim: a.dim,
        units: f.units,
        reason: f.reason,
        evidence: [shapeEvidence(shape)],
      },
    ];
  });
}
