import { createHash } from 'node:crypto';
import { escapeLiteral } from 'pg';
import type { InsightsConfig } from '../../config/sections/maintenance.ts';
import { pointEvidence } from '../evidence.ts';
import { isSingleStatement } from './sql-text.ts';
import type { Finding, IndexRow, InsightsObservation } from './types.ts';

/**
 * Pure: an insights observation, the config, the recorded XID samples and `now` in; findings out.
 * Thresholds follow PgHero and check_postgres (aws-facts.md, "Peer thresholds") and AWS's
 * wraparound guidance (MaximumUsedTransactionIDs: low severity at 500M, act at 1B).
 */

export type InsightsSettings = Pick<
  InsightsConfig,
  | 'slowQueryMeanMs'
  | 'slowQueryMinCalls'
  | 'unusedIndexMinBytes'
  | 'topN'
  | 'unusedIndexMinStatsAgeDays'
  | 'seqScanMinBytes'
  | 'seqScanMinRatio'
  | 'idleInTransactionSeconds'
  | 'longTransactionSeconds'
  | 'proxyConnectionsRatio'
  | 'proxyChurnPerHour'
  | 'queryTextMaxChars'
>;

export const defaultInsightsSettings: InsightsSettings = {
  slowQueryMeanMs: 20,
  slowQueryMinCalls: 100,
  unusedIndexMinBytes: 10 * 1024 * 1024,
  topN: 10,
  unusedIndexMinStatsAgeDays: 7,
  seqScanMinBytes: 100 * 1024 * 1024,
  seqScanMinRatio: 0.5,
  idleInTransactionSeconds: 60,
  longTransactionSeconds: 300,
  proxyConnectionsRatio: 0.7,
  proxyChurnPerHour: 2,
  queryTextMaxChars: 300,
};

export interface XidSample {
  at: string;
  xid: number;
}

/** 2^31: XID wraparound. Under 3M XIDs left the server refuses new ones (aws-facts.md). */
export const XID_LIMIT = 2 ** 31;
export const XID_STOP_MARGIN = 3_000_000;
const AWS_LOW_SEVERITY_AGE = 500_000_000;
const AWS_ACT_AGE = 1_000_000_000;

const mb = (b: number) => `${(b / (1024 * 1024)).toFixed(1)} MB`;

function bucket(v: number): number {
  // Order of magnitude in halves: a finding "changes" when its number moves by ~3x, not on noise.
  return v <= 0 ? 0 : Math.round(Math.log10(v) * 2);
}

export function fingerprint(f: Pick<Finding, 'kind' | 'resource' | 'key'>): string {
  return createHash('sha256').update(`${f.kind}\u0000${f.resource}\u0000${f.key}`).digest('hex').slice(0, 16);
}

