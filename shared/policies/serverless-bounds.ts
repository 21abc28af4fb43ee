import {
  ACU_HOUR_USD,
  GIB_PER_ACU,
  invalidBounds,
  MAX_ACU,
  roundUpAcu,
  smallestMin,
  supportsAutoPause,
} from '../aws/aurora-serverless.ts';
import { classHourlyPrice, type InstanceClass, instanceClass } from '../aws/instance-classes.ts';
import type { Action, Evidence, Plan, ResourceRef, RuleCheck } from '../core/model.ts';
import { HOURS_PER_MONTH } from '../pricing.ts';
import { type LearnedSpike, type SpikeWindow, spikeTiming } from './serverless-spikes.ts';

/**
 * How an Aurora Serverless v2 cluster's capacity bounds are decided, in named pure steps:
 *
 *   minimumInEffect (input) -> dayProfile -> quietWeekday -> quietSoFar -> overdueLoad
 *     -> spikeTiming (./serverless-spikes.ts) -> forecastPeak -> recommendMin -> recommendMax
 *     -> constrainBounds
 *     -> autoPauseAdvice -> provisionedAdvice -> planServerlessBounds
 *
 * Inputs are what CloudWatch publishes (late): ServerlessDatabaseCapacity (the capacity the
 * instance scaled to, which follows demand until it hits MaxCapacity), ACUUtilization (capacity /
 * MaxCapacity: 100% means demand is capped), DatabaseConnections; and DescribeDBClusters'
 * ServerlessV2ScalingConfiguration. Demand itself is never published.
 *
 * Why the minimum matters: scaling up is fast from a high capacity and slow from a low one, and
 * a low minimum empties the buffer cache; so the minimum is raised ahead of the peaks history
 * shows at this hour (walk-forward, as DynamoDB pre-warming does) and lowered in quiet hours.
 * The maximum is the cost guard: above every recent peak with headroom, within the config's
 * ceiling, raised at once when ACUUtilization sits at 100%.
 */

export interface ServerlessObservation {
  clusterId: string;
  engine: string;
  engineVersion: string;
  observedAt: string;
  /** DescribeDBClusters Status: a change waits while it is not `available` (ModifyDBCluster's InvalidDBClusterStateFault). */
  status?: string;
  current: { min: number; max: number; secondsUntilAutoPause?: number };
  /** Readers in promotion tiers 0-1 (they scale with the writer and are billed alike). */
  followingReaders: number;
  /** Last hour at 60 s (oldest first, newest published minute last): Average capacity, ACUUtilization, connections. */
  recent: {
    capacity: Array<number | null>;
    acuUtilization: Array<number | null>;
    connections: Array<number | null>;
    /** Shown as evidence with each decision (what a person checks): CPU %, FreeableMemory bytes, BufferCacheHitRatio %. */
    cpu?: Array<number | null>;
    freeableMemory?: Array<number | null>;
    bufferCacheHitRatio?: Array<number | null>;
    /** End of the newest published minute (ISO); without it the minutes' times are unknown. */
    end?: string;
  };
  /**
   * Recurring spikes learned at minute resolution from 60-s DatabaseConnections (read at most
   * hourly; ./serverless-spikes.ts). Without them the 15-min profile alone decides.
   */
  spikes?: readonly LearnedSpike[];
  /**
   * The last days in `periodMinutes` buckets (15 by default; GetMetricData at 900 s): Maximum and
   * Average capacity and Maximum connections, oldest first, the last entry the newest complete one.
   */
  history: {
    periodMinutes: number;
    capacityMax: Array<number | null>;
    capacityMean: Array<number | null>;
    connectionsMax: Array<number | null>;
    /** End of the newest bucket (ISO). */
    end: string;
    /**
     * The highest MinCapacity in effect during each bucket (minimumInEffect, from db-autopilot's own
     * recorded changes; null where unknown): capacity at or below it shows the minimum, not demand.
     */
    minInEffect?: Array<number | null>;
  };
}

export interface ServerlessSettings {
  /** Minimum as a fraction of the peak expected in the look-ahead (how close to the peak to keep). */
  warmFraction: number;
  /** Minimum as a fraction of a peak that history shows arriving in a step (see sharpRiseRatio). */
  sharpWarmFraction: number;
  /** A bucket whose peak is at least this many times the previous bucket's (same day) is a step. */
  sharpRiseRatio: number;
  /** Minutes ahead whose history sets the minimum. */
  lookaheadMinutes: number;
  /** Minutes of the newest published capacity that set the minimum's level now (the current load, not an old spike). */
  recentMinutes: number;
  /** Minutes before a learned spike's earliest onset the minimum is raised (the run schedule and cache warm-up). */
  spikeLeadMinutes: number;
  /** Days of history in the hour-of-day profile. */
  profileDays: number;
  /** Maximum = recent peak x this. */
  maxHeadroom: number;
  /** Never set MaxCapacity above this (the cost guard; default: none, AWS's 256). */
  maxCapacityCeiling: number;
  /** Never set MinCapacity below this (0.5, or 0 to allow auto-pause where supported). */
  minCapacityFloor: number;
  /** Recommend auto-pause after this many hours without a connection. */
  idleHoursForPause: number;
  /** Set MinCapacity 0 (auto-pause) rather than only recommend it. */
  allowAutoPause: boolean;
  secondsUntilAutoPause: number;
  /** Change MinCapacity only when it moves by at least this many ACU. */
  minChangeAcu: number;
  /** Hourly mean p10 / p90 at or above this: steady enough for a provisioned instance. */
  steadyRatio: number;
  acuHourUsd: number;
}

