import { z } from 'zod';
import type { ResourceHistory } from '../core/contracts.ts';
import type { CadenceDecision } from '../policies/dynamodb-cadence.ts';
import type { DemandShape } from '../policies/dynamodb-demand-shape.ts';
import type { PeakModel } from '../policies/prewarm.ts';

/**
 * The DynamoDB tuner's stored state of a table, validated when read back. The state table is an
 * input like any other: a part written by another version, edited by hand or cut short must not
 * reach a policy as `NaN`, a wrong type or a crash. A part that does not parse is left out, as if
 * it had never been stored, and named once in the run's notes (`malformedParts`); each part is then
 * rebuilt on its own schedule:
 * - `prewarm` (learned peaks and demand shapes): re-learned on this run (relearnDue of nothing);
 * - `reads`: this observation reads the throttle causes; `cadence`: the table is due now;
 * - `explained`: the capacity seen now is taken as explained (as on a table's first run);
 * - `findings`: a finding may be repeated once; `modeAdvisedAt`: the mode advisor reads its own record.
 * The leases (`lifts`) have their own validation, with a hand-back notice (dynamodb-handback.ts).
 * A valid part is returned as stored (the schemas only check; nothing is rewritten), the learned
 * peaks unpacked (packPrewarm).
 */

const isoTime = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'not a date-time');
const count = z.number().finite();
const window = z.object({ start: isoTime, end: isoTime, periodSeconds: count });

const peakModel = z.object({
  learnedAt: isoTime,
  learnedFrom: window.extend({ samples: count }),
  periodMinutes: count.nullable(),
  correlation: count,
  baseline: count,
  expected: z.array(
    z.object({
      at: isoTime,
      value: count,
      periodMinutes: count,
      history: z.array(z.object({ at: isoTime, value: count })),
    }),
  ),
  note: z.string().optional(),
}) satisfies z.ZodType<PeakModel>;

const demandShape = z.object({
  learnedAt: isoTime,
  learnedFrom: window,
  hours: count,
  base: count,
  peak: count,
  peaksPerDay: count,
  peakMinutes: count,
}) satisfies z.ZodType<DemandShape>;

export interface PrewarmState {
  learnedAt: string;
  models: Record<string, PeakModel>;
  /** The demand shape per resource dimension (`shapeKey`): the day's decrease plan, the burst floor. */
  shapes?: Record<string, DemandShape>;
}

/** When a scheduled run last observed a table, and when its key-range and account-limit throttles were last read. */
export interface ObservationReads {
  at: string;
  causesAt: string;
}

/** Capacity db-autopilot's own changes explain, per resource (table or index), read and write. */
export type ExplainedCapacity = Record<string, { read: number; write: number }>;

const PART_SCHEMAS = {
  prewarm: z.object({
    learnedAt: isoTime,
    models: z.record(z.string(), peakModel),
    shapes: z.record(z.string(), demandShape).optional(),
  }) satisfies z.ZodType<PrewarmState>,
  reads: z.object({ at: isoTime, causesAt: isoTime }) satisfies z.ZodType<ObservationReads>,
  cadence: z.object({
    everyMinutes: count.positive(),
    nextAt: isoTime,
    speed: z.enum(['fast', 'slow']),
    reason: z.string(),
  }) satisfies z.ZodType<CadenceDecision>,
  explained: z.record(
    z.string(),
    z.object({ read: count.nonnegative(), write: count.nonnegative() }),
  ) satisfies z.ZodType<ExplainedCapacity>,
  findings: z.record(z.string(), isoTime),
  modeAdvisedAt: isoTime,
  observedAt: isoTime,
};

type PartName = keyof typeof PART_SCHEMAS;

/**
 * What every observation changes (`reads`, `cadence`, stamped `observedAt`: the run's time) is
 * kept in a part of its own (`m#state#observed`, written with the run's held puts) while the rest
 * of the table's state is unchanged; a run that changes the rest writes it all in the main item
 * at once (one write, not two). The newer copy by `observedAt` is read; a copy without it (state
 * written before the part) is the older.
 */
export const OBSERVED_PART = 'observed';
export const OBSERVED_FIELDS = ['reads', 'cadence', 'observedAt'] as const;

/** The newer of the main item's observation fields and the observed part's (by observedAt). */
function newerObservation(stored: Record<string, unknown>, observed: Record<string, unknown> | undefined) {
  if (!observed) return stored;
  const at = (o: Record<string, unknown>) => {
    const t = typeof o.observedAt === 'string' ? Date.parse(o.observedAt) : Number.NaN;
    return Number.isFinite(t) ? t : -Infinity;
  };
  return at(stored) > at(observed) ? stored : observed;
}

export interface TableTunerState {
  prewarm?: PrewarmState;
  reads?: ObservationReads;
  cadence?: CadenceDecision;
  explained?: ExplainedCapacity;
  /** When each finding (cause:index:dimension) was last reported. */
  findings?: Record<string, string>;
  /** When the mode advisor last advised (its own lastAdvisedAt, kept here to skip reading it). */
  modeAdvisedAt?: string;
  /** The run that wrote `reads` and `cadence` (which of two stored copies is newer). */
  observedAt?: string;
}

