import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionKind, Decision } from '../../../shared/core/model.ts';
import { describeChange, reasonText } from '../../../shared/report/describe.ts';
import { decisionHeadline } from '../../../shared/report/format.ts';
import { makeDecision } from '../core/fixtures.ts';

const ACTIONS: ActionKind[] = [
  'set-iops',
  'set-storage-type',
  'add-replica',
  'remove-replica',
  'set-capacity',
  'set-scaling-target',
  'set-capacity-mode',
  'prewarm',
  'vacuum',
  'analyze',
  'recommend',
  'finding',
  'put-alarm',
  'delete-alarm',
  'put-dashboard',
  'noop',
];

describe('actions as people read them', () => {
  it.each([
    [
      {
        tuner: 'dynamodb',
        action: 'set-capacity',
        from: { '(table)': { read: 961, write: 105 } },
        to: { '(table)': { read: 717, write: 105 } },
      },
      'capacity: table read 961 -> 717',
    ],
    [{ tuner: 'iops', action: 'set-iops', from: 6800, to: 4900 }, 'provisioned IOPS 6,800 -> 4,900 IOPS'],
    [{ tuner: 'alarms', action: 'put-alarm', from: null, to: 0 }, 'alarm created (threshold 0)'],
    [
      {
        tuner: 'iops',
        action: 'recommend',
        from: { storageType: 'gp2', allocatedGiB: 200, iops: 600 },
        to: { storageType: 'gp3', allocatedGiB: 200, iops: 3000 },
      },
      'recommendation: gp2, 200 GiB, 600 IOPS -> gp3, 200 GiB, 3,000 IOPS',
    ],
    [
      {
        tuner: 'insights',
        action: 'recommend',
        from: null,
        to: { kind: 'duplicate-index', fix: 'DROP INDEX x;', status: 'new' },
      },
      'duplicate index (new)',
    ],
  ] as const)('%o reads "%s"', (d, text) => {
    expect(describeChange(d)).toBe(text);
  });

  it('never shows raw JSON or an empty "-> " change, whatever the values', () => {
    const value = fc.oneof(
      fc.constant(null),
      fc.integer(),
      fc.stringMatching(/^[a-z0-9 ]{0,10}$/),
      fc.dictionary(
        fc.stringMatching(/^[a-zA-Z]{1,8}$/),
        fc.oneof(fc.integer(), fc.stringMatching(/^[a-z]{0,6}$/)),
      ),
      fc.dictionary(
        fc.constantFrom('(table)', 'by-category'),
        fc.record({ read: fc.nat(), write: fc.nat() }),
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...ACTIONS),
        fc.constantFrom('iops', 'dynamodb', 'alarms', 'insights', 'maintenance', 'replicas'),
        value,
        value,
        (action, tuner, from, to) => {
          const line = decisionHeadline(
            makeDecision({ action, tuner: tuner as Decision['tuner'], from, to }),
          ).replace(/^\[[^\]]+\] /, '');
          expect(line).not.toMatch(/[{}[\]"]/);
          expect(line).not.toMatch(/ - -> /);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('leads a held-back decrease with the decrease budget', () => {
    const d = makeDecision({
      outcome: 'deferred',
      guard: 'aws:dynamodb-decrease-budget',
      reason: 'read 400: within the target band',
    });
    expect(reasonText(d)).toMatch(/^held back by decrease budget/);
  });
});
