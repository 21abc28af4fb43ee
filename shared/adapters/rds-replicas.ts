/**
 * Adds and removes read replicas: Aurora readers (CreateDBInstance with DBClusterIdentifier,
 * promotion tier 15) and plain RDS read replicas (CreateDBInstanceReadReplica); removal with
 * DeleteDBInstance. Thin: SDK commands in, ActResult out. Also applies the routing actions
 * (add-route / remove-route) through shared/adapters/route53-routing.ts.
 *
 * Safety that does not depend on the caller (defence in depth behind the executor's guards):
 * - a replica is deleted only if the state store recorded its creation AND it carries the
 *   ownership tag, it is a replica (never a writer or a source), and it is not being deleted;
 * - every name starts with `dbap-` (IAM policies are scoped on `db:dbap-*`).
 */

import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  CreateDBInstanceReadReplicaCommand,
  type CreateDBInstanceReadReplicaCommandInput,
  type DBInstance,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  InstanceQuotaExceededFault,
  InsufficientDBInstanceCapacityFault,
  InvalidDBClusterStateFault,
  InvalidDBInstanceStateFault,
  type RDSClient,
  StorageQuotaExceededFault,
  type Tag,
} from '@aws-sdk/client-rds';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { z } from 'zod';
import type { Adapter, StateStore, Target } from '../core/contracts.ts';
import type { Action, ActResult } from '../core/model.ts';
import { isBroken, isGone } from '../policies/replica-readers.ts';
import { REPLICA_NAME_PREFIX } from '../policies/replicas.ts';
import { listReplicaRoutes, removeReplicaRoute, upsertReplicaRoute } from './route53-routing.ts';

/** aws-facts.md: Aurora Auto Scaling gives its readers the lowest priority; tier 15 is never preferred for failover. */
export const READER_PROMOTION_TIER = 15;
/** The tag a created replica carries naming its source (kept if the replica is promoted). */
export const SOURCE_TAG = 'db-autopilot:source';
const RETRY_MS = 5 * 60_000;

export interface ReplicaAdapterDeps {
  rds: () => RDSClient;
  route53: () => Route53Client;
  /** For the alarms behind Route 53 health checks (routing.healthChecks). */
  cloudwatch?: () => CloudWatchClient;
  store: Pick<StateStore, 'recordCreated' | 'wasCreatedByUs' | 'forgetCreated'>;
  /** config.tags.createdBy */
  createdByTag: { key: string; value: string };
  now: () => Date;
}

const replicaId = z
  .string()
  .regex(/^dbap-[a-z0-9-]{1,58}$/, 'a replica name starting with "dbap-" (letters, digits, hyphens)')
  .refine((s) => !s.includes('--') && !s.endsWith('-'), 'no two consecutive hyphens, no trailing hyphen');

const addParams = z.object({
  family: z.enum(['aurora', 'rds']),
  sourceId: z.string().min(1),
  replicaId,
  engine: z.string().min(1),
  instanceClass: z.string().min(1),
  instanceClasses: z.array(z.string().min(1)).default([]),
  availabilityZones: z.array(z.string().min(1)).default([]),
});

const removeParams = z.object({
  family: z.enum(['aurora', 'rds']),
  sourceId: z.string().min(1),
  replicaId: z.string().min(1),
  /** Plain RDS with routing: the record set whose record for the replica goes first. */
  routing: z.object({ hostedZoneId: z.string().min(1), recordName: z.string().min(1) }).optional(),
});

const routeParams = z.object({
  hostedZoneId: z.string().min(1),
  recordName: z.string().min(1),
  replicaId: z.string().min(1),
  /** The record's SetIdentifier (default: the replica id). */
  setIdentifier: z.string().min(1).optional(),
  endpoint: z.string().min(1).optional(),
  weight: z.number().int().min(0).max(255).default(100),
  ttlSeconds: z.number().int().min(0).default(30),
  /** Attach a CloudWatch-alarm-based Route 53 health check on the replica's ReplicaLag. */
  healthCheck: z.boolean().default(false),
  maxReplicaLagSeconds: z.number().min(0).default(60),
});

