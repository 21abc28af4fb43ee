/**
 * Pre-warming: learn recurring peaks from history, walk-forward, and raise capacity shortly
 * before the next expected one. Pure: (history, now, config) -> model; (model, now) -> floor.
 *
 * Walk-forward: `learnRecurringPeaks` reads only samples that end at or before `now`; it never
 * looks at a sample after `now`, even when the array holds them (backtests pass whole traces).
 * Period detection: autocorrelation of the history at two scales (fine 1-period buckets for
 * periods up to a few hours over the last day; coarse buckets for periods up to a week over all
 * history), then peak onsets that recur at the detected period. An expected peak is the median
 * of its last three occurrences (one retry-inflated or one-off occurrence does not size it); a
 * peak whose next occurrence the history already covers without it is no longer expected.
 * A pre-warm that finds no peak is released by the normal scale-down path (stabilization window
 * and decrease budget), not here.
 */
import type { DynamodbPrewarmConfig } from '../config/sections/dynamodb.ts';
import type { Evidence } from '../core/model.ts';

export interface DemandHistory {
  /** Start of the first sample (ISO); sample i covers [start + i*period, start + (i+1)*period). */
  start: string;
  periodSeconds: number;
  /** Demand per sample, capacity units per second (consumed + unserved). */
  values: ArrayLike<number>;
}

export interface PastPeak {
  at: string;
  value: number;
}

export interface ExpectedPeak {
  at: string;
  /** Expected peak demand, units per second. */
  value: number;
  periodMinutes: number;
  /** Past occurrences this expectation was learned from, oldest first. */
  history: PastPeak[];
}

export interface PeakModel {
  learnedAt: string;
  /** Samples used: the window the model was learned from (never after learnedAt). */
  learnedFrom: { start: string; end: string; periodSeconds: number; samples: number };
  periodMinutes: number | null;
  correlation: number;
  baseline: number;
  expected: ExpectedPeak[];
  /** Why nothing was learned, when expected is empty. */
  note?: string;
}

const FINE_BUCKET_MAX_LAG_MINUTES = 6 * 60;
const FINE_WINDOW_MINUTES = 36 * 60;
const COARSE_BUCKET_MINUTES = 15;
/** Past occurrences listed one by one in a pre-warm's evidence (all of them are in the series). */
const MAX_PAST_PEAKS_IN_EVIDENCE = 7;
/** A period is searched for only after the autocorrelation has fallen below this. */
const DECORRELATED = 0.5;

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

/** Buckets (max within each) of the samples in [fromIdx, toIdx). */
function bucketize(values: ArrayLike<number>, fromIdx: number, toIdx: number, per: number): number[] {
  const out: number[] = [];
  for (let i = fromIdx; i < toIdx; i += per) {
    let m = 0;
    for (let j = i; j < Math.min(toIdx, i + per); j++) {
      const v = values[j];
      if (v !== undefined && Number.isFinite(v) && v > m) m = v;
    }
    out.push(m);
  }
  return out;
}

/**
 * Pearson correlation of the series with itself shifted by each lag in [minLag, maxLag], only
 * for lags seen at least twice (lag <= n / 2), so a long lag is not judged on a sliver.
 */
function autocorrelation(x: number[], minLag: number, maxLag: number): Array<{ lag: number; r: number }> {
  const n = x.length;
  const out: Array<{ lag: number; r: number }> = [];
  const prefix = new Float64Array(n + 1);
  const prefix2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = x[i] ?? 0;
    prefix[i + 1] = (prefix[i] ?? 0) + v;
    prefix2[i + 1] = (prefix2[i] ?? 0) + v * v;
  }
  for (let lag = Math.max(1, minLag); lag <= Math.min(maxLag, Math.floor(n / 2)); lag++) {
    const m = n - lag;
    const sa = (prefix[n] ?? 0) - (prefix[lag] ?? 0);
    const sb = prefix[m] ?? 0;
    const sa2 = (prefix2[n] ?? 0) - (prefix2[lag] ?? 0);
    const sb2 = prefix2[m] ?? 0;
    let sab = 0;
    for (let i = lag; i < n; i++) sab += (x[i] ?? 0) * (x[i - lag] ?? 0);
    const cov = sab / m - (sa / m) * (sb / m);
    const va = sa2 / m - (sa / m) ** 2;
    const vb = sb2 / m - (sb / m) ** 2;
    out.push({ lag, r: va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0 });
  }
  return out;
}

