import { countsAsChange } from '../core/guards.ts';
import type { Decision } from '../core/model.ts';
import { formatUsd } from './format.ts';

/**
 * Per resource, per day: the setting at the start and at the end, how many changes, how many
 * minutes its users felt (throttled or saturated, from the metrics AWS published: see impact.ts)
 * and the net monthly cost change. Pure: the impact minutes come in measured.
 */
export interface ResourceDayRow {
  day: string;
  tuner: string;
  resource: string;
  resourceKind: string;
  start: string;
  end: string;
  changes: number;
  deferrals: number;
  /** Minutes throttled (DynamoDB) or saturated (RDS); null = not measured for this kind. */
  impactMinutes: number | null;
  impactSignal?: string;
  monthlyCostDelta: number;
  /** GSIs named in the table's capacity settings (their throttling counts for the table's row). */
  indexes?: string[];
}

export interface ImpactMinutes {
  minutes: number;
  /** What was counted: "throttled" (DynamoDB throttle events) or "saturated" (RDS queue depth / CPU). */
  signal: string;
}

/** Housekeeping (alarms, dashboard, pause) is db-autopilot's own, not a database's. */
export function isHousekeeping(d: Pick<Decision, 'tuner' | 'action'>): boolean {
  return (
    d.tuner === 'alarms' ||
    d.tuner === 'control' ||
    d.action === 'put-alarm' ||
    d.action === 'delete-alarm' ||
    d.action === 'put-dashboard'
  );
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en-US') : String(v));

/** A setting as a short cell: "r961/w105", "table r961/w105, by-category r3358/w111", "4,900 IOPS", "2 readers". */
export function settingText(d: Decision, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (isObject(value)) {
    const cells = Object.entries(value).map(([k, v]) => {
      if (isObject(v) && ('read' in v || 'write' in v)) {
        const name = k === '(table)' ? '' : `${k} `;
        return `${name}r${num(v.read)}/w${num(v.write)}`;
      }
      return `${k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()} ${num(v)}`;
    });
    return cells.join(', ');
  }
  if (d.action === 'set-iops') return `${num(value)} IOPS`;
  if (d.action === 'add-replica' || d.action === 'remove-replica')
    return `${num(value)} reader${value === 1 ? '' : 's'}`;
  return num(value);
}

/**
 * A setting made of parts (a table and its GSIs): each change names only the parts it touched, so
 * the whole is the parts laid over each other in order (the last word per part wins).
 */
function overlay(values: unknown[]): unknown {
  const last = values[values.length - 1];
  if (!values.every(isObject)) return last;
  return Object.assign({}, ...values);
}

export function resourceDayRows(
  decisions: Decision[],
  impact: Record<string, ImpactMinutes | null> = {},
): ResourceDayRow[] {
  const groups = new Map<string, Decision[]>();
  for (const d of [...decisions].sort((a, b) => a.at.localeCompare(b.at))) {
    if (isHousekeeping(d) || d.tuner === 'maintenance' || d.tuner === 'insights') continue;
    if (!countsAsChange(d) && d.outcome !== 'deferred') continue;
    const key = `${d.at.slice(0, 10)}|${d.tuner}|${d.resource}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const rows: ResourceDayRow[] = [];
  for (const [key, list] of groups) {
    const [day = '', tuner = '', resource = ''] = key.split('|');
    const changes = list.filter(countsAsChange);
    const first = changes[0];
    const last = changes[changes.length - 1];
    const measured = impact[resource];
    const indexes = new Set<string>();
    for (const d of changes)
      for (const v of [d.from, d.to])
        if (isObject(v)) for (const k of Object.keys(v)) if (k !== '(table)') indexes.add(k);
    rows.push({
      day,
      tuner,
      resource,
      resourceKind: list[0]?.resourceKind ?? '',
      start: first ? settingText(first, overlay(changes.map((d) => d.from).reverse())) : 'unchanged',
      end: last ? settingText(last, overlay(changes.map((d) => d.to))) : 'unchanged',
      changes: changes.length,
      deferrals: list.filter((d) => d.outcome === 'deferred').length,
      impactMinutes: measured ? measured.minutes : null,
      impactSignal: measured?.signal,
      ...(indexes.size > 0 ? { indexes: [...indexes] } : {}),
      monthlyCostDelta:
        Math.round(
          changes.reduce((s, d) => s + (Number.isFinite(d.monthlyCostDelta) ? d.monthlyCostDelta : 0), 0) *
            100,
        ) / 100 || 0,
    });
  }
  return rows.sort((a, b) => a.day.localeCompare(b.day) || a.resource.localeCompare(b.resource));
}

const HEAD = ['day', 'resource', 'start', 'end', 'changes', 'throttled/saturated min', 'cost change'];

function cells(r: ResourceDayRow): string[] {
  const impact =
    r.impactMinutes === null ? 'not measured' : `${r.impactMinutes} ${r.impactSignal ?? ''}`.trim();
  const deferred = r.deferrals > 0 ? ` (+${r.deferrals} deferred)` : '';
  return [
    r.day,
    `${r.tuner} ${r.resource}`,
    r.start,
    r.end,
    `${r.changes}${deferred}`,
    impact,
    `${formatUsd(r.monthlyCostDelta)}/month`,
  ];
}

/** A Markdown table (report.md). */
export function resourceDayMarkdown(rows: ResourceDayRow[]): string[] {
  if (rows.length === 0) return ['(no database was changed or held back)'];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ];
}

/** A fixed-width table (digest text, Slack code block). */
export function resourceDayText(rows: ResourceDayRow[]): string[] {
  if (rows.length === 0) return ['  (no database was changed or held back)'];
  const table = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  return table.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
}
