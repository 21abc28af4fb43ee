import { z } from 'zod';
import { tunerBase } from '../common.ts';

export const databaseSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a lower-case name: letters, digits and dashes'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string().min(1),
    user: z.string().min(1).default('db_autopilot'),
    /** How to authenticate: IAM token, or a Secrets Manager secret (name or ARN), never a password here. */
    auth: z.discriminatedUnion('type', [
      z.object({ type: z.literal('iam'), region: z.string().optional() }).strict(),
      z.object({ type: z.literal('secret'), secretId: z.string().min(1) }).strict(),
    ]),
    ssl: z.enum(['verify-full', 'require', 'disable']).default('verify-full'),
    dbInstanceIdentifier: z.string().optional(),
  })
  .strict();

/** PostgreSQL maintenance and insights (owned by the PostgreSQL issues; extend here). */
export const maintenanceSection = z
  .object({
    ...tunerBase,
    databases: z.array(databaseSchema).default([]),
    concurrency: z.number().int().min(1).max(8).default(2),
    lockTimeoutMs: z.number().int().min(100).max(60_000).default(2_000),
    safetyMarginMs: z.number().int().min(1_000).default(30_000),
    truncate: z.boolean().default(false),
  })
  .strict();

export const insightsSection = z
  .object({
    enabled: z.boolean().default(true),
    slowQueryMeanMs: z.number().min(0).default(20),
    slowQueryMinCalls: z.number().int().min(0).default(100),
    unusedIndexMinBytes: z
      .number()
      .int()
      .min(0)
      .default(10 * 1024 * 1024),
    topN: z.number().int().min(1).max(100).default(10),
  })
  .strict();
