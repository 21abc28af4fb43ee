import type { Evidence } from '../core/model.ts';

/**
 * Links to the CloudWatch console. They do not expire (unlike presigned image URLs) and show the
 * metric over the decision's window, so a reader can check the evidence in one click.
 */

/** CloudWatch's console URL fragments use a rison-like "~" encoding; this encodes a value in it. */
function tilde(value: unknown): string {
  if (value === null || value === undefined) return '~null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? '~true' : '~false';
  if (typeof value === 'string') {
    return `'${encodeURIComponent(value).replace(/%/g, '*').replace(/~/g, '*7e').replace(/'/g, '*27')}`;
  }
  if (Array.isArray(value)) return `(${value.map((v) => `~${tilde(v)}`).join('')})`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `(${entries.map(([k, v]) => `${k}~${tilde(v)}`).join('~')})`;
}

export function metricConsoleUrl(evidence: Evidence, region: string): string | undefined {
  if (!evidence.namespace) return undefined;
  const metric: Array<string> = [evidence.namespace, evidence.metric];
  for (const [name, value] of Object.entries(evidence.dimensions ?? {})) metric.push(name, value);
  const graph = {
    metrics: [metric],
    view: 'timeSeries',
    stacked: false,
    region,
    stat: evidence.statistic.startsWith('p') ? evidence.statistic : capitalise(evidence.statistic),
    period: evidence.window.periodSeconds,
    start: evidence.window.start,
    end: evidence.window.end,
  };
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#metricsV2:graph=${tilde(graph)}`;
}

export function dashboardConsoleUrl(name: string, region: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(name)}`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
