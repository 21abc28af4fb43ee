const orig = globalThis.setTimeout;
const seen = new Map<string, { n: number; ms: number }>();
// biome-ignore lint: diagnostic
(globalThis as any).setTimeout = (fn: any, ms?: number, ...rest: any[]) => {
  if ((ms ?? 0) >= 5) {
    const stack = (new Error().stack ?? '').split('\n').slice(2, 6).map((l) => l.trim()).join(' < ');
    const e = seen.get(stack) ?? { n: 0, ms: 0 };
    e.n++; e.ms += ms ?? 0; seen.set(stack, e);
  }
  return orig(fn, ms, ...rest);
};
const { runDemo } = await import('./shared/cli/demo.ts');
const t0 = performance.now();
await runDemo({ out: '/tmp/demo-t', hours: 6, postgres: false, print: () => {} });
console.log('wall', performance.now() - t0, process.cpuUsage());
for (const [k, v] of [...seen.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 6)) console.log(v.n, Math.round(v.ms), k);
