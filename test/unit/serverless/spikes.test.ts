import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invalidBounds } from '../../../shared/aws/aurora-serverless.ts';
import type { Decision } from '../../../shared/core/model.ts';
import {
  DEFAULT_SERVERLESS_SETTINGS,
  minimumInEffect,
  planServerlessBounds,
  type ServerlessObservation,
} from '../../../shared/policies/serverless-bounds.ts';
import {
  DEFAULT_SPIKE_SETTINGS,
  type LearnedSpike,
  learnSpikes,
  type MinuteSeries,
  relearnDue,
  spikeTiming,
} from '../../../shared/policies/serverless-spikes.ts';
import { minimumChanges, storedSpikes } from '../../../shared/tuners/serverless-inputs.ts';

const s = DEFAULT_SERVERLESS_SETTINGS;
const DAY = 1440;
const END = '2026-11-20T00:00:00.000Z';

/**
 * `days` days of 60-s connections ending at END: 12 a minute, 80 from each onset (minute of the
 * day, per day oldest first; null = no spike that day) for `length` minutes.
 */
function minutes(onsets: Array<number | null>, length = 20): MinuteSeries {
  const values: number[] = [];
  onsets.forEach((onset) => {
    for (let m = 0; m < DAY; m++) values.push(onset !== null && m >= onset && m < onset + length ? 80 : 12);
  });
  return { values, end: END };
}

describe('recurring spikes learned from 60-s DatabaseConnections', () => {
  it('learns a spike at the time of day it was seen: the earliest onset to the latest end', () => {
    const learned = learnSpikes(minutes([180, 183, null, 178, 181]), new Date(END));
    expect(learned.spikes).toEqual([{ onset: 178, end: 203, days: 4 }]);
    expect(learned.through).toBe(END);
    // Seen on one day: expected at that time every day (as the 15-min profile expects any day's peak).
    expect(learnSpikes(minutes([null, null, 600, null]), new Date(END)).spikes).toEqual([
      { onset: 600, end: 620, days: 1 },
    ]);
    // Unless minDays asks for more.
    const twice = { ...DEFAULT_SPIKE_SETTINGS, minDays: 2 };
    expect(learnSpikes(minutes([null, null, 600, null]), new Date(END), twice).spikes).toEqual([]);
  });

  it('does not learn a step that does not come back down, or a ramp', () => {
    // Still going on where the published minutes end: not a spike yet.
    expect(learnSpikes(minutes([null, 1430]), new Date(END)).spikes).toEqual([]);
    // A working day: up at 09:00 for 8 hours (longer than maxSpikeMinutes).
    expect(learnSpikes(minutes([540, 540, 540], 480), new Date(END)).spikes).toEqual([]);
    const ramp = Array.from({ length: 3 * DAY }, (_, i) => 12 + 100 * Math.sin((Math.PI * (i % DAY)) / DAY));
    expect(learnSpikes({ values: ramp, end: END }, new Date(END)).spikes).toEqual([]);
  });

  it('learns one spike across midnight, not two', () => {
    // 23:55 on day 0, 00:03 on day 2 (the night of day 1), 23:58 on day 3: 5 minutes each.
    const learned = learnSpikes(minutes([1435, null, 3, 1438, null], 5), new Date(END));
    expect(learned.spikes).toEqual([{ onset: 1435, end: 1440 + 8, days: 3 }]);
  });

  it('never learns from data not published by now (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 0, max: DAY - 30 }), { nil: null }), {
          minLength: 2,
          maxLength: 4,
        }),
        fc.integer({ min: 0, max: 2 * DAY }),
        fc.integer({ min: 0, max: 200 }),
        (onsets, cut, noise) => {
          const full = minutes(onsets);
          const now = new Date(Date.parse(END) - cut * 60_000);
          const published = {
            values: full.values.slice(0, full.values.length - cut),
            end: now.toISOString(),
          };
          // Whatever the minutes after `now` hold, the learned spikes are the same.
          const changed = {
            ...full,
            values: full.values.map((v, i) => (i >= full.values.length - cut ? (i * noise) % 97 : v)),
          };
          const expected = learnSpikes(published, now);
          expect(learnSpikes(full, now)).toEqual(expected);
          expect(learnSpikes(changed, now)).toEqual(expected);
          expect(Date.parse(expected.through)).toBeLessThanOrEqual(now.getTime());
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps at most maxSpikes, those seen on most days', () => {
    const series = { values: [] as number[], end: END };
    for (let d = 0; d < 3; d++)
      for (let m = 0; m < DAY; m++)
        series.values.push(m % 20 >= 10 && m % 20 < 13 && (d > 0 || m < 720) ? 80 : 12);
    // 72 a day: 36 seen on 3 days (mornings), 36 on 2.
    const learned = learnSpikes(series, new Date(END));
    expect(learned.spikes).toHaveLength(DEFAULT_SPIKE_SETTINGS.maxSpikes);
    expect(learned.spikes.filter((x) => x.days === 3)).toHaveLength(36);
  });

  it('learns again an hour after it last learned, not before', () => {
    const learned = learnSpikes(minutes([180, 180]), new Date(END));
    expect(relearnDue(undefined, new Date(END))).toBe(true);
    expect(relearnDue(learned, new Date(Date.parse(END) + 59 * 60_000))).toBe(false);
    expect(relearnDue(learned, new Date(Date.parse(END) + 60 * 60_000))).toBe(true);
  });

  it('is due lead minutes before the earliest onset until the end, and says when one just ended', () => {
    const spike: LearnedSpike = { onset: 180, end: 200, days: 3 };
    const at = (hhmm: string) => new Date(`2026-11-20T${hhmm}:00.000Z`);
    expect(spikeTiming([spike], at('02:54'), 5, 10).warm).toEqual([]);
    expect(spikeTiming([spike], at('02:55'), 5, 10).warm).toHaveLength(1);
    expect(spikeTiming([spike], at('03:19'), 5, 10).warm).toHaveLength(1);
    const after = spikeTiming([spike], at('03:25'), 5, 10);
    expect(after.warm).toEqual([]);
    expect(after.ended).toBe(Date.parse('2026-11-20T03:20:00.000Z'));
    expect(spikeTiming([spike], at('03:31'), 5, 10).ended).toBeUndefined();
  });
});

