import type { Decision, Evidence, Outcome } from '../core/model.ts';
import { describeChange, reasonText } from './describe.ts';
import { sparkline } from './sparkline.ts';

/** Plain-text pieces shared by the Slack, SNS/email and terminal renderings. */

export const SEVERITY_RANK = { info: 0, warning: 1, critical: 2 } as const;
export type Severity = keyof typeof SEVERITY_RANK;

export const OUTCOME_LABEL: Record<Outcome, string> = {
  applied: 'done',
  planned: 'would do (observe mode)',
  intended: 'intended (not yet confirmed)',
  deferred: 'deferred',
  skipped: 'skipped',
  failed: 'FAILED',
};

/** A value for people: numbers with separators, objects as "key value" pairs (never JSON). */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number')
    return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.map(formatValue).join(', ');
  const text = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${humanKey(k)} ${typeof v === 'object' ? `(${formatValue(v)})` : formatValue(v)}`)
    .join(', ');
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** "deadTuples" -> "dead tuples", "allocatedGiB" -> "allocated GiB". */
function humanKey(key: string): string {
  return key
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/\b([A-Z])(?=[a-z])/g, (c) => c.toLowerCase())
    .replace(/^\((.*)\)$/, '$1');
}

export function formatUsd(amount: number): string {
  const sign = amount > 0 ? '+' : amount < 0 ? '-' : '';
  const abs = Math.abs(amount).toLocaleString('en-US', {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  return `${sign}$${abs}`;
}

/**
 * The monthly cost change of one decision, said for what it is: a change made, a change that
 * would be made (not counted until it is), or a recommendation's potential (never "saved").
 */
export function costText(monthly: number, d?: { outcome: string; action: string }): string {
  if (!Number.isFinite(monthly) || monthly === 0) return 'no cost change';
  const amount = `${formatUsd(monthly)}/month`;
  if (!d) return amount;
  if (d.action === 'recommend' || d.action === 'finding') return `${amount} potential (not acted on)`;
  if (d.outcome === 'applied') return amount;
  return `${amount} if done (not counted)`;
}

/** "ReadIOPS+WriteIOPS p99 4,210 IOPS over 60 min ▁▂▅█▇" */
export function evidenceText(e: Evidence): string {
  const minutes = Math.round((Date.parse(e.window.end) - Date.parse(e.window.start)) / 60_000);
  const value = e.value === null ? 'unknown' : formatValue(e.value);
  const spark = e.series && e.series.length > 1 ? ` ${sparkline(e.series)}` : '';
  const threshold = e.threshold !== undefined ? ` (threshold ${formatValue(e.threshold)})` : '';
  const span = Number.isFinite(minutes) && minutes > 0 ? ` over ${humanMinutes(minutes)}` : '';
  return `${e.metric} ${e.statistic} ${value}${e.unit ? ` ${e.unit}` : ''}${threshold}${span}${spark}`;
}

export function humanMinutes(minutes: number): string {
  if (minutes < 120) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} d`;
}

/** One line that says what happened to what: "[done] dynamodb securecart-catalog: capacity: table read 961 -> 717". */
export function decisionHeadline(d: Decision): string {
  const until = d.outcome === 'deferred' && d.deferredUntil ? ` until ${shortTime(d.deferredUntil)}` : '';
  return `[${OUTCOME_LABEL[d.outcome]}] ${d.tuner} ${d.resource}: ${describeChange(d)}${until}`;
}

/** "2026-11-20 12:00 UTC" */
export function shortTime(iso: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;
}

export function decisionText(d: Decision): string {
  const lines = [
    decisionHeadline(d),
    `  why: ${reasonText(d)}`,
    `  cost: ${costText(d.monthlyCostDelta, d)}`,
  ];
  for (const e of d.evidence.slice(0, 3)) lines.push(`  evidence: ${evidenceText(e)}`);
  if (d.undo?.impossibleBecause) lines.push(`  undo: not possible (${d.undo.impossibleBecause})`);
  else if (d.undo && d.outcome === 'applied')
    lines.push(`  undo: invoke control with {"command":"revert","decisionId":"${d.id}","dryRun":false}`);
  return lines.join('\n');
}

export function atLeast(severity: Severity, min: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[min];
}
