import type { Decision, Outcome } from '../core/model.ts';
import { withRepeats } from '../state/slim.ts';
import { reasonText } from './describe.ts';
import { costText, decisionHeadline } from './format.ts';
import {
  type ImpactMinutes,
  isHousekeeping,
  type ResourceDayRow,
  resourceDayRows,
  resourceDayText,
} from './resource-days.ts';
import { type MoneyTotals, moneyTotals, totalsText } from './totals.ts';

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
  /** Changes applied to the databases (every one: collapsed per resource and action with a count). */
  applied: Decision[];
  /** Recommendations and findings made (not acted on: potential, never saved). */
  recommendations: Decision[];
  /** db-autopilot's own alarms and dashboard kept in step. */
  housekeeping: Decision[];
  deferred: Decision[];
  skipped: Decision[];
  failed: Decision[];
  /** Runs that failed on an unexpected error (recorded by shared/handler/wrap.ts, guard `run-failed`). */
  failedRuns: Decision[];
  /** Observe mode or dry runs: what would have been done. */
  planned: Decision[];
  maintenance: Decision[];
  insights: Decision[];
  drift: Decision[];
  /** The period's money, the same accounting as report.md / report.json (totals.ts). */
  totals: MoneyTotals;
  /** Per resource, per day: start and end setting, changes, minutes throttled/saturated, cost. */
  resourceDays: ResourceDayRow[];
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
const ADVICE = new Set(['recommend', 'finding']);

/**
 * A deferral is listed only while it still stands at the digest's end: the latest decision about
 * that tuner and resource is still a deferral (a later change, no-op or skip settled it).
 */
export function stillDeferred(decisions: Decision[]): Decision[] {
  const latest = new Map<string, Decision>();
  for (const d of decisions) {
    const key = `${d.tuner}|${d.resource}`;
    const prev = latest.get(key);
    if (!prev || prev.at <= d.at) latest.set(key, d);
  }
  return [...latest.values()].filter((d) => d.outcome === 'deferred');
}

export function buildDigest(input: {
  decisions: Decision[];
  since: string;
  until: string;
  paused: boolean;
  dashboardUrl?: string;
  /** Minutes throttled/saturated per resource, measured from published metrics (impact.ts). */
  impact?: Record<string, ImpactMinutes | null>;
}): Digest {
  // A run of identical skips is read as its first with the times it repeated: each counts.
  const inWindow = withRepeats(input.decisions).filter((d) => d.at >= input.since && d.at < input.until);
  const byOutcome = (o: Outcome) =>
    inWindow.filter((d) => d.outcome === o && d.action !== 'noop' && !ACTING.has(d.tuner));
  const repeats: Record<string, number> = {};
  const stillHeld = new Set(stillDeferred(inWindow).map((d) => `${d.tuner}|${d.resource}|${d.action}`));
  const counts: Record<Outcome, number> = {
    planned: 0,
    intended: 0,
    applied: 0,
    deferred: 0,
    skipped: 0,
    failed: 0,
  };
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
    applied: collapse(
      byOutcome('applied').filter((d) => !isHousekeeping(d) && !ADVICE.has(d.action)),
      repeats,
    ),
    recommendations: collapse(
      byOutcome('applied').filter((d) => !isHousekeeping(d) && ADVICE.has(d.action)),
      repeats,
    ),
    housekeeping: collapse(byOutcome('applied').filter(isHousekeeping), repeats),
    deferred: collapse(
      byOutcome('deferred').filter((d) => stillHeld.has(`${d.tuner}|${d.resource}|${d.action}`)),
      repeats,
    ),
    skipped: collapse(
      byOutcome('skipped').filter((d) => d.guard !== 'drift'),
      repeats,
    ),
    failedRuns: inWindow.filter((d) => d.guard === 'run-failed'),
    failed: collapse(
      inWindow.filter((d) => d.outcome === 'failed' && d.guard !== 'run-failed'),
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
    totals: moneyTotals(inWindow),
    resourceDays: resourceDayRows(inWindow, input.impact),
    dashboardUrl: input.dashboardUrl,
  };
}

export function digestTitle(d: Digest): string {
  const day = d.until.slice(0, 10);
  const paused = d.paused ? ' (PAUSED)' : '';
  const changes = d.totals.appliedChanges;
  return `db-autopilot daily digest ${day}${paused}: ${changes} change${changes === 1 ? '' : 's'} applied, ${d.deferred.length} still deferred, ${d.counts.failed} failed`;
}

/** Sections whose every item must appear (applied changes and failures are never cut). */
const COMPLETE = new Set([
  'Done',
  'Failed runs',
  'Failed',
  'Maintenance',
  'Housekeeping (alarms, dashboard)',
]);

/** Plain text for email and the terminal. */
export function renderDigestText(d: Digest, maxPerSection = 15): string {
  const out: string[] = [digestTitle(d), ''];
  out.push(
    d.paused
      ? 'db-autopilot is PAUSED: nothing is being changed until someone resumes it.'
      : 'db-autopilot is running.',
  );
  out.push(totalsText(d.totals));
  out.push(`Period: ${d.since} to ${d.until}`);
  out.push('', 'Per resource and day (throttled/saturated minutes from CloudWatch metrics)');
  out.push(...resourceDayText(d.resourceDays));
  const section = (title: string, items: Decision[], detail = true) => {
    out.push('', `${title} (${items.length})`);
    if (items.length === 0) {
      out.push('  none');
      return;
    }
    const limit = COMPLETE.has(title) ? items.length : maxPerSection;
    for (const item of items.slice(0, limit)) {
      const n = d.repeats[item.id];
      out.push(`  - ${decisionHeadline(item)}${n ? ` (${n} times; latest shown)` : ''}`);
      if (detail) out.push(`    why: ${reasonText(item)}; ${costText(item.monthlyCostDelta, item)}`);
    }
    if (items.length > limit) out.push(`  ... and ${items.length - limit} more (see the audit log)`);
  };
  section('Done', d.applied);
  section('Failed runs', d.failedRuns);
  section('Failed', d.failed);
  section('Still deferred', d.deferred);
  section('Recommendations and findings (not acted on)', d.recommendations);
  section('Skipped', d.skipped);
  section('Would have done (observe mode)', d.planned);
  section('Maintenance', d.maintenance);
  section('Open insights', d.insights);
  section('Drift (changes made outside db-autopilot)', d.drift);
  section('Housekeeping (alarms, dashboard)', d.housekeeping, false);
  if (d.dashboardUrl) out.push('', `Fleet dashboard: ${d.dashboardUrl}`);
  return out.join('\n');
}