/**
 * Eight days of 15-min history ending at `now`'s bucket: 1.5 ACU (12 connections), a batch at
 * 03:00-03:20 every day (10 ACU, 80 connections, in the 03:00 and 03:15 buckets); the last hour's
 * minutes at `recent(minute of the day)` ACU, published up to 2 minutes before `now`.
 */
function batchObs(now: string, o: { spikes?: LearnedSpike[]; recent?: (m: number) => number } = {}) {
  const period = 15 * 60_000;
  const nowMs = Date.parse(now);
  const end = Math.floor(nowMs / period) * period;
  const n = 8 * 96;
  const bucketOf = (i: number) => Math.floor(((end - (n - i) * period) % 86_400_000) / period);
  const batch = (i: number) => bucketOf(i) === 12 || bucketOf(i) === 13;
  const recentEnd = nowMs - 2 * 60_000;
  const minuteOf = (k: number) => Math.floor(((recentEnd - (60 - k) * 60_000) % 86_400_000) / 60_000);
  const recent = Array.from({ length: 60 }, (_, k) => (o.recent ?? (() => 1.5))(minuteOf(k)));
  const obs: ServerlessObservation = {
    clusterId: 'batch',
    engine: 'aurora-postgresql',
    engineVersion: '16.4',
    observedAt: now,
    current: { min: 1, max: 32 },
    followingReaders: 0,
    recent: {
      capacity: recent,
      acuUtilization: recent.map((c) => (100 * c) / 32),
      connections: recent.map((c) => Math.round(8 * c)),
      end: new Date(recentEnd).toISOString(),
    },
    ...(o.spikes ? { spikes: o.spikes } : {}),
    history: {
      periodMinutes: 15,
      capacityMax: Array.from({ length: n }, (_, i) => (batch(i) ? 10 : 1.5)),
      capacityMean: Array.from({ length: n }, (_, i) => (batch(i) ? 6 : 1.2)),
      connectionsMax: Array.from({ length: n }, (_, i) => (batch(i) ? 80 : 12)),
      end: new Date(end).toISOString(),
    },
  };
  return obs;
}

