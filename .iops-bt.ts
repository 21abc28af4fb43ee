import { runBacktest } from './shared/backtest/engine.ts';
import { parseOptions } from './shared/backtest/options.ts';
import { readTraceFile } from './shared/backtest/trace.ts';
const files = process.argv.slice(2);
for (const f of files) {
  const trace = readTraceFile('iops', f);
  const report = await runBacktest({ trace, options: parseOptions({}) });
  const rows = Object.entries(report.policies).map(([n, r]) => r && r.available ? `${n.padEnd(14)} unserved ${r.unservedPct.toFixed(3).padStart(7)}% sat ${String(r.saturationMinutes).padStart(5)} (${(100*r.saturationMinutes/report.minutes).toFixed(2)}%) cost $${r.cost.toFixed(2).padStart(9)} changes ${r.changes} refused ${r.refused}` : `${n} unavailable`);
  console.log(f, report.minutes, '\n  ' + rows.join('\n  '));
}
