import { PublishCommand, type PublishCommandInput } from '@aws-sdk/client-sns';
import { snsClient } from '../aws/clients.ts';
import type { Config } from '../config/schema.ts';
import type { StateOwner, StateStore } from '../core/contracts.ts';
import { redact } from '../core/errors.ts';
import type { Decision, TunerName } from '../core/model.ts';
import { readPauseFlag } from '../core/run.ts';
import { byTimeThenId, DECISION_TUNERS } from '../state/keys.ts';
import { withRepeats } from '../state/slim.ts';
import { dashboardConsoleUrl } from './console-links.ts';
import { buildDigest, type Digest, stillDeferred } from './digest.ts';
import { type ImpactTarget, measureImpact } from './impact.ts';
import { resourceDayRows } from './resource-days.ts';
import { readMemory, selectPosts } from './selection.ts';
import { digestPayload, eventPayload, type SlackPayload } from './slack.ts';
import { type PostOptions, postToSlack, slackWebhookUrl } from './slack-webhook.ts';
import { digestMessage, eventMessage } from './sns.ts';

/**
 * Sends reports. Per event: what selection.ts picks (a change, a failure, a new finding, a deferral
 * the first time and when it resolves; at most `notifications.maxPostsPerHour` posts an hour).
 * Decisions are marked reported only when every channel took the post, so a failed post loses
 * nothing: the next run retries it; the digest lists every applied change and failure anyway.
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

const REPORTABLE = new Set(['applied', 'deferred', 'failed', 'planned']);
/** How far back unreported decisions are looked for. */
export const REPORT_LOOKBACK_MS = 3 * 24 * 3600_000;
const BATCH = 20;

/** Unreported decisions a report run judges (no-ops too: one can resolve a deferral). */
export function pendingReports(decisions: Decision[]): Decision[] {
  return decisions
    .filter((d) => !d.reportedAt && (REPORTABLE.has(d.outcome) || d.action === 'noop'))
    .sort((a, b) => a.at.localeCompare(b.at));
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
      await snsClient().send(new PublishCommand(message));
    } catch (error) {
      ok = false;
      result.errors.push(`sns: ${(error as Error).name}`);
    }
  }
  return ok;
}

/**
 * How late a tuner's decisions can be recorded: a run stamps its decisions with its start time and
 * records them until at most its function's deployed timeout later (serverless.yml: 300 s for
 * every function, 900 s for pg-maintenance), and the `byDay` index, eventually consistent, may
 * show a write a moment later (INDEX_LAG_MS). Each report run re-reads this much before its
 * watermark per tuner, so a late-recorded decision is not missed, and no more (a run reads each
 * decision about twice, not five times). `test/unit/report/late-records.test.ts` checks these
 * against serverless.yml and the functions that write each tuner's decisions (STATE_WRITERS).
 */
export const LONGEST_RUN_MS: Partial<Record<TunerName, number>> = { maintenance: 900_000 };
export const DEFAULT_LONGEST_RUN_MS = 300_000;
export const INDEX_LAG_MS = 60_000;

export function lateRecordMarginMs(tuner: TunerName): number {
  return (LONGEST_RUN_MS[tuner] ?? DEFAULT_LONGEST_RUN_MS) + INDEX_LAG_MS;
}

const REPORT_STATE = { owner: 'report', resource: 'report' } as const;

/**
 * What the next report run posts (selection.ts): unreported decisions since the watermark
 * (everything before it was delivered), never further back than the lookback, judged against
 * what was already told. The report function's dry run shows exactly this.
 */
export async function selectPendingReports(input: { store: StateStore; config: Config; now: Date }) {
  const state = (await input.store.getHistory(REPORT_STATE.owner, REPORT_STATE.resource, input.now))
    .tunerState;
  const floor = input.now.getTime() - REPORT_LOOKBACK_MS;
  const watermark =
    typeof state?.reportedThrough === 'string' ? Date.parse(state.reportedThrough) : Number.NaN;
  // Per tuner, from its late-record margin before the watermark (one byDay query per tuner and
  // day, with a time range); what was posted is in the report function's own partition (it never
  // writes the tuners' decisions).
  const sinceOf = (margin: number) =>
    new Date(Number.isFinite(watermark) ? Math.max(floor, watermark - margin) : floor).toISOString();
  const until = input.now.toISOString();
  const [listed, reported] = await Promise.all([
    Promise.all(
      DECISION_TUNERS.map((tuner) =>
        input.store.listDecisions({ since: sinceOf(lateRecordMarginMs(tuner)), until, tuner }),
      ),
    ).then((lists) => lists.flat().sort(byTimeThenId)),
    input.store.reportedIn({
      since: sinceOf(Math.max(...DECISION_TUNERS.map(lateRecordMarginMs))),
      until,
    }),
  ]);
  const decisions = listed.map((d) => {
    const reportedAt = reported.get(d.id);
    return reportedAt ? { ...d, reportedAt } : d;
  });
  const previous = readMemory(state?.memory);
  // listDecisions holds no no-ops: a told deferral's resource is asked whether its newest decision
  // is a no-op since the deferral (then it resolved with nothing left to do).
  const standing = new Map<string, string>();
  for (const [k, v] of Object.entries(previous.deferrals)) {
    const [tuner = '', resource = ''] = k.split('|');
    const since = standing.get(`${tuner}|${resource}`);
    if (v.told && (!since || since < v.at)) standing.set(`${tuner}|${resource}`, v.at);
  }
  const settled: Decision[] = [];
  for (const [k, since] of standing) {
    const [tuner = '', resource = ''] = k.split('|');
    const noop = await input.store.settlingNoop(tuner as StateOwner, resource, since);
    if (noop && !listed.some((x) => x.id === noop.id)) settled.push(noop);
  }
  const candidates = pendingReports([...decisions, ...settled]);
  const selection = selectPosts({
    decisions: candidates,
    memory: previous,
    now: input.now,
    minSeverity: input.config.notifications.minSeverity,
    maxPostsPerHour: input.config.notifications.maxPostsPerHour,
    batch: BATCH,
  });
  return {
    pending: selection.post,
    notes: selection.notes,
    held: selection.held,
    candidates,
    previous,
    selection,
  };
}

