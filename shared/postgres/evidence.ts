import type { Evidence } from '../core/model.ts';

/**
 * Evidence read from PostgreSQL's catalog or statistics views at one instant (not a CloudWatch
 * window): the value at `at`, with the threshold it was judged against when there is one.
 */
export function pointEvidence(
  metric: string,
  value: number | null | undefined,
  at: string,
  unit?: string,
  threshold?: number,
): Evidence {
  return {
    metric,
    statistic: 'Value',
    value: value ?? null,
    unit,
    window: { start: at, end: at, periodSeconds: 0 },
    ...(threshold === undefined ? {} : { threshold }),
  };
}
