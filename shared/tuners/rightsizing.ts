/**
 * Idle and oversized RDS / Aurora instances, recommend only: discover the managed instances ->
 * observe (CloudWatch DatabaseConnections and CPUUtilization, Maximum per hour, 14 days) ->
 * right-sizing policy -> executePlan (recorded; nothing mutates) -> summary.
 *
 * How it is decided: shared/policies/rightsizing.ts.
 */
import type { DBInstance } from '@aws-sdk/client-rds';
import { asStorageType } from '../aws/rds-storage-limits.ts';
import type { TunerRunRequest, TunerRunSummary } from '../core/contracts.ts';
import { executePlan } from '../core/executor.ts';
import type { ActResult, Decision } from '../core/model.ts';
import { finishRun, outOfTime, recordObservationFailure, selectRequested } from '../core/run.ts';
import { resolveSettings } from '../core/settings.ts';
import { type DiscoveredTarget, discoverFleet } from '../discovery/index.ts';
import { getMetrics, type SeriesRequest } from '../metrics/index.ts';
import { planRightsizing, type RightsizingObservation } from '../policies/rightsizing.ts';
import { priceTable } from '../pricing.ts';
import { notEnabledNote, openTunerRun, type TunerRunDeps } from './common.ts';
import type { TunerRegistration } from './registry.ts';

const HOUR = 3_600_000;

function series(id: string): SeriesRequest[] {
  const metric = (metricName: string) => ({
    namespace: 'AWS/RDS',
    metricName,
    dimensions: { DBInstanceIdentifier: id },
  });
  return [
    { id: `${id}:connections`, kind: 'gauge', statistic: 'Maximum', metric: metric('DatabaseConnections') },
    { id: `${id}:cpu`, kind: 'gauge', statistic: 'Maximum', metric: metric('CPUUtilization') },
  ];
}

/** Recommendations never reach AWS: the adapter only confirms that nothing is changed. */
const recommendOnly = async (): Promise<ActResult> => ({
  status: 'skipped',
  reason: 'right-sizing only recommends',
});

export async function runRightsizing(
  request: TunerRunRequest,
  deps: TunerRunDeps = {},
): Promise<TunerRunSummary> {
  const { config, store, now, started } = await openTunerRun('rightsizing', request, deps);
  if (started.run.paused || started.duplicate) return finishRun(started, []);
  const { run } = started;
  const section = config.tuners.rightsizing;
  if (!section?.enabled) return finishRun(started, [], [notEnabledNote('rightsizing')]);
  const settings = resolveSettings(config, 'rightsizing');
  const fleet = await discoverFleet({
    kinds: ['rds-instance'],
    selector: section.resources,
    tagKeys: config.tags,
  });
  const notes = [...fleet.notes];
  const targets = selectRequested(
    fleet.rdsInstances.filter(
      // Aurora Serverless v2 instances have no class to size: the serverless tuner sets their range.
      (t: DiscoveredTarget<DBInstance>) =>
        t.raw.DBInstanceStatus === 'available' && !t.optedOut && t.raw.DBInstanceClass !== 'db.serverless',
    ),
    request.resourceIds,
    notes,
    (id) => `${id}: not a managed, available RDS or Aurora instance`,
  );
  if (targets.length === 0) return finishRun(started, [], notes);
  const days = Math.max(section.idleDays, section.oversizedDays);
  // Whole hours only: the hour still filling would read as lower than it is.
  const end = new Date(Math.floor(now.getTime() / HOUR) * HOUR);
  const start = new Date(end.getTime() - days * 24 * HOUR);
  const metrics = await getMetrics({
    series: targets.flatMap((t) => series(t.ref.id)),
    start,
    end,
    periodSeconds: 3600,
    now,
  });
  notes.push(...metrics.notes);
  const prices = priceTable(config.prices);
  const decisions: Decision[] = [];
  for (const target of targets) {
    if (outOfTime(request, target.ref.id, notes)) break;
    try {
      const inst = target.raw;
      const storage = asStorageType(inst.StorageType);
      const observation: RightsizingObservation = {
        id: target.ref.id,
        kind: inst.DBClusterIdentifier ? 'aurora-instance' : 'rds-instance',
        engine: inst.Engine ?? 'unknown',
        instanceClass: inst.DBInstanceClass ?? 'unknown',
        multiAz: inst.MultiAZ === true,
        allocatedGiB: inst.AllocatedStorage ?? 0,
        storagePricePerGbMonth: storage ? (prices[`rds.${storage}.gbMonth`] ?? 0) : 0,
        createdAt: (inst.InstanceCreateTime ?? new Date(0)).toISOString(),
        observedAt: now.toISOString(),
        hourly: {
          connectionsMax: metrics.series.get(`${target.ref.id}:connections`)?.values ?? [],
          cpuMax: metrics.series.get(`${target.ref.id}:cpu`)?.values ?? [],
        },
        window: { start: start.toISOString(), end: end.toISOString() },
      };
      const plan = planRightsizing(observation, section, prices);
      decisions.push(...(await executePlan({ plan, target, settings, adapter: recommendOnly, run, store })));
    } catch (error) {
      decisions.push(await recordObservationFailure(store, run, target.ref, settings.mode, error));
    }
  }
  return finishRun(started, decisions, notes);
}

export const registration: TunerRegistration = {
  run: (request) => runRightsizing(request),
};
