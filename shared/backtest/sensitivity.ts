import type { BacktestOptions } from './options.ts';
import { backtestOptionsSchema } from './options.ts';
import type { SuiteResult } from './suite.ts';
import type { BacktestReport, PolicyName } from './types.ts';
import { POLICY_NAMES } from './types.ts';

/**
 * `npm run backtest -- --sensitivity`: how each policy's scores move with what the world shows
 * it. The same trace (or suite) runs at CloudWatch publication delay 0, 2 and 5 minutes (signal
 * strength x1) and at throttle / saturation signal strength x0.3, x1 and x3 (delay 2 minutes);
 * `delay 2 min, signal x1` is the default world, shared by both sweeps.
 */
export interface SensitivitySetting {
  name: string;
  publicationDelayMinutes: number;
  signalStrength: number;
}

export const SENSITIVITY_SETTINGS: readonly SensitivitySetting[] = [
  { name: 'delay 0 min', publicationDelayMinutes: 0, signalStrength: 1 },
  { name: 'delay 2 min (default)', publicationDelayMinutes: 2, signalStrength: 1 },
  { name: 'delay 5 min', publicationDelayMinutes: 5, signalStrength: 1 },
  { name: 'signal x0.3', publicationDelayMinutes: 2, signalStrength: 0.3 },
  { name: 'signal x3', publicationDelayMinutes: 2, signalStrength: 3 },
];

export interface Scores {
  unservedPct: number;
  saturationMinutes: number;
  cost: number;
  changes: number;
}

export interface SensitivityRow {
  setting: SensitivitySetting;
  /** Per policy: its scores (a suite's totals), or undefined when the policy is unavailable. */
  policies: Partial<Record<PolicyName, Scores>>;
}

export interface SensitivityResult {
  kind: string;
  source: string;
  rows: SensitivityRow[];
}

/** The options of one setting: the base options with its delay and signal strength. */
export function optionsFor(base: BacktestOptions, setting: SensitivitySetting): BacktestOptions {
  return backtestOptionsSchema.parse({
    ...base,
    publicationDelayMinutes: setting.publicationDelayMinutes,
    signalStrength: setting.signalStrength,
  });
}

function scoresOf(r: Scores): Scores {
  return {
    unservedPct: r.unservedPct,
    saturationMinutes: r.saturationMinutes,
    cost: r.cost,
    changes: r.changes,
  };
}

/** Scores of one trace's report, per policy. */
export function reportScores(report: BacktestReport): Partial<Record<PolicyName, Scores>> {
  const out: Partial<Record<PolicyName, Scores>> = {};
  for (const name of POLICY_NAMES) {
    const r = report.policies[name];
    if (r?.available) out[name] = scoresOf(r);
  }
  return out;
}

/** Scores of a suite's totals, per policy. */
export function suiteScores(suite: SuiteResult): Partial<Record<PolicyName, Scores>> {
  const out: Partial<Record<PolicyName, Scores>> = {};
  for (const name of POLICY_NAMES) {
    const t = suite.totals[name];
    if (t) out[name] = scoresOf(t);
  }
  return out;
}

/** Runs `score` once per setting. */
export async function runSensitivity(
  kind: string,
  source: string,
  base: BacktestOptions,
  score: (options: BacktestOptions) => Promise<Partial<Record<PolicyName, Scores>>>,
): Promise<SensitivityResult> {
  const rows: SensitivityRow[] = [];
  for (const setting of SENSITIVITY_SETTINGS) {
    rows.push({ setting, policies: await score(optionsFor(base, setting)) });
  }
  return { kind, source, rows };
}

/** The table: one row per policy and setting. */
export function formatSensitivity(result: SensitivityResult): string {
  const header = ['policy', 'setting', 'unserved %', 'saturation min', 'cost $', 'changes'];
  const rows: string[][] = [];
  for (const name of POLICY_NAMES) {
    for (const row of result.rows) {
      const s = row.policies[name];
      if (!s) continue;
      rows.push([
        name,
        row.setting.name,
        s.unservedPct.toFixed(3),
        String(s.saturationMinutes),
        s.cost.toFixed(2),
        String(s.changes),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    `${result.kind} sensitivity: ${result.source}`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

/** The --json shape: `{ kind, source, settings: [{ name, publicationDelayMinutes, signalStrength, policies }] }`. */
export function sensitivityJson(result: SensitivityResult): {
  kind: string;
  source: string;
  settings: Array<SensitivitySetting & { policies: Partial<Record<PolicyName, Scores>> }>;
} {
  return {
    kind: result.kind,
    source: result.source,
    settings: result.rows.map((r) => ({ ...r.setting, policies: r.policies })),
  };
}