export const DEFAULT_SERVERLESS_SETTINGS: ServerlessSettings = {
  warmFraction: 0.6,
  sharpWarmFraction: 0.85,
  sharpRiseRatio: 2,
  lookaheadMinutes: 30,
  recentMinutes: 10,
  spikeLeadMinutes: 5,
  profileDays: 7,
  maxHeadroom: 1.5,
  maxCapacityCeiling: MAX_ACU,
  minCapacityFloor: 0.5,
  idleHoursForPause: 4,
  allowAutoPause: false,
  secondsUntilAutoPause: 300,
  minChangeAcu: 1,
  steadyRatio: 0.6,
  acuHourUsd: ACU_HOUR_USD,
};

const known = (xs: Array<number | null>): number[] =>
  xs.filter((x): x is number => x !== null && Number.isFinite(x));
const maxOf = (xs: Array<number | null>): number => Math.max(0, ...known(xs));

/**
 * Capacity while nobody was connected is the minimum the cluster was held at, not demand: counted
 * as 0, so a profile learned under a high minimum does not keep that minimum forever. Where the
 * connections are unknown (or the series do not line up) the capacity counts as it is.
 */
function demandShown(
  capacity: Array<number | null>,
  connections: Array<number | null>,
): Array<number | null> {
  if (capacity.length !== connections.length) return capacity;
  return capacity.map((c, i) => (connections[i] === 0 ? 0 : c));
}

/**
 * History buckets where the capacity did not move (Maximum = Average) show MinCapacity holding it:
 * demand was at most that, by how much is not published (Aurora scales an instance down to what
 * its load needs, never below the minimum). Such a bucket is no evidence of demand at that time of
 * day and counts as 0, else a minimum set by a person (or by db-autopilot ahead of a peak) is
 * learned back as load and never comes down in quiet hours. A bucket held at MaxCapacity is the
 * opposite (demand at least that): kept. The recent minutes count as they are: a minimum held now
 * is lowered to warmFraction of it, run after run, until the capacity moves with the load again.
 */
function withoutHeld(
  capacity: Array<number | null>,
  held: (i: number) => boolean,
  max: number,
): Array<number | null> {
  return capacity.map((c, i) => (c !== null && c > 0 && c < max && held(i) ? 0 : c));
}

/**
 * Demand the history buckets show: no connection -> 0; held at the minimum -> 0: the capacity did
 * not move (Maximum = Average), or it never rose above the MinCapacity in effect (minInEffect: a
 * bucket where the minimum was raised shows the capacity rising to it, and that is the minimum's
 * doing, not load; learned back as load, a pre-warm would pre-warm the bucket before it the next
 * day, and so on).
 */
function historyDemand(obs: ServerlessObservation): Array<number | null> {
  const h = obs.history;
  const flat = (i: number) => {
    const hi = h.capacityMax[i];
    const mean = h.capacityMean[i];
    return hi != null && mean != null && Math.abs(hi - mean) < 1e-6;
  };
  const atMinimum = (i: number) => {
    const min = h.minInEffect?.[i];
    const hi = h.capacityMax[i];
    return min != null && hi != null && hi <= min + 1e-6;
  };
  return demandShown(
    withoutHeld(h.capacityMax, (i) => flat(i) || atMinimum(i), obs.current.max),
    h.connectionsMax,
  );
}

/** A bounds change in effect from `at` (ISO): db-autopilot's applied set-serverless-bounds decisions. */
export interface MinimumChange {
  at: string;
  from: number;
  to: number;
}

/**
 * Input step: the highest MinCapacity in effect during each history bucket, from db-autopilot's own
 * applied changes (oldest first or not): before the first change, its `from`; after each, its `to`.
 * Buckets of `count` buckets of `periodMinutes` ending at `end`. Without a change: all unknown (a
 * minimum nobody recorded is not guessed).
 */
export function minimumInEffect(
  changes: readonly MinimumChange[],
  grid: { end: string; periodMinutes: number; count: number },
): Array<number | null> {
  const sorted = [...changes].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const first = sorted[0];
  if (!first) return Array.from({ length: grid.count }, () => null);
  const period = grid.periodMinutes * 60_000;
  const start = Date.parse(grid.end) - grid.count * period;
  // One sweep: the minimum at each bucket's start, and the highest one set during it.
  let inEffect = first.from;
  let next = 0;
  const atOf = (k: number) => Date.parse(sorted[k]?.at ?? '');
  return Array.from({ length: grid.count }, (_, i) => {
    const from = start + i * period;
    for (; next < sorted.length && atOf(next) <= from; next++) inEffect = sorted[next]?.to ?? inEffect;
    let highest = inEffect;
    for (; next < sorted.length && atOf(next) < from + period; next++) {
      inEffect = sorted[next]?.to ?? inEffect;
      highest = Math.max(highest, inEffect);
    }
    return highest;
  });
}