function paramError(action: Action, error: z.ZodError): ActResult {
  const detail = error.issues.map((i) => `params.${i.path.join('.')}: ${i.message}`).join('; ');
  return {
    status: 'failed',
    code: 'InvalidParams',
    reason: `${action.kind} on ${action.resource.id}: ${detail}`,
  };
}

/** An error the adapter has no specific answer for: failed, with the SDK's name and message. */
function unexpected(error: unknown): ActResult {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { status: 'failed', code: name, reason: `${name}: ${message}` };
}

/** The order in which (class, AZ) pairs are tried: each class in every AZ before the next class. */
export function placementAttempts(
  instanceClass: string,
  fallbackClasses: string[],
  zones: string[],
): Array<{ instanceClass: string; availabilityZone?: string }> {
  const classes = [...new Set([instanceClass, ...fallbackClasses])];
  const azs: Array<string | undefined> = zones.length > 0 ? zones : [undefined];
  return classes.flatMap((c) =>
    azs.map((az) => (az ? { instanceClass: c, availabilityZone: az } : { instanceClass: c })),
  );
}

/**
 * What a new plain RDS read replica must copy from its source explicitly (aws-facts.md, learned
 * from review; RDS API reference, CreateDBInstanceReadReplica): the VPC security groups (the only
 * setting that otherwise falls back to the VPC's default group), monitoring interval and role,
 * Performance Insights (with its KMS key and retention), the CA certificate, public
 * accessibility and IAM database authentication. In the same Region the parameter, option and
 * subnet groups are inherited from the source (a DBParameterGroupName is not even accepted for
 * same-Region MySQL replicas); across Regions (`crossRegion`) they, and a KMS key for an
 * encrypted source, must be named.
 */
export function readReplicaInput(
  source: DBInstance,
  base: { replicaId: string; instanceClass: string; availabilityZone?: string; tags: Tag[] },
  crossRegion?: {
    dbSubnetGroupName: string;
    dbParameterGroupName?: string;
    optionGroupName?: string;
    kmsKeyId?: string;
  },
): CreateDBInstanceReadReplicaCommandInput {
  const groups = (source.VpcSecurityGroups ?? [])
    .map((g) => g.VpcSecurityGroupId)
    .filter((id): id is string => !!id);
  const monitoring = source.MonitoringInterval ?? 0;
  return {
    DBInstanceIdentifier: base.replicaId,
    SourceDBInstanceIdentifier: crossRegion
      ? (source.DBInstanceArn ?? source.DBInstanceIdentifier)
      : source.DBInstanceIdentifier,
    DBInstanceClass: base.instanceClass,
    ...(base.availabilityZone ? { AvailabilityZone: base.availabilityZone } : {}),
    ...(groups.length > 0 && !crossRegion ? { VpcSecurityGroupIds: groups } : {}),
    MonitoringInterval: monitoring,
    ...(monitoring > 0 && source.MonitoringRoleArn ? { MonitoringRoleArn: source.MonitoringRoleArn } : {}),
    ...piSettings(source),
    ...(source.CACertificateIdentifier ? { CACertificateIdentifier: source.CACertificateIdentifier } : {}),
    ...(source.PubliclyAccessible !== undefined ? { PubliclyAccessible: source.PubliclyAccessible } : {}),
    // "By default, mapping isn't enabled" (RDS API reference, CreateDBInstanceReadReplica,
    // EnableIAMDatabaseAuthentication): readers that log in with IAM tokens would fail on it.
    EnableIAMDatabaseAuthentication: source.IAMDatabaseAuthenticationEnabled === true,
    ...storageAutoscaling(source),
    ...(crossRegion
      ? {
          DBSubnetGroupName: crossRegion.dbSubnetGroupName,
          ...(crossRegion.dbParameterGroupName
            ? { DBParameterGroupName: crossRegion.dbParameterGroupName }
            : {}),
          ...(crossRegion.optionGroupName ? { OptionGroupName: crossRegion.optionGroupName } : {}),
          ...(source.StorageEncrypted && crossRegion.kmsKeyId ? { KmsKeyId: crossRegion.kmsKeyId } : {}),
        }
      : {}),
    Tags: base.tags,
  };
}

