/**
 * What db-autopilot's OWN AWS resources cost, per Region (USD list prices, no free tier, no
 * discounts): the Lambda functions, CloudWatch (GetMetricData, other API requests, alarms, the
 * dashboard, custom metrics from EMF, log ingestion), the DynamoDB state table (on-demand), SNS,
 * Secrets Manager API calls, and interface VPC endpoints where the deployment adds them.
 *
 * The prices the tuners use for the databases they manage are a different table (shared/pricing.ts).
 */

/** Where these figures come from: the public AWS pricing pages, as recorded on SELF_PRICES_DATE. */
export const SELF_PRICES_SOURCE =
  'AWS public pricing pages: aws.amazon.com/lambda/pricing, /cloudwatch/pricing, /dynamodb/pricing/on-demand, /privatelink/pricing, /sns/pricing, /secrets-manager/pricing';
/** The date the figures were recorded (not re-fetched since: check the pages before relying on them). */
export const SELF_PRICES_DATE = '2025-06-01';

export interface SelfPrices {
  /** Lambda, per million requests. */
  lambdaRequestsPerMillion: number;
  /** Lambda arm64 (Graviton, as serverless.yml deploys), per GB-second. */
  lambdaArmGbSecond: number;
  /** CloudWatch GetMetricData, per 1,000 metrics requested. */
  getMetricDataPerThousandMetrics: number;
  /** CloudWatch API requests other than GetMetricData (PutMetricAlarm, DescribeAlarms, PutDashboard, ...), per 1,000. */
  cloudwatchRequestsPerThousand: number;
  /** One standard-resolution alarm metric, per month. */
  alarmMonth: number;
  /** One dashboard, per month. */
  dashboardMonth: number;
  /** One custom metric (EMF), per month, prorated by the hours it is published in. */
  customMetricMonth: number;
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logsIngestGb: number;
  /** DynamoDB on-demand (Standard table class), per million read / write request units. */
  dynamodbReadPerMillion: number;
  dynamodbWritePerMillion: number;
  /** DynamoDB storage, per GB-month (the first 25 GB are free; not counted here). */
  dynamodbStorageGbMonth: number;
  /** SNS publishes, per million requests (email delivery is separate and small). */
  snsPublishPerMillion: number;
  /** Secrets Manager API calls, per 10,000. */
  secretsManagerPer10kCalls: number;
  /** An interface VPC endpoint, per hour per Availability Zone. */
  vpcEndpointHourPerAz: number;
}

const US_EAST_1: SelfPrices = {
  lambdaRequestsPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  getMetricDataPerThousandMetrics: 0.01,
  cloudwatchRequestsPerThousand: 0.01,
  alarmMonth: 0.1,
  dashboardMonth: 3,
  customMetricMonth: 0.3,
  logsIngestGb: 0.5,
  dynamodbReadPerMillion: 0.125,
  dynamodbWritePerMillion: 0.625,
  dynamodbStorageGbMonth: 0.25,
  snsPublishPerMillion: 0.5,
  secretsManagerPer10kCalls: 0.05,
  vpcEndpointHourPerAz: 0.01,
};

/**
 * The Regions db-autopilot ships prices for. Another Region is refused by selfPrices() (the
 * message says to add it here) rather than silently priced as us-east-1.
 */
export const SELF_PRICES: Record<string, SelfPrices> = {
  'us-east-1': US_EAST_1,
  'us-east-2': US_EAST_1,
  'us-west-2': US_EAST_1,
  'eu-west-1': {
    ...US_EAST_1,
    logsIngestGb: 0.57,
    dynamodbReadPerMillion: 0.1415,
    dynamodbWritePerMillion: 0.7068,
    dynamodbStorageGbMonth: 0.283,
    vpcEndpointHourPerAz: 0.011,
  },
  'eu-central-1': {
    ...US_EAST_1,
    logsIngestGb: 0.63,
    dynamodbReadPerMillion: 0.1525,
    dynamodbWritePerMillion: 0.7625,
    dynamodbStorageGbMonth: 0.306,
    vpcEndpointHourPerAz: 0.012,
  },
};

/** The price table of one Region; throws naming the Region and the shipped ones when it has none. */
export function selfPrices(region: string): SelfPrices {
  const found = SELF_PRICES[region];
  if (!found) {
    throw new Error(
      `no price table for db-autopilot's own resources in ${region} (shipped: ${Object.keys(SELF_PRICES).join(', ')}); add one to shared/cost/prices.ts`,
    );
  }
  return found;
}
