import { z } from 'zod';
import { PRICE_KEYS, PRICE_SOURCE, PRICES_AS_OF, SHIPPED_PRICES } from '../pricing.ts';
import { durationMinutes, modeSchema } from './common.ts';
import { dynamodbSection } from './sections/dynamodb.ts';
import { fleetSection } from './sections/fleet.ts';
import { iopsSection } from './sections/iops.ts';
import { insightsSection, maintenanceSection } from './sections/maintenance.ts';
import { proxySection } from './sections/proxy.ts';
import { replicasSection } from './sections/replicas.ts';
import { rightsizingSection } from './sections/rightsizing.ts';
import { serverlessSection } from './sections/serverless.ts';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time as HH:MM (24 h, UTC)');

const regionSchema = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1');

const tagPair = z.object({ key: z.string().min(1).max(128), value: z.string().max(256) }).strict();

export const configSchema = z
  .object({
    version: z.literal(1),
    region: regionSchema.default('us-east-1'),
    defaults: z
      .object({
        mode: modeSchema.default('observe'),
        cooldownMinutes: durationMinutes.default(30),
        maxChangesPerRun: z.number().int().min(0).max(1000).default(10),
        /** After a change db-autopilot did not make is detected, leave the resource alone this long. */
        driftBackoffMinutes: durationMinutes.default(24 * 60),
        lockLeaseSeconds: z.number().int().min(10).max(3600).default(900),
      })
      .strict()
      .default({
        mode: 'observe',
        cooldownMinutes: 30,
        maxChangesPerRun: 10,
        driftBackoffMinutes: 1440,
        lockLeaseSeconds: 900,
      }),
    tags: z
      .object({
        managed: tagPair.default({ key: 'db-autopilot:managed', value: 'true' }),
        optOut: tagPair.default({ key: 'db-autopilot:opt-out', value: 'true' }),
        createdBy: tagPair.default({ key: 'db-autopilot:created-by', value: 'db-autopilot' }),
      })
      .strict()
      .default({
        managed: { key: 'db-autopilot:managed', value: 'true' },
        optOut: { key: 'db-autopilot:opt-out', value: 'true' },
        createdBy: { key: 'db-autopilot:created-by', value: 'db-autopilot' },
      }),
    maintenanceWindows: z
      .array(
        z
          .object({
            days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).min(1),
            start: hhmm,
            end: hhmm,
          })
          .strict(),
      )
      .default([]),
    notifications: z
      .object({
        minSeverity: z.enum(['info', 'warning', 'critical']).default('info'),
        /** Per-event posts in any hour; what the cap holds back is in the next daily digest. */
        maxPostsPerHour: z.number().int().min(1).max(60).default(1),
        slack: z
          .object({
            /** SSM parameter (SecureString) or Secrets Manager secret holding the webhook URL. */
            webhookParameter: z.string().startsWith('/').optional(),
            webhookSecretId: z.string().optional(),
            channelLabel: z.string().optional(),
          })
          .strict()
          .optional(),
        sns: z
          .object({ enabled: z.boolean().default(true) })
          .strict()
          .default({ enabled: true }),
      })
      .strict()
      .default({ minSeverity: 'info', maxPostsPerHour: 1, sns: { enabled: true } }),
    /**
     * The fleet dashboard the alarm reconciler keeps (one dashboard: $3 a month at list price,
     * shared/cost/prices.ts). `enabled: false` keeps none; one made earlier is left in place for
     * you to delete (the reconciler notes its name).
     */
    dashboard: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({ enabled: true }),
    tuners: z
      .object({
        iops: iopsSection.optional(),
        replicas: replicasSection.optional(),
        dynamodb: dynamodbSection.optional(),
        maintenance: maintenanceSection.optional(),
        insights: insightsSection.optional(),
        proxy: proxySection.optional(),
        rightsizing: rightsizingSection.optional(),
        serverless: serverlessSection.optional(),
      })
      .strict()
      .default({}),
    /** Member accounts and Regions tuned from this deployment (issue 27); absent: its own only. */
    fleet: fleetSection.optional(),
    /**
     * Prices per Region (`prices: { eu-west-1: { rds.io1.iopsMonth: ..., ... } }`): the block of a
     * Region overrides the shipped list prices (us-east-1, shared/pricing.ts); the configuration's
     * Region and every fleet Region without shipped prices must give every key. A Region's prices
     * are never used in another Region.
     */
    prices: z.record(regionSchema, z.record(z.string(), z.number().min(0))).default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    // The home Region, then each fleet Region: each priced by its own table.
    const regions: Array<{ region: string; path: PropertyKey[] }> = [
      { region: config.region, path: ['region'] },
      ...(config.fleet?.regions ?? []).map((region, i) => ({ region, path: ['fleet', 'regions', i] })),
    ];
    const seen = new Set<string>();
    for (const { region, path } of regions) {
      if (seen.has(region) || SHIPPED_PRICES[region]) continue;
      seen.add(region);
      const block = config.prices[region];
      if (!block) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `no prices for ${region}: db-autopilot ships list prices for ${Object.keys(SHIPPED_PRICES).join(', ')} only (${PRICE_SOURCE}, as of ${PRICES_AS_OF}) and never uses them in another Region; add a prices.${region} block with every key (${PRICE_KEYS.length}: ${PRICE_KEYS.slice(0, 3).join(', ')}, ...)`,
        });
        continue;
      }
      const missing = PRICE_KEYS.filter((k) => block[k] === undefined);
      if (missing.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['prices', region],
          message: `prices.${region} lacks ${missing.length} key(s) (no other Region's prices are used): ${missing.join(', ')}`,
        });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
