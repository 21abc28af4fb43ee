import { z } from 'zod';
import { tunerBase } from '../common.ts';

const replicaEndpoint = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(5432),
  })
  .strict();

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
    /**
     * PEM file with the RDS CA bundle (global-bundle.pem from the RDS documentation), bundled with
     * the function. Without it, Node's system CAs are used (verify-full still checks the chain).
     */
    caBundlePath: z.string().min(1).optional(),
    dbInstanceIdentifier: z.string().optional(),
    /** Read replicas db-autopilot can reach: an index is "unused" only if unused on every node. */
    replicas: z.array(replicaEndpoint).default([]),
  })
  .strict();

export type DatabaseConfig = z.infer<typeof databaseSchema>;

/**
 * Index advice (HypoPG) and index rebuilding (REINDEX INDEX CONCURRENTLY), part of maintenance:
 * same run, guards, records and reports. Creating an advised index is opt-in; both index
 * builds run only inside the configured maintenanceWindows.
 */
export const indexMaintenanceSchema = z
  .object({
    /** Prove candidate indexes for the top slow statements with HypoPG and report the winners. */
    advise: z.boolean().default(true),
    /** Slow statements examined per run (by total time, from pg_stat_statements). */
    adviseTopStatements: z.number().int().min(1).max(50).default(10),
    /** A statement is slow at this mean execution time over at least adviseMinCalls calls. */
    adviseMinMeanMs: z.number().min(0).default(20),
    adviseMinCalls: z.number().int().min(0).default(100),
    /** Advice only when the hypothetical index cuts the statement's estimated cost by this fraction. */
    adviseMinCostReduction: z.number().min(0.1).max(0.99).default(0.5),
    adviseMaxCandidates: z.number().int().min(1).max(20).default(8),
    /** Opt-in: run CREATE INDEX CONCURRENTLY for advice, in a maintenance window. */
    createAdvised: z.boolean().default(false),
    createMaxPerRun: z.number().int().min(1).max(10).default(1),
    /** Rebuild bloated B-tree indexes with REINDEX INDEX CONCURRENTLY (PostgreSQL 12+). */
    reindex: z.boolean().default(true),
    reindexMinBloatRatio: z.number().min(0.1).max(0.95).default(0.3),
    /** Indexes smaller than this are never worth a rebuild. */
    reindexMinBytes: z
      .number()
      .int()
      .min(0)
      .default(1024 * 1024),
    reindexMaxPerRun: z.number().int().min(1).max(100).default(10),
    /** pgstatindex reads the whole index: above this size the catalog estimate is used. */
    pgstatindexMaxBytes: z
      .number()
      .int()
      .min(0)
      .default(2 * 1024 * 1024 * 1024),
    /** Build rate assumed for the time-budget check of a rebuild or a creation (bytes per second). */
    assumedIndexBuildBytesPerSecond: z
      .number()
      .int()
      .min(1024 * 1024)
      .default(32 * 1024 * 1024),
    /** statement_timeout ceiling of one index build (the time left of the run caps it too). */
    buildStatementTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(600_000),
  })
  .strict();

export type IndexMaintenanceConfig = z.infer<typeof indexMaintenanceSchema>;

/** PostgreSQL maintenance and insights (owned by the PostgreSQL issues; extend here). */
export const maintenanceSection = z
  .object({
    ...tunerBase,
    databases: z.array(databaseSchema).default([]),
    /** Tables vacuumed at once, each on its own connection. */
    concurrency: z.number().int().min(1).max(8).default(2),
    lockTimeoutMs: z.number().int().min(100).max(60_000).default(2_000),
    /** Stop starting tables this long before the Lambda's time runs out. */
    safetyMarginMs: z.number().int().min(1_000).default(30_000),
    /** VACUUM's final truncation takes ACCESS EXCLUSIVE and cancels standby queries (aws-facts.md). */
    truncate: z.boolean().default(false),
    connectTimeoutMs: z.number().int().min(500).max(60_000).default(5_000),
    /** statement_timeout for catalog and insight queries (VACUUM gets the time left instead). */
    queryTimeoutMs: z.number().int().min(500).max(300_000).default(30_000),
    /** Skip a table vacuumed (manually or by autovacuum) less than this long ago. */
    recentVacuumMinutes: z.number().int().min(0).max(10_080).default(60),
    /** Ignore tables smaller than this many dead tuples even above the trigger (noise). */
    minDeadTuples: z.number().int().min(0).default(100),
    /** Vacuum ahead of autovacuum: fraction of autovacuum's own trigger at which we act (1 = same). */
    triggerFraction: z.number().min(0.05).max(1).default(0.5),
    /** Freeze a table once its XID / MultiXact age passes this fraction of autovacuum_freeze_max_age. */
    freezeAgeFraction: z.number().min(0.1).max(1).default(0.5),
    /** Scan rate assumed for a table without recorded runs (bytes per second). */
    assumedVacuumBytesPerSecond: z
      .number()
      .int()
      .min(1024 * 1024)
      .default(64 * 1024 * 1024),
    /** BUFFER_USAGE_LIMIT on PostgreSQL 16+ (e.g. "256MB"); omitted when unset. */
    bufferUsageLimit: z
      .string()
      .regex(/^\d+\s*(kB|MB|GB)$/, 'a size such as 256MB')
      .optional(),
    processToast: z.boolean().default(true),
    maxTablesPerRun: z.number().int().min(1).max(10_000).default(200),
    progressLogIntervalMs: z.number().int().min(1_000).default(10_000),
    indexes: indexMaintenanceSchema.default(indexMaintenanceSchema.parse({})),
  })
  .strict();

export type MaintenanceConfig = z.infer<typeof maintenanceSection>;

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
    /** An index is "unused" only if the stats were reset at least this long ago on every node. */
    unusedIndexMinStatsAgeDays: z.number().min(0).default(7),
    /** Tables at least this large read mostly by sequential scans are reported. */
    seqScanMinBytes: z
      .number()
      .int()
      .min(0)
      .default(100 * 1024 * 1024),
    seqScanMinRatio: z.number().min(0).max(1).default(0.5),
    idleInTransactionSeconds: z.number().int().min(1).default(60),
    longTransactionSeconds: z.number().int().min(1).default(300),
    /** Recommend RDS Proxy when peak connections exceed this fraction of max_connections... */
    proxyConnectionsRatio: z.number().min(0).max(1).default(0.7),
    /** ...or when connection churn (sum of absolute changes per hour / average) exceeds this. */
    proxyChurnPerHour: z.number().min(0).default(2),
    queryTextMaxChars: z.number().int().min(40).max(4000).default(300),
    /**
     * Top SQL by DB load from Performance Insights, for any engine (MySQL included) and with no
     * database connection: the configured databases' dbInstanceIdentifier plus these instances.
     */
    performanceInsights: z
      .object({
        enabled: z.boolean().default(true),
        instances: z.array(z.string().min(1).max(63)).default([]),
        lookbackHours: z.number().int().min(1).max(168).default(24),
        /** Report statements with at least this share of DB load. */
        minLoadShare: z.number().gt(0).max(1).default(0.1),
        topN: z.number().int().min(1).max(25).default(5),
      })
      .strict()
      .default({ enabled: true, instances: [], lookbackHours: 24, minLoadShare: 0.1, topN: 5 }),
  })
  .strict();

export type InsightsConfig = z.infer<typeof insightsSection>;
