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

function message(
  topicArn: string,
  subject: string,
  body: string,
  short: string,
  severity: Severity,
): PublishCommandInput {
  return {
    TopicArn: topicArn,
    Subject: snsSubject(subject),
    MessageStructure: 'json',
    Message: JSON.stringify({ default: short, email: body }),
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
  return message(topicArn, digestTitle(digest), body, digestTitle(digest), severity);
}
