import { MAX_READERS } from '../models/replicas.ts';
import type { BaselineFactory } from '../plugins/types.ts';
import { peakOf } from '../range-max.ts';

/**
 * Static provisioning at the trace's peak, never changed, in two flavours a person would pick:
 * - `static-peak`: the peak divided by the target utilization (DynamoDB, IOPS) or the readers
 *   that keep the peak at the target CPU (replicas), i.e. the same headroom AWS target tracking
 *   and db-autopilot keep, as a person sizing for the peak would;
 * - `static-exact`: the bare peak (replicas: at the saturation threshold), the cheapest constant
 *   that serves everything, knowing the future peak exactly.
 * Always within the configured min / max.
 */
export type StaticLevel = 'peak' | 'exact';

const NAMES = { peak: 'static-peak', exact: 'static-exact' } as const;

function staticDynamodb(level: StaticLevel): BaselineFactory<'dynamodb'> {
  return (trace, options) => {
    const o = options.dynamodb;
    const divisor = level === 'exact' ? 1 : o.targetUtilization;
    const units = (values: number[]): number =>
      Math.min(o.maxCapacity, Math.max(o.minCapacity, Math.ceil(peakOf(values) / divisor - 1e-9)));
    const initial = { read: units(trace.read), write: units(trace.write) };
    return { name: NAMES[level], initial: () => initial, decide: () => null };
  };
}

function staticIops(level: StaticLevel): BaselineFactory<'iops'> {
  return (trace, options) => {
    const o = options.iops;
    const divisor = level === 'exact' ? 1 : o.targetUtilization;
    const iops = Math.min(o.maxIops, Math.max(o.minIops, Math.ceil(peakOf(trace.iops) / divisor - 1e-9)));
    return { name: NAMES[level], initial: () => ({ iops }), decide: () => null };
  };
}

function staticReplicas(level: StaticLevel): BaselineFactory<'replicas'> {
  return (trace, options) => {
    const o = options.replicas;
    const perReader = level === 'exact' ? o.saturationCpuPercent : o.targetCpuPercent;
    const readers = Math.min(
      o.maxReaders,
      MAX_READERS,
      Math.max(o.minReaders, Math.ceil(peakOf(trace.cpu) / perReader - 1e-9)),
    );
    return { name: NAMES[level], initial: () => ({ readers }), decide: () => null };
  };
}

export const staticPeakDynamodb = staticDynamodb('peak');
export const staticExactDynamodb = staticDynamodb('exact');
export const staticPeakIops = staticIops('peak');
export const staticExactIops = staticIops('exact');
export const staticPeakReplicas = staticReplicas('peak');
export const staticExactReplicas = staticReplicas('exact');
