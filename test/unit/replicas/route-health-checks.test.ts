import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import {
  ChangeResourceRecordSetsCommand,
  CreateHealthCheckCommand,
  HealthCheckAlreadyExists,
  ListHealthChecksCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  healthAlarmName,
  healthCheckCallerReference,
  upsertReplicaRoute,
} from '../../../shared/adapters/route53-routing.ts';

/**
 * Route 53 API reference, CreateHealthCheck, CallerReference: a reference of a deleted health
 * check is answered HealthCheckAlreadyExists "regardless of the settings" (for days), and a
 * reference is at most 64 characters.
 */
const r53 = mockClient(Route53Client);
const cw = mockClient(CloudWatchClient);
const NOW = new Date('2026-11-23T12:00:00.000Z');

function route(instanceId: string) {
  return {
    hostedZoneId: 'Z0SHOP',
    recordName: 'reads.shop.internal.',
    replicaId: instanceId,
    endpoint: `${instanceId}.abc.us-east-1.rds.amazonaws.com`,
    weight: 100,
    ttlSeconds: 30,
    healthCheck: {
      cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
      region: 'us-east-1',
      instanceId,
      maxLagSeconds: 60,
    },
  };
}

const alarmCheck = (id: string, alarm: string) => ({
  Id: id,
  CallerReference: `ref-${id}`,
  HealthCheckVersion: 1,
  HealthCheckConfig: {
    Type: 'CLOUDWATCH_METRIC' as const,
    AlarmIdentifier: { Region: 'us-east-1' as const, Name: alarm },
  },
});

beforeEach(() => {
  cw.on(PutMetricAlarmCommand).resolves({});
  r53.on(ChangeResourceRecordSetsCommand).resolves({});
});

afterEach(() => {
  r53.reset();
  cw.reset();
});

describe('health checks of replica records', () => {
  it('reuses the health check already on the replica alarm (listed on a later page) instead of creating one', async () => {
    const alarm = healthAlarmName('dbap-shop-mysql-1');
    r53
      .on(ListHealthChecksCommand)
      .resolvesOnce({
        HealthChecks: [alarmCheck('hc-other', healthAlarmName('dbap-shop-mysql-2'))],
        IsTruncated: true,
        NextMarker: 'hc-ours',
        Marker: '',
        MaxItems: 100,
      })
      .resolvesOnce({
        HealthChecks: [alarmCheck('hc-ours', alarm)],
        IsTruncated: false,
        Marker: 'hc-ours',
        MaxItems: 100,
      });
    const result = await upsertReplicaRoute(new Route53Client({}), route('dbap-shop-mysql-1'), NOW);
    expect(result.status).toBe('applied');
    expect(r53).not.toHaveReceivedCommand(CreateHealthCheckCommand);
    expect(r53).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      ChangeBatch: expect.objectContaining({
        Changes: [
          expect.objectContaining({
            ResourceRecordSet: expect.objectContaining({ HealthCheckId: 'hc-ours' }),
          }),
        ],
      }),
    });
  });

  it('creates a new health check with a new CallerReference once the old check was deleted, so a withdrawn replica is routed again', async () => {
    r53
      .on(ListHealthChecksCommand)
      .resolves({ HealthChecks: [], IsTruncated: false, Marker: '', MaxItems: 100 });
    const used = new Set<string>();
    r53.on(CreateHealthCheckCommand).callsFake((input: { CallerReference: string }) => {
      if (used.has(input.CallerReference)) {
        throw new HealthCheckAlreadyExists({ message: 'reference of a deleted check', $metadata: {} });
      }
      used.add(input.CallerReference);
      return { HealthCheck: { Id: `hc-${used.size}` } };
    });
    const first = await upsertReplicaRoute(new Route53Client({}), route('dbap-shop-mysql-1'), NOW);
    // Withdrawn (record and check deleted), caught up 10 minutes later: routed again.
    const later = new Date(NOW.getTime() + 10 * 60_000);
    const again = await upsertReplicaRoute(new Route53Client({}), route('dbap-shop-mysql-1'), later);
    expect([first.status, again.status]).toEqual(['applied', 'applied']);
    expect(r53.commandCalls(CreateHealthCheckCommand)).toHaveLength(2);
  });

  it('keeps CallerReference within 64 characters and distinct for long replica names that share a prefix', () => {
    const long = 'dbap-securecart-orders-mysql-primary-replica-eu-west-1a-0001';
    const a = healthCheckCallerReference(healthAlarmName(long), 'us-east-1', NOW);
    const b = healthCheckCallerReference(healthAlarmName(`${long.slice(0, -1)}2`), 'us-east-1', NOW);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(b.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    // A retry at the same time (same run) asks for the same check.
    expect(healthCheckCallerReference(healthAlarmName(long), 'us-east-1', NOW)).toBe(a);
  });
});