/**
 * Candidate periods: local maxima of the autocorrelation once it has fallen below 0.5 (a
 * smooth series correlates with itself at small lags; that is not a period), strongest first,
 * except that a shorter period within 90% of the best comes before it (multiples of a period
 * correlate as well as the period).
 */
function candidatePeriods(acf: Array<{ lag: number; r: number }>): Array<{ lag: number; r: number }> {
  // Skip the lags where the series still resembles itself (before it has decorrelated).
  let i = 1;
  while (i < acf.length - 1 && (acf[i]?.r ?? 0) >= DECORRELATED) i++;
  const peaks: Array<{ lag: number; r: number }> = [];
  for (; i < acf.length; i++) {
    const p = acf[i];
    if (!p) continue;
    const prev = acf[i - 1]?.r ?? Number.NEGATIVE_INFINITY;
    const next = acf[i + 1]?.r ?? Number.NEGATIVE_INFINITY;
    if (p.r >= prev && p.r >= next) peaks.push(p);
  }
  if (!peaks.length) return [];
  const best = peaks.reduce((a, b) => (b.r > a.r ? b : a));
  const near = peaks.filter((p) => p.r >= 0.9 * best.r).sort((a, b) => a.lag - b.lag);
  const rest = peaks.filter((p) => p.r < 0.9 * best.r).sort((a, b) => b.r - a.r);
  return [...near, ...rest];
}

interface Scale {
  bucketSamples: number;
  buckets: number[];
  startMs: number;
}

/**
 * Learns recurring peaks from the history before `now`. Only samples ending at or before `now`
 * are read (walk-forward).
 */
export function learnRecurringPeaks(
  history: DemandHistory,
  now: Date,
  config: DynamodbPrewarmConfig,
): PeakModel {
  const periodMs = history.periodSeconds * 1000;
  const start = Date.parse(history.start);
  const t = now.getTime();
  // Index bound: samples [0, usable) end at or before now. Never read index >= usable.
  const usable = Math.max(0, Math.min(history.values.length, Math.floor((t - start) / periodMs)));
  const fromIdx = Math.max(0, usable - Math.floor((config.historyMinutes * 60_000) / periodMs));
  const learnedFrom: PeakModel['learnedFrom'] = {
    start: new Date(start + fromIdx * periodMs).toISOString(),
    end: new Date(start + usable * periodMs).toISOString(),
    periodSeconds: history.periodSeconds,
    samples: usable - fromIdx,
  };
  const empty = (note: string, correlation = 0): PeakModel => ({
    learnedAt: now.toISOString(),
    learnedFrom,
    periodMinutes: null,
    correlation,
    baseline: 0,
    expected: [],
    note,
  });
  if (usable - fromIdx < 4) return empty('not enough history');

  const periodMin = history.periodSeconds / 60;
  // Fine scale: native buckets over the last FINE_WINDOW, lags up to FINE_BUCKET_MAX_LAG.
  const fineFrom = Math.max(fromIdx, usable - Math.ceil(FINE_WINDOW_MINUTES / periodMin));
  const fine: Scale = {
    bucketSamples: 1,
    buckets: bucketize(history.values, fineFrom, usable, 1),
    startMs: start + fineFrom * periodMs,
  };
  const coarsePer = Math.max(1, Math.round(COARSE_BUCKET_MINUTES / periodMin));
  // Align coarse buckets to the end so the last bucket ends at `now`'s sample boundary.
  const coarseFrom = fromIdx + ((usable - fromIdx) % coarsePer);
  const coarse: Scale = {
    bucketSamples: coarsePer,
    buckets: bucketize(history.values, coarseFrom, usable, coarsePer),
    startMs: start + coarseFrom * periodMs,
  };
  const candidates: Array<{ scale: Scale; lag: number; r: number }> = [];
  const fineMaxLag = Math.min(config.maxPeriodMinutes, FINE_BUCKET_MAX_LAG_MINUTES);
  if (config.minPeriodMinutes <= fineMaxLag) {
    const acf = autocorrelation(fine.buckets, 1, Math.floor(fineMaxLag / periodMin));
    for (const p of candidatePeriods(acf)) {
      if (p.lag * periodMin >= config.minPeriodMinutes) candidates.push({ scale: fine, ...p });
    }
  }
  if (config.maxPeriodMinutes > FINE_BUCKET_MAX_LAG_MINUTES) {
    const bucketMin = coarsePer * periodMin;
    const acf = autocorrelation(coarse.buckets, 1, Math.floor(config.maxPeriodMinutes / bucketMin));
    for (const p of candidatePeriods(acf)) {
      if (p.lag * bucketMin > FINE_BUCKET_MAX_LAG_MINUTES) candidates.push({ scale: coarse, ...p });
    }
  }
  const strong = candidates.filter((c) => c.r >= config.minCorrelation);
  if (!strong.length) {
    const best = candidates.reduce((m, c) => Math.max(m, c.r), 0);
    return empty(
      `no recurring pattern (best autocorrelation ${best.toFixed(2)} < ${config.minCorrelation})`,
      best,
    );
  }
  // Try the periods in order of preference; the first one at which peaks recur wins.
  for (const chosen of strong.slice(0, 6)) {
    const expected = recurringPeaksAt(chosen.scale, chosen.lag, periodMs, t, config);
    if (!expected.peaks.length) continue;
    return {
      learnedAt: now.toISOString(),
      learnedFrom,
      periodMinutes: (chosen.lag * chosen.scale.bucketSamples * periodMs) / 60_000,
      correlation: chosen.r,
      baseline: expected.baseline,
      expected: expected.peaks,
    };
  }
  const first = strong[0];
  return empty(
    `periods found (${strong
      .slice(0, 3)
      .map((c) => formatPeriod((c.lag * c.scale.bucketSamples * periodMs) / 60_000))
      .join(', ')}) but no peak recurred ${config.minOccurrences} times`,
    first?.r ?? 0,
  );
}

