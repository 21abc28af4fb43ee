import {
  DescribeDBProxiesCommand,
  DescribeDBProxyTargetGroupsCommand,
  DescribeDBProxyTargetsCommand,
} from '@aws-sdk/client-rds';
import { rdsClient } from '../../aws/clients.ts';
import { redact } from '../../core/errors.ts';
import { logger } from '../../handler/observability.ts';
import { lastDayOfRdsMetric, lastDayWindow } from './cloudwatch.ts';
import type { ProxyObservation } from './types.ts';

/**
 * An existing RDS Proxy in front of a DB instance: its pool settings (DescribeDBProxyTargetGroups
 * ConnectionPoolConfig) and DatabaseConnectionsBorrowLatency (microseconds, dimension ProxyName;
 * RDS User Guide "Monitoring RDS Proxy metrics with Amazon CloudWatch").
 */

export async function findProxyFor(
  dbInstanceIdentifier: string,
  now: Date,
): Promise<ProxyObservation | undefined> {
  try {
    let marker: string | undefined;
    do {
      const page = await rdsClient().send(new DescribeDBProxiesCommand({ Marker: marker }));
      for (const proxy of page.DBProxies ?? []) {
        const name = proxy.DBProxyName;
        if (!name) continue;
        const targets = await rdsClient().send(new DescribeDBProxyTargetsCommand({ DBProxyName: name }));
        const serves = (targets.Targets ?? []).some((t) => t.RdsResourceId === dbInstanceIdentifier);
        if (!serves) continue;
        const groups = await rdsClient().send(new DescribeDBProxyTargetGroupsCommand({ DBProxyName: name }));
        const pool =
          groups.TargetGroups?.find((g) => g.IsDefault)?.ConnectionPoolConfig ??
          groups.TargetGroups?.[0]?.ConnectionPoolConfig;
        return {
          name,
          maxConnectionsPercent: pool?.MaxConnectionsPercent ?? null,
          maxIdleConnectionsPercent: pool?.MaxIdleConnectionsPercent ?? null,
          borrowTimeoutSeconds: pool?.ConnectionBorrowTimeout ?? null,
          ...(await borrowLatency(name, now)),
        };
      }
      marker = page.Marker;
    } while (marker);
  } catch (error) {
    logger.warn('RDS Proxy lookup failed', {
      dbInstanceIdentifier,
      error: error instanceof Error ? redact(error.message) : '',
    });
  }
  return undefined;
}

async function borrowLatency(
  proxyName: string,
  now: Date,
): Promise<Pick<ProxyObservation, 'borrowLatencyUs' | 'window'>> {
  const window = lastDayWindow(now);
  try {
    const borrowLatencyUs = await lastDayOfRdsMetric(
      'borrow',
      'DatabaseConnectionsBorrowLatency',
      { Name: 'ProxyName', Value: proxyName },
      'Average',
      now,
    );
    return { borrowLatencyUs, window };
  } catch {
    return { borrowLatencyUs: [], window };
  }
}
