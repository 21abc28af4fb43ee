import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionKind, Outcome, TunerName } from '../../../shared/core/model.ts';
import { decisionMetrics } from '../../../shared/handler/decision-metrics.ts';

const d = (tuner: TunerName, action: ActionKind, outcome: Outcome) => ({ tuner, action, outcome }) as const;

describe('EMF decision metrics', () => {
  it('publishes only the fleet-wide Decisions count for a run of no-ops (no metric per tuner)', () => {
    const noops = [
      d('dynamodb', 'noop', 'applied'),
      d('dynamodb', 'noop', 'applied'),
      d('iops', 'noop', 'applied'),
    ];
    expect(decisionMetrics(noops)).toEqual([{ name: 'Decisions', n: 3 }]);
  });

  it('counts applied changes, deferrals and failures by tuner', () => {
    const got = decisionMetrics([
      d('dynamodb', 'set-capacity', 'applied'),
      d('dynamodb', 'set-capacity', 'deferred'),
      d('iops', 'set-iops', 'failed'),
      d('iops', 'recommend', 'applied'),
    ]);
    expect(got).toEqual(
      expect.arrayContaining([
        { name: 'Decisions', n: 4 },
        { name: 'Changes', tuner: 'dynamodb', n: 1 },
        { name: 'Deferrals', tuner: 'dynamodb', n: 1 },
        { name: 'Failures', tuner: 'iops', n: 1 },
      ]),
    );
    // A recommendation is advice, not a change.
    expect(got.some((m) => m.name === 'Changes' && m.tuner === 'iops')).toBe(false);
  });

  it('counts every decision once in Decisions, whatever the batch (property)', () => {
    const kinds: ActionKind[] = ['noop', 'set-iops', 'set-capacity', 'recommend', 'finding'];
    const outcomes: Outcome[] = ['planned', 'intended', 'applied', 'deferred', 'skipped', 'failed'];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            tuner: fc.constantFrom<TunerName>('dynamodb', 'iops', 'replicas'),
            action: fc.constantFrom(...kinds),
            outcome: fc.constantFrom(...outcomes),
          }),
          { maxLength: 40 },
        ),
        (batch) => {
          const got = decisionMetrics(batch);
          const total = got.find((m) => m.name === 'Decisions')?.n ?? 0;
          expect(total).toBe(batch.length);
          const failures = got.filter((m) => m.name === 'Failures').reduce((s, m) => s + m.n, 0);
          expect(failures).toBe(batch.filter((x) => x.outcome === 'failed').length);
        },
      ),
    );
  });
});
