/**
 * The serverless tuner's inputs beyond CloudWatch's 15-minute history (the policy:
 * shared/policies/serverless-bounds.ts; the backtest makes the same inputs the same way):
 *
 * - recurring spikes learned at minute resolution (shared/policies/serverless-spikes.ts) from 60-s
 *   DatabaseConnections over the history's days, read at most hourly per cluster (one metric per
 *   instance: 24 extra metrics a day), kept in the cluster's tuner state part `spikes` (written
 *   only when learned again; at most 48 spikes, ~2 KB);
 * - the MinCapacity in effect per history bucket, from db-autopilot's own applied
 *   `set-serverless-bounds` decisions of those days (the cluster's decision partition).
 */
import { z } from 'zod';
import { type ServerlessBoundsParams, serverlessBoundsSchema } from '../adapters/aurora-serverless.ts';
import type { ResourceHistory, StateStore } from '../core/contracts.ts';
import type { Decision } from '../core/model.ts';
import { getMetrics, type MetricsResult, type SeriesRequest } from '../metrics/index.ts';
import type { MinimumChange } from '../policies/serverless-bounds.ts';
import {
  DEFAULT_SPIKE_SETTINGS,
  type LearnedSpikes,
  learnSpikes,
  relearnDue,
} from '../policies/serverless-spikes.ts';

const MINUTE = 60_000;
/** The tuner state part the learned spikes are kept in. */
export const SPIKES_PART = 'spikes';

const learnedSpikesSchema = z
  .object({
    learnedAt: z.string().datetime(),
    through: z.string().datetime(),
    spikes: z
      .array(
        z.object({
          onset: z.number().int().min(0).max(2880),
          end: z
            .number()
            .int()
            .min(0)
            .max(2880 + DEFAULT_SPIKE_SETTINGS.maxSpikeMinutes),
          days: z.number().int().min(1),
        }),
      )
      .max(DEFAULT_SPIKE_SETTINGS.maxSpikes),
  })
  .strict();

/** The spikes a cluster's state holds, or undefined (none yet, or not what this code writes: learned again). */
export function storedSpikes(history: ResourceHistory): LearnedSpikes | undefined {
  const parsed = learnedSpikesSchema.safeParse(history.tunerState?.[SPIKES_PART]);
  return parsed.success ? parsed.data : undefined;
}

/** The clusters whose spikes are due to be learned again (never learned, or an hour ago). */
export function spikesDue(history: ResourceHistory, now: Date): boolean {
  return relearnDue(storedSpikes(history), now);
}

/** One request for the 60-s DatabaseConnections (Maximum) of each instance over `days` days. */
export async function readMinuteConnections(
  instanceIds: readonly string[],
  days: number,
  now: Date,
): Promise<MetricsResult | undefined> {
  if (instanceIds.length === 0) return undefined;
  const series: SeriesRequest[] = instanceIds.map((id) => ({
    id: `m:${id}:connections`,
    kind: 'gauge' as const,
    statistic: 'Maximum',
    metric: {
      namespace: 'AWS/RDS',
      metricName: 'DatabaseConnections',
      dimensions: { DBInstanceIdentifier: id },
    },
  }));
  const start = new Date(Math.floor((now.getTime() - days * 1440 * MINUTE) / MINUTE) * MINUTE);
  return getMetrics({ series, start, end: now, periodSeconds: 60, now });
}

/**
 * The cluster's learned spikes: learned again from `minutes` (the members' 60-s connections,
 * summed minute by minute up to the newest published one) when due and read, stored in the part
 * `spikes`; otherwise the stored ones.
 */
export async function learnedSpikes(
  store: StateStore,
  clusterId: string,
  history: ResourceHistory,
  members: readonly string[],
  minutes: MetricsResult | undefined,
  now: Date,
): Promise<LearnedSpikes | undefined> {
  const stored = storedSpikes(history);
  if (!minutes || !relearnDue(stored, now)) return stored;
  const columns = members.map((m) => minutes.series.get(`m:${m}:connections`)?.values ?? []);
  if (columns.every((c) => c.every((v) => v === null))) return stored;
  const values = Array.from({ length: minutes.completePoints }, (_, i) => {
    const vs = columns.map((c) => c[i]).filter((v): v is number => typeof v === 'number');
    return vs.length === 0 ? null : vs.reduce((a, b) => a + b, 0);
  });
  const last = minutes.timestamps[minutes.completePoints - 1];
  if (!last) return stored;
  const learned = learnSpikes({ values, end: new Date(Date.parse(last) + MINUTE).toISOString() }, now);
  await store.putTunerState(
    'serverless',
    clusterId,
    learned as unknown as Record<string, unknown>,
    SPIKES_PART,
  );
  return learned;
}

/** The tuner state key of the person's capacity range (handed back when db-autopilot stops). */
export const PERSON_BOUNDS = 'personBounds';

/**
 * The person's range as the tuner keeps it (written by serverless.ts `tuneCluster`, the adapter's
 * `serverlessBoundsSchema`): `bounds`, or `malformed` (why, and the stored value) when it is not
 * what this code writes (state of an older version, or edited by a person); undefined when absent.
 */
export function storedPersonBounds(
  history: ResourceHistory,
): { bounds: ServerlessBoundsParams } | { malformed: string; stored: unknown } | undefined {
  const stored = history.tunerState?.[PERSON_BOUNDS];
  if (stored === undefined) return undefined;
  const parsed = serverlessBoundsSchema.safeParse(stored);
  if (parsed.success) return { bounds: parsed.data };
  const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
  return { malformed: why, stored };
}

/** What a malformed stored range still says (each bound only when valid on its own). */
export function knownPersonBounds(stored: unknown): string {
  const s = (stored ?? {}) as Record<string, unknown>;
  const acu = z
    .number()
    .min(0)
    .max(256)
    .refine((v) => Number.isInteger(v * 2));
  const min = acu.safeParse(s.min);
  const max = acu.safeParse(s.max);
  const known = [
    ...(min.success ? [`MinCapacity ${min.data}`] : []),
    ...(max.success ? [`MaxCapacity ${max.data}`] : []),
  ];
  return known.length
    ? `the record still says ${known.join(' and ')} ACU: set the person's range by hand`
    : "the person's range is not known: set it by hand";
}

const boundsSchema = z.object({ min: z.number().min(0).max(256), max: z.number() });

/** db-autopilot's applied capacity-range changes among `decisions` (any order), as minimum changes. */
export function minimumChanges(decisions: readonly Decision[]): MinimumChange[] {
  return decisions.flatMap((d) => {
    if (d.action !== 'set-serverless-bounds' || d.outcome !== 'applied') return [];
    const from = boundsSchema.safeParse(d.from);
    const to = boundsSchema.safeParse(d.to);
    return from.success && to.success ? [{ at: d.at, from: from.data.min, to: to.data.min }] : [];
  });
}

/** The main tuner state without its parts (they are written on their own). */
export function mainState(history: ResourceHistory): Record<string, unknown> {
  const main: Record<string, unknown> = { ...history.tunerState };
  for (const part of history.tunerStateParts ?? []) delete main[part];
  return main;
}
