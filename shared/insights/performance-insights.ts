import type { Decision, Evidence } from '../core/model.ts';

/**
 * Top SQL from Performance Insights, for any engine PI supports (PostgreSQL and MySQL alike), with
 * no database connection: pure parsing of the PI API's answers, findings, and the merge with the
 * pg_stat_statements findings of the same database.
 *
 *   parseTopSql -> parseWaits -> piFindings (or piOffFinding) -> mergeWithStatements
 *
 * PI's `db.sql_tokenized.statement` is already tokenized (literals replaced); it is normalized
 * again here (quoted strings and numbers -> ?) so a literal can never reach a record, and cut to
 * 300 characters. Sources: Performance Insights API reference (DescribeDimensionKeys,
 * GetResourceMetrics), RDS User Guide "USER_PerfInsights.UsingDashboard.Components.AvgActiveSessions"
 * (DB load in average active sessions; above the vCPU count, sessions wait).
 */

export interface PiKey {
  Dimensions?: Record<string, string>;
  Total?: number;
  Partitions?: number[];
}

export interface TopSql {
  statement: string;
  /** The engine's own statement id (PostgreSQL: pg_stat_statements queryid), when PI has it. */
  dbId?: string;
  piId?: string;
  /** Average active sessions of this statement over the window. */
  load: number;
  /** Load of this statement by wait event, largest first. */
  waits: Array<{ event: string; load: number }>;
}

export interface PiWindow {
  start: string;
  end: string;
}

export interface PiObservation {
  instanceId: string;
  engine: string;
  vcpus: number | undefined;
  window: PiWindow;
  /** Average DB load over the window (db.load.avg), and its hourly peak. */
  totalLoad: number;
  peakLoad: number;
  topSql: TopSql[];
}

export interface PiSettings {
  /** Report statements with at least this share of DB load. */
  minLoadShare: number;
  topN: number;
}

export const DEFAULT_PI_SETTINGS: PiSettings = { minLoadShare: 0.1, topN: 5 };

/** Removes anything that could be a literal: quoted strings, dollar-quoted strings, numbers. */
export function normalizeStatement(text: string): string {
  return text
    .replace(/\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, '?')
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

/** Step 1: the top SQL keys of DescribeDimensionKeys (GroupBy db.sql_tokenized, PartitionBy db.wait_event). */
export function parseTopSql(
  keys: PiKey[],
  partitionKeys: Array<{ Dimensions?: Record<string, string> }>,
): TopSql[] {
  const events = partitionKeys.map((k) => k.Dimensions?.['db.wait_event.name'] ?? 'unknown');
  return keys
    .filter((k) => typeof k.Dimensions?.['db.sql_tokenized.statement'] === 'string' && (k.Total ?? 0) > 0)
    .map((k) => {
      const d = k.Dimensions ?? {};
      const waits = (k.Partitions ?? [])
        .map((load, i) => ({ event: events[i] ?? 'unknown', load }))
        .filter((w) => w.load > 0)
        .sort((a, b) => b.load - a.load);
      return {
        statement: normalizeStatement(d['db.sql_tokenized.statement'] ?? ''),
        ...(d['db.sql_tokenized.db_id'] ? { dbId: d['db.sql_tokenized.db_id'] } : {}),
        ...(d['db.sql_tokenized.id'] ? { piId: d['db.sql_tokenized.id'] } : {}),
        load: k.Total ?? 0,
        waits,
      };
    });
}

/** Step 2: the DB load series of GetResourceMetrics -> mean and peak. */
export function parseLoad(points: Array<{ Value?: number }>): { mean: number; peak: number } {
  const values = points
    .map((p) => p.Value)
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (values.length === 0) return { mean: 0, peak: 0 };
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, peak: Math.max(...values) };
}

export interface PiFinding {
  resource: string;
  key: string;
  action: 'finding' | 'recommend';
  severity: 'info' | 'warning';
  reason: string;
  evidence: Evidence[];
  statement?: TopSql;
}

const r2 = (n: number) => Math.round(n * 100) / 100;

function loadEvidence(obs: PiObservation, value: number, metric = 'db.load.avg'): Evidence {
  return {
    metric: `PerformanceInsights:${metric}`,
    statistic: 'Average',
    value: r2(value),
    unit: 'AverageActiveSessions',
    window: { start: obs.window.start, end: obs.window.end, periodSeconds: 3600 },
    ...(obs.vcpus !== undefined ? { threshold: obs.vcpus } : {}),
  };
}