/**
 * Storage autoscaling like the source's. The API takes `MaxAllocatedStorage` on
 * CreateDBInstanceReadReplica and names no default (RDS API reference,
 * CreateDBInstanceReadReplica; the "inherited from the source" sentence lists no storage setting),
 * so it is sent, never assumed: a replica without it stays at its first size while its source grows,
 * fills up, and storage-full stops replication. The maximum must be at least 10% above the allocated
 * storage (RDS User Guide, USER_PIOPS.Autoscaling: "at least 10% more than the current allocated
 * storage"): a source already within 10% of its own maximum gives the replica that 10%.
 */
export function storageAutoscaling(source: DBInstance): { MaxAllocatedStorage?: number } {
  const max = source.MaxAllocatedStorage;
  const allocated = source.AllocatedStorage;
  if (max === undefined || max <= 0) return {};
  if (allocated === undefined) return { MaxAllocatedStorage: max };
  return { MaxAllocatedStorage: Math.max(max, Math.ceil(allocated * 1.1)) };
}

function piSettings(db: DBInstance): Record<string, unknown> {
  if (db.PerformanceInsightsEnabled !== true) return { EnablePerformanceInsights: false };
  return {
    EnablePerformanceInsights: true,
    ...(db.PerformanceInsightsKMSKeyId
      ? { PerformanceInsightsKMSKeyId: db.PerformanceInsightsKMSKeyId }
      : {}),
    ...(db.PerformanceInsightsRetentionPeriod
      ? { PerformanceInsightsRetentionPeriod: db.PerformanceInsightsRetentionPeriod }
      : {}),
  };
}

/**
 * A new Aurora reader copies the cluster's existing readers (else its writer): without
 * DBParameterGroupName it gets the engine's default parameter group, without
 * EnablePerformanceInsights / MonitoringInterval none (aws-facts.md, learned from review).
 */
export function auroraReaderInput(
  clusterId: string,
  engine: string,
  reference: DBInstance | undefined,
  base: { replicaId: string; instanceClass: string; availabilityZone?: string; tags: Tag[] },
): CreateDBInstanceCommandInput {
  const paramGroup = reference?.DBParameterGroups?.[0]?.DBParameterGroupName;
  const monitoring = reference?.MonitoringInterval ?? 0;
  return {
    DBInstanceIdentifier: base.replicaId,
    DBClusterIdentifier: clusterId,
    Engine: engine,
    DBInstanceClass: base.instanceClass,
    PromotionTier: READER_PROMOTION_TIER,
    ...(base.availabilityZone ? { AvailabilityZone: base.availabilityZone } : {}),
    ...(paramGroup ? { DBParameterGroupName: paramGroup } : {}),
    ...(reference ? piSettings(reference) : {}),
    MonitoringInterval: monitoring,
    ...(monitoring > 0 && reference?.MonitoringRoleArn
      ? { MonitoringRoleArn: reference.MonitoringRoleArn }
      : {}),
    ...(reference?.CACertificateIdentifier
      ? { CACertificateIdentifier: reference.CACertificateIdentifier }
      : {}),
    ...(reference?.PubliclyAccessible !== undefined
      ? { PubliclyAccessible: reference.PubliclyAccessible }
      : {}),
    Tags: base.tags,
  };
}

/** The instance a new Aurora reader copies: an existing reader not being deleted, else the writer. */
async function auroraReference(deps: ReplicaAdapterDeps, clusterId: string): Promise<DBInstance | undefined> {
  const clusters = await deps.rds().send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterId }));
  const members = clusters?.DBClusters?.[0]?.DBClusterMembers ?? [];
  const out = await deps
    .rds()
    .send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: [clusterId] }] }));
  const instances = (out?.DBInstances ?? []).filter((db) => db.DBInstanceStatus !== 'deleting');
  const isWriter = (db: DBInstance) =>
    members.find((m) => m.DBInstanceIdentifier === db.DBInstanceIdentifier)?.IsClusterWriter === true;
  const readers = instances.filter((db) => !isWriter(db));
  const preferred = readers.find((db) => !(db.DBInstanceIdentifier ?? '').startsWith(REPLICA_NAME_PREFIX));
  return preferred ?? readers[0] ?? instances.find(isWriter);
}

