import { runBacktest } from '../../../shared/backtest/engine.ts';
import { type BacktestOptionsInput, parseOptions } from '../../../shared/backtest/options.ts';
import {
  createDynamodbAutopilot,
  type DynamodbPluginOptions,
} from '../../../shared/backtest/plugins/dynamodb.ts';
import type { DynamodbTrace, PolicyMetrics, PolicyResult } from '../../../shared/backtest/types.ts';
import { dynamodbSection } from '../../../shared/config/sections/dynamodb.ts';

export interface SuiteRow {
  trace: string;
  /** Total demand of the trace in capacity units (read + write). */
  demandUnits: number;
  autopilot: PolicyMetrics;
  aws: PolicyMetrics;
  oracle: PolicyMetrics;
}

function metrics(r: PolicyResult | undefined): PolicyMetrics {
  if (!r?.available) throw new Error('policy unavailable');
  return r;
}

export async function runSuite(
  traces: DynamodbTrace[],
  plugin: DynamodbPluginOptions,
  extra: BacktestOptionsInput = {},
  section: Record<string, unknown> = {},
): Promise<SuiteRow[]> {
  const options = parseOptions(extra);
  const config = dynamodbSection.parse(section);
  const rows: SuiteRow[] = [];
  for (const trace of traces) {
    const report = await runBacktest({
      trace,
      options,
      autopilot: () => createDynamodbAutopilot(options, config, plugin),
    });
    rows.push({
      trace: trace.source,
      demandUnits: (trace.read.reduce((a, b) => a + b, 0) + trace.write.reduce((a, b) => a + b, 0)) * 60,
      autopilot: metrics(report.policies['db-autopilot']),
      aws: metrics(report.policies['aws-target-tracking']),
      oracle: metrics(report.policies.oracle),
    });
  }
  return rows;
}

export function totals(rows: SuiteRow[]) {
  const sum = (f: (r: SuiteRow) => number) => rows.reduce((s, r) => s + f(r), 0);
  const units = (r: SuiteRow, m: PolicyMetrics) => (m.unservedPct / 100) * r.demandUnits;
  return {
    /** Unserved capacity units over the whole suite. */
    autopilotUnserved: sum((r) => units(r, r.autopilot)),
    awsUnserved: sum((r) => units(r, r.aws)),
    autopilotCost: sum((r) => r.autopilot.cost),
    oracleCost: sum((r) => r.oracle.cost),
    awsCost: sum((r) => r.aws.cost),
  };
}

export function table(rows: SuiteRow[]): string {
  const lines = [
    '| trace | autopilot unserved % | AWS TT unserved % | autopilot $ | AWS TT $ | oracle $ | autopilot/oracle |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.trace} | ${r.autopilot.unservedPct.toFixed(3)} | ${r.aws.unservedPct.toFixed(3)} | ${r.autopilot.cost.toFixed(2)} | ${r.aws.cost.toFixed(2)} | ${r.oracle.cost.toFixed(2)} | ${(r.autopilot.cost / r.oracle.cost).toFixed(2)} |`,
    );
  }
  const t = totals(rows);
  const all = rows.reduce((s, r) => s + r.demandUnits, 0);
  lines.push(
    `| TOTAL (units) | ${((100 * t.autopilotUnserved) / all).toFixed(3)} | ${((100 * t.awsUnserved) / all).toFixed(3)} | ${t.autopilotCost.toFixed(2)} | ${t.awsCost.toFixed(2)} | ${t.oracleCost.toFixed(2)} | ${(t.autopilotCost / t.oracleCost).toFixed(2)} |`,
  );
  return lines.join('\n');
}
