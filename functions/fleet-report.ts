import { PublishCommand } from '@aws-sdk/client-sns';
import { z } from 'zod';
import { snsClient } from '../shared/aws/clients.ts';
import { getConfig } from '../shared/config/load.ts';
import { accountIdSchema } from '../shared/config/sections/fleet.ts';
import { clock } from '../shared/core/clock.ts';
import { scheduledEventSchema } from '../shared/core/invocation.ts';
import { fleetSubject, readFleetTotals, renderFleetText, summarizeFleet } from '../shared/fleet/report.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { stateStore } from '../shared/state/index.ts';

/**
 * The fleet's report (issue 27): the last step of each fleet run (the day so far, of the run's
 * accounts) and, on its daily schedule, the fleet digest (yesterday): decisions by account and
 * Region with fleet totals, and the account-Regions that need attention. Posted to the SNS topic.
 * Manual: `{ "date": "2026-11-23", "dryRun": true }` renders a day without posting.
 */
export const eventSchema = z.union(
  [
    scheduledEventSchema,
    z
      .object({
        runId: z.string().min(1).max(200).optional(),
        accounts: z.array(accountIdSchema).max(10_000).optional(),
        date: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day as YYYY-MM-DD')
          .optional(),
        dryRun: z.boolean().default(false),
      })
      .strict(),
  ],
  { error: 'expected an EventBridge "Scheduled Event" or { "runId"?, "accounts"?, "date"?, "dryRun"? }' },
);

export const handler = lambdaHandler('fleet-report', eventSchema, async (event) => {
  const config = getConfig();
  const fleet = config.fleet;
  if (!fleet) return { ok: true, posted: false, text: 'the configuration has no fleet section' };
  const now = clock().now();
  const scheduled = 'source' in event;
  // The daily schedule reports yesterday (the digest); a run reports its own day so far.
  const date = scheduled
    ? new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10)
    : (event.date ?? now.toISOString().slice(0, 10));
  const accounts = (!scheduled && event.accounts) || fleet.accounts;
  const scopes = accounts.flatMap((account) => fleet.regions.map((region) => ({ account, region })));
  const summary = summarizeFleet(date, await readFleetTotals(stateStore(), scopes, date));
  const text = renderFleetText(summary);
  const dryRun = !scheduled && event.dryRun;
  const topic = config.notifications.sns.enabled ? process.env.REPORT_TOPIC_ARN : undefined;
  if (!dryRun && topic)
    await snsClient().send(
      new PublishCommand({ TopicArn: topic, Subject: fleetSubject(summary), Message: text }),
    );
  return {
    ok: true,
    posted: !dryRun && topic !== undefined,
    fleet: summary.fleet,
    attention: summary.attention.length,
    text,
  };
});
