import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invalidBounds, supportsAutoPause } from '../../../shared/aws/aurora-serverless.ts';
import {
  generateServerlessTrace,
  parseServerlessTrace,
  runServerlessBacktest,
} from '../../../shared/backtest/serverless.ts';
import {
  DEFAULT_SERVERLESS_SETTINGS,
  dayProfile,
  forecastPeak,
  heldAtMinimum,
  overdueLoad,
  planServerlessBounds,
  quietSoFar,
  quietWeekday,
  type ServerlessObservation,
} from '../../../shared/policies/serverless-bounds.ts';
import {
  DEFAULT_SERVERLESS_PARAMS,
  initialState,
  stepMinute,
} from '../../../shared/sim/serverless-capacity.ts';

const s = DEFAULT_SERVERLESS_SETTINGS;

function obs(o: {
  min: number;
  max: number;
  recent: number;
  dayPeak: number;
  util?: number;
  connections?: number;
  version?: string;
}): ServerlessObservation {
  const perDay = 96;
  return {
    clusterId: 'accounts',
    engine: 'aurora-postgresql',
    engineVersion: o.version ?? '16.4',
    observedAt: '2026-11-20T18:30:00.000Z',
    current: { min: o.min, max: o.max },
    followingReaders: 1,
    recent: {
      // Demand moves the capacity minute by minute (a flat stretch is a bound holding it).
      capacity: Array.from({ length: 60 }, (_, i) => (i % 2 ? o.recent : Math.max(0.5, o.recent - 0.5))),
      acuUtilization: Array.from({ length: 60 }, () => o.util ?? (100 * o.recent) / o.max),
      connections: Array.from({ length: 60 }, () => o.connections ?? 20),
    },
    history: {
      periodMinutes: 15,
      // Every day: quiet at 2 ACU, the evening (18:00-21:00) at dayPeak.
      capacityMax: Array.from({ length: 7 * perDay }, (_, i) =>
        i % perDay >= 72 && i % perDay < 84 ? o.dayPeak : 2,
      ),
      capacityMean: Array.from({ length: 7 * perDay }, (_, i) =>
        i % perDay >= 72 && i % perDay < 84 ? o.dayPeak * 0.8 : 1.8,
      ),
      connectionsMax: Array.from({ length: 7 * perDay }, () => o.connections ?? 20),
      end: '2026-11-20T00:00:00.000Z',
    },
  };
}

/**
 * Eight days of 15-minute history ending at `now`'s bucket: on weekdays 2 ACU with an evening step
 * to 20 ACU (18:00-21:00, 50 connections), on weekends 1 ACU with an evening of 6 (5 connections);
 * `busyAt` buckets carry 10 ACU with 50 connections. `peaks`/`conns`: the evening's ACU and
 * connections per day instead (oldest first), for properties.
 */
function weekObs(
  now: string,
  busyAt: (at: string) => boolean = () => false,
  peaks?: number[],
  conns?: number[],
) {
  const period = 15 * 60_000;
  const end = Math.floor(Date.parse(now) / period) * period;
  const n = 8 * 96;
  const at = (i: number) => end - (n - i) * period;
  const weekend = (i: number) => [0, 6].includes(new Date(at(i)).getUTCDay());
  const dayOf = (i: number) => Math.min(7, Math.floor(i / 96));
  const evening = (i: number) => {
    const b = Math.floor((at(i) % 86_400_000) / period);
    return b >= 72 && b < 84;
  };
  const level = (i: number) => {
    if (busyAt(new Date(at(i)).toISOString())) return 10;
    if (peaks) return evening(i) ? (peaks[dayOf(i)] ?? 0) : 1;
    return evening(i) ? (weekend(i) ? 6 : 20) : weekend(i) ? 1 : 2;
  };
  const connections = (i: number) => {
    if (busyAt(new Date(at(i)).toISOString())) return 50;
    if (conns) return conns[dayOf(i)] ?? 0;
    return weekend(i) ? 5 : evening(i) ? 50 : 20;
  };
  const idx = Array.from({ length: n }, (_, i) => i);
  return {
    ...obs({ min: 0.5, max: 64, recent: 1, dayPeak: 20, connections: 5 }),
    observedAt: now,
    history: {
      periodMinutes: 15,
      capacityMax: idx.map(level),
      capacityMean: idx.map((i) => level(i) * 0.9),
      connectionsMax: idx.map(connections),
      end: new Date(end).toISOString(),
    },
  };
}

