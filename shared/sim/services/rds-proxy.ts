import {
  DBProxyNotFoundFault,
  DBProxyTargetGroupNotFoundFault,
  InvalidDBProxyStateFault,
  RDSServiceException,
} from '@aws-sdk/client-rds';
import { defaultMaxConnections } from '../../aws/instance-classes.ts';
import { MINUTE_MS } from '../clock.ts';
import type { SimAccount } from '../engine.ts';
import { errorMetadata, serviceError } from '../errors.ts';
import { MinuteSeries, registerMetricResolver, seriesSource } from '../metrics.ts';
import { num, rec, str } from '../paging.ts';
import { type Input, registerOperations } from '../registry.ts';
import type { Workload } from '../workload.ts';

/**
 * Simulated RDS Proxy: proxies with one `default` target group in front of an RDS instance, their
 * ConnectionPoolConfig, and the metrics CloudWatch publishes for them (AWS/RDS, dimension
 * ProxyName). Sources: RDS User Guide "rds-proxy.monitoring" (metric names, units: latencies in
 * microseconds), RDS API reference ModifyDBProxyTargetGroup / ConnectionPoolConfiguration
 * (MaxConnectionsPercent 1-100, MaxIdleConnectionsPercent 0..MaxConnectionsPercent,
 * ConnectionBorrowTimeout 0-3600, SessionPinningFilters only EXCLUDE_VARIABLE_SETS).
 *
 * Pool model per minute: the application wants `demand` concurrent database connections; the
 * proxy may open MaxConnectionsPercent of max_connections (MaxDatabaseConnectionsAllowed). Borrowed
 * = min(demand, allowed); above that, clients queue and DatabaseConnectionsBorrowLatency grows with
 * the excess. The proxy keeps open what it recently needed, up to MaxIdleConnectionsPercent idle.
 * A pool change applies from the next minute (no interruption, as AWS documents).
 */

export interface PoolSettings {
  MaxConnectionsPercent: number;
  MaxIdleConnectionsPercent: number;
  ConnectionBorrowTimeout: number;
  SessionPinningFilters: string[];
}

export interface ProxySpec {
  name: string;
  engineFamily: 'POSTGRESQL' | 'MYSQL';
  /** The RDS instance in the default target group. */
  targetInstanceId: string;
  /** Overrides the class default max_connections of the target. */
  maxConnections?: number;
  /** The proxy's tags (ListTagsForResource on its ARN). */
  tags?: Record<string, string>;
  pool?: Partial<PoolSettings>;
  workload: {
    /** Concurrent database connections the application's sessions want. */
    demand: Workload;
    /** Client connections open to the proxy. */
    clients: Workload;
    /** Share of borrowed connections pinned to a session. */
    pinnedFraction?: number;
  };
}

interface Proxy {
  spec: ProxySpec;
  arn: string;
  tags: Map<string, string>;
  timeline: Array<{ from: number; pool: PoolSettings }>;
  series: MinuteSeries;
}

const DEFAULT_POOL: PoolSettings = {
  MaxConnectionsPercent: 100,
  MaxIdleConnectionsPercent: 50,
  ConnectionBorrowTimeout: 120,
  SessionPinningFilters: [],
};

const proxiesBySim = new WeakMap<SimAccount, Map<string, Proxy>>();

function proxies(sim: SimAccount): Map<string, Proxy> {
  let map = proxiesBySim.get(sim);
  if (!map) {
    map = new Map();
    proxiesBySim.set(sim, map);
  }
  return map;
}

function maxConnectionsOf(sim: SimAccount, proxy: Proxy): number {
  if (proxy.spec.maxConnections !== undefined) return proxy.spec.maxConnections;
  const inst = sim.rds.get(proxy.spec.targetInstanceId);
  return (inst && defaultMaxConnections(inst.instanceClass, inst.engine)) ?? 100;
}

function poolAt(proxy: Proxy, t: number): PoolSettings {
  let pool = proxy.timeline[0]?.pool ?? DEFAULT_POOL;
  for (const entry of proxy.timeline) if (entry.from <= t) pool = entry.pool;
  return pool;
}

