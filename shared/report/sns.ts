import type { PublishCommandInput } from '@aws-sdk/client-sns';
import type { Decision } from '../core/model.ts';
import { actionLabel, reasonText } from './describe.ts';
import { type Digest, digestTitle, renderDigestText } from './digest.ts';
import { decisionHeadline, decisionText, OUTCOME_LABEL, SEVERITY_RANK, type Severity } from './format.ts';

/**
 * SNS messages that read well in email: a plain-text body, a subject under 100 characters with
 * no line breaks (SNS rejects longer ones), a `severity` message attribute subscribers can filter
 * on, and `MessageStructure: json` with `default` and `email` bodies.
 */
export const SNS_SUBJECT_MAX = 99;

export function snsSubject(text: string): string {
  const oneLine = text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim();
  // SNS subjects must be ASCII printable characters.
  const ascii = oneLine.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= SNS_SUBJECT_MAX ? ascii : `${ascii.slice(0, SNS_SUBJECT_MAX - 3)}...`;
}

export function highestSeverity(decisions: Decision[]): Severity {
  let best: Severity = 'info';
  for (const d of decisions) {
    const s = d.outcome === 'failed' ? 'critical' : d.severity;
    if (SEVERITY_RANK[s] > SEVERITY_RANK[best]) best = s;
  }
  return best;
}

/**
 * SNS Publish takes at most 256 KB (262,144 bytes), message attributes included (SNS API reference,
 * Publish: Message; SNS Developer Guide, "Amazon SNS message attributes"): a longer one is refused
 * and nothing is delivered. A fleet's digest (200 tables and instances: 253 KB of text over six
 * hours, more over a day) reaches it, so a body that would not fit keeps its first lines and
 * says how many were left out. The budget leaves room for the JSON envelope's escapes (measured,
 * not estimated) and the attributes.
 */
export const SNS_MESSAGE_MAX_BYTES = 262_144;
const ATTRIBUTES_AND_SLACK_BYTES = 2_048;

/** The first lines of `text` (the most that fit when `fits` says so), and a line saying what was left out. */
export function fitLines(text: string, fits: (candidate: string) => boolean, what: string): string {
  if (fits(text)) return text;
  const lines = text.split('\n');
  const cut = (kept: number) =>
    [
      ...lines.slice(0, kept),
      '',
      `... ${lines.length - kept} more lines of this ${what} left out: SNS takes at most 256 KB. Every decision is in the audit log: \`npm run history -- --table <state table>\`.`,
    ].join('\n');
  // The most lines that fit (binary search: fits(cut(k)) is monotone in k).
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(cut(mid))) lo = mid;
    else hi = mid - 1;
  }
  return cut(lo);
}

function message(
  topicArn: string,
  subject: string,
  body: string,
  short: string,
  severity: Severity,
  what = 'report',
): PublishCommandInput {
  const budget = SNS_MESSAGE_MAX_BYTES - ATTRIBUTES_AND_SLACK_BYTES;
  const envelope = (d: string, e: string) => JSON.stringify({ default: d, email: e });
  // The short (default) body is at most a quarter of the budget; the email body gets the rest.
  const fittedShort = fitLines(short, (c) => Buffer.byteLength(envelope(c, '')) <= budget / 4, what);
  const fittedBody = fitLines(body, (c) => Buffer.byteLength(envelope(fittedShort, c)) <= budget, what);
  return {
    TopicArn: topicArn,
    Subject: snsSubject(subject),
    MessageStructure: 'json',
    Message: envelope(fittedShort, fittedBody),
    MessageAttributes: {
      severity: { DataType: 'String', StringValue: severity },
      source: { DataType: 'String', StringValue: 'db-autopilot' },
    },
  };
}

export function eventMessage(
  topicArn: string,
  decisions: Decision[],
  notes: Record<string, string> = {},
): PublishCommandInput {
  const severity = highestSeverity(decisions);
  const first = decisions[0];
  const subject =
    decisions.length === 1 && first
      ? `db-autopilot ${OUTCOME_LABEL[first.outcome]}: ${first.tuner} ${first.resource} ${actionLabel(first.action)}`
      : `db-autopilot: ${decisions.length} items (${severity})`;
  const body = [
    `db-autopilot reports ${decisions.length} item${decisions.length === 1 ? '' : 's'}.`,
    '',
    ...decisions.map((d) => `${decisionText(d)}${notes[d.id] ? `\n  note: ${notes[d.id]}` : ''}\n`),
    'Stop everything at once: invoke the control function with {"command":"pause"}.',
  ].join('\n');
  const short = decisions.map((d) => `${decisionHeadline(d)}: ${reasonText(d)}`).join('\n');
  return message(topicArn, subject, body, short, severity);
}

export function digestMessage(topicArn: string, digest: Digest): PublishCommandInput {
  const severity: Severity = digest.failed.length > 0 ? 'warning' : 'info';
  const body = renderDigestText(digest);
  return message(topicArn, digestTitle(digest), body, digestTitle(digest), severity, 'digest');
}