export interface ReadTableState {
  state: TableTunerState;
  /** Stored parts left out, each with what is wrong with it (for the run's notes). */
  malformedParts: Array<{ part: PartName | typeof OBSERVED_PART; why: string }>;
}

/**
 * How the learned peaks (`prewarm`, ~140 attributes and ~3.2 KB a table) are kept in their item
 * (`m#state#prewarm`): one JSON string, `{ packed }`, with each past peak as `[epoch ms, value]`.
 * Every run's history query reads this item and the SDK converts a DynamoDB map attribute by
 * attribute; a string is one attribute, and the past peaks are a third shorter. Read back exactly:
 * numbers are JSON's (a double's shortest exact form), and a time whose ISO form is not what
 * `toISOString` gives back is kept as it is. A part stored before as a map reads as before.
 */
export interface PackedPrewarm {
  packed: string;
}

/** A past peak as packed: `[epoch ms, value]`, or as it was when its time would not read back the same. */
function packPeak(p: unknown): unknown {
  const { at, value } = (p ?? {}) as { at?: unknown; value?: unknown };
  if (typeof at !== 'string' || typeof value !== 'number') return p;
  const ms = Date.parse(at);
  return Number.isFinite(ms) && new Date(ms).toISOString() === at ? [ms, value] : p;
}

/** A packed past peak read back; anything else as it is (the schema then says what is wrong). */
function unpackPeak(p: unknown): unknown {
  if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number') return p;
  const at = new Date(p[0]);
  return Number.isFinite(at.getTime()) ? { at: at.toISOString(), value: p[1] } : p;
}

type Fields = Record<string, unknown>;
const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A prewarm state with each past peak of each model's expected peaks mapped (the rest as it is). */
function mapPastPeaks(state: unknown, f: (peak: unknown) => unknown): unknown {
  if (!isFields(state) || !isFields(state.models)) return state;
  const mapExpected = (e: unknown) =>
    isFields(e) && Array.isArray(e.history) ? { ...e, history: e.history.map(f) } : e;
  const mapModel = (m: unknown) =>
    isFields(m) && Array.isArray(m.expected) ? { ...m, expected: m.expected.map(mapExpected) } : m;
  const models = Object.fromEntries(Object.entries(state.models).map(([k, m]) => [k, mapModel(m)]));
  return { ...state, models };
}

/** The learned peaks as stored (packed). */
export function packPrewarm(state: PrewarmState): PackedPrewarm {
  return { packed: JSON.stringify(mapPastPeaks(state, packPeak)) };
}

/** The learned peaks as read: unpacked, or as stored when not packed (a map written before). */
function unpackPrewarm(stored: unknown): { value: unknown } | { why: string } {
  if (!isFields(stored) || stored.packed === undefined) return { value: stored };
  if (typeof stored.packed !== 'string') return { why: 'packed: not a string' };
  try {
    return { value: mapPastPeaks(JSON.parse(stored.packed), unpackPeak) };
  } catch {
    return { why: 'packed: not JSON' };
  }
}

/** A part as the state table keeps it (the learned peaks packed); the others as they are. */
export function storedPart(part: string, value: unknown): unknown {
  return part === 'prewarm' && value !== undefined ? packPrewarm(value as PrewarmState) : value;
}

/** Parsed once per history read (the tuner looks at a table's state from several steps of a run). */
const parsed = new WeakMap<object, ReadTableState>();

/** A table's stored tuner state: its valid parts, and those left out as malformed. */
export function tableTunerState(history: Pick<ResourceHistory, 'tunerState'> | undefined): ReadTableState {
  const stored = history?.tunerState;
  if (!stored) return { state: {}, malformedParts: [] };
  const known = parsed.get(stored);
  if (known) return known;
  const state: Record<string, unknown> = {};
  const malformedParts: ReadTableState['malformedParts'] = [];
  const observed = stored[OBSERVED_PART];
  if (observed !== undefined && !isFields(observed))
    malformedParts.push({ part: OBSERVED_PART, why: 'not an object' });
  const observation = newerObservation(stored, isFields(observed) ? observed : undefined);
  for (const [part, schema] of Object.entries(PART_SCHEMAS) as Array<[PartName, z.ZodType]>) {
    const apart = (OBSERVED_FIELDS as readonly string[]).includes(part);
    const raw = apart ? observation[part] : stored[part];
    const read = part === 'prewarm' ? unpackPrewarm(raw) : { value: raw };
    if ('why' in read) {
      malformedParts.push({ part, why: read.why });
      continue;
    }
    const { value } = read;
    if (value === undefined) continue;
    const check = schema.safeParse(value);
    if (check.success) state[part] = value;
    else malformedParts.push({ part, why: firstIssue(check.error) });
  }
  const out = { state: state as TableTunerState, malformedParts };
  parsed.set(stored, out);
  return out;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}
