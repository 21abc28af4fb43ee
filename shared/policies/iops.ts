/**
 * How Provisioned IOPS are decided (issues 8, 20). A pure function from an observation of one RDS
 * instance (only what AWS publishes and describes), its settings and the time to a Plan: no SDK,
 * no clock, no randomness. The decision reads as its steps, each in its own file:
 *
 * 1. readSignals / estimateDemand (iops-signals.ts): what was served; when saturated, how far
 *    demand went above it, estimated from noisy latency and queue depth.
 * 2. expectedLockout (iops-forecast.ts): how long a change locks storage, learned from RDS events
 *    and StorageOperationPercentProgress, never less than 6 h.
 * 3. checkStorageSafety (iops-safety.ts): FreeStorageSpace, MaxAllocatedStorage and its headroom;
 *    the last change of 24 h kept for raises.
 * 4. diagnoseGp2 (here): a gp2 volume whose BurstBalance drains gets a gp3 recommendation.
 * 5. forecastLockout (iops-forecast.ts): the demand that lock-out must cover.
 * 6. iopsBounds (iops-bounds.ts): engine ranges, DescribeValidDBInstanceModifications (capped at
 *    its edge), the class's sustained baseline, config bounds, cost ceiling, autoscaling's ratio.
 * 7. recommendIops / stabilize (iops-recommend.ts): raise, lower or hold; then safety and savings.
 * 8. setIopsAction (iops-actions.ts): the action with its cost, undo and the storage-change rules
 *    (iops-ledger.ts) the executor enforces: optimization, 6 h, 4 per 24 h, status, pending values.
 */

import type { RdsStorageType } from '../aws/rds-storage-limits.ts';
import { GP3_STRIPING_GIB, gp2BaselineIops } from '../aws/rds-storage-limits.ts';
import type { IopsSection } from '../config/sections/iops.ts';
import type { Action, Evidence, Plan, RuleCheck } from '../core/model.ts';
import type { PriceTable } from '../pricing.ts';
import { costDelta, finding, gp3Recommendation, refOf, setIopsAction } from './iops-actions.ts';
import { iopsBounds, type ValidStorageOption } from './iops-bounds.ts';
import { round2 } from './iops-cost.ts';
import { demandHistory, expectedLockout, forecastLockout, type Lockout } from './iops-forecast.ts';
import { type StorageLedger, storageChangeRules } from './iops-ledger.ts';
import { recommendIops, stabilize } from './iops-recommend.ts';
import { checkStorageSafety, type StorageSafety } from './iops-safety.ts';
import { type MetricSeries, minOf, present, slice } from './iops-series.ts';
import {
  estimateDemand,
  type IopsSignals,
  rdsEvidence,
  readSignals,
  signalEvidence,
} from './iops-signals.ts';

export { UNDO_WAIT_NOTE } from './iops-actions.ts';
export type { ValidStorageOption } from './iops-bounds.ts';
export type { MetricSeries } from './iops-series.ts';

/** The IOPS policy's settings (the config's `tuners.iops` section, resolved). */
export interface IopsPolicySettings {
  targetUtilization: number;
  tolerance: number;
  scaleDownTolerance: number;
  minMonthlySavingUsd: number;
  minIops: number;
  maxIops: number;
  monthlyCostCeilingUsd?: number;
  scaleDownStabilizationMinutes: number;
  lockoutForecastHours: number;
  assumedOptimizationHours: number;
  maxLoweringLockoutHours: number;
  forecastUtilization: number;
  saturationUtilization: number;
  maxRaiseFactor: number;
  normalLatencyMs: number;
  burstBalanceLowPercent: number;
  ebsBalanceLowPercent: number;
  ebsBalanceSparePercent: number;
  classLimitUtilization: number;
  freeStorageLowPercent: number;
  allowStorageGrowthForIops: boolean;
  allowStorageTypeChange: boolean;
}

export interface RdsStorageInstance {
  id: string;
  arn?: string;
  engine: string;
  instanceClass: string;
  storageType: RdsStorageType;
  allocatedGiB: number;
  /** Provisioned IOPS (io1/io2, gp3 >= 400 GiB); undefined otherwise. */
  iops?: number;
  throughputMibps?: number;
  multiAz?: boolean;
  /** MaxAllocatedStorage: storage autoscaling's ceiling (undefined or <= allocated: autoscaling off). */
  maxAllocatedGiB?: number;
}