function step(sim: SimAccount, proxy: Proxy) {
  return (minute: number, out: { put(m: string, v: number | undefined): void }) => {
    const t = minute * MINUTE_MS;
    const pool = poolAt(proxy, t);
    const max = maxConnectionsOf(sim, proxy);
    const allowed = Math.floor((max * pool.MaxConnectionsPercent) / 100);
    const demand = Math.max(0, proxy.spec.workload.demand(t));
    const borrowed = Math.min(demand, allowed);
    // Connections kept open: the most wanted over the last 30 minutes, with at most
    // MaxIdleConnectionsPercent of max_connections idle beyond what is borrowed.
    let recent = demand;
    for (let k = 1; k <= 30; k += 5) recent = Math.max(recent, proxy.spec.workload.demand(t - k * MINUTE_MS));
    const idleCap = Math.floor((max * pool.MaxIdleConnectionsPercent) / 100);
    const open = Math.min(allowed, borrowed + Math.min(idleCap, Math.max(0, recent - borrowed)));
    const excess = allowed > 0 ? Math.max(0, demand - allowed) / allowed : 1;
    out.put('DatabaseConnectionsCurrentlyBorrowed', Math.round(borrowed));
    out.put('DatabaseConnections', Math.round(open));
    out.put('MaxDatabaseConnectionsAllowed', allowed);
    out.put('DatabaseConnectionsBorrowLatency', 400 + Math.min(1, excess) * 2_000_000);
    out.put(
      'DatabaseConnectionsCurrentlySessionPinned',
      Math.round(borrowed * (proxy.spec.workload.pinnedFraction ?? 0)),
    );
    out.put('ClientConnections', Math.round(proxy.spec.workload.clients(t)));
    out.put('QueryDatabaseResponseLatency', 1500 + excess * 500);
  };
}

/** Adds a proxy to the simulated account (scenarios and tests). */
export function addProxy(sim: SimAccount, spec: ProxySpec): void {
  const proxy: Proxy = {
    spec,
    arn: sim.arn('rds', `db-proxy:prx-${spec.name}`),
    tags: new Map(Object.entries(spec.tags ?? {})),
    timeline: [{ from: 0, pool: { ...DEFAULT_POOL, ...spec.pool } }],
    series: undefined as unknown as MinuteSeries,
  };
  proxy.series = new MinuteSeries(Math.floor(sim.historyStartMs / MINUTE_MS), step(sim, proxy));
  proxies(sim).set(spec.name, proxy);
}

/** The proxy with this ARN, for the RDS tagging calls (ListTagsForResource and the like). */
export function proxyByArn(
  sim: SimAccount,
  arn: string | undefined,
): { tags: Map<string, string> } | undefined {
  for (const p of proxies(sim).values()) if (p.arn === arn) return p;
  return undefined;
}

/** The pool in effect now (tests). */
export function proxyPool(sim: SimAccount, name: string): PoolSettings | undefined {
  const p = proxies(sim).get(name);
  return p ? poolAt(p, sim.nowMs()) : undefined;
}

function find(sim: SimAccount, input: Input): Proxy {
  const name = str(input.DBProxyName) ?? '';
  const proxy = proxies(sim).get(name);
  if (!proxy)
    throw new DBProxyNotFoundFault({ message: `DBProxy ${name} not found.`, $metadata: errorMetadata(404) });
  return proxy;
}

function describeProxy(sim: SimAccount, p: Proxy): Record<string, unknown> {
  return {
    DBProxyName: p.spec.name,
    DBProxyArn: p.arn,
    Status: 'available',
    EngineFamily: p.spec.engineFamily,
    Endpoint: `${p.spec.name}.proxy-abc123.${sim.region}.rds.amazonaws.com`,
    RequireTLS: true,
  };
}

function describeGroup(sim: SimAccount, p: Proxy): Record<string, unknown> {
  const pool = poolAt(p, sim.nowMs());
  return {
    DBProxyName: p.spec.name,
    TargetGroupName: 'default',
    TargetGroupArn: `${p.arn}:target-group:default`,
    IsDefault: true,
    Status: 'available',
    ConnectionPoolConfig: { ...pool, SessionPinningFilters: [...pool.SessionPinningFilters] },
  };
}

