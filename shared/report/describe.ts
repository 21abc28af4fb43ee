import type { Decision } from '../core/model.ts';

/**
 * Every action as a person reads it: what changed, in the unit it is counted in, never raw JSON.
 * `describeChange` says what was (or would be) done; `decidingRule` names the rule that decided a
 * deferral, a skip or a failure, so "held back" always says by what.
 */

const ACTION_LABEL: Record<string, string> = {
  'set-iops': 'provisioned IOPS',
  'set-storage-type': 'storage type',
  'add-replica': 'add a reader',
  'remove-replica': 'remove a reader',
  'add-route': 'add a route',
  'remove-route': 'remove a route',
  'set-capacity': 'capacity',
  'set-scaling-target': 'auto scaling target',
  'set-capacity-mode': 'capacity mode',
  prewarm: 'pre-warm',
  'set-serverless-bounds': 'capacity range',
  vacuum: 'VACUUM',
  analyze: 'ANALYZE',
  recommend: 'recommendation',
  finding: 'finding',
  'put-alarm': 'alarm',
  'delete-alarm': 'delete alarm',
  'put-dashboard': 'dashboard',
  noop: 'nothing to do',
  pause: 'pause',
  resume: 'resume',
  revert: 'revert',
};

export function actionLabel(action: string): string {
  return ACTION_LABEL[action] ?? action;
}

