import { PublishCommand, type PublishCommandInput } from '@aws-sdk/client-sns';
import { aws } from '../aws/clients.ts';
import type { Config } from '../config/schema.ts';
import type { StateStore } from '../core/contracts.ts';
import { redact } from '../core/errors.ts';
import type { Decision } from '../core/model.ts';
import { readPauseFlag } from '../core/run.ts';
import { dashboardConsoleUrl } from './console-links.ts';
import { buildDigest, type Digest } from './digest.ts';
import { atLeast } from './format.ts';
import { digestPayload, eventPayload, type SlackPayload } from './slack.ts';
import { type PostOptions, postToSlack, slackWebhookUrl } from './slack-webhook.ts';
import { digestMessage, eventMessage } from './sns.ts';

/**
 * Sends reports. Per event: every applied, deferred or failed decision at or above the configured
 * severity that has not been reported yet. A decision is marked reported only when every channel
 * took it, so a failed post loses nothing: it stays in the audit log and the next run retries it.
 */
export interface ReportChannels {
  slackUrl?: string;
  topicArn?: string;
  post?: PostOptions;
  region: string;
}

export interface ReportResult {
  ok: boolean;
  pending: number;
  reported: number;
  errors: string[];
  payloads: { slack: SlackPayload[]; sns: unknown[] };
}

const REPORTABLE = new Set(['applied', 'deferred', 'failed']);
/** How far back unreported decisions are looked for. */
export const REPORT_LOOKBACK_MS = 3 * 24 * 3600_000;
const BATCH = 20;

export function pendingReports(decisions: Decision[], config: Config): Decision[] {
  return (
    decisions
      // A no-op changes nothing, but a failed one (a resource that could not be observed) must be told.
      .filter(
        (d) => !d.reportedAt && REPORTABLE.has(d.outcome) && (d.action !== 'noop' || d.outcome === 'failed'),
      )
      .filter((d) =>
        atLeast(d.outcome === 'failed' ? 'critical' : d.severity, config.notifications.minSeverity),
      )
      .sort((a, b) => a.at.localeCompare(b.at))
  );
}

export async function resolveChannels(config: Config): Promise<ReportChannels> {
  const slack = config.notifications.slack;
  const slackUrl = slack
    ? await slackWebhookUrl({
        parameter: slack.webhookParameter ?? process.env.SLACK_WEBHOOK_PARAMETER,
        secretId: slack.webhookSecretId,
      })
    : undefined;
  return {
    slackUrl,
    topicArn: config.notifications.sns.enabled ? process.env.REPORT_TOPIC_ARN : undefined,
    region: config.region,
  };
}

function newResult(pending: number): ReportResult {
  return { ok: true, pending, reported: 0, errors: [], payloads: { slack: [], sns: [] } };
}

/** Posts to every configured channel; true only when all of them took it. */
async function deliver(
  channels: ReportChannels,
  slack: SlackPayload,
  sns: (topicArn: string) => PublishCommandInput,
  result: ReportResult,
): Promise<boolean> {
  let ok = true;
  if (channels.slackUrl) {
    result.payloads.slack.push(slack);
    const posted = await postToSlack(channels.slackUrl, slack, channels.post);
    if (!posted.ok) {
      ok = false;
      result.errors.push(`slack: ${redact(posted.error)}`);
    }
  }
  if (channels.topicArn) {
    const message = sns(channels.topicArn);
    result.payloads.sns.push(message);
    try {
      await aws().sns.send(new PublishCommand(message));
    } catch (error) {
      ok = false;
      result.errors.push(`sns: ${(error as Error).name}`);
    }
  }
  return ok;
}

/**
 * Runs record decisions stamped with their start time, up to a Lambda timeout (15 min) later:
 * each report run re-reads this much before its watermark so a late-recorded decision is not missed.
 */
export const LATE_RECORD_MARGIN_MS = 20 * 60_000;
const REPORT_STATE = { owner: 'report', resource: 'report' } as const;

/**
 * What the next report run posts: unreported decisions since the watermark (everything before it
 * was delivered), never further back than the lookback, with repeated deferrals set apart.
 * The report function's dry run shows exactly this.
 */
export async function selectPendingReports(input: { store: StateStore; config: Config; now: Date }) {
  const state = (await input.store.getHistory(REPORT_STATE.owner, REPORT_STATE.resource, input.now))
    .tunerState;
  const floor = input.now.getTime() - REPORT_LOOKBACK_MS;
  const watermark =
    typeof state?.reportedThrough === 'string' ? Date.parse(state.reportedThrough) : Number.NaN;
  const sinceMs = Number.isFinite(watermark) ? Math.max(floor, watermark - LATE_RECORD_MARGIN_MS) : floor;
  // One byDay query per tuner and day, with a time range; what was posted is in the report
  // function's own partition (it never writes the tuners' decisions).
  const window = { since: new Date(sinceMs).toISOString(), until: input.now.toISOString() };
  const [listed, reported] = await Promise.all([
    input.store.listDecisions(window),
    input.store.reportedIn(window),
  ]);
  const decisions = listed.map((d) => {
    const reportedAt = reported.get(d.id);
    return reportedAt ? { ...d, reportedAt } : d;
  });
  const previous = readDeferralMemory(state?.deferrals);
  const { report, repeats, deferrals } = collapseRepeatedDeferrals(
    pendingReports(decisions, input.config),
    previous,
    input.now,
  );
  return { pending: report, repeats, deferrals, previous };
}