const boundsOf = (p: ReturnType<typeof planServerlessBounds>) =>
  p.actions.find((a) => a.kind === 'set-serverless-bounds')?.to as { min: number; max: number } | undefined;

describe('Aurora Serverless v2 bounds policy', () => {
  it('raises the minimum ahead of the evening peak history shows, to a fraction of it', () => {
    const to = boundsOf(planServerlessBounds(obs({ min: 0.5, max: 64, recent: 3, dayPeak: 20 }), s, {}));
    expect(to?.min).toBe(12);
  });

  it('lowers the minimum in quiet hours', () => {
    const quiet = {
      ...obs({ min: 12, max: 64, recent: 2, dayPeak: 20 }),
      observedAt: '2026-11-20T04:00:00.000Z',
    };
    expect(boundsOf(planServerlessBounds(quiet, s, {}))?.min).toBe(1.5);
  });

  it('doubles the maximum at once when ACUUtilization sits at 100%', () => {
    const to = boundsOf(
      planServerlessBounds(obs({ min: 4, max: 16, recent: 16, dayPeak: 16, util: 100 }), s, {}),
    );
    expect(to?.max).toBe(32);
  });

  it('recommends auto-pause for a cluster idle for hours, and says to upgrade when the version cannot pause', () => {
    const idle = planServerlessBounds(
      obs({ min: 0.5, max: 8, recent: 0.5, dayPeak: 0.5, connections: 0 }),
      s,
      {},
    );
    expect(idle.actions.find((a) => a.kind === 'recommend')?.reason).toMatch(/MinCapacity 0 pauses it/);
    const old = planServerlessBounds(
      obs({ min: 0.5, max: 8, recent: 0.5, dayPeak: 0.5, connections: 0, version: '15.4' }),
      s,
      {},
    );
    expect(old.actions.find((a) => a.kind === 'recommend')?.reason).toMatch(/upgrade aurora-postgresql 15.4/);
    expect(supportsAutoPause('aurora-postgresql', '15.7')).toBe(true);
    expect(supportsAutoPause('aurora-mysql', '8.0.mysql_aurora.3.08.0')).toBe(true);
  });

  it('advises a provisioned instance, with both monthly figures, when the load is steady', () => {
    const steady = obs({ min: 8, max: 32, recent: 10, dayPeak: 10 });
    steady.history.capacityMean = steady.history.capacityMean.map(() => 10);
    steady.history.capacityMax = steady.history.capacityMax.map(() => 10);
    const advice = planServerlessBounds(steady, s, {}).actions.find((a) => a.kind === 'recommend');
    expect(advice?.reason).toMatch(
      /db\.r6g\.xlarge .* about \$\d+ a month against about \$\d+ on Serverless v2 \(2 instances\)/,
    );
  });

  it('lowers an idle cluster’s minimum to the floor when auto-pause is not allowed', () => {
    const idle = obs({ min: 2, max: 8, recent: 2, dayPeak: 2, connections: 0 });
    expect(boundsOf(planServerlessBounds(idle, s, {}))).toEqual({ min: 0.5, max: 8 });
    const paused = boundsOf(planServerlessBounds(idle, { ...s, allowAutoPause: true }, {}));
    expect(paused).toEqual({ min: 0, max: 8, secondsUntilAutoPause: 300 });
  });

  it('does not learn a minimum as demand: capacity while nobody was connected counts as none', () => {
    // Held at a person's minimum of 8 ACU all night with no connection; an evening peak of 20 with connections.
    const o = obs({ min: 8, max: 32, recent: 8, dayPeak: 20, connections: 0 });
    o.history.capacityMax = o.history.capacityMax.map((v) => Math.max(v ?? 0, 8));
    o.history.connectionsMax = o.history.capacityMax.map((v) => (v === 20 ? 50 : 0));
    const quiet = { ...o, observedAt: '2026-11-20T04:00:00.000Z' };
    expect(boundsOf(planServerlessBounds(quiet, s, {}))?.min).toBe(0.5);
    // Ahead of the evening, history with connections still raises it.
    expect(boundsOf(planServerlessBounds(o, s, {}))?.min).toBe(12);
  });

  it('does not learn a held minimum as demand: capacity that did not move, with connections, counts as none', () => {
    // A person's 8 ACU minimum held all night (flat: Maximum = Average) while clients stay connected.
    const o = obs({ min: 8, max: 32, recent: 8, dayPeak: 20 });
    o.history.capacityMax = o.history.capacityMax.map((v) => Math.max(v ?? 0, 8));
    o.history.capacityMean = o.history.capacityMean.map((v, i) => (o.history.capacityMax[i] === 8 ? 8 : v));
    o.recent.capacity = o.recent.capacity.map(() => 8);
    // Held now too: one step down, to warmFraction of it (the recent minutes count as they are) ...
    const night = { ...o, observedAt: '2026-11-20T04:00:00.000Z' };
    expect(boundsOf(planServerlessBounds(night, s, {}))?.min).toBe(5);
    // ... and once the capacity moves with the ~2 ACU of load, the nights' held 8 ACU is not learned.
    const after = { ...night, current: { min: 5, max: 32 } };
    after.recent = { ...night.recent, capacity: night.recent.capacity.map((_, i) => (i % 2 ? 2 : 2.5)) };
    expect(boundsOf(planServerlessBounds(after, s, {}))?.min).toBe(1.5);
    // The same flat buckets at MaxCapacity are demand at least that: kept.
    expect(forecastPeak({ ...after, current: { min: 5, max: 8 } }, s).peak).toBe(8);
    // Ahead of the evening, the peak history shows still raises it.
    expect(boundsOf(planServerlessBounds(o, s, {}))?.min).toBe(12);
  });

  it('keeps the minimum close to a peak that history shows arriving in a step, and at warmFraction of a ramp', () => {
    // 17:40, the evening peak of 20 starts at 18:00: from 2 ACU in one 15-minute bucket (x10).
    const step = {
      ...obs({ min: 0.5, max: 64, recent: 2, dayPeak: 20 }),
      observedAt: '2026-11-20T17:40:00.000Z',
    };
    expect(boundsOf(planServerlessBounds(step, s, {}))?.min).toBe(17);
    expect(forecastPeak(step, s).why).toMatch(/reached in a step \(x10\.0 within 15 min\)/);
    // The same peak reached over two hours (x1.2 per bucket at most): a ramp that scaling follows.
    const ramp = { ...step, history: { ...step.history } };
    const perDay = 96;
    const level = (b: number) => (b < 64 || b >= 84 ? 2 : b >= 72 ? 20 : Math.min(20, 2 * 1.2 ** (b - 60)));
    ramp.history.capacityMax = ramp.history.capacityMax.map((_, i) => level(i % perDay));
    ramp.history.capacityMean = ramp.history.capacityMax.map((v) => (v ?? 0) * 0.9);
    expect(forecastPeak(ramp, s).sharp).toBe(false);
    expect(boundsOf(planServerlessBounds(ramp, s, {}))?.min).toBe(12);
  });

  it('does not pre-warm for a load that is overdue: no connection for longer than any quiet stretch history shows', () => {
    // A development cluster: connections 09:00-17:00 every day of the history (quiet stretches of 16 h).
    const perDay = 96;
    const dev = obs({ min: 0.5, max: 16, recent: 0.5, dayPeak: 6, connections: 0 });
    const working = (i: number) => i % perDay >= 36 && i % perDay < 68;
    dev.history.capacityMax = dev.history.capacityMax.map((_, i) => (working(i) ? 6 : 0.5));
    dev.history.capacityMean = dev.history.capacityMax.map((v) => (v ?? 0) * 0.9);
    dev.history.connectionsMax = dev.history.capacityMax.map((_, i) => (working(i) ? 5 : 0));
    // History ending at `hh:mm` today (the days repeat; `quietToday` buckets of today had no load).
    const until = (end: string, buckets: number, quietToday = 0) => {
      const h = dev.history;
      const roll = <T>(xs: T[], quiet: T) =>
        [...xs.slice(buckets), ...xs.slice(0, buckets)].map((v, i, all) =>
          i >= all.length - quietToday ? quiet : v,
        );
      return {
        ...h,
        end,
        capacityMax: roll(h.capacityMax, 0.5),
        capacityMean: roll(h.capacityMean, 0.45),
        connectionsMax: roll(h.connectionsMax, 0),
      };
    };
    // 08:50 after a normal night (quiet since 17:00, 16 h): the 09:00 step is pre-warmed (0.85 x 6).
    const morning = {
      ...dev,
      observedAt: '2026-11-20T08:50:00.000Z',
      history: until('2026-11-20T08:45:00.000Z', 35),
    };
    expect(overdueLoad(morning).overdue).toBe(false);
    expect(boundsOf(planServerlessBounds(morning, s, {}))?.min).toBe(5.5);
    // 11:50, still quiet since 17:00 the day before (18 h 45 min > 16 h + 2 h): not a day like the others.
    const late = {
      ...dev,
      observedAt: '2026-11-20T11:50:00.000Z',
      history: until('2026-11-20T11:45:00.000Z', 47, 11),
    };
    expect(overdueLoad(late).overdue).toBe(true);
    expect(planServerlessBounds(late, s, {}).noopReason).toMatch(/longer than any quiet stretch/);
  });

  it('forecasts a day from its own weekday a week ago when that day was quiet, and from every day once it is busier', () => {
    // Saturday 2026-11-21 17:40. Eight days of history: weekdays quiet at 2 ACU with an evening step
    // to 20 (50 connections), weekends at 1 ACU with an evening of 6 (5 connections).
    const sat = weekObs('2026-11-21T17:40:00.000Z');
    expect(quietWeekday(sat, Math.floor(Date.parse('2026-11-21') / 86_400_000))).toMatch(
      /Saturday a week ago was a quiet day \(at most 5 connections, the other days' median 50\)/,
    );
    // The weekend evening (6 ACU in a step): 0.85 x 6, not 0.85 x 20 from the weekdays.
    expect(boundsOf(planServerlessBounds(sat, s, {}))?.min).toBe(5.5);
    // Today brought weekday load at 10:00 (10 ACU > 1.25 x the 1 ACU last Saturday showed): every day's profile.
    const busy = weekObs('2026-11-21T17:40:00.000Z', (at) => at.startsWith('2026-11-21T10'));
    expect(quietWeekday(busy, Math.floor(Date.parse('2026-11-21') / 86_400_000))).toBeUndefined();
    expect(boundsOf(planServerlessBounds(busy, s, {}))?.min).toBe(17);
    // Friday: its weekday a week ago was busy: every day's profile.
    const fri = weekObs('2026-11-20T17:40:00.000Z');
    expect(boundsOf(planServerlessBounds(fri, s, {}))?.min).toBe(17);
  });

  it('lowers a minimum that holds the capacity above the load by less than minChangeAcu', () => {
    // 04:00, the minimum 1.5 holds the capacity flat (the load is below it), history shows 2 ACU nights.
    const o = {
      ...obs({ min: 1.5, max: 64, recent: 1.5, dayPeak: 20 }),
      observedAt: '2026-11-20T04:00:00.000Z',
    };
    o.history.capacityMax = o.history.capacityMax.map((v) => (v === 2 ? 1 : v));
    o.history.capacityMean = o.history.capacityMean.map((v) => (v === 1.8 ? 0.9 : v));
    o.recent.capacity = o.recent.capacity.map(() => 1.5);
    expect(heldAtMinimum(o, s)).toBe(true);
    expect(boundsOf(planServerlessBounds(o, s, {}))?.min).toBe(1);
    // The same 0.5 step while the capacity moves with the load: not worth a change.
    const moving = {
      ...o,
      recent: { ...o.recent, capacity: o.recent.capacity.map((_, i) => (i % 2 ? 1.5 : 1.6)) },
    };
    expect(heldAtMinimum(moving, s)).toBe(false);
    expect(boundsOf(planServerlessBounds(moving, s, {}))).toBeUndefined();
  });

  it('never forecasts above every day’s profile and the last minutes: a quiet weekday only lowers it (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 8, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 95 }),
        (peaks, conns, slot) => {
          const at = new Date(Date.parse('2026-11-21T00:00:00.000Z') + slot * 15 * 60_000).toISOString();
          const o = weekObs(at, () => false, peaks, conns);
          const f = forecastPeak(o, s);
          const all = dayProfile(o, s.profileDays);
          let seasonal = 0;
          for (let t = Date.parse(at); t <= Date.parse(at) + s.lookaheadMinutes * 60_000; t += 15 * 60_000)
            seasonal = Math.max(seasonal, all.get(Math.floor((t % 86_400_000) / (15 * 60_000)))?.peak ?? 0);
          const recent = Math.max(...o.recent.capacity.slice(-s.recentMinutes).map((c) => c ?? 0));
          expect(f.peak).toBeLessThanOrEqual(Math.max(seasonal, recent) + 1e-9);
          const plan = planServerlessBounds(o, s, {});
          const to = boundsOf(plan);
          if (to) {
            expect(to.min).toBeGreaterThanOrEqual(0.5);
            expect(to.max).toBeLessThanOrEqual(256);
            expect(to.max).toBeGreaterThanOrEqual(Math.max(...o.recent.capacity.map((c) => c ?? 0)));
          }
        },
      ),
    );
  });

  it('declares that a change waits while the cluster is not available', () => {
    const busy = { ...obs({ min: 0.5, max: 64, recent: 3, dayPeak: 20 }), status: 'modifying' };
    const change = planServerlessBounds(busy, s, {}).actions.find((a) => a.kind === 'set-serverless-bounds');
    expect(change?.rules).toEqual([
      {
        rule: 'aws:cluster-available',
        verdict: 'defer',
        until: '2026-11-20T18:35:00.000Z',
        reason: expect.stringMatching(/is modifying/),
      },
    ]);
  });

  it('keeps bounds within [0 or 0.5, 256], the config’s floor and ceiling, and 0 only where auto-pause exists (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 128 }).map((x) => x / 2),
        fc.integer({ min: 2, max: 512 }).map((x) => x / 2),
        fc.double({ min: 0, max: 300, noNaN: true }),
        fc.integer({ min: 2, max: 512 }).map((x) => x / 2),
        fc.integer({ min: 1, max: 8 }).map((x) => x / 2),
        fc.boolean(),
        fc.constantFrom('16.4', '15.4', '13.12'),
        fc.constantFrom(0, 20),
        (min, max, peak, ceiling, floor, allowAutoPause, version, connections) => {
          const o = obs({
            min: Math.min(min, max),
            max: Math.max(min, max),
            recent: peak,
            dayPeak: peak,
            connections,
            version,
          });
          const settings = {
            ...s,
            maxCapacityCeiling: Math.max(ceiling, floor),
            minCapacityFloor: floor,
            allowAutoPause,
          };
          const to = boundsOf(planServerlessBounds(o, settings, {}));
          if (!to) return;
          expect(invalidBounds(to, o.engine, o.engineVersion)).toBeUndefined();
          expect(to.max).toBeLessThanOrEqual(256);
          // Never raised above the ceiling (a maximum already above it is not lowered below a recent peak).
          expect(to.max).toBeLessThanOrEqual(Math.max(settings.maxCapacityCeiling, o.current.max));
          if (to.min === 0) {
            expect(allowAutoPause && supportsAutoPause(o.engine, o.engineVersion)).toBe(true);
            expect(connections).toBe(0);
          } else expect(to.min).toBeGreaterThanOrEqual(Math.min(floor, to.max));
        },
      ),
    );
  });

  it('never sets a minimum above the step fraction of the highest capacity published, whatever the history holds (property)', () => {
    const bucket = fc.record({
      level: fc.integer({ min: 1, max: 128 }).map((x) => x / 2),
      flat: fc.boolean(),
      connected: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(bucket, { minLength: 96, maxLength: 96 }),
        fc.integer({ min: 0, max: 95 }),
        fc.integer({ min: 1, max: 64 }).map((x) => x / 2),
        fc.boolean(),
        (day, at, recent, recentConnected) => {
          const o = obs({ min: 0.5, max: 64, recent, dayPeak: 1, connections: recentConnected ? 20 : 0 });
          const week = Array.from({ length: 7 }, () => day).flat();
          o.history.capacityMax = week.map((b) => b.level);
          o.history.capacityMean = week.map((b) => (b.flat ? b.level : b.level * 0.8));
          o.history.connectionsMax = week.map((b) => (b.connected ? 10 : 0));
          o.observedAt = new Date(Date.parse('2026-11-20T00:00:00.000Z') + at * 15 * 60_000).toISOString();
          const to = boundsOf(planServerlessBounds(o, s, {}));
          if (!to) return;
          expect(invalidBounds(to, o.engine, o.engineVersion)).toBeUndefined();
          const seen = Math.max(recent, ...week.map((b) => b.level));
          const fraction = Math.max(s.warmFraction, s.sharpWarmFraction);
          expect(to.min).toBeLessThanOrEqual(
            Math.max(s.minCapacityFloor, Math.ceil(seen * fraction * 2) / 2),
          );
          expect(to.max).toBeGreaterThanOrEqual(Math.min(256, seen));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps bounds within AWS rules and the config, and never lowers the maximum below a recent peak (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 512 }).map((x) => x / 2),
        fc.integer({ min: 2, max: 512 }).map((x) => x / 2),
        fc.double({ min: 0, max: 300, noNaN: true }),
        fc.double({ min: 0, max: 300, noNaN: true }),
        fc.integer({ min: 0, max: 100 }),
        (min, max, recent, dayPeak, util) => {
          const o = obs({ min: Math.min(min, max), max: Math.max(min, max), recent, dayPeak, util });
          const to = boundsOf(planServerlessBounds(o, s, {}));
          if (!to) return;
          expect(invalidBounds(to, o.engine, o.engineVersion)).toBeUndefined();
          expect(to.min).toBeGreaterThanOrEqual(0.5);
          expect(to.max).toBeLessThanOrEqual(256);
          const peak = Math.min(256, Math.ceil(Math.max(recent, dayPeak) * 2) / 2);
          if (to.max < o.current.max) expect(to.max).toBeGreaterThanOrEqual(Math.min(peak, o.current.max));
          if (to.max > o.current.max && util < 99) expect(to.max).toBeLessThanOrEqual(s.maxCapacityCeiling);
        },
      ),
    );
  });
});

