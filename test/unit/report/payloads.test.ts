import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import type { Decision, Outcome } from '../../../shared/core/model.ts';
import { metricConsoleUrl } from '../../../shared/report/console-links.ts';
import { buildDigest, renderDigestText } from '../../../shared/report/digest.ts';
import { digestPayload, escapeSlack, eventPayload, SLACK_LIMITS } from '../../../shared/report/slack.ts';
import { digestMessage, eventMessage, snsSubject } from '../../../shared/report/sns.ts';
import { sparkline } from '../../../shared/report/sparkline.ts';
import { makeDecision } from '../core/fixtures.ts';

const region = 'us-east-1';

function decision(n: number, overrides: Partial<Decision> = {}): Decision {
  return makeDecision({
    id: `run-1:${String(n).padStart(4, '0')}`,
    at: new Date(Date.UTC(2026, 10, 23, 10, n % 60)).toISOString(),
    tuner: 'iops',
    resource: `securecart-orders-${n}`,
    action: 'set-iops',
    outcome: 'applied',
    from: 3000,
    to: 6000,
    reason: 'p99 IOPS 4,100 is 137% of provisioned 3,000',
    monthlyCostDelta: 300,
    evidence: [
      {
        metric: 'ReadIOPS+WriteIOPS',
        statistic: 'p99',
        value: 4100,
        unit: 'IOPS',
        namespace: 'AWS/RDS',
        dimensions: { DBInstanceIdentifier: `securecart-orders-${n}` },
        window: { start: '2026-11-23T09:00:00.000Z', end: '2026-11-23T10:00:00.000Z', periodSeconds: 60 },
        series: [1000, 1200, 2500, 4100, 3900, 2000],
      },
    ],
    ...overrides,
  });
}

