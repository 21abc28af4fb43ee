import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { StateStore } from '../../core/contracts.ts';
import { redact } from '../../core/errors.ts';
import type { Decision, Trigger } from '../../core/model.ts';
import { logger } from '../../handler/observability.ts';
import type { PgTarget } from '../connection.ts';
import { lastDayOfRdsMetric, lastDayWindow } from './cloudwatch.ts';
import { collectInsights } from './collect.ts';
import {
  analyzeInsights,
  type DedupResult,
  dedupeFindings,
  type InsightsSettings,
  type InsightsState,
} from './findings.ts';
import { findProxyFor } from './proxy.ts';
import type { ConnectionObservation, InsightsObservation } from './types.ts';

/** The insights loop for one database: observe -> findings (pure) -> dedupe (pure) -> decisions -> record. */

/** CloudWatch DatabaseConnections (Maximum, 5-minute periods, last 24 h) in one GetMetricData call. */
export async function fetchConnectionSeries(
  dbInstanceIdentifier: string,
  now: Date,
): Promise<Pick<ConnectionObservation, 'series' | 'window'> | undefined> {
  try {
    const series = await lastDayOfRdsMetric(
      'conns',
      'DatabaseConnections',
      { Name: 'DBInstanceIdentifier', Value: dbInstanceIdentifier },
      'Maximum',
      now,
    );
    if (series.length === 0) return undefined;
    return { series, window: lastDayWindow(now) };
  } catch (error) {
    logger.warn('DatabaseConnections unavailable', {
      dbInstanceIdentifier,
      error: error instanceof Error ? redact(error.message) : '',
    });
    return undefined;
  }
}

export interface InsightsRunInput {
  target: PgTarget;
  settings: InsightsSettings;
  now: Date;
  runId: string;
  trigger: Trigger;
  dryRun: boolean;
  store?: StateStore;
  dbInstanceIdentifier?: string;
  /** Reuse an open session (single-connection servers such as PGlite). */
  client?: pg.Client;
  /** Adjusts the decisions before they are recorded (the Performance Insights merge). */
  annotate?: (decisions: Decision[]) => Decision[];
}

export interface InsightsRunResult {
  observation: InsightsObservation;
  dedup: DedupResult;
  decisions: Decision[];
}

function stateKey(database: string): string {
  return `postgres:${database}`;
}

function readState(raw: Record<string, unknown> | undefined): InsightsState | undefined {
  if (!raw || typeof raw.findings !== 'object' || raw.findings === null) return undefined;
  return {
    findings: raw.findings as InsightsState['findings'],
    xidSamples: Array.isArray(raw.xidSamples) ? (raw.xidSamples as InsightsState['xidSamples']) : [],
  };
}

export async function runInsightsForDatabase(input: InsightsRunInput): Promise<InsightsRunResult> {
  const { target, settings, now } = input;
  const collected = await collectInsights(
    target,
    {
      topN: settings.topN,
      minCalls: settings.slowQueryMinCalls,
      queryTextMaxChars: settings.queryTextMaxChars,
    },
    input.client,
  );
  const cw = input.dbInstanceIdentifier
    ? await fetchConnectionSeries(input.dbInstanceIdentifier, now)
    : undefined;
  const proxy = input.dbInstanceIdentifier ? await findProxyFor(input.dbInstanceIdentifier, now) : undefined;
  const { maxConnections, currentConnections, ...rest } = collected;
  const observation: InsightsObservation = {
    ...rest,
    observedAt: now.toISOString(),
    connections: {
      maxConnections,
      current: currentConnections,
      ...(cw ?? {}),
      ...(proxy ? { proxy } : {}),
      ...(input.dbInstanceIdentifier ? { dbInstanceIdentifier: input.dbInstanceIdentifier } : {}),
    },
  };

  let previous: InsightsState | undefined;
  if (input.store) {
    try {
      previous = readState((await input.store.getHistory('insights', stateKey(target.name), now)).tunerState);
    } catch (error) {
      logger.warn('insights state unreadable: every finding counts as new', { error: error as Error });
    }
  }
  const findings = analyzeInsights(observation, settings, previous?.xidSamples ?? [], now);
  const dedup = dedupeFindings(findings, previous, now, observation.currentXid);
  const made = insightDecisions(dedup, {
    runId: input.runId,
    at: now.toISOString(),
    trigger: input.trigger,
    dryRun: input.dryRun,
    database: target.name,
  });
  const decisions = input.annotate ? input.annotate(made) : made;

  if (input.store && !input.dryRun) {
    try {
      for (const d of decisions) await input.store.recordDecision(d);
      await input.store.putTunerState('insights', stateKey(target.name), { ...dedup.state });
    } catch (error) {
      logger.error('could not record insights', { error: error as Error });
    }
  }
  return { observation, dedup, decisions };
}

/** One Decision per finding (pure apart from ids): tuner 'insights', action finding/recommend. */
export function insightDecisions(
  dedup: DedupResult,
  ctx: { runId: string; at: string; trigger: Trigger; dryRun: boolean; database: string },
): Decision[] {
  const base = {
    runId: ctx.runId,
    at: ctx.at,
    tuner: 'insights' as const,
    monthlyCostDelta: 0,
    undo: null,
    // Insights never act: a finding is "applied" once it has been made (contracts: non-mutating actions).
    outcome: ctx.dryRun ? ('planned' as const) : ('applied' as const),
    mode: 'observe' as const,
    dryRun: ctx.dryRun,
    override: false,
    trigger: ctx.trigger,
  };
  const decisions: Decision[] = dedup.current.map(({ finding: f, fingerprint, status, firstSeen }) => ({
    ...base,
    id: randomUUID(),
    resource: f.resource,
    resourceKind: 'postgres-database',
    action: f.action,
    reason: `${f.title}. ${f.detail}`,
    evidence: f.evidence,
    from: null,
    to: { kind: f.kind, fix: f.fix, status, fingerprint, firstSeen, sizeBytes: f.sizeBytes ?? null },
    severity: f.severity,
  }));
  for (const r of dedup.resolved) {
    decisions.push({
      ...base,
      id: randomUUID(),
      resource: r.resource,
      resourceKind: 'postgres-database',
      action: 'finding',
      reason: `resolved: the ${r.kind} finding open since ${r.firstSeen} is no longer seen`,
      evidence: [],
      from: null,
      to: { kind: r.kind, status: 'resolved', fingerprint: r.fingerprint, fix: null },
      severity: 'info',
    });
  }
  if (decisions.length === 0) {
    decisions.push({
      ...base,
      id: randomUUID(),
      resource: ctx.database,
      resourceKind: 'postgres-database',
      action: 'noop',
      reason:
        'no finding: slow queries, indexes, vacuum blockers, wraparound and connections within thresholds',
      evidence: [],
      from: null,
      to: null,
      severity: 'info',
    });
  }
  return decisions;
}
