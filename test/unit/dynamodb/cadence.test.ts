import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  activity,
  type CadenceInput,
  chooseCadence,
  DEFAULT_CADENCE,
  headroomToUp,
  isDue,
  prewarmSoon,
} from '../../../shared/policies/dynamodb-cadence.ts';

const NOW = new Date('2026-01-05T10:00:00Z');
type Assessment = CadenceInput['assessments'][number];

function dim(over: Partial<Assessment> = {}): Assessment {
  return {
    indexName: null,
    dim: 'read',
    provisioned: 1000,
    demandRate: 200,
    unservedRate: 0,
    provisionedThrottles: 0,
    keyRangeThrottles: 0,
    accountLimitThrottles: 0,
    ...over,
  };
}

function input(over: Partial<CadenceInput> = {}): CadenceInput {
  return {
    now: NOW,
    assessments: [dim(), dim({ dim: 'write' })],
    plannedActions: 0,
    updating: false,
    alarm: false,
    config: { targetUtilization: 0.7, scaleUpTolerance: 0.05 },
    cadence: DEFAULT_CADENCE,
    ...over,
  };
}

describe('DynamoDB observation cadence', () => {
  it('slows to the slow cadence when every dimension is far from scaling up', () => {
    // 200 of 1000 units against a 735-unit threshold: 27% of it.
    const d = chooseCadence(input());
    expect(d.speed).toBe('slow');
    expect(d.everyMinutes).toBe(10);
    expect(d.nextAt).toBe('2026-01-05T10:10:00.000Z');
    expect(d.reason).toMatch(/far from every threshold/);
  });

  it('stays fast when any dimension, a GSI included, is near its scale-up threshold', () => {
    const d = chooseCadence(
      input({
        assessments: [
          dim(),
          dim({ indexName: 'by-category', dim: 'write', provisioned: 100, demandRate: 65 }),
        ],
      }),
    );
    expect(d.speed).toBe('fast');
    expect(d.everyMinutes).toBe(2);
    expect(d.reason).toMatch(/by-category write uses 88%/);
  });

  it('stays fast while anything happens: a planned change, UPDATING, throttling, an alarm', () => {
    expect(activity(input({ plannedActions: 1 }))).toMatch(/planned/);
    expect(activity(input({ updating: true }))).toBe('UPDATING');
    expect(activity(input({ alarm: true }))).toMatch(/alarm/);
    expect(activity(input({ assessments: [dim({ keyRangeThrottles: 3 })] }))).toMatch(/throttled/);
    expect(activity(input())).toBeUndefined();
    for (const over of [{ plannedActions: 2 }, { updating: true }, { alarm: true }])
      expect(chooseCadence(input(over)).speed).toBe('fast');
  });

  it('stays fast when a learned recurring peak is due before a slow run would come', () => {
    expect(prewarmSoon(input({ nextPeakAt: '2026-01-05T10:08:00Z' }))).toBe(true);
    expect(prewarmSoon(input({ nextPeakAt: '2026-01-05T11:00:00Z' }))).toBe(false);
    expect(chooseCadence(input({ nextPeakAt: '2026-01-05T10:08:00Z' })).speed).toBe('fast');
  });

  it('comes back when a decrease held back by the budget may be made, if that is sooner', () => {
    const d = chooseCadence(input({ deferredUntil: '2026-01-05T10:04:30Z' }));
    expect(d.speed).toBe('slow');
    expect(d.everyMinutes).toBe(5);
  });

  it('treats a table without metrics as near (unknown is not far)', () => {
    expect(headroomToUp(input({ assessments: [] })).used).toBe(1);
    expect(chooseCadence(input({ assessments: [] })).speed).toBe('fast');
  });

  it('lets a scheduled run skip a table not yet due, never an alarm or a manual run', () => {
    const next = '2026-01-05T10:10:00.000Z';
    expect(isDue(next, NOW, 'schedule')).toBe(false);
    expect(isDue(next, new Date('2026-01-05T10:09:30Z'), 'schedule')).toBe(true);
    expect(isDue(next, NOW, 'alarm')).toBe(true);
    expect(isDue(next, NOW, 'manual')).toBe(true);
    expect(isDue(undefined, NOW, 'schedule')).toBe(true);
  });

  const assessment = fc.record({
    indexName: fc.constantFrom(null, 'gsi'),
    dim: fc.constantFrom('read' as const, 'write' as const),
    provisioned: fc.integer({ min: 1, max: 40_000 }),
    demandRate: fc.double({ min: 0, max: 50_000, noNaN: true }),
    unservedRate: fc.constantFrom(0, 0, 0, 5),
    provisionedThrottles: fc.constantFrom(0, 0, 0, 2),
    keyRangeThrottles: fc.constantFrom(0, 0, 0, 1),
    accountLimitThrottles: fc.constant(0),
  });
  const anyInput = fc.record({
    assessments: fc.array(assessment, { minLength: 1, maxLength: 6 }),
    plannedActions: fc.integer({ min: 0, max: 3 }),
    updating: fc.boolean(),
    alarm: fc.boolean(),
  });

  it('never waits longer than the slow cadence nor less than the schedule (property)', () => {
    fc.assert(
      fc.property(anyInput, (x) => {
        const d = chooseCadence(input(x));
        expect(d.everyMinutes).toBeGreaterThanOrEqual(DEFAULT_CADENCE.fastMinutes);
        expect(d.everyMinutes).toBeLessThanOrEqual(DEFAULT_CADENCE.slowMinutes);
        expect(Date.parse(d.nextAt) - NOW.getTime()).toBe(d.everyMinutes * 60_000);
      }),
    );
  });

  it('is slow only when nothing happens and every dimension is below the near fraction (property)', () => {
    fc.assert(
      fc.property(anyInput, (x) => {
        const i = input(x);
        const d = chooseCadence(i);
        const threshold = 0.7 * 1.05;
        const quiet = activity(i) === undefined;
        const far = i.assessments.every(
          (a) => a.demandRate / (threshold * a.provisioned) < DEFAULT_CADENCE.nearFraction,
        );
        expect(d.speed === 'slow').toBe(quiet && far);
      }),
    );
  });

  it('never slows down when the load rises (property)', () => {
    fc.assert(
      fc.property(anyInput, fc.double({ min: 1, max: 10, noNaN: true }), (x, factor) => {
        const before = chooseCadence(input(x));
        const after = chooseCadence(
          input({
            ...x,
            assessments: x.assessments.map((a) => ({ ...a, demandRate: a.demandRate * factor })),
          }),
        );
        expect(after.everyMinutes).toBeLessThanOrEqual(before.everyMinutes);
      }),
    );
  });
});

describe('what a plan says about the cadence', () => {
  it('counts actions for now and takes the earliest deferred decrease slot', async () => {
    const { cadenceOfPlan } = await import('../../../shared/policies/dynamodb-cadence.ts');
    const action = (until?: string) =>
      ({
        kind: 'set-capacity',
        rules: until ? [{ rule: 'aws:dynamodb-decrease-budget', verdict: 'defer', reason: 'x', until }] : [],
      }) as never;
    expect(
      cadenceOfPlan({ actions: [action(), action('2026-01-05T11:00:00Z'), action('2026-01-05T10:30:00Z')] }),
    ).toEqual({
      plannedActions: 1,
      deferredUntil: '2026-01-05T10:30:00Z',
    });
    expect(cadenceOfPlan({ actions: [] })).toEqual({ plannedActions: 0 });
  });
});