/** What history shows for one bucket of the day: the highest peak, and the steepest rise into it. */
export interface BucketProfile {
  peak: number;
  /** Highest ratio, on one day, of this bucket's peak to the previous bucket's (Infinity from no load). */
  rise: number;
}

/**
 * Step 1: for each bucket of the day (15 minutes by default), the highest peak over the last
 * `days` days, and how steeply the load rose into it on the same day (a step, or a ramp). With
 * `onDay` (a UTC day number, epoch ms / 86,400,000), only that day's buckets count.
 */
export function dayProfile(
  obs: ServerlessObservation,
  days: number,
  onDay?: number,
): Map<number, BucketProfile> {
  const h = obs.history;
  const perDay = Math.round(1440 / h.periodMinutes);
  const end = Date.parse(h.end);
  const values = historyDemand(obs).slice(-days * perDay);
  // The rise is measured from the capacity the bucket before showed, held or not (a held bucket's
  // demand was at most its capacity: the rise from it is at least this), and from 0 without load.
  const levels = demandShown(h.capacityMax, h.connectionsMax).slice(-days * perDay);
  const profile = new Map<number, BucketProfile>();
  values.forEach((v, i) => {
    if (v === null) return;
    const at = end - (values.length - i) * h.periodMinutes * 60_000;
    if (onDay !== undefined && Math.floor(at / DAY_MS) !== onDay) return;
    const bucket = Math.floor((at % DAY_MS) / (h.periodMinutes * 60_000));
    const before = levels[i - 1];
    const rise = before == null ? 1 : before > 0 ? v / before : v > 0 ? Number.POSITIVE_INFINITY : 1;
    const seen = profile.get(bucket) ?? { peak: 0, rise: 1 };
    profile.set(bucket, { peak: Math.max(seen.peak, v), rise: Math.max(seen.rise, rise) });
  });
  return profile;
}

const DAY_MS = 86_400_000;
/** Days of history read: the profile's days, and at least the whole same weekday a week ago (step 1b). */
export const WEEKDAY_HISTORY_DAYS = 8;
export const historyDaysRead = (s: Pick<ServerlessSettings, 'profileDays'>): number =>
  Math.max(s.profileDays, WEEKDAY_HISTORY_DAYS);
/** A day whose highest demand is below this fraction of the other days' median is a quiet day. */
export const QUIET_DAY_RATIO = 0.5;
/** Today is not like its quiet weekday a week ago once its demand exceeds that day's capacity by this factor. */
export const BUSIER_THAN_QUIET = 1.25;

/** The history's buckets with their start time (ms): demand shown (held -> 0) and the capacity level. */
function historyBuckets(obs: ServerlessObservation) {
  const h = obs.history;
  const end = Date.parse(h.end);
  const demand = historyDemand(obs);
  const levels = demandShown(h.capacityMax, h.connectionsMax);
  return demand.map((d, i) => ({
    at: end - (demand.length - i) * h.periodMinutes * 60_000,
    demand: d,
    level: levels[i] ?? null,
    connections: h.connectionsMax[i] ?? null,
  }));
}

/**
 * Step 1b: does the day of the week matter for `day` (a UTC day number)? Learned walk-forward from
 * the history alone: the same weekday a week ago (wholly in the history) was a quiet day (its
 * highest demand below QUIET_DAY_RATIO of the other complete days' median), and `day` so far has
 * not been busier than that day was at the same hours (its demand never above BUSIER_THAN_QUIET x
 * the capacity that day showed). Then that day's own profile is the forecast for `day`, not the
 * highest of all days (a weekend is not forecast from the weekdays). Otherwise undefined.
 */
export function quietWeekday(obs: ServerlessObservation, day: number): string | undefined {
  const buckets = historyBuckets(obs);
  const first = buckets[0]?.at;
  const ref = day - 7;
  if (first === undefined || first > ref * DAY_MS) return undefined;
  const quiet = quietAgainstOthers(obs, buckets, ref);
  if (!quiet) return undefined;
  // The same day so far against the quiet day at the same hours (its capacity: an upper bound of its demand).
  const refLevel = new Map(
    buckets.filter((b) => Math.floor(b.at / DAY_MS) === ref).map((b) => [b.at % DAY_MS, b.level ?? 0]),
  );
  const busier = buckets.some(
    (b) =>
      Math.floor(b.at / DAY_MS) === day &&
      (b.demand ?? 0) > BUSIER_THAN_QUIET * (refLevel.get(b.at % DAY_MS) ?? 0),
  );
  if (busier) return undefined;
  const weekday = new Date(ref * DAY_MS).toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' });
  return `${weekday} a week ago was a quiet day (${quiet}) and this day so far has not been busier: forecast from that ${weekday}`;
}

