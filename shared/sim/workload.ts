/**
 * Workload models: demand over time for one resource (IOPS, CPU %, connections, capacity units
 * per second...). A Workload is a pure function of the time in ms; noise is deterministic (a hash
 * of the seed and the minute), so the same query always sees the same history.
 */
export type Workload = (tMs: number) => number;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function constant(value: number): Workload {
  return () => value;
}

/**
 * A daily curve: `base` most of the day, rising to `peak` around `peakHourUtc` (a Gaussian bump
 * `widthHours` wide, wrapping around midnight). `weekendFactor` scales the bump on Sat/Sun.
 */
export function diurnal(opts: {
  base: number;
  peak: number;
  peakHourUtc: number;
  widthHours?: number;
  weekendFactor?: number;
}): Workload {
  const width = opts.widthHours ?? 2;
  return (t) => {
    const hour = (t % DAY) / HOUR;
    let d = Math.abs(hour - opts.peakHourUtc);
    d = Math.min(d, 24 - d);
    const day = new Date(t).getUTCDay();
    const factor = day === 0 || day === 6 ? (opts.weekendFactor ?? 1) : 1;
    return opts.base + (opts.peak - opts.base) * factor * Math.exp(-(d * d) / (2 * width * width));
  };
}

/** A flash sale: `extra` demand on top, ramping up over `rampMs` from `startMs` for `durationMs`. */
export function flashSale(opts: {
  startMs: number;
  durationMs: number;
  extra: number;
  rampMs?: number;
}): Workload {
  const ramp = opts.rampMs ?? 5 * 60_000;
  return (t) => {
    const into = t - opts.startMs;
    if (into < 0 || into >= opts.durationMs) return 0;
    const up = Math.min(1, into / ramp);
    const down = Math.min(1, (opts.durationMs - into) / ramp);
    return opts.extra * Math.min(up, down);
  };
}

/** Short spikes of `height` lasting `durationMs`, every `everyMs` (offset by `offsetMs`). */
export function spikes(opts: {
  everyMs: number;
  durationMs: number;
  height: number;
  offsetMs?: number;
}): Workload {
  return (t) => {
    const phase = (((t - (opts.offsetMs ?? 0)) % opts.everyMs) + opts.everyMs) % opts.everyMs;
    return phase < opts.durationMs ? opts.height : 0;
  };
}

/** Random short bursts: in each hour, with probability `chance`, a burst of `height` for `durationMs`. */
export function randomBursts(opts: {
  seed: string;
  chance: number;
  height: number;
  durationMs: number;
}): Workload {
  return (t) => {
    const hour = Math.floor(t / HOUR);
    if (unitHash(opts.seed, hour) >= opts.chance) return 0;
    const start = hour * HOUR + Math.floor(unitHash(`${opts.seed}:at`, hour) * (HOUR - opts.durationMs));
    return t >= start && t < start + opts.durationMs ? opts.height : 0;
  };
}

export function sum(...parts: Workload[]): Workload {
  return (t) => parts.reduce((acc, w) => acc + w(t), 0);
}

export function scale(w: Workload, factor: number): Workload {
  return (t) => w(t) * factor;
}

export function fromFunction(fn: (tMs: number) => number): Workload {
  return (t) => Math.max(0, fn(t));
}

/** Multiplies by (1 ± pct) with deterministic per-minute noise. */
export function noisy(w: Workload, pct: number, seed: string): Workload {
  return (t) => {
    const u = unitHash(seed, Math.floor(t / 60_000));
    return Math.max(0, w(t) * (1 + (u * 2 - 1) * pct));
  };
}

/** Deterministic number in [0, 1) from a seed and an integer (FNV-1a, then xorshift). */
export function unitHash(seed: string, n: number): number {
  let h = 2166136261;
  const s = `${seed}:${n}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  h ^= h << 13;
  h ^= h >>> 17;
  h ^= h << 5;
  return (h >>> 0) / 4294967296;
}