/** What the tuner reads for one instance: CloudWatch series and Describe* answers, nothing else. */
export interface IopsObservation {
  instance: RdsStorageInstance;
  /** The raise window (`lookbackMinutes`), at 60 s. */
  recent: {
    readIops: MetricSeries;
    writeIops: MetricSeries;
    diskQueueDepth?: MetricSeries;
    /** Seconds, as CloudWatch publishes them. */
    readLatency?: MetricSeries;
    writeLatency?: MetricSeries;
    /** Percent (gp2 only). */
    burstBalance?: MetricSeries;
    /** Percent (smaller classes only). */
    ebsIoBalance?: MetricSeries;
    /** Bytes. */
    freeStorageSpace?: MetricSeries;
  };
  /**
   * The long window: at least `scaleDownStabilizationMinutes` and, for the seasonal forecast,
   * 24 h + the lock-out. `totalIops` is the peak (read + write) per period.
   */
  history: { totalIops: MetricSeries; latency?: MetricSeries; freeStorageSpace?: MetricSeries };
  ledger: StorageLedger;
  /** DescribeValidDBInstanceModifications' storage options for the instance's storage type, when read. */
  validStorage?: ValidStorageOption[];
}

export interface IopsDecisionDetail {
  effectiveIops: number;
  demandPeak: number | null;
  demandEstimate: number | null;
  saturated: boolean;
  forecastPeak: number | null;
  stabilizationPeak: number | null;
  lockoutHours?: number;
  /** Recent trend of demand (IOPS per hour) used when there is no day of history. */
  trendPerHour?: number;
  bounds?: { min: number; max: number; limitedBy: string[] };
}

export interface IopsPolicyInput {
  observation: IopsObservation;
  settings: IopsPolicySettings;
  prices: PriceTable;
  now: Date;
}

export interface IopsPolicyResult {
  plan: Plan;
  detail: IopsDecisionDetail;
}

/** Fewer datapoints than this (and no saturation): too little to decide on. */
const MIN_RECENT_POINTS = 10;
const HOUR_MS = 3_600_000;

export function decideIops(input: IopsPolicyInput): IopsPolicyResult {
  const { observation: obs, settings: cfg, prices, now } = input;
  const inst = obs.instance;
  const signals = readSignals(obs, cfg);
  const demand = estimateDemand(obs, signals, cfg);
  const evidence = signalEvidence(obs, signals, cfg);
  const detail: IopsDecisionDetail = {
    effectiveIops: signals.effective,
    demandPeak: signals.peak,
    demandEstimate: demand.value,
    saturated: signals.saturated,
    forecastPeak: null,
    stabilizationPeak: null,
  };
  const done = (actions: Action[], noopReason?: string) =>
    planOf(obs, now, evidence, detail, actions, noopReason);
  const rules = storageChangeRules(obs.ledger, now);
  if (signals.p99 === null || demand.value === null) {
    return done([], 'no ReadIOPS/WriteIOPS datapoints in the window: demand unknown, nothing changed');
  }
  if (demand.climbing) {
    const c = demand.climbing;
    return done(
      [],
      `saturated for ${c.minutes} min and demand still climbing steeply (${Math.round(c.from)} -> ${Math.round(c.to)} IOPS): sizing the raise when it levels off (a change locks storage for hours)`,
    );
  }
  const points = present(signals.total).length;
  if (!signals.saturated && points < MIN_RECENT_POINTS) {
    return done([], `only ${points} datapoints in the window: too few to decide (not saturated)`);
  }
  const lockout = expectedLockout(obs.ledger, cfg, now);
  detail.lockoutHours = round2(lockout.ms / HOUR_MS);
  const safety = checkStorageSafety(obs, signals.freeBytesMin, cfg, now, lockout.ms);
  if (inst.storageType === 'gp2')
    return done(
      diagnoseGp2(obs, signals, cfg, prices, evidence, rules, demand.value, safety),
      `gp2: BurstBalance ${fmtPct(obs.recent.burstBalance ? minOf(obs.recent.burstBalance.values) : null)} is not draining; demand ${Math.round(demand.value)} IOPS`,
    );
  return decideLevel({
    obs,
    cfg,
    prices,
    now,
    signals,
    demand: demand.value,
    recentDemand: demand.perMinute,
    evidence,
    rules,
    detail,
    lockout,
    safety,
    done,
  });
}