/**
 * `day`'s most connections in the history (whole, or so far when it is the newest) below
 * QUIET_DAY_RATIO of the median of the other complete days' (at least 3): the figures, else
 * undefined. Connections: the load signal a minimum held above demand does not hide (the capacity
 * of a quiet day held at a weekday's minimum looks like a weekday's).
 */
function quietAgainstOthers(
  obs: ServerlessObservation,
  buckets: ReturnType<typeof historyBuckets>,
  day: number,
): string | undefined {
  const first = buckets[0]?.at;
  if (first === undefined) return undefined;
  const end = Date.parse(obs.history.end);
  const peaks = new Map<number, number>();
  let dayPeak: number | undefined;
  for (const b of buckets) {
    const d = Math.floor(b.at / DAY_MS);
    if (b.connections === null) continue;
    if (d === day) dayPeak = Math.max(dayPeak ?? 0, b.connections);
    else if (d * DAY_MS >= first && (d + 1) * DAY_MS <= end)
      peaks.set(d, Math.max(peaks.get(d) ?? 0, b.connections));
  }
  const others = [...peaks.values()];
  if (dayPeak === undefined || others.length < 3) return undefined;
  const median = others.sort((a, b) => a - b)[Math.floor(others.length / 2)] ?? 0;
  return dayPeak < QUIET_DAY_RATIO * median
    ? `at most ${dayPeak} connections, the other days' median ${median}`
    : undefined;
}

/** `day`'s weekday a week ago is wholly in the history and was not a quiet day (step 1d's evidence). */
function busyWeekAgo(obs: ServerlessObservation, day: number): boolean {
  const buckets = historyBuckets(obs);
  const first = buckets[0]?.at;
  const ref = day - 7;
  if (first === undefined || first > ref * DAY_MS || (ref + 1) * DAY_MS > Date.parse(obs.history.end))
    return false;
  return quietAgainstOthers(obs, buckets, ref) === undefined;
}

/**
 * Step 1d: is `today` (a UTC day number) a quiet day so far, judged from its own buckets against
 * the other complete days (no week-ago day needed)? Then a look-ahead reaching into a next day
 * whose weekday a week ago was a busy day (wholly in the history, not quiet) and that is not
 * forecast quiet (step 1b) expects that day's load at midnight in a step: the load of a quiet day
 * (a weekend) does not ramp into a busy one's (a Monday's), the day's level changes at once.
 */
export function quietSoFar(obs: ServerlessObservation, today: number): string | undefined {
  const buckets = historyBuckets(obs);
  const first = buckets[0]?.at;
  // The day's first bucket must be in the history (a day seen only in part is not judged).
  if (first === undefined || first > today * DAY_MS) return undefined;
  return quietAgainstOthers(obs, buckets, today);
}

/**
 * Step 2a: is the load history expects overdue? The cluster has had no connection for longer than
 * any quiet stretch in the history (in minutes): the day is not like the days before (a weekend, a
 * holiday), so the hours' profile is not believed until a connection comes.
 */
export function overdueLoad(obs: ServerlessObservation): { overdue: boolean; idleMinutes: number } {
  const h = obs.history;
  // Quiet stretches that began and ended inside the history (the first one may have begun before).
  let longest = 0;
  let run = 0;
  let loaded = false;
  for (const c of h.connectionsMax) {
    if (c === 0) run++;
    else if (c !== null) {
      if (loaded) longest = Math.max(longest, run);
      loaded = true;
      run = 0;
    }
  }
  const recent = obs.recent.connections;
  const recentIdle = recent.length > 0 && recent.every((c) => c === 0);
  // The quiet stretch still going on: the trailing history buckets (the recent minutes agree).
  const idleMinutes = recentIdle ? run * h.periodMinutes : 0;
  const longestMinutes = longest * h.periodMinutes;
  return { overdue: longest > 0 && idleMinutes > longestMinutes + OVERDUE_MARGIN_MINUTES, idleMinutes };
}

/** How much longer than any quiet stretch seen a quiet stretch must last to be a day unlike the others. */
export const OVERDUE_MARGIN_MINUTES = 120;

/**
 * The newest published minutes the minimum's level follows now: the last `minutes`, but none
 * from before `since` (ms: a learned spike's end) when their times are known.
 */
function recentDemand(obs: ServerlessObservation, minutes: number, since?: number): Array<number | null> {
  const shown = demandShown(obs.recent.capacity, obs.recent.connections);
  if (since === undefined || obs.recent.end === undefined) return shown.slice(-minutes);
  const after = Math.max(0, Math.min(minutes, Math.floor((Date.parse(obs.recent.end) - since) / 60_000)));
  return after === 0 ? [] : shown.slice(-after);
}

/** The profile forecasting `day` (a UTC day number): a quiet weekday's own, or every day's (steps 1, 1b). */
function profiles(obs: ServerlessObservation, s: ServerlessSettings) {
  const allDays = dayProfile(obs, s.profileDays);
  const perDay = Math.round(1440 / obs.history.periodMinutes);
  const wholeHistory = Math.ceil(obs.history.capacityMax.length / perDay);
  const byDay = new Map<number, { profile: Map<number, BucketProfile>; quiet?: string }>();
  return (day: number) => {
    if (!byDay.has(day)) {
      const quiet = quietWeekday(obs, day);
      byDay.set(
        day,
        quiet ? { profile: dayProfile(obs, wholeHistory, day - 7), quiet } : { profile: allDays },
      );
    }
    return byDay.get(day) as { profile: Map<number, BucketProfile>; quiet?: string };
  };
}