function validPool(current: PoolSettings, input: Record<string, unknown>): PoolSettings {
  const next: PoolSettings = {
    MaxConnectionsPercent: num(input.MaxConnectionsPercent) ?? current.MaxConnectionsPercent,
    MaxIdleConnectionsPercent: num(input.MaxIdleConnectionsPercent) ?? current.MaxIdleConnectionsPercent,
    ConnectionBorrowTimeout: num(input.ConnectionBorrowTimeout) ?? current.ConnectionBorrowTimeout,
    SessionPinningFilters: Array.isArray(input.SessionPinningFilters)
      ? input.SessionPinningFilters.map(String)
      : current.SessionPinningFilters,
  };
  const bad = (message: string) => serviceError(RDSServiceException, 'InvalidParameterValue', message);
  // RDS API reference, ConnectionPoolConfiguration.
  if (
    !Number.isInteger(next.MaxConnectionsPercent) ||
    next.MaxConnectionsPercent < 1 ||
    next.MaxConnectionsPercent > 100
  )
    throw bad('MaxConnectionsPercent must be between 1 and 100.');
  if (next.MaxIdleConnectionsPercent < 0 || next.MaxIdleConnectionsPercent > next.MaxConnectionsPercent)
    throw bad('MaxIdleConnectionsPercent must be between 0 and MaxConnectionsPercent.');
  if (next.ConnectionBorrowTimeout < 0 || next.ConnectionBorrowTimeout > 3600)
    throw bad('ConnectionBorrowTimeout must be between 0 and 3600.');
  if (next.SessionPinningFilters.some((f) => f !== 'EXCLUDE_VARIABLE_SETS'))
    throw bad('The only supported session pinning filter is EXCLUDE_VARIABLE_SETS.');
  return next;
}

registerOperations('rds', {
  DescribeDBProxies: (sim, input) => {
    const name = str(input.DBProxyName);
    const list = name ? [find(sim, input)] : [...proxies(sim).values()];
    return { DBProxies: list.map((p) => describeProxy(sim, p)) };
  },
  DescribeDBProxyTargetGroups: (sim, input) => {
    const p = find(sim, input);
    const group = str(input.TargetGroupName);
    if (group !== undefined && group !== 'default')
      throw new DBProxyTargetGroupNotFoundFault({
        message: `Target group ${group} not found.`,
        $metadata: errorMetadata(404),
      });
    return { TargetGroups: [describeGroup(sim, p)] };
  },
  DescribeDBProxyTargets: (sim, input) => {
    const p = find(sim, input);
    return {
      Targets: [
        {
          RdsResourceId: p.spec.targetInstanceId,
          Type: 'RDS_INSTANCE',
          Role: 'READ_WRITE',
          TargetHealth: { State: 'AVAILABLE' },
        },
      ],
    };
  },
  ModifyDBProxyTargetGroup: (sim, input) => {
    const p = find(sim, input);
    if (str(input.TargetGroupName) !== 'default')
      throw new DBProxyTargetGroupNotFoundFault({
        message: 'Target group not found.',
        $metadata: errorMetadata(404),
      });
    if (str(input.NewName) !== undefined)
      throw new InvalidDBProxyStateFault({
        message: 'Renaming the default target group is not supported.',
        $metadata: errorMetadata(),
      });
    const next = validPool(poolAt(p, sim.nowMs()), rec(input.ConnectionPoolConfig));
    const from = (Math.floor(sim.nowMs() / MINUTE_MS) + 1) * MINUTE_MS;
    p.timeline.push({ from, pool: next });
    return { DBProxyTargetGroup: { ...describeGroup(sim, p), ConnectionPoolConfig: next } };
  },
});

registerMetricResolver('AWS/RDS', (sim, metric, dims) => {
  const name = dims.ProxyName;
  if (name === undefined || Object.keys(dims).length !== 1) return undefined;
  const proxy = proxies(sim).get(name);
  return proxy ? seriesSource(sim, proxy.series, metric) : undefined;
});
