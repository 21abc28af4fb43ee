import { z } from 'zod';
import { getConfig } from '../shared/config/load.ts';
import { clock } from '../shared/core/clock.ts';
import { scheduledEventSchema } from '../shared/core/invocation.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { renderDigestText } from '../shared/report/digest.ts';
import { resolveChannels, sendDigest } from '../shared/report/notifier.ts';
import { stateStore } from '../shared/state/index.ts';

/**
 * The daily digest (scheduled once a day): what was done, deferred and skipped and why, the period's
 * money (totals: applied and potential), a per-resource table, maintenance results, open insights, observe-mode plans, drift, pause state.
 * Manual: `{ "dryRun": true }` renders it without posting.
 */
export const eventSchema = z.union([scheduledEventSchema, z.object({ dryRun: z.boolean() }).strict()], {
  error: 'expected an EventBridge "Scheduled Event" or { "dryRun": true|false }',
});

export const handler = lambdaHandler('digest', eventSchema, async (event) => {
  const config = getConfig();
  const dryRun = 'dryRun' in event && event.dryRun;
  const channels = dryRun ? { region: config.region } : await resolveChannels(config);
  const { digest, result } = await sendDigest({ store: stateStore(), config, channels, now: clock().now() });
  return {
    ok: result.ok,
    dryRun,
    errors: result.errors,
    counts: digest.counts,
    totals: digest.totals,
    text: dryRun ? renderDigestText(digest) : undefined,
  };
});
