import type { Decision, Evidence, Outcome } from '../core/model.ts';
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

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number')
    return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

export function formatUsd(amount: number): string {
  const sign = amount > 0 ? '+' : amount < 0 ? '-' : '';
  return `${sign}$${Math.abs(amount).toFixed(2)}`;
}

export function costText(monthly: number): string {
  if (monthly === 0) return 'no cost change';
  return `${formatUsd(monthly)}/month`;
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

/** One line that says what happened to what, and why. */
export function decisionHeadline(d: Decision): string {
  const change =
    d.from !== undefined && d.to !== undefined && (d.from !== null || d.to !== null)
      ? ` ${formatValue(d.from)} -> ${formatValue(d.to)}`
      : '';
  const until = d.outcome === 'deferred' && d.deferredUntil ? ` until ${d.deferredUntil}` : '';
  return `[${OUTCOME_LABEL[d.outcome]}] ${d.tuner} ${d.resource}: ${d.action}${change}${until}`;
}

export function decisionText(d: Decision): string {
  const lines = [decisionHeadline(d), `  why: ${d.reason}`, `  cost: ${costText(d.monthlyCostDelta)}`];
  for (const e of d.evidence.slice(0, 3)) lines.push(`  evidence: ${evidenceText(e)}`);
  if (d.undo?.impossibleBecause) lines.push(`  undo: not possible (${d.undo.impossibleBecause})`);
  else if (d.undo)
    lines.push(`  undo: invoke control with {"command":"revert","decisionId":"${d.id}","dryRun":false}`);
  return lines.join('\n');
}

export function atLeast(severity: Severity, min: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[min];
}
