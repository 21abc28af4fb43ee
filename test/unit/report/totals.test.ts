import { describe, expect, it } from 'vitest';
import type { DemoReport } from '../../../shared/cli/demo.ts';
import { renderMarkdown } from '../../../shared/cli/demo.ts';
import type { Decision } from '../../../shared/core/model.ts';
import { buildDigest, renderDigestText } from '../../../shared/report/digest.ts';
import { formatUsd } from '../../../shared/report/format.ts';
import { digestPayload, eventPayload } from '../../../shared/report/slack.ts';
import { digestMessage } from '../../../shared/report/sns.ts';
import {
  moneyTotals,
  totalsText,
  wouldChangeText,
  wouldChangeTotals,
} from '../../../shared/report/totals.ts';
import { makeDecision } from '../core/fixtures.ts';

let seq = 0;
function d(hour: number, over: Partial<Decision>): Decision {
  seq += 1;
  return makeDecision({
    id: `t:${seq}`,
    at: `2026-11-20T${String(hour).padStart(2, '0')}:00:00.000Z`,
    ...over,
  });
}

// An IOPS cut of -$360/month reversed six hours later (+$360), a replica removed (-$164.25), an
// on-demand recommendation repeated three times (-$27.65 potential, once), an alarm (+$0.10).
const decisions: Decision[] = [
  d(1, { resource: 'orders', action: 'set-iops', from: 6800, to: 5000, monthlyCostDelta: -360 }),
  d(7, { resource: 'orders', action: 'set-iops', from: 5000, to: 6800, monthlyCostDelta: 360 }),
  d(2, {
    tuner: 'replicas',
    resource: 'dbap-r1',
    action: 'remove-replica',
    from: 2,
    to: 1,
    monthlyCostDelta: -164.25,
  }),
  ...[3, 9, 15].map((h) =>
    d(h, {
      tuner: 'dynamodb-mode',
      resource: 'sessions',
      action: 'recommend',
      from: 'PROVISIONED',
      to: 'PAY_PER_REQUEST',
      monthlyCostDelta: -27.65,
      guard: 'non-mutating',
    }),
  ),
  d(4, {
    tuner: 'alarms',
    resource: 'dbap-x',
    action: 'put-alarm',
    from: null,
    to: 0,
    monthlyCostDelta: 0.1,
  }),
  d(5, {
    resource: 'orders',
    action: 'set-iops',
    outcome: 'deferred',
    guard: 'aws:storage-wait-6h',
    monthlyCostDelta: 500,
  }),
];

describe('one accounting of money', () => {
  it('counts applied changes net of reversals, and a recommendation as potential once, never as saved', () => {
    const t = moneyTotals(decisions);
    expect(t.appliedMonthlyCostDelta).toBe(-164.15);
    expect(t.reversedMonthlyCostDelta).toBe(360);
    expect(t.potentialMonthlyCostDelta).toBe(-27.65);
    expect(t.appliedChanges).toBe(4);
    expect(t.recommendations).toBe(1);
  });

  it('shows the same totals in report.md, report.json, the digest text, the digest Slack post and SNS', () => {
    const t = moneyTotals(decisions);
    const report = {
      scenario: 'unit',
      start: '2026-11-20T00:00:00.000Z',
      end: '2026-11-21T00:00:00.000Z',
      functions: [],
      tuners: [],
      decisions: [],
      alarms: [],
      notifications: [],
      apiCalls: {},
      apiThrottled: {},
      apiErrors: {},
      totals: {
        decisions: decisions.length,
        applied: 0,
        deferred: 0,
        skipped: 0,
        failed: 0,
        planned: 0,
        ...t,
      },
      resourceDays: [],
      posts: { slack: 0, sns: 0, digest: 0 },
      wallMs: 0,
    } satisfies DemoReport;
    const json = JSON.parse(JSON.stringify(report)) as DemoReport;
    const digest = buildDigest({
      decisions,
      since: report.start,
      until: report.end,
      paused: false,
    });
    const texts = {
      'report.md': renderMarkdown(json),
      digest: renderDigestText(digest),
      'digest slack': JSON.stringify(digestPayload(digest, 'us-east-1')),
      sns: JSON.parse(digestMessage('arn:aws:sns:us-east-1:1:t', digest).Message ?? '{}').email as string,
    };
    expect(json.totals.appliedMonthlyCostDelta).toBe(digest.totals.appliedMonthlyCostDelta);
    expect(json.totals.potentialMonthlyCostDelta).toBe(digest.totals.potentialMonthlyCostDelta);
    for (const [name, text] of Object.entries(texts)) {
      expect(text, name).toContain(`${formatUsd(-164.15)}/month net`);
      expect(text, name).toContain(`${formatUsd(-27.65)}/month potential (not counted as saved)`);
      expect(text, name).toContain('$360.00/month were reversed');
    }
  });

  it('says a recommendation is potential and a deferred change is not counted, item by item', () => {
    const text = JSON.stringify(eventPayload(decisions, 'us-east-1'));
    expect(text).toContain('-$27.65/month potential (not acted on)');
    expect(text).toContain('+$500.00/month if done (not counted)');
    expect(text).not.toMatch(/put-alarm - -&gt; 0|\{&quot;|\{"\(table\)/);
  });
});

describe('the plan in observe mode (issue 23)', () => {
  // Two IOPS cuts planned in observe mode (the second a later run's repeat of the first), one
  // DynamoDB increase planned in observe mode, a no-op and a dry-run plan.
  const planned: Decision[] = [
    d(1, {
      resource: 'orders',
      action: 'set-iops',
      outcome: 'planned',
      guard: 'mode',
      monthlyCostDelta: -300,
    }),
    d(2, {
      resource: 'orders',
      action: 'set-iops',
      outcome: 'planned',
      guard: 'mode',
      monthlyCostDelta: -250,
    }),
    d(2, {
      tuner: 'dynamodb',
      resource: 'carts',
      action: 'set-capacity',
      outcome: 'planned',
      guard: 'mode',
      monthlyCostDelta: 40,
    }),
    d(3, {
      resource: 'billing',
      action: 'set-iops',
      outcome: 'planned',
      guard: 'dry-run',
      monthlyCostDelta: -12.5,
    }),
    d(3, { resource: 'ledger', action: 'noop', outcome: 'planned', guard: 'mode', monthlyCostDelta: 0 }),
  ];

  it('totals "would change N / would save $X a month", the latest plan per resource counting once', () => {
    const t = wouldChangeTotals(planned);
    expect(t).toEqual({ wouldChange: 3, wouldSaveMonthly: 262.5, wouldAddMonthly: 40 });
    expect(wouldChangeText(t)).toBe('would change 3 / would save $262.50 a month (and add $40.00 a month)');
  });

  it('says so in the report totals only when something was planned and not made', () => {
    expect(totalsText(moneyTotals(planned))).toContain(
      'Observe mode: would change 3 / would save $262.50 a month (and add $40.00 a month).',
    );
    expect(totalsText(moneyTotals(decisions))).not.toContain('Observe mode');
  });
});
