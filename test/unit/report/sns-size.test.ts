import { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../shared/core/model.ts';
import { buildDigest, renderDigestText } from '../../../shared/report/digest.ts';
import { digestMessage, eventMessage, fitLines, SNS_MESSAGE_MAX_BYTES } from '../../../shared/report/sns.ts';
import { SimAccount } from '../../../shared/sim/index.ts';
import { makeDecision } from '../core/fixtures.ts';

const DAY = '2026-03-02';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:db-autopilot-reports';

/** A fleet's day: `n` tables, each with an applied change and a deferral every hour for 24 hours. */
function fleetDay(n: number): Decision[] {
  const out: Decision[] = [];
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < 24; h++) {
      const at = `${DAY}T${String(h).padStart(2, '0')}:00:00.000Z`;
      const resource = `orders-shard-${String(t).padStart(3, '0')}`;
      out.push(
        makeDecision({
          id: `d-${t}-${h}-a`,
          at,
          tuner: 'dynamodb',
          resource,
          resourceKind: 'dynamodb-table',
          action: 'set-capacity',
          outcome: 'applied',
          reason: `consumed read capacity ${100 + h} over the target for 10 minutes on table ${resource}`,
        }),
        makeDecision({
          id: `d-${t}-${h}-d`,
          at,
          tuner: 'dynamodb',
          resource,
          resourceKind: 'dynamodb-table',
          action: 'set-capacity',
          outcome: 'deferred',
          guard: 'rate-limit',
          reason: `decrease deferred on table ${resource}: the per-run change cap (10) is used by other tables`,
        }),
      );
    }
  }
  return out;
}

const bytes = (s: string) => Buffer.byteLength(s);

describe('SNS messages stay within Publish’s 256 KB', () => {
  const digest = buildDigest({
    since: `${DAY}T00:00:00.000Z`,
    until: `${DAY}T23:59:59.000Z`,
    paused: false,
    decisions: fleetDay(1000),
  });
  const text = renderDigestText(digest);

  it('cuts a fleet digest that would not fit to its first lines and says how many were left out', () => {
    expect(bytes(text)).toBeGreaterThan(SNS_MESSAGE_MAX_BYTES); // the case this is about
    const input = digestMessage(TOPIC, digest);
    const message = String(input.Message);
    expect(bytes(message)).toBeLessThanOrEqual(SNS_MESSAGE_MAX_BYTES - 2_048);
    const email = (JSON.parse(message) as { email: string }).email;
    const left = /\.\.\. (\d+) more lines of this digest left out: SNS takes at most 256 KB/.exec(email);
    expect(left).not.toBeNull();
    const kept = email.split('\n').slice(0, -2);
    // The head is the digest's own first lines, unchanged, and kept + left out = every line.
    expect(text.startsWith(kept.join('\n'))).toBe(true);
    expect(kept.length + Number(left?.[1])).toBe(text.split('\n').length);
  });

  it('is accepted by the simulated SNS, which refuses the uncut message', async () => {
    const sim = new SimAccount({ start: `${DAY}T00:00:00.000Z` });
    const topic = sim.sns.createTopic('reports');
    const sns = sim.clients().sns;
    await expect(sns.send(new PublishCommand(digestMessage(topic, digest)))).resolves.toHaveProperty(
      'MessageId',
    );
    const uncut = { ...digestMessage(topic, digest), Message: JSON.stringify({ default: 'x', email: text }) };
    await expect(sns.send(new PublishCommand(uncut))).rejects.toThrow(/Message too long/);
  });

  it('leaves a message that fits exactly as it was', () => {
    const small = buildDigest({
      since: `${DAY}T00:00:00.000Z`,
      until: `${DAY}T23:59:59.000Z`,
      paused: false,
      decisions: fleetDay(2),
    });
    const email = (JSON.parse(String(digestMessage(TOPIC, small).Message)) as { email: string }).email;
    expect(email).toBe(renderDigestText(small));
    const event = eventMessage(TOPIC, fleetDay(1).slice(0, 3));
    expect(String(event.Message)).not.toContain('left out');
  });

  it('fitLines keeps the most first lines that fit', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    const fitted = fitLines(lines, (c) => c.length <= 300, 'test');
    expect(fitted.length).toBeLessThanOrEqual(300);
    const kept = fitted.split('\n').slice(0, -2);
    // One more line would not fit.
    const oneMore = fitLines(lines, (c) => c.length <= 300 + `line ${kept.length}\n`.length, 'test');
    expect(oneMore.split('\n').length).toBeGreaterThanOrEqual(fitted.split('\n').length);
    expect(kept.at(-1)).toBe(`line ${kept.length - 1}`);
  });
});
