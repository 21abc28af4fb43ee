import type { DynamodbTrace } from '../../../shared/backtest/types.ts';

/**
 * Seeded DynamoDB demand traces of the kinds the issue names (units per second, one value per
 * minute). A seed gives an unseen trace of the same kind; the default seed is the shipped one.
 */

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 1440;

function make(source: string, read: number[], write: number[]): DynamodbTrace {
  const r2 = (x: number) => Math.max(0, Math.round(x * 100) / 100);
  return { kind: 'dynamodb', read: read.map(r2), write: write.map(r2), source };
}

function noise(rand: () => number, x: number, pct: number): number {
  return x * (1 + (rand() * 2 - 1) * pct);
}

/** Office-hours curve with an evening peak (18:00-21:00 UTC), 4 days. */
export function diurnal(seed = 1, days = 4): DynamodbTrace {
  const rand = rng(seed);
  const base = 80 + rand() * 60;
  const peakAt = 18 * 60 + Math.floor(rand() * 60);
  const read: number[] = [];
  const write: number[] = [];
  for (let m = 0; m < days * DAY; m++) {
    const tod = m % DAY;
    const day = base * (1 + 0.6 * Math.sin(((tod - 6 * 60) / DAY) * 2 * Math.PI));
    const evening = tod >= peakAt && tod < peakAt + 150 ? base * 3 : 0;
    read.push(noise(rand, day + evening, 0.05));
    write.push(noise(rand, (day + evening) * 0.3, 0.05));
  }
  return make(`diurnal-${seed}`, read, write);
}

/** Weekdays busy, weekends quiet, a Monday-morning batch; 15 days. */
export function weekly(seed = 2, days = 15): DynamodbTrace {
  const rand = rng(seed);
  const base = 100 + rand() * 100;
  const read: number[] = [];
  const write: number[] = [];
  for (let m = 0; m < days * DAY; m++) {
    const d = Math.floor(m / DAY) % 7;
    const tod = m % DAY;
    const weekend = d >= 5;
    const level = weekend ? base * 0.3 : base * (1 + 0.4 * Math.sin(((tod - 6 * 60) / DAY) * 2 * Math.PI));
    const batch = d === 0 && tod >= 9 * 60 && tod < 10 * 60 ? base * 4 : 0;
    read.push(noise(rand, level + batch, 0.05));
    write.push(noise(rand, (level + batch * 2) * 0.25, 0.05));
  }
  return make(`weekly-${seed}`, read, write);
}

/** Flat, then a flash sale: 8x in a few minutes for 2 hours; 2 days. */
export function flashSale(seed = 3, days = 2): DynamodbTrace {
  const rand = rng(seed);
  const base = 50 + rand() * 50;
  const start = DAY + 14 * 60 + Math.floor(rand() * 120);
  const read: number[] = [];
  const write: number[] = [];
  for (let m = 0; m < days * DAY; m++) {
    let f = 1;
    if (m >= start && m < start + 5) f = 1 + ((m - start + 1) / 5) * 7;
    else if (m >= start + 5 && m < start + 120) f = 8;
    read.push(noise(rand, base * f, 0.05));
    write.push(noise(rand, base * 0.4 * f, 0.05));
  }
  return make(`flash-sale-${seed}`, read, write);
}

/** A batch job every few hours (or every N minutes): a 10x spike lasting 15 minutes; 3 days. */
export function recurringSpikes(seed = 4, days = 3): DynamodbTrace {
  const rand = rng(seed);
  const base = 40 + rand() * 40;
  const every = [90, 180, 240, 360][Math.floor(rand() * 4)] ?? 240;
  const offset = Math.floor(rand() * every);
  const read: number[] = [];
  const write: number[] = [];
  for (let m = 0; m < days * DAY; m++) {
    const inSpike = (m - offset + every) % every < 15 && m >= offset;
    const f = inSpike ? 10 : 1;
    read.push(noise(rand, base * f, 0.05));
    write.push(noise(rand, base * 0.5 * (inSpike ? 6 : 1), 0.05));
  }
  return make(`recurring-spikes-${seed}-every-${every}min`, read, write);
}

/** Busy, then traffic drops to a tenth (a feature turned off); 3 days. */
export function suddenDrop(seed = 5, days = 3): DynamodbTrace {
  const rand = rng(seed);
  const base = 300 + rand() * 200;
  const at = DAY + Math.floor(rand() * DAY);
  const read: number[] = [];
  const write: number[] = [];
  for (let m = 0; m < days * DAY; m++) {
    const f = m < at ? 1 : 0.1;
    read.push(noise(rand, base * f, 0.05));
    write.push(noise(rand, base * 0.3 * f, 0.05));
  }
  return make(`sudden-drop-${seed}`, read, write);
}

/** Mostly idle (well under 1 unit/s) with random bursts of a few minutes; 4 days. */
export function idleBursts(seed = 6, days = 4): DynamodbTrace {
  const rand = rng(seed);
  const read: number[] = [];
  const write: number[] = [];
  let burst = 0;
  let level = 0;
  for (let m = 0; m < days * DAY; m++) {
    if (burst <= 0 && rand() < 1 / 240) {
      burst = 2 + Math.floor(rand() * 6);
      level = 20 + rand() * 80;
    }
    const b = burst > 0 ? level : 0;
    burst--;
    read.push(0.05 + b + (rand() < 0.05 ? 1 : 0));
    write.push(0.02 + b * 0.3);
  }
  return make(`idle-bursts-${seed}`, read, write);
}

export const KINDS = { diurnal, weekly, flashSale, recurringSpikes, suddenDrop, idleBursts } as const;

/** The shipped suite (default seeds) plus unseen traces of the same kinds (other seeds). */
export function suite(unseenSeeds: number[] = [101]): DynamodbTrace[] {
  const shipped = Object.values(KINDS).map((k) => k());
  const unseen = unseenSeeds.flatMap((s) => Object.values(KINDS).map((k, i) => k(s + i)));
  return [...shipped, ...unseen];
}
