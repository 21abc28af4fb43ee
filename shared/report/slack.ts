import type { Decision } from '../core/model.ts';
import { metricConsoleUrl } from './console-links.ts';
import { decidingRule, reasonText } from './describe.ts';
import { type Digest, digestTitle } from './digest.ts';
import { costText, decisionHeadline, evidenceText } from './format.ts';
import { resourceDayText } from './resource-days.ts';
import { totalsText } from './totals.ts';

/**
 * Slack incoming-webhook payloads: Block Kit `blocks` plus a plain `text` fallback.
 * Limits (Slack's Block Kit reference): at most 50 blocks per message; a section's text at most
 * 3,000 characters; a header's plain text at most 150; a context block at most 10 elements.
 * Dynamic text is escaped (&, <, >) as Slack's "Formatting text" page requires.
 */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  contextElements: 10,
  text: 4000,
};

export interface SlackText {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}
export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text: SlackText }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'divider' };

export interface SlackPayload {
  text: string;
  blocks: SlackBlock[];
}

export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const header = (text: string): SlackBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(text, SLACK_LIMITS.headerText) },
});
const section = (mrkdwn: string): SlackBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(mrkdwn, SLACK_LIMITS.sectionText) },
});
const context = (items: string[]): SlackBlock => ({
  type: 'context',
  elements: items
    .slice(0, SLACK_LIMITS.contextElements)
    .map((t) => ({ type: 'mrkdwn', text: truncate(t, 2000) })),
});

/** A link whose URL is safe inside <url|label> (Slack needs | and > escaped in URLs). */
function link(url: string, label: string): string {
  return `<${url.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${escapeSlack(label)}>`;
}

export function decisionBlocks(d: Decision, region: string, repeated?: number, note?: string): SlackBlock[] {
  const times = repeated && repeated > 1 ? ` _(${repeated} times; latest shown)_` : '';
  const lines = [`*${escapeSlack(decisionHeadline(d))}*${times}`, escapeSlack(reasonText(d))];
  if (note) lines.push(`_${escapeSlack(note)}_`);
  for (const e of d.evidence.slice(0, 3)) {
    const url = metricConsoleUrl(e, region);
    const text = `\`${escapeSlack(evidenceText(e))}\``;
    lines.push(url ? `${text} ${link(url, 'graph')}` : text);
  }
  const facts = [
    `cost: ${escapeSlack(costText(d.monthlyCostDelta, d))}`,
    `mode: ${d.mode}${d.dryRun ? ' (dry run)' : ''}`,
  ];
  const rule = decidingRule(d);
  if (rule) facts.push(`decided by: ${escapeSlack(rule)}`);
  facts.push(`id: ${escapeSlack(d.id)}`);
  return [section(lines.join('\n')), context(facts)];
}

/**
 * Fits a list of item-block groups under the block limit: whole groups are kept in order and the
 * rest is summarised as "and N more" (the digest links to the audit log and the dashboard).
 */
export function fitBlocks(head: SlackBlock[], groups: SlackBlock[][], tail: SlackBlock[]): SlackBlock[] {
  const budget = SLACK_LIMITS.blocks - head.length - tail.length - 1;
  const out = [...head];
  let used = 0;
  let shown = 0;
  for (const g of groups) {
    if (used + g.length > budget) break;
    out.push(...g);
    used += g.length;
    shown++;
  }
  if (shown < groups.length) out.push(section(`_… and ${groups.length - shown} more (see the audit log)_`));
  out.push(...tail);
  return out;
}

/** One per-event post; `notes` (decision id -> text) say why an item is told ("resolves the deferral since ..."). */
export function eventPayload(
  decisions: Decision[],
  region: string,
  notes: Record<string, string> = {},
): SlackPayload {
  const failed = decisions.filter((d) => d.outcome === 'failed').length;
  const title = `db-autopilot: ${decisions.length} item${decisions.length === 1 ? '' : 's'}${failed ? `, ${failed} failed` : ''}`;
  const blocks = fitBlocks(
    [header(title)],
    decisions.map((d) => decisionBlocks(d, region, undefined, notes[d.id])),
    [],
  );
  const text = truncate(
    escapeSlack(`${title}\n${decisions.map((d) => `${decisionHeadline(d)}: ${reasonText(d)}`).join('\n')}`),
    SLACK_LIMITS.text,
  );
  return { text, blocks };
}

/** Lines into sections of at most the section text limit (a long list stays whole over several blocks). */
function chunkedSections(lines: string[], wrap: (text: string) => string = (t) => t): SlackBlock[] {
  const out: SlackBlock[] = [];
  let current: string[] = [];
  const max = SLACK_LIMITS.sectionText - 20;
  for (const line of lines) {
    const next = [...current, line].join('\n');
    if (wrap(next).length > max && current.length > 0) {
      out.push(section(wrap(current.join('\n'))));
      current = [line];
    } else current.push(line);
  }
  if (current.length > 0) out.push(section(wrap(current.join('\n'))));
  return out;
}

export function digestPayload(digest: Digest, _region: string): SlackPayload {
  const title = digestTitle(digest);
  const head: SlackBlock[] = [
    header(title),
    section(
      [
        digest.paused
          ? ':double_vertical_bar: *db-autopilot is PAUSED*: nothing is changed until it is resumed.'
          : 'db-autopilot is running.',
        escapeSlack(totalsText(digest.totals)),
      ].join('\n'),
    ),
  ];
  const groups: SlackBlock[][] = [];
  groups.push([
    section('*Per resource and day* (throttled/saturated minutes from CloudWatch metrics)'),
    ...chunkedSections(
      resourceDayText(digest.resourceDays).map((l) => escapeSlack(l)),
      (t) => `\`\`\`${t}\`\`\``,
    ),
  ]);
  // Every item, one line each (applied changes and failures are never cut; the audit log has the rest).
  const list = (title: string, items: Decision[]) => {
    if (items.length === 0) return;
    const lines = items.map((d) => {
      const n = digest.repeats[d.id];
      const times = n && n > 1 ? ` _(${n} times; latest shown)_` : '';
      return `• ${escapeSlack(decisionHeadline(d))}${times}: ${escapeSlack(reasonText(d))} (${escapeSlack(costText(d.monthlyCostDelta, d))})`;
    });
    groups.push([
      { type: 'divider' },
      section(`*${escapeSlack(title)} (${items.length})*`),
      ...chunkedSections(lines),
    ]);
  };
  list('Failed runs', digest.failedRuns);
  list('Failed', digest.failed);
  list('Done', digest.applied);
  list('Maintenance', digest.maintenance);
  list('Still deferred', digest.deferred);
  list('Recommendations and findings (not acted on)', digest.recommendations);
  list('Would have done (observe mode)', digest.planned);
  list('Open insights', digest.insights);
  list('Drift', digest.drift);
  list('Skipped', digest.skipped);
  list('Housekeeping (alarms, dashboard)', digest.housekeeping);
  const tail: SlackBlock[] = digest.dashboardUrl
    ? [context([link(digest.dashboardUrl, 'Fleet dashboard')])]
    : [];
  const blocks = fitBlocks(head, groups, tail);
  const text = `${title}. ${totalsText(digest.totals)}`;
  return { text: escapeSlack(text), blocks };
}
