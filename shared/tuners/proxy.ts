/**
 * The RDS Proxy pool tuner: discover the configured proxies (DescribeDBProxies, their default
 * target group and target) -> observe (CloudWatch: the proxy's metrics and the database's own
 * DatabaseConnections) -> pool policy -> executePlan (shared guards) -> summary.
 *
 * How the pool is decided: shared/policies/proxy-pool.ts. How a change is applied:
 * shared/adapters/rds-proxy.ts.
 */
import {
  type DBProxy,
  DBProxyNotFoundFault,
  type DBProxyTarget,
  DescribeDBInstancesCommand,
  DescribeDBProxiesCommand,
  DescribeDBProxyTargetGroupsCommand,
  DescribeDBProxyTargetsCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-rds';
import { createProxyAdapter } from '../adapters/rds-proxy.ts';
import { rdsClient } from '../aws/clients.ts';
import { instanceClass } from '../aws/instance-classes.ts';
import { getConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { Target, TunerRunRequest, TunerRunSummary } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import { executePlan } from '../core/executor.ts';
import type { Decision, ResourceRef } from '../core/model.ts';
import { finishRun, outOfTime, recordObservationFailure } from '../core/run.ts';
import { resolveSettings, resolveTarget } from '../core/settings.ts';
import { tagListToMap } from '../discovery/select.ts';
import { getMetrics, type MetricsResult, type SeriesRequest } from '../metrics/index.ts';
import { type ProxyObservation, type ProxySettings, planProxyPool } from '../policies/proxy-pool.ts';
import { pricesFor } from '../pricing.ts';
import {
  notEnabledNote,
  openTunerRun,
  REPEAT_FINDING_MS,
  type TunerRunDeps,
  withoutRepeats,
} from './common.ts';

import type { TunerRegistration } from './registry.ts';

const MINUTE = 60_000;

const PROXY_METRICS = [
  ['clientConnections', 'ClientConnections', 'Maximum'],
  ['proxyDatabaseConnections', 'DatabaseConnections', 'Maximum'],
  ['borrowed', 'DatabaseConnectionsCurrentlyBorrowed', 'Maximum'],
  ['pinned', 'DatabaseConnectionsCurrentlySessionPinned', 'Average'],
  ['borrowLatencyMicros', 'DatabaseConnectionsBorrowLatency', 'Average'],
  ['maxAllowed', 'MaxDatabaseConnectionsAllowed', 'Minimum'],
  ['queryResponseLatencyMicros', 'QueryDatabaseResponseLatency', 'Average'],
] as const;

type ProxyMetricKey = (typeof PROXY_METRICS)[number][0];

interface ProxyTarget {
  target: Target;
  proxy: DBProxy;
  instanceId?: string;
}

function seriesFor(p: ProxyTarget): SeriesRequest[] {
  const name = p.proxy.DBProxyName ?? '';
  const own = PROXY_METRICS.map(([key, metricName, statistic]) => ({
    id: `${name}:${key}`,
    kind: 'gauge' as const,
    statistic,
    metric: { namespace: 'AWS/RDS', metricName, dimensions: { ProxyName: name } },
  }));
  if (!p.instanceId) return own;
  return [
    ...own,
    {
      id: `${name}:databaseConnections`,
      kind: 'gauge' as const,
      statistic: 'Maximum',
      metric: {
        namespace: 'AWS/RDS',
        metricName: 'DatabaseConnections',
        dimensions: { DBInstanceIdentifier: p.instanceId },
      },
    },
  ];
}

/**
 * The instance whose connections the pool shares: the READ_WRITE target. A proxy in front of an
 * Aurora cluster lists every cluster instance as an RDS_INSTANCE target (readers READ_ONLY) next
 * to the TRACKED_CLUSTER (RDS API reference, DBProxyTarget: Role READ_WRITE | READ_ONLY |
 * UNKNOWN); the first listed may be a reader, whose class and connections say nothing about the
 * writer's max_connections.
 */
export function writerTarget(targets: DBProxyTarget[]): DBProxyTarget | undefined {
  const instances = targets.filter((t) => t.Type === 'RDS_INSTANCE' && t.Role !== 'READ_ONLY');
  return (
    instances.find((t) => t.Role === 'READ_WRITE') ?? (instances.length === 1 ? instances[0] : undefined)
  );
}

/**
 * Consent facts of a proxy from its own tags (RDS ListTagsForResource on the proxy's ARN): managed
 * when the proxy section names it (or it carries the managed tag), opted out by the opt-out tag
 * (design.md: "an opt-out tag on any resource"). A name given in a manual invocation does not make
 * a proxy managed.
 */
export async function proxyTarget(config: Config, ref: ResourceRef): Promise<Target> {
  const out = ref.arn
    ? await rdsClient().send(new ListTagsForResourceCommand({ ResourceName: ref.arn }))
    : undefined;
  return resolveTarget({ config, tuner: 'proxy', ref, tags: tagListToMap(out?.TagList) });
}

/** The requested proxies (by name), with their consent facts and the instance behind each. */
async function discoverProxies(
  config: Config,
  names: readonly string[],
  notes: string[],
): Promise<ProxyTarget[]> {
  const out: ProxyTarget[] = [];
  const proxies: DBProxy[] = [];
  let Marker: string | undefined;
  do {
    const page = await rdsClient().send(new DescribeDBProxiesCommand({ Marker }));
    proxies.push(...(page.DBProxies ?? []));
    Marker = page.Marker;
  } while (Marker);
  for (const name of names) {
    const proxy = proxies.find((p) => p.DBProxyName === name);
    if (!proxy) {
      notes.push(`${name}: no such RDS Proxy in this account and Region`);
      continue;
    }
    let target: Target;
    try {
      target = await proxyTarget(config, { kind: 'rds-proxy', id: name, arn: proxy.DBProxyArn });
    } catch (error) {
      // Without its tags the opt-out cannot be checked: left alone this run.
      notes.push(`${name}: its tags could not be read (${publicMessage(error)}): left alone`);
      continue;
    }
    const targets = await rdsClient().send(new DescribeDBProxyTargetsCommand({ DBProxyName: name }));
    const instance = writerTarget(targets.Targets ?? []);
    out.push({
      target,
      proxy,
      ...(instance?.RdsResourceId ? { instanceId: instance.RdsResourceId } : {}),
    });
  }
  return out;
}

async function observe(
  p: ProxyTarget,
  metrics: MetricsResult,
  now: Date,
  start: Date,
): Promise<ProxyObservation> {
  const name = p.proxy.DBProxyName ?? '';
  const groups = await rdsClient().send(
    new DescribeDBProxyTargetGroupsCommand({ DBProxyName: name, TargetGroupName: 'default' }),
  );
  const pool = groups.TargetGroups?.[0]?.ConnectionPoolConfig ?? {};
  const described = p.instanceId
    ? await rdsClient().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: p.instanceId }))
    : undefined;
  const cls = described?.DBInstances?.[0]?.DBInstanceClass;
  const values = (key: ProxyMetricKey | 'databaseConnections') =>
    metrics.series.get(`${name}:${key}`)?.values ?? [];
  const family = p.proxy.EngineFamily;
  return {
    proxyName: name,
    targetGroupName: 'default',
    engineFamily: family === 'MYSQL' || family === 'SQLSERVER' ? family : 'POSTGRESQL',
    databaseId: p.instanceId ?? 'unknown',
    targetVcpus: (cls && instanceClass(cls)?.vcpus) || 2,
    observedAt: now.toISOString(),
    window: { start: start.toISOString(), end: now.toISOString(), periodSeconds: 60 },
    pool: {
      // AWS defaults when a field is absent (RDS API reference, ConnectionPoolConfiguration).
      maxConnectionsPercent: pool.MaxConnectionsPercent ?? 100,
      maxIdleConnectionsPercent: pool.MaxIdleConnectionsPercent ?? 50,
      connectionBorrowTimeoutSeconds: pool.ConnectionBorrowTimeout ?? 120,
      sessionPinningFilters: pool.SessionPinningFilters ?? [],
    },
    metrics: {
      clientConnections: values('clientConnections'),
      proxyDatabaseConnections: values('proxyDatabaseConnections'),
      borrowed: values('borrowed'),
      pinned: values('pinned'),
      borrowLatencyMicros: values('borrowLatencyMicros'),
      maxAllowed: values('maxAllowed'),
      queryResponseLatencyMicros: values('queryResponseLatencyMicros'),
      databaseConnections: values('databaseConnections'),
    },
  };
}

