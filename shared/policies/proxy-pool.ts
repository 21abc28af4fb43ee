import type { ProxySection } from '../config/sections/proxy.ts';
import type { Action, Evidence, Plan, ResourceRef } from '../core/model.ts';
import { HOURS_PER_MONTH, type PriceTable, price } from '../pricing.ts';

/**
 * How an RDS Proxy target group's connection pool is decided, in named pure steps:
 *
 *   databaseLimit -> poolCeiling -> recommendMaxConnections -> recommendIdle -> recommendBorrowTimeout
 *     -> pinningFinding -> proxyCostFinding -> planProxyPool
 *
 * Inputs are what AWS publishes: the proxy's CloudWatch metrics (AWS/RDS, dimension ProxyName:
 * ClientConnections, DatabaseConnections, DatabaseConnectionsBorrowLatency (microseconds),
 * DatabaseConnectionsCurrentlyBorrowed, DatabaseConnectionsCurrentlySessionPinned,
 * MaxDatabaseConnectionsAllowed, QueryDatabaseResponseLatency (microseconds)), the database's own
 * DatabaseConnections, and DescribeDBProxyTargetGroups' ConnectionPoolConfig.
 *
 * AWS rules (RDS API reference, ConnectionPoolConfiguration; RDS User Guide "rds-proxy-connections"):
 * - MaxConnectionsPercent 1-100 (default 100), a percentage of the database's max_connections;
 * - MaxIdleConnectionsPercent 0..MaxConnectionsPercent (default 50);
 * - ConnectionBorrowTimeout 0-3600 s (default 120);
 * - SessionPinningFilters: only EXCLUDE_VARIABLE_SETS.
 * Pricing: $0.015 per vCPU-hour of the target instances, minimum 2 vCPUs (us-east-1 list price;
 * key `rdsProxy.vcpuHour`).
 */

export interface PoolConfig {
  maxConnectionsPercent: number;
  maxIdleConnectionsPercent: number;
  connectionBorrowTimeoutSeconds: number;
  sessionPinningFilters: string[];
}

/** A series over the window, oldest first; null = no datapoint (unknown). */
export type Series = Array<number | null>;

export interface ProxyObservation {
  proxyName: string;
  targetGroupName: string;
  engineFamily: 'POSTGRESQL' | 'MYSQL' | 'SQLSERVER';
  /** The database behind the default target group (instance or cluster id). */
  databaseId: string;
  /** vCPUs of the target instances (what the proxy is billed on). */
  targetVcpus: number;
  observedAt: string;
  window: { start: string; end: string; periodSeconds: number };
  pool: PoolConfig;
  metrics: {
    clientConnections: Series;
    /** Connections the proxy holds open to the database (borrowed + idle). */
    proxyDatabaseConnections: Series;
    borrowed: Series;
    pinned: Series;
    /** Microseconds, as CloudWatch publishes it. */
    borrowLatencyMicros: Series;
    maxAllowed: Series;
    queryResponseLatencyMicros: Series;
    /** The database's own DatabaseConnections (the proxy's plus everyone else's). */
    databaseConnections: Series;
  };
}

export type ProxySettings = Omit<
  ProxySection,
  'enabled' | 'mode' | 'resources' | 'cooldownMinutes' | 'maxChangesPerRun'
>;

export const POOL_LIMITS = {
  maxConnectionsPercent: { min: 1, max: 100 },
  borrowTimeoutSeconds: { min: 0, max: 3600 },
} as const;

