import { runFleetBench } from './shared/cli/bench-fleet.ts';
await runFleetBench(2, 1, process.cwd(), async (store) => {
  const all = await store.exportDecisions({ since: '2026-01-01T00:00:00Z' });
  const by = new Map<string, { n: number; bytes: number }>();
  for (const d of all) {
    const k = `${d.tuner} ${d.action} ${d.outcome} ${d.guard ?? ''}`;
    const e = by.get(k) ?? { n: 0, bytes: 0 };
    e.n++; e.bytes += JSON.stringify(d).length;
    by.set(k, e);
  }
  for (const [k, v] of [...by].sort()) console.log(k.padEnd(60), v.n, Math.round(v.bytes / v.n));
});
