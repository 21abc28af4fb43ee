import { z } from 'zod';
import { getConfig } from '../shared/config/load.ts';
import { clock } from '../shared/core/clock.ts';
import { scheduledEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { resolveChannels, selectPendingReports, sendPendingReports } from '../shared/report/notifier.ts';
import { eventPayload } from '../shared/report/slack.ts';
import { stateStore } from '../shared/state/index.ts';

/**
 * Posts what a person should hear about now (shared/report/selection.ts: changes, failures, new
 * findings, deferrals the first time and when they resolve; an hourly cap) to Slack and SNS (scheduled every
 * few minutes). Runs outside the VPC: the maintenance function records, this one posts.
 * Manual: `{ "dryRun": true }` shows what would be posted without posting or marking anything.
 */
export const eventSchema = z.union([scheduledEventSchema, z.object({ dryRun: z.boolean() }).strict()], {
  error: 'expected an EventBridge "Scheduled Event" or { "dryRun": true|false }',
});

export const handler = lambdaHandler('report', eventSchema, async (event) => {
  const config = getConfig();
  const store = stateStore();
  const now = clock().now();
  if ('dryRun' in event && event.dryRun) {
    const { pending, notes, held } = await selectPendingReports({ store, config, now });
    return {
      ok: true,
      dryRun: true,
      pending: pending.length,
      heldForDigest: held.length,
      slack: eventPayload(pending, config.region, notes),
    };
  }
  const channels = await resolveChannels(config);
  const result = await sendPendingReports({ store, config, channels, now });
  return {
    ok: result.ok,
    pending: result.pending,
    reported: result.reported,
    errors: result.errors,
    channels: { slack: Boolean(channels.slackUrl), sns: Boolean(channels.topicArn) },
  };
});
