import { countsAsChange } from '../core/guards.ts';
import type { Decision } from '../core/model.ts';
import { formatUsd } from './format.ts';

/**
 * One accounting of money for every report (report.md, report.json, the digest, Slack, SNS):
 * - applied: the net monthly cost change of the changes applied in the period. A change reversed
 *   within the period (an IOPS cut raised back six hours later) nets out; how much cancelled that
 *   way is `reversedMonthlyCostDelta`, so a cut is never told as saved once it was undone.
 * - potential: what recommendations (and observe-mode plans) would change if someone acted on
 *   them; never counted as saved. A standing recommendation repeated run after run counts once
 *   (the latest per tuner, resource and action).
 * Amounts are rounded to cents once, here, so every rendering shows the same figures.
 */
export interface MoneyTotals {
  appliedMonthlyCostDelta: number;
  potentialMonthlyCostDelta: number;
  reversedMonthlyCostDelta: number;
  /** Applied changes (recommendations and findings are not changes). */
  appliedChanges: number;
  /** Distinct recommendations and observe-mode plans behind the potential. */
  recommendations: number;
  /** Of those, the changes a tuner planned but did not make (observe mode or a dry run). */
  wouldChange: number;
  /** What those planned changes would save a month (the cuts; increases are in wouldAddMonthly). */
  wouldSaveMonthly: number;
  wouldAddMonthly: number;
}

/** A change planned but not made because the tuner observes (or the run was a dry run). */
export function isWouldChange(d: Decision): boolean {
  return (
    d.outcome === 'planned' &&
    (d.guard === 'mode' || d.guard === 'dry-run') &&
    !['noop', 'finding', 'recommend'].includes(d.action)
  );
}

/**
 * The plan's totals in observe mode (or a dry run): "would change N / would save $X a month",
 * the latest plan per tuner, resource and action counting once.
 */
export function wouldChangeTotals(decisions: Decision[]): {
  wouldChange: number;
  wouldSaveMonthly: number;
  wouldAddMonthly: number;
} {
  const latest = new Map<string, Decision>();
  for (const d of decisions.filter(isWouldChange)) {
    const key = `${d.tuner}|${d.resource}|${d.action}`;
    const prev = latest.get(key);
    if (!prev || prev.at <= d.at) latest.set(key, d);
  }
  const deltas = [...latest.values()].map((d) => finite(d.monthlyCostDelta));
  return {
    wouldChange: latest.size,
    wouldSaveMonthly: cents(deltas.filter((x) => x < 0).reduce((a, x) => a - x, 0)),
    wouldAddMonthly: cents(deltas.filter((x) => x > 0).reduce((a, x) => a + x, 0)),
  };
}

/** "would change 3 / would save $412.50 a month (and add $20.00 a month)". */
export function wouldChangeText(t: {
  wouldChange: number;
  wouldSaveMonthly: number;
  wouldAddMonthly: number;
}): string {
  const plain = (x: number) => formatUsd(x).replace('+', '');
  const add = t.wouldAddMonthly > 0 ? ` (and add ${plain(t.wouldAddMonthly)} a month)` : '';
  return `would change ${t.wouldChange} / would save ${plain(t.wouldSaveMonthly)} a month${add}`;
}

const cents = (x: number) => Math.round(x * 100) / 100 || 0;
const finite = (x: number) => (Number.isFinite(x) ? x : 0);

function isPotential(d: Decision): boolean {
  if (d.action === 'recommend') return d.outcome === 'applied' || d.outcome === 'planned';
  return d.outcome === 'planned' && d.action !== 'noop' && d.action !== 'finding';
}

export function moneyTotals(decisions: Decision[]): MoneyTotals {
  const changes = decisions.filter(countsAsChange);
  const byResource = new Map<string, { down: number; up: number }>();
  for (const d of changes) {
    const key = `${d.tuner}|${d.resource}|${d.action}`;
    const entry = byResource.get(key) ?? { down: 0, up: 0 };
    const delta = finite(d.monthlyCostDelta);
    if (delta < 0) entry.down += -delta;
    else entry.up += delta;
    byResource.set(key, entry);
  }
  let reversed = 0;
  for (const { down, up } of byResource.values()) reversed += Math.min(down, up);
  const latest = new Map<string, Decision>();
  for (const d of decisions.filter(isPotential)) {
    const key = `${d.tuner}|${d.resource}|${d.action}`;
    const prev = latest.get(key);
    if (!prev || prev.at <= d.at) latest.set(key, d);
  }
  return {
    appliedMonthlyCostDelta: cents(changes.reduce((sum, d) => sum + finite(d.monthlyCostDelta), 0)),
    potentialMonthlyCostDelta: cents(
      [...latest.values()].reduce((sum, d) => sum + finite(d.monthlyCostDelta), 0),
    ),
    reversedMonthlyCostDelta: cents(reversed),
    appliedChanges: changes.length,
    recommendations: latest.size,
    ...wouldChangeTotals(decisions),
  };
}

/** The same sentence everywhere: "Applied changes: -$1,234.56/month net (...); recommendations: ...". */
export function totalsText(
  t: Omit<MoneyTotals, 'wouldChange' | 'wouldSaveMonthly' | 'wouldAddMonthly'> &
    Partial<Pick<MoneyTotals, 'wouldChange' | 'wouldSaveMonthly' | 'wouldAddMonthly'>>,
): string {
  const reversed =
    t.reversedMonthlyCostDelta > 0
      ? ` (changes worth ${formatUsd(t.reversedMonthlyCostDelta).replace('+', '')}/month were reversed within the period and net out)`
      : '';
  const plan =
    (t.wouldChange ?? 0) > 0
      ? ` Observe mode: ${wouldChangeText({ wouldChange: t.wouldChange ?? 0, wouldSaveMonthly: t.wouldSaveMonthly ?? 0, wouldAddMonthly: t.wouldAddMonthly ?? 0 })}.`
      : '';
  return `Cost: ${t.appliedChanges} applied change${t.appliedChanges === 1 ? '' : 's'}, ${formatUsd(t.appliedMonthlyCostDelta)}/month net${reversed}; ${t.recommendations} recommendation${t.recommendations === 1 ? '' : 's'} not acted on, ${formatUsd(t.potentialMonthlyCostDelta)}/month potential (not counted as saved).${plan}`;
}
