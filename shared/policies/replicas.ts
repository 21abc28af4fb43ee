/**
 * How many read replicas a source needs, decided in the style of Kubernetes' horizontal pod
 * autoscaler (pkg/controller/podautoscaler/replica_calculator.go, horizontal.go):
 *
 *   ratio    = max(mean reader CPU / target CPU, mean reader connections / target connections)
 *   desired  = ceil(ready readers x ratio), unchanged while |ratio - 1| <= tolerance
 *   scale out at once; scale in only to the highest recommendation of the stabilization window.
 *
 * Pure: no SDK, no clock, no randomness. `now` and the recorded recommendations come in as
 * arguments; the new recommendation list goes out in `tunerState` for the tuner to store.
 *
 * AWS rules (aws-facts.md, "Read replicas"):
 * - at most 15 read replicas per source (RDS MySQL/MariaDB/PostgreSQL) and 15 Aurora replicas;
 * - the account's DB instance quota (40 by default, shared with Aurora, Neptune, DocumentDB);
 * - the source needs backup retention > 0 to have read replicas;
 * - Aurora Auto Scaling acts only while the cluster is `available`; we also require it of the source;
 * - ReplicaLag is a guard, not a load signal: a lagging replica (lag > threshold, or -1 =
 *   replication not running) is not counted as capacity and is reported; more replicas do not
 *   reduce lag;
 * - plain RDS has no reader endpoint: a replica offloads nothing until the application reads
 *   from it (here: a Route 53 weighted record); without routing, plain RDS is recommend-only
 *   unless a schedule is configured.
 * Only replicas db-autopilot created (ownership tag AND recorded resource id) are ever removed
 * (design.md, "created" consent), never below the minimum, and only once drained.
 */
import type { Action, Evidence, Plan, ResourceRef, RuleCheck } from '../core/model.ts';
import { HOURS_PER_MONTH, type PriceTable } from '../pricing.ts';

/** aws-facts.md (read replicas): up to 15 read replicas per source; Aurora: up to 15 replicas. */
export const MAX_REPLICAS_PER_SOURCE = 15;
/** aws-facts.md: default account quota of 40 DB instances. */
export const DEFAULT_ACCOUNT_INSTANCE_QUOTA = 40;
/** How long to wait before trying again when a rule defers an action. */
export const RETRY_AFTER_MINUTES = 5;
/** Name prefix of every replica db-autopilot creates: IAM policies are scoped on `db:dbap-*`. */
export const REPLICA_NAME_PREFIX = 'dbap-';

export type SourceFamily = 'aurora' | 'rds';

export interface ReaderObservation {
  id: string;
  /** DBInstanceStatus: available, creating, deleting, modifying, ... */
  status: string;
  instanceClass: string;
  availabilityZone?: string;
  /** Mean CPUUtilization (%) over the window; null = no datapoints. */
  cpuPercent: number | null;
  /**
   * CPU demand (%) over the window, which can exceed 100 when the reader is saturated: Performance
   * Insights' DBLoadCPU (average active sessions on CPU, published to CloudWatch) / the class's
   * vCPUs x 100. CPUUtilization stops at 100 % and hides how far demand is beyond it; omitted or
   * null = not available (Performance Insights off), CPUUtilization alone is used.
   */
  cpuDemandPercent?: number | null;
  /** Mean DatabaseConnections over the window; null = no datapoints. */
  connections: number | null;
  /** Highest DatabaseConnections over the window (drain check); null = unknown. */
  maxConnections: number | null;
  /** Highest ReplicaLag (s) over the window; -1 = replication not running; null = unknown. */
  replicaLagSeconds: number | null;
  /** The ownership tag (config.tags.createdBy) is on the instance. */
  ownershipTag: boolean;
  /** The state store recorded that db-autopilot created this id. */
  recordedCreated: boolean;
  /** Plain RDS: a weighted record routes reads to it. Aurora readers are always behind the reader endpoint. */
  routed: boolean;
  /** Endpoint address, for the routing record. */
  endpoint?: string;
}

export interface ReplicaObservation {
  family: SourceFamily;
  source: {
    /** Aurora cluster id, or the plain RDS source DB instance id. */
    id: string;
    arn?: string;
    status: string;
    engine: string;
    backupRetentionPeriod: number;
    /** The writer's class, used for new readers when no class is configured or seen. */
    instanceClass?: string;
    /** Writer CPU, used only when there is no reader to measure. */
    cpuPercent?: number | null;
  };
  readers: ReaderObservation[];
  account: { instancesUsed: number; instanceQuota: number };
  window: { start: string; end: string; periodSeconds: number };
}

