/**
 * Recurring spikes at minute resolution, for the serverless bounds policy
 * (shared/policies/serverless-bounds.ts, forecastPeak). A pure decision in named steps:
 *
 *   relearnDue -> publishedMinutes -> spikesIn -> recurringSpikes   (learnSpikes: hourly)
 *   spikeTiming                                                     (every run)
 *
 * Learned walk-forward from a 60-s DatabaseConnections series (what CloudWatch has published by
 * `now`, read at most every `relearnMinutes`): a load signal the tuner's own pre-warm cannot move.
 * Learned on capacity instead, the minimum raised before an onset would look like the onset itself
 * and the learned onsets would drift earlier run after run.
 *
 * A spike is a step up (connections at least `riseRatio` x the median of the 5 minutes before) that
 * steps back down (below halfway) within `maxSpikeMinutes`; one still going on at the end of the
 * published data is not a spike yet. A spike recurs when onsets fall within `toleranceMinutes` of
 * each other at the same time of day on at least `minDays` days: its window is the earliest onset
 * to the latest end seen. The bounds policy raises the minimum `spikeLeadMinutes` before the
 * window and lets it down after the window's end.
 *
 * `minDays` is 1: a spike seen on one day of the history is expected at that time every day, as the
 * 15-minute profile expects every day's peak (the highest over the days); learned, it is only timed
 * better (5 minutes ahead instead of a bucket's look-ahead, 30-45 minutes). With 2 the second day
 * of a new recurring spike is not pre-warmed (measured on the recurring-spikes traces: 1.20-1.28x
 * fixed-bounds-low's cost with 2, 1.16-1.22x with 1; no other trace moved).
 */

export interface MinuteSeries {
  /** 60-s values, oldest first; the last one is the minute ending at `end`. */
  values: Array<number | null>;
  /** End of the newest minute (ISO). */
  end: string;
}

export interface LearnedSpike {
  /** Minute of the day (UTC) of the earliest onset seen. */
  onset: number;
  /** Minutes after midnight (UTC) of the onset's day when the latest spike seen had ended (may pass 1440). */
  end: number;
  /** Days the spike was seen on. */
  days: number;
}

/** What the tuner keeps (tuner state part `spikes`), and the backtest alike. */
export interface LearnedSpikes {
  /** When they were learned (the run's time). */
  learnedAt: string;
  /** End of the newest published minute they were learned from (ISO). */
  through: string;
  /** At most `maxSpikes`, by time of day. */
  spikes: LearnedSpike[];
}

export interface SpikeSettings {
  riseRatio: number;
  maxSpikeMinutes: number;
  toleranceMinutes: number;
  minDays: number;
  /** Learn again (one 60-s read of the history's days) at most this often. */
  relearnMinutes: number;
  /** Keep at most this many (the ones seen on most days): the tuner state stays small. */
  maxSpikes: number;
}

export const DEFAULT_SPIKE_SETTINGS: SpikeSettings = {
  riseRatio: 2,
  maxSpikeMinutes: 90,
  toleranceMinutes: 15,
  minDays: 1,
  relearnMinutes: 60,
  maxSpikes: 48,
};

const BEFORE_MINUTES = 5;
const DAY_MINUTES = 1440;
const MINUTE_MS = 60_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** Step 0: is it time to read the 60-s history and learn again? (never learned, or `relearnMinutes` ago) */
export function relearnDue(
  learned: LearnedSpikes | undefined,
  now: Date,
  s: SpikeSettings = DEFAULT_SPIKE_SETTINGS,
): boolean {
  if (!learned) return true;
  const at = Date.parse(learned.learnedAt);
  return !Number.isFinite(at) || at > now.getTime() || now.getTime() - at >= s.relearnMinutes * MINUTE_MS;
}

/**
 * Step 1: the minutes published by `now`: a series ending after `now` (a caller's mistake, or a
 * clock ahead) is cut there, so nothing CloudWatch had not published can be learned.
 */
export function publishedMinutes(series: MinuteSeries, now: Date): MinuteSeries {
  const end = Date.parse(series.end);
  if (!Number.isFinite(end)) return { values: [], end: now.toISOString() };
  const extra = Math.ceil((end - now.getTime()) / MINUTE_MS);
  if (extra <= 0) return series;
  const values = series.values.slice(0, Math.max(0, series.values.length - extra));
  return { values, end: new Date(end - extra * MINUTE_MS).toISOString() };
}

interface Seen {
  /** Absolute minute (epoch minutes) of the onset. */
  at: number;
  length: number;
}