describe('the midnight after a quiet day (step 1d, quietSoFar)', () => {
  it('expects a busy weekday at midnight in a step after a quiet day (the Monday after a weekend)', () => {
    // Weekend nights at 1.2 ACU, weekday nights at 2 (x1.67 across Sunday-Monday: under the 2x a
    // step needs in the profile), the week's evenings as weekObs. Sunday 23:50: the look-ahead
    // reaches Monday 00:00-00:30, whose weekday a week ago (Monday 16th) was busy; today (5
    // connections against a median of 50) is quiet: Monday's 2 ACU arrives at once: 0.85 x 2.
    const nights = (o: ReturnType<typeof weekObs>) => ({
      ...o,
      history: {
        ...o.history,
        capacityMax: o.history.capacityMax.map((v) => (v === 1 ? 1.2 : v)),
        capacityMean: o.history.capacityMean.map((v) => (v === 0.9 ? 1.08 : v)),
      },
    });
    const sun = nights(weekObs('2026-11-22T23:50:00.000Z'));
    const today = Math.floor(Date.parse('2026-11-22') / 86_400_000);
    expect(quietSoFar(sun, today)).toBe("at most 5 connections, the other days' median 50");
    const f = forecastPeak(sun, s);
    expect(f).toMatchObject({ peak: 2, sharp: true });
    expect(f.why).toMatch(
      /reached in a step at midnight \(today a quiet day .*the next day's weekday a week ago a busy one\)/,
    );
    expect(boundsOf(planServerlessBounds(sun, s, {}))?.min).toBe(2);
    // Raised at 23:35: the last minutes show the capacity held at that minimum (not today's load): kept.
    const raised = {
      ...sun,
      current: { min: 2, max: 64 },
      recent: { ...sun.recent, capacity: sun.recent.capacity.map(() => 2) },
    };
    expect(forecastPeak(raised, s).sharp).toBe(true);
    expect(boundsOf(planServerlessBounds(raised, s, {}))).toBeUndefined();
    // Sunday 22:00 (the look-ahead stays in today): a ramp's 0.6 x today's forecast (1.2 -> 1).
    const evening = nights(weekObs('2026-11-22T22:00:00.000Z'));
    expect(forecastPeak(evening, s).sharp).toBe(false);
    // Friday 23:50 into Saturday: today is busy, no step (0.6 x 2).
    const fri = nights(weekObs('2026-11-20T23:50:00.000Z'));
    expect(forecastPeak(fri, s).sharp).toBe(false);
    expect(boundsOf(planServerlessBounds(fri, s, {}))?.min).toBe(1.5);
    // Without Monday a week ago in the history (the last 6 days only), nothing says Monday is busy: 0.6 x 2.
    const six = {
      ...sun,
      history: {
        ...sun.history,
        capacityMax: sun.history.capacityMax.slice(-6 * 96),
        capacityMean: sun.history.capacityMean.slice(-6 * 96),
        connectionsMax: sun.history.connectionsMax.slice(-6 * 96),
      },
    };
    expect(quietSoFar(six, today)).toBeDefined();
    expect(forecastPeak(six, s).sharp).toBe(false);
    expect(boundsOf(planServerlessBounds(six, s, {}))?.min).toBe(1.5);
  });
});

describe('Serverless v2 capacity model', () => {
  const bounds = { min: 0.5, max: 64, secondsUntilAutoPause: 300 };

  it('scales up faster from a higher capacity', () => {
    const low = stepMinute(initialState(bounds, 1), 8, bounds);
    const high = stepMinute(initialState(bounds, 4), 8, bounds);
    expect(low.result.saturated).toBe(true);
    expect(high.result.unserved).toBeLessThan(low.result.unserved);
  });

  it('saturates more with slower doubling (the bad end of the range)', () => {
    const slow = { ...DEFAULT_SERVERLESS_PARAMS, doublingSeconds: 60 };
    const fast = stepMinute(initialState(bounds, 4), 7, bounds);
    const slowed = stepMinute(initialState(bounds, 4), 7, bounds, slow);
    expect(slowed.result.unserved).toBeGreaterThan(fast.result.unserved);
  });

  it('pauses at MinCapacity 0 after SecondsUntilAutoPause idle, and the next demand waits for the resume', () => {
    const b = { min: 0, max: 8, secondsUntilAutoPause: 300 };
    let state = initialState(b, 0);
    for (let m = 0; m < 5; m++) state = stepMinute(state, 0, b).next;
    expect(state.paused).toBe(true);
    const resumed = stepMinute(state, 1, b);
    expect(resumed.result.saturated).toBe(true);
    expect(resumed.result.unserved).toBeGreaterThan(0);
  });
});

describe('serverless backtest', () => {
  it('rejects a trace with the wrong header, naming the line', () => {
    expect(() => parseServerlessTrace('minute,iops_demand\n0,1\n', 'x.csv')).toThrow(
      /x\.csv:1: header must be "minute,acu_demand"/,
    );
  });

  it('beats both fixed-bounds users on a diurnal trace the policy has never seen', () => {
    const r = runServerlessBacktest(generateServerlessTrace('diurnal', 303));
    const a = r.policies['db-autopilot'];
    const high = r.policies['fixed-bounds-high'];
    const low = r.policies['fixed-bounds-low'];
    expect(a.cost).toBeLessThanOrEqual(0.8 * high.cost);
    expect(a.saturationMinutes).toBeLessThanOrEqual(high.saturationMinutes);
    expect(a.cost).toBeLessThanOrEqual(1.2 * low.cost);
    expect(r.policies.oracle.saturationMinutes).toBe(0);
  });
});
