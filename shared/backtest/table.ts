import type { SuiteResult } from './suite.ts';
import type { BacktestReport, PolicyName, PolicyResult } from './types.ts';
import { POLICY_NAMES } from './types.ts';

/** The side-by-side table the CLI prints. */
export function formatTable(report: BacktestReport): string {
  const header = ['policy', 'unserved %', 'saturation min', 'cost $', 'changes'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const name of POLICY_NAMES) {
    const r: PolicyResult | undefined = report.policies[name];
    if (!r) continue;
    if (!r.available) {
      rows.push([name, 'n/a', 'n/a', 'n/a', 'n/a']);
      notes.push(`  ${name}: ${r.reason}`);
      continue;
    }
    rows.push([name, ...scoreCells(r)]);
  }
  const days = (report.minutes / 1440).toFixed(1);
  return [
    `${report.kind} backtest: ${report.trace} (${report.minutes} minutes, ${days} days)`,
    ...aligned(header, rows, 1),
    ...(notes.length > 0 ? ['', ...notes] : []),
  ].join('\n');
}

/** The score columns of a policy's result (or of its suite totals). */
function scoreCells(r: {
  unservedPct: number;
  saturationMinutes: number;
  cost: number;
  changes: number;
}): string[] {
  return [r.unservedPct.toFixed(3), String(r.saturationMinutes), r.cost.toFixed(2), String(r.changes)];
}

/** Header, rule and rows in columns: the first `leftColumns` padded right, the rest left. */
function aligned(header: string[], rows: string[][], leftColumns: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < leftColumns ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** The --json shape: `{ "policies": { name: { unservedPct, saturationMinutes, cost, changes, ... } } }`. */
export function toJson(report: BacktestReport): {
  kind: string;
  trace: string;
  minutes: number;
  policies: Partial<Record<PolicyName, PolicyResult>>;
} {
  return { kind: report.kind, trace: report.trace, minutes: report.minutes, policies: report.policies };
}

/** Suite output: one row per trace and policy, then the totals per policy. */
export function formatSuite(suite: SuiteResult): string {
  const header = ['trace', 'policy', 'unserved %', 'saturation min', 'cost $', 'changes'];
  const rows: string[][] = [];
  for (const report of suite.reports) {
    for (const name of POLICY_NAMES) {
      const r = report.policies[name];
      if (!r) continue;
      rows.push(
        r.available
          ? [report.trace, name, ...scoreCells(r)]
          : [report.trace, name, 'n/a', 'n/a', 'n/a', 'n/a'],
      );
    }
  }
  for (const name of POLICY_NAMES) {
    const t = suite.totals[name];
    if (!t) continue;
    rows.push([`TOTAL (${t.traces} traces)`, name, ...scoreCells(t)]);
  }
  return [`${suite.kind} suite`, ...aligned(header, rows, 2)].join('\n');
}

export function suiteJson(suite: SuiteResult): {
  kind: string;
  totals: SuiteResult['totals'];
  traces: Array<ReturnType<typeof toJson>>;
} {
  return { kind: suite.kind, totals: suite.totals, traces: suite.reports.map(toJson) };
}
