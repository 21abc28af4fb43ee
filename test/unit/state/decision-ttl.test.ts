import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ActionKind, Outcome } from '../../../shared/core/model.ts';
import { DynamoDbStateStore, decisionItems, decisionTtlDays } from '../../../shared/state/dynamodb-store.ts';
import { DEFAULT_AUDIT_TTL_DAYS, DEFAULT_NOOP_TTL_DAYS } from '../../../shared/state/table-definition.ts';
import { makeDecision } from '../core/fixtures.ts';

const AT = '2026-11-20T10:00:00.000Z';
const SERIES = {
  metric: 'ConsumedWriteCapacityUnits',
  statistic: 'Sum',
  value: 1,
  window: { start: AT, end: AT, periodSeconds: 60 },
  series: [1, 2],
};
const daysAfterAt = (expiresAt: unknown) => ((expiresAt as number) * 1000 - Date.parse(AT)) / 86_400_000;

describe('how long the state table keeps a decision (TTL)', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('keeps a successful no-op 30 days and a change 400 days by default', () => {
    const [noop] = decisionItems(
      makeDecision({ action: 'noop', outcome: 'applied', at: AT }),
      DEFAULT_AUDIT_TTL_DAYS,
    );
    const change = decisionItems(
      makeDecision({ action: 'set-capacity', outcome: 'applied', at: AT, evidence: [SERIES] }),
      DEFAULT_AUDIT_TTL_DAYS,
    );
    expect(DEFAULT_NOOP_TTL_DAYS).toBe(30);
    expect(daysAfterAt(noop.expiresAt)).toBe(30);
    // The change and the item of its evidence expire together.
    expect(change.map((item) => daysAfterAt(item.expiresAt))).toEqual([400, 400]);
  });

  it('keeps a failed no-op (a run that could not observe) as long as the audit log', () => {
    const [failed] = decisionItems(makeDecision({ action: 'noop', outcome: 'failed', at: AT }), 400, 30);
    expect(daysAfterAt(failed.expiresAt)).toBe(400);
  });

  it('never keeps a no-op longer than the audit log', () => {
    expect(decisionTtlDays({ action: 'noop', outcome: 'applied' }, 20, 30)).toBe(20);
  });

  it('gives every notable decision the audit retention and only successful no-ops the shorter one', () => {
    const kinds: ActionKind[] = ['set-iops', 'set-capacity', 'recommend', 'finding', 'noop', 'prewarm'];
    const outcomes: Outcome[] = ['planned', 'intended', 'applied', 'deferred', 'skipped', 'failed'];
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.constantFrom(...outcomes),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        (action, outcome, audit, noop) => {
          const days = decisionTtlDays({ action, outcome }, audit, noop);
          if (action === 'noop' && outcome !== 'failed') expect(days).toBe(Math.min(noop, audit));
          else expect(days).toBe(audit);
        },
      ),
    );
  });

  it('refuses a NOOP_TTL_DAYS that is not a whole number of days, naming the variable', () => {
    vi.stubEnv('NOOP_TTL_DAYS', '0');
    expect(() => new DynamoDbStateStore({ client: new DynamoDBClient({ region: 'us-east-1' }) })).toThrow(
      /NOOP_TTL_DAYS must be a whole number of days >= 1, got "0"/,
    );
  });
});
