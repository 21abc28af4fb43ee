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

export const tuners: Partial<Record<TunerName, TunerLoader>> = {
  iops: async () => (await import('./iops.ts')).registration,
  replicas: async () => (await import('./replicas.ts')).registration,
  dynamodb: async () => (await import('./dynamodb.ts')).registration,
  maintenance: async () => (await import('../postgres/tuner.ts')).maintenanceRegistration,
  insights: async () => (await import('../postgres/tuner.ts')).insightsRegistration,
  proxy: async () => (await import('./proxy.ts')).registration,
  rightsizing: async () => (await import('./rightsizing.ts')).registration,
  serverless: async () => (await import('./serverless.ts')).registration,
};

export async function loadTuner(name: TunerName): Promise<TunerRegistration | undefined> {
  const loader = tuners[name];
  return loader ? loader() : undefined;
}