/** Peaks that recur at `lag` buckets: onsets with predecessors one period earlier, projected forward. */
function recurringPeaksAt(
  scale: Scale,
  lag: number,
  periodMs: number,
  t: number,
  config: DynamodbPrewarmConfig,
): { peaks: ExpectedPeak[]; baseline: number } {
  const bucketMs = scale.bucketSamples * periodMs;
  const baseline = median(scale.buckets);
  const maxValue = Math.max(0, ...scale.buckets);
  // A robust top (98th percentile) rather than the maximum, so a one-off (a flash sale) does
  // not lift the threshold above the recurring peaks.
  const top = quantile(scale.buckets, 0.98);
  const threshold = Math.max(baseline * config.peakFactor, baseline + 0.5 * (top - baseline));
  if (!(maxValue > threshold) || maxValue <= 0) return { peaks: [], baseline };
  // Peak onsets: first bucket of each run above the threshold; value = the run's maximum over
  // the pre-warm window after the onset (lead + hold): what must be there when the peak starts.
  // The rest of a long peak is followed by the reactive path.
  const window = Math.max(1, Math.ceil(((config.leadMinutes + config.holdMinutes) * 60_000) / bucketMs));
  const onsets: Array<{ idx: number; value: number }> = [];
  for (let i = 0; i < scale.buckets.length; i++) {
    const v = scale.buckets[i] ?? 0;
    if (v <= threshold) continue;
    const prev = scale.buckets[i - 1] ?? 0;
    if (i > 0 && prev > threshold) {
      const last = onsets[onsets.length - 1];
      if (last && i - last.idx < window && v > last.value) last.value = v;
      continue;
    }
    onsets.push({ idx: i, value: v });
  }
  const tol = Math.max(1, Math.round(lag * 0.03));
  const peaks: ExpectedPeak[] = [];
  const periodMinutes = (lag * bucketMs) / 60_000;
  const used = new Set<number>();
  // Walk back from the most recent onsets: a recurring peak has predecessors at -lag, -2 lag...
  for (let k = onsets.length - 1; k >= 0; k--) {
    const o = onsets[k];
    if (!o || used.has(o.idx)) continue;
    const chain = [o];
    let cur = o;
    for (;;) {
      const c = cur;
      const prev = onsets.find((p) => Math.abs(c.idx - lag - p.idx) <= tol && p.idx < c.idx);
      if (!prev) break;
      chain.unshift(prev);
      cur = prev;
    }
    for (const c of chain) used.add(c.idx);
    if (chain.length < config.minOccurrences) continue;
    // A peak that failed to recur is no longer expected: the history already covers where its
    // next occurrence should have started (within the tolerance) and no peak started there.
    if (o.idx + lag + tol < scale.buckets.length) continue;
    // The next occurrence after the last one seen that is not over yet.
    let nextIdx = o.idx + lag;
    while (scale.startMs + nextIdx * bucketMs + config.holdMinutes * 60_000 < t) nextIdx += lag;
    const recent = chain.slice(-3);
    peaks.push({
      at: new Date(scale.startMs + nextIdx * bucketMs).toISOString(),
      value: median(recent.map((c) => c.value)),
      periodMinutes,
      history: chain.map((c) => ({
        at: new Date(scale.startMs + c.idx * bucketMs).toISOString(),
        value: c.value,
      })),
    });
  }
  peaks.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return { peaks, baseline };
}

