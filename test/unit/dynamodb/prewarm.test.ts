import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dynamodbPrewarmSection } from '../../../shared/config/sections/dynamodb.ts';
import { learnRecurringPeaks, prewarmFloorAt } from '../../../shared/policies/prewarm.ts';
import { diurnal, recurringSpikes, rng, weekly } from './traces.ts';

const cfg = dynamodbPrewarmSection.parse({});
const START = '2026-01-05T00:00:00.000Z';
const at = (minute: number) => new Date(Date.parse(START) + minute * 60_000);

/** An array that throws when any index at or after `cutoff` is read: proof of walk-forward. */
function guarded(values: number[], cutoff: number): ArrayLike<number> {
  return new Proxy(values, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && /^\d+$/.test(prop) && Number(prop) >= cutoff) {
        throw new Error(`read minute ${prop} at or after t=${cutoff}`);
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** Flat 50 units/s with a 10-minute peak of 500 starting at `phase` every `every` minutes. */
function periodic(minutes: number, every: number, phase: number, seed = 7): number[] {
  const rand = rng(seed);
  return Array.from({ length: minutes }, (_, m) => {
    const inPeak = m >= phase && (m - phase) % every < 10;
    return (inPeak ? 500 : 50) * (1 + (rand() - 0.5) * 0.1);
  });
}

describe('pre-warming (walk-forward)', () => {
  it('never reads a minute at or after t, even when the array holds the future', () => {
    const trace = diurnal(1, 4);
    for (const t of [100, 1500, 2 * 1440 + 17 * 60 + 55, 3 * 1440 + 600]) {
      const values = guarded(trace.read, t);
      expect(() =>
        learnRecurringPeaks({ start: START, periodSeconds: 60, values }, at(t), cfg),
      ).not.toThrow();
    }
  });

  it('learns the same model whatever the future holds', () => {
    const trace = recurringSpikes(4, 3);
    const t = 2 * 1440 + 123;
    const past = trace.read.slice(0, t);
    const futureA = [...past, ...trace.read.slice(t)];
    const futureB = [...past, ...trace.read.slice(t).map(() => 99_999)];
    const a = learnRecurringPeaks({ start: START, periodSeconds: 60, values: futureA }, at(t), cfg);
    const b = learnRecurringPeaks({ start: START, periodSeconds: 60, values: futureB }, at(t), cfg);
    expect(a).toEqual(b);
    expect(Date.parse(a.learnedFrom.end)).toBeLessThanOrEqual(at(t).getTime());
  });

  it('pre-warms before a daily evening peak once two days of history show it, with the history it learned from', () => {
    const trace = diurnal(1, 3);
    // The evening peak of seed 1 starts between 18:00 and 19:00; look 5 minutes before each minute of that hour.
    const day2 = 2 * 1440;
    const model = learnRecurringPeaks(
      { start: START, periodSeconds: 60, values: trace.read },
      at(day2 + 17 * 60),
      cfg,
    );
    expect(model.periodMinutes).toBe(1440);
    const peak = model.expected[0];
    expect(peak).toBeDefined();
    const peakAt = Date.parse(peak?.at ?? '');
    expect(new Date(peakAt).getUTCHours()).toBeGreaterThanOrEqual(17);
    expect(peak?.history.length).toBeGreaterThanOrEqual(2);
    // Active from lead minutes before the peak, not earlier.
    const before = prewarmFloorAt(model, new Date(peakAt - (cfg.leadMinutes + 1) * 60_000), cfg, 0.7);
    const during = prewarmFloorAt(model, new Date(peakAt - cfg.leadMinutes * 60_000), cfg, 0.7);
    expect(before).toBeNull();
    expect(during?.units).toBeGreaterThan(Math.max(...trace.read.slice(0, 17 * 60)) / 0.7);
    expect(during?.reason).toContain('every 1 d');
    expect(during?.evidence[0]?.series?.length).toBe(peak?.history.length);
  });

  it.each([
    [30, 7],
    [90, 20],
    [180, 45],
    [360, 100],
  ])('finds a peak that recurs every %i minutes', (every, phase) => {
    const values = periodic(2 * 1440, every, phase);
    const t = 2 * 1440 - 1;
    const model = learnRecurringPeaks(
      { start: START, periodSeconds: 60, values: guarded(values, t) },
      at(t),
      cfg,
    );
    expect(model.periodMinutes).toBe(every);
    // The next onset after t, as the trace would have it.
    let next = phase;
    while (next + cfg.holdMinutes < t) next += every;
    expect(model.expected.map((e) => e.at)).toContain(at(next).toISOString());
  });

  it('finds a weekly batch once it has been seen on two Mondays', () => {
    const trace = weekly(2, 15);
    const t = 14 * 1440 + 8 * 60 + 50;
    const model = learnRecurringPeaks(
      { start: START, periodSeconds: 60, values: guarded(trace.read, t) },
      at(t),
      cfg,
    );
    expect(model.periodMinutes).toBe(7 * 1440);
    const floor = prewarmFloorAt(model, at(t), cfg, 0.7);
    expect(floor).not.toBeNull();
  });

  it('learns nothing from noise', () => {
    const rand = rng(3);
    const values = Array.from({ length: 3 * 1440 }, () => 100 + rand() * 10);
    const model = learnRecurringPeaks({ start: START, periodSeconds: 60, values }, at(3 * 1440), cfg);
    expect(model.expected).toHaveLength(0);
    expect(model.note).toBeTruthy();
  });

  it('expects the typical recent peak: one retry-inflated occurrence does not size the pre-warm', () => {
    // Peaks of 500 every 180 minutes; the latest one read as 1,500 (throttled: the throttle events
    // count the SDK's retries, so the estimated demand of a saturated minute is inflated).
    const values = periodic(2 * 1440, 180, 45);
    const last = 45 + 180 * Math.floor((2 * 1440 - 1 - 45 - 10) / 180);
    for (let m = last; m < last + 10; m++) values[m] = 1500;
    const t = last + 30;
    const model = learnRecurringPeaks({ start: START, periodSeconds: 60, values }, at(t), cfg);
    expect(model.periodMinutes).toBe(180);
    const next = model.expected.find((e) => e.at === at(last + 180).toISOString());
    expect(next?.history.at(-1)?.value).toBeGreaterThan(1400);
    // The median of the last three occurrences, not their maximum.
    expect(next?.value).toBeGreaterThan(450);
    expect(next?.value).toBeLessThan(600);
  });

  it('no longer expects a peak that failed to recur', () => {
    // Peaks every 180 minutes for a day and a half, then none.
    const values = periodic(3 * 1440, 180, 45);
    const lastPeak = 45 + 180 * 11;
    for (let m = lastPeak + 10; m < values.length; m++) values[m] = 50;
    // Before the next occurrence is due, it is expected; once its time has passed without it, not.
    const due = learnRecurringPeaks({ start: START, periodSeconds: 60, values }, at(lastPeak + 120), cfg);
    expect(due.expected.map((e) => e.at)).toContain(at(lastPeak + 180).toISOString());
    // A day and a half later every period it could recur at has passed without it.
    const t = 3 * 1440;
    const missed = learnRecurringPeaks({ start: START, periodSeconds: 60, values }, at(t), cfg);
    expect(missed.expected).toEqual([]);
    for (let m = t; m < t + 1440; m += 15)
      expect(prewarmFloorAt(missed, at(m), cfg, 0.7), `minute ${m}`).toBeNull();
  });

  it('sizes each expected peak within its recent occurrences and only expects peaks whose next occurrence is still to come (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 60, max: 360 }),
        fc.integer({ min: 0, max: 59 }),
        fc.array(fc.double({ min: 200, max: 3000, noNaN: true }), { minLength: 30, maxLength: 30 }),
        fc.integer({ min: 1440, max: 2 * 1440 }),
        (every, phase, heights, t) => {
          const values = Array.from({ length: 2 * 1440 }, (_, m) => {
            const k = Math.floor((m - phase) / every);
            return m >= phase && (m - phase) % every < 10 ? (heights[k % heights.length] ?? 500) : 50;
          });
          const model = learnRecurringPeaks({ start: START, periodSeconds: 60, values }, at(t), cfg);
          for (const e of model.expected) {
            const recent = e.history.slice(-3).map((h) => h.value);
            expect(e.value).toBeGreaterThanOrEqual(Math.min(...recent));
            expect(e.value).toBeLessThanOrEqual(Math.max(...recent));
            const lastSeen = Date.parse(e.history.at(-1)?.at ?? '');
            // The next occurrence after the last one seen has not been missed in the history: the
            // history does not yet reach past its time plus the learner's tolerance (3 % of the
            // period in whole buckets, at least one; 15-minute buckets on the coarse scale, whose
            // tolerance is never smaller than the fine scale's at these periods).
            const tolMinutes = Math.max(15, Math.round((e.periodMinutes * 0.03) / 15) * 15);
            expect(lastSeen + (e.periodMinutes + tolMinutes) * 60_000).toBeGreaterThanOrEqual(
              at(t).getTime(),
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
