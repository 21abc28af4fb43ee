import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../shared/core/model.ts';
import { buildDigest, type Digest, renderDigestText } from '../../../shared/report/digest.ts';
import { digestPayload } from '../../../shared/report/slack.ts';
import { digestMessage } from '../../../shared/report/sns.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeDecision } from '../core/fixtures.ts';

const DAY = '2026-03-02';
const at = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;
const evidence = [
  {
    metric: 'ReplicaLag',
    statistic: 'Maximum',
    value: 0.4,
    window: { start: at('09:00'), end: at('10:00'), periodSeconds: 60 },
    series: [0.1, 0.4],
  },
];

/**
 * Records `recorded` in a store; the digest (07:00-12:00) from the audit log (every record) and
 * from what the digest function reads (the notable decisions listed from the start of the UTC day).
 */
async function digestsOf(recorded: readonly Decision[]) {
  const store = new MemoryStateStore();
  for (const d of recorded) await store.recordDecision(d);
  const window = { since: at('07:00'), until: at('12:00'), paused: false };
  const fromAudit = buildDigest({
    ...window,
    decisions: await store.exportDecisions({ since: at('00:00') }),
  });
  const listed = await store.listDecisions({ since: `${DAY}T00:00:00.000Z`, until: window.until });
  const fromCount = buildDigest({ ...window, decisions: listed });
  return { listed, fromAudit, fromCount };
}

/** The text, Slack and SNS renderings of the two digests are the same; returns the text. */
function expectSameRenderings(fromCount: Digest, fromAudit: Digest): string {
  const text = renderDigestText(fromCount);
  expect(text).toBe(renderDigestText(fromAudit));
  expect(JSON.stringify(digestPayload(fromCount, 'us-east-1'))).toBe(
    JSON.stringify(digestPayload(fromAudit, 'us-east-1')),
  );
  expect(JSON.stringify(digestMessage('arn:aws:sns:us-east-1:1:t', fromCount))).toBe(
    JSON.stringify(digestMessage('arn:aws:sns:us-east-1:1:t', fromAudit)),
  );
  return text;
}

function skip(id: string, time: string, resource: string): Decision {
  return makeDecision({
    id,
    at: at(time),
    tuner: 'replicas',
    resource,
    resourceKind: 'rds-instance',
    action: 'remove-replica',
    outcome: 'skipped',
    guard: 'consent',
    reason: 'only resources db-autopilot created may be deleted, and it has no record of creating this one',
    from: 2,
    to: 1,
    undo: null,
    evidence,
  });
}

describe('the digest of repeated skips, rendered from the count on the first skip', () => {
  it('renders the same text, Slack and SNS digest as from every skip recorded one by one', async () => {
    // Prepare: two runs of identical skips, one that began before the digest's window, and an
    // applied change between; the store keeps each run as its first with the times it repeated.
    const recorded = [
      skip('a:1', '06:50', 'reader-1'),
      skip('a:2', '07:05', 'reader-1'),
      skip('a:3', '07:10', 'reader-1'),
      makeDecision({ id: 'c:1', at: at('08:00'), resource: 'orders-db', monthlyCostDelta: 120 }),
      skip('b:1', '10:00', 'reader-2'),
      skip('b:2', '10:05', 'reader-2'),
      skip('b:3', '10:10', 'reader-2'),
      skip('b:4', '10:15', 'reader-2'),
    ];

    // Act: the digest from the audit log (every record) and from what the digest function reads
    // (the notable decisions from the start of the window's first UTC day: runs never cross midnight).
    const { listed, fromAudit, fromCount } = await digestsOf(recorded);

    // Assess: the index holds one item per run; the renderings are the same, counts included.
    expect(listed.map((d) => [d.id, d.repeatedAt?.length ?? 0])).toEqual([
      ['a:1', 2],
      ['c:1', 0],
      ['b:1', 3],
    ]);
    const text = expectSameRenderings(fromCount, fromAudit);
    expect(text).toContain('Skipped (2)');
    expect(text).toContain('(4 times; latest shown)');
    expect(text).toContain('(2 times; latest shown)');
    expect(fromCount.counts.skipped).toBe(6);
  });
});

function deferral(id: string, time: string, resource: string, write: number): Decision {
  const until = new Date(Date.parse(at(time)) + 3_600_000).toISOString();
  return makeDecision({
    id,
    at: at(time),
    tuner: 'dynamodb',
    resource,
    resourceKind: 'dynamodb-table',
    action: 'set-capacity',
    outcome: 'deferred',
    guard: 'aws:dynamodb-decrease-budget',
    reason: `${resource} write 400 -> ${write}: the day's plan keeps the slot (reconsidered at ${until})`,
    deferredUntil: until,
    from: { '(table)': { read: 400, write: 400 } },
    to: { '(table)': { read: 400, write } },
    monthlyCostDelta: -(400 - write) * 0.47,
    undo: null,
    evidence,
  });
}

describe('the digest of repeated deferrals, rendered from the first with its count and latest repeat', () => {
  it('renders the same text, Slack and SNS digest as from every deferral recorded one by one', async () => {
    // Prepare: deferrals of one table every few minutes whose target, reason and slot move on,
    // across an hour boundary (a new first), and another table's deferral settled by a change.
    const recorded = [
      deferral('d:1', '09:40', 'sessions', 5),
      deferral('d:2', '09:50', 'sessions', 6),
      deferral('d:3', '09:58', 'sessions', 8),
      deferral('d:4', '10:02', 'sessions', 8),
      deferral('d:5', '10:04', 'sessions', 7),
      deferral('e:1', '09:45', 'carts', 20),
      deferral('e:2', '09:47', 'carts', 20),
      makeDecision({
        id: 'e:3',
        at: at('09:49'),
        tuner: 'dynamodb',
        resource: 'carts',
        resourceKind: 'dynamodb-table',
        action: 'set-capacity',
        monthlyCostDelta: -30,
      }),
    ];

    // Act
    const { listed, fromAudit, fromCount } = await digestsOf(recorded);

    // Assess: one indexed item per table and hour; the latest deferral is shown, with its count.
    expect(listed.map((d) => [d.id, d.repeatedAt?.length ?? 0, d.latestRepeat?.id])).toEqual([
      ['d:1', 2, 'd:3'],
      ['e:1', 1, 'e:2'],
      ['e:3', 0, undefined],
      ['d:4', 1, 'd:5'],
    ]);
    const text = expectSameRenderings(fromCount, fromAudit);
    expect(text).toContain('Still deferred (1)');
    expect(text).toContain('(5 times; latest shown)');
    expect(text).toContain('sessions write 400 -> 7');
    expect(fromCount.counts.deferred).toBe(7);
  });
});