async function describeOne(deps: ReplicaAdapterDeps, id: string): Promise<DBInstance | undefined> {
  const out = await deps.rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  return out?.DBInstances?.[0];
}

export async function addReplica(deps: ReplicaAdapterDeps, action: Action): Promise<ActResult> {
  const parsed = addParams.safeParse(action.params ?? {});
  if (!parsed.success) return paramError(action, parsed.error);
  const p = parsed.data;
  if (!p.replicaId.startsWith(REPLICA_NAME_PREFIX)) {
    return {
      status: 'failed',
      code: 'InvalidParams',
      reason: `replica name must start with ${REPLICA_NAME_PREFIX}`,
    };
  }
  const now = deps.now();
  const tags: Tag[] = [
    { Key: deps.createdByTag.key, Value: deps.createdByTag.value },
    { Key: SOURCE_TAG, Value: p.sourceId },
  ];
  const tried: string[] = [];
  // Ownership is recorded BEFORE the create (write-ahead, issue 21): if the response is lost or the
  // run dies, the replica (deterministic name, created-by tag) still has its record and is never
  // orphaned. The record is dropped again only when AWS certainly created nothing.
  const owned = { tuner: 'replicas', family: p.family, sourceId: p.sourceId };
  // Whether an earlier run already recorded creating this name (it tells a lost answer of this
  // call's own create from an earlier run's instance, where AWS gives no creation time yet).
  const earlier = await deps.store.wasCreatedByUs('replicas', p.replicaId);
  await deps.store.recordCreated('replicas', p.replicaId, { ...owned, status: 'intended' }, now);
  const result = await createReplica(deps, p, tags, tried, { now, earlier });
  if (result.status !== 'applied' && !result.keepRecord)
    await deps.store.forgetCreated('replicas', p.replicaId);
  const { keepRecord: _, ...out } = result;
  return out;
}

type CreateResult = ActResult & { keepRecord?: boolean };

