import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTrace } from './trace.ts';
import type { Kind, Trace } from './types.ts';

/**
 * Deterministic, seeded demand traces. `npx tsx shared/backtest/generate-traces.ts` writes the
 * shipped ones to test/traces/<kind>/<shape>.csv (seed 1); tests and goal checks call
 * `generateTrace(kind, shape, { seed })` with other seeds for UNSEEN traces of the same shapes.
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

/** mulberry32: a small seeded PRNG (deterministic across runs and platforms). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 1440;

/** A unitless demand profile (about 1 = typical daytime load) for a shape. */
function profile(shape: Shape, minutes: number, rnd: () => number): number[] {
  const out: number[] = [];
  const noise = (): number => 1 + (rnd() + rnd() + rnd() - 1.5) * 0.08;
  const diurnal = (t: number): number => 0.55 + 0.45 * Math.sin((2 * Math.PI * ((t % DAY) - 8 * 60)) / DAY);
  // Random but seeded features.
  const saleDay = 1;
  const saleStart = saleDay * DAY + 18 * 60 + Math.floor(rnd() * 120);
  const dropAt = Math.floor(DAY * (1.2 + rnd() * 0.6));
  const spikeEvery = 180 + Math.floor(rnd() * 3) * 60; // every 3-5 h
  const spikeOffset = Math.floor(rnd() * 60);
  const smallEvery = 30 + Math.floor(rnd() * 4) * 15; // every 30-75 min
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
        v = 0.2 + 0.8 * ((t % 180) / 180);
        break;
      case 'slow-ramp':
        v = (0.25 + (0.75 * t) / minutes) * (0.85 + 0.15 * diurnal(t));
        break;
      case 'weekly': {
        const weekday = Math.floor(t / DAY) % 7; // minute 0 is a Monday
        v = diurnal(t) * (weekday >= 5 ? 0.45 : 1) * (weekday === 4 ? 1.2 : 1);
        break;
      }
      case 'recurring-spikes': {
        v = 0.3 + 0.1 * diurnal(t);
        const big = (t - spikeOffset) % spikeEvery;
        if (big >= 0 && big < 20) v *= 6;
        else if (t % smallEvery < 3) v *= 2.5;
        break;
      }
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
}

/** A trace of `kind` with the given shape; the same seed always gives the same trace. */
export function generateTrace(kind: Kind, shape: Shape, opts: GenerateOptions = {}): Trace {
  const seed = opts.seed ?? 1;
  const minutes = Math.round((opts.days ?? SHAPE_DAYS[shape]) * DAY);
  const rnd = seededRandom(seed * 7919 + shape.length * 104729 + kind.length);
  const source = `generated:${kind}/${shape}#${seed}`;
  switch (kind) {
    case 'dynamodb': {
      const p = profile(shape, minutes, rnd);
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
      return { kind, iops: profile(shape, minutes, rnd).map((v) => round2(v * 4000)), source };
    case 'replicas':
      // Peaks near 420 % (5 readers at 85 %), within the replicas section's default maxReaders.
      return {
        kind,
        cpu: profile(shape, minutes, rnd).map((v) => round2(v * (shape === 'flash-sale' ? 115 : 380))),
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
