import { countsAsChange } from '../core/guards.ts';
import type { Decision } from '../core/model.ts';
import { MetricUnit, metrics } from './observability.ts';

/** The EMF metrics of one batch of decisions: name, the tuner dimension (none: fleet-wide), count. */
export interface DecisionMetric {
  name: 'Decisions' | 'Changes' | 'Deferrals' | 'Failures';
  tuner?: string;
  n: number;
}

/**
 * What a batch of decisions publishes (pure): `Decisions` fleet-wide (service only), and by tuner
 * only what is worth a line on the dashboard: `Changes` (applied changes), `Deferrals`, `Failures`.
 *
 * Each distinct metric is a custom metric billed for every hour it is published in (about $0.30 a
 * month each, shared/cost/prices.ts). `Decisions` by tuner and outcome was published every hour
 * for every tuner (no-ops are 93% of decisions) and nothing but a dashboard line read the
 * outcome; a tuner's changes, deferrals and failures are rare, so their metrics cost only the
 * hours they happen in.
 */
export function decisionMetrics(
  decisions: ReadonlyArray<Pick<Decision, 'tuner' | 'outcome' | 'action'>>,
): DecisionMetric[] {
  const out = new Map<string, DecisionMetric>();
  const add = (name: DecisionMetric['name'], tuner?: string) => {
    const key = `${name}|${tuner ?? ''}`;
    const m = out.get(key) ?? { name, ...(tuner ? { tuner } : {}), n: 0 };
    m.n += 1;
    out.set(key, m);
  };
  for (const d of decisions) {
    add('Decisions');
    if (countsAsChange(d)) add('Changes', d.tuner);
    if (d.outcome === 'deferred') add('Deferrals', d.tuner);
    if (d.outcome === 'failed') add('Failures', d.tuner);
  }
  return [...out.values()];
}

/**
 * Emits the EMF metrics the dashboard graphs for a batch of decisions (namespace DbAutopilot, via
 * Powertools, which adds `service`). Every run calls it through finishRun() (shared/core/run.ts).
 */
export function emitDecisionMetrics(
  decisions: ReadonlyArray<Pick<Decision, 'tuner' | 'outcome' | 'action'>>,
): void {
  for (const m of decisionMetrics(decisions)) {
    const single = metrics.singleMetric();
    if (m.tuner) single.addDimension('tuner', m.tuner);
    single.addMetric(m.name, MetricUnit.Count, m.n);
  }
}
