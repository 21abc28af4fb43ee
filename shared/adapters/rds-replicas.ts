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
import {
  CreateDBInstanceCommand,
  CreateDBInstanceReadReplicaCommand,
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
import { REPLICA_NAME_PREFIX } from '../policies/replicas.ts';
import { removeReplicaRoute, upsertReplicaRoute } from './route53-routing.ts';

/** aws-facts.md: Aurora Auto Scaling gives its readers the lowest priority; tier 15 is never preferred for failover. */
export const READER_PROMOTION_TIER = 15;
const RETRY_MS = 5 * 60_000;

export interface ReplicaAdapterDeps {
  rds: () => RDSClient;
  route53: () => Route53Client;
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
});

const routeParams = z.object({
  hostedZoneId: z.string().min(1),
  recordName: z.string().min(1),
  replicaId: z.string().min(1),
  endpoint: z.string().min(1).optional(),
  weight: z.number().int().min(0).max(255).default(100),
  ttlSeconds: z.number().int().min(0).default(30),
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
    { Key: 'db-autopilot:source', Value: p.sourceId },
  ];
  const tried: string[] = [];
  // Ownership is recorded BEFORE the create (write-ahead, issue 21): if the response is lost or the
  // run dies, the replica (deterministic name, created-by tag) still has its record and is never
  // orphaned. The record is dropped again only when AWS certainly created nothing.
  const owned = { tuner: 'replicas', family: p.family, sourceId: p.sourceId };
  await deps.store.recordCreated('replicas', p.replicaId, { ...owned, status: 'intended' }, now);
  const result = await createReplica(deps, p, tags, tried, now);
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
  now: Date,
): Promise<CreateResult> {
  for (const attempt of placementAttempts(p.instanceClass, p.instanceClasses, p.availabilityZones)) {
    const where = `${attempt.instanceClass}${attempt.availabilityZone ? ` in ${attempt.availabilityZone}` : ''}`;
    try {
      if (p.family === 'aurora') {
        // Aurora: a reader is a DB instance in the cluster (CreateDBInstance with DBClusterIdentifier).
        await deps.rds().send(
          new CreateDBInstanceCommand({
            DBInstanceIdentifier: p.replicaId,
            DBClusterIdentifier: p.sourceId,
            Engine: p.engine,
            DBInstanceClass: attempt.instanceClass,
            PromotionTier: READER_PROMOTION_TIER,
            ...(attempt.availabilityZone ? { AvailabilityZone: attempt.availabilityZone } : {}),
            Tags: tags,
          }),
        );
      } else {
        // Plain RDS: CreateDBInstanceReadReplica (aws-facts.md, read replicas).
        await deps.rds().send(
          new CreateDBInstanceReadReplicaCommand({
            DBInstanceIdentifier: p.replicaId,
            SourceDBInstanceIdentifier: p.sourceId,
            DBInstanceClass: attempt.instanceClass,
            ...(attempt.availabilityZone ? { AvailabilityZone: attempt.availabilityZone } : {}),
            Tags: tags,
          }),
        );
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
        const ours = await isOurReplica(deps, p.replicaId, p.sourceId);
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

/** The instance exists with the created-by tag and as a replica of `sourceId` (tag or membership). */
async function isOurReplica(deps: ReplicaAdapterDeps, replicaId: string, sourceId: string): Promise<boolean> {
  try {
    const out = await deps.rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: replicaId }));
    const db = out?.DBInstances?.[0];
    const tags = db?.TagList ?? [];
    const tagged = tags.some((t) => t.Key === deps.createdByTag.key && t.Value === deps.createdByTag.value);
    const source =
      db?.ReadReplicaSourceDBInstanceIdentifier === sourceId || db?.DBClusterIdentifier === sourceId;
    return tagged && source;
  } catch (error) {
    if (error instanceof DBInstanceNotFoundFault) return false;
    throw error;
  }
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

async function endpointOf(deps: ReplicaAdapterDeps, id: string): Promise<string | undefined> {
  const out = await deps.rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  return out.DBInstances?.[0]?.Endpoint?.Address;
}

export async function addRoute(deps: ReplicaAdapterDeps, action: Action): Promise<ActResult> {
  const parsed = routeParams.safeParse(action.params ?? {});
  if (!parsed.success) return paramError(action, parsed.error);
  const p = parsed.data;
  let endpoint = p.endpoint;
  if (!endpoint) {
    try {
      endpoint = await endpointOf(deps, p.replicaId);
    } catch (error) {
      return unexpected(error);
    }
  }
  if (!endpoint) {
    return {
      status: 'deferred',
      until: new Date(deps.now().getTime() + RETRY_MS).toISOString(),
      reason: `${p.replicaId} has no endpoint yet`,
    };
  }
  return upsertReplicaRoute(deps.route53(), { ...p, endpoint }, deps.now());
}

export async function removeRoute(deps: ReplicaAdapterDeps, action: Action): Promise<ActResult> {
  const parsed = routeParams.safeParse(action.params ?? {});
  if (!parsed.success) return paramError(action, parsed.error);
  return removeReplicaRoute(deps.route53(), parsed.data, deps.now());
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
