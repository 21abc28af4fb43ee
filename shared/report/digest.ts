import type { Decision, Outcome } from '../core/model.ts';
import { costText, decisionHeadline, formatUsd } from './format.ts';

/**
 * The daily digest: what db-autopilot did, deferred and skipped and why, the month's cost change,
 * maintenance results, open insights, what observe mode would have done, drift, and whether it is
 * paused. Built from the audit log only (pure: the caller reads the decisions).
 */
export interface Digest {
  since: string;
  until: string;
  paused: boolean;
  counts: Record<Outcome, number>;
  applied: Decision[];
  deferred: Decision[];
  skipped: Decision[];
  failed: Decision[];
  /** Observe mode or dry runs: what would have been done. */
  planned: Decision[];
  maintenance: Decision[];
  insights: Decision[];
  drift: Decision[];
  /** Sum of monthlyCostDelta of changes applied since the start of the calendar month. */
  monthCostDelta: number;
  dashboardUrl?: string;
  /** Decision id -> how many times the same outcome repeated for that resource and action (latest shown). */
  repeats: Record<string, number>;
}

/**
 * Tuners re-plan every few minutes, so a change that must wait is deferred on every run: the digest
 * lists each resource+action+outcome once (the latest) with how often it repeated. Changes to the
 * databases come before db-autopilot's own housekeeping (alarms, dashboard).
 */
function collapse(items: Decision[], repeats: Record<string, number>): Decision[] {
  const latest = new Map<string, { d: Decision; n: number }>();
  for (const d of items) {
    const key = `${d.tuner}|${d.resource}|${d.action}|${d.outcome}`;
    const prev = latest.get(key);
    if (!prev) latest.set(key, { d, n: 1 });
    else latest.set(key, { d: prev.d.at <= d.at ? d : prev.d, n: prev.n + 1 });
  }
  const out = [...latest.values()].map(({ d, n }) => {
    if (n > 1) repeats[d.id] = n;
    return d;
  });
  const housekeeping = (d: Decision) => (d.tuner === 'alarms' || d.tuner === 'control' ? 1 : 0);
  return out.sort((a, b) => housekeeping(a) - housekeeping(b) || a.at.localeCompare(b.at));
}

const ACTING = new Set(['maintenance', 'insights']);

/** The sum of monthlyCostDelta of the applied decisions (the month's cost change). */
export function appliedCostDelta(decisions: Decision[]): number {
  return decisions
    .filter((d) => d.outcome === 'applied')
    .reduce((sum, d) => sum + (Number.isFinite(d.monthlyCostDelta) ? d.monthlyCostDelta : 0), 0);
}

export function buildDigest(input: {
  decisions: Decision[];
  /** Applied changes since the start of the calendar month (the state table's monthly totals). */
  monthCostDelta: number;
  since: string;
  until: string;
  paused: boolean;
  dashboardUrl?: string;
}): Digest {
  const inWindow = input.decisions.filter((d) => d.at >= input.since && d.at < input.until);
  const byOutcome = (o: Outcome) =>
    inWindow.filter((d) => d.outcome === o && d.action !== 'noop' && !ACTING.has(d.tuner));
  const repeats: Record<string, number> = {};
  const counts: Record<Outcome, number> = { planned: 0, applied: 0, deferred: 0, skipped: 0, failed: 0 };
  for (const d of inWindow) if (d.action !== 'noop') counts[d.outcome]++;
  // Insights are listed once per open finding: keep the newest decision per resource+action+to.
  const latestFinding = new Map<string, Decision>();
  for (const d of inWindow.filter((x) => x.tuner === 'insights' && x.action !== 'noop')) {
    const key = `${d.resource}|${JSON.stringify(d.to)}`;
    const prev = latestFinding.get(key);
    if (!prev || prev.at < d.at) latestFinding.set(key, d);
  }
  return {
    since: input.since,
    until: input.until,
    paused: input.paused,
    counts,
    applied: collapse(byOutcome('applied'), repeats),
    deferred: collapse(byOutcome('deferred'), repeats),
    skipped: collapse(
      byOutcome('skipped').filter((d) => d.guard !== 'drift'),
      repeats,
    ),
    failed: collapse(
      inWindow.filter((d) => d.outcome === 'failed'),
      repeats,
    ),
    planned: collapse(byOutcome('planned'), repeats),
    maintenance: inWindow.filter((d) => d.tuner === 'maintenance' && d.action !== 'noop'),
    insights: [...latestFinding.values()],
    drift: collapse(
      inWindow.filter((d) => d.guard === 'drift'),
      repeats,
    ),
    repeats,
    monthCostDelta: input.monthCostDelta,
    dashboardUrl: input.dashboardUrl,
  };
}

export function digestTitle(d: Digest): string {
  const day = d.until.slice(0, 10);
  const paused = d.paused ? ' (PAUSED)' : '';
  return `db-autopilot daily digest ${day}${paused}: ${d.counts.applied} done, ${d.counts.deferred} deferred, ${d.counts.failed} failed`;
}

/** Plain text for email and the terminal. */
export function renderDigestText(d: Digest, maxPerSection = 15): string {
  const out: string[] = [digestTitle(d), ''];
  out.push(
    d.paused
      ? 'db-autopilot is PAUSED: nothing is being changed until someone resumes it.'
      : 'db-autopilot is running.',
  );
  out.push(`Cost change of this month's applied actions: ${formatUsd(d.monthCostDelta)}/month`);
  out.push(`Period: ${d.since} to ${d.until}`);
  const section = (title: string, items: Decision[], detail = true) => {
    out.push('', `${title} (${items.length})`);
    if (items.length === 0) {
      out.push('  none');
      return;
    }
    for (const item of items.slice(0, maxPerSection)) {
      const n = d.repeats[item.id];
      out.push(`  - ${decisionHeadline(item)}${n ? ` (${n} times; latest shown)` : ''}`);
      if (detail) out.push(`    why: ${item.reason}; ${costText(item.monthlyCostDelta)}`);
    }
    if (items.length > maxPerSection)
      out.push(`  ... and ${items.length - maxPerSection} more (see the audit log)`);
  };
  section('Done', d.applied);
  section('Deferred', d.deferred);
  section('Failed', d.failed);
  section('Skipped', d.skipped);
  section('Would have done (observe mode)', d.planned);
  section('Maintenance', d.maintenance);
  section('Open insights', d.insights);
  section('Drift (changes made outside db-autopilot)', d.drift);
  if (d.dashboardUrl) out.push('', `Fleet dashboard: ${d.dashboardUrl}`);
  return out.join('\n');
}
