import { z } from 'zod';
import { minNotAboveMax, tunerBase } from '../common.ts';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time as HH:MM (24 h, UTC)');
const instanceClass = z
  .string()
  .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'an instance class such as db.r6g.large');
const availabilityZone = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'an availability zone such as us-east-1a');

/**
 * Read routing for a plain RDS source: a weighted CNAME record set in a private hosted zone that
 * the application's read DSN points to. db-autopilot adds one record per replica it created
 * (SetIdentifier = the replica id) once the replica is available, and removes it before deleting
 * the replica so connections drain first. aws-facts.md (read replicas): plain RDS has no reader
 * endpoint; a new replica offloads nothing until the application reads from it.
 */
export const replicaRoutingSchema = z
  .object({
    hostedZoneId: z.string().regex(/^(\/hostedzone\/)?Z[A-Z0-9]{1,32}$/, 'a Route 53 hosted zone id (Z...)'),
    recordName: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[a-z0-9_.-]+\.?$/i, 'a DNS name such as reads.shop.internal'),
    ttlSeconds: z.number().int().min(0).max(3600).default(30),
    weight: z.number().int().min(0).max(255).default(100),
    /**
     * Required: the record that keeps the read name resolving whatever happens to the replicas,
     * a weighted CNAME to the source's endpoint (aws-facts.md: a name whose last record is deleted
     * stops resolving). db-autopilot adds it when it is missing, checks it every run and never
     * removes it.
     */
    fallback: z
      .object({
        setIdentifier: z.string().min(1).max(128),
        weight: z.number().int().min(0).max(255).default(1),
      })
      .strict(),
    /**
     * Attach a Route 53 health check to each replica record: CloudWatch-alarm based (Route 53's
     * checkers cannot reach endpoints in a private zone), on the replica's ReplicaLag.
     */
    healthChecks: z.boolean().default(false),
  })
  .strict();

/** Reader count by time of day, for plain RDS without routing (or to pin a known peak). UTC. */
export const replicaScheduleEntrySchema = z
  .object({
    days: z
      .array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']))
      .min(1)
      .default(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']),
    start: hhmm,
    end: hhmm,
    readers: z.number().int().min(0).max(15),
  })
  .strict();

/** Settings that can be given for the whole tuner and overridden per cluster / source instance. */
const overridable = {
  minReaders: z.number().int().min(0).max(15),
  maxReaders: z.number().int().min(0).max(15),
  targetCpuPercent: z.number().gt(0).max(100),
  /** Average DatabaseConnections per reader to aim for; omitted = connections are not a signal. */
  targetConnectionsPerReader: z.number().int().min(1).optional(),
  tolerance: z.number().min(0).max(1),
  scaleInStabilizationMinutes: z.number().int().min(0),
  maxReplicaLagSeconds: z.number().min(0),
  drainConnectionThreshold: z.number().int().min(0),
  /**
   * A replica being created always counts as a reader. true: no second add until it is available;
   * false: add more only when the demand needs more readers than exist, those being created included.
   */
  waitForCreatingReplicas: z.boolean(),
  /** A replica `creating` for longer than this is stuck: reported, not counted; removed if db-autopilot made it. */
  stuckCreatingMinutes: z.number().int().min(10),
  /** Instance classes for new readers, in order of preference (fallbacks on InsufficientDBInstanceCapacity). */
  instanceClasses: z.array(instanceClass),
  /** Availability zones to try, in order (fallbacks on InsufficientDBInstanceCapacity); empty = let RDS pick. */
  availabilityZones: z.array(availabilityZone),
};

export const replicaSourceSchema = z
  .object({
    minReaders: overridable.minReaders.optional(),
    maxReaders: overridable.maxReaders.optional(),
    targetCpuPercent: overridable.targetCpuPercent.optional(),
    targetConnectionsPerReader: overridable.targetConnectionsPerReader,
    tolerance: overridable.tolerance.optional(),
    scaleInStabilizationMinutes: overridable.scaleInStabilizationMinutes.optional(),
    maxReplicaLagSeconds: overridable.maxReplicaLagSeconds.optional(),
    drainConnectionThreshold: overridable.drainConnectionThreshold.optional(),
    waitForCreatingReplicas: overridable.waitForCreatingReplicas.optional(),
    stuckCreatingMinutes: overridable.stuckCreatingMinutes.optional(),
    instanceClasses: overridable.instanceClasses.optional(),
    availabilityZones: overridable.availabilityZones.optional(),
    routing: replicaRoutingSchema.optional(),
    schedule: z.array(replicaScheduleEntrySchema).optional(),
  })
  .strict()
  .superRefine(minNotAboveMax([['minReaders', 'maxReaders']]));

/** Read replica scaler (owned by the replicas issue). */
export const replicasSection = z
  .object({
    ...tunerBase,
    minReaders: overridable.minReaders.default(1),
    maxReaders: overridable.maxReaders.default(5),
    targetCpuPercent: overridable.targetCpuPercent.default(60),
    targetConnectionsPerReader: overridable.targetConnectionsPerReader,
    tolerance: overridable.tolerance.default(0.1),
    scaleInStabilizationMinutes: overridable.scaleInStabilizationMinutes.default(30),
    maxReplicaLagSeconds: overridable.maxReplicaLagSeconds.default(60),
    drainConnectionThreshold: overridable.drainConnectionThreshold.default(5),
    waitForCreatingReplicas: overridable.waitForCreatingReplicas.default(false),
    stuckCreatingMinutes: overridable.stuckCreatingMinutes.default(360),
    instanceClasses: overridable.instanceClasses.default([]),
    availabilityZones: overridable.availabilityZones.default([]),
    /** Metric window the policy reads (minutes, 60 s periods). */
    lookbackMinutes: z.number().int().min(1).max(60).default(3),
    /** The account's DB instance quota when DescribeAccountAttributes cannot be read (aws-facts.md: 40). */
    accountInstanceQuota: z.number().int().min(1).default(40),
    /** Per cluster id (Aurora) or source DB instance id (plain RDS) overrides, routing and schedules. */
    sources: z.record(z.string().min(1).max(255), replicaSourceSchema).default({}),
  })
  .strict()
  .superRefine(minNotAboveMax([['minReaders', 'maxReaders']]))
  .superRefine((s, ctx) => {
    // A source's own bounds, or the tuner's where it gives none: the bounds it is scaled within.
    for (const [id, src] of Object.entries(s.sources)) {
      const lo = src.minReaders ?? s.minReaders;
      const hi = src.maxReaders ?? s.maxReaders;
      if (lo > hi)
        ctx.addIssue({
          code: 'custom',
          path: ['sources', id, src.minReaders !== undefined ? 'minReaders' : 'maxReaders'],
          message: `sources.${id}: minReaders (${lo}${src.minReaders === undefined ? ', the tuner default' : ''}) must not exceed maxReaders (${hi}${src.maxReaders === undefined ? ', the tuner default' : ''})`,
        });
    }
  });

export type ReplicasSection = z.infer<typeof replicasSection>;
export type ReplicaSourceConfig = z.infer<typeof replicaSourceSchema>;
export type ReplicaRouting = z.infer<typeof replicaRoutingSchema>;
export type ReplicaScheduleEntry = z.infer<typeof replicaScheduleEntrySchema>;