export async function sendPendingReports(input: {
  store: StateStore;
  config: Config;
  channels: ReportChannels;
  now: Date;
}): Promise<ReportResult> {
  const { pending, notes, candidates, previous, selection } = await selectPendingReports(input);
  const result = newResult(pending.length);
  if (!input.channels.slackUrl && !input.channels.topicArn) {
    result.errors.push('no channel configured (Slack webhook or SNS topic): nothing posted, nothing marked');
    return result;
  }
  const delivered =
    pending.length === 0 ||
    (await deliver(
      input.channels,
      eventPayload(pending, input.channels.region, notes),
      (topicArn) => eventMessage(topicArn, pending, notes),
      result,
    ));
  if (delivered) {
    // Posted, repeated, held back by the cap or housekeeping: all told (the digest lists them).
    // No-ops are only read (one can resolve a deferral), never marked, unless one was posted.
    const posted = new Set(pending.map((d) => d.id));
    const told = candidates.filter((d) => d.action !== 'noop' || posted.has(d.id));
    if (told.length > 0) await input.store.markReported(told, input.now.toISOString());
    result.reported = pending.length;
  } else {
    result.ok = false;
  }
  // The next run starts from now, or retries from the first undelivered decision with the old memory.
  await input.store.putTunerState(REPORT_STATE.owner, REPORT_STATE.resource, {
    reportedThrough: delivered ? input.now.toISOString() : (pending[0]?.at ?? input.now.toISOString()),
    memory: delivered ? selection.memory : previous,
  });
  return result;
}

/**
 * The digest of a period with its per-resource table's minutes measured from CloudWatch
 * (impact.ts): the digest function and the demo build it the same way.
 */
export async function digestOf(input: {
  decisions: Decision[];
  since: string;
  until: string;
  paused: boolean;
  dashboardUrl?: string;
  now: Date;
}): Promise<Digest> {
  const window = withRepeats(input.decisions).filter((d) => d.at >= input.since && d.at < input.until);
  const targets = new Map<string, ImpactTarget>();
  for (const row of resourceDayRows(window)) targets.set(row.resource, row);
  const impact = await measureImpact(
    [...targets.values()],
    { start: new Date(input.since), end: new Date(input.until) },
    input.now,
  );
  return buildDigest({ ...input, impact });
}

const DIGEST_STATE = { owner: 'digest', resource: 'digest' } as const;

/** The newest decision (no-ops included) of each tuner and resource, from its own partition. */
async function newestDecisions(
  store: StateStore,
  keys: Array<{ tuner: string; resource: string }>,
): Promise<Decision[]> {
  const unique = new Map(keys.map((k) => [`${k.tuner}|${k.resource}`, k]));
  const out: Decision[] = [];
  for (const k of unique.values()) {
    const newest = await store.newestDecision(k.tuner as StateOwner, k.resource);
    if (newest) out.push(newest);
  }
  return out;
}

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
  // From the start of the window's first UTC day: a run of identical skips is stored as its first
  // (runs never cross midnight), whose repeats may fall inside the window (shared/state/slim.ts).
  const listed = await input.store.listDecisions({ since: `${since.slice(0, 10)}T00:00:00.000Z`, until });
  // A deferral still stands only if it is its resource's newest decision (no-ops included).
  const newest = await newestDecisions(input.store, stillDeferred(listed));
  // (A newest decision that is a repeat of a listed first is already counted there.)
  const known = (d: Decision) =>
    listed.some(
      (x) =>
        x.id === d.id || (x.tuner === d.tuner && x.resource === d.resource && x.repeatedAt?.includes(d.at)),
    );
  const all = [...listed, ...newest.filter((d) => !known(d))];
  const paused = input.paused ?? (await readPauseFlag()).paused;
  const digest = await digestOf({
    decisions: all,
    since,
    until,
    paused,
    dashboardUrl: dashboardConsoleUrl(process.env.DASHBOARD_NAME ?? 'db-autopilot', input.channels.region),
    now: input.now,
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