/**
 * The look-ahead's buckets (step 2's seasonal part): their highest peak and steepest rise. A bucket
 * a learned spike explains (from its raise to recentMinutes after its end) waits for the spike's
 * own lead (step 1c) instead of raising the minimum up to a whole bucket's look-ahead early.
 * `dayStep`: the look-ahead reaches past midnight from a quiet day into one not forecast quiet
 * (step 1d): the next day's buckets arrive in a step, whatever rise the profile shows into them.
 */
function seasonalPeak(
  obs: ServerlessObservation,
  s: ServerlessSettings,
  profileFor: ReturnType<typeof profiles>,
  spikes: SpikeWindow[],
): { seasonal: number; rise: number; quiet?: string; dayStep?: string } {
  const period = obs.history.periodMinutes * 60_000;
  const now = Date.parse(obs.observedAt);
  const today = Math.floor(now / DAY_MS);
  let seasonal = 0;
  let rise = 1;
  let quiet: string | undefined;
  let dayStep: string | undefined;
  for (let at = now; at <= now + s.lookaheadMinutes * 60_000; at += period) {
    const day = profileFor(Math.floor(at / DAY_MS));
    quiet ??= day.quiet;
    const from = Math.floor(at / period) * period;
    if (spikes.some((w) => from < w.end + s.recentMinutes * 60_000 && w.warmFrom < from + period)) continue;
    const b = day.profile.get(Math.floor((at % DAY_MS) / period));
    seasonal = Math.max(seasonal, b?.peak ?? 0);
    rise = Math.max(rise, b?.rise ?? 1);
    const next = Math.floor(at / DAY_MS);
    if (!dayStep && next !== today && !day.quiet && (b?.peak ?? 0) > 0 && busyWeekAgo(obs, next)) {
      const quietToday = quietSoFar(obs, today);
      if (quietToday)
        dayStep = `today a quiet day (${quietToday}), the next day's weekday a week ago a busy one`;
    }
  }
  return { seasonal, rise, ...(quiet ? { quiet } : {}), ...(dayStep ? { dayStep } : {}) };
}

/** Step 1c: the peak the 15-min profile shows in the buckets of a learned spike due now (0 if none). */
function spikePeak(
  obs: ServerlessObservation,
  profileFor: ReturnType<typeof profiles>,
  warm: SpikeWindow[],
): number {
  const period = obs.history.periodMinutes * 60_000;
  let peak = 0;
  for (const w of warm)
    for (let from = Math.floor(w.onset / period) * period; from < w.end; from += period) {
      const b = profileFor(Math.floor(from / DAY_MS)).profile.get(Math.floor((from % DAY_MS) / period));
      peak = Math.max(peak, b?.peak ?? 0);
    }
  return peak;
}

