import { MAX_READERS } from '../models/replicas.ts';
import type { BaselineFactory } from '../plugins/types.ts';
import { peakOf } from '../range-max.ts';

/**
 * Static provisioning at the trace's peak, never changed. Choice (options.staticPeak, see
 * shared/backtest/README.md): by default the peak divided by the target utilization
 * (DynamoDB, IOPS) or the readers that keep the peak at the target CPU (replicas), i.e. the
 * same headroom AWS target tracking and db-autopilot keep, as a person sizing for the peak
 * would; with 'exact', the bare peak (replicas: at the saturation threshold), the cheapest
 * constant that serves everything. Always within the configured min / max.
 */
export const staticPeakDynamodb: BaselineFactory<'dynamodb'> = (trace, options) => {
  const o = options.dynamodb;
  const divisor = options.staticPeak === 'exact' ? 1 : o.targetUtilization;
  const level = (values: number[]): number =>
    Math.min(o.maxCapacity, Math.max(o.minCapacity, Math.ceil(peakOf(values) / divisor - 1e-9)));
  const initial = { read: level(trace.read), write: level(trace.write) };
  return { name: 'static-peak', initial: () => initial, decide: () => null };
};

export const staticPeakIops: BaselineFactory<'iops'> = (trace, options) => {
  const o = options.iops;
  const divisor = options.staticPeak === 'exact' ? 1 : o.targetUtilization;
  const iops = Math.min(o.maxIops, Math.max(o.minIops, Math.ceil(peakOf(trace.iops) / divisor - 1e-9)));
  return { name: 'static-peak', initial: () => ({ iops }), decide: () => null };
};

export const staticPeakReplicas: BaselineFactory<'replicas'> = (trace, options) => {
  const o = options.replicas;
  const peak = peakOf(trace.cpu);
  const perReader = options.staticPeak === 'exact' ? o.saturationCpuPercent : o.targetCpuPercent;
  const readers = Math.min(
    o.maxReaders,
    MAX_READERS,
    Math.max(o.minReaders, Math.ceil(peak / perReader - 1e-9)),
  );
  return { name: 'static-peak', initial: () => ({ readers }), decide: () => null };
};