async function createReplica(
  deps: ReplicaAdapterDeps,
  p: z.infer<typeof addParams>,
  tags: Tag[],
  tried: string[],
  { now, earlier }: { now: Date; earlier: boolean },
): Promise<CreateResult> {
  let source: DBInstance | undefined;
  let reference: { db: DBInstance | undefined } | undefined;
  for (const attempt of placementAttempts(p.instanceClass, p.instanceClasses, p.availabilityZones)) {
    const where = `${attempt.instanceClass}${attempt.availabilityZone ? ` in ${attempt.availabilityZone}` : ''}`;
    const spec = { replicaId: p.replicaId, ...attempt, tags };
    try {
      if (p.family === 'aurora') {
        // Aurora: a reader is a DB instance in the cluster (CreateDBInstance with DBClusterIdentifier).
        reference ??= { db: await auroraReference(deps, p.sourceId) };
        await deps
          .rds()
          .send(new CreateDBInstanceCommand(auroraReaderInput(p.sourceId, p.engine, reference.db, spec)));
      } else {
        // Plain RDS: CreateDBInstanceReadReplica with the source's settings (aws-facts.md, read replicas).
        source ??= await describeOne(deps, p.sourceId);
        if (!source)
          return { status: 'failed', code: 'DBInstanceNotFound', reason: `source ${p.sourceId} not found` };
        await deps.rds().send(new CreateDBInstanceReadReplicaCommand(readReplicaInput(source, spec)));
      }
      await deps.store.recordCreated(
        'replicas',
        p.replicaId,
        {
          tuner: 'replicas',
          family: p.family,
          sourceId: p.sourceId,
          status: 'confirmed',
          instanceClass: attempt.instanceClass,
          ...(attempt.availabilityZone ? { availabilityZone: attempt.availabilityZone } : {}),
        },
        now,
      );
      const fallback = tried.length > 0 ? ` after insufficient capacity for ${tried.join(', ')}` : '';
      return { status: 'applied', detail: `creating ${p.replicaId} (${where}) for ${p.sourceId}${fallback}` };
    } catch (error) {
      if (error instanceof InsufficientDBInstanceCapacityFault) {
        tried.push(where);
        continue;
      }
      if (error instanceof DBInstanceAlreadyExistsFault) {
        // A redelivered run asks for the same deterministic name: never create a twin. The record
        // stays only if the existing instance is ours (created-by tag) and of this source.
        const found = await ourReplica(deps, p.replicaId, p.sourceId);
        const ours = found !== undefined;
        if (found && createdByThisCall(found, now, earlier))
          return {
            status: 'applied',
            detail: `creating ${p.replicaId} (${where}) for ${p.sourceId}: the first answer was lost and the retry found it (${found.InstanceCreateTime ? `created ${found.InstanceCreateTime.toISOString()}` : `${found.DBInstanceStatus}, no earlier run recorded creating it`})`,
          };
        return {
          status: 'skipped',
          reason: ours
            ? `${p.replicaId} already exists (an earlier run created it)`
            : `${p.replicaId} already exists and was not created by db-autopilot: left alone`,
          keepRecord: ours,
        };
      }
      if (error instanceof InvalidDBClusterStateFault || error instanceof InvalidDBInstanceStateFault) {
        return {
          status: 'deferred',
          until: new Date(now.getTime() + RETRY_MS).toISOString(),
          reason: `${p.sourceId} is not in a state that accepts a new replica (${error.name}): ${error.message}`,
        };
      }
      if (error instanceof InstanceQuotaExceededFault) {
        return { status: 'skipped', reason: `the account's DB instance quota is reached (${error.name})` };
      }
      if (error instanceof StorageQuotaExceededFault) {
        return { status: 'failed', code: error.name, reason: `the account's storage quota is reached` };
      }
      // Unknown outcome (the create may have happened): keep the ownership record.
      return { ...unexpected(error), keepRecord: true };
    }
  }
  return {
    status: 'failed',
    code: 'InsufficientDBInstanceCapacity',
    reason: `no capacity for a new replica of ${p.sourceId}: tried ${tried.join(', ')} (add classes or AZs to tuners.replicas.instanceClasses / availabilityZones)`,
  };
}

/** The instance, if it exists with the created-by tag and as a replica of `sourceId` (tag or membership). */
async function ourReplica(
  deps: ReplicaAdapterDeps,
  replicaId: string,
  sourceId: string,
): Promise<DBInstance | undefined> {
  try {
    const out = await deps.rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: replicaId }));
    const db = out?.DBInstances?.[0];
    const tags = db?.TagList ?? [];
    const tagged = tags.some((t) => t.Key === deps.createdByTag.key && t.Value === deps.createdByTag.value);
    const source =
      db?.ReadReplicaSourceDBInstanceIdentifier === sourceId || db?.DBClusterIdentifier === sourceId;
    return tagged && source ? db : undefined;
  } catch (error) {
    if (error instanceof DBInstanceNotFoundFault) return undefined;
    throw error;
  }
}

/** How far before the run's clock a create of this run can be stamped (clock skew, slow start). */
const SAME_CALL_SKEW_MS = 60_000;

/**
 * The existing instance is this call's own create: the SDK retries a create whose answer was lost
 * (a 5xx or a timeout: adaptive retry mode, MAX_ATTEMPTS in shared/aws/clients.ts), and the retry
 * gets DBInstanceAlreadyExists for the instance the first attempt made. Names carry the run's
 * minute (replicaName), so an instance created before this run started is an earlier run's.
 * DescribeDBInstances gives no InstanceCreateTime while the instance is being created (it is set
 * once created): then it is this call's when no earlier run recorded creating that name
 * (`earlier`: every create writes its record before it is sent).
 */
function createdByThisCall(db: DBInstance, now: Date, earlier: boolean): boolean {
  const created = db.InstanceCreateTime?.getTime();
  if (created !== undefined) return created >= now.getTime() - SAME_CALL_SKEW_MS;
  return db.DBInstanceStatus === 'creating' && !earlier;
}

