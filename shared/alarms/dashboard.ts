import type { Target } from '../core/contracts.ts';

/**
 * The fleet dashboard (pure: targets in, PutDashboard body out). Key metrics of the managed
 * fleet, plus db-autopilot's own EMF metrics (namespace DbAutopilot: decisions fleet-wide,
 * changes, deferrals and failures by tuner), found with SEARCH. A SEARCH schema `{Namespace,Dim,...}` matches metrics
 * with exactly those dimensions (CloudWatch User Guide, "CloudWatch search expression syntax"):
 * Powertools adds `service` to every metric, emitDecisionMetrics adds `tuner` to all but `Decisions`.
 * Dashboard body structure: CloudWatch API reference, "Dashboard Body Structure and Syntax".
 */
export const DEFAULT_DASHBOARD_NAME = 'db-autopilot';
export const OWN_NAMESPACE = 'DbAutopilot';

export function dashboardName(): string {
  return process.env.DASHBOARD_NAME || DEFAULT_DASHBOARD_NAME;
}

/** Metrics per graph widget; more resources are split over several widgets. */
const PER_WIDGET = 50;
/** Keep the dashboard readable and well inside CloudWatch's dashboard limits. */
const MAX_FLEET_WIDGETS = 60;

type MetricLine = Array<string | Record<string, unknown>>;

interface Widget {
  type: 'metric' | 'text';
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface DashboardInput {
  targets: readonly Target[];
  region: string;
}

export function dashboardBody({ targets, region }: DashboardInput): string {
  const widgets: Widget[] = [];
  let y = 0;
  const row = (title: string, lines: MetricLine[], stat: string, x: number) => {
    widgets.push({
      type: 'metric',
      x,
      y,
      width: 12,
      height: 6,
      properties: {
        title,
        region,
        view: 'timeSeries',
        stacked: false,
        stat,
        period: 300,
        metrics: lines,
      },
    });
  };
  let expressions = 0;
  const search = (expr: string, stat: string, label: string): MetricLine => [
    { expression: `SEARCH('${expr}', '${stat}', 300)`, label, id: `e${expressions++}` },
  ];

  // db-autopilot's own metrics first: what it decided, deferred and failed.
  widgets.push({
    type: 'text',
    x: 0,
    y,
    width: 24,
    height: 1,
    properties: { markdown: `# db-autopilot: ${targets.length} managed resources` },
  });
  y += 1;
  row(
    'Decisions and changes',
    [
      search(`{${OWN_NAMESPACE},service} MetricName="Decisions"`, 'Sum', 'decisions'),
      search(`{${OWN_NAMESPACE},service,tuner} MetricName="Changes"`, 'Sum', 'changes'),
    ],
    'Sum',
    0,
  );
  row(
    'Deferrals and failures',
    [
      search(`{${OWN_NAMESPACE},service,tuner} MetricName="Deferrals"`, 'Sum', 'deferrals'),
      search(`{${OWN_NAMESPACE},service} MetricName="FailedRuns"`, 'Sum', 'failed runs'),
      search(`{${OWN_NAMESPACE},service,tuner} MetricName="Failures"`, 'Sum', 'failures'),
    ],
    'Sum',
    12,
  );
  y += 6;

  const idsOf = (kind: Target['ref']['kind']) =>
    targets
      .filter((t) => t.ref.kind === kind)
      .map((t) => t.ref.id)
      .sort();
  const rds = idsOf('rds-instance');
  const aurora = idsOf('aurora-cluster');
  const tables = idsOf('dynamodb-table');

  const panels: Array<{ title: string; lines: MetricLine[]; stat: string }> = [];
  chunk(rds, PER_WIDGET).forEach((ids, i) => {
    const part = rds.length > PER_WIDGET ? ` (${i + 1})` : '';
    panels.push({
      title: `RDS IOPS (read + write)${part}`,
      stat: 'Average',
      lines: ids.flatMap((id, j) => [
        ['AWS/RDS', 'ReadIOPS', 'DBInstanceIdentifier', id, { id: `r${j}`, visible: false }],
        ['AWS/RDS', 'WriteIOPS', 'DBInstanceIdentifier', id, { id: `w${j}`, visible: false }],
        [{ expression: `r${j} + w${j}`, label: id, id: `t${j}` }],
      ]),
    });
    panels.push({
      title: `RDS DiskQueueDepth${part}`,
      stat: 'Average',
      lines: ids.map((id) => ['AWS/RDS', 'DiskQueueDepth', 'DBInstanceIdentifier', id]),
    });
  });
  chunk(aurora, PER_WIDGET).forEach((ids, i) => {
    const part = aurora.length > PER_WIDGET ? ` (${i + 1})` : '';
    panels.push({
      title: `Aurora reader CPU${part}`,
      stat: 'Average',
      lines: ids.map((id) => ['AWS/RDS', 'CPUUtilization', 'DBClusterIdentifier', id, 'Role', 'READER']),
    });
  });
  chunk(tables, PER_WIDGET).forEach((ids, i) => {
    const part = tables.length > PER_WIDGET ? ` (${i + 1})` : '';
    panels.push({
      title: `DynamoDB consumed capacity${part}`,
      stat: 'Sum',
      lines: ids.flatMap((id) => [
        ['AWS/DynamoDB', 'ConsumedReadCapacityUnits', 'TableName', id],
        ['AWS/DynamoDB', 'ConsumedWriteCapacityUnits', 'TableName', id],
      ]),
    });
    panels.push({
      title: `DynamoDB throttle events${part}`,
      stat: 'Sum',
      lines: ids.flatMap((id) => [
        ['AWS/DynamoDB', 'ReadThrottleEvents', 'TableName', id],
        ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', id],
      ]),
    });
  });
  if (panels.length > MAX_FLEET_WIDGETS) {
    // A very large fleet: one SEARCH per signal instead of one line per resource.
    panels.length = 0;
    panels.push(
      {
        title: 'RDS ReadIOPS (all)',
        stat: 'Average',
        lines: [search('{AWS/RDS,DBInstanceIdentifier} MetricName="ReadIOPS"', 'Average', 'ReadIOPS')],
      },
      {
        title: 'RDS DiskQueueDepth (all)',
        stat: 'Average',
        lines: [
          search('{AWS/RDS,DBInstanceIdentifier} MetricName="DiskQueueDepth"', 'Average', 'DiskQueueDepth'),
        ],
      },
      {
        title: 'DynamoDB throttle events (all)',
        stat: 'Sum',
        lines: [
          search(
            '{AWS/DynamoDB,TableName} MetricName="ReadThrottleEvents" OR MetricName="WriteThrottleEvents"',
            'Sum',
            'throttles',
          ),
        ],
      },
      {
        title: 'DynamoDB consumed capacity (all)',
        stat: 'Sum',
        lines: [search('{AWS/DynamoDB,TableName} MetricName="ConsumedWriteCapacityUnits"', 'Sum', 'WCU')],
      },
    );
  }
  panels.forEach((p, i) => {
    row(p.title, p.lines, p.stat, (i % 2) * 12);
    if (i % 2 === 1) y += 6;
  });
  return JSON.stringify({ widgets });
}