const clock = (minute: number): string =>
  `${String(Math.floor(minute / 60) % 24).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/**
 * Step 2: the peak to expect in the look-ahead: history at these times of day, a learned spike due
 * now, and the last minutes' own peak (after a learned spike's end, only the minutes since).
 * `settling`: a learned spike ended within the last 2 x recentMinutes: the capacity since is Aurora
 * scaling down from it (gradually), not load: the minimum does not go back up on it.
 */
export function forecastPeak(
  obs: ServerlessObservation,
  s: ServerlessSettings,
): { peak: number; sharp: boolean; settling: boolean; why: string } {
  const profileFor = profiles(obs, s);
  const now = Date.parse(obs.observedAt);
  const timing = spikeTiming(obs.spikes ?? [], new Date(now), s.spikeLeadMinutes, 2 * s.recentMinutes);
  const since =
    timing.ended !== undefined && now - timing.ended < s.recentMinutes * 60_000 ? timing.ended : undefined;
  const look = seasonalPeak(obs, s, profileFor, [...timing.warm, ...timing.waiting]);
  let { seasonal, rise } = look;
  const { quiet, dayStep } = look;
  let spike = spikePeak(obs, profileFor, timing.warm);
  const late = overdueLoad(obs);
  if (late.overdue) {
    seasonal = 0;
    rise = 1;
    spike = 0;
  }
  const midnightStep = !late.overdue && dayStep !== undefined;
  const recent = maxOf(recentDemand(obs, s.recentMinutes, since));
  const peak = Math.max(seasonal, recent, spike);
  const history = late.overdue
    ? `no connection for ${Math.round(late.idleMinutes / 60)} h, longer than any quiet stretch in the last ${s.profileDays} days: the load history expects is not coming today`
    : `the next ${s.lookaheadMinutes} min of the day ${quiet ? `(${quiet})` : `over the last ${s.profileDays} days`}: ${seasonal.toFixed(1)}`;
  const due = timing.warm[0]?.spike;
  const spikeWhy =
    due && spike > 0
      ? `, a spike recurring at ${clock(due.onset)}-${clock(due.end)} UTC on ${due.days} days (connections, minute by minute): ${spike.toFixed(1)}`
      : '';
  // A step (the load more than doubled within one bucket on some day, or came from none; or a
  // learned spike) is not followed by scaling from a low capacity: the minimum sits close to its top.
  // A quiet day's end into a busy day (step 1d) is a step too, even when the last minutes show the
  // capacity the minimum raised for it (held there: not today's load).
  const stepped = (seasonal > recent && rise >= s.sharpRiseRatio) || (midnightStep && seasonal > 0);
  const sharp = stepped || (spike > recent && spike >= seasonal);
  return {
    peak,
    sharp,
    settling: timing.ended !== undefined,
    why: `expected peak ${peak.toFixed(1)} ACU (${history}${spikeWhy}${stepped && !spikeWhy ? (rise >= s.sharpRiseRatio ? `, reached in a step (x${Number.isFinite(rise) ? rise.toFixed(1) : 'from no load'} within ${obs.history.periodMinutes} min)` : `, reached in a step at midnight (${dayStep})`) : ''}; last ${s.recentMinutes} min: ${recent.toFixed(1)})`,
  };
}

/** Step 3: MinCapacity: warmFraction of the expected peak, so a ramp starts from a warm, high capacity. */
export function recommendMin(forecast: { peak: number; sharp: boolean }, s: ServerlessSettings): number {
  const fraction = forecast.sharp ? Math.max(s.warmFraction, s.sharpWarmFraction) : s.warmFraction;
  return Math.max(s.minCapacityFloor, roundUpAcu(forecast.peak * fraction));
}

/** Step 4: MaxCapacity: every peak of the profile with headroom; doubled at once when capped (ACUUtilization 100%). */
export function recommendMax(
  obs: ServerlessObservation,
  s: ServerlessSettings,
): { max: number; capped: boolean; why: string } {
  const perDay = Math.round(1440 / obs.history.periodMinutes);
  const historyPeak = Math.max(
    maxOf(obs.history.capacityMax.slice(-s.profileDays * perDay)),
    maxOf(obs.recent.capacity),
  );
  const util = known(obs.recent.acuUtilization).slice(-5);
  const capped = util.length > 0 && Math.max(...util) >= 99;
  // Raised when capped or below the peaks with headroom; otherwise the person's maximum stays
  // (a maximum above need costs nothing until used; the ceiling below is the cost guard).
  const wanted = capped ? obs.current.max * 2 : Math.max(obs.current.max, historyPeak * s.maxHeadroom);
  return {
    max: roundUpAcu(Math.max(wanted, historyPeak, 1)),
    capped,
    why: capped
      ? `ACUUtilization at ${Math.max(...util).toFixed(0)}%: demand is capped by MaxCapacity ${obs.current.max}: double it`
      : `highest capacity over ${s.profileDays} days ${historyPeak.toFixed(1)} ACU x ${s.maxHeadroom}`,
  };
}

/** Step 5: AWS's rules and the config's limits: 0.5 steps, [0 or 0.5, 256], the ceiling, max >= min, never below a recent peak. */
export function constrainBounds(
  obs: ServerlessObservation,
  wanted: { min: number; max: number },
  s: ServerlessSettings,
): { min: number; max: number; notes: string[] } {
  const notes: string[] = [];
  const floor = Math.max(s.minCapacityFloor, smallestMin(obs.engine, obs.engineVersion));
  const recentPeak = roundUpAcu(
    Math.max(
      maxOf(obs.recent.capacity),
      maxOf(obs.history.capacityMax.slice(-Math.round(1440 / obs.history.periodMinutes))),
    ),
  );
  let max = Math.min(MAX_ACU, s.maxCapacityCeiling, wanted.max);
  if (max < recentPeak) {
    // Never below a recent peak, and never raised above the ceiling: keep what the person set.
    const kept = Math.max(
      Math.min(obs.current.max, recentPeak),
      Math.min(MAX_ACU, s.maxCapacityCeiling, recentPeak),
    );
    notes.push(`MaxCapacity ${max} would be below the recent peak ${recentPeak} ACU: kept at ${kept}`);
    max = kept;
  }
  const min = Math.min(max, Math.max(floor, wanted.min));
  return { min, max: Math.max(max, min, 1), notes };
}

/** Step 6: no connection for hours: recommend (or set) MinCapacity 0 with auto-pause, where the version allows. */
export function autoPauseAdvice(
  obs: ServerlessObservation,
  s: ServerlessSettings,
): { pause: boolean; idle: boolean; why?: string } {
  const buckets = Math.round((s.idleHoursForPause * 60) / obs.history.periodMinutes);
  const hours = obs.history.connectionsMax.slice(-buckets);
  const idle = hours.length === buckets && hours.every((h) => h === 0) && maxOf(obs.recent.connections) === 0;
  if (!idle) return { pause: false, idle: false };
  if (!supportsAutoPause(obs.engine, obs.engineVersion))
    return {
      pause: false,
      idle: true,
      why: `${obs.clusterId} had no connection for ${s.idleHoursForPause} h: upgrade ${obs.engine} ${obs.engineVersion} to a version with auto-pause (0 ACU) to stop paying for its minimum`,
    };
  return {
    pause: s.allowAutoPause,
    idle: true,
    why: `${obs.clusterId} had no connection for ${s.idleHoursForPause} h: MinCapacity 0 pauses it after ${s.secondsUntilAutoPause} s idle (no instance charge; the next connection waits about 15 s to resume)`,
  };
}

/** Step 7: steady load: a provisioned instance may be cheaper (monthly USD, both sides). */
export function provisionedAdvice(
  obs: ServerlessObservation,
  s: ServerlessSettings,
  prices: Record<string, number>,
): string | undefined {
  const perDay = Math.round(1440 / obs.history.periodMinutes);
  const means = known(obs.history.capacityMean.slice(-s.profileDays * perDay)).sort((a, b) => a - b);
  if (means.length < 2 * perDay) return undefined;
  const p = (q: number) => means[Math.min(means.length - 1, Math.floor(q * means.length))] ?? 0;
  if (p(0.9) <= 0 || p(0.1) / p(0.9) < s.steadyRatio) return undefined;
  const nodes = 1 + obs.followingReaders;
  const serverless =
    (means.reduce((a, b) => a + b, 0) / means.length) * s.acuHourUsd * HOURS_PER_MONTH * nodes;
  const gib = maxOf(obs.history.capacityMax) * GIB_PER_ACU;
  const cls = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge']
    .map((size) => instanceClass(`db.r6g.${size}`))
    .find((c): c is InstanceClass => c !== undefined && c.memoryGiB >= gib);
  const hour = cls ? classHourlyPrice(cls.name, true, prices) : undefined;
  if (!cls || hour === undefined) return undefined;
  const provisioned = hour * HOURS_PER_MONTH * nodes;
  if (provisioned >= 0.85 * serverless) return undefined;
  return `load is steady (p10 ${p(0.1).toFixed(1)} / p90 ${p(0.9).toFixed(1)} ACU): ${cls.name} (${cls.memoryGiB} GiB) would cost about $${provisioned.toFixed(0)} a month against about $${serverless.toFixed(0)} on Serverless v2 (${nodes} instance${nodes > 1 ? 's' : ''}); a person's call (a class change fails over)`;
}

