import {
  classHourlyPrice,
  defaultMaxConnections,
  type InstanceClass,
  instanceClass,
  smallerClasses,
} from '../aws/instance-classes.ts';
import type { RightsizingSection } from '../config/sections/rightsizing.ts';
import type { Action, Evidence, Plan, ResourceRef } from '../core/model.ts';
import { HOURS_PER_MONTH } from '../pricing.ts';

/**
 * Idle and oversized RDS / Aurora instances, recommend only, in named pure steps:
 *
 *   coverage -> findIdle -> findSmallerClass -> planRightsizing
 *
 * Signals are what CloudWatch publishes at 1-hour periods over 14 days (kept 455 days at 1 h):
 * DatabaseConnections (Maximum) and CPUUtilization (Maximum). FreeableMemory is deliberately not
 * used: it does not measure what PostgreSQL or MySQL need (their caches fill whatever is free).
 * Trusted Advisor's "Amazon RDS Idle DB Instances" check uses "no connection for 7 days"; a
 * stopped instance is started again by RDS after 7 days (RDS User Guide, USER_StopInstance), so
 * the lasting saving is a final snapshot and deletion: both are a person's call.
 */

export interface RightsizingObservation {
  id: string;
  kind: 'rds-instance' | 'aurora-instance';
  engine: string;
  instanceClass: string;
  multiAz: boolean;
  /** Storage billed while the instance runs or is stopped (plain RDS only). */
  allocatedGiB: number;
  storagePricePerGbMonth: number;
  createdAt: string;
  observedAt: string;
  /** Hourly series over the window (oldest first, one per hour); null = no datapoint. */
  hourly: { connectionsMax: Array<number | null>; cpuMax: Array<number | null> };
  window: { start: string; end: string };
}

export type RightsizingSettings = Pick<
  RightsizingSection,
  | 'idleDays'
  | 'oversizedDays'
  | 'cpuP95BelowPercent'
  | 'targetCpuPercent'
  | 'peakCpuPercent'
  | 'connectionsFraction'
  | 'minCoverage'
>;

const HOUR_MS = 3_600_000;

/** Step 1: the last `days` of an hourly series and the fraction of hours that have a datapoint. */
export function coverage(series: Array<number | null>, days: number): { values: number[]; fraction: number } {
  const tail = series.slice(-days * 24);
  const values = tail.filter((v): v is number => v !== null && Number.isFinite(v));
  return { values, fraction: tail.length === 0 ? 0 : values.length / (days * 24) };
}

function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)] ?? 0;
}

export function monthlyInstanceCost(
  obs: RightsizingObservation,
  cls: string,
  prices: Record<string, number>,
): number | undefined {
  const hour = classHourlyPrice(cls, obs.kind === 'aurora-instance', prices);
  return hour === undefined ? undefined : hour * HOURS_PER_MONTH * (obs.multiAz ? 2 : 1);
}

export interface IdleVerdict {
  idle: boolean;
  why: string;
}

/** Step 2: no connection at all in any hour of the last `idleDays` days, the instance older than that. */
export function findIdle(obs: RightsizingObservation, settings: RightsizingSettings): IdleVerdict {
  const age = Date.parse(obs.observedAt) - Date.parse(obs.createdAt);
  if (age < settings.idleDays * 24 * HOUR_MS)
    return { idle: false, why: `created ${obs.createdAt}: younger than ${settings.idleDays} days` };
  const c = coverage(obs.hourly.connectionsMax, settings.idleDays);
  if (c.fraction < settings.minCoverage)
    return {
      idle: false,
      why: `DatabaseConnections has datapoints for ${Math.round(c.fraction * 100)}% of the last ${settings.idleDays} days: not enough to call it idle`,
    };
  const peak = Math.max(...c.values);
  if (peak > 0)
    return { idle: false, why: `up to ${peak} connections in the last ${settings.idleDays} days` };
  return {
    idle: true,
    why: `no connection in any hour of the last ${settings.idleDays} days (DatabaseConnections Maximum 0)`,
  };
}

export interface SmallerClass {
  target: InstanceClass;
  projectedCpuP95: number;
  projectedCpuPeak: number;
  peakConnections: number;
  maxConnections: number;
}

/**
 * Step 3: the smallest class of the same family that keeps projected CPU (scaled by the vCPU
 * ratio) under the targets and peak connections under a fraction of its default max_connections.
 */
