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

import { createHash } from 'node:crypto';
import {
  type CloudWatchClient,
  DeleteAlarmsCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  ChangeResourceRecordSetsCommand,
  CreateHealthCheckCommand,
  DeleteHealthCheckCommand,
  HealthCheckInUse,
  InvalidChangeBatch,
  ListHealthChecksCommand,
  type ListHealthChecksCommandOutput,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  NoSuchHealthCheck,
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
  /** Attach a health check on the replica's ReplicaLag (see replicaHealthCheck). */
  healthCheck?: { cloudwatch: CloudWatchClient; region: string; instanceId: string; maxLagSeconds: number };
}

/**
 * The alarm behind a replica record's health check. Outside the reconciler's `dbap-` prefix: the
 * alarm reconciler never touches it and the alarm handler's rule never routes it.
 */
export function healthAlarmName(instanceId: string): string {
  return `db-autopilot-route-health-${instanceId}`;
}

/** ListHealthChecks pages read at most (100 checks a page). */
const MAX_HEALTH_CHECK_PAGES = 50;

/** The id of an existing CloudWatch-alarm health check on `alarm` in `region`, if any. */
async function existingHealthCheck(
  route53: Route53Client,
  alarm: string,
  region: string,
): Promise<string | undefined> {
  let marker: string | undefined;
  for (let page = 0; page < MAX_HEALTH_CHECK_PAGES; page++) {
    const out: ListHealthChecksCommandOutput = await route53.send(
      new ListHealthChecksCommand(marker ? { Marker: marker } : {}),
    );
    const found = (out.HealthChecks ?? []).find((hc) => {
      const config = hc.HealthCheckConfig;
      return (
        config?.Type === 'CLOUDWATCH_METRIC' &&
        config.AlarmIdentifier?.Name === alarm &&
        config.AlarmIdentifier.Region === region
      );
    });
    if (found?.Id) return found.Id;
    marker = out.IsTruncated ? out.NextMarker : undefined;
    if (!marker) return undefined;
  }
  return undefined;
}

/**
 * A CallerReference for a new health check: at most 64 characters whatever the instance id's
 * length (a hash of the alarm and Region), and new at every creation time. Route 53 answers
 * HealthCheckAlreadyExists to a reference of a deleted check "regardless of the settings" for
 * days (Route 53 API reference, CreateHealthCheck, CallerReference), so a reference fixed per
 * replica would keep a replica whose record was withdrawn (lag) from ever being routed again.
 * A retry at the same time (same run) sends the same reference and gets the same check back.
 */
export function healthCheckCallerReference(alarm: string, region: string, now: Date): string {
  const digest = createHash('sha256').update(`${region}/${alarm}`).digest('hex').slice(0, 24);
  return `dbap-hc-${digest}-${now.getTime()}`;
}

/**
 * A Route 53 health check for a replica record in a private hosted zone: Route 53's checkers
 * cannot reach a private endpoint, so the check is CloudWatch-alarm based (Type
 * CLOUDWATCH_METRIC; Route 53 Developer Guide, "Health checks for private hosted zones"): the
 * replica's ReplicaLag above the threshold for 2 minutes, or no data (replica gone), is
 * unhealthy. The alarm is created or updated in place (its threshold may change); an existing
 * check on it is reused (a run that died between the check and the record left one), else a new
 * one is created (see healthCheckCallerReference).
 */
async function replicaHealthCheck(
  route53: Route53Client,
  hc: NonNullable<ReplicaRoute['healthCheck']>,
  now: Date,
): Promise<string | undefined> {
  const alarm = healthAlarmName(hc.instanceId);
  await hc.cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: alarm,
      AlarmDescription: `db-autopilot: health of the read record of ${hc.instanceId} (Route 53 health check)`,
      Namespace: 'AWS/RDS',
      MetricName: 'ReplicaLag',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: hc.instanceId }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      Threshold: hc.maxLagSeconds,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    }),
  );
  const existing = await existingHealthCheck(route53, alarm, hc.region);
  if (existing) return existing;
  const out = await route53.send(
    new CreateHealthCheckCommand({
      CallerReference: healthCheckCallerReference(alarm, hc.region, now),
      HealthCheckConfig: {
        Type: 'CLOUDWATCH_METRIC',
        AlarmIdentifier: { Region: hc.region as never, Name: alarm },
        InsufficientDataHealthStatus: 'Unhealthy',
      },
    }),
  );
  return out.HealthCheck?.Id;
}

/** Deletes a record's health check and its alarm (both already gone counts as done). */
async function dropHealthCheck(
  route53: Route53Client,
  healthCheckId: string,
  cleanup?: { cloudwatch: CloudWatchClient; instanceId: string },
): Promise<void> {
  try {
    await route53.send(new DeleteHealthCheckCommand({ HealthCheckId: healthCheckId }));
  } catch (error) {
    if (!(error instanceof NoSuchHealthCheck) && !(error instanceof HealthCheckInUse)) throw error;
  }
  if (cleanup) {
    await cleanup.cloudwatch.send(
      new DeleteAlarmsCommand({ AlarmNames: [healthAlarmName(cleanup.instanceId)] }),
    );
  }
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
    const healthCheckId = route.healthCheck
      ? await replicaHealthCheck(route53, route.healthCheck, now)
      : undefined;
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
                ...(healthCheckId ? { HealthCheckId: healthCheckId } : {}),
              },
            },
          ],
        },
      }),
    );
    const checked = healthCheckId ? `, health check ${healthCheckId} on ReplicaLag` : '';
    return {
      status: 'applied',
      detail: `${what} (weight ${route.weight}, TTL ${route.ttlSeconds} s${checked})`,
    };
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
  cloudwatch?: CloudWatchClient,
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
    // The record is gone: its health check and the alarm behind it go too.
    if (current.HealthCheckId) {
      await dropHealthCheck(
        route53,
        current.HealthCheckId,
        cloudwatch ? { cloudwatch, instanceId: target.replicaId } : undefined,
      );
    }
    return {
      status: 'applied',
      detail: `${what}: record deleted, connections drain before the replica is removed`,
    };
  } catch (error) {
    return translate(error, now, what);
  }
}
