import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../core/random.ts';
import { formatTrace } from './trace.ts';
import type { Kind, Trace } from './types.ts';

/**
 * Deterministic, seeded demand traces. `npx tsx shared/backtest/generate-traces.ts` writes the
 * shipped ones to test/traces/<kind>/<shape>.csv (seed 1); tests and goal checks call
 * `generateTrace(kind, shape, { seed })` with other seeds for UNSEEN traces of the same shapes.
 * With `jitter: true` every recurring feature moves from one occurrence to the next, as real
 * traffic does: the daily peak by up to +-1 h and +-25 % in height per day, each recurring spike
 * by up to +-30 min (small ones +-5 min) and +-40 % (+-30 %), each sawtooth cycle 150-210 minutes
 * long and +-25 % high. The shipped traces are not jittered.
 */

export const SHAPES = {
  dynamodb: [
    'diurnal',
    'flash-sale',
    'sawtooth-3h',
    'slow-ramp',
    'weekly',
    'recurring-spikes',
    'sudden-drop',
    'idle-bursts',
  ],
  iops: ['diurnal', 'flash-sale', 'sawtooth-3h', 'slow-ramp'],
  replicas: ['diurnal', 'flash-sale', 'sawtooth-3h', 'slow-ramp'],
} as const satisfies Record<Kind, readonly string[]>;

export type Shape = (typeof SHAPES)[Kind][number];

/** Days per shape (weekly needs two weeks; the rest stay small). */
export const SHAPE_DAYS: Record<Shape, number> = {
  diurnal: 3,
  'flash-sale': 2,
  'sawtooth-3h': 2,
  'slow-ramp': 4,
  weekly: 14,
  'recurring-spikes': 3,
  'sudden-drop': 3,
  'idle-bursts': 7,
};

const DAY = 1440;

/** Shapes whose features recur (what `jitter` moves). */
export const RECURRING_SHAPES: readonly Shape[] = ['diurnal', 'sawtooth-3h', 'weekly', 'recurring-spikes'];

/** Per-occurrence jitter: none (plain) or drawn from its own seeded stream. */
interface Jitter {
  /** Daily peak shift (minutes) and height factor for day d. */
  day(d: number): { shift: number; amp: number };
  /** A value in [-1, 1) for occurrence k of a feature (stable per feature and k). */
  at(feature: string, k: number): number;
}

const NO_JITTER: Jitter = { day: () => ({ shift: 0, amp: 1 }), at: () => 0 };

function jitterFrom(seed: number): Jitter {
  const memo = new Map<string, number>();
  const at = (feature: string, k: number): number => {
    const key = `${feature}:${k}`;
    let v = memo.get(key);
    if (v === undefined) {
      let h = seed >>> 0;
      for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 2654435761) >>> 0;
      v = seededRandom(h)() * 2 - 1;
      memo.set(key, v);
    }
    return v;
  };
  return { day: (d) => ({ shift: Math.round(60 * at('shift', d)), amp: 1 + 0.25 * at('amp', d) }), at };
}

/** Start and height factor of occurrence k of a feature recurring every `every` minutes. */
function occurrence(
  j: Jitter,
  feature: string,
  k: number,
  every: number,
  offset: number,
  move: number,
  grow: number,
) {
  return {
    start: offset + k * every + Math.round(move * j.at(`${feature}:t`, k)),
    factor: 1 + grow * j.at(`${feature}:h`, k),
  };
}

/** Sawtooth cycles: plain 180-minute teeth, or 150-210 minutes long and +-25 % high with jitter. */
function sawtooth(minutes: number, j: Jitter, plain: boolean): Float64Array {
  const out = new Float64Array(minutes);
  let start = 0;
  for (let k = 0; start < minutes; k++) {
    const length = plain ? 180 : 180 + Math.round(30 * j.at('tooth:t', k));
    const height = plain ? 1 : 1 + 0.25 * j.at('tooth:h', k);
    for (let t = start; t < Math.min(minutes, start + length); t++) {
      out[t] = 0.2 + 0.8 * height * ((t - start) / length);
    }
    start += length;
  }
  return out;
}

