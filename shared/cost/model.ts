/**
 * db-autopilot's own monthly AWS bill, from what its functions were measured to request during a
 * simulated window (shared/cost/meter.ts) and the shipped prices of the Region
 * (shared/cost/prices.ts). Pure: no clock, no I/O. Read in order:
 *
 *   monthFactor -> lambdaBill -> metricsBill -> alarmsBill -> fleetBill -> allocate
 *
 * Costs that belong to one resource (the metrics read about it, the alarms on it) are charged to
 * it; everything else (Lambda, logs, custom metrics, the state table, the dashboard, SNS, Secrets
 * Manager, VPC endpoints) is the fleet's and is split evenly over the managed resources.
 */
import type { SelfPrices } from './prices.ts';

export const HOURS_PER_MONTH = 730;

/**
 * Latency a deployed function waits per AWS API call (the simulated account answers in-process,
 * so the measured handler time lacks it). A round trip to a regional endpoint from Lambda is
 * typically 10-50 ms; the top of that range keeps the estimate on the high side.
 */
export const API_CALL_LATENCY_MS = 50;
/** The START / END / REPORT lines Lambda itself writes to CloudWatch Logs per invocation. */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = 350;

export interface FunctionUsage {
  name: string;
  memoryMb: number;
  invocations: number;
  /** AWS API calls the function made (all services, the state table included). */
  awsCalls: number;
  /** Time spent in the handler in-process (the simulator's answers included). */
  handlerMs: number;
  /** Bytes the function wrote to its log (JSON logs and EMF), platform lines excluded. */
  logBytes: number;
}

/** What the functions requested during `hours` of simulated time. */
export interface MeteredUsage {
  hours: number;
  functions: FunctionUsage[];
  /** GetMetricData metrics requested, per resource id ('' for series of no resource). */
  metricsRequested: Record<string, number>;
  /** CloudWatch API requests other than GetMetricData. */
  cloudwatchRequests: number;
  /** db-autopilot's alarms existing at the end of the window, per resource id. */
  alarms: Record<string, number>;
  dashboards: number;
  /** Sum over distinct custom metrics (EMF) of the hours each was published in. */
  customMetricHours: number;
  stateTable: {
    readUnits: number;
    writeUnits: number;
    /**
     * What the table holds at steady state (bytes): each decision written in the window kept
     * until its TTL (notable 400 days, a successful no-op 30), scaled to a day's writes, plus the
     * items rewritten in place (tuner state, locks, totals) once (shared/cost/meter.ts).
     */
    storedBytes: number;
  };
  snsPublishes: number;
  secretsManagerCalls: number;
  /** Interface VPC endpoints db-autopilot alone needs (0 when the VPC has them anyway), and AZs. */
  vpcEndpoints: { interfaceEndpoints: number; azs: number };
  /** Each table, GSI and DB instance db-autopilot manages. */
  managedResources: string[];
}

export type Service =
  | 'lambda'
  | 'cloudwatchGetMetricData'
  | 'cloudwatchAlarms'
  | 'cloudwatchDashboard'
  | 'cloudwatchCustomMetrics'
  | 'cloudwatchApi'
  | 'cloudwatchLogs'
  | 'dynamodbStateTable'
  | 'sns'
  | 'secretsManager'
  | 'vpcEndpoints';

export interface Bill {
  monthlyUsd: number;
  perResource: Record<string, number>;
  byService: Record<Service, number>;
}

/** How many windows of `hours` make a month. */
export function monthFactor(hours: number): number {
  if (!(hours > 0)) throw new Error(`the metered window must be longer than 0 hours, got ${hours}`);
  return HOURS_PER_MONTH / hours;
}

/** Billed duration of one function's invocations (ms): handler time plus the API round trips. */
export function billedMs(f: FunctionUsage): number {
  if (f.invocations === 0) return 0;
  const perInvocation = (f.handlerMs + f.awsCalls * API_CALL_LATENCY_MS) / f.invocations;
  // Lambda bills each invocation in whole milliseconds, at least 1.
  return Math.max(1, Math.ceil(perInvocation)) * f.invocations;
}

/** Lambda requests and arm64 GB-seconds, and the log ingestion, per month. */
export function lambdaBill(
  functions: readonly FunctionUsage[],
  prices: SelfPrices,
  factor: number,
): { lambda: number; logs: number } {
  let lambda = 0;
  let logBytes = 0;
  for (const f of functions) {
    const gbSeconds = (billedMs(f) / 1000) * (f.memoryMb / 1024);
    lambda += (f.invocations / 1e6) * prices.lambdaRequestsPerMillion + gbSeconds * prices.lambdaArmGbSecond;
    logBytes += f.logBytes + f.invocations * PLATFORM_LOG_BYTES_PER_INVOCATION;
  }
  return { lambda: lambda * factor, logs: (logBytes / 1e9) * prices.logsIngestGb * factor };
}