/** A value in words: numbers with separators, objects as "key value" pairs (never JSON). */
function n(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2);
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.map(n).join(', ');
  if (typeof v === 'object') {
    const pairs = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k} ${n(x)}`);
    return pairs.length > 0 ? pairs.join(', ') : '-';
  }
  return String(v);
}

/** What describing an action needs (a Decision, or the demo's report.json row). */
export type Describable = Pick<Decision, 'from' | 'to'> & { tuner: string; action: string };
export type Ruled = { outcome: string; guard?: string; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** DynamoDB capacity per table/GSI: "table read 961 -> 717, write 105 -> 79; by-category read ...". */
function capacityChange(from: unknown, to: unknown): string | undefined {
  if (!isObject(to)) return undefined;
  const parts: string[] = [];
  for (const [name, target] of Object.entries(to)) {
    if (!isObject(target)) return undefined;
    const before = isObject(from) && isObject(from[name]) ? (from[name] as Record<string, unknown>) : {};
    const dims = Object.entries(target)
      .filter(([dim, v]) => before[dim] === undefined || before[dim] !== v)
      .map(([dim, v]) =>
        before[dim] === undefined ? `${dim} ${n(v)}` : `${dim} ${n(before[dim])} -> ${n(v)}`,
      );
    if (dims.length > 0) parts.push(`${name === '(table)' ? 'table' : `index ${name}`} ${dims.join(', ')}`);
  }
  return parts.length > 0 ? parts.join('; ') : 'unchanged';
}

/** RDS storage: "gp2, 200 GiB, 600 IOPS". */
function storageText(v: Record<string, unknown>): string {
  const out: string[] = [];
  if (v.storageType !== undefined) out.push(String(v.storageType));
  if (v.allocatedGiB !== undefined) out.push(`${n(v.allocatedGiB)} GiB`);
  if (v.iops !== undefined && v.iops !== null) out.push(`${n(v.iops)} IOPS`);
  if (v.throughput !== undefined && v.throughput !== null) out.push(`${n(v.throughput)} MiB/s`);
  return out.join(', ');
}

function maintenanceChange(d: Describable): string {
  const from = isObject(d.from) ? d.from : {};
  const facts: string[] = [];
  if (typeof from.deadTuples === 'number' && from.deadTuples > 0)
    facts.push(`${n(from.deadTuples)} dead rows`);
  if (typeof from.modsSinceAnalyze === 'number' && from.modsSinceAnalyze > 0)
    facts.push(`${n(from.modsSinceAnalyze)} rows changed since the last ANALYZE`);
  return facts.length > 0 ? `${actionLabel(d.action)} (${facts.join(', ')})` : actionLabel(d.action);
}

function insightChange(d: Describable): string {
  const to = isObject(d.to) ? d.to : {};
  const kind = typeof to.kind === 'string' ? to.kind.replace(/-/g, ' ') : actionLabel(d.action);
  const status = typeof to.status === 'string' && to.status !== 'open' ? ` (${to.status})` : '';
  return `${kind}${status}`;
}

function alarmChange(d: Describable): string {
  if (d.action === 'delete-alarm') return 'alarm deleted';
  if (d.action === 'put-dashboard') return `dashboard updated${typeof d.to === 'string' ? ` (${d.to})` : ''}`;
  const created = d.from === null || d.from === undefined;
  const threshold =
    typeof d.to === 'number'
      ? typeof d.from === 'number' && d.from !== d.to
        ? ` (threshold ${n(d.from)} -> ${n(d.to)})`
        : ` (threshold ${n(d.to)})`
      : '';
  return `${created ? 'alarm created' : 'alarm updated'}${threshold}`;
}

/** A value worth showing: not null, undefined or an empty object/list. */
function present(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function scalarChange(d: Describable, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  if (!present(d.to)) return actionLabel(d.action);
  if (!present(d.from)) return `${actionLabel(d.action)} ${n(d.to)}${u}`;
  if (d.from === d.to) return `${actionLabel(d.action)} stays ${n(d.to)}${u}`;
  return `${actionLabel(d.action)} ${n(d.from)} -> ${n(d.to)}${u}`;
}

/** What the action does, in words: "capacity table read 961 -> 717", "provisioned IOPS 6,800 -> 4,900". */
export function describeChange(d: Describable): string {
  if (d.tuner === 'alarms' || d.action === 'put-alarm' || d.action === 'put-dashboard') return alarmChange(d);
  if (d.tuner === 'maintenance') return maintenanceChange(d);
  if (d.tuner === 'insights') return insightChange(d);
  if (d.action === 'set-capacity' || d.action === 'prewarm') {
    const c = capacityChange(d.from, d.to);
    if (c) return `${actionLabel(d.action)}: ${c}`;
  }
  if (d.action === 'set-iops') return scalarChange(d, 'IOPS');
  if (d.action === 'set-serverless-bounds' && isObject(d.from) && isObject(d.to))
    return `${actionLabel(d.action)} ${acuRange(d.from)} -> ${acuRange(d.to)}`;
  if ((d.action === 'add-replica' || d.action === 'remove-replica') && present(d.from) && present(d.to))
    return `${actionLabel(d.action)} (${n(d.from)} -> ${n(d.to)} readers)`;
  if (isObject(d.from) && isObject(d.to) && ('storageType' in d.to || 'iops' in d.to))
    return `${actionLabel(d.action)}: ${storageText(d.from)} -> ${storageText(d.to)}`;
  if (d.action === 'noop' || d.action === 'finding') {
    return actionLabel(d.action);
  }
  if (isObject(d.to) || isObject(d.from)) return actionLabel(d.action);
  if (d.to === null || d.to === undefined) return actionLabel(d.action);
  return scalarChange(d);
}

/** An Aurora Serverless v2 range as people read it: "0.5-8 ACU", "0-8 ACU (pause after 300 s)". */
function acuRange(b: Record<string, unknown>): string {
  const pause = typeof b.secondsUntilAutoPause === 'number' && b.min === 0;
  return `${n(b.min)}-${n(b.max)} ACU${pause ? ` (pause after ${n(b.secondsUntilAutoPause)} s)` : ''}`;
}

/** The rule behind a deferral, skip or failure, as people say it. */
const RULE_LABEL: Record<string, string> = {
  'aws:dynamodb-decrease-budget': 'decrease budget (DynamoDB limits capacity decreases per table per day)',
  'aws:dynamodb-table-updating': 'table is UPDATING (DynamoDB accepts no change until ACTIVE)',
  'aws:dynamodb-no-mixed-update': 'an increase and a decrease never go in one update',
  'aws:dynamodb-on-demand-switches-24h': 'capacity-mode switch limit (DynamoDB)',
  'aws:storage-wait-6h': '6-hour wait between RDS storage changes',
  'aws:storage-optimization': 'RDS storage optimization in progress',
  'aws:storage-4-per-24h': 'at most 4 RDS storage changes per 24 h',
  'aws:rds-status': 'instance not available',
  'aws:cluster-available': 'cluster not available (ModifyDBCluster waits for it)',
  'aws:pending-non-storage': 'other modifications are pending',
  'replicas:drained': 'connections must drain before a reader is removed',
  cooldown: 'cooldown after the last change',
  consent: 'ownership: only resources db-autopilot created may be deleted',
  paused: 'db-autopilot is paused',
  'opt-out': 'the resource is opted out',
  observe: 'observe mode',
  'dry-run': 'dry run',
  bounds: 'configured bounds',
  'change-cap': 'per-run change cap',
  lock: 'another run holds the lock',
  drift: 'changed outside db-autopilot',
  'changed-since-plan': 'changed since the plan was made',
};

/** "decrease budget (...)" for a held-back decrease; undefined when AWS's own answer decided. */
export function decidingRule(d: Ruled): string | undefined {
  if (d.outcome === 'applied' || d.outcome === 'planned') return undefined;
  if (!d.guard || d.guard === 'adapter' || d.guard === 'non-mutating' || d.guard === 'noop') return undefined;
  return RULE_LABEL[d.guard] ?? d.guard;
}

/** The reason, led by the deciding rule when one held the action back. */
export function reasonText(d: Ruled): string {
  const rule = decidingRule(d);
  const verb =
    d.outcome === 'deferred' ? 'held back by' : d.outcome === 'skipped' ? 'skipped by' : 'failed on';
  return rule ? `${verb} ${rule}: ${d.reason}` : d.reason;
}
