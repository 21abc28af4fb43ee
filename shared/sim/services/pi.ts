import { InvalidArgumentException, NotAuthorizedException } from '@aws-sdk/client-pi';
import { MINUTE_MS } from '../clock.ts';
import type { SimAccount } from '../engine.ts';
import { errorMetadata } from '../errors.ts';
import { num, rec, str, toMs } from '../paging.ts';
import { registerOperations } from '../registry.ts';
import type { Workload } from '../workload.ts';

/**
 * Simulated Performance Insights API (service `pi`): DB load (average active sessions) of an
 * instance, split by tokenized SQL and by wait event. Identifier is the instance's DbiResourceId,
 * as with the real API; an instance without a profile answers NotAuthorizedException, as the API
 * does for a resource whose Performance Insights is off. Sources: Performance Insights API
 * reference (DescribeDimensionKeys, GetResourceMetrics; db.load.avg; groups db.sql_tokenized and
 * db.wait_event; statements are tokenized, literals replaced, at most 500 bytes).
 */

export interface PiStatement {
  /** Tokenized text, as PI shows it (literals already replaced by `?`). */
  statement: string;
  /** The engine's own id (PostgreSQL: pg_stat_statements queryid), `db.sql_tokenized.db_id`. */
  dbId?: string;
  /** Share of the instance's DB load. */
  share: number;
  /** Share of this statement's load per wait event ("CPU", "IO:DataFileRead", ...). */
  waits: Record<string, number>;
}

export interface PiProfile {
  /** Average active sessions over time. */
  load: Workload;
  statements: PiStatement[];
}

const profilesBySim = new WeakMap<SimAccount, Map<string, PiProfile>>();

function profiles(sim: SimAccount): Map<string, PiProfile> {
  let map = profilesBySim.get(sim);
  if (!map) {
    map = new Map();
    profilesBySim.set(sim, map);
  }
  return map;
}

/** Gives an instance (by id) a Performance Insights profile. */
export function addPiProfile(sim: SimAccount, instanceId: string, profile: PiProfile): void {
  const inst = sim.rds.get(instanceId);
  if (!inst) throw new Error(`addPiProfile: no instance ${instanceId}`);
  profiles(sim).set(inst.resourceId, profile);
}

function profileFor(sim: SimAccount, identifier: string): PiProfile {
  const p = profiles(sim).get(identifier);
  if (!p)
    throw new NotAuthorizedException({
      message: `Performance Insights is not enabled for ${identifier}, or you are not authorized to read it.`,
      $metadata: errorMetadata(403),
    });
  return p;
}

function window(sim: SimAccount, input: Record<string, unknown>): { start: number; end: number } {
  const start = toMs(input.StartTime);
  const end = Math.min(toMs(input.EndTime) ?? sim.nowMs(), sim.nowMs());
  if (start === undefined || start >= end)
    throw new InvalidArgumentException({
      message: 'StartTime must be before EndTime.',
      $metadata: errorMetadata(),
    });
  return { start, end };
}

/** Mean of the load over [start, end), sampled every 5 minutes. */
function meanLoad(p: PiProfile, start: number, end: number): number {
  let sum = 0;
  let n = 0;
  for (let t = start; t < end; t += 5 * MINUTE_MS) {
    sum += Math.max(0, p.load(t));
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

registerOperations('pi', {
  DescribeDimensionKeys: (sim, input) => {
    const p = profileFor(sim, str(input.Identifier) ?? '');
    const { start, end } = window(sim, input);
    if (str(input.Metric) !== 'db.load.avg')
      throw new InvalidArgumentException({
        message: 'Only db.load.avg is simulated.',
        $metadata: errorMetadata(),
      });
    const group = str(rec(input.GroupBy).Group);
    const limit = num(rec(input.GroupBy).Limit) ?? 10;
    const load = meanLoad(p, start, end);
    const waitEvents = [...new Set(p.statements.flatMap((s) => Object.keys(s.waits)))].sort();
    const partitionBy = str(rec(input.PartitionBy).Group) === 'db.wait_event';
    if (group === 'db.sql_tokenized') {
      const keys = [...p.statements]
        .sort((a, b) => b.share - a.share)
        .slice(0, limit)
        .map((s) => ({
          Dimensions: {
            'db.sql_tokenized.statement': s.statement.slice(0, 500),
            'db.sql_tokenized.id': `pi-${Buffer.from(s.statement).toString('base64url').slice(0, 16)}`,
            ...(s.dbId ? { 'db.sql_tokenized.db_id': s.dbId } : {}),
          },
          Total: load * s.share,
          ...(partitionBy ? { Partitions: waitEvents.map((w) => load * s.share * (s.waits[w] ?? 0)) } : {}),
        }));
      return {
        AlignedStartTime: new Date(start),
        AlignedEndTime: new Date(end),
        ...(partitionBy
          ? { PartitionKeys: waitEvents.map((w) => ({ Dimensions: { 'db.wait_event.name': w } })) }
          : {}),
        Keys: keys,
      };
    }
    if (group === 'db.wait_event') {
      const keys = waitEvents
        .map((w) => ({ w, total: p.statements.reduce((a, s) => a + load * s.share * (s.waits[w] ?? 0), 0) }))
        .sort((a, b) => b.total - a.total)
        .slice(0, limit)
        .map(({ w, total }) => ({ Dimensions: { 'db.wait_event.name': w }, Total: total }));
      return { AlignedStartTime: new Date(start), AlignedEndTime: new Date(end), Keys: keys };
    }
    throw new InvalidArgumentException({
      message: `Unsupported GroupBy ${group ?? '(none)'}.`,
      $metadata: errorMetadata(),
    });
  },
  GetResourceMetrics: (sim, input) => {
    const p = profileFor(sim, str(input.Identifier) ?? '');
    const { start, end } = window(sim, input);
    const period = (num(input.PeriodInSeconds) ?? 3600) * 1000;
    const points: Array<{ Timestamp: Date; Value: number }> = [];
    for (let t = start; t + period <= end; t += period)
      points.push({ Timestamp: new Date(t), Value: meanLoad(p, t, t + period) });
    const queries = Array.isArray(input.MetricQueries) ? input.MetricQueries : [];
    return {
      AlignedStartTime: new Date(start),
      AlignedEndTime: new Date(end),
      Identifier: str(input.Identifier),
      MetricList: queries.map((q) => ({ Key: { Metric: str(rec(q).Metric) }, DataPoints: points })),
    };
  },
});