/** The last `recentMinutes` published minutes sat at the current minimum: it holds the capacity above the load. */
export function heldAtMinimum(obs: ServerlessObservation, s: ServerlessSettings): boolean {
  const last = obs.recent.capacity.slice(-s.recentMinutes);
  return (
    last.length >= s.recentMinutes && last.every((c) => c !== null && Math.abs(c - obs.current.min) < 1e-6)
  );
}

/** Step 8: the plan: one ModifyDBCluster when the bounds move enough, and the advice. */
export function planServerlessBounds(
  obs: ServerlessObservation,
  s: ServerlessSettings,
  prices: Record<string, number>,
): Plan {
  const ref: ResourceRef = { kind: 'aurora-cluster', id: obs.clusterId };
  const forecast = forecastPeak(obs, s);
  const pause = autoPauseAdvice(obs, s);
  // Idle for hours: the forecast counts no demand where nobody was connected, so the minimum goes to
  // the floor unless history expects load in the look-ahead (or to 0 with auto-pause).
  // Right after a learned spike the minimum only comes down (its tail is not load).
  const wantedMin = pause.pause
    ? 0
    : forecast.settling
      ? Math.min(recommendMin(forecast, s), obs.current.min)
      : recommendMin(forecast, s);
  const max = recommendMax(obs, s);
  const bounds = constrainBounds(
    obs,
    { min: wantedMin, max: max.max },
    { ...s, minCapacityFloor: pause.pause ? 0 : s.minCapacityFloor },
  );
  const evidence = serverlessEvidence(obs);
  const nodes = 1 + obs.followingReaders;
  const monthly = (min: number) => min * s.acuHourUsd * HOURS_PER_MONTH * nodes;
  const actions: Action[] = [];
  const minMoves =
    Math.abs(bounds.min - obs.current.min) >= s.minChangeAcu ||
    (bounds.min === 0) !== (obs.current.min === 0) ||
    (pause.idle && bounds.min < obs.current.min) ||
    // A minimum below the config's floor is raised to it, however small the step.
    (!pause.pause && obs.current.min < s.minCapacityFloor && bounds.min > obs.current.min) ||
    // A minimum holding the capacity above the load comes down, however small the step.
    (bounds.min < obs.current.min && heldAtMinimum(obs, s));
  const maxMoves =
    bounds.max !== obs.current.max &&
    (max.capped ||
      bounds.max > obs.current.max ||
      obs.current.max - bounds.max >= Math.max(2, 0.25 * obs.current.max));
  const next = {
    min: minMoves ? bounds.min : obs.current.min,
    max: Math.max(maxMoves ? bounds.max : obs.current.max, minMoves ? bounds.min : obs.current.min),
    ...(pause.pause || (minMoves ? bounds.min : obs.current.min) === 0
      ? { secondsUntilAutoPause: obs.current.secondsUntilAutoPause ?? s.secondsUntilAutoPause }
      : {}),
  };
  const invalid = invalidBounds(next, obs.engine, obs.engineVersion);
  if ((minMoves || maxMoves) && !invalid) {
    actions.push({
      tuner: 'serverless',
      resource: ref,
      kind: 'set-serverless-bounds',
      from: obs.current,
      to: next,
      reason: [
        minMoves
          ? `MinCapacity ${obs.current.min} -> ${next.min} ACU: ${pause.idle ? pause.why : `${forecast.why}, kept at ${forecast.sharp ? Math.max(s.warmFraction, s.sharpWarmFraction) : s.warmFraction} of it so a ramp starts warm`}`
          : undefined,
        maxMoves ? `MaxCapacity ${obs.current.max} -> ${next.max} ACU: ${max.why}` : undefined,
        ...bounds.notes,
      ]
        .filter(Boolean)
        .join('; '),
      evidence,
      // The minimum is what is billed when idle: its change is the floor of the bill's change.
      monthlyCostDelta: Math.round((monthly(next.min) - monthly(obs.current.min)) * 100) / 100,
      undo: { kind: 'set-serverless-bounds', params: { clusterId: obs.clusterId, bounds: obs.current } },
      mutating: true,
      numericTarget: next.max,
      rules: [clusterAvailable(obs)],
      params: { clusterId: obs.clusterId, bounds: next },
    });
  }
  if (pause.why && !pause.pause) actions.push(advice(ref, pause.why, evidence, -monthly(obs.current.min)));
  const provisioned = provisionedAdvice(obs, s, prices);
  if (provisioned) actions.push(advice(ref, provisioned, evidence, 0));
  return {
    tuner: 'serverless',
    resource: ref,
    observedAt: obs.observedAt,
    actions,
    noopReason: `bounds ${obs.current.min}-${obs.current.max} ACU fit: ${forecast.why}; ${max.why}${invalid ? `; not changed: ${invalid}` : ''}`,
    noopEvidence: evidence,
  };
}