const known = (s: Series): number[] => s.filter((v): v is number => v !== null && Number.isFinite(v));
const maxOf = (s: Series): number | null => {
  const k = known(s);
  return k.length > 0 ? Math.max(...k) : null;
};
const meanOf = (s: Series): number | null => {
  const k = known(s);
  return k.length > 0 ? k.reduce((a, b) => a + b, 0) / k.length : null;
};
export function percentile(s: Series, p: number): number | null {
  const k = known(s).sort((a, b) => a - b);
  if (k.length === 0) return null;
  const idx = Math.min(k.length - 1, Math.max(0, Math.ceil((p / 100) * k.length) - 1));
  return k[idx] ?? null;
}
const last = (s: Series): number | null => {
  for (let i = s.length - 1; i >= 0; i--) {
    const v = s[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
};
const round1 = (n: number) => Math.round(n * 10) / 10;

export interface DatabaseLimit {
  /** The database's max_connections, derived from MaxDatabaseConnectionsAllowed / MaxConnectionsPercent. */
  maxConnections: number;
  /** Peak connections that do not come through this proxy (direct clients, admins, replication). */
  directPeak: number;
  /** Peak connections the proxy borrowed (in use by client sessions). */
  borrowedPeak: number;
  /** Connections the proxy may open now. */
  allowed: number;
}

/** Step 1: the database's connection limit and who uses it. Undefined when the proxy publishes no limit yet. */
export function databaseLimit(obs: ProxyObservation): DatabaseLimit | undefined {
  const allowed = last(obs.metrics.maxAllowed);
  if (allowed === null || allowed <= 0 || obs.pool.maxConnectionsPercent <= 0) return undefined;
  const maxConnections = Math.round(allowed / (obs.pool.maxConnectionsPercent / 100));
  const proxyPeak = maxOf(obs.metrics.proxyDatabaseConnections) ?? 0;
  const dbPeak = maxOf(obs.metrics.databaseConnections) ?? proxyPeak;
  return {
    maxConnections,
    directPeak: Math.max(0, dbPeak - proxyPeak),
    borrowedPeak: maxOf(obs.metrics.borrowed) ?? 0,
    allowed,
  };
}

/**
 * Step 2: the highest MaxConnectionsPercent the database can give this proxy: max_connections less
 * the direct clients' peak and the reserve, within the configured floor and ceiling.
 */
export function poolCeiling(limit: DatabaseLimit, settings: ProxySettings): number {
  const reserve = Math.ceil(limit.maxConnections * settings.reservedFraction);
  const free = limit.maxConnections - limit.directPeak - reserve;
  const percent = Math.floor((100 * free) / limit.maxConnections);
  return Math.max(
    POOL_LIMITS.maxConnectionsPercent.min,
    Math.min(settings.maxConnectionsPercentCeiling, POOL_LIMITS.maxConnectionsPercent.max, percent),
  );
}

export interface PoolRecommendation {
  maxConnectionsPercent: number;
  why: string;
  /** The pool is full and the database has no room left: a person must act. */
  exhausted?: boolean;
}

/**
 * Step 3: MaxConnectionsPercent. Raise when clients wait for a connection (borrow latency high) and
 * the pool is near what it may open; lower to the ceiling when it could crowd out direct clients.
 */
export function recommendMaxConnections(
  obs: ProxyObservation,
  limit: DatabaseLimit,
  ceiling: number,
  settings: ProxySettings,
): PoolRecommendation {
  const current = obs.pool.maxConnectionsPercent;
  const latencyMs = (percentile(obs.metrics.borrowLatencyMicros, 95) ?? 0) / 1000;
  const full = limit.borrowedPeak >= settings.poolFullFraction * limit.allowed;
  if (current > ceiling) {
    return {
      maxConnectionsPercent: ceiling,
      why: `MaxConnectionsPercent ${current}% would let the pool take connections the database needs for its ${limit.directPeak} direct connections and its ${Math.round(settings.reservedFraction * 100)}% reserve (max_connections ${limit.maxConnections}): lower to ${ceiling}%`,
    };
  }
  if (latencyMs > settings.borrowLatencyHighMs && full) {
    const wanted = Math.ceil((100 * limit.borrowedPeak * 1.5) / limit.maxConnections);
    const next = Math.min(ceiling, Math.max(current + 5, wanted));
    if (next <= current) {
      return {
        maxConnectionsPercent: current,
        exhausted: true,
        why: `clients wait ${round1(latencyMs)} ms (p95) for a pooled connection and the pool is full (${limit.borrowedPeak} of ${limit.allowed} borrowed), but the database has no headroom above ${ceiling}% of max_connections ${limit.maxConnections}: raise max_connections (a larger instance class) or reduce direct connections`,
      };
    }
    return {
      maxConnectionsPercent: next,
      why: `clients wait ${round1(latencyMs)} ms (p95, > ${settings.borrowLatencyHighMs} ms) for a pooled connection and ${limit.borrowedPeak} of ${limit.allowed} allowed are borrowed: raise MaxConnectionsPercent ${current}% -> ${next}% (${Math.round((next / 100) * limit.maxConnections)} connections; ceiling ${ceiling}% leaves room for ${limit.directPeak} direct connections and the reserve)`,
    };
  }
  return {
    maxConnectionsPercent: current,
    why: `borrow latency ${round1(latencyMs)} ms (p95), ${limit.borrowedPeak} of ${limit.allowed} allowed connections borrowed at peak: the pool is large enough`,
  };
}

export interface IdleRecommendation {
  maxIdleConnectionsPercent: number;
  why: string;
  /** Idle server connections closed, and the memory they held. */
  connectionsFreed: number;
  memoryFreedMb: number;
}

/**
 * Step 4: MaxIdleConnectionsPercent. Idle server connections hold memory on the database: keep a
 * warm pool of `idleHeadroomFactor` x the peak borrowed, never above MaxConnectionsPercent.
 */
export function recommendIdle(
  obs: ProxyObservation,
  limit: DatabaseLimit,
  maxConnectionsPercent: number,
  settings: ProxySettings,
): IdleRecommendation {
  const current = obs.pool.maxIdleConnectionsPercent;
  const idleHeld = Math.max(
    0,
    (meanOf(obs.metrics.proxyDatabaseConnections) ?? 0) - (meanOf(obs.metrics.borrowed) ?? 0),
  );
  const keep = Math.max(1, Math.ceil(limit.borrowedPeak * settings.idleHeadroomFactor));
  const target = Math.min(maxConnectionsPercent, Math.ceil((100 * keep) / limit.maxConnections));
  const wasteful = current - target >= settings.minIdleChangePoints && idleHeld > keep;
  const next = Math.min(maxConnectionsPercent, wasteful ? target : current);
  if (next === current) {
    return {
      maxIdleConnectionsPercent: current,
      connectionsFreed: 0,
      memoryFreedMb: 0,
      why: `about ${Math.round(idleHeld)} idle server connections held for a peak of ${limit.borrowedPeak} borrowed: MaxIdleConnectionsPercent ${current}% is fine`,
    };
  }
  const freed = Math.max(0, Math.round(idleHeld - (next / 100) * limit.maxConnections));
  const memory = Math.round(freed * settings.memoryPerConnectionMb);
  return {
    maxIdleConnectionsPercent: next,
    connectionsFreed: freed,
    memoryFreedMb: memory,
    why: wasteful
      ? `about ${Math.round(idleHeld)} idle server connections held for a peak of ${limit.borrowedPeak} borrowed: lower MaxIdleConnectionsPercent ${current}% -> ${next}% (keeps ${keep} warm), freeing about ${freed} connections (~${memory} MB of database memory)`
      : `MaxIdleConnectionsPercent ${current}% may not exceed MaxConnectionsPercent ${maxConnectionsPercent}% (AWS rule): set ${next}%`,
  };
}

/** Step 5: ConnectionBorrowTimeout: never shorter than 5x the worst borrow wait seen (clients would fail). */
export function recommendBorrowTimeout(obs: ProxyObservation): { seconds: number; why?: string } {
  const current = obs.pool.connectionBorrowTimeoutSeconds;
  const worstSeconds = (maxOf(obs.metrics.borrowLatencyMicros) ?? 0) / 1_000_000;
  const floor = Math.ceil(worstSeconds * 5);
  if (current === 0 || current >= floor) return { seconds: current };
  const next = Math.min(POOL_LIMITS.borrowTimeoutSeconds.max, floor);
  return {
    seconds: next,
    why: `ConnectionBorrowTimeout ${current} s is close to the worst borrow wait seen (${round1(worstSeconds)} s): raise to ${next} s so clients do not fail`,
  };
}

/** Likely causes of session pinning and what to do, per engine family (RDS User Guide, "rds-proxy-pinning"). */
export const PINNING_CAUSES: Record<ProxyObservation['engineFamily'], { causes: string; fix: string }> = {
  POSTGRESQL: {
    causes:
      'SET / set_config() of session settings, PREPARE / DEALLOCATE of named prepared statements (some drivers prepare every statement), temporary tables, sequences or views, DECLARE ... WITH HOLD cursors, LISTEN, session advisory locks (pg_advisory_lock), statements over 16 KB',
    fix: 'move session settings into the target group InitQuery or SessionPinningFilters ["EXCLUDE_VARIABLE_SETS"] (only if every client sets the same values); disable driver-side named prepared statements (e.g. pgbouncer-style prepareThreshold=0 in pgjdbc); avoid temporary tables and session advisory locks on proxied connections',
  },
  MYSQL: {
    causes:
      'SET of session or user variables, temporary tables, LOCK TABLES, GET_LOCK(), prepared statements (PREPARE / server-side), SQL_CALC_FOUND_ROWS, statements over 16 KB',
    fix: 'SessionPinningFilters ["EXCLUDE_VARIABLE_SETS"] when every client sets the same session variables (or move them into InitQuery); use client-side prepared statements; avoid temporary tables and LOCK TABLES on proxied connections',
  },
  SQLSERVER: {
    causes: 'SET statements, temporary tables, cursors, MARS, session-level context',
    fix: 'move session settings into InitQuery; avoid temporary tables and cursors on proxied connections',
  },
};

/** Step 6: a finding when a large share of borrowed connections is pinned to one client session. */
export function pinningFinding(obs: ProxyObservation, settings: ProxySettings): string | undefined {
  const pinned = meanOf(obs.metrics.pinned) ?? 0;
  const borrowed = meanOf(obs.metrics.borrowed) ?? 0;
  if (pinned < 1 || borrowed <= 0) return undefined;
  const fraction = pinned / borrowed;
  if (fraction < settings.pinnedFractionHigh) return undefined;
  const info = PINNING_CAUSES[obs.engineFamily];
  return `${Math.round(fraction * 100)}% of borrowed connections (${round1(pinned)} of ${round1(borrowed)} on average) are pinned to a client session, so the pool cannot multiplex them. Likely causes: ${info.causes}. Fix: ${info.fix}.`;
}

/** Step 7: what the proxy costs a month (billed per vCPU-hour of the targets, minimum 2). */
export function proxyMonthlyCost(obs: ProxyObservation, prices: PriceTable): number {
  return Math.max(2, obs.targetVcpus) * price(prices, 'rdsProxy.vcpuHour') * HOURS_PER_MONTH;
}

/** Step 8: the plan: at most one `set-pool` (all pool fields in one ModifyDBProxyTargetGroup), and findings. */
export function planProxyPool(obs: ProxyObservation, settings: ProxySettings, prices: PriceTable): Plan {
  const ref: ResourceRef = { kind: 'rds-proxy', id: obs.proxyName };
  const evidence = proxyEvidence(obs);
  const base = { tuner: 'proxy' as const, resource: ref, evidence, undo: null, monthlyCostDelta: 0 };
  const actions: Action[] = [];
  const cost = proxyMonthlyCost(obs, prices);
  const limit = databaseLimit(obs);
  if (!limit) {
    return {
      tuner: 'proxy',
      resource: ref,
      observedAt: obs.observedAt,
      actions: [],
      noopReason: `no MaxDatabaseConnectionsAllowed datapoint in the window yet: the proxy's limit is unknown, nothing changed (proxy costs about $${cost.toFixed(2)} a month)`,
      noopEvidence: evidence,
    };
  }
  const ceiling = poolCeiling(limit, settings);
  const max = recommendMaxConnections(obs, limit, ceiling, settings);
  const idle = recommendIdle(obs, limit, max.maxConnectionsPercent, settings);
  const timeout = recommendBorrowTimeout(obs);
  const next: PoolConfig = {
    ...obs.pool,
    maxConnectionsPercent: max.maxConnectionsPercent,
    maxIdleConnectionsPercent: idle.maxIdleConnectionsPercent,
    connectionBorrowTimeoutSeconds: timeout.seconds,
  };
  const changed =
    next.maxConnectionsPercent !== obs.pool.maxConnectionsPercent ||
    next.maxIdleConnectionsPercent !== obs.pool.maxIdleConnectionsPercent ||
    next.connectionBorrowTimeoutSeconds !== obs.pool.connectionBorrowTimeoutSeconds;
  if (changed) {
    const reasons = [max.why, idle.why, timeout.why].filter((w): w is string => w !== undefined);
    actions.push({
      ...base,
      kind: 'set-pool',
      from: obs.pool,
      to: next,
      reason: `${reasons.join('; ')}. Proxy ${obs.proxyName} costs about $${cost.toFixed(2)} a month.`,
      undo: {
        kind: 'set-pool',
        params: { proxyName: obs.proxyName, targetGroupName: obs.targetGroupName, pool: obs.pool },
      },
      mutating: true,
      numericTarget: next.maxConnectionsPercent,
      params: { proxyName: obs.proxyName, targetGroupName: obs.targetGroupName, pool: next },
    });
  }
  if (max.exhausted)
    actions.push({
      ...base,
      kind: 'finding',
      from: obs.pool,
      to: null,
      reason: max.why,
      mutating: false,
      severity: 'warning',
    });
  const pinning = pinningFinding(obs, settings);
  if (pinning)
    actions.push({
      ...base,
      kind: 'finding',
      from: null,
      to: { sessionPinningFilters: ['EXCLUDE_VARIABLE_SETS'] },
      reason: pinning,
      mutating: false,
      severity: 'warning',
    });
  return {
    tuner: 'proxy',
    resource: ref,
    observedAt: obs.observedAt,
    actions,
    noopReason: `${max.why}; ${idle.why}. Proxy ${obs.proxyName} costs about $${cost.toFixed(2)} a month.`,
    noopEvidence: evidence,
  };
}

function proxyEvidence(obs: ProxyObservation): Evidence[] {
  const dims = { ProxyName: obs.proxyName };
  const ev = (
    metric: string,
    statistic: string,
    value: number | null,
    unit: string,
    series: Series,
  ): Evidence => ({
    metric,
    statistic,
    value: value === null ? null : round1(value),
    unit,
    window: obs.window,
    namespace: 'AWS/RDS',
    dimensions: dims,
    series,
  });
  const m = obs.metrics;
  return [
    ev(
      'DatabaseConnectionsBorrowLatency',
      'p95',
      percentile(m.borrowLatencyMicros, 95),
      'Microseconds',
      m.borrowLatencyMicros,
    ),
    ev('DatabaseConnectionsCurrentlyBorrowed', 'Maximum', maxOf(m.borrowed), 'Count', m.borrowed),
    ev(
      'DatabaseConnections',
      'Maximum',
      maxOf(m.proxyDatabaseConnections),
      'Count',
      m.proxyDatabaseConnections,
    ),
    ev('MaxDatabaseConnectionsAllowed', 'Last', last(m.maxAllowed), 'Count', m.maxAllowed),
    ev('DatabaseConnectionsCurrentlySessionPinned', 'Average', meanOf(m.pinned), 'Count', m.pinned),
    ev('ClientConnections', 'Maximum', maxOf(m.clientConnections), 'Count', m.clientConnections),
  ];
}