export async function sendPendingReports(input: {
  store: StateStore;
  config: Config;
  channels: ReportChannels;
  now: Date;
}): Promise<ReportResult> {
  const { pending, repeats, deferrals, previous } = await selectPendingReports(input);
  const result = newResult(pending.length);
  if (!input.channels.slackUrl && !input.channels.topicArn) {
    result.errors.push('no channel configured (Slack webhook or SNS topic): nothing posted, nothing marked');
    return result;
  }
  // A deferral already reported (same resource, action, reason and retry time) is not posted again
  // every few minutes; it stays in the audit log and the digest.
  if (repeats.length > 0) {
    await input.store.markReported(repeats, input.now.toISOString());
  }
  let firstUndelivered: string | undefined;
  for (let i = 0; i < pending.length; i += BATCH) {
    const batch = pending.slice(i, i + BATCH);
    const delivered = await deliver(
      input.channels,
      eventPayload(batch, input.channels.region),
      (topicArn) => eventMessage(topicArn, batch),
      result,
    );
    if (delivered) {
      await input.store.markReported(batch, input.now.toISOString());
      result.reported += batch.length;
    } else {
      result.ok = false;
      firstUndelivered ??= batch[0]?.at;
    }
  }
  // The next run starts from the first decision that is still undelivered (retried), or from now.
  await input.store.putTunerState(REPORT_STATE.owner, REPORT_STATE.resource, {
    reportedThrough: firstUndelivered ?? input.now.toISOString(),
    deferrals: firstUndelivered ? previous : deferrals,
  });
  return result;
}

/** Remembered deferrals: key -> { identity, at } (kept two days). */
type DeferralMemory = Record<string, { identity: string; at: string }>;
const DEFERRAL_MEMORY_MS = 2 * 24 * 3600_000;

function readDeferralMemory(value: unknown): DeferralMemory {
  if (!value || typeof value !== 'object') return {};
  const out: DeferralMemory = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const entry = v as { identity?: unknown; at?: unknown };
    if (typeof entry?.identity === 'string' && typeof entry.at === 'string')
      out[k] = { identity: entry.identity, at: entry.at };
  }
  return out;
}

/**
 * A tuner re-plans every few minutes, so one change that must wait is deferred again on every run.
 * The first deferral is reported; the same deferral again (same resource and action, same guard and
 * retry time) is not, until something about it changes. Applied and failed decisions always go out.
 */
export function collapseRepeatedDeferrals(
  pending: Decision[],
  memory: DeferralMemory,
  now: Date,
): { report: Decision[]; repeats: Decision[]; deferrals: DeferralMemory } {
  const next: DeferralMemory = {};
  for (const [k, v] of Object.entries(memory)) {
    if (now.getTime() - Date.parse(v.at) < DEFERRAL_MEMORY_MS) next[k] = v;
  }
  const report: Decision[] = [];
  const repeats: Decision[] = [];
  for (const d of pending) {
    const key = `${d.tuner}|${d.resource}|${d.action}`;
    if (d.outcome !== 'deferred') {
      delete next[key];
      report.push(d);
      continue;
    }
    const identity = `${d.guard ?? ''}|${d.deferredUntil ?? ''}`;
    if (next[key]?.identity === identity) repeats.push(d);
    else report.push(d);
    next[key] = { identity, at: d.at };
  }
  return { report, repeats, deferrals: next };
}

const DIGEST_STATE = { owner: 'digest', resource: 'digest' } as const;

/**
 * The daily digest. It covers everything since the last digest that was delivered (so a day whose
 * digest failed to post is included in the next one), at most 7 days.
 */
export async function sendDigest(input: {
  store: StateStore;
  config: Config;
  channels: ReportChannels;
  now: Date;
  paused?: boolean;
}): Promise<{ digest: Digest; result: ReportResult }> {
  const history = await input.store.getHistory(DIGEST_STATE.owner, DIGEST_STATE.resource, input.now);
  const lastUntil =
    typeof history.tunerState?.lastDeliveredUntil === 'string'
      ? history.tunerState.lastDeliveredUntil
      : undefined;
  const floor = new Date(input.now.getTime() - 7 * 24 * 3600_000).toISOString();
  const dayAgo = new Date(input.now.getTime() - 24 * 3600_000).toISOString();
  const since = lastUntil && lastUntil > floor ? lastUntil : lastUntil ? floor : dayAgo;
  const until = input.now.toISOString();
  // The window's notable decisions (a day, at most 7) and the month's totals: never the month's decisions.
  const [decisions, month] = await Promise.all([
    input.store.listDecisions({ since, until }),
    input.store.totals(until.slice(0, 7)),
  ]);
  const paused = input.paused ?? (await readPauseFlag()).paused;
  const digest = buildDigest({
    decisions,
    monthCostDelta: month.reduce((sum, t) => sum + t.appliedCostDelta, 0),
    since,
    until,
    paused,
    dashboardUrl: dashboardConsoleUrl(process.env.DASHBOARD_NAME ?? 'db-autopilot', input.channels.region),
  });
  const result = newResult(1);
  if (!input.channels.slackUrl && !input.channels.topicArn) {
    result.errors.push('no channel configured (Slack webhook or SNS topic): digest rendered, not posted');
    return { digest, result };
  }
  const delivered = await deliver(
    input.channels,
    digestPayload(digest, input.channels.region),
    (topicArn) => digestMessage(topicArn, digest),
    result,
  );
  if (delivered) {
    await input.store.putTunerState(DIGEST_STATE.owner, DIGEST_STATE.resource, { lastDeliveredUntil: until });
    result.reported = 1;
  } else {
    result.ok = false;
  }
  return { digest, result };
}