export interface ScheduleEntry {
  days: Array<'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'>;
  start: string;
  end: string;
  readers: number;
}

export interface ReplicaPolicySettings {
  minReaders: number;
  maxReaders: number;
  targetCpuPercent: number;
  targetConnectionsPerReader?: number;
  tolerance: number;
  scaleInStabilizationMinutes: number;
  maxReplicaLagSeconds: number;
  drainConnectionThreshold: number;
  /**
   * A replica being created always counts as a reader (so its pending capacity is never added
   * twice). true: no add at all while one is being created; false (default): add only when the
   * demand needs more readers than exist, those being created included.
   */
  waitForCreatingReplicas?: boolean;
  instanceClasses: string[];
  availabilityZones: string[];
  /** Plain RDS: reads are routed through a Route 53 weighted record set. Ignored for Aurora. */
  routing?: { hostedZoneId: string; recordName: string; ttlSeconds: number; weight: number };
  schedule?: ScheduleEntry[];
  prices: PriceTable;
}

export interface Recommendation {
  at: string;
  readers: number;
}

export interface ReplicaPolicyHistory {
  /** Recommendations of earlier runs (any order); older than the window are ignored. */
  recommendations: Recommendation[];
}

export interface ReplicaTunerState extends Record<string, unknown> {
  recommendations: Recommendation[];
}

export interface ReplicaPolicyResult {
  plan: Plan;
  tunerState: ReplicaTunerState;
  /** Reader count the policy aims for after stabilization (what the backtest plots). */
  targetReaders: number;
  /** How the target was decided. */
  basis: 'metrics' | 'schedule' | 'recommend-only';
  /** The load ratio behind the decision (null without a measurable reader). */
  ratio: number | null;
}

const WAIT_STATUSES_CREATING = new Set(['creating']);
const GONE_STATUSES = new Set([
  'deleting',
  'deleted',
  'failed',
  'incompatible-restore',
  'inaccessible-encryption-credentials',
]);

export function instancePriceKey(family: SourceFamily, instanceClass: string): string {
  return `${family === 'aurora' ? 'aurora' : 'rds'}.instance.${instanceClass}.hour`;
}

/** Monthly cost of one reader of this class; null when the price table has no entry. */
export function readerMonthlyCost(
  prices: PriceTable,
  family: SourceFamily,
  instanceClass: string,
): number | null {
  const hourly = prices[instancePriceKey(family, instanceClass)];
  return hourly === undefined ? null : Math.round(hourly * HOURS_PER_MONTH * 100) / 100;
}

/**
 * The identifier of a new replica: `dbap-<source>-<yyyymmddhhmm><n>`, at most 63 characters,
 * letters, digits and single hyphens (RDS DBInstanceIdentifier rules, CreateDBInstance API
 * reference). Deterministic, so a redelivered run asks for the same name and RDS refuses a twin.
 */
export function replicaName(sourceId: string, now: Date, index: number): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 12);
  const suffix = `-${stamp}${index}`;
  const room = 63 - REPLICA_NAME_PREFIX.length - suffix.length;
  const base = sourceId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  return `${REPLICA_NAME_PREFIX}${base || 'src'}${suffix}`;
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