function slowQueries(o: InsightsObservation, s: InsightsSettings, at: string): Finding[] {
  const db = o.database;
  if (!o.statements.available) {
    return [
      {
        kind: 'extension-missing',
        resource: db,
        key: 'pg_stat_statements',
        action: 'recommend',
        severity: 'info',
        title: 'pg_stat_statements is not available: slow queries cannot be listed',
        detail: `${o.statements.reason}. On RDS, pg_stat_statements is in shared_preload_libraries of the default parameter group; if a custom DB parameter group removed it, add it back (static parameter: reboot), then run the statement below in each database as the master user.`,
        evidence: [],
        fix: 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;',
        signature: 'missing',
      },
    ];
  }
  const seen = new Set<string>();
  const out: Finding[] = [];
  const candidates = [...o.statements.byMean, ...o.statements.rows];
  for (const q of candidates) {
    if (seen.has(q.queryid)) continue;
    seen.add(q.queryid);
    // PgHero: slow = mean >= 20 ms over >= 100 calls.
    if (q.meanExecMs < s.slowQueryMeanMs || q.calls < s.slowQueryMinCalls) continue;
    const totalRank = o.statements.rows.findIndex((r) => r.queryid === q.queryid);
    const severity = q.meanExecMs >= 10 * s.slowQueryMeanMs ? 'warning' : 'info';
    out.push({
      kind: 'slow-query',
      resource: `${db}:query:${q.queryid}`,
      key: q.queryid,
      action: 'finding',
      severity,
      title: `slow query: ${q.meanExecMs.toFixed(1)} ms on average over ${q.calls} calls`,
      detail: `${q.query}${totalRank >= 0 ? ` (#${totalRank + 1} by total time: ${(q.totalExecMs / 1000).toFixed(1)} s)` : ''}`,
      evidence: [
        pointEvidence('mean_exec_time', q.meanExecMs, at, 'Milliseconds', s.slowQueryMeanMs),
        pointEvidence('total_exec_time', q.totalExecMs, at, 'Milliseconds'),
        pointEvidence('calls', q.calls, at, 'Count', s.slowQueryMinCalls),
        pointEvidence('rows', q.rows, at, 'Count'),
        pointEvidence('shared_blks_read', q.sharedBlksRead, at, 'Count'),
        ...(q.totalPlanMs === null
          ? []
          : [pointEvidence('total_plan_time', q.totalPlanMs, at, 'Milliseconds')]),
      ],
      // Only a whole single statement is wrapped (never a truncated text or several statements).
      fix:
        o.serverVersionNum >= 160000 && isSingleStatement(q.query) && !q.query.endsWith('…')
          ? `EXPLAIN (GENERIC_PLAN) ${q.query}`
          : 'EXPLAIN (ANALYZE, BUFFERS) the query with representative parameters',
      signature: `${severity}:${bucket(q.meanExecMs)}`,
    });
  }
  return out;
}

function isPrefix(a: number[], b: number[]): boolean {
  return a.length <= b.length && a.every((v, i) => v === b[i]);
}

/** Columns (and operator classes) of `a` a prefix of `b`'s, same method, predicate and expressions. */
export function duplicateOf(a: IndexRow, all: IndexRow[]): IndexRow | undefined {
  if (!a.valid || a.columns.includes(0) || a.unique || a.backsConstraint) return undefined;
  return all.find(
    (b) =>
      b.indexOid !== a.indexOid &&
      b.valid &&
      b.table === a.table &&
      b.method === a.method &&
      b.predicate === a.predicate &&
      b.expressions === a.expressions &&
      isPrefix(a.columns, b.columns) &&
      isPrefix(a.opclasses, b.opclasses) &&
      // Two identical non-unique indexes: report only the one with the larger oid (the newer).
      (a.columns.length < b.columns.length || b.unique || b.indexOid < a.indexOid),
  );
}

/**
 * An invalid partitioned index (relkind I) is the normal state between `CREATE INDEX ... ON ONLY`
 * and the last `ALTER INDEX ... ATTACH PARTITION` (PostgreSQL docs, "Partition Maintenance"): it
 * is not a failed build, DROP INDEX CONCURRENTLY refuses a partitioned index, and REINDEX does not
 * make it valid. The fix is to index the partitions that lack it and attach those indexes.
 */
function invalidPartitionedIndex(db: string, ix: IndexRow, at: string): Finding {
  return {
    kind: 'invalid-index',
    resource: `${db}:${ix.index}`,
    key: ix.index,
    action: 'recommend',
    severity: 'warning',
    title: `partitioned index ${ix.index} on ${ix.table} is invalid: not every partition has its index attached`,
    detail: `Queries on ${ix.table} cannot rely on it (a unique one does not enforce uniqueness on the whole table) until it is valid. Create the index on each partition that lacks it (CREATE INDEX CONCURRENTLY ... ON <partition> ...), then ALTER INDEX ${ix.index} ATTACH PARTITION <that index>; it becomes valid when every partition's is attached. Definition: ${ix.definition}`,
    evidence: [pointEvidence('index_bytes', ix.sizeBytes, at, 'Bytes')],
    fix: `ALTER INDEX ${ix.index} ATTACH PARTITION <index of each partition that lacks one>;`,
    sizeBytes: ix.sizeBytes,
    signature: 'invalid-partitioned',
  };
}

function indexFindings(o: InsightsObservation, s: InsightsSettings, at: string): Finding[] {
  const db = o.database;
  const out: Finding[] = [];
  const minAge = s.unusedIndexMinStatsAgeDays * 86_400;
  const duplicates = new Set<number>();
  for (const ix of o.indexes) {
    // DROP INDEX CONCURRENTLY refuses a partitioned index: a plain DROP, said to lock the table.
    const drop = ix.partitioned
      ? `DROP INDEX ${ix.index}; -- partitioned index: CONCURRENTLY is refused; this locks ${ix.table} and its partitions briefly`
      : `DROP INDEX CONCURRENTLY ${ix.index};`;
    // Being built right now (CREATE INDEX CONCURRENTLY in progress): invalid until it ends, not broken.
    if (!ix.valid && ix.building) continue;
    if (!ix.valid && ix.partitioned) {
      out.push(invalidPartitionedIndex(db, ix, at));
      continue;
    }
    if (!ix.valid) {
      out.push({
        kind: 'invalid-index',
        resource: `${db}:${ix.index}`,
        key: ix.index,
        action: 'recommend',
        severity: 'warning',
        title: `invalid index ${ix.index} on ${ix.table} (a failed CREATE INDEX CONCURRENTLY?)`,
        detail: `It is maintained on every write but never used. Drop it, or rebuild it with REINDEX INDEX CONCURRENTLY ${ix.index}; (PostgreSQL 12+). Definition: ${ix.definition}`,
        evidence: [pointEvidence('index_bytes', ix.sizeBytes, at, 'Bytes')],
        fix: drop,
        sizeBytes: ix.sizeBytes,
        signature: 'invalid',
      });
      continue;
    }
    const dup = duplicateOf(ix, o.indexes);
    if (dup) {
      duplicates.add(ix.indexOid);
      out.push({
        kind: 'duplicate-index',
        resource: `${db}:${ix.index}`,
        key: `${ix.index}<${dup.index}`,
        action: 'recommend',
        severity: 'info',
        title: `duplicate index ${ix.index} (${mb(ix.sizeBytes)}): covered by ${dup.index}`,
        detail: `${ix.definition} is a prefix of ${dup.definition} (same method and predicate).`,
        evidence: [
          pointEvidence('index_bytes', ix.sizeBytes, at, 'Bytes'),
          pointEvidence('idx_scan', ix.idxScan, at, 'Count'),
        ],
        fix: drop,
        sizeBytes: ix.sizeBytes,
        signature: 'dup',
      });
    }
  }
  for (const ix of o.indexes) {
    if (!ix.valid || ix.unique || ix.primary || ix.backsConstraint || duplicates.has(ix.indexOid)) continue;
    if (ix.sizeBytes < s.unusedIndexMinBytes) continue;
    // aws-facts.md: idx_scan is per node and resets: unused only if 0 on every node since a reset long ago.
    if (o.statsAgeSeconds < minAge) continue;
    const replicaScans = o.replicaIdxScans.map((r) => r.scans[ix.index] ?? 0);
    if (ix.idxScan > 0 || replicaScans.some((n) => n > 0)) continue;
    const nodes = 1 + o.replicaIdxScans.length;
    out.push({
      kind: 'unused-index',
      resource: `${db}:${ix.index}`,
      key: ix.index,
      action: 'recommend',
      severity: 'info',
      title: `unused index ${ix.index} (${mb(ix.sizeBytes)}) on ${ix.table}`,
      detail: `No index scan on ${nodes} node${nodes > 1 ? 's' : ''} in ${(o.statsAgeSeconds / 86_400).toFixed(1)} days of statistics${o.unreachableReplicas.length > 0 ? `; replicas not checked (unreachable): ${o.unreachableReplicas.join(', ')}` : ''}. Definition: ${ix.definition}`,
      evidence: [
        pointEvidence('index_bytes', ix.sizeBytes, at, 'Bytes', s.unusedIndexMinBytes),
        pointEvidence('idx_scan', 0, at, 'Count'),
        pointEvidence('stats_age_seconds', o.statsAgeSeconds, at, 'Seconds', minAge),
      ],
      fix: `DROP INDEX CONCURRENTLY ${ix.index};`,
      sizeBytes: ix.sizeBytes,
      signature: `unused:${bucket(ix.sizeBytes)}`,
    });
  }
  return out;
}

function seqScanFindings(o: InsightsObservation, s: InsightsSettings, at: string): Finding[] {
  return o.tables
    .filter((t) => t.sizeBytes >= s.seqScanMinBytes && t.seqScan >= 10)
    .filter((t) => t.seqScan / (t.seqScan + t.idxScan) >= s.seqScanMinRatio)
    .map((t) => ({
      kind: 'seq-scan-table' as const,
      resource: `${o.database}:${t.table}`,
      key: t.table,
      action: 'recommend' as const,
      severity: 'info' as const,
      title: `large table ${t.table} (${mb(t.sizeBytes)}) read mostly by sequential scans`,
      detail: `${t.seqScan} sequential scans (${t.seqTupRead} rows read) against ${t.idxScan} index scans. Find the queries in pg_stat_statements and index the columns they filter on.`,
      evidence: [
        pointEvidence('table_bytes', t.sizeBytes, at, 'Bytes', s.seqScanMinBytes),
        pointEvidence('seq_scan', t.seqScan, at, 'Count'),
        pointEvidence('idx_scan', t.idxScan, at, 'Count'),
        pointEvidence('seq_tup_read', t.seqTupRead, at, 'Count'),
      ],
      fix: `SELECT query, calls, mean_exec_time FROM pg_stat_statements WHERE query ILIKE '%${t.table.replace(/'/g, "''").replace(/"/g, '')}%' ORDER BY total_exec_time DESC LIMIT 10;`,
      sizeBytes: t.sizeBytes,
      signature: `seq:${bucket(t.sizeBytes)}`,
    }));
}

function blockerFindings(o: InsightsObservation, s: InsightsSettings, at: string): Finding[] {
  const db = o.database;
  const out: Finding[] = [];
  for (const x of o.sessions) {
    const idle = x.state?.startsWith('idle in transaction') ?? false;
    if (idle && (x.stateAgeSeconds ?? 0) >= s.idleInTransactionSeconds) {
      out.push({
        kind: 'idle-in-transaction',
        resource: `${db}:pid:${x.pid}`,
        key: `${x.pid}`,
        action: 'finding',
        severity: (x.stateAgeSeconds ?? 0) >= 10 * s.idleInTransactionSeconds ? 'warning' : 'info',
        title: `session ${x.pid} (${x.user ?? '?'}/${x.application || '?'}) idle in transaction for ${Math.round(x.stateAgeSeconds ?? 0)} s`,
        detail: `It holds its locks and the xmin horizon (VACUUM cannot remove rows dead since). Last statement: ${x.query}. Set idle_in_transaction_session_timeout for the application's role, or end the session.`,
        evidence: [
          pointEvidence('state_age_seconds', x.stateAgeSeconds, at, 'Seconds', s.idleInTransactionSeconds),
          pointEvidence('xact_age_seconds', x.xactAgeSeconds, at, 'Seconds'),
          pointEvidence('backend_xmin_age', x.backendXminAge, at, 'Count'),
        ],
        fix: `SELECT pg_terminate_backend(${x.pid});`,
        signature: 'idle',
      });
    } else if (!idle && (x.xactAgeSeconds ?? 0) >= s.longTransactionSeconds && x.backendXminAge !== null) {
      out.push({
        kind: 'long-transaction',
        resource: `${db}:pid:${x.pid}`,
        key: `${x.pid}`,
        action: 'finding',
        severity: 'warning',
        title: `transaction in session ${x.pid} open for ${Math.round(x.xactAgeSeconds ?? 0)} s holds back the xmin horizon`,
        detail: `State ${x.state ?? '?'}; query: ${x.query}`,
        evidence: [
          pointEvidence('xact_age_seconds', x.xactAgeSeconds, at, 'Seconds', s.longTransactionSeconds),
          pointEvidence('backend_xmin_age', x.backendXminAge, at, 'Count'),
        ],
        fix: `SELECT pg_cancel_backend(${x.pid});`,
        signature: 'long',
      });
    }
  }
  for (const slot of o.slots) {
    const age = Math.max(slot.xminAge ?? 0, slot.catalogXminAge ?? 0);
    if (slot.active && age < 100_000_000) continue;
    out.push({
      kind: 'replication-slot',
      resource: `${db}:slot:${slot.name}`,
      key: slot.name,
      action: 'recommend',
      severity: slot.active ? 'warning' : 'critical',
      title: `${slot.active ? 'lagging' : 'inactive'} replication slot ${slot.name} retains WAL${age > 0 ? ' and holds back the xmin horizon' : ''}`,
      detail: `WAL retained: ${slot.retainedBytes === null ? 'unknown' : mb(slot.retainedBytes)}; xmin age ${age}. Drop it if its consumer is gone.`,
      evidence: [
        pointEvidence('slot_xmin_age', age, at, 'Count'),
        pointEvidence('retained_wal_bytes', slot.retainedBytes, at, 'Bytes'),
      ],
      fix: `SELECT pg_drop_replication_slot(${escapeLiteral(slot.name)});`,
      signature: slot.active ? 'active' : 'inactive',
    });
  }
  for (const p of o.prepared) {
    if (p.ageSeconds < s.longTransactionSeconds) continue;
    out.push({
      kind: 'prepared-transaction',
      resource: `${db}:prepared:${p.gid}`,
      key: p.gid,
      action: 'recommend',
      severity: 'warning',
      title: `prepared transaction ${p.gid} open for ${Math.round(p.ageSeconds)} s`,
      detail: `Owner ${p.owner} in ${p.database}. A forgotten prepared transaction holds locks and the xmin horizon until committed or rolled back.`,
      evidence: [
        pointEvidence('prepared_age_seconds', p.ageSeconds, at, 'Seconds', s.longTransactionSeconds),
      ],
      fix: `ROLLBACK PREPARED ${escapeLiteral(p.gid)};`,
      signature: 'prepared',
    });
  }
  return out;
}

/** XIDs consumed per second from the recorded samples plus the current one (oldest first). */
export function xidRate(samples: XidSample[], current: XidSample): number | undefined {
  const all = [...samples, current].filter((x) => Number.isFinite(Date.parse(x.at)));
  const first = all[0];
  if (!first || all.length < 2) return undefined;
  const seconds = (Date.parse(current.at) - Date.parse(first.at)) / 1000;
  if (seconds <= 0 || current.xid < first.xid) return undefined;
  return (current.xid - first.xid) / seconds;
}

function wraparoundFindings(o: InsightsObservation, samples: XidSample[], at: string): Finding[] {
  const oldest = [...o.databaseAges].sort((a, b) => b.xidAge - a.xidAge)[0];
  if (!oldest) return [];
  const rate = xidRate(samples, { at, xid: o.currentXid });
  const left = XID_LIMIT - XID_STOP_MARGIN - oldest.xidAge;
  const secondsToLimit = rate && rate > 0 ? left / rate : undefined;
  const days = secondsToLimit === undefined ? undefined : secondsToLimit / 86_400;
  const severity =
    oldest.xidAge >= AWS_ACT_AGE || (days !== undefined && days < 7)
      ? 'critical'
      : oldest.xidAge >= AWS_LOW_SEVERITY_AGE || (days !== undefined && days < 30)
        ? 'warning'
        : undefined;
  if (!severity) return [];
  return [
    {
      kind: 'wraparound-risk',
      resource: `${o.database}:datname:${oldest.datname}`,
      key: oldest.datname,
      action: 'finding',
      severity,
      title: `transaction ID age ${(oldest.xidAge / 1e6).toFixed(0)}M in ${oldest.datname}${days === undefined ? '' : `: about ${days.toFixed(1)} days to the wraparound limit at the current rate`}`,
      detail: `AWS: act at 1B (MaximumUsedTransactionIDs). autovacuum_freeze_max_age is ${o.freezeMaxAge}. Find what holds the xmin horizon back (sessions, slots, prepared transactions above) and vacuum the oldest tables (db-autopilot maintenance does, oldest first).`,
      evidence: [
        pointEvidence('datfrozenxid_age', oldest.xidAge, at, 'Count', AWS_ACT_AGE),
        pointEvidence('xid_per_second', rate ?? null, at, 'Count/Second'),
        pointEvidence('days_to_limit', days ?? null, at, 'Count'),
      ],
      fix: null,
      signature: severity,
    },
  ];
}

/** Connection churn: summed absolute change per hour relative to the mean (0 = flat). */
export function connectionChurnPerHour(
  series: Array<number | null>,
  periodSeconds: number,
): number | undefined {
  const v = series.filter((x): x is number => x !== null);
  if (v.length < 2) return undefined;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  if (mean <= 0) return undefined;
  let moved = 0;
  for (let i = 1; i < v.length; i++) moved += Math.abs((v[i] ?? 0) - (v[i - 1] ?? 0));
  const hours = ((v.length - 1) * periodSeconds) / 3600;
  return hours > 0 ? moved / mean / hours : undefined;
}

/** Borrow latency above this (microseconds, average over a 5-minute period) means the pool is short. */
export const PROXY_BORROW_LATENCY_WARN_US = 100_000;

function proxyFinding(o: InsightsObservation, at: string): Finding[] {
  const p = o.connections.proxy;
  if (!p) return [];
  const values = p.borrowLatencyUs.filter((x): x is number => x !== null);
  const peak = values.length > 0 ? Math.max(...values) : null;
  const mean = values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null;
  const slow = peak !== null && peak >= PROXY_BORROW_LATENCY_WARN_US;
  return [
    {
      kind: 'connections',
      resource: `${o.database}:proxy:${p.name}`,
      key: `proxy:${p.name}`,
      action: slow ? 'recommend' : 'finding',
      severity: slow ? 'warning' : 'info',
      title: `RDS Proxy ${p.name}: borrow latency ${mean === null ? 'unknown' : `${(mean / 1000).toFixed(1)} ms on average`}${peak === null ? '' : `, peak ${(peak / 1000).toFixed(1)} ms`}`,
      detail: `Pool: MaxConnectionsPercent ${p.maxConnectionsPercent ?? '?'}, MaxIdleConnectionsPercent ${p.maxIdleConnectionsPercent ?? '?'}, ConnectionBorrowTimeout ${p.borrowTimeoutSeconds ?? '?'} s.${slow ? ' Clients wait for a pooled connection: raise MaxConnectionsPercent if the database has room (see max_connections use), or look for session pinning.' : ''}`,
      evidence: [
        {
          metric: 'DatabaseConnectionsBorrowLatency',
          statistic: 'Average',
          value: peak,
          unit: 'Microseconds',
          window: p.window,
          namespace: 'AWS/RDS',
          dimensions: { ProxyName: p.name },
          series: p.borrowLatencyUs,
          threshold: PROXY_BORROW_LATENCY_WARN_US,
        },
        pointEvidence('max_connections_percent', p.maxConnectionsPercent, at, 'Percent'),
      ],
      fix: slow
        ? `aws rds modify-db-proxy-target-group --db-proxy-name ${p.name} --target-group-name default --connection-pool-config MaxConnectionsPercent=<higher>`
        : null,
      signature: slow ? 'slow' : 'ok',
    },
  ];
}

function connectionFindings(o: InsightsObservation, s: InsightsSettings, at: string): Finding[] {
  const c = o.connections;
  // A proxy is already there: report how it does instead of recommending one.
  if (c.proxy) return proxyFinding(o, at);
  const values = (c.series ?? []).filter((x): x is number => x !== null);
  const peak = Math.max(c.current, ...values);
  const ratio = c.maxConnections > 0 ? peak / c.maxConnections : 0;
  const churn = c.series && c.window ? connectionChurnPerHour(c.series, c.window.periodSeconds) : undefined;
  const reasons: string[] = [];
  if (ratio >= s.proxyConnectionsRatio) {
    reasons.push(
      `peak ${peak} connections is ${(ratio * 100).toFixed(0)}% of max_connections ${c.maxConnections} (threshold ${(s.proxyConnectionsRatio * 100).toFixed(0)}%)`,
    );
  }
  if (churn !== undefined && churn >= s.proxyChurnPerHour) {
    reasons.push(
      `connection churn ${churn.toFixed(1)}x the average per hour (threshold ${s.proxyChurnPerHour}): clients open and close connections often`,
    );
  }
  if (reasons.length === 0) return [];
  const window = c.window ?? { start: at, end: at, periodSeconds: 0 };
  return [
    {
      kind: 'connections',
      resource: `${o.database}:connections`,
      key: 'rds-proxy',
      action: 'recommend',
      severity: ratio >= 0.9 ? 'warning' : 'info',
      title: `use RDS Proxy (connection pooling) in front of ${c.dbInstanceIdentifier ?? o.database}`,
      detail: `${reasons.join('; ')}. RDS Proxy pools and reuses connections, so bursts of clients (Lambda, autoscaled app servers) do not exhaust max_connections or pay the connection set-up cost.`,
      evidence: [
        {
          metric: 'DatabaseConnections',
          statistic: 'Maximum',
          value: peak,
          unit: 'Count',
          window,
          namespace: 'AWS/RDS',
          ...(c.dbInstanceIdentifier ? { dimensions: { DBInstanceIdentifier: c.dbInstanceIdentifier } } : {}),
          ...(c.series ? { series: c.series } : {}),
          threshold: Math.round(s.proxyConnectionsRatio * c.maxConnections),
        },
        pointEvidence('max_connections', c.maxConnections, at, 'Count'),
        pointEvidence('connection_churn_per_hour', churn ?? null, at, 'Count', s.proxyChurnPerHour),
      ],
      fix: null,
      signature: `proxy:${ratio >= 0.9 ? 'high' : 'some'}`,
    },
  ];
}

export function analyzeInsights(
  o: InsightsObservation,
  settings: InsightsSettings,
  xidSamples: XidSample[],
  now: Date,
): Finding[] {
  const at = now.toISOString();
  return [
    ...slowQueries(o, settings, at),
    ...indexFindings(o, settings, at),
    ...seqScanFindings(o, settings, at),
    ...blockerFindings(o, settings, at),
    ...wraparoundFindings(o, xidSamples, at),
    ...connectionFindings(o, settings, at),
  ];
}

/** What the store keeps per database between runs (the insights tuner state). */
export interface InsightsState {
  findings: Record<
    string,
    { signature: string; firstSeen: string; lastSeen: string; kind: string; resource: string }
  >;
  xidSamples: XidSample[];
}

export type FindingStatus = 'new' | 'changed' | 'open';

export interface DedupResult {
  current: Array<{ finding: Finding; fingerprint: string; status: FindingStatus; firstSeen: string }>;
  resolved: Array<{ fingerprint: string; kind: string; resource: string; firstSeen: string }>;
  state: InsightsState;
}

/** Deduplication across runs (pure): reported when new or changed, listed while open. */
export function dedupeFindings(
  findings: Finding[],
  previous: InsightsState | undefined,
  now: Date,
  currentXid?: number,
): DedupResult {
  const at = now.toISOString();
  const prev = previous?.findings ?? {};
  const next: InsightsState['findings'] = {};
  const current: DedupResult['current'] = [];
  for (const f of findings) {
    const fp = fingerprint(f);
    if (next[fp]) continue; // the same finding twice in one run
    const known = prev[fp];
    const status: FindingStatus = !known ? 'new' : known.signature !== f.signature ? 'changed' : 'open';
    const firstSeen = known?.firstSeen ?? at;
    next[fp] = { signature: f.signature, firstSeen, lastSeen: at, kind: f.kind, resource: f.resource };
    current.push({ finding: f, fingerprint: fp, status, firstSeen });
  }
  const resolved = Object.entries(prev)
    .filter(([fp]) => !next[fp])
    .map(([fp, v]) => ({ fingerprint: fp, kind: v.kind, resource: v.resource, firstSeen: v.firstSeen }));
  // Keep the XID samples of about the last day (at most 48) for the rate.
  const samples = [...(previous?.xidSamples ?? [])];
  if (currentXid !== undefined && currentXid > 0) samples.push({ at, xid: currentXid });
  const dayAgo = now.getTime() - 86_400_000;
  const recent = samples.filter((x) => Date.parse(x.at) >= dayAgo).slice(-48);
  return { current, resolved, state: { findings: next, xidSamples: recent } };
}