interface LevelInput {
  obs: IopsObservation;
  cfg: IopsPolicySettings;
  prices: PriceTable;
  now: Date;
  signals: IopsSignals;
  demand: number;
  recentDemand: Array<number | null>;
  evidence: Evidence[];
  rules: RuleCheck[];
  detail: IopsDecisionDetail;
  lockout: Lockout;
  safety: StorageSafety;
  done: (actions: Action[], noopReason?: string) => IopsPolicyResult;
}

/** Steps 5-8 for settable storage: forecast, bounds, recommendation, stabilization, action. */
function decideLevel(x: LevelInput): IopsPolicyResult {
  const { obs, cfg, signals: s, detail, evidence, done } = x;
  const inst = obs.instance;
  const p99 = s.p99 ?? 0;
  const hist = demandHistory(
    obs.history.totalIops,
    obs.history.latency,
    s.normalLatencySec,
    cfg.maxRaiseFactor,
  );
  const base = {
    obs,
    demand: hist,
    cfg,
    now: x.now,
    current: x.demand,
    recentP99: p99,
    recentDemand: x.recentDemand,
  };
  const f = forecastLockout({ ...base, lockoutMs: x.lockout.ms });
  // A lowering that turns out too low is stuck until its optimization ends, which can take longer
  // than any seen so far: it must hold through the day's peak and twice the expected lock-out.
  const lowerMs = lowerHorizonMs(x.lockout.ms);
  const fLow = lowerMs === x.lockout.ms ? f : forecastLockout({ ...base, lockoutMs: lowerMs });
  detail.forecastPeak = f.forecastPeak;
  detail.trendPerHour = Math.round(f.slopePerHour);
  detail.stabilizationPeak = f.stabilizationPeak;
  evidence.push(...forecastEvidence(inst.id, f, cfg));
  const b = iopsBounds({
    inst,
    cfg,
    prices: x.prices,
    wanted: f.wanted,
    neededForPeak: f.neededForPeak,
    saturated: s.saturated,
    ebsBalanceMin: s.ebsBalanceMin,
    minIopsForAutoscaling: x.safety.minIopsForAutoscaling,
    validStorage: obs.validStorage,
  });
  if (!b.settable)
    return done(
      fixedStorage(inst, s, f.neededForPeak, x.demand, b.range.note, b.range.fixedIops, evidence),
      `${b.range.note}; demand ${Math.round(x.demand)} IOPS fits`,
    );
  if (b.lo > b.hi) {
    const why = `no IOPS value satisfies every bound (min ${b.lo} > max ${b.hi}: ${b.limitedBy.join('; ') || 'bounds'})`;
    return done([finding(inst, s.effective, null, why, evidence)]);
  }
  detail.bounds = { min: b.lo, max: b.hi, limitedBy: b.limitedBy };
  const current = inst.iops ?? s.effective;
  const rec = recommendIops({
    current,
    bounds: b,
    forecast: f,
    lowering: fLow,
    demand: x.demand,
    p99,
    saturated: s.saturated,
    latencyMs: s.latencyP95 === null ? null : s.latencyP95 * 1000,
    cfg,
    lockoutSource: x.lockout.source,
    lockoutLearned: x.lockout.learned,
  });
  const classFinding = classLimitFinding(inst, s, b, cfg, evidence);
  if (!rec.change || (rec.target === current && b.growTo === undefined)) {
    const reason = rec.change
      ? `already at ${current} IOPS (${b.limitedBy.join('; ') || 'no change needed'})`
      : rec.reason;
    return done(classFinding ? [classFinding] : [], withNote(reason, x));
  }
  const delta = costDelta(inst, rec.target, b.gib, x.prices);
  const blocked = stabilize({ target: rec.target, current, monthlyCostDelta: delta }, x.safety, cfg);
  if (blocked) {
    const report =
      s.saturated && rec.target > current ? [finding(inst, current, rec.target, blocked, evidence)] : [];
    return done(classFinding ? [...report, classFinding] : report, withNote(blocked, x));
  }
  const action = setIopsAction({
    inst,
    currentIops: current,
    target: rec.target,
    gib: b.gib,
    growTo: b.growTo,
    why: withNote(rec.why, x),
    evidence,
    rules: x.rules,
    prices: x.prices,
    saturated: s.saturated,
  });
  return done(classFinding ? [action, classFinding] : [action]);
}

