/**
 * The fleet's report and digest (issue 27): each member scope's totals of a day (kept by the state
 * table as decisions are recorded, shared/state/totals.ts), grouped by account and Region, with
 * fleet totals, and the scopes that need attention (failed decisions: a member role that could not
 * be assumed, a failed run) with why. `summarizeFleet` and `renderFleetText` are pure.
 */
import type { DecisionTotals, StateStore } from '../core/contracts.ts';
import type { Decision, Outcome } from '../core/model.ts';
import { type FleetScope, runInScope, scopeKey } from '../core/scope.ts';
import { addToTotals } from '../state/totals.ts';
import { pool } from './local-map.ts';

export interface Counts {
  outcomes: Partial<Record<Outcome, number>>;
  noops: Partial<Record<Outcome, number>>;
  appliedCostDelta: number;
}

export interface ScopeTotals extends FleetScope {
  totals: DecisionTotals[];
  /** The newest failed decisions' reasons (attention list). */
  failures?: string[];
}

export interface FleetSummary {
  period: string;
  accounts: Array<{ account: string; regions: Array<{ region: string } & Counts>; total: Counts }>;
  fleet: Counts & { accounts: number; scopes: number };
  attention: Array<{ scope: string; failed: number; reasons: string[] }>;
}

const empty = (): Counts => ({ outcomes: {}, noops: {}, appliedCostDelta: 0 });

const add = (into: Counts, part: Counts): Counts => addToTotals(into, part);

/** Groups scopes by account (sorted) and Region (sorted); every level's totals are sums of the level below. */
export function summarizeFleet(period: string, rows: readonly ScopeTotals[]): FleetSummary {
  const byAccount = new Map<string, Array<{ region: string } & Counts>>();
  const attention: FleetSummary['attention'] = [];
  for (const row of rows) {
    const counts = row.totals.reduce((c, t) => add(c, t), empty());
    const regions = byAccount.get(row.account) ?? [];
    regions.push({ region: row.region, ...counts });
    byAccount.set(row.account, regions);
    const failed = (counts.outcomes.failed ?? 0) + (counts.noops.failed ?? 0);
    if (failed > 0) attention.push({ scope: scopeKey(row), failed, reasons: row.failures ?? [] });
  }
  const fleet = { ...empty(), accounts: byAccount.size, scopes: rows.length };
  const accounts = [...byAccount.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([account, regions]) => {
      regions.sort((a, b) => a.region.localeCompare(b.region));
      const total = regions.reduce((c, r) => add(c, r), empty());
      add(fleet, total);
      return { account, regions, total };
    });
  attention.sort((a, b) => b.failed - a.failed || a.scope.localeCompare(b.scope));
  return { period, accounts, fleet, attention };
}

function countsText(c: Counts): string {
  const o = c.outcomes;
  const money =
    c.appliedCostDelta === 0
      ? ''
      : `, ${c.appliedCostDelta < 0 ? '-' : '+'}$${Math.abs(c.appliedCostDelta).toFixed(2)}/month`;
  return `${o.applied ?? 0} applied, ${o.deferred ?? 0} deferred, ${o.skipped ?? 0} skipped, ${(o.failed ?? 0) + (c.noops.failed ?? 0)} failed, ${o.planned ?? 0} planned${money}`;
}

/** Plain text (SNS email): the fleet totals first, then each account and its Regions, then attention. */
export function renderFleetText(s: FleetSummary, maxAttention = 20): string {
  const lines = [
    `db-autopilot fleet ${s.period}: ${s.fleet.accounts} accounts, ${s.fleet.scopes} account-Regions`,
    `Fleet: ${countsText(s.fleet)}`,
    '',
  ];
  for (const a of s.accounts) {
    lines.push(`Account ${a.account}: ${countsText(a.total)}`);
    for (const r of a.regions) lines.push(`  ${r.region}: ${countsText(r)}`);
  }
  if (s.attention.length > 0) {
    lines.push('', `Needs attention (${s.attention.length} account-Regions with failures):`);
    for (const a of s.attention.slice(0, maxAttention))
      lines.push(`  ${a.scope}: ${a.failed} failed${a.reasons[0] ? ` - ${a.reasons[0]}` : ''}`);
    if (s.attention.length > maxAttention) lines.push(`  ... and ${s.attention.length - maxAttention} more`);
  }
  return lines.join('\n');
}

/** A short subject (SNS: under 100 characters, one line). */
export function fleetSubject(s: FleetSummary): string {
  const failed = (s.fleet.outcomes.failed ?? 0) + (s.fleet.noops.failed ?? 0);
  return `db-autopilot fleet ${s.period}: ${s.fleet.outcomes.applied ?? 0} applied, ${failed} failed in ${s.fleet.accounts} accounts`.slice(
    0,
    99,
  );
}

/** Reads each scope's totals of `period` (one read per scope) and, where it failed, why. */
export async function readFleetTotals(
  store: StateStore,
  scopes: readonly FleetScope[],
  period: string,
  concurrency = 10,
): Promise<ScopeTotals[]> {
  return pool(scopes, concurrency, (scope) =>
    runInScope(scope, {}, async () => {
      const totals = await store.totals(period);
      const failed = totals.some((t) => (t.outcomes.failed ?? 0) + (t.noops.failed ?? 0) > 0);
      if (!failed || period.length !== 10) return { ...scope, totals };
      const day = await store.listDecisions({ since: `${period}T00:00:00.000Z`, until: nextDay(period) });
      const failures = day
        .filter((d: Decision) => d.outcome === 'failed')
        .reverse()
        .slice(0, 3)
        .map((d) => `${d.tuner} ${d.resource}: ${d.reason}`);
      return { ...scope, totals, failures };
    }),
  );
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString();
}
