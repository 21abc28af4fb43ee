/**
 * List prices (USD, us-east-1) used for every action's expected monthly cost change.
 * The config's `prices` map overrides any key (other regions, negotiated prices).
 * Sources: the AWS pricing pages for RDS and DynamoDB (secondary sources noted in aws-facts.md).
 */
export const HOURS_PER_MONTH = 730;

export const DEFAULT_PRICES = {
  // RDS storage (per GB-month) and Provisioned IOPS (per IOPS-month), Single-AZ.
  'rds.gp2.gbMonth': 0.115,
  'rds.gp3.gbMonth': 0.115,
  'rds.gp3.iopsMonth': 0.02, // above the included baseline
  'rds.gp3.mibpsMonth': 0.08, // throughput above the included baseline
  'rds.io1.gbMonth': 0.125,
  'rds.io1.iopsMonth': 0.1,
  'rds.io2.gbMonth': 0.125,
  'rds.io2.iopsMonth': 0.1,
  // DynamoDB provisioned capacity (per capacity-unit-hour) and on-demand (per million request units).
  'dynamodb.rcuHour': 0.00013,
  'dynamodb.wcuHour': 0.00065,
  'dynamodb.onDemandReadPerMillion': 0.125,
  'dynamodb.onDemandWritePerMillion': 0.625,
  // DynamoDB Standard-Infrequent Access table class: higher throughput prices, lower storage
  // (us-east-1, secondary sources since the Nov 2024 on-demand cut; check the official page).
  'dynamodb.ia.rcuHour': 0.00016,
  'dynamodb.ia.wcuHour': 0.00081,
  'dynamodb.ia.onDemandReadPerMillion': 0.15625,
  'dynamodb.ia.onDemandWritePerMillion': 0.78125,
  // RDS / Aurora instance hours (On-Demand, Single-AZ), the classes the example config uses.
  'rds.instance.db.r6g.large.hour': 0.225,
  'rds.instance.db.r6g.xlarge.hour': 0.45,
  'rds.instance.db.r6g.2xlarge.hour': 0.9,
  'rds.instance.db.m6g.large.hour': 0.152,
  'rds.instance.db.m6g.xlarge.hour': 0.304,
  'rds.instance.db.t4g.medium.hour': 0.065,
  'aurora.instance.db.r6g.large.hour': 0.26,
  'aurora.instance.db.r6g.xlarge.hour': 0.519,
  // Aurora Serverless v2, Aurora Standard: per ACU-hour (Aurora pricing page; shared/aws/aurora-serverless.ts).
  'aurora.serverless.acuHour': 0.12,
  // RDS Proxy: per vCPU-hour of the target instances, minimum 2 vCPUs (RDS Proxy pricing page).
  'rdsProxy.vcpuHour': 0.015,
} as const satisfies Record<string, number>;

export type PriceKey = keyof typeof DEFAULT_PRICES | (string & {});

export type PriceTable = Record<string, number>;

export function priceTable(overrides: Record<string, number> = {}): PriceTable {
  return { ...DEFAULT_PRICES, ...overrides };
}

/** A price by key; throws a clear error when the table has none (add it to the config's `prices`). */
export function price(table: PriceTable, key: PriceKey): number {
  const value = table[key];
  if (value === undefined) {
    throw new Error(`no price for "${key}": add it under "prices" in the configuration`);
  }
  return value;
}