/** The horizon a lowering must hold for: at least a day, and twice the expected lock-out. */
export function lowerHorizonMs(lockoutMs: number): number {
  return Math.max(24 * HOUR_MS, 2 * lockoutMs);
}

function fmtPct(v: number | null): string {
  return v === null ? 'unknown' : `${round2(v)}%`;
}

function withNote(text: string, x: LevelInput): string {
  return x.safety.note ? `${text}; ${x.safety.note}` : text;
}

/** The class, not the storage, is the limit: saturated at its cap, or its burst balance ran low. */
function classLimitFinding(
  inst: RdsStorageInstance,
  s: IopsSignals,
  b: Extract<ReturnType<typeof iopsBounds>, { settable: true }>,
  cfg: IopsPolicySettings,
  evidence: Evidence[],
): Action | undefined {
  const cap = b.classCap;
  if (!cap) return undefined;
  const balanceLow = s.ebsBalanceMin !== null && s.ebsBalanceMin < cfg.ebsBalanceLowPercent;
  const atCap =
    s.saturated &&
    b.hi <= cap.iops &&
    (s.peak ?? 0) >= cfg.classLimitUtilization * Math.min(cap.iops, s.effective);
  if (!balanceLow && !(atCap && b.hi === cap.iops)) return undefined;
  const why = balanceLow
    ? `EBSIOBalance% fell to ${round2(s.ebsBalanceMin ?? 0)}% (< ${cfg.ebsBalanceLowPercent}%): ${inst.instanceClass} is out of EBS burst and sustains ${cap.iops} IOPS`
    : `demand is at what ${inst.instanceClass} can drive (${cap.iops} IOPS)`;
  return finding(
    inst,
    { instanceClass: inst.instanceClass, iops: s.effective },
    { instanceClass: 'a larger class' },
    `${why}; more storage IOPS would buy nothing (aws-facts.md, RDS signals for IOPS). Consider a larger instance class.`,
    evidence,
    { classCap: cap },
  );
}

/** gp2 and gp3 below the striping size: IOPS cannot be set; say what would unlock them. */
function fixedStorage(
  inst: RdsStorageInstance,
  s: IopsSignals,
  neededForPeak: number,
  demand: number,
  note: string,
  fixedIops: number,
  evidence: Evidence[],
): Action[] {
  if (!(s.saturated || neededForPeak > fixedIops)) return [];
  const hint =
    inst.storageType === 'gp3' && inst.allocatedGiB < GP3_STRIPING_GIB
      ? ' Growing to 400 GiB would unlock 12,000-64,000 IOPS (a one-way full data copy; set allowStorageGrowthForIops to let db-autopilot do it), or move to io1/io2.'
      : '';
  const reason = `demand ${Math.round(demand)} IOPS needs ${neededForPeak} IOPS but ${note}.${hint}`;
  return [
    finding(
      inst,
      { storageType: inst.storageType, iops: s.effective },
      { iopsNeeded: neededForPeak },
      reason,
      evidence,
    ),
  ];
}

