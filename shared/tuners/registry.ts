import type { Adapter, AlarmSpec, Target, TunerEntry } from '../core/contracts.ts';
import type { ResourceRef, TunerName } from '../core/model.ts';

/**
 * Every tuner registers here what the rest of the system needs from it:
 * - run: the whole loop for a run (scheduled, alarm fast path, manual, demo);
 * - adapter: applies an Action (used by `revert` to replay a recorded undo through the guards);
 * - alarms: the CloudWatch alarms it wants on a managed target (kept in step by the reconciler).
 * Add one entry per tuner in `tuners` below (import lazily to keep bundles small).
 */
export interface TunerRegistration {
  run: TunerEntry;
  adapter?: Adapter;
  alarms?: (targets: Target[]) => Promise<AlarmSpec[]> | AlarmSpec[];
  /** Consent facts (tags, managed/created/opted out) of one resource, for `revert`; else the Tagging API is asked. */
  target?: (ref: ResourceRef) => Promise<Target | undefined>;
}

export type TunerLoader = () => Promise<TunerRegistration>;

/** A lazy import done once: later calls reuse the loaded registration (no second module lookup). */
function once(load: TunerLoader): TunerLoader {
  let loaded: Promise<TunerRegistration> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}

export const tuners: Partial<Record<TunerName, TunerLoader>> = {
  iops: once(async () => (await import('./iops.ts')).registration),
  replicas: once(async () => (await import('./replicas.ts')).registration),
  dynamodb: once(async () => (await import('./dynamodb.ts')).registration),
  maintenance: once(async () => (await import('../postgres/tuner.ts')).maintenanceRegistration),
  insights: once(async () => (await import('../postgres/tuner.ts')).insightsRegistration),
  proxy: once(async () => (await import('./proxy.ts')).registration),
  rightsizing: once(async () => (await import('./rightsizing.ts')).registration),
  serverless: once(async () => (await import('./serverless.ts')).registration),
};

export async function loadTuner(name: TunerName): Promise<TunerRegistration | undefined> {
  const loader = tuners[name];
  return loader ? loader() : undefined;
}
