import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import { dynamodbSection } from '../config/sections/dynamodb.ts';
import { iopsSection } from '../config/sections/iops.ts';
import { replicasSection } from '../config/sections/replicas.ts';
import { type PriceTable, price, priceTable } from '../pricing.ts';
import { dynamodbWorkloadSchema } from './models/dynamodb-workload.ts';

/**
 * The knobs of the capacity models and baselines. Every policy runs through the same model
 * with the same options (fairness). Tuner targets and bounds come from the db-autopilot
 * configuration (`--config`), the AWS timings are defaults here (override in tests).
 */
export const backtestOptionsSchema = z
  .object({
    /** Wall-clock time of minute 0 (UTC). Decides where UTC days (the decrease budget) begin. */
    startTime: z.iso.datetime().default('2026-01-05T00:00:00Z'),
    dynamodb: z
      .object({
        targetUtilization: z.number().min(0.2).max(0.9).default(0.7),
        minCapacity: z.number().int().min(1).default(1),
        maxCapacity: z.number().int().min(1).max(40_000).default(40_000),
        /** Minutes from UpdateTable to the new capacity being in place (table UPDATING meanwhile). */
        updateDelayMinutes: z.number().int().min(0).max(60).default(2),
        /** Unused capacity banked for burst, in seconds of provisioned capacity (aws-facts.md: 300 s). */
        burstSeconds: z.number().int().min(0).max(300).default(300),
        /** AWS target tracking cooldowns (Application Auto Scaling default for DynamoDB: 0). */
        awsScaleOutCooldownMinutes: z.number().int().min(0).default(0),
        awsScaleInCooldownMinutes: z.number().int().min(0).default(0),
        /** On-demand throughput of a new table (AWS: 4,000 writes/s, 12,000 reads/s). */
        onDemandInitialRead: z.number().min(1).default(12_000),
        onDemandInitialWrite: z.number().min(1).default(4_000),
        /**
         * A raise above the highest capacity the table ever had splits partitions and takes longer:
         * this many minutes more per doubling (aws-facts.md: partitions never merge; a raise within
         * existing partitions is quick). Same for every policy. Default 0 until the oracle plans
         * for it (with 2, the oracle itself throttles on flash-sale: 0.93 % unserved).
         */
        splitMinutesPerDoubling: z.number().min(0).max(60).default(0),
        /** How demand shows in the published metrics: item sizes, batches, client retries (models/dynamodb-workload.ts). */
        workload: dynamodbWorkloadSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    iops: z
      .object({
        targetUtilization: z.number().gt(0).max(1).default(0.7),
        minIops: z.number().int().min(100).default(1000),
        maxIops: z.number().int().min(100).max(256_000).default(64_000),
        /** Minutes in `modifying` before the new IOPS are in effect. */
        modifyMinutes: z.number().int().min(0).default(10),
        /**
         * Minutes of `storage-optimization` after that, during which no storage change is accepted.
         * When set, every change takes exactly this long (the 6 h and 24 h cases: 360, 1440); when
         * not, each change draws its own time from a log-normal (median, spread below): AWS says
         * optimization usually takes hours and can take more than 24 h (aws-facts.md, RDS storage).
         * With the defaults 4 h is the median, 1 change in 10 runs past 13 h and about 3 in 100
         * past 24 h.
         */
        optimizationMinutes: z.number().int().min(0).optional(),
        optimizationMedianMinutes: z.number().int().min(0).default(240),
        optimizationSpread: z.number().min(0).max(3).default(0.95),
        optimizationMinMinutes: z.number().int().min(0).default(30),
        optimizationMaxMinutes: z
          .number()
          .int()
          .min(0)
          .default(72 * 60),
        /** Seed of the optimization draws and of the metric noise (same for every policy). */
        seed: z.number().int().min(0).default(1),
        /**
         * The queueing model of the published signals (shared/backtest/models/iops.ts): latency
         * of an unsaturated volume (io1: about 1 ms), log-normal noise on every published
         * latency and queue-depth value, and the IOs the application can have in flight (its
         * connection pools): DiskQueueDepth never exceeds it, the rest of the excess waits in
         * the application, unseen by RDS.
         */
        baseLatencyMs: z.number().gt(0).default(1),
        latencyNoise: z.number().min(0).max(2).default(0.25),
        maxOutstandingIos: z.number().gt(0).default(128),
        /** Share of the IOPS that are reads (ReadIOPS vs WriteIOPS). */
        readFraction: z.number().min(0).max(1).default(0.6),
        /** The instance: size and free space (FreeStorageSpace), and its class (none: no class limit). */
        allocatedGiB: z.number().int().min(100).default(2000),
        freeStorageFraction: z.number().min(0).max(1).default(0.4),
        instanceClass: z.string().optional(),
        /** aws-facts.md (RDS storage): 6 h between storage modifications, at most 4 in 24 h. */
        minMinutesBetweenChanges: z.number().int().min(0).default(360),
        maxChangesPer24h: z.number().int().min(1).default(4),
        storageType: z.enum(['io1', 'io2']).default('io1'),
      })
      .strict()
      .prefault({}),
    replicas: z
      .object({
        minReaders: z.number().int().min(0).max(15).default(1),
        maxReaders: z.number().int().min(0).max(15).default(15),
        targetCpuPercent: z.number().gt(0).max(100).default(60),
        /** A minute is saturated when the average reader CPU is above this (percent). */
        saturationCpuPercent: z.number().gt(0).max(100).default(90),
        /**
         * Minutes from the create call to the reader serving: an Aurora reader (instance
         * provisioning only: AWS quotes about 10-15 minutes). A plain RDS replica (price key
         * `rds.*`) also copies the source's storage: + `rdsCreateMinutesPerGiB` x `storageGiB`,
         * and is read only once clients resolve its record (+ the DNS TTL, `dnsTtlSeconds`).
         */
        readerCreateMinutes: z.number().int().min(0).default(12),
        storageGiB: z.number().min(0).default(100),
        rdsCreateMinutesPerGiB: z.number().min(0).default(0.1),
        dnsTtlSeconds: z.number().int().min(0).default(30),
        /**
         * A new reader's buffer cache is cold: its CPU per query starts `coldCacheCpuFactor` times
         * higher and fades to 1 over `coldCacheMinutes`.
         */
        coldCacheMinutes: z.number().int().min(0).default(20),
        coldCacheCpuFactor: z.number().min(1).max(5).default(1.5),
        /**
         * Performance Insights on the readers: DBLoadCPU (sessions running or waiting on CPU) is
         * published. Above the readers' CPU the run queue shows `dbLoadGain` x signalStrength of
         * the work beyond capacity (clients time out and back off: never all of it), at most
         * `dbLoadMaxPerVcpu` sessions per vCPU. Off: only CPUUtilization (capped at 100).
         */
        performanceInsights: z.boolean().default(true),
        dbLoadGain: z.number().min(0).max(1).default(0.7),
        dbLoadMaxPerVcpu: z.number().min(1).default(4),
        /** Relative noise of the published series (deterministic per minute). */
        metricNoise: z.number().min(0).max(0.5).default(0.05),
        /** Aurora Auto Scaling cooldowns (default 300 s each). */
        awsScaleOutCooldownMinutes: z.number().int().min(0).default(5),
        awsScaleInCooldownMinutes: z.number().int().min(0).default(5),
        /** Target tracking alarms: AlarmHigh m of m above target, AlarmLow n of n below 90 % of target. */
        awsHighDatapoints: z.number().int().min(1).default(3),
        awsLowDatapoints: z.number().int().min(1).default(15),
        instancePriceKey: z.string().default('aurora.instance.db.r6g.large.hour'),
      })
      .strict()
      .prefault({}),
    /**
     * CloudWatch publication delay, in minutes, the same for every policy (db-autopilot and the
     * AWS baselines alike: AWS's own alarms read the same published series). At minute t a
     * policy's history holds the minutes < t - publicationDelayMinutes; the newest of them is
     * still partial (see `partialMinuteFraction`). 0 = the old, lenient world: every minute < t
     * complete.
     */
    publicationDelayMinutes: z.number().int().min(0).max(60).default(2),
    /**
     * Share of the newest published minute that has arrived (when the delay is > 0): its
     * counters (Sum, SampleCount: consumed units, throttle events, requests) hold this fraction
     * of the minute, its averages are those of the samples that arrived; the row says
     * `complete: false`. 1 = the newest minute arrives whole.
     */
    partialMinuteFraction: z.number().gt(0).max(1).default(0.5),
    /**
     * How strongly the published throttle / saturation signal shows hidden unserved demand,
     * relative to the kind's realistic default (1). The CONTRACT each kind's model implements
     * (the sensitivity run, `npm run backtest -- --sensitivity`, sets 0.3, 1 and 3):
     * - dynamodb: throttle events per throttled capacity unit (`*ThrottleEvents`,
     *   `ThrottledRequests`) are multiplied by it;
     * - iops and replicas: the published signal of work above capacity that the kind's model
     *   scales is named at the top of `models/<kind>.ts` (each kind's model owns its signal).
     * Scores (hidden truth) never change with it; only what a policy can see does.
     */
    signalStrength: z.number().gt(0).max(100).default(1),
    prices: z.record(z.string(), z.number().min(0)).default({}),
  })
  .strict();

export type BacktestOptions = z.infer<typeof backtestOptionsSchema>;
export type BacktestOptionsInput = z.input<typeof backtestOptionsSchema>;

export function parseOptions(input: BacktestOptionsInput = {}): BacktestOptions {
  return backtestOptionsSchema.parse(input);
}

/** Options from a db-autopilot configuration: its tuner targets, bounds and prices. */
export function optionsFromConfig(
  config: Config | undefined,
  extra: BacktestOptionsInput = {},
): BacktestOptions {
  const dyn = config?.tuners.dynamodb ?? dynamodbSection.parse({});
  const io = config?.tuners.iops ?? iopsSection.parse({});
  const rep = config?.tuners.replicas ?? replicasSection.parse({});
  return parseOptions({
    ...extra,
    dynamodb: {
      targetUtilization: dyn.targetUtilization,
      minCapacity: dyn.minCapacity,
      maxCapacity: dyn.maxCapacity,
      ...extra.dynamodb,
    },
    iops: {
      targetUtilization: io.targetUtilization,
      minIops: io.minIops,
      maxIops: io.maxIops,
      ...extra.iops,
    },
    replicas: {
      minReaders: rep.minReaders,
      maxReaders: rep.maxReaders,
      targetCpuPercent: rep.targetCpuPercent,
      ...extra.replicas,
    },
    prices: { ...(config ? config.prices[config.region] : undefined), ...extra.prices },
  });
}

export interface Prices {
  rcuMinute: number;
  wcuMinute: number;
  readRequestUnit: number;
  writeRequestUnit: number;
  iopsMinute: number;
  readerMinute: number;
}

/** Per-minute and per-unit prices from shared/pricing.ts (with the config's overrides). */
export function prices(options: BacktestOptions): Prices {
  const table: PriceTable = priceTable(options.prices);
  const minutesPerMonth = 730 * 60;
  return {
    rcuMinute: price(table, 'dynamodb.rcuHour') / 60,
    wcuMinute: price(table, 'dynamodb.wcuHour') / 60,
    readRequestUnit: price(table, 'dynamodb.onDemandReadPerMillion') / 1e6,
    writeRequestUnit: price(table, 'dynamodb.onDemandWritePerMillion') / 1e6,
    iopsMinute: price(table, `rds.${options.iops.storageType}.iopsMonth`) / minutesPerMonth,
    // A plain RDS replica also pays for its copy of the source's storage (gp3 by default).
    readerMinute:
      price(table, options.replicas.instancePriceKey) / 60 +
      (options.replicas.instancePriceKey.startsWith('rds.')
        ? (options.replicas.storageGiB * price(table, 'rds.gp3.gbMonth')) / minutesPerMonth
        : 0),
  };
}