/** How long a change waits for a cluster that is not `available` before it is planned again. */
export const CLUSTER_BUSY_RETRY_MS = 5 * 60_000;

/** AWS rule: ModifyDBCluster needs an `available` cluster (RDS API reference, InvalidDBClusterStateFault). */
function clusterAvailable(obs: ServerlessObservation): RuleCheck {
  if (obs.status === undefined || obs.status === 'available')
    return { rule: 'aws:cluster-available', verdict: 'ok' };
  return {
    rule: 'aws:cluster-available',
    verdict: 'defer',
    until: new Date(Date.parse(obs.observedAt) + CLUSTER_BUSY_RETRY_MS).toISOString(),
    reason: `${obs.clusterId} is ${obs.status}: ModifyDBCluster needs an available cluster`,
  };
}

function advice(ref: ResourceRef, reason: string, evidence: Evidence[], monthlyCostDelta: number): Action {
  return {
    tuner: 'serverless',
    resource: ref,
    kind: 'recommend',
    from: null,
    to: { advice: reason.split(':')[0] },
    reason,
    evidence,
    monthlyCostDelta: Math.round(monthlyCostDelta * 100) / 100,
    undo: null,
    mutating: false,
    severity: 'info',
  };
}

function serverlessEvidence(obs: ServerlessObservation): Evidence[] {
  const end = obs.observedAt;
  const start = new Date(Date.parse(end) - obs.recent.capacity.length * 60_000).toISOString();
  const dims = { DBClusterIdentifier: obs.clusterId };
  return [
    {
      metric: 'ServerlessDatabaseCapacity',
      statistic: 'Maximum',
      value: maxOf(obs.recent.capacity),
      unit: 'ACU',
      window: { start, end, periodSeconds: 60 },
      namespace: 'AWS/RDS',
      dimensions: dims,
      series: obs.recent.capacity,
    },
    {
      metric: 'ACUUtilization',
      statistic: 'Maximum',
      value: maxOf(obs.recent.acuUtilization),
      unit: 'Percent',
      window: { start, end, periodSeconds: 60 },
      namespace: 'AWS/RDS',
      dimensions: dims,
    },
    ...(
      [
        ['DatabaseConnections', 'Maximum', 'Count', obs.recent.connections],
        ['CPUUtilization', 'Maximum', 'Percent', obs.recent.cpu],
        ['FreeableMemory', 'Minimum', 'Bytes', obs.recent.freeableMemory],
        ['BufferCacheHitRatio', 'Minimum', 'Percent', obs.recent.bufferCacheHitRatio],
      ] as const
    )
      .filter(([, , , series]) => series !== undefined && known(series).length > 0)
      .map(([metric, statistic, unit, series]) => {
        const values = known(series ?? []);
        return {
          metric,
          statistic,
          value: statistic === 'Minimum' ? Math.min(...values) : Math.max(...values),
          unit,
          window: { start, end, periodSeconds: 60 },
          namespace: 'AWS/RDS',
          dimensions: dims,
        };
      }),
  ];
}