const SPIKE: LearnedSpike = { onset: 180, end: 200, days: 8 };
const minOf = (obs: ServerlessObservation) =>
  (
    planServerlessBounds(obs, s, {}).actions.find((a) => a.kind === 'set-serverless-bounds')?.to as
      | { min: number }
      | undefined
  )?.min;

describe('the bounds policy with learned spikes', () => {
  it('raises the minimum lead minutes before a learned spike, close to its peak (a step)', () => {
    const plan = planServerlessBounds(batchObs('2026-11-20T02:55:00.000Z', { spikes: [SPIKE] }), s, {});
    const to = plan.actions.find((a) => a.kind === 'set-serverless-bounds');
    expect(to?.to).toMatchObject({ min: 8.5 });
    expect(to?.reason).toContain('a spike recurring at 03:00-03:20 UTC on 8 days');
  });

  it('does not raise it a bucket’s look-ahead early for a spike it has learned', () => {
    expect(minOf(batchObs('2026-11-20T02:30:00.000Z', { spikes: [SPIKE] }))).toBeUndefined();
    // Without the learned spike the 15-min profile raises it 30 minutes ahead.
    expect(minOf(batchObs('2026-11-20T02:30:00.000Z'))).toBe(8.5);
  });

  it('lets the minimum down once the learned spike is over, whatever its minutes held', () => {
    // The batch's capacity until 03:20, then the base load.
    const recent = (m: number) => (m >= 180 && m < 200 ? 10 : 1.5);
    const after = batchObs('2026-11-20T03:25:00.000Z', { spikes: [SPIKE], recent });
    after.current = { min: 8.5, max: 32 };
    expect(minOf(after)).toBe(1);
    // Without the learned end, the last 10 minutes' batch capacity holds it at 0.6 x 10.
    expect(minOf({ ...after, spikes: [] })).toBe(6);
  });

  it('does not raise the minimum again on the capacity scaling down after a learned spike', () => {
    // 03:32: the batch ended at 03:20; Aurora scales down from 13 ACU about 1 ACU a minute.
    const recent = (m: number) => (m >= 180 && m < 200 ? 13 : m >= 200 && m < 212 ? 13 - (m - 200) : 1.5);
    const tail = batchObs('2026-11-20T03:32:00.000Z', { spikes: [SPIKE], recent });
    tail.current = { min: 3.5, max: 32 };
    expect(minOf(tail)).toBeUndefined();
    // Once the tail is past (2 x recentMinutes after the end), the last minutes count as they are.
    const later = batchObs('2026-11-20T03:42:00.000Z', { spikes: [SPIKE], recent: () => 9 });
    later.current = { min: 3.5, max: 32 };
    expect(minOf(later)).toBe(5.5);
  });

  it('does not learn its own raised minimum back as load', () => {
    // Yesterday db-autopilot raised the minimum to 8.5 at 02:35 (ahead of the batch); the 02:30
    // bucket shows the capacity rising to it.
    const obs = batchObs('2026-11-20T02:05:00.000Z', { spikes: [SPIKE] });
    const bucket = obs.history.capacityMax.length - 96 + 2;
    obs.history.capacityMax[bucket] = 8.5;
    obs.history.capacityMean[bucket] = 6;
    expect(minOf(obs)).toBe(7.5);
    obs.history.minInEffect = minimumInEffect(
      [
        { at: '2026-11-19T02:35:00.000Z', from: 1, to: 8.5 },
        { at: '2026-11-19T03:25:00.000Z', from: 8.5, to: 1 },
      ],
      { end: obs.history.end, periodMinutes: 15, count: obs.history.capacityMax.length },
    );
    expect(obs.history.minInEffect[bucket]).toBe(8.5);
    expect(minOf(obs)).toBeUndefined();
  });

  it('keeps bounds within AWS rules and the config, and the maximum at or above a recent peak, whatever it learned (property)', () => {
    const spike = fc
      .record({ onset: fc.integer({ min: 0, max: DAY - 1 }), length: fc.integer({ min: 1, max: 90 }) })
      .map(({ onset, length }) => ({ onset, end: onset + length, days: 2 }));
    fc.assert(
      fc.property(
        fc.array(spike, { maxLength: 5 }),
        fc.integer({ min: 0, max: 95 }),
        fc.integer({ min: 1, max: 128 }).map((x) => x / 2),
        fc.array(
          fc.option(
            fc.integer({ min: 1, max: 64 }).map((x) => x / 2),
            { nil: null },
          ),
          {
            minLength: 8 * 96,
            maxLength: 8 * 96,
          },
        ),
        fc.integer({ min: 2, max: 128 }).map((x) => x / 2),
        (spikes, at, peak, mins, ceiling) => {
          const now = new Date(Date.parse(END) + at * 15 * 60_000).toISOString();
          const obs = batchObs(now, { spikes, recent: () => peak });
          obs.history.minInEffect = mins;
          const settings = { ...s, maxCapacityCeiling: ceiling };
          const to = planServerlessBounds(obs, settings, {}).actions.find(
            (a) => a.kind === 'set-serverless-bounds',
          )?.to as { min: number; max: number } | undefined;
          if (!to) return;
          expect(invalidBounds(to, obs.engine, obs.engineVersion)).toBeUndefined();
          expect(to.min).toBeGreaterThanOrEqual(0.5);
          expect(to.max).toBeLessThanOrEqual(Math.max(ceiling, obs.current.max));
          expect(to.max).toBeGreaterThanOrEqual(Math.min(obs.current.max, Math.ceil(peak * 2) / 2, 10));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('the minimum in effect per history bucket', () => {
  const grid = { end: '2026-11-20T01:00:00.000Z', periodMinutes: 15, count: 4 };

  it('is the first change’s starting minimum before it, and the highest set during each bucket after', () => {
    expect(
      minimumInEffect(
        [
          { at: '2026-11-20T00:20:00.000Z', from: 1, to: 8 },
          { at: '2026-11-20T00:50:00.000Z', from: 8, to: 2 },
        ],
        grid,
      ),
    ).toEqual([1, 8, 8, 8]);
    // A change on a bucket's start is in effect for the whole bucket.
    expect(minimumInEffect([{ at: '2026-11-20T00:45:00.000Z', from: 8, to: 2 }], grid)).toEqual([8, 8, 8, 2]);
    expect(minimumInEffect([], grid)).toEqual([null, null, null, null]);
  });

  it('comes from db-autopilot’s applied range changes only', () => {
    const decision = (outcome: Decision['outcome'], action: Decision['action'] = 'set-serverless-bounds') =>
      ({
        at: '2026-11-20T00:20:00.000Z',
        action,
        outcome,
        from: { min: 1, max: 32 },
        to: { min: 8, max: 32 },
      }) as Decision;
    expect(
      minimumChanges([decision('applied'), decision('failed'), decision('applied', 'recommend')]),
    ).toEqual([{ at: '2026-11-20T00:20:00.000Z', from: 1, to: 8 }]);
  });

  it('reads back only learned spikes of the shape it writes (anything else is learned again)', () => {
    const good = { learnedAt: END, through: END, spikes: [SPIKE] };
    expect(storedSpikes({ recent: [], tunerState: { spikes: good } })).toEqual(good);
    expect(storedSpikes({ recent: [], tunerState: { spikes: { ...good, spikes: 'x' } } })).toBeUndefined();
  });
});