export async function removeReplica(deps: ReplicaAdapterDeps, action: Action): Promise<ActResult> {
  const parsed = removeParams.safeParse(action.params ?? {});
  if (!parsed.success) return paramError(action, parsed.error);
  const p = parsed.data;
  const now = deps.now();
  // Created consent, half 1: the recorded resource id (design.md).
  if (!(await deps.store.wasCreatedByUs('replicas', p.replicaId))) {
    return {
      status: 'skipped',
      reason: `${p.replicaId} was not created by db-autopilot (no recorded create): left alone`,
    };
  }
  if (p.routing) {
    // The record goes before the replica, and the replica only after its connections drain
    // (issue 19: a revert that deletes a routed replica first sends reads to a dead endpoint).
    const routed = await recordFirst(deps, { ...p.routing, replicaId: p.replicaId });
    if (routed) return routed;
  }
  try {
    const described = await deps
      .rds()
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: p.replicaId }));
    const db = described.DBInstances?.[0];
    if (!db) return { status: 'applied', detail: `${p.replicaId} no longer exists` };
    // Created consent, half 2: the ownership tag.
    const tagged = (db.TagList ?? []).some(
      (t) => t.Key === deps.createdByTag.key && t.Value === deps.createdByTag.value,
    );
    if (!tagged) {
      return {
        status: 'skipped',
        reason: `${p.replicaId} lacks the ownership tag ${deps.createdByTag.key}: left alone`,
      };
    }
    if (db.DBInstanceStatus === 'deleting')
      return { status: 'applied', detail: `${p.replicaId} is already being deleted` };
    if (p.family === 'rds') {
      if (db.ReadReplicaSourceDBInstanceIdentifier !== p.sourceId) {
        return {
          status: 'skipped',
          reason: `${p.replicaId} is not a read replica of ${p.sourceId}: left alone`,
        };
      }
    } else {
      if (db.DBClusterIdentifier !== p.sourceId) {
        return {
          status: 'skipped',
          reason: `${p.replicaId} is not a member of cluster ${p.sourceId}: left alone`,
        };
      }
      const clusters = await deps
        .rds()
        .send(new DescribeDBClustersCommand({ DBClusterIdentifier: p.sourceId }));
      const member = clusters.DBClusters?.[0]?.DBClusterMembers?.find(
        (m) => m.DBInstanceIdentifier === p.replicaId,
      );
      // Fail safe: delete only an instance the cluster confirms is one of its readers.
      if (member?.IsClusterWriter !== false) {
        return {
          status: 'skipped',
          reason: member
            ? `${p.replicaId} is the writer of ${p.sourceId} (after a failover): left alone`
            : `${p.sourceId} does not list ${p.replicaId} among its members: cannot confirm it is a reader, left alone`,
        };
      }
    }
    await deps.rds().send(
      new DeleteDBInstanceCommand({
        DBInstanceIdentifier: p.replicaId,
        // aws-facts.md: a read replica is deleted with SkipFinalSnapshot (a final snapshot id is
        // rejected for replicas); Aurora instances take no final snapshot (the cluster keeps the data).
        ...(p.family === 'rds' ? { SkipFinalSnapshot: true } : {}),
      }),
    );
    await deps.store.forgetCreated('replicas', p.replicaId);
    return { status: 'applied', detail: `deleting ${p.replicaId}` };
  } catch (error) {
    if (error instanceof DBInstanceNotFoundFault) {
      await deps.store.forgetCreated('replicas', p.replicaId);
      return { status: 'applied', detail: `${p.replicaId} no longer exists` };
    }
    if (error instanceof InvalidDBInstanceStateFault || error instanceof InvalidDBClusterStateFault) {
      return {
        status: 'deferred',
        until: new Date(now.getTime() + RETRY_MS).toISOString(),
        reason: `${p.replicaId} cannot be deleted now (${error.name}): ${error.message}`,
      };
    }
    return unexpected(error);
  }
}

/** Default wait after withdrawing a record before the replica may be deleted (TTL + open connections). */
const DRAIN_MS = 5 * 60_000;

/**
 * Removes the replica's record when there is one and answers `deferred` (the replica is deleted
 * by a later attempt, once the TTL ran out and connections drained); undefined when no record
 * routes to it.
 */
