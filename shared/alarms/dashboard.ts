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

/** A graph: its title, its lines and their statistic. */
interface Panel {
  title: string;
  lines: MetricLine[];
  stat: string;
}

/** A SEARCH expression line; ids e0, e1, ... in the order lines are made. */
type Search = (expr: string, stat: string, label: string) => MetricLine;

function searchLines(): Search {
  let expressions = 0;
  return (expr, stat, label) => [
    { expression: `SEARCH('${expr}', '${stat}', 300)`, label, id: `e${expressions++}` },
  ];
}

/**
 * The dashboard as named steps: a title -> db-autopilot's own metrics (what it decided, deferred
 * and failed) -> the fleet's key metrics per resource (or one SEARCH per signal for a very large
 * fleet) -> laid out two graphs a row.
 */
export function dashboardBody({ targets, region }: DashboardInput): string {
  const search = searchLines();
  const title: Widget = {
    type: 'text',
    x: 0,
    y: 0,
    width: 24,
    height: 1,
    properties: { markdown: `# db-autopilot: ${targets.length} managed resources` },
  };
  const panels = [...ownPanels(search), ...fleetPanels(targets, search)];
  return JSON.stringify({ widgets: [title, ...layOut(panels, region, 1)] });
}

/** db-autopilot's own EMF metrics: decisions (fleet-wide) and changes; deferrals, failed runs and failures. */
function ownPanels(search: Search): Panel[] {
  return [
    {
      title: 'Decisions and changes',
      stat: 'Sum',
      lines: [
        search(`{${OWN_NAMESPACE},service} MetricName="Decisions"`, 'Sum', 'decisions'),
        search(`{${OWN_NAMESPACE},service,tuner} MetricName="Changes"`, 'Sum', 'changes'),
      ],
    },
    {
      title: 'Deferrals and failures',
      stat: 'Sum',
      lines: [
        search(`{${OWN_NAMESPACE},service,tuner} MetricName="Deferrals"`, 'Sum', 'deferrals'),
        search(`{${OWN_NAMESPACE},service} MetricName="FailedRuns"`, 'Sum', 'failed runs'),
        search(`{${OWN_NAMESPACE},service,tuner} MetricName="Failures"`, 'Sum', 'failures'),
      ],
    },
  ];
}

/** The fleet's graphs: per resource (PER_WIDGET lines a graph), or per signal past MAX_FLEET_WIDGETS graphs. */
function fleetPanels(targets: readonly Target[], search: Search): Panel[] {
  const idsOf = (kind: Target['ref']['kind']) =>
    targets
      .filter((t) => t.ref.kind === kind)
      .map((t) => t.ref.id)
      .sort();
  const panels = [
    ...rdsPanels(idsOf('rds-instance')),
    ...auroraPanels(idsOf('aurora-cluster')),
    ...dynamodbPanels(idsOf('dynamodb-table')),
  ];
  return panels.length > MAX_FLEET_WIDGETS ? fleetWidePanels(search) : panels;
}

/** " (n)" after a graph's title when its resources take more than one graph. */
const partOf = (all: readonly string[], i: number) => (all.length > PER_WIDGET ? ` (${i + 1})` : '');

/** RDS: IOPS (read + write, as metric math) and DiskQueueDepth per instance. */
function rdsPanels(rds: string[]): Panel[] {
  return chunk(rds, PER_WIDGET).flatMap((ids, i) => [
    {
      title: `RDS IOPS (read + write)${partOf(rds, i)}`,
      stat: 'Average',
      lines: ids.flatMap((id, j): MetricLine[] => [
        ['AWS/RDS', 'ReadIOPS', 'DBInstanceIdentifier', id, { id: `r${j}`, visible: false }],
        ['AWS/RDS', 'WriteIOPS', 'DBInstanceIdentifier', id, { id: `w${j}`, visible: false }],
        [{ expression: `r${j} + w${j}`, label: id, id: `t${j}` }],
      ]),
    },
    {
      title: `RDS DiskQueueDepth${partOf(rds, i)}`,
      stat: 'Average',
      lines: ids.map((id) => ['AWS/RDS', 'DiskQueueDepth', 'DBInstanceIdentifier', id]),
    },
  ]);
}

/** Aurora: reader CPU per cluster. */
function auroraPanels(aurora: string[]): Panel[] {
  return chunk(aurora, PER_WIDGET).map((ids, i) => ({
    title: `Aurora reader CPU${partOf(aurora, i)}`,
    stat: 'Average',
    lines: ids.map((id) => ['AWS/RDS', 'CPUUtilization', 'DBClusterIdentifier', id, 'Role', 'READER']),
  }));
}

/** DynamoDB: consumed capacity and throttle events (read and write) per table. */
function dynamodbPanels(tables: string[]): Panel[] {
  return chunk(tables, PER_WIDGET).flatMap((ids, i) => [
    {
      title: `DynamoDB consumed capacity${partOf(tables, i)}`,
      stat: 'Sum',
      lines: ids.flatMap((id): MetricLine[] => [
        ['AWS/DynamoDB', 'ConsumedReadCapacityUnits', 'TableName', id],
        ['AWS/DynamoDB', 'ConsumedWriteCapacityUnits', 'TableName', id],
      ]),
    },
    {
      title: `DynamoDB throttle events${partOf(tables, i)}`,
      stat: 'Sum',
      lines: ids.flatMap((id): MetricLine[] => [
        ['AWS/DynamoDB', 'ReadThrottleEvents', 'TableName', id],
        ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', id],
      ]),
    },
  ]);
}

/** A very large fleet: one SEARCH per signal instead of one line per resource. */
function fleetWidePanels(search: Search): Panel[] {
  return [
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
  ];
}

/** Two 12 x 6 graphs a row from `y` down, in order. */
function layOut(panels: Panel[], region: string, y: number): Widget[] {
  return panels.map((p, i) => ({
    type: 'metric',
    x: (i % 2) * 12,
    y: y + Math.floor(i / 2) * 6,
    width: 12,
    height: 6,
    properties: {
      title: p.title,
      region,
      view: 'timeSeries',
      stacked: false,
      stat: p.stat,
      period: 300,
      metrics: p.lines,
    },
  }));
}