export function findSmallerClass(
  obs: RightsizingObservation,
  settings: RightsizingSettings,
): { found?: SmallerClass; why: string } {
  const current = instanceClass(obs.instanceClass);
  if (!current) return { why: `${obs.instanceClass} is not in db-autopilot's class table: no size advice` };
  const cpu = coverage(obs.hourly.cpuMax, settings.oversizedDays);
  const conns = coverage(obs.hourly.connectionsMax, settings.oversizedDays);
  if (cpu.fraction < settings.minCoverage || conns.fraction < settings.minCoverage)
    return {
      why: `CPU / connections have datapoints for ${Math.round(Math.min(cpu.fraction, conns.fraction) * 100)}% of the last ${settings.oversizedDays} days: not enough to size it`,
    };
  const cpuP95 = p95(cpu.values);
  const cpuPeak = Math.max(...cpu.values);
  const peakConnections = Math.max(...conns.values);
  if (cpuP95 >= settings.cpuP95BelowPercent)
    return {
      why: `hourly maximum CPU p95 ${cpuP95.toFixed(1)}% (>= ${settings.cpuP95BelowPercent}%): the class is used`,
    };
  let best: SmallerClass | undefined;
  for (const target of smallerClasses(obs.instanceClass)) {
    const ratio = current.vcpus / target.vcpus;
    const maxConnections = defaultMaxConnections(target.name, obs.engine);
    const fits =
      cpuP95 * ratio <= settings.targetCpuPercent &&
      cpuPeak * ratio <= settings.peakCpuPercent &&
      maxConnections !== undefined &&
      peakConnections <= settings.connectionsFraction * maxConnections;
    if (!fits) break;
    best = {
      target,
      projectedCpuP95: cpuP95 * ratio,
      projectedCpuPeak: cpuPeak * ratio,
      peakConnections,
      maxConnections,
    };
  }
  if (!best)
    return {
      why: `no smaller ${current.family} class keeps CPU p95 under ${settings.targetCpuPercent}% and peak under ${settings.peakCpuPercent}% with ${peakConnections} connections`,
    };
  return {
    found: best,
    why: `over ${settings.oversizedDays} days hourly maximum CPU p95 ${cpuP95.toFixed(1)}% (peak ${cpuPeak.toFixed(1)}%) and at most ${peakConnections} connections on ${obs.instanceClass} (${current.vcpus} vCPUs): on ${best.target.name} (${best.target.vcpus} vCPUs) that is about ${best.projectedCpuP95.toFixed(0)}% p95 / ${best.projectedCpuPeak.toFixed(0)}% peak CPU and ${peakConnections} of ${best.maxConnections} default max_connections`,
  };
}

/** Step 4: the plan: one recommendation (idle first, then oversized), or a no-op saying why. */
export function planRightsizing(
  obs: RightsizingObservation,
  settings: RightsizingSettings,
  prices: Record<string, number>,
): Plan {
  const ref: ResourceRef = { kind: 'rds-instance', id: obs.id };
  const evidence = rightsizingEvidence(obs);
  const plan = (actions: Action[], noopReason?: string): Plan => ({
    tuner: 'rightsizing',
    resource: ref,
    observedAt: obs.observedAt,
    actions,
    ...(noopReason ? { noopReason, noopEvidence: evidence } : {}),
  });
  const cost = monthlyInstanceCost(obs, obs.instanceClass, prices);
  const storage =
    obs.kind === 'rds-instance' ? obs.allocatedGiB * obs.storagePricePerGbMonth * (obs.multiAz ? 2 : 1) : 0;
  const idle = findIdle(obs, settings);
  if (idle.idle) {
    const instance = cost ?? 0;
    const saving = instance + storage;
    return plan([
      {
        tuner: 'rightsizing',
        resource: ref,
        kind: 'idle-instance',
        from: { instanceClass: obs.instanceClass, status: 'available' },
        to: { recommendation: 'snapshot and delete, or stop' },
        reason: `${obs.id} looks unused: ${idle.why}. A final snapshot and deletion saves about $${saving.toFixed(2)} a month (instance $${instance.toFixed(2)}${storage > 0 ? ` + storage $${storage.toFixed(2)}` : ''}); stopping saves the instance hours only, and RDS starts a stopped instance again after 7 days. A person's call: db-autopilot changes nothing.`,
        evidence,
        monthlyCostDelta: -Math.round(saving * 100) / 100,
        undo: null,
        mutating: false,
        severity: 'warning',
        params: { instanceMonthlyUsd: instance, storageMonthlyUsd: storage },
      },
    ]);
  }
  const smaller = findSmallerClass(obs, settings);
  if (!smaller.found) return plan([], `${idle.why}; ${smaller.why}`);
  const next = monthlyInstanceCost(obs, smaller.found.target.name, prices);
  if (cost === undefined || next === undefined)
    return plan(
      [],
      `${smaller.why}, but no price is known for ${obs.instanceClass} or ${smaller.found.target.name}: add it under "prices"`,
    );
  const saving = cost - next;
  return plan([
    {
      tuner: 'rightsizing',
      resource: ref,
      kind: 'oversized-instance',
      from: { instanceClass: obs.instanceClass },
      to: { instanceClass: smaller.found.target.name },
      reason: `${obs.id} is oversized: ${smaller.why}. Moving to ${smaller.found.target.name} saves about $${saving.toFixed(2)} a month${obs.kind === 'aurora-instance' ? ' (an Aurora writer change fails over; resize a reader first)' : ' (a class change restarts the instance; Multi-AZ shortens it to a failover)'}. A person's call: db-autopilot changes nothing.`,
      evidence,
      monthlyCostDelta: -Math.round(saving * 100) / 100,
      undo: null,
      mutating: false,
      severity: 'info',
      params: { targetClass: smaller.found.target.name, projectedCpuP95: smaller.found.projectedCpuP95 },
    },
  ]);
}

function rightsizingEvidence(obs: RightsizingObservation): Evidence[] {
  const window = { start: obs.window.start, end: obs.window.end, periodSeconds: 3600 };
  const dims = { DBInstanceIdentifier: obs.id };
  const max = (s: Array<number | null>) => {
    const k = s.filter((v): v is number => v !== null);
    return k.length > 0 ? Math.max(...k) : null;
  };
  return [
    {
      metric: 'DatabaseConnections',
      statistic: 'Maximum',
      value: max(obs.hourly.connectionsMax),
      unit: 'Count',
      window,
      namespace: 'AWS/RDS',
      dimensions: dims,
    },
    {
      metric: 'CPUUtilization',
      statistic: 'Maximum',
      value: max(obs.hourly.cpuMax),
      unit: 'Percent',
      window,
      namespace: 'AWS/RDS',
      dimensions: dims,
    },
  ];
}
