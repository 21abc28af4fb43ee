import { randomUUID } from 'node:crypto';
import {
  DescribeDimensionKeysCommand,
  GetResourceMetricsCommand,
  NotAuthorizedException,
} from '@aws-sdk/client-pi';
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { piClient, rdsClient } from '../aws/clients.ts';
import { instanceClass } from '../aws/instance-classes.ts';
import { publicMessage } from '../core/errors.ts';
import type { Decision, Trigger } from '../core/model.ts';
import {
  DEFAULT_PI_SETTINGS,
  type PiFinding,
  type PiObservation,
  type PiSettings,
  parseLoad,
  parseTopSql,
  piFindings,
  piOffFinding,
} from './performance-insights.ts';

/**
 * Reads Performance Insights for a set of RDS instances (the thin half of
 * ./performance-insights.ts): DescribeDBInstances (engine, DbiResourceId, PerformanceInsightsEnabled,
 * class), then DescribeDimensionKeys (top SQL by db.load.avg, partitioned by wait event) and
 * GetResourceMetrics (db.load.avg, hourly) over the look-back window. No database connection.
 * Needs `pi:DescribeDimensionKeys` and `pi:GetResourceMetrics` (IAM resource
 * `arn:aws:pi:REGION:ACCOUNT:metrics/rds/DbiResourceId`), and, inside a VPC, an interface endpoint
 * for `com.amazonaws.REGION.pi` or a NAT route.
 */

export interface PiReadResult {
  /** Findings by instance id. */
  findings: Map<string, PiFinding[]>;
  notes: string[];
}

async function observe(
  instanceId: string,
  now: Date,
  lookbackHours: number,
): Promise<PiObservation | PiFinding | undefined> {
  const described = await rdsClient().send(
    new DescribeDBInstancesCommand({ DBInstanceIdentifier: instanceId }),
  );
  const db = described.DBInstances?.[0];
  if (!db?.DbiResourceId) return undefined;
  const engine = db.Engine ?? 'unknown';
  if (db.PerformanceInsightsEnabled !== true) return piOffFinding(instanceId, engine);
  const end = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
  const start = new Date(end.getTime() - lookbackHours * 3_600_000);
  const common = {
    ServiceType: 'RDS' as const,
    Identifier: db.DbiResourceId,
    StartTime: start,
    EndTime: end,
  };
  const keys = await piClient().send(
    new DescribeDimensionKeysCommand({
      ...common,
      Metric: 'db.load.avg',
      GroupBy: { Group: 'db.sql_tokenized', Limit: 10 },
      PartitionBy: { Group: 'db.wait_event', Limit: 10 },
    }),
  );
  const metrics = await piClient().send(
    new GetResourceMetricsCommand({
      ...common,
      PeriodInSeconds: 3600,
      MetricQueries: [{ Metric: 'db.load.avg' }],
    }),
  );
  const load = parseLoad(metrics.MetricList?.[0]?.DataPoints ?? []);
  return {
    instanceId,
    engine,
    vcpus: instanceClass(db.DBInstanceClass ?? '')?.vcpus,
    window: { start: start.toISOString(), end: end.toISOString() },
    totalLoad: load.mean,
    peakLoad: load.peak,
    topSql: parseTopSql(keys.Keys ?? [], keys.PartitionKeys ?? []),
  };
}

/** Performance Insights findings per instance; an instance that cannot be read is a note, never a crash. */
export async function readPerformanceInsights(
  instanceIds: readonly string[],
  now: Date,
  lookbackHours: number,
  settings: PiSettings = DEFAULT_PI_SETTINGS,
): Promise<PiReadResult> {
  const out: PiReadResult = { findings: new Map(), notes: [] };
  for (const id of [...new Set(instanceIds)]) {
    try {
      const observed = await observe(id, now, lookbackHours);
      if (observed === undefined) out.notes.push(`Performance Insights: ${id} has no DbiResourceId yet`);
      else if ('topSql' in observed) out.findings.set(id, piFindings(observed, settings));
      else out.findings.set(id, [observed]);
    } catch (error) {
      if (error instanceof DBInstanceNotFoundFault)
        out.notes.push(`Performance Insights: ${id} does not exist`);
      else if (error instanceof NotAuthorizedException)
        out.notes.push(
          `Performance Insights: not allowed to read ${id} (pi:DescribeDimensionKeys / pi:GetResourceMetrics), or PI is off`,
        );
      else out.notes.push(`Performance Insights: ${id}: ${publicMessage(error)}`);
    }
  }
  return out;
}

/** One insights Decision per Performance Insights finding. */
export function piDecisions(
  findings: readonly PiFinding[],
  ctx: { runId: string; at: string; trigger: Trigger; dryRun: boolean },
): Decision[] {
  return findings.map((f) => ({
    id: randomUUID(),
    runId: ctx.runId,
    at: ctx.at,
    tuner: 'insights',
    resource: f.resource,
    resourceKind: 'rds-instance',
    action: f.action,
    // Insights never act: a finding is "applied" once made (non-mutating actions, contracts.ts).
    outcome: ctx.dryRun ? 'planned' : 'applied',
    reason: f.reason,
    evidence: f.evidence,
    monthlyCostDelta: 0,
    from: null,
    to: {
      kind: 'performance-insights',
      key: f.key,
      ...(f.statement ? { statement: f.statement.statement, waits: f.statement.waits.slice(0, 3) } : {}),
    },
    undo: null,
    mode: 'observe',
    dryRun: ctx.dryRun,
    override: false,
    trigger: ctx.trigger,
    severity: f.severity,
  }));
}
