import { createAutopilotPolicy } from './shared/backtest/plugins/iops.ts';
import { runPolicy } from './shared/backtest/engine.ts';
import { parseOptions } from './shared/backtest/options.ts';
import { readTraceFile } from './shared/backtest/trace.ts';
import * as pol from './shared/policies/iops.ts';
const orig = pol.decideIops;
const trace = readTraceFile('iops', process.argv[2] ?? '');
const from = Number(process.argv[3] ?? 0), to = Number(process.argv[4] ?? 1e9);
const p = await createAutopilotPolicy({ kind: 'iops', options: parseOptions({}) });
if ('available' in p) throw new Error('x');
const wrapped = { ...p, async decide(ctx: Parameters<typeof p.decide>[0]) {
  if (ctx.minute >= from && ctx.minute <= to) {
    const { observationAt } = await import('./shared/backtest/plugins/iops.ts');
    const { iopsSection } = await import('./shared/config/sections/iops.ts');
    const obs = observationAt(ctx, iopsSection.parse({}), []);
    const r = orig({ observation: obs, settings: pol.policySettings(iopsSection.parse({})), prices: (await import('./shared/pricing.ts')).priceTable(), now: ctx.now });
    console.log(ctx.minute, ctx.state.iops, JSON.stringify(r.detail), r.plan.actions.map(a => `${a.kind} ${a.to} ${a.reason}`).join('|') || r.plan.noopReason);
  }
  return p.decide(ctx);
}};
await runPolicy(trace, wrapped, parseOptions({}));