function allTexts(blocks: unknown[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return out;
}

describe('Slack payloads', () => {
  it('escapes &, < and > in every dynamic text', () => {
    const d = decision(1, { reason: 'a <script> & <!channel> > trouble', resource: 'db<1>&co' });
    const payload = eventPayload([d], region);
    const texts = allTexts(payload.blocks).join('\n') + payload.text;
    expect(texts).not.toContain('<script>');
    expect(texts).not.toContain('<!channel>');
    expect(texts).toContain('&lt;script&gt; &amp; &lt;!channel&gt; &gt; trouble');
    expect(escapeSlack('a&b<c>d')).toBe('a&amp;b&lt;c&gt;d');
  });

  it('never exceeds 50 blocks, and says how many more there are', () => {
    const many = Array.from({ length: 120 }, (_, i) => decision(i));
    const payload = eventPayload(many, region);
    expect(payload.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(JSON.stringify(payload.blocks)).toMatch(/and \d+ more/);
    expect(payload.text.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
  });

  it('keeps every block within Slack text limits whatever the input', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            reason: fc.string({ maxLength: 5000 }),
            resource: fc.string({ minLength: 1, maxLength: 300 }),
          }),
          {
            minLength: 1,
            maxLength: 80,
          },
        ),
        (items) => {
          const ds = items.map((x, i) => decision(i, x));
          for (const payload of [
            eventPayload(ds, region),
            digestPayload(
              buildDigest({
                decisions: ds,
                since: '2026-11-22T00:00:00Z',
                until: '2026-11-24T00:00:00Z',
                paused: false,
              }),
              region,
            ),
          ]) {
            expect(payload.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
            for (const b of payload.blocks) {
              if (b.type === 'header')
                expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
              if (b.type === 'section')
                expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
              if (b.type === 'context')
                expect(b.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('shows a sparkline of the deciding metric and a console link to it', () => {
    const payload = eventPayload([decision(1)], region);
    const text = JSON.stringify(payload.blocks);
    expect(text).toContain(sparkline([1000, 1200, 2500, 4100, 3900, 2000]));
    expect(text).toContain('console.aws.amazon.com/cloudwatch/home?region=us-east-1#metricsV2:graph=');
  });
});

describe('console links and sparklines', () => {
  it('links the metric over the decision window, without expiry', () => {
    const url = metricConsoleUrl(decision(1).evidence[0] as Decision['evidence'][number], region);
    expect(url).toContain("start~'2026-11-23T09*3A00*3A00.000Z");
    expect(url).toContain('DBInstanceIdentifier');
    expect(url).not.toMatch(/X-Amz-Expires|Signature/);
  });

  it('draws peaks even when a long series is reduced', () => {
    const series = Array.from({ length: 1000 }, (_, i) => (i === 777 ? 100 : 1));
    const line = sparkline(series, 20);
    expect(line).toHaveLength(20);
    expect(line).toContain('█');
  });
});

describe('SNS messages', () => {
  it('has a one-line subject under 100 characters and a severity attribute', () => {
    const d = decision(1, { resource: `very-long-name-${'x'.repeat(200)}`, reason: 'line1\nline2' });
    const m = eventMessage('arn:aws:sns:us-east-1:123456789012:reports', [d]);
    expect(m.Subject?.length).toBeLessThan(100);
    expect(m.Subject).not.toMatch(/[\r\n]/);
    expect(m.MessageStructure).toBe('json');
    const body = JSON.parse(m.Message ?? '{}') as { default?: string; email?: string };
    expect(body.default).toBeTruthy();
    expect(body.email).toContain('why: line1');
    expect(m.MessageAttributes?.severity?.StringValue).toBe('info');
  });

  it('marks failures critical so subscribers can filter on them', () => {
    const m = eventMessage('arn:aws:sns:us-east-1:1:t', [decision(1), decision(2, { outcome: 'failed' })]);
    expect(m.MessageAttributes?.severity?.StringValue).toBe('critical');
  });

  it('strips line breaks and non-ASCII from subjects', () => {
    expect(snsSubject('a\nb\r\nc — d')).toBe('a b c ? d');
  });
});

describe('digest', () => {
  it('sums the period, lists sections and says whether db-autopilot is paused', () => {
    const outcomes: Outcome[] = ['applied', 'deferred', 'skipped', 'failed', 'planned'];
    const ds = outcomes.map((outcome, i) => decision(i, { outcome }));
    ds.push(decision(9, { tuner: 'maintenance', action: 'vacuum', resource: 'orders:public.line_items' }));
    ds.push(
      decision(10, { outcome: 'skipped', guard: 'drift', reason: 'IOPS changed outside db-autopilot' }),
    );
    const digest = buildDigest({
      decisions: ds,
      since: '2026-11-23T00:00:00Z',
      until: '2026-11-24T00:00:00Z',
      paused: true,
    });
    expect(digest.applied).toHaveLength(1);
    expect(digest.deferred).toHaveLength(1);
    expect(digest.planned).toHaveLength(1);
    expect(digest.maintenance).toHaveLength(1);
    expect(digest.drift).toHaveLength(1);
    expect(digest.totals.appliedMonthlyCostDelta).toBe(600); // the applied iops change and the applied vacuum
    const text = renderDigestText(digest);
    expect(text).toContain('PAUSED');
    expect(text).toContain('Would have done (observe mode) (1)');
    const m = digestMessage('arn:aws:sns:us-east-1:1:t', digest);
    expect(m.Subject?.length).toBeLessThan(100);
  });

  it('lists failed runs (an invocation that failed on an unexpected error) in their own section', () => {
    const failedRun = decision(1, {
      outcome: 'failed',
      action: 'noop',
      guard: 'run-failed',
      resource: 'iops-tuner',
      reason: 'run failed: InternalServerError: injected',
    });
    const digest = buildDigest({
      decisions: [failedRun, decision(2, { outcome: 'failed' })],
      since: '2026-11-23T00:00:00Z',
      until: '2026-11-24T00:00:00Z',
      paused: false,
    });
    expect(digest.failedRuns.map((d) => d.resource)).toEqual(['iops-tuner']);
    expect(digest.failed.map((d) => d.guard)).not.toContain('run-failed');
    expect(renderDigestText(digest)).toContain('Failed runs (1)');
  });

  it('parses with the example configuration', () => {
    expect(
      parseConfig('version: 1\nnotifications:\n  minSeverity: warning\n').notifications.minSeverity,
    ).toBe('warning');
  });
});

describe('repeated deferrals', () => {
  it('lists a repeated deferral once in the digest, with how often it happened', () => {
    const ds = [1, 2, 3].map((n) => decision(n, { outcome: 'deferred', resource: 'orders' }));
    const digest = buildDigest({
      decisions: ds,
      since: '2026-11-23T00:00:00Z',
      until: '2026-11-24T00:00:00Z',
      paused: false,
    });
    expect(digest.deferred).toHaveLength(1);
    expect(digest.counts.deferred).toBe(3);
    expect(renderDigestText(digest)).toContain('(3 times; latest shown)');
  });
});