async function recordFirst(
  deps: ReplicaAdapterDeps,
  target: { hostedZoneId: string; recordName: string; replicaId: string },
): Promise<ActResult | undefined> {
  let routes: Awaited<ReturnType<typeof listReplicaRoutes>>;
  try {
    routes = await listReplicaRoutes(deps.route53(), target);
  } catch (error) {
    return unexpected(error);
  }
  if (!routes.has(target.replicaId)) return undefined;
  const removed = await removeReplicaRoute(deps.route53(), target, deps.now(), deps.cloudwatch?.());
  if (removed.status !== 'applied') return removed;
  return {
    status: 'deferred',
    until: new Date(deps.now().getTime() + DRAIN_MS).toISOString(),
    reason: `${target.replicaId}: its record in ${target.recordName} was removed first; the replica is deleted once connections drain (retry after the TTL)`,
  };
}

/** Statuses in which an instance serves no reads (replica-readers.ts), or is not serving yet. */
function servesNoReads(status: string): boolean {
  return (
    isBroken(status) || isGone(status) || ['creating', 'stopped', 'stopping', 'starting'].includes(status)
  );
}

export async function addRoute(deps: ReplicaAdapterDeps, action: Action): Promise<ActResult> {
  const parsed = routeParams.safeParse(action.params ?? {});
  if (!parsed.success) return paramError(action, parsed.error);
  const p = parsed.data;
  // Defence in depth behind the policy (a revert replays a recorded add-route without it): reads
  // are never routed to an instance that is gone or serves nothing now.
  let db: DBInstance | undefined;
  try {
    db = await describeOne(deps, p.replicaId);
  } catch (error) {
    if (!(error instanceof DBInstanceNotFoundFault)) return unexpected(error);
  }
  if (!db) return { status: 'skipped', reason: `${p.replicaId} does not exist: no reads are routed to it` };
  const status = db.DBInstanceStatus ?? 'unknown';
  if (servesNoReads(status))
    return { status: 'skipped', reason: `${p.replicaId} is ${status}: no reads are routed to it` };
  const endpoint = p.endpoint ?? db.Endpoint?.Address;
  if (!endpoint) {
    return {
      status: 'deferred',
      until: new Date(deps.now().getTime() + RETRY_MS).toISOString(),
      reason: `${p.replicaId} has no endpoint yet`,
    };
  }
  const cloudwatch = deps.cloudwatch?.();
  const healthCheck =
    p.healthCheck && cloudwatch
      ? {
          cloudwatch,
          region: (await deps.rds().config.region()) ?? 'us-east-1',
          instanceId: p.replicaId,
          maxLagSeconds: p.maxReplicaLagSeconds,
        }
      : undefined;
  const { healthCheck: _wanted, ...route } = p;
  return upsertReplicaRoute(
    deps.route53(),
    {
      ...route,
      replicaId: p.setIdentifier ?? p.replicaId,
      endpoint,
      ...(healthCheck ? { healthCheck } : {}),
    },
    deps.now(),
  );
}

export async function removeRoute(deps: ReplicaAdapterDeps, action: Action): Promise<ActResult> {
  const parsed = routeParams.safeParse(action.params ?? {});
  if (!parsed.success) return paramError(action, parsed.error);
  const p = parsed.data;
  return removeReplicaRoute(
    deps.route53(),
    { ...p, replicaId: p.setIdentifier ?? p.replicaId },
    deps.now(),
    deps.cloudwatch?.(),
  );
}

/** The replicas tuner's adapter: one entry point for every mutating action kind it plans. */
export function createReplicaAdapter(deps: ReplicaAdapterDeps): Adapter {
  return async (action: Action, _target: Target): Promise<ActResult> => {
    switch (action.kind) {
      case 'add-replica':
        return addReplica(deps, action);
      case 'remove-replica':
        return removeReplica(deps, action);
      case 'add-route':
        return addRoute(deps, action);
      case 'remove-route':
        return removeRoute(deps, action);
      default:
        return { status: 'skipped', reason: `the replicas adapter does not apply ${action.kind}` };
    }
  };
}
