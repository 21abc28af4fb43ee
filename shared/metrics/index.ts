export { dynamodbSeries, rdsInstanceSeries } from './catalog.ts';
export {
  describePlan,
  type GetMetricsOptions,
  getMetrics,
  type MetricsResult,
  type SeriesResult,
} from './fetch.ts';
export { isThrottling, mapLimit, RateLimiter } from './limits.ts';
export {
  effectivePeriod,
  MAX_DATAPOINTS_PER_REQUEST,
  MAX_QUERIES_PER_REQUEST,
  type MetricRef,
  type MetricsQuery,
  minCallsFor,
  planRequests,
  type SeriesRequest,
} from './plan.ts';