/** gp2 with a draining BurstBalance: recommend gp3 (aws-facts.md: BurstBalance alarm < 20%). */
function diagnoseGp2(
  obs: IopsObservation,
  s: IopsSignals,
  cfg: IopsPolicySettings,
  prices: PriceTable,
  evidence: Evidence[],
  rules: RuleCheck[],
  demand: number,
  safety: StorageSafety,
): Action[] {
  const inst = obs.instance;
  const bb = obs.recent.burstBalance;
  const bbMin = bb ? minOf(bb.values) : null;
  if (bb)
    evidence.push(
      rdsEvidence(
        inst.id,
        'BurstBalance',
        'Minimum',
        bbMin,
        bb,
        bb.values,
        'Percent',
        cfg.burstBalanceLowPercent,
      ),
    );
  const values = bb ? present(bb.values) : [];
  const first = values[0] ?? null;
  const last = values.at(-1) ?? null;
  const overBaseline = s.p95 !== null && s.p95 > gp2BaselineIops(inst.allocatedGiB);
  // Draining: below the alarm level, or demand above the baseline while the balance fell 10 points.
  const draining =
    bbMin !== null &&
    (bbMin < cfg.burstBalanceLowPercent ||
      (overBaseline && first !== null && last !== null && first - last >= 10));
  if (!draining) return [];
  const action = gp3Recommendation(inst, cfg, prices, evidence, rules, demand, bbMin);
  if (action.mutating && safety.blockAll) {
    return [
      {
        ...action,
        kind: 'recommend',
        mutating: false,
        rules: undefined,
        undo: null,
        reason: `${action.reason} Not applied now: ${safety.blockAll}`,
      },
    ];
  }
  return [action];
}

function forecastEvidence(
  id: string,
  f: ReturnType<typeof forecastLockout>,
  cfg: IopsPolicySettings,
): Evidence[] {
  const out: Evidence[] = [];
  if (f.seasonal !== null) {
    out.push(
      rdsEvidence(
        id,
        'ReadIOPS+WriteIOPS',
        'Maximum (same hours yesterday)',
        f.seasonal,
        f.history,
        f.seasonalValues,
        'Count/Second',
      ),
    );
  }
  out.push(
    rdsEvidence(
      id,
      'ReadIOPS+WriteIOPS',
      `Maximum over ${cfg.scaleDownStabilizationMinutes} min`,
      f.stabilizationPeak,
      f.history,
      f.stabilizationValues,
      'Count/Second',
    ),
  );
  return out;
}

function planOf(
  obs: IopsObservation,
  now: Date,
  evidence: Evidence[],
  detail: IopsDecisionDetail,
  actions: Action[],
  noopReason?: string,
): IopsPolicyResult {
  const pending = obs.ledger.pendingForeign;
  const reason =
    actions.length === 0 && pending.length > 0
      ? `${noopReason ?? 'no change'}; PendingModifiedValues holds ${pending.join(', ')}, not set by db-autopilot (a storage change would defer until it is applied or withdrawn)`
      : noopReason;
  return {
    plan: {
      tuner: 'iops',
      resource: refOf(obs.instance),
      observedAt: now.toISOString(),
      actions,
      noopReason: actions.length === 0 ? reason : undefined,
      noopEvidence: actions.length === 0 ? evidence : undefined,
    },
    detail,
  };
}

/** Values of a series whose period starts in [from, to) (re-exported for tests and the backtest). */
export { slice };

/** The policy's settings from the config's `tuners.iops` section (every field has a default). */
export function policySettings(section: IopsSection): IopsPolicySettings {
  return {
    targetUtilization: section.targetUtilization,
    forecastUtilization: section.forecastUtilization,
    tolerance: section.tolerance,
    scaleDownTolerance: section.scaleDownTolerance,
    minMonthlySavingUsd: section.minMonthlySavingUsd,
    minIops: section.minIops,
    maxIops: section.maxIops,
    monthlyCostCeilingUsd: section.monthlyCostCeilingUsd,
    scaleDownStabilizationMinutes: section.scaleDownStabilizationMinutes,
    lockoutForecastHours: section.lockoutForecastHours,
    assumedOptimizationHours: section.assumedOptimizationHours,
    maxLoweringLockoutHours: section.maxLoweringLockoutHours,
    saturationUtilization: section.saturationUtilization,
    maxRaiseFactor: section.maxRaiseFactor,
    normalLatencyMs: section.normalLatencyMs,
    burstBalanceLowPercent: section.burstBalanceLowPercent,
    ebsBalanceLowPercent: section.ebsBalanceLowPercent,
    ebsBalanceSparePercent: section.ebsBalanceSparePercent,
    classLimitUtilization: section.classLimitUtilization,
    freeStorageLowPercent: section.freeStorageLowPercent,
    allowStorageGrowthForIops: section.allowStorageGrowthForIops,
    allowStorageTypeChange: section.allowStorageTypeChange,
  };
}
