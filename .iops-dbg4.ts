import { generateTrace } from './shared/backtest/generate-traces.ts';
import { createAutopilotPolicy, observationAt } from './shared/backtest/plugins/iops.ts';
import { runPolicy } from './shared/backtest/engine.ts';
import { parseOptions } from './shared/backtest/options.ts';
import { iopsSection } from './shared/config/sections/iops.ts';
import { decideIops, policySettings } from './shared/policies/iops.ts';
import { priceTable } from './shared/pricing.ts';
const [shape, seedS, fromS, toS] = process.argv.slice(2);
const trace = generateTrace('iops', shape as 'flash-sale', { seed: Number(seedS) }) as { kind: 'iops'; iops: number[]; source: string };
const from = Number(fromS), to = Number(toS);
const p = await createAutopilotPolicy({ kind: 'iops', options: parseOptions({}) });
if ('available' in p) throw new Error('x');
const wrapped = { ...p, async decide(ctx: Parameters<typeof p.decide>[0]) {
  if (ctx.minute >= from && ctx.minute <= to) {
    const obs = observationAt(ctx, iopsSection.parse({}), []);
    const r = decideIops({ observation: obs, settings: policySettings(iopsSection.parse({})), prices: priceTable(), now: ctx.now });
    console.log(ctx.minute, ctx.state.iops, ctx.state.status, JSON.stringify(r.detail).slice(0,200), r.plan.actions.map(a => `${a.kind} ${a.to} ${a.reason}`).join('|').slice(0,300) || r.plan.noopReason?.slice(0,200));
  }
  return p.decide(ctx);
}};
await runPolicy(trace, wrapped, parseOptions({}));
