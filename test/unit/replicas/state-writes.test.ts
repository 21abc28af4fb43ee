import { describe, expect, it } from 'vitest';
import { sameNewestReaders } from '../../../shared/tuners/replicas.ts';

/**
 * The replica scaler's state (its scale-in recommendations) changes on every run. A write that only
 * repeats the newest count may be held for the run's BatchWriteItem (lost in a crash, the same
 * count one run older still holds a scale-in); a new count is written at once.
 */
describe('which replica state writes may be held (sameNewestReaders)', () => {
  const t = (m: number) => new Date(Date.UTC(2026, 10, 23, 18, m)).toISOString();

  it('holds a write whose newest recommendation repeats the newest stored count at a later time', () => {
    const stored = [
      { at: t(0), readers: 3 },
      { at: t(5), readers: 2 },
    ];
    expect(sameNewestReaders(stored, [...stored, { at: t(10), readers: 2 }])).toBe(true);
    // The oldest dropped by the window: still only a repeat.
    expect(sameNewestReaders(stored, [stored[1] as (typeof stored)[0], { at: t(10), readers: 2 }])).toBe(
      true,
    );
  });

  it('writes at once a new count, a first recommendation, or one no newer than the stored', () => {
    const stored = [{ at: t(5), readers: 2 }];
    expect(sameNewestReaders(stored, [...stored, { at: t(10), readers: 3 }])).toBe(false);
    expect(sameNewestReaders(stored, [...stored, { at: t(10), readers: 1 }])).toBe(false);
    expect(sameNewestReaders([], [{ at: t(10), readers: 2 }])).toBe(false);
    expect(sameNewestReaders(stored, stored)).toBe(false);
    expect(sameNewestReaders(stored, [])).toBe(false);
  });

  it('finds the newest by time whatever the order stored', () => {
    const stored = [
      { at: t(5), readers: 2 },
      { at: t(0), readers: 4 },
    ];
    expect(sameNewestReaders(stored, [{ at: t(10), readers: 2 }])).toBe(true);
    expect(sameNewestReaders(stored, [{ at: t(10), readers: 4 }])).toBe(false);
  });
});
