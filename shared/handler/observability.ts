import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Structured JSON logs and EMF metrics, one instance per process (Powertools' pattern).
 * Never log a secret, a webhook URL or a connection string: use shared/core/errors.ts#redact.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'db-autopilot',
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
});

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'DbAutopilot',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'db-autopilot',
});

export { MetricUnit };
