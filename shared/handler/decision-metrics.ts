import type { Decision } from '../core/model.ts';
import { MetricUnit, metrics } from './observability.ts';

/**
 * Emits the EMF metrics the dashboard graphs, for a batch of decisions: `Decisions` by tuner and
 * outcome, `Deferrals` and `Failures` by tuner (namespace DbAutopilot, via Powertools).
 * Every run calls it through finishRun() (shared/core/run.ts), so the dashboard counts all tuners.
 */
export function emitDecisionMetrics(decisions: ReadonlyArray<Pick<Decision, 'tuner' | 'outcome'>>): void {
  const counts = new Map<string, { tuner: string; outcome: string; n: number }>();
  for (const d of decisions) {
    const key = `${d.tuner}|${d.outcome}`;
    const c = counts.get(key) ?? { tuner: d.tuner, outcome: d.outcome, n: 0 };
    c.n += 1;
    counts.set(key, c);
  }
  for (const c of counts.values()) {
    const single = metrics.singleMetric();
    single.addDimension('tuner', c.tuner);
    single.addDimension('outcome', c.outcome);
    single.addMetric('Decisions', MetricUnit.Count, c.n);
    if (c.outcome === 'deferred' || c.outcome === 'failed') {
      const extra = metrics.singleMetric();
      extra.addDimension('tuner', c.tuner);
      extra.addMetric(c.outcome === 'deferred' ? 'Deferrals' : 'Failures', MetricUnit.Count, c.n);
    }
  }
}