/** Step 2: every step up that steps back down within maxSpikeMinutes (onset as epoch minute, length). */
export function spikesIn(series: MinuteSeries, s: SpikeSettings = DEFAULT_SPIKE_SETTINGS): Seen[] {
  const v = series.values;
  const first = Math.round(Date.parse(series.end) / MINUTE_MS) - v.length;
  const found: Seen[] = [];
  for (let i = BEFORE_MINUTES; i < v.length; i++) {
    const now = v[i];
    const before = v.slice(i - BEFORE_MINUTES, i);
    if (now == null || before.some((x) => x == null)) continue;
    const base = median(before as number[]);
    const threshold = s.riseRatio * Math.max(base, 1);
    if (now < threshold || (v[i - 1] as number) >= threshold) continue;
    // The end: the first minute back below halfway between the level before and the step's top.
    const fall = (base + now) / 2;
    let j = i + 1;
    while (j < v.length && j - i <= s.maxSpikeMinutes && (v[j] ?? 0) >= fall) j++;
    // Still going on where the published data ends (or too long for a spike): not one (yet).
    if (j >= v.length || j - i > s.maxSpikeMinutes) continue;
    found.push({ at: first + i, length: j - i });
    i = j;
  }
  return found;
}

/**
 * Step 3: spikes seen at the same time of day (onsets within toleranceMinutes of the group's
 * earliest, across midnight too) on at least minDays days: their widest window. At most maxSpikes,
 * those seen on most days first, returned by time of day.
 */
export function recurringSpikes(seen: Seen[], s: SpikeSettings = DEFAULT_SPIKE_SETTINGS): LearnedSpike[] {
  const byTime = seen
    .map((x) => ({ onset: x.at % DAY_MINUTES, length: x.length, day: Math.floor(x.at / DAY_MINUTES) }))
    .sort((a, b) => a.onset - b.onset);
  const groups: Array<typeof byTime> = [];
  for (const x of byTime) {
    const group = groups[groups.length - 1];
    const head = group?.[0];
    if (group && head && x.onset - head.onset <= s.toleranceMinutes) group.push(x);
    else groups.push([x]);
  }
  // The day's last group and its first are one when they meet across midnight.
  const last = groups[groups.length - 1];
  const firstGroup = groups[0];
  if (groups.length > 1 && last?.[0] && firstGroup?.[0]) {
    if (firstGroup[0].onset + DAY_MINUTES - last[0].onset <= s.toleranceMinutes) {
      groups.pop();
      groups[0] = [
        ...last,
        ...firstGroup.map((x) => ({ ...x, onset: x.onset + DAY_MINUTES, day: x.day - 1 })),
      ];
    }
  }
  const learned = groups.flatMap((group) => {
    const head = group[0];
    const days = new Set(group.map((x) => x.day)).size;
    if (!head || days < s.minDays) return [];
    return [{ onset: head.onset, end: Math.max(...group.map((x) => x.onset + x.length)), days }];
  });
  return learned
    .sort((a, b) => b.days - a.days || a.onset - b.onset)
    .slice(0, s.maxSpikes)
    .sort((a, b) => a.onset - b.onset);
}

/** Steps 1-3: what the published 60-s connections show recurring, as of `now`. */
export function learnSpikes(
  series: MinuteSeries,
  now: Date,
  s: SpikeSettings = DEFAULT_SPIKE_SETTINGS,
): LearnedSpikes {
  const published = publishedMinutes(series, now);
  return {
    learnedAt: now.toISOString(),
    through: published.end,
    spikes: recurringSpikes(spikesIn(published, s), s),
  };
}

/** A learned spike on one day (absolute ms): raised from `warmFrom`, the spike from `onset` to `end`. */
export interface SpikeWindow {
  spike: LearnedSpike;
  warmFrom: number;
  onset: number;
  end: number;
}

const DAY_MS = DAY_MINUTES * MINUTE_MS;

/**
 * Step 4 (every run): where the learned spikes stand at `now`. `warm`: a spike whose earliest onset
 * is at most leadMinutes away (or under way): the minimum goes up now. `waiting`: the windows of
 * yesterday, today and tomorrow not warm now (their 15-min buckets must not raise the minimum a
 * bucket's look-ahead earlier). `ended`: when no spike is warm, the end (ms) of the latest one over
 * within the last `tailMinutes` (the minutes since show Aurora scaling down from it).
 */
export function spikeTiming(
  spikes: readonly LearnedSpike[],
  now: Date,
  leadMinutes: number,
  tailMinutes: number,
): { warm: SpikeWindow[]; waiting: SpikeWindow[]; ended?: number } {
  const at = now.getTime();
  const today = Math.floor(at / DAY_MS) * DAY_MS;
  const windows = spikes.flatMap((spike) =>
    [-DAY_MS, 0, DAY_MS].map((d) => ({
      spike,
      warmFrom: today + d + (spike.onset - leadMinutes) * MINUTE_MS,
      onset: today + d + spike.onset * MINUTE_MS,
      end: today + d + spike.end * MINUTE_MS,
    })),
  );
  const warm = windows.filter((w) => w.warmFrom <= at && at < w.end);
  const waiting = windows.filter((w) => !warm.includes(w));
  const over =
    warm.length === 0
      ? windows.filter((w) => w.end <= at && at - w.end < tailMinutes * MINUTE_MS).map((w) => w.end)
      : [];
  return { warm, waiting, ...(over.length > 0 ? { ended: Math.max(...over) } : {}) };
}