/** A unitless demand profile (about 1 = typical daytime load) for a shape. */
function profile(shape: Shape, minutes: number, rnd: () => number, j: Jitter = NO_JITTER): number[] {
  const out: number[] = [];
  const plain = j === NO_JITTER;
  const noise = (): number => 1 + (rnd() + rnd() + rnd() - 1.5) * 0.08;
  const diurnal = (t: number): number => {
    const { shift, amp } = j.day(Math.floor(t / DAY));
    return 0.55 + 0.45 * amp * Math.sin((2 * Math.PI * ((t % DAY) - 8 * 60 - shift)) / DAY);
  };
  // Random but seeded features.
  const saleDay = 1;
  const saleStart = saleDay * DAY + 18 * 60 + Math.floor(rnd() * 120);
  const dropAt = Math.floor(DAY * (1.2 + rnd() * 0.6));
  const spikeEvery = 180 + Math.floor(rnd() * 3) * 60; // every 3-5 h
  const spikeOffset = Math.floor(rnd() * 60);
  const smallEvery = 30 + Math.floor(rnd() * 4) * 15; // every 30-75 min
  const teeth = shape === 'sawtooth-3h' ? sawtooth(minutes, j, plain) : undefined;
  const spikeAt = new Float64Array(shape === 'recurring-spikes' ? minutes : 0).fill(1);
  if (shape === 'recurring-spikes') {
    for (let k = 0; k * smallEvery < minutes + smallEvery; k++) {
      const o = occurrence(j, 'small', k, smallEvery, 0, 5, 0.3);
      for (let t = Math.max(0, o.start); t < Math.min(minutes, o.start + 3); t++) spikeAt[t] = 2.5 * o.factor;
    }
    for (let k = 0; spikeOffset + k * spikeEvery < minutes + spikeEvery; k++) {
      const o = occurrence(j, 'big', k, spikeEvery, spikeOffset, 30, 0.4);
      for (let t = Math.max(0, o.start); t < Math.min(minutes, o.start + 20); t++) spikeAt[t] = 6 * o.factor;
    }
  }
  const bursts: Array<{ start: number; length: number; height: number }> = [];
  if (shape === 'idle-bursts') {
    for (let t = 0; t < minutes; t++) {
      if (rnd() < 6 / DAY)
        bursts.push({ start: t, length: 5 + Math.floor(rnd() * 25), height: 0.3 + rnd() * 1.7 });
    }
  }
  for (let t = 0; t < minutes; t++) {
    let v: number;
    switch (shape) {
      case 'diurnal':
        v = diurnal(t);
        break;
      case 'flash-sale': {
        v = 0.25 + 0.1 * diurnal(t);
        const s = t - saleStart;
        if (s >= 0 && s < 5) v *= 1 + (9 * (s + 1)) / 5;
        else if (s >= 5 && s < 95) v *= 10;
        else if (s >= 95 && s < 155) v *= 10 - (9 * (s - 95)) / 60;
        break;
      }
      case 'sawtooth-3h':
        v = teeth?.[t] ?? 0.2;
        break;
      case 'slow-ramp':
        v = (0.25 + (0.75 * t) / minutes) * (0.85 + 0.15 * diurnal(t));
        break;
      case 'weekly': {
        const weekday = Math.floor(t / DAY) % 7; // minute 0 is a Monday
        v = diurnal(t) * (weekday >= 5 ? 0.45 : 1) * (weekday === 4 ? 1.2 : 1);
        break;
      }
      case 'recurring-spikes':
        v = (0.3 + 0.1 * diurnal(t)) * (spikeAt[t] ?? 1);
        break;
      case 'sudden-drop':
        v = t < dropAt ? 0.8 + 0.2 * diurnal(t) : 0.08 + 0.02 * diurnal(t);
        break;
      case 'idle-bursts': {
        v = 0.004 * rnd();
        for (const b of bursts) if (t >= b.start && t < b.start + b.length) v += b.height;
        break;
      }
    }
    out.push(Math.max(0, v * noise()));
  }
  return out;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export interface GenerateOptions {
  seed?: number;
  days?: number;
  /** Move each occurrence of a recurring feature in time and height (see the top of the file). */
  jitter?: boolean;
}

/** A trace of `kind` with the given shape; the same seed always gives the same trace. */
export function generateTrace(kind: Kind, shape: Shape, opts: GenerateOptions = {}): Trace {
  const seed = opts.seed ?? 1;
  const minutes = Math.round((opts.days ?? SHAPE_DAYS[shape]) * DAY);
  const rnd = seededRandom(seed * 7919 + shape.length * 104729 + kind.length);
  const source = `generated:${kind}/${shape}${opts.jitter ? '~jitter' : ''}#${seed}`;
  const j = opts.jitter ? jitterFrom(seed * 65_537 + shape.length) : NO_JITTER;
  switch (kind) {
    case 'dynamodb': {
      const p = profile(shape, minutes, rnd, j);
      const wrnd = seededRandom(seed * 31 + 17);
      // Writes follow the same pattern with their own noise, at a fifth of the reads.
      return {
        kind,
        read: p.map((v) => round2(v * 800)),
        write: p.map((v) => round2(v * 160 * (1 + (wrnd() - 0.5) * 0.1))),
        source,
      };
    }
    case 'iops':
      return { kind, iops: profile(shape, minutes, rnd, j).map((v) => round2(v * 4000)), source };
    case 'replicas':
      // Peaks near 420 % (5 readers at 85 %), within the replicas section's default maxReaders.
      return {
        kind,
        cpu: profile(shape, minutes, rnd, j).map((v) => round2(v * (shape === 'flash-sale' ? 115 : 380))),
        source,
      };
  }
}

/** Writes the shipped traces (seed 1) under `dir` (default test/traces). */
export function writeShippedTraces(dir: string): string[] {
  const written: string[] = [];
  for (const kind of Object.keys(SHAPES) as Kind[]) {
    for (const shape of SHAPES[kind]) {
      const file = join(dir, kind, `${shape}.csv`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, formatTrace(generateTrace(kind, shape, { seed: 1 })));
      written.push(file);
    }
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'traces');
  for (const file of writeShippedTraces(process.argv[2] ?? root)) console.log(`wrote ${file}`);
}
