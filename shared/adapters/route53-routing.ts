/**
 * Read routing for plain RDS replicas: one weighted CNAME per replica (SetIdentifier = the
 * replica's DBInstanceIdentifier) in the record set the application's read DSN points to, in a
 * private hosted zone. aws-facts.md (read replicas): plain RDS has no reader endpoint, so a new
 * replica offloads nothing until the application reads from it.
 *
 * Thin: Route 53 commands in, ActResult out.
 * - UPSERT creates or replaces the record (ChangeResourceRecordSets API reference).
 * - DELETE must match the existing record exactly (name, type, set identifier, weight, TTL,
 *   values), so the current record is read first with ListResourceRecordSets.
 */
import {
  ChangeResourceRecordSetsCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  NoSuchHostedZone,
  PriorRequestNotComplete,
  type ResourceRecordSet,
  type Route53Client,
  ThrottlingException,
} from '@aws-sdk/client-route-53';
import type { ActResult } from '../core/model.ts';

export interface RoutingTarget {
  hostedZoneId: string;
  recordName: string;
}

export interface ReplicaRoute extends RoutingTarget {
  replicaId: string;
  endpoint: string;
  weight: number;
  ttlSeconds: number;
}

const RETRY_MS = 60_000;

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.+$/, '');
}

function zoneId(id: string): string {
  return id.replace(/^\/hostedzone\//, '');
}

/** The weighted CNAME records of the read record set, by SetIdentifier. */
export async function listReplicaRoutes(
  route53: Route53Client,
  target: RoutingTarget,
): Promise<Map<string, ResourceRecordSet>> {
  const wanted = normalizeName(target.recordName);
  const routes = new Map<string, ResourceRecordSet>();
  let startName: string | undefined = `${wanted}.`;
  let startType: 'CNAME' | undefined = 'CNAME';
  let startIdentifier: string | undefined;
  for (let page = 0; page < 100 && startName !== undefined; page++) {
    const out: ListResourceRecordSetsCommandOutput = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId(target.hostedZoneId),
        StartRecordName: startName,
        StartRecordType: startType,
        ...(startIdentifier !== undefined ? { StartRecordIdentifier: startIdentifier } : {}),
      }),
    );
    // Route 53 lists records in order from StartRecordName: once past the wanted name, stop.
    let passed = false;
    for (const rs of out.ResourceRecordSets ?? []) {
      if (normalizeName(rs.Name ?? '') !== wanted || rs.Type !== 'CNAME') {
        if (routes.size > 0) passed = true;
        continue;
      }
      if (rs.SetIdentifier) routes.set(rs.SetIdentifier, rs);
    }
    if (passed || !out.IsTruncated) break;
    // Records of one name are listed together: a next page that starts at another name has none.
    if (normalizeName(out.NextRecordName ?? '') !== wanted) break;
    startName = out.NextRecordName;
    startType = out.NextRecordType === 'CNAME' ? 'CNAME' : undefined;
    startIdentifier = out.NextRecordIdentifier;
    if (startType === undefined) break;
  }
  return routes;
}

function translate(error: unknown, now: Date, what: string): ActResult {
  if (error instanceof PriorRequestNotComplete || error instanceof ThrottlingException) {
    return {
      status: 'deferred',
      until: new Date(now.getTime() + RETRY_MS).toISOString(),
      reason: `${what}: Route 53 is busy (${error.name}), retrying later`,
    };
  }
  if (error instanceof NoSuchHostedZone) {
    return {
      status: 'failed',
      code: error.name,
      reason: `${what}: hosted zone not found (check routing.hostedZoneId)`,
    };
  }
  if (error instanceof InvalidChangeBatch) {
    return {
      status: 'failed',
      code: error.name,
      reason: `${what}: Route 53 rejected the change: ${error.message}`,
    };
  }
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { status: 'failed', code: name, reason: `${what}: ${name}: ${message}` };
}

/** Adds (or refreshes) the weighted record that sends reads to this replica. */
export async function upsertReplicaRoute(
  route53: Route53Client,
  route: ReplicaRoute,
  now: Date,
): Promise<ActResult> {
  const what = `route ${route.recordName} -> ${route.replicaId}`;
  try {
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId(route.hostedZoneId),
        ChangeBatch: {
          Comment: `db-autopilot: route reads to replica ${route.replicaId}`,
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: route.recordName,
                Type: 'CNAME',
                SetIdentifier: route.replicaId,
                Weight: route.weight,
                TTL: route.ttlSeconds,
                ResourceRecords: [{ Value: route.endpoint }],
              },
            },
          ],
        },
      }),
    );
    return { status: 'applied', detail: `${what} (weight ${route.weight}, TTL ${route.ttlSeconds} s)` };
  } catch (error) {
    return translate(error, now, what);
  }
}

/**
 * Removes the replica's weighted record so new connections stop arriving; the replica drains
 * (existing connections close, the TTL expires) before a later run deletes it.
 */
export async function removeReplicaRoute(
  route53: Route53Client,
  target: RoutingTarget & { replicaId: string },
  now: Date,
): Promise<ActResult> {
  const what = `unroute ${target.recordName} -> ${target.replicaId}`;
  try {
    const routes = await listReplicaRoutes(route53, target);
    const current = routes.get(target.replicaId);
    if (!current) return { status: 'applied', detail: `${what}: no record for it (already removed)` };
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId(target.hostedZoneId),
        ChangeBatch: {
          Comment: `db-autopilot: drain replica ${target.replicaId}`,
          Changes: [{ Action: 'DELETE', ResourceRecordSet: current }],
        },
      }),
    );
    return {
      status: 'applied',
      detail: `${what}: record deleted, connections drain before the replica is removed`,
    };
  } catch (error) {
    return translate(error, now, what);
  }
}