function mean(values: number[]): number | null {
  if (values.length === 0) return null;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function isLagging(r: ReaderObservation, maxLagSeconds: number): boolean {
  return r.replicaLagSeconds !== null && (r.replicaLagSeconds < 0 || r.replicaLagSeconds > maxLagSeconds);
}

export function isOwned(r: ReaderObservation): boolean {
  return r.ownershipTag && r.recordedCreated;
}

function ownershipGap(r: ReaderObservation): string {
  if (!r.ownershipTag && !r.recordedCreated) return 'no ownership tag and no recorded create';
  if (!r.ownershipTag) return 'recorded as created but the ownership tag is missing';
  return 'has the ownership tag but db-autopilot has no record of creating it';
}

/**
 * Plans the readers of one source. Returns the plan (actions with evidence, reasons, cost,
 * undo, numeric target = reader count, declared rules) and the recommendation list to store.
 */
export function planReplicas(
  obs: ReplicaObservation,
  settings: ReplicaPolicySettings,
  history: ReplicaPolicyHistory,
  now: Date,
): ReplicaPolicyResult {
  const nowIso = now.toISOString();
  const sourceRef: ResourceRef = {
    kind: obs.family === 'aurora' ? 'aurora-cluster' : 'rds-instance',
    id: obs.source.id,
    ...(obs.source.arn ? { arn: obs.source.arn } : {}),
  };
  const minReaders = Math.min(settings.minReaders, MAX_REPLICAS_PER_SOURCE);
  const maxReaders = Math.max(minReaders, Math.min(settings.maxReaders, MAX_REPLICAS_PER_SOURCE));
  const routed = obs.family === 'aurora' || settings.routing !== undefined;
  const window = { start: obs.window.start, end: obs.window.end, periodSeconds: obs.window.periodSeconds };
  const retryAt = new Date(now.getTime() + RETRY_AFTER_MINUTES * 60_000).toISOString();

  // --- classify the readers -------------------------------------------------------------
  const existing = obs.readers.filter((r) => !GONE_STATUSES.has(r.status));
  const creating = existing.filter((r) => WAIT_STATUSES_CREATING.has(r.status));
  const available = existing.filter((r) => r.status === 'available');
  const lagging = available.filter((r) => isLagging(r, settings.maxReplicaLagSeconds));
  const healthy = available.filter((r) => !isLagging(r, settings.maxReplicaLagSeconds));
  // Plain RDS: an owned replica offloads nothing until it is routed; a replica someone else made
  // is read by the application its own way, so it counts as soon as it is healthy.
  const serving = healthy.filter((r) => obs.family === 'aurora' || r.routed || !isOwned(r));
  const ready = serving.filter((r) => r.cpuPercent !== null);

  const readerDims = (r: ReaderObservation) => ({ DBInstanceIdentifier: r.id });
  const evidence: Evidence[] = [];
  // The load of a reader: its CPU, or its CPU demand when that says more (saturation hides it).
  const loadOf = (r: ReaderObservation) => Math.max(r.cpuPercent ?? 0, r.cpuDemandPercent ?? 0);
  const cpuMean = mean(ready.map(loadOf));
  const cpuUtilMean = mean(ready.map((r) => r.cpuPercent ?? 0));
  const connValues = ready.map((r) => r.connections).filter((v): v is number => v !== null);
  const connMean = mean(connValues);
  evidence.push({
    metric: 'CPUUtilization',
    statistic: 'Average',
    value: cpuUtilMean === null ? null : round(cpuUtilMean),
    unit: 'Percent',
    window,
    namespace: 'AWS/RDS',
    dimensions:
      obs.family === 'aurora'
        ? { DBClusterIdentifier: obs.source.id, Role: 'READER' }
        : { SourceDBInstanceIdentifier: obs.source.id },
    series: ready.map((r) => (r.cpuPercent === null ? null : round(r.cpuPercent))),
    threshold: settings.targetCpuPercent,
  });
  if (cpuMean !== null && cpuUtilMean !== null && cpuMean > cpuUtilMean + 0.5) {
    evidence.push({
      metric: 'CPUDemand (DBLoadCPU / vCPUs)',
      statistic: 'Average',
      value: round(cpuMean),
      unit: 'Percent',
      window,
      namespace: 'AWS/RDS',
      series: ready.map((r) => round(loadOf(r))),
      threshold: settings.targetCpuPercent,
    });
  }
  evidence.push({
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
  });
  evidence.push({
    metric: 'ReaderCount',
    statistic: 'Count',
    value: ready.length,
    unit: 'Count',
    window,
    series: [existing.length, creating.length, lagging.length],
  });

  // --- the HPA calculation ----------------------------------------------------------------
  let ratio: number | null = null;
  let desired: number;
  let basis: ReplicaPolicyResult['basis'] = 'metrics';
  let why: string;
  const scheduled = settings.schedule ? scheduledReaders(settings.schedule, now) : undefined;

  if (!routed && settings.schedule && settings.schedule.length > 0) {
    basis = 'schedule';
    desired = scheduled ?? minReaders;
    why =
      scheduled === undefined
        ? `outside every schedule entry: ${minReaders} (the minimum)`
        : `the schedule asks for ${scheduled} reader(s) now`;
  } else if (ready.length === 0) {
    const writerHot =
      existing.length === 0 &&
      obs.source.cpuPercent !== undefined &&
      obs.source.cpuPercent !== null &&
      obs.source.cpuPercent > settings.targetCpuPercent * (1 + settings.tolerance);
    desired = writerHot ? Math.max(1, existing.length) : existing.length;
    why = writerHot
      ? `no reader yet and the writer's CPU ${round(obs.source.cpuPercent ?? 0)}% is above the ${settings.targetCpuPercent}% target`
      : 'no reader with metrics to measure: holding the current count';
  } else {
    const cpuRatio = (cpuMean ?? 0) / settings.targetCpuPercent;
    // Connections per ready reader from their SUM (a reader without a datapoint counts 0), so
    // desired = ceil(total connections / target per reader): taking a reader out of the count
    // (lagging, not routed) also takes its load out and can never raise the desired count.
    const connSum = connValues.reduce((a, v) => a + v, 0);
    const connRatio =
      settings.targetConnectionsPerReader !== undefined && connMean !== null && ready.length > 0
        ? connSum / ready.length / settings.targetConnectionsPerReader
        : 0;
    ratio = Math.max(cpuRatio, connRatio);
    const driver =
      connRatio > cpuRatio
        ? `connections ${round(connMean ?? 0)} per reader vs target ${settings.targetConnectionsPerReader}`
        : `${cpuMean !== cpuUtilMean ? 'CPU demand' : 'CPU'} ${round(cpuMean ?? 0)}% vs target ${settings.targetCpuPercent}%`;
    if (Math.abs(ratio - 1) <= settings.tolerance) {
      desired = existing.length;
      why = `${driver} (ratio ${round(ratio, 3)}) is within the ±${settings.tolerance} tolerance`;
    } else {
      // Lagging and not-yet-routed readers are not capacity, but they exist: comparing the
      // demand against every existing reader keeps lag from ever being a reason to add.
      desired = Math.ceil(ready.length * ratio - 1e-9);
      why = `${driver} over ${ready.length} ready reader(s): ratio ${round(ratio, 3)} -> ${desired} reader(s)`;
    }
  }
  const clamped = Math.max(minReaders, Math.min(maxReaders, desired));
  if (clamped !== desired) why += `; clamped to [${minReaders}, ${maxReaders}] -> ${clamped}`;

  // --- stabilization: scale out at once, scale in to the window's highest recommendation ---
  const windowStart = now.getTime() - settings.scaleInStabilizationMinutes * 60_000;
  const kept = history.recommendations.filter((r) => {
    const t = Date.parse(r.at);
    return Number.isFinite(t) && t > windowStart && t <= now.getTime();
  });
  const recommendations = [...kept, { at: nowIso, readers: clamped }].sort(
    (a, b) => Date.parse(a.at) - Date.parse(b.at),
  );
  const stabilized = Math.min(maxReaders, Math.max(...recommendations.map((r) => r.readers)));
  let target: number;
  if (clamped >= existing.length) {
    target = clamped;
  } else {
    target = Math.max(clamped, Math.min(existing.length, stabilized));
    if (target > clamped) {
      why += `; scale-in held at ${target} by the highest recommendation of the last ${settings.scaleInStabilizationMinutes} min`;
    }
  }
  target = Math.min(target, MAX_REPLICAS_PER_SOURCE);

  const actions: Action[] = [];
  const base = { tuner: 'replicas' as const, evidence };

  // Lagging readers are reported, never a reason to add.
  for (const r of lagging) {
    actions.push({
      ...base,
      resource: { kind: 'rds-instance', id: r.id },
      kind: 'finding',
      from: null,
      to: null,
      reason:
        r.replicaLagSeconds === -1
          ? `replica ${r.id} is not replicating (ReplicaLag -1): not counted as capacity`
          : `replica ${r.id} lags ${r.replicaLagSeconds} s (> ${settings.maxReplicaLagSeconds} s): not counted as capacity`,
      evidence: [
        {
          metric: 'ReplicaLag',
          statistic: 'Maximum',
          value: r.replicaLagSeconds,
          unit: 'Seconds',
          window,
          namespace: 'AWS/RDS',
          dimensions: readerDims(r),
          threshold: settings.maxReplicaLagSeconds,
        },
      ],
      monthlyCostDelta: 0,
      undo: null,
      mutating: false,
      severity: 'warning',
    });
  }

  /** Stops routing reads to a replica (its undo routes them again). */
  const removeRoute = (
    r: ReaderObservation,
    routing: NonNullable<ReplicaPolicySettings['routing']>,
    reason: string,
  ): Action => ({
    ...base,
    resource: { kind: 'rds-instance', id: r.id },
    kind: 'remove-route',
    from: `${routing.recordName} weight ${routing.weight}`,
    to: 'not routed',
    reason,
    monthlyCostDelta: 0,
    undo: { kind: 'add-route', params: { replicaId: r.id, endpoint: r.endpoint, ...routing } },
    mutating: true,
    params: { ...routing, replicaId: r.id, sourceId: obs.source.id },
  });

  const newClass =
    settings.instanceClasses[0] ??
    mostCommon(existing.map((r) => r.instanceClass)) ??
    obs.source.instanceClass;

  // --- recommend-only: plain RDS without routing and without a schedule -------------------
  if (!routed && basis !== 'schedule') {
    basis = 'recommend-only';
    if (target !== existing.length) {
      const each = newClass ? readerMonthlyCost(settings.prices, obs.family, newClass) : null;
      actions.push({
        ...base,
        resource: sourceRef,
        kind: 'recommend',
        from: existing.length,
        to: target,
        reason: `${why}. Recommend ${target > existing.length ? 'adding' : 'removing'} ${Math.abs(target - existing.length)} read replica(s) of ${obs.source.id}: no read routing is configured, so a new replica would offload nothing until the application reads from it (configure tuners.replicas.sources.${obs.source.id}.routing or a schedule)`,
        monthlyCostDelta: each === null ? 0 : round(each * (target - existing.length)),
        undo: null,
        mutating: false,
        numericTarget: target,
        severity: target > existing.length ? 'warning' : 'info',
      });
    }
    return finish();
  }

  // --- routing upkeep (plain RDS with routing) --------------------------------------------
  const removalCandidates: ReaderObservation[] = [];
  if (target < existing.length) {
    removalCandidates.push(
      ...existing
        .filter((r) => isOwned(r) && !WAIT_STATUSES_CREATING.has(r.status))
        .sort((a, b) => removalRank(a, b, settings.maxReplicaLagSeconds)),
    );
  }
  const excess = Math.max(0, existing.length - target);
  const toRemove = removalCandidates.slice(0, excess);
  const removing = new Set(toRemove.map((r) => r.id));

  if (obs.family === 'rds' && settings.routing) {
    for (const r of available) {
      if (!isOwned(r) || removing.has(r.id)) continue;
      const lag = isLagging(r, settings.maxReplicaLagSeconds);
      // Route reads only to a replica known to be in sync: no ReplicaLag datapoint yet (a replica
      // just made available) means unknown, and reads could see stale data (aws-facts.md).
      if (!r.routed && !lag && r.replicaLagSeconds !== null) {
        actions.push({
          ...base,
          resource: { kind: 'rds-instance', id: r.id },
          kind: 'add-route',
          from: 'not routed',
          to: `${settings.routing.recordName} weight ${settings.routing.weight}`,
          reason: `replica ${r.id} is available and in sync: route reads to it through ${settings.routing.recordName}`,
          monthlyCostDelta: 0,
          undo: { kind: 'remove-route', params: { replicaId: r.id, ...settings.routing } },
          mutating: true,
          params: { ...settings.routing, replicaId: r.id, endpoint: r.endpoint, sourceId: obs.source.id },
          rules: [{ rule: 'replicas:replica-in-sync', verdict: 'ok' }],
        });
      } else if (r.routed && lag) {
        actions.push({
          ...removeRoute(
            r,
            settings.routing,
            `replica ${r.id} lags (ReplicaLag ${r.replicaLagSeconds} s): stop routing reads to it until it catches up`,
          ),
          severity: 'warning',
        });
      }
    }
  }

  // --- scale out ----------------------------------------------------------------------------
  if (target > existing.length) {
    if (creating.length > 0 && settings.waitForCreatingReplicas === true) {
      return finish(
        `${why}; but ${creating.map((r) => r.id).join(', ')} is being created and counts: no second add until it is available`,
      );
    }
    const wanted = target - existing.length;
    const perSourceRoom = MAX_REPLICAS_PER_SOURCE - existing.length;
    const quotaRoom = obs.account.instanceQuota - obs.account.instancesUsed;
    const count = Math.max(1, Math.min(wanted, perSourceRoom, quotaRoom));
    const each = newClass ? readerMonthlyCost(settings.prices, obs.family, newClass) : null;
    for (let i = 1; i <= count; i++) {
      const to = existing.length + i;
      const rules: RuleCheck[] = [];
      rules.push(
        obs.source.status === 'available'
          ? { rule: 'replicas:source-available', verdict: 'ok' }
          : {
              rule: 'replicas:source-available',
              verdict: 'defer',
              reason: `${obs.family === 'aurora' ? 'cluster' : 'source'} ${obs.source.id} is ${obs.source.status}, not available`,
              until: retryAt,
            },
      );
      rules.push(
        obs.source.backupRetentionPeriod > 0
          ? { rule: 'replicas:backup-retention', verdict: 'ok' }
          : {
              rule: 'replicas:backup-retention',
              verdict: 'skip',
              reason: `${obs.source.id} has backup retention 0: a source needs backups enabled to have read replicas`,
            },
      );
      rules.push(
        to <= MAX_REPLICAS_PER_SOURCE
          ? { rule: 'replicas:per-source-limit', verdict: 'ok' }
          : {
              rule: 'replicas:per-source-limit',
              verdict: 'skip',
              reason: `${obs.source.id} already has ${existing.length} replicas; AWS allows ${MAX_REPLICAS_PER_SOURCE} per source`,
            },
      );
      rules.push(
        obs.account.instancesUsed + i <= obs.account.instanceQuota
          ? { rule: 'replicas:account-quota', verdict: 'ok' }
          : {
              rule: 'replicas:account-quota',
              verdict: 'skip',
              reason: `the account uses ${obs.account.instancesUsed} of its ${obs.account.instanceQuota} DB instances`,
            },
      );
      if (!newClass) {
        rules.push({
          rule: 'replicas:instance-class',
          verdict: 'skip',
          reason: 'no instance class configured or seen on the source',
        });
      }
      const replicaId = replicaName(obs.source.id, now, i);
      actions.push({
        ...base,
        resource: sourceRef,
        kind: 'add-replica',
        from: to - 1,
        to,
        reason: `${why}: add reader ${i} of ${count} (${replicaId}, ${newClass ?? 'unknown class'})${each === null ? ` (no price for ${newClass} in the price table)` : ''}`,
        monthlyCostDelta: each ?? 0,
        // The undo removes the replica itself (resource: the replica, where "created" consent applies).
        undo: {
          kind: 'remove-replica',
          params: {
            replicaId,
            sourceId: obs.source.id,
            family: obs.family,
            resource: { kind: 'rds-instance', id: replicaId },
            numericTarget: to - 1,
          },
        },
        mutating: true,
        numericTarget: to,
        rules,
        params: {
          family: obs.family,
          sourceId: obs.source.id,
          replicaId,
          engine: obs.source.engine,
          instanceClass: newClass,
          instanceClasses: dedupe([newClass, ...settings.instanceClasses].filter((c): c is string => !!c)),
          availabilityZones: settings.availabilityZones,
        },
        severity: 'info',
      });
    }
    return finish();
  }

  // --- scale in -----------------------------------------------------------------------------
  if (target < existing.length) {
    let remaining = existing.length;
    for (const r of toRemove) {
      const each = readerMonthlyCost(settings.prices, obs.family, r.instanceClass);
      if (obs.family === 'rds' && settings.routing && r.routed) {
        actions.push(
          removeRoute(
            r,
            settings.routing,
            `${why}: stop routing reads to ${r.id} so its connections drain; it is deleted on a later run once drained`,
          ),
        );
        continue;
      }
      const to = remaining - 1;
      const drained = r.maxConnections !== null && r.maxConnections <= settings.drainConnectionThreshold;
      const rules: RuleCheck[] = [
        { rule: 'replicas:ownership', verdict: 'ok' },
        to >= minReaders
          ? { rule: 'replicas:min-readers', verdict: 'ok' }
          : {
              rule: 'replicas:min-readers',
              verdict: 'skip',
              reason: `removing ${r.id} would leave ${to} < ${minReaders} readers`,
            },
        drained
          ? { rule: 'replicas:drained', verdict: 'ok' }
          : {
              rule: 'replicas:drained',
              verdict: 'defer',
              reason:
                r.maxConnections === null
                  ? `${r.id} has no DatabaseConnections data: cannot tell it has drained`
                  : `${r.id} still has ${round(r.maxConnections)} connections (> ${settings.drainConnectionThreshold}): waiting for them to drain`,
              until: retryAt,
            },
      ];
      actions.push({
        ...base,
        resource: { kind: 'rds-instance', id: r.id },
        kind: 'remove-replica',
        from: remaining,
        to,
        reason: `${why}: remove ${r.id} (created by db-autopilot${isLagging(r, settings.maxReplicaLagSeconds) ? ', lagging' : ''}${r.maxConnections !== null ? `, ${round(r.maxConnections)} connections` : ''})`,
        monthlyCostDelta: each === null ? 0 : -each,
        // The undo creates a new replica of the same class (a deleted replica cannot come back).
        undo: {
          kind: 'add-replica',
          params: {
            family: obs.family,
            sourceId: obs.source.id,
            replicaId: replicaName(obs.source.id, now, 0),
            engine: obs.source.engine,
            instanceClass: r.instanceClass,
            instanceClasses: dedupe([r.instanceClass, ...settings.instanceClasses]),
            availabilityZones: settings.availabilityZones,
            resource: sourceRef,
            numericTarget: remaining,
          },
        },
        mutating: true,
        deletes: true,
        numericTarget: to,
        rules,
        params: { family: obs.family, sourceId: obs.source.id, replicaId: r.id },
      });
      remaining = to;
    }
    // Replicas db-autopilot did not create are never removed; name them so the report says so:
    // in the run that removes one of its own (the scale-in happens, these stay), or when its own
    // are too few to reach the target. Not in every deferred run (a drain can take a while).
    const removesNow = actions.some(
      (a) => a.kind === 'remove-replica' && (a.rules ?? []).every((r) => r.verdict === 'ok'),
    );
    const shortOfOwn = toRemove.length < excess;
    const notOwned = removesNow || shortOfOwn ? existing.filter((x) => !isOwned(x)) : [];
    for (const r of notOwned) {
      actions.push({
        ...base,
        resource: { kind: 'rds-instance', id: r.id },
        kind: 'remove-replica',
        from: existing.length,
        to: existing.length,
        reason: `${r.id} would be a scale-in candidate but db-autopilot did not create it (${ownershipGap(r)}): left alone`,
        monthlyCostDelta: 0,
        undo: null,
        mutating: true,
        deletes: true,
        numericTarget: existing.length,
        rules: [
          {
            rule: 'replicas:ownership',
            verdict: 'skip',
            reason: `not created by db-autopilot: ${ownershipGap(r)}`,
          },
        ],
        params: { family: obs.family, sourceId: obs.source.id, replicaId: r.id },
      });
    }
    if (toRemove.length === 0 && existing.every(isOwned)) {
      return finish(`${why}; no replica is in a state to be removed`);
    }
    return finish();
  }

  return finish(`${why}: ${existing.length} reader(s), no change`);

  function finish(noopReason?: string): ReplicaPolicyResult {
    const plan: Plan = {
      tuner: 'replicas',
      resource: sourceRef,
      observedAt: nowIso,
      actions,
    };
    if (actions.length === 0) {
      plan.noopReason = noopReason ?? `${why}: ${existing.length} reader(s), no change`;
      plan.noopEvidence = evidence;
    } else if (noopReason && !actions.some((a) => a.mutating)) {
      // Only findings were planned: keep the reason the count did not change.
      plan.noopReason = noopReason;
      plan.noopEvidence = evidence;
    }
    return { plan, tunerState: { recommendations }, targetReaders: target, basis, ratio };
  }
}

/** Lagging first, then not routed, then the fewest connections, then the newest name. */
function removalRank(a: ReaderObservation, b: ReaderObservation, maxLag: number): number {
  const lag = Number(isLagging(b, maxLag)) - Number(isLagging(a, maxLag));
  if (lag !== 0) return lag;
  const route = Number(a.routed) - Number(b.routed);
  if (route !== 0) return route;
  const ca = a.maxConnections ?? Number.POSITIVE_INFINITY;
  const cb = b.maxConnections ?? Number.POSITIVE_INFINITY;
  if (ca !== cb) return ca - cb;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function mostCommon(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | undefined;
  let n = 0;
  for (const [v, c] of counts) {
    if (c > n) {
      best = v;
      n = c;
    }
  }
  return best;
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}