/** GetMetricData per resource, per month. */
export function metricsBill(
  metricsRequested: Record<string, number>,
  prices: SelfPrices,
  factor: number,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metricsRequested).map(([id, n]) => [
      id,
      (n / 1000) * prices.getMetricDataPerThousandMetrics * factor,
    ]),
  );
}

/** Alarms per resource, per month (an alarm is billed per month it exists: not scaled). */
export function alarmsBill(alarms: Record<string, number>, prices: SelfPrices): Record<string, number> {
  return Object.fromEntries(Object.entries(alarms).map(([id, n]) => [id, n * prices.alarmMonth]));
}

/** The fleet's shared costs per month, by service. */
export function fleetBill(
  usage: MeteredUsage,
  prices: SelfPrices,
  factor: number,
): Omit<Record<Service, number>, 'cloudwatchGetMetricData' | 'cloudwatchAlarms'> {
  const { lambda, logs } = lambdaBill(usage.functions, prices, factor);
  const st = usage.stateTable;
  const storedGb = st.storedBytes * 1e-9;
  return {
    lambda,
    cloudwatchLogs: logs,
    cloudwatchDashboard: usage.dashboards * prices.dashboardMonth,
    cloudwatchCustomMetrics: (usage.customMetricHours / usage.hours) * prices.customMetricMonth,
    cloudwatchApi: (usage.cloudwatchRequests / 1000) * prices.cloudwatchRequestsPerThousand * factor,
    dynamodbStateTable:
      ((st.readUnits / 1e6) * prices.dynamodbReadPerMillion +
        (st.writeUnits / 1e6) * prices.dynamodbWritePerMillion) *
        factor +
      storedGb * prices.dynamodbStorageGbMonth,
    sns: (usage.snsPublishes / 1e6) * prices.snsPublishPerMillion * factor,
    secretsManager: (usage.secretsManagerCalls / 1e4) * prices.secretsManagerPer10kCalls * factor,
    vpcEndpoints:
      usage.vpcEndpoints.interfaceEndpoints *
      usage.vpcEndpoints.azs *
      prices.vpcEndpointHourPerAz *
      HOURS_PER_MONTH,
  };
}

const round = (usd: number) => Math.round(usd * 10_000) / 10_000;

/**
 * Direct costs to their resource; the shared rest split evenly over the managed resources (and
 * any other resource that has a direct cost, e.g. an RDS Proxy). A direct cost of no resource
 * ('') is shared too. perResource sums to monthlyUsd (up to rounding).
 */
export function allocate(
  direct: ReadonlyArray<Record<string, number>>,
  shared: number,
  managed: readonly string[],
): Record<string, number> {
  const out: Record<string, number> = {};
  let pool = shared;
  for (const costs of direct) {
    for (const [id, usd] of Object.entries(costs)) {
      if (id === '') pool += usd;
      else out[id] = (out[id] ?? 0) + usd;
    }
  }
  for (const id of managed) out[id] ??= 0;
  const ids = Object.keys(out).sort();
  if (!ids.length) return pool > 0 ? { fleet: round(pool) } : {};
  const share = pool / ids.length;
  return Object.fromEntries(ids.map((id) => [id, round((out[id] ?? 0) + share)]));
}

/** The monthly bill: each step above, in order. */
export function monthlyBill(usage: MeteredUsage, prices: SelfPrices): Bill {
  const factor = monthFactor(usage.hours);
  const metrics = metricsBill(usage.metricsRequested, prices, factor);
  const alarms = alarmsBill(usage.alarms, prices);
  const fleet = fleetBill(usage, prices, factor);
  const sum = (o: Record<string, number>) => Object.values(o).reduce((s, v) => s + v, 0);
  const byService: Record<Service, number> = {
    ...fleet,
    cloudwatchGetMetricData: sum(metrics),
    cloudwatchAlarms: sum(alarms),
  };
  const roundedByService = Object.fromEntries(
    Object.entries(byService)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, round(v)]),
  ) as Record<Service, number>;
  return {
    monthlyUsd: round(sum(byService)),
    perResource: allocate([metrics, alarms], sum(fleet), usage.managedResources),
    byService: roundedByService,
  };
}