export async function runProxy(request: TunerRunRequest, deps: TunerRunDeps = {}): Promise<TunerRunSummary> {
  const { config, store, now, started } = await openTunerRun('proxy', request, deps);
  if (started.run.paused || started.duplicate) return finishRun(started, []);
  const { run } = started;
  const section = config.tuners.proxy;
  if (!section?.enabled) return finishRun(started, [], [notEnabledNote('proxy')]);
  const { enabled: _e, mode: _m, resources, cooldownMinutes: _c, maxChangesPerRun: _x, ...policy } = section;
  const cfg: ProxySettings = policy;
  const settings = resolveSettings(config, 'proxy');
  const adapter = deps.adapter ?? createProxyAdapter({ now: () => run.now });
  const notes: string[] = [];
  if (Object.keys(resources.tags).length > 0)
    notes.push('proxy: proxies are selected by name (resources.identifiers); tags are ignored');
  const wanted = request.resourceIds ?? resources.identifiers;
  const targets = await discoverProxies(config, wanted, notes);
  if (targets.length === 0) return finishRun(started, [], notes);
  const start = new Date(now.getTime() - section.lookbackMinutes * MINUTE);
  const metrics = await getMetrics({
    series: targets.flatMap(seriesFor),
    start,
    end: now,
    periodSeconds: 60,
    now,
  });
  notes.push(...metrics.notes);
  const prices = pricesFor(config);
  const decisions: Decision[] = [];
  for (const p of targets) {
    if (outOfTime(request, p.target.ref.id, notes)) break;
    try {
      const plan = planProxyPool(await observe(p, metrics, now, start), cfg, prices);
      // A finding (session pinning, no headroom) is recorded again only after REPEAT_FINDING_MS.
      const since = new Date(now.getTime() - REPEAT_FINDING_MS).toISOString();
      withoutRepeats(
        plan,
        await store.listDecisions({ since, tuner: 'proxy', resource: p.target.ref.id }),
        now,
      );
      decisions.push(...(await executePlan({ plan, target: p.target, settings, adapter, run, store })));
    } catch (error) {
      decisions.push(await recordObservationFailure(store, run, p.target.ref, settings.mode, error));
    }
  }
  return finishRun(started, decisions, notes);
}

export const registration: TunerRegistration = {
  run: (request) => runProxy(request),
  adapter: (action, target) => createProxyAdapter()(action, target),
  // revert: the proxy's consent facts as a run sees them (its ARN from DescribeDBProxies).
  target: async (ref) => {
    if (ref.kind !== 'rds-proxy') return undefined;
    let arn: string | undefined;
    try {
      const found = await rdsClient().send(new DescribeDBProxiesCommand({ DBProxyName: ref.id }));
      arn = found.DBProxies?.[0]?.DBProxyArn;
    } catch (error) {
      if (error instanceof DBProxyNotFoundFault) return undefined;
      throw error;
    }
    return arn ? proxyTarget(getConfig(), { ...ref, arn }) : undefined;
  },
};