export interface PrewarmFloor {
  /** Capacity units to have provisioned (expected peak / target utilization). */
  units: number;
  peak: ExpectedPeak;
  reason: string;
  evidence: Evidence[];
}

/**
 * The floor a model asks for at `now`: active from `leadMinutes` before an expected peak until
 * `holdMinutes` after it. Expected peaks recur every period, so later occurrences are projected.
 */
export function prewarmFloorAt(
  model: PeakModel,
  now: Date,
  config: DynamodbPrewarmConfig,
  targetUtilization: number,
): PrewarmFloor | null {
  if (!model.periodMinutes) return null;
  const t = now.getTime();
  const periodMs = model.periodMinutes * 60_000;
  let best: PrewarmFloor | null = null;
  for (const e of model.expected) {
    let at = Date.parse(e.at);
    if (at + config.holdMinutes * 60_000 < t)
      at += Math.ceil((t - at - config.holdMinutes * 60_000) / periodMs) * periodMs;
    if (t < at - config.leadMinutes * 60_000 || t > at + config.holdMinutes * 60_000) continue;
    const units = Math.ceil(e.value / targetUtilization);
    if (best && best.units >= units) continue;
    const peak = { ...e, at: new Date(at).toISOString() };
    best = {
      units,
      peak,
      reason: `pre-warm: a peak of ${e.value.toFixed(1)} units/s is expected at ${peak.at} (every ${formatPeriod(e.periodMinutes)}; seen at ${e.history
        .slice(-3)
        .map((h) => `${h.at} (${h.value.toFixed(0)}/s)`)
        .join(', ')}${e.history.length > 3 ? ` and ${e.history.length - 3} earlier times` : ''})`,
      evidence: [
        {
          metric: 'recurring peak (learned walk-forward)',
          statistic: `period ${formatPeriod(e.periodMinutes)}, autocorrelation ${model.correlation.toFixed(2)}`,
          value: e.value,
          unit: 'units/s',
          window: {
            start: model.learnedFrom.start,
            end: model.learnedFrom.end,
            periodSeconds: model.learnedFrom.periodSeconds,
          },
          series: e.history.map((h) => h.value),
          threshold: model.baseline,
        },
        // The past occurrences it was learned from (the latest ones), each with its time and value.
        ...e.history.slice(-MAX_PAST_PEAKS_IN_EVIDENCE).map((h) => ({
          metric: 'past peak',
          statistic: 'Maximum',
          value: Math.round(h.value * 100) / 100,
          unit: 'units/s',
          window: { start: h.at, end: h.at, periodSeconds: model.learnedFrom.periodSeconds },
        })),
      ],
    };
  }
  return best;
}

export function formatPeriod(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440} d`;
  if (minutes % 60 === 0) return `${minutes / 60} h`;
  return `${minutes} min`;
}