/** Step 3: a finding per statement with a large share of DB load, and one when the load exceeds the vCPUs. */
export function piFindings(obs: PiObservation, settings: PiSettings = DEFAULT_PI_SETTINGS): PiFinding[] {
  const out: PiFinding[] = [];
  const total = obs.totalLoad;
  if (obs.vcpus !== undefined && obs.peakLoad > obs.vcpus) {
    out.push({
      resource: obs.instanceId,
      key: 'load-above-vcpus',
      action: 'finding',
      severity: 'warning',
      reason: `Performance Insights: DB load of ${obs.instanceId} peaked at ${r2(obs.peakLoad)} average active sessions, above its ${obs.vcpus} vCPUs (sessions waited), average ${r2(total)} over ${obs.window.start} - ${obs.window.end}`,
      evidence: [loadEvidence(obs, obs.peakLoad)],
    });
  }
  if (total <= 0) return out;
  for (const sql of obs.topSql.slice(0, settings.topN)) {
    const share = sql.load / total;
    if (share < settings.minLoadShare) continue;
    const waits = sql.waits
      .slice(0, 3)
      .map((w) => `${w.event} ${Math.round((100 * w.load) / sql.load)}%`)
      .join(', ');
    out.push({
      resource: obs.instanceId,
      key: sql.dbId ?? sql.piId ?? sql.statement,
      action: 'recommend',
      severity: share >= 0.3 ? 'warning' : 'info',
      reason: `Performance Insights: "${sql.statement}" accounts for ${Math.round(share * 100)}% of the DB load of ${obs.instanceId} (${r2(sql.load)} of ${r2(total)} average active sessions)${waits ? `; waits: ${waits}` : ''}. Look at its plan (EXPLAIN) and indexes first.`,
      evidence: [loadEvidence(obs, sql.load, 'db.load.avg by db.sql_tokenized')],
      statement: sql,
    });
  }
  return out;
}

/** Step 3': Performance Insights is off: say how to turn it on (7 days of history are free). */
export function piOffFinding(instanceId: string, engine: string): PiFinding {
  return {
    resource: instanceId,
    key: 'pi-off',
    action: 'recommend',
    severity: 'info',
    reason: `Performance Insights is off on ${instanceId} (${engine}): db-autopilot cannot rank its SQL by load without a database connection. Enable it (7 days of history at no charge): aws rds modify-db-instance --db-instance-identifier ${instanceId} --enable-performance-insights --performance-insights-retention-period 7 --apply-immediately`,
    evidence: [],
  };
}

/** The same statement as a pg_stat_statements finding: queryid = PI's db_id, or the same normalized text. */
function sameStatement(d: Decision, sql: TopSql): boolean {
  const to = (d.to ?? {}) as Record<string, unknown>;
  if (to.kind !== 'slow-query') return false;
  if (sql.dbId !== undefined && d.resource.endsWith(`:query:${sql.dbId}`)) return true;
  const canon = (s: string) => normalizeStatement(s.replace(/\$\d+/g, '?')).toLowerCase();
  return canon(d.reason).includes(canon(sql.statement));
}

/**
 * Step 4: where a pg_stat_statements slow-query finding and a PI top-SQL finding are the same
 * statement, one finding: the pg decision gains PI's load share and waits; the PI one is dropped.
 */
export function mergeWithStatements(
  pgDecisions: Decision[],
  findings: PiFinding[],
): { decisions: Decision[]; unmatched: PiFinding[] } {
  const decisions = pgDecisions.map((d) => ({ ...d }));
  const unmatched: PiFinding[] = [];
  for (const f of findings) {
    const sql = f.statement;
    const match = sql ? decisions.find((d) => sameStatement(d, sql)) : undefined;
    if (!match) {
      unmatched.push(f);
      continue;
    }
    match.reason = `${match.reason} ${f.reason.replace(/^Performance Insights: "[^"]*" accounts/, 'Performance Insights: it accounts')}`;
    match.evidence = [...match.evidence, ...f.evidence];
  }
  return { decisions, unmatched };
}
