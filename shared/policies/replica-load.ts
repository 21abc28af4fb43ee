/**
 * Steps 2-4 of the replicas decision, as Kubernetes' HPA (replica_calculator.go, horizontal.go):
 *
 *   measure    the readers' load from what CloudWatch publishes: CPUUtilization (at most 100 %),
 *              DBLoadCPU / vCPUs where Performance Insights is on (it goes above 100 % when
 *              sessions queue for CPU), DatabaseConnections;
 *   recommend  ratio = max(load / target CPU, connections / target), desired = ceil(ready x ratio),
 *              unchanged while |ratio - 1| <= tolerance; a schedule or the writer when nothing is measured;
 *   stabilize  clamp to [min, max]; scale out at once; scale in only to the highest recommendation
 *              of the stabilization window.
 */
import type { Evidence } from '../core/model.ts';
import { MAX_REPLICAS_PER_SOURCE } from './replica-cost.ts';
import type { ReaderClasses } from './replica-readers.ts';
import type {
  ReaderObservation,
  Recommendation,
  ReplicaObservation,
  ReplicaPolicySettings,
  ScheduleEntry,
} from './replica-types.ts';

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function mean(values: number[]): number | null {
  if (values.length === 0) return null;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** DBLoadCPU as a percentage of the class's CPU; null when not published or the class is unknown. */
export function dbLoadPercent(r: ReaderObservation): number | null {
  if (r.dbLoadCpu === undefined || r.dbLoadCpu === null || r.vcpus === undefined || r.vcpus <= 0) return null;
  return (r.dbLoadCpu / r.vcpus) * 100;
}

/** A reader's load: its CPUUtilization, or DBLoadCPU / vCPUs when that says more (saturation). */
export function loadOf(r: ReaderObservation): number {
  return Math.max(r.cpuPercent ?? 0, dbLoadPercent(r) ?? 0);
}

export interface Load {
  /** Mean load (CPUUtilization or DBLoadCPU / vCPUs, the higher per reader). */
  loadMean: number | null;
  cpuMean: number | null;
  connMean: number | null;
  connSum: number;
  /** The DBLoadCPU signal raised the load above CPUUtilization. */
  fromDbLoad: boolean;
  /** The same means over every measured reader, lagging ones included (the band and pinned CPU). */
  measured: { loadMean: number | null; cpuMean: number | null; connMean: number | null; connSum: number };
  evidence: Evidence[];
}

/** Mean load, CPU and connections of `readers` (connections: of those with a datapoint). */
function meansOf(readers: ReaderObservation[]) {
  const connValues = readers.map((r) => r.connections).filter((v): v is number => v !== null);
  return {
    loadMean: mean(readers.map(loadOf)),
    cpuMean: mean(readers.map((r) => r.cpuPercent ?? 0)),
    connMean: mean(connValues),
    connSum: connValues.reduce((a, v) => a + v, 0),
  };
}

export function measureLoad(
  obs: ReplicaObservation,
  settings: ReplicaPolicySettings,
  c: ReaderClasses,
): Load {
  const window = obs.window;
  const ready = c.ready;
  const { loadMean, cpuMean, connMean, connSum } = meansOf(ready);
  const fromDbLoad = loadMean !== null && cpuMean !== null && loadMean > cpuMean + 0.5;
  const evidence: Evidence[] = [
    {
      metric: 'CPUUtilization',
      statistic: 'Average',
      value: cpuMean === null ? null : round(cpuMean),
      unit: 'Percent',
      window,
      namespace: 'AWS/RDS',
      dimensions:
        obs.family === 'aurora'
          ? { DBClusterIdentifier: obs.source.id, Role: 'READER' }
          : { SourceDBInstanceIdentifier: obs.source.id },
      series: ready.map((r) => (r.cpuPercent === null ? null : round(r.cpuPercent))),
      threshold: settings.targetCpuPercent,
    },
  ];
  if (fromDbLoad) {
    evidence.push({
      metric: 'DBLoadCPU',
      statistic: 'Average',
      value: round(loadMean ?? 0),
      unit: 'Percent of vCPUs',
      window,
      namespace: 'AWS/RDS',
      series: ready.map((r) => round(loadOf(r))),
      threshold: settings.targetCpuPercent,
    });
  }
  evidence.push(
    {
      metric: 'DatabaseConnections',
      statistic: 'Average',
      value: connMean === null ? null : round(connMean),
      unit: 'Count',
      window,
      namespace: 'AWS/RDS',
      series: ready.map((r) => (r.connections === null ? null : round(r.connections))),
      ...(settings.targetConnectionsPerReader !== undefined
        ? { threshold: settings.targetConnectionsPerReader }
        : {}),
    },
    {
      metric: 'ReaderCount',
      statistic: 'Count',
      value: ready.length,
      unit: 'Count',
      window,
      // counted, creating, lagging, broken, stuck
      series: [c.counted.length, c.creating.length, c.lagging.length, c.broken.length, c.stuck.length],
    },
  );
  return {
    loadMean,
    cpuMean,
    connMean,
    connSum,
    fromDbLoad,
    measured: meansOf(c.measured),
    evidence,
  };
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/** Reader count the schedule asks for at `now` (UTC), or undefined outside every entry. */
export function scheduledReaders(schedule: ScheduleEntry[], now: Date): number | undefined {
  const t = now.getUTCHours() * 60 + now.getUTCMinutes();
  const today = DAY_NAMES[now.getUTCDay()];
  const yesterday = DAY_NAMES[(now.getUTCDay() + 6) % 7];
  let best: number | undefined;
  for (const e of schedule) {
    const s = minutesOf(e.start);
    const en = minutesOf(e.end);
    const inside =
      s <= en
        ? today !== undefined && e.days.includes(today) && t >= s && t < en
        : (today !== undefined && e.days.includes(today) && t >= s) ||
          (yesterday !== undefined && e.days.includes(yesterday) && t < en);
    if (inside) best = Math.max(best ?? 0, e.readers);
  }
  return best;
}

export interface Recommended {
  desired: number;
  why: string;
  ratio: number | null;
  basis: 'metrics' | 'schedule';
}

/** The HPA ratio of `means` (load and connections per reader against their targets), and what drives it. */
function ratioOf(
  settings: ReplicaPolicySettings,
  means: Load['measured'],
  readers: number,
  fromDbLoad: boolean,
): { ratio: number; driver: string } {
  const cpuRatio = (means.loadMean ?? 0) / settings.targetCpuPercent;
  // Connections per reader from their SUM (a reader without a datapoint counts 0), so
  // desired = ceil(total connections / target per reader).
  const connRatio =
    settings.targetConnectionsPerReader !== undefined && means.connMean !== null && readers > 0
      ? means.connSum / readers / settings.targetConnectionsPerReader
      : 0;
  const driver =
    connRatio > cpuRatio
      ? `connections ${round(means.connMean ?? 0)} per reader vs target ${settings.targetConnectionsPerReader}`
      : `${fromDbLoad ? 'DB load (DBLoadCPU / vCPUs)' : 'CPU'} ${round(means.loadMean ?? 0)}% vs target ${settings.targetCpuPercent}%`;
  return { ratio: Math.max(cpuRatio, connRatio), driver };
}

/**
 * The HPA ratio over the ready readers. Whether the run is within the tolerance band, and whether
 * CPU is pinned, is judged on every measured reader (lagging ones included), so a reader's lag
 * never moves a run out of the band or into a pinned step; the count is the ready readers' load
 * alone (a lagging reader is not capacity), so lag never raises it either.
 */
function fromMetrics(settings: ReplicaPolicySettings, c: ReaderClasses, load: Load, now: Date): Recommended {
  const band = ratioOf(settings, load.measured, c.measured.length, load.fromDbLoad);
  if (Math.abs(band.ratio - 1) <= settings.tolerance) {
    return {
      desired: c.counted.length,
      why: `${band.driver} (ratio ${round(band.ratio, 3)}) is within the ±${settings.tolerance} tolerance`,
      ratio: band.ratio,
      basis: 'metrics',
    };
  }
  const { ratio, driver } = ratioOf(settings, load, c.ready.length, load.fromDbLoad);
  // Lagging and not-yet-routed readers are not capacity, but they exist: the demand of the ready
  // readers alone, compared with every counted reader, keeps lag from ever being a reason to add.
  const desired = Math.ceil(c.ready.length * ratio - 1e-9);
  const why = `${driver} over ${c.ready.length} ready reader(s): ratio ${round(ratio, 3)} -> ${desired} reader(s)`;
  const cpuMean = load.measured.cpuMean ?? 0;
  const pinned = pinnedStep(c, cpuMean, settings.targetCpuPercent, now);
  if (pinned !== undefined && pinned > desired) {
    return {
      desired: pinned,
      why: `${why}; CPUUtilization is pinned at ${round(cpuMean)}% (it hides how far demand is beyond), and the readers being created do not answer it yet: ${c.serving.length + c.creating.length} serving and coming reader(s) x ${round(cpuMean / settings.targetCpuPercent, 3)} -> ${pinned}`,
      ratio,
      basis: 'metrics',
    };
  }
  return { desired, why, ratio, basis: 'metrics' };
}

/** Readers at or above this average CPUUtilization are pinned: the metric stops at 100. */
export const PINNED_CPU_PERCENT = 90;
/** A pinned step compounds on the counted readers at most this often (Aurora Auto Scaling: 300 s). */
export const PINNED_STEP_MINUTES = 5;

/**
 * While the measured readers' CPU is pinned (lagging ones included), CPUUtilization is only a lower bound of the load (and
 * DBLoadCPU, where published, may show only part of the queue): step on every counted reader,
 * those being created included, as Aurora Auto Scaling does, but at most once per
 * PINNED_STEP_MINUTES (measured from the newest reader being created).
 */
function pinnedStep(c: ReaderClasses, cpuMean: number, targetCpu: number, now: Date): number | undefined {
  const cpuRatio = cpuMean / targetCpu;
  if (cpuMean < PINNED_CPU_PERCENT || cpuRatio <= 1) return undefined;
  // A reader being created with no known creation time counts as just created.
  const newest = Math.max(
    Number.NEGATIVE_INFINITY,
    ...c.creating.map((r) => (r.createdAt ? Date.parse(r.createdAt) : now.getTime())),
  );
  if (now.getTime() - newest < PINNED_STEP_MINUTES * 60_000) return undefined;
  // Serving and coming readers only: a lagging or unrouted replica is never a reason to add.
  return Math.ceil((c.serving.length + c.creating.length) * cpuRatio - 1e-9);
}

export function recommendReaders(
  obs: ReplicaObservation,
  settings: ReplicaPolicySettings,
  c: ReaderClasses,
  load: Load,
  now: Date,
  routed: boolean,
): Recommended {
  const minReaders = Math.min(settings.minReaders, MAX_REPLICAS_PER_SOURCE);
  if (!routed && settings.schedule && settings.schedule.length > 0) {
    const scheduled = scheduledReaders(settings.schedule, now);
    return {
      desired: scheduled ?? minReaders,
      why:
        scheduled === undefined
          ? `outside every schedule entry: ${minReaders} (the minimum)`
          : `the schedule asks for ${scheduled} reader(s) now`,
      ratio: null,
      basis: 'schedule',
    };
  }
  if (c.ready.length > 0) return fromMetrics(settings, c, load, now);
  const writerCpu = obs.source.cpuPercent ?? null;
  const writerHot =
    c.counted.length === 0 &&
    writerCpu !== null &&
    writerCpu > settings.targetCpuPercent * (1 + settings.tolerance);
  return {
    desired: writerHot ? 1 : c.counted.length,
    why: writerHot
      ? `no reader yet and the writer's CPU ${round(writerCpu ?? 0)}% is above the ${settings.targetCpuPercent}% target`
      : 'no reader with metrics to measure: holding the current count',
    ratio: null,
    basis: 'metrics',
  };
}

export interface Stabilized {
  target: number;
  why: string;
  recommendations: Recommendation[];
}

/** Clamp to the bounds; scale out at once, scale in to the window's highest recommendation. */
export function stabilizeReaders(
  settings: ReplicaPolicySettings,
  history: Recommendation[],
  rec: Recommended,
  current: number,
  now: Date,
): Stabilized {
  const minReaders = Math.min(settings.minReaders, MAX_REPLICAS_PER_SOURCE);
  const maxReaders = Math.max(minReaders, Math.min(settings.maxReaders, MAX_REPLICAS_PER_SOURCE));
  let why = rec.why;
  const clamped = Math.max(minReaders, Math.min(maxReaders, rec.desired));
  if (clamped !== rec.desired) why += `; clamped to [${minReaders}, ${maxReaders}] -> ${clamped}`;
  const windowStart = now.getTime() - settings.scaleInStabilizationMinutes * 60_000;
  const kept = history.filter((r) => {
    const t = Date.parse(r.at);
    return Number.isFinite(t) && t > windowStart && t <= now.getTime();
  });
  const recommendations = [...kept, { at: now.toISOString(), readers: clamped }].sort(
    (a, b) => Date.parse(a.at) - Date.parse(b.at),
  );
  const stabilized = Math.min(maxReaders, Math.max(...recommendations.map((r) => r.readers)));
  let target = clamped;
  if (clamped < current) {
    target = Math.max(clamped, Math.min(current, stabilized));
    if (target > clamped) {
      why += `; scale-in held at ${target} by the highest recommendation of the last ${settings.scaleInStabilizationMinutes} min`;
    }
  }
  return { target: Math.min(target, MAX_REPLICAS_PER_SOURCE), why, recommendations };
}
