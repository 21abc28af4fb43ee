import {
  CloudWatchServiceException,
  DashboardNotFoundError,
  InvalidNextToken,
  InvalidParameterValueException,
  ResourceNotFound,
} from '@aws-sdk/client-cloudwatch';
import { DAY_MS, MINUTE_MS } from '../clock.ts';
import type { SimAccount } from '../engine.ts';
import { errorMetadata, serviceError } from '../errors.ts';
import {
  isSupportedStat,
  type MetricSource,
  type MinutePoint,
  PeriodStatistic,
  resolveMetric,
} from '../metrics.ts';
import { arr, decodeToken, encodeToken, num, page, readTags, rec, str, tagList, toMs } from '../paging.ts';
import { type Input, registerOperations } from '../registry.ts';

/**
 * Simulated CloudWatch: GetMetricData (with AWS's limits), GetMetricStatistics, alarms, dashboards.
 *
 * GetMetricData (aws-facts.md, CloudWatch; CloudWatch API reference, GetMetricData):
 * - at most 500 queries per request (more: ValidationError);
 * - at most MaxDatapoints (default and maximum 100,800) datapoints per response: the rest comes
 *   with `NextToken`, results cut short are `PartialData`;
 * - retention by period: data at 60 s is kept 15 days, 300 s 63 days, 3600 s 455 days; an older
 *   period bucket asked at a finer period has no datapoint;
 * - counters have no datapoint in quiet minutes (see metrics.ts);
 * - publication delay (aws-facts.md, CloudWatch: the newest one to a few minutes are missing or
 *   still filling): at minute t only minutes < t - `publicationDelayMinutes` (default 2) exist,
 *   and the newest of them is partial (`partialMinuteFraction` of its samples, default 0.5).
 *   GetMetricData, GetMetricStatistics and the alarms all read through `published`, so AWS's own
 *   alarms (and the target tracking alarms behind them) see the same delay;
 * - metric math: `Expression` over other query ids with + - * /, numbers, parentheses and
 *   SUM/AVG/MAX/MIN([..]) and FILL(m, value), evaluated per timestamp.
 *
 * Alarms: PutMetricAlarm / DescribeAlarms / DeleteAlarms / SetAlarmState, evaluated by the sim
 * each minute from their metric (evaluateAlarms: true, the default); a state change is queued as
 * a "CloudWatch Alarm State Change" event for the demo's alarm handler (`takeAlarmEvents`).
 * Evaluation as CloudWatch documents it (User Guide, "Configuring how CloudWatch alarms treat
 * missing data"): it retrieves more periods than EvaluationPeriods (the evaluation range); when
 * at least EvaluationPeriods of them have data it judges the newest of those and ignores
 * TreatMissingData, otherwise it fills the missing ones as TreatMissingData says.
 */

/** Periods an alarm looks back beyond EvaluationPeriods for data (its evaluation range). */
export const ALARM_EXTRA_PERIODS = 5;

export interface AlarmRecord {
  AlarmName: string;
  AlarmArn: string;
  AlarmDescription?: string;
  Namespace?: string;
  MetricName?: string;
  Dimensions: Array<{ Name: string; Value: string }>;
  Statistic?: string;
  ExtendedStatistic?: string;
  Period?: number;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  ActionsEnabled: boolean;
  AlarmActions: string[];
  OKActions: string[];
  StateValue: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  StateReason: string;
  StateUpdatedTimestamp: Date;
  AlarmConfigurationUpdatedTimestamp: Date;
  tags: Map<string, string>;
}

export interface AlarmStateChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'CloudWatch Alarm State Change';
  source: 'aws.cloudwatch';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    alarmName: string;
    state: { value: string; reason: string; timestamp: string };
    previousState: { value: string; reason: string; timestamp: string };
    configuration: { description?: string; metrics: unknown[] };
  };
}

export class CloudWatchState {
  readonly alarms = new Map<string, AlarmRecord>();
  readonly dashboards = new Map<string, { body: string; at: Date }>();
  /** Alarm state changes not yet delivered (EventBridge "CloudWatch Alarm State Change"). */
  readonly pendingEvents: AlarmStateChangeEvent[] = [];
  evaluateAlarms = true;
  /** Minutes after its end before a minute's metrics appear (settable; 0 = no delay). */
  publicationDelayMinutes = 2;
  /** Share of the newest published minute's samples that have arrived (1 = whole). */
  partialMinuteFraction = 0.5;
  private eventSeq = 0;
  private evaluating = false;

  constructor(private readonly sim: SimAccount) {}

  /** Takes the queued alarm state change events (the demo delivers them to the alarm handler). */
  takeAlarmEvents(): AlarmStateChangeEvent[] {
    return this.pendingEvents.splice(0, this.pendingEvents.length);
  }

  setState(alarm: AlarmRecord, value: AlarmRecord['StateValue'], reason: string): void {
    if (alarm.StateValue === value) return;
    const now = this.sim.clock.now();
    const previous = {
      value: alarm.StateValue,
      reason: alarm.StateReason,
      timestamp: alarm.StateUpdatedTimestamp.toISOString(),
    };
    alarm.StateValue = value;
    alarm.StateReason = reason;
    alarm.StateUpdatedTimestamp = now;
    this.eventSeq += 1;
    this.pendingEvents.push({
      version: '0',
      id: `sim-alarm-event-${this.eventSeq}`,
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: this.sim.accountId,
      time: now.toISOString(),
      region: this.sim.region,
      resources: [alarm.AlarmArn],
      detail: {
        alarmName: alarm.AlarmName,
        state: { value, reason, timestamp: now.toISOString() },
        previousState: previous,
        configuration: {
          description: alarm.AlarmDescription,
          metrics: [
            {
              id: 'm1',
              metricStat: {
                metric: {
                  namespace: alarm.Namespace,
                  name: alarm.MetricName,
                  dimensions: Object.fromEntries(alarm.Dimensions.map((d) => [d.Name, d.Value])),
                },
                period: alarm.Period,
                stat: alarm.Statistic ?? alarm.ExtendedStatistic,
              },
              returnData: true,
            },
          ],
        },
      },
    });
  }

  /**
   * A metric as CloudWatch shows it now: minutes < now - delay only, the newest of them partial.
   * Everything CloudWatch answers (GetMetricData, GetMetricStatistics, alarms) reads through it;
   * the simulator's own bookkeeping (cost, throttling) reads the source directly.
   */
  published(source: MetricSource | undefined): MetricSource | undefined {
    if (!source) return undefined;
    const delay = Math.max(0, Math.floor(this.publicationDelayMinutes));
    const fraction = Math.min(1, Math.max(0, this.partialMinuteFraction));
    return (minute) => {
      const visible = this.sim.completedMinutes() - delay;
      if (minute >= visible) return undefined;
      const point = source(minute);
      if (!point || delay === 0 || fraction >= 1 || minute !== visible - 1) return point;
      return { ...point, published: fraction };
    };
  }

  /** Starts evaluating alarms every minute on the virtual clock. */
  startEvaluation(): void {
    if (this.evaluating) return;
    this.evaluating = true;
    const tick = () => {
      if (this.evaluateAlarms) for (const a of this.alarms.values()) this.evaluate(a);
      this.sim.after(MINUTE_MS, tick);
    };
    const next = (Math.floor(this.sim.nowMs() / MINUTE_MS) + 1) * MINUTE_MS;
    this.sim.at(next, tick);
  }

  /**
   * Evaluates one alarm (M of N with DatapointsToAlarm) over its evaluation range: the newest
   * EvaluationPeriods periods that have data within EvaluationPeriods + ALARM_EXTRA_PERIODS, or,
   * with fewer than that, the last EvaluationPeriods periods with TreatMissingData filling gaps.
   */
  evaluate(a: AlarmRecord): void {
    if (!a.Namespace || !a.MetricName || !a.Period || a.Threshold === undefined) return;
    const stat = a.Statistic ?? a.ExtendedStatistic ?? 'Average';
    const source = this.published(
      resolveMetric(
        this.sim,
        a.Namespace,
        a.MetricName,
        Object.fromEntries(a.Dimensions.map((d) => [d.Name, d.Value])),
      ),
    );
    const periodMs = a.Period * 1000;
    const end = Math.floor(this.sim.nowMs() / periodMs) * periodMs;
    const range: Array<number | undefined> = [];
    const statistic = new PeriodStatistic(stat);
    for (let i = a.EvaluationPeriods + ALARM_EXTRA_PERIODS; i >= 1; i--) {
      const start = end - i * periodMs;
      statistic.reset();
      for (let m = start / MINUTE_MS; m < (start + periodMs) / MINUTE_MS; m++) {
        const p = source?.(m);
        if (p) statistic.add(p);
      }
      range.push(statistic.value());
    }
    const existing = range.filter((v): v is number => v !== undefined);
    const values: Array<number | undefined> =
      existing.length >= a.EvaluationPeriods
        ? existing.slice(-a.EvaluationPeriods)
        : range.slice(-a.EvaluationPeriods);
    const threshold = a.Threshold;
    const breaches = (v: number) => {
      switch (a.ComparisonOperator) {
        case 'GreaterThanThreshold':
          return v > threshold;
        case 'GreaterThanOrEqualToThreshold':
          return v >= threshold;
        case 'LessThanThreshold':
          return v < threshold;
        case 'LessThanOrEqualToThreshold':
          return v <= threshold;
        default:
          return false;
      }
    };
    const treat = a.TreatMissingData ?? 'missing';
    const present = values.filter((v): v is number => v !== undefined);
    let breaching = present.filter(breaches).length;
    if (treat === 'breaching') breaching += values.length - present.length;
    const needed = a.DatapointsToAlarm ?? a.EvaluationPeriods;
    if (breaching >= needed) {
      this.setState(
        a,
        'ALARM',
        `Threshold Crossed: ${breaching} out of the last ${values.length} datapoints were breaching the threshold (${threshold}).`,
      );
    } else if (present.length === 0 && treat === 'missing') {
      this.setState(
        a,
        'INSUFFICIENT_DATA',
        'Insufficient Data: no datapoints were received for the evaluation periods.',
      );
    } else {
      this.setState(
        a,
        'OK',
        `Threshold Crossed: ${breaching} out of the last ${values.length} datapoints were breaching the threshold (${threshold}).`,
      );
    }
  }
}

const meta = errorMetadata;

// CloudWatch API reference, GetMetricData: MaxDatapoints default 100,800; 500 MetricDataQuery.
export const MAX_QUERIES = 500;
export const MAX_DATAPOINTS = 100_800;

/** The coarsest period CloudWatch still holds for data of this age (aws-facts.md, CloudWatch retention). */
export function retentionPeriodSeconds(ageMs: number): number | undefined {
  if (ageMs <= 15 * DAY_MS) return 60;
  if (ageMs <= 63 * DAY_MS) return 300;
  if (ageMs <= 455 * DAY_MS) return 3600;
  return undefined;
}

interface Series {
  timestamps: number[];
  values: number[];
}

function metricSeries(sim: SimAccount, q: Record<string, unknown>, start: number, end: number): Series {
  const ms = rec(q.MetricStat);
  const metric = rec(ms.Metric);
  const period = num(ms.Period) ?? 60;
  const stat = str(ms.Stat) ?? 'Average';
  const dims = Object.fromEntries(
    arr(metric.Dimensions)
      .map(rec)
      .map((d) => [String(d.Name), String(d.Value)]),
  );
  const source = resolveMetric(sim, String(metric.Namespace ?? ''), String(metric.MetricName ?? ''), dims);
  return bucketed(sim, sim.cloudwatch.published(source), period, stat, start, end);
}

function bucketed(
  sim: SimAccount,
  source: ((minute: number) => MinutePoint | undefined) | undefined,
  period: number,
  stat: string,
  start: number,
  end: number,
): Series {
  const out: Series = { timestamps: [], values: [] };
  if (!source) return out;
  const periodMs = period * 1000;
  const now = sim.nowMs();
  // Each period's statistic folded in minute by minute (PeriodStatistic: the same values as
  // aggregate() over an array of the period's points, without the array).
  const statistic = new PeriodStatistic(stat);
  for (let b = Math.floor(start / periodMs) * periodMs; b < end && b < now; b += periodMs) {
    const needed = retentionPeriodSeconds(now - b);
    if (needed === undefined || period % needed !== 0) continue;
    statistic.reset();
    for (let m = b / MINUTE_MS; m < (b + periodMs) / MINUTE_MS; m++) {
      const p = source(m);
      if (p) statistic.add(p);
    }
    const v = statistic.value();
    if (v !== undefined) {
      out.timestamps.push(b);
      out.values.push(v);
    }
  }
  return out;
}

function invalidValue(message: string): Error {
  return new InvalidParameterValueException({ message, $metadata: meta() });
}

/**
 * GetMetricData as CloudWatch answers it: the request checked as the API reference words its
 * errors -> every query's series (metrics, then expressions over them) -> one page of results.
 */
function getMetricData(sim: SimAccount, input: Input): object {
  const queries = arr(input.MetricDataQueries).map(rec);
  const { start, end, maxDatapoints } = checkMetricDataRequest(input, queries);
  // The request's scope (a hash of its JSON) only matters to a NextToken: computed when one is
  // read or written (most requests have neither), with the same value.
  const token = str(input.NextToken);
  const offset = token === undefined ? 0 : decodeToken(token, requestScope(input));
  // CloudWatch API reference, GetMetricData errors: InvalidNextToken.
  if (offset === undefined)
    throw new InvalidNextToken({ message: 'The service cannot process the NextToken.', $metadata: meta() });
  const computed = computeQueries(sim, queries, start, end);
  const descending = (str(input.ScanBy) ?? 'TimestampDescending') === 'TimestampDescending';
  const page = metricDataPage(queries, computed, { offset, maxDatapoints, descending });
  return {
    MetricDataResults: page.results,
    NextToken: page.truncated ? encodeToken(offset + page.emitted, requestScope(input)) : undefined,
    Messages: [],
  };
}

/** The request's limits and times, and every query, checked; the errors as CloudWatch words them. */
function checkMetricDataRequest(
  input: Input,
  queries: Array<Record<string, unknown>>,
): { start: number; end: number; maxDatapoints: number } {
  // aws-facts.md, CloudWatch: "up to 500 metric queries"; message as CloudWatch words a collection limit.
  if (queries.length > MAX_QUERIES) {
    throw serviceError(
      CloudWatchServiceException,
      'ValidationError',
      `The collection MetricDataQueries must not have a size greater than ${MAX_QUERIES}.`,
    );
  }
  if (queries.length === 0) {
    throw serviceError(
      CloudWatchServiceException,
      'ValidationError',
      'The collection MetricDataQueries must not be empty.',
    );
  }
  const start = toMs(input.StartTime);
  const end = toMs(input.EndTime);
  // CloudWatch API reference, GetMetricData: StartTime and EndTime are required.
  if (start === undefined || end === undefined)
    throw invalidValue('The parameters StartTime and EndTime are required.');
  // CloudWatch API reference, GetMetricData: StartTime must be before EndTime.
  if (start >= end) throw invalidValue('The parameter StartTime must be less than the parameter EndTime.');
  const maxDatapoints = num(input.MaxDatapoints) ?? MAX_DATAPOINTS;
  // CloudWatch API reference, GetMetricData.MaxDatapoints (default 100,800).
  if (maxDatapoints < 1 || maxDatapoints > MAX_DATAPOINTS) {
    throw invalidValue(`The parameter MaxDatapoints must be between 1 and ${MAX_DATAPOINTS}.`);
  }
  const ids = new Set<string>();
  for (const q of queries) checkMetricDataQuery(q, ids);
  return { start, end, maxDatapoints };
}

/** One MetricDataQuery: its Id (unique, adds it to `ids`), and its MetricStat or Expression. */
function checkMetricDataQuery(q: Record<string, unknown>, ids: Set<string>): void {
  const id = str(q.Id);
  // CloudWatch API reference, MetricDataQuery.Id: starts with a lowercase letter, unique in the request.
  if (!id || !/^[a-z][a-zA-Z0-9_]*$/.test(id)) {
    throw invalidValue(
      `The value ${String(id)} for parameter MetricDataQueries.member.Id is invalid: it must start with a lowercase letter and contain only letters, numbers and underscores.`,
    );
  }
  if (ids.has(id))
    throw invalidValue(`The value ${id} for parameter MetricDataQueries.member.Id is not unique.`);
  ids.add(id);
  const ms = rec(q.MetricStat);
  if (q.MetricStat !== undefined) {
    const period = num(ms.Period) ?? 0;
    // CloudWatch API reference, MetricStat.Period: 1, 5, 10, 20, 30 or a multiple of 60.
    if (period < 1 || (period >= 60 ? period % 60 !== 0 : ![1, 5, 10, 20, 30].includes(period))) {
      throw invalidValue(
        `The parameter MetricDataQueries.member.MetricStat.Period must be a multiple of 60 (got ${period}).`,
      );
    }
    const stat = str(ms.Stat) ?? '';
    // CloudWatch User Guide, Statistics definitions (Average, Sum, SampleCount, Minimum, Maximum, pNN).
    if (!isSupportedStat(stat))
      throw invalidValue(
        `The value ${stat} for parameter MetricDataQueries.member.MetricStat.Stat is invalid.`,
      );
  } else if (str(q.Expression) === undefined) {
    // CloudWatch API reference, MetricDataQuery: exactly one of MetricStat and Expression.
    throw serviceError(
      CloudWatchServiceException,
      'MissingParameter',
      'Each MetricDataQuery needs MetricStat or Expression.',
    );
  }
}

/** Every query's series by Id: the metrics first, then the expressions (in request order) over them. */
function computeQueries(
  sim: SimAccount,
  queries: Array<Record<string, unknown>>,
  start: number,
  end: number,
): Map<string, Series> {
  const computed = new Map<string, Series>();
  for (const q of queries)
    if (q.MetricStat !== undefined) computed.set(String(q.Id), metricSeries(sim, q, start, end));
  for (const q of queries) {
    const expr = str(q.Expression);
    if (expr !== undefined) {
      try {
        computed.set(String(q.Id), evaluateExpression(expr, computed));
      } catch (error) {
        throw serviceError(
          CloudWatchServiceException,
          'ValidationError',
          `Error in expression ${String(q.Id)}: ${(error as Error).message}`,
        );
      }
    }
  }
  return computed;
}

/**
 * One page of results: the queries that return data, in order, their points newest first unless
 * ScanBy says otherwise, from `offset` on and at most `maxDatapoints` in all (PartialData where cut).
 */
function metricDataPage(
  queries: Array<Record<string, unknown>>,
  computed: Map<string, Series>,
  page: { offset: number; maxDatapoints: number; descending: boolean },
): { results: Array<Record<string, unknown>>; emitted: number; truncated: boolean } {
  const results: Array<Record<string, unknown>> = [];
  let skipped = 0;
  let emitted = 0;
  let truncated = false;
  for (const q of queries) {
    if (q.ReturnData === false) continue;
    const s = computed.get(String(q.Id)) ?? { timestamps: [], values: [] };
    // The series in page order (newest first when descending), less the points earlier pages
    // returned, at most the room left: indexes into the series, no copies of it.
    const total = s.timestamps.length;
    const skip = Math.min(total, Math.max(0, page.offset - skipped));
    skipped += skip;
    const room = Math.max(0, page.maxDatapoints - emitted);
    const count = Math.min(total - skip, room);
    const timestamps: Date[] = new Array(count);
    const values: number[] = new Array(count);
    for (let k = 0; k < count; k++) {
      const i = page.descending ? total - 1 - skip - k : skip + k;
      timestamps[k] = new Date(s.timestamps[i] ?? 0);
      values[k] = s.values[i] ?? 0;
    }
    emitted += count;
    const partial = count < total - skip;
    if (partial) truncated = true;
    results.push({
      Id: q.Id,
      Label: str(q.Label) ?? str(rec(rec(q.MetricStat).Metric).MetricName) ?? String(q.Id),
      Timestamps: timestamps,
      Values: values,
      StatusCode: partial ? 'PartialData' : 'Complete',
      Messages: [],
    });
  }
  return { results, emitted, truncated };
}

function requestScope(input: Input): string {
  const { NextToken: _ignored, ...rest } = input;
  const text = JSON.stringify(rest, (_k, v) => (v instanceof Date ? v.toISOString() : v));
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  return `gmd:${h}`;
}

/** A metric-math value: a series (timestamp -> value) or a scalar. */
type MathValue = Map<number, number> | number;

/** A scalar as a series over `keys`; a series as it is. */
function asSeries(v: MathValue, keys: Set<number>): Map<number, number> {
  if (typeof v !== 'number') return v;
  return new Map([...keys].map((k) => [k, v]));
}

/** `f` point by point: scalar with scalar, scalar with every point, or series with series on shared timestamps. */
function pointwise(a: MathValue, b: MathValue, f: (x: number, y: number) => number): MathValue {
  if (typeof a === 'number' && typeof b === 'number') return f(a, b);
  const out = new Map<number, number>();
  const am = typeof a === 'number' ? undefined : a;
  const bm = typeof b === 'number' ? undefined : b;
  const keys = am && bm ? [...am.keys()].filter((k) => bm.has(k)) : [...(am ?? bm ?? new Map()).keys()];
  for (const k of keys) {
    const x = typeof a === 'number' ? a : a.get(k);
    const y = typeof b === 'number' ? b : b.get(k);
    if (x !== undefined && y !== undefined) out.set(k, f(x, y));
  }
  return out;
}

/** SUM, AVG, MAX or MIN across series, at each timestamp any of them has. */
function acrossSeries(fn: string, maps: Array<Map<number, number>>, keys: Set<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const k of keys) {
    const vals = maps.map((m) => m.get(k)).filter((v): v is number => v !== undefined);
    if (vals.length === 0) continue;
    const r =
      fn === 'SUM'
        ? vals.reduce((a, b) => a + b, 0)
        : fn === 'AVG'
          ? vals.reduce((a, b) => a + b, 0) / vals.length
          : fn === 'MAX'
            ? Math.max(...vals)
            : Math.min(...vals);
    out.set(k, r);
  }
  return out;
}

/**
 * A recursive-descent parser of the metric math the simulator supports: additive -> multiplicative
 * -> primary (a number, an id, a parenthesised or negated expression, or a function call).
 */
class MetricMathParser {
  private pos = 0;
  /** Every timestamp of every series (where scalars and FILL spread). */
  private readonly allKeys = new Set<number>();

  constructor(
    private readonly tokens: string[],
    private readonly series: Map<string, Series>,
  ) {
    for (const s of series.values()) for (const t of s.timestamps) this.allKeys.add(t);
  }

  /** The whole expression as a series over every timestamp. */
  parse(): Series {
    const result = this.additive();
    if (this.pos !== this.tokens.length) throw new Error('unexpected token');
    const m = asSeries(result, this.allKeys);
    const ts = [...m.keys()].sort((a, b) => a - b);
    return { timestamps: ts, values: ts.map((t) => m.get(t) ?? 0) };
  }

  private peek(): string | undefined {
    return this.tokens[this.pos];
  }

  private take(expected?: string): string | undefined {
    const t = this.tokens[this.pos++];
    if (expected !== undefined && t !== expected) throw new Error(`expected ${expected}`);
    return t;
  }

  private additive(): MathValue {
    let v = this.multiplicative();
    while (this.peek() === '+' || this.peek() === '-') {
      const op = this.take();
      const r = this.multiplicative();
      v = pointwise(v, r, op === '+' ? (x, y) => x + y : (x, y) => x - y);
    }
    return v;
  }

  private multiplicative(): MathValue {
    let v = this.primary();
    while (this.peek() === '*' || this.peek() === '/') {
      const op = this.take();
      const r = this.primary();
      v = pointwise(v, r, op === '*' ? (x, y) => x * y : (x, y) => (y === 0 ? 0 : x / y));
    }
    return v;
  }

  private primary(): MathValue {
    const t = this.take();
    if (t === undefined) throw new Error('unexpected end');
    if (t === '(') {
      const v = this.additive();
      this.take(')');
      return v;
    }
    if (t === '-') return pointwise(0, this.primary(), (x, y) => x - y);
    if (/^\d/.test(t)) return Number(t);
    const fn = t.toUpperCase();
    if (this.peek() === '(' && ['SUM', 'AVG', 'MAX', 'MIN', 'FILL'].includes(fn)) {
      this.take('(');
      return fn === 'FILL' ? this.fill() : this.aggregateCall(fn);
    }
    const s = this.series.get(t);
    if (!s) throw new Error(`unknown id ${t}`);
    return new Map(s.timestamps.map((ts, i) => [ts, s.values[i] ?? 0]));
  }

  /** FILL(series, value), after its `(`: every timestamp, missing points given the value (0 unless a scalar). */
  private fill(): MathValue {
    const a = this.additive();
    this.take(',');
    const fillV = this.additive();
    this.take(')');
    const m = asSeries(a, new Set());
    const out = new Map<number, number>();
    for (const k of this.allKeys) out.set(k, m.get(k) ?? (typeof fillV === 'number' ? fillV : 0));
    return out;
  }

  /** SUM/AVG/MAX/MIN(a, b, ...) or ([a, b, ...]), after its `(`. */
  private aggregateCall(fn: string): MathValue {
    const items: MathValue[] = [];
    const bracket = this.peek() === '[';
    if (bracket) this.take('[');
    items.push(this.additive());
    while (this.peek() === ',') {
      this.take(',');
      items.push(this.additive());
    }
    if (bracket) this.take(']');
    this.take(')');
    return acrossSeries(
      fn,
      items.map((v) => asSeries(v, this.allKeys)),
      this.allKeys,
    );
  }
}

/** A small metric-math evaluator (ids, numbers, + - * /, parentheses, SUM/AVG/MAX/MIN([...]), FILL). */
export function evaluateExpression(expr: string, series: Map<string, Series>): Series {
  const tokens =
    expr.match(/\s*([A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[()[\],+\-*/])/g)?.map((t) => t.trim()) ?? [];
  if (tokens.join('') !== expr.replace(/\s+/g, '')) throw new Error('unsupported syntax');
  return new MetricMathParser(tokens, series).parse();
}

function getMetricStatistics(sim: SimAccount, input: Input): object {
  const start = toMs(input.StartTime);
  const end = toMs(input.EndTime);
  const period = num(input.Period) ?? 60;
  if (start === undefined || end === undefined || start >= end) {
    throw invalidValue('The parameter StartTime must be less than the parameter EndTime.');
  }
  // CloudWatch API reference, GetMetricStatistics: at most 1,440 datapoints per call.
  if ((end - start) / (period * 1000) > 1440) {
    throw invalidValue('You have requested up to 1,440 datapoints, which exceeds the limit of 1,440.');
  }
  const dims = Object.fromEntries(
    arr(input.Dimensions)
      .map(rec)
      .map((d) => [String(d.Name), String(d.Value)]),
  );
  const source = sim.cloudwatch.published(
    resolveMetric(sim, String(input.Namespace ?? ''), String(input.MetricName ?? ''), dims),
  );
  const stats = [...arr(input.Statistics).map(String), ...arr(input.ExtendedStatistics).map(String)];
  const byTs = new Map<number, Record<string, unknown>>();
  for (const stat of stats) {
    const s = bucketed(sim, source, period, stat, start, end);
    s.timestamps.forEach((t, i) => {
      const dp = byTs.get(t) ?? { Timestamp: new Date(t) };
      if (arr(input.ExtendedStatistics).includes(stat)) {
        dp.ExtendedStatistics = { ...rec(dp.ExtendedStatistics), [stat]: s.values[i] };
      } else {
        dp[stat] = s.values[i];
      }
      byTs.set(t, dp);
    });
  }
  return { Label: input.MetricName, Datapoints: [...byTs.values()] };
}

function putMetricAlarm(sim: SimAccount, input: Input): object {
  const name = str(input.AlarmName);
  // CloudWatch API reference, Common errors: MissingParameter.
  if (!name)
    throw serviceError(
      CloudWatchServiceException,
      'MissingParameter',
      'The parameter AlarmName is required.',
    );
  const existing = sim.cloudwatch.alarms.get(name);
  const now = sim.clock.now();
  const alarm: AlarmRecord = {
    AlarmName: name,
    AlarmArn: sim.arn('cloudwatch', `alarm:${name}`),
    AlarmDescription: str(input.AlarmDescription),
    Namespace: str(input.Namespace),
    MetricName: str(input.MetricName),
    Dimensions: arr(input.Dimensions)
      .map(rec)
      .map((d) => ({ Name: String(d.Name), Value: String(d.Value) })),
    Statistic: str(input.Statistic),
    ExtendedStatistic: str(input.ExtendedStatistic),
    Period: num(input.Period),
    EvaluationPeriods: num(input.EvaluationPeriods) ?? 1,
    DatapointsToAlarm: num(input.DatapointsToAlarm),
    Threshold: num(input.Threshold),
    ComparisonOperator: str(input.ComparisonOperator) ?? 'GreaterThanThreshold',
    TreatMissingData: str(input.TreatMissingData),
    ActionsEnabled: input.ActionsEnabled !== false,
    AlarmActions: arr(input.AlarmActions).map(String),
    OKActions: arr(input.OKActions).map(String),
    StateValue: existing?.StateValue ?? 'INSUFFICIENT_DATA',
    StateReason: existing?.StateReason ?? 'Unchecked: Initial alarm creation',
    StateUpdatedTimestamp: existing?.StateUpdatedTimestamp ?? now,
    AlarmConfigurationUpdatedTimestamp: now,
    tags: existing?.tags ?? new Map(readTags(input.Tags)),
  };
  sim.cloudwatch.alarms.set(name, alarm);
  return {};
}

function alarmView(a: AlarmRecord): Record<string, unknown> {
  const { tags: _tags, ...rest } = a;
  return rest;
}

function describeAlarms(sim: SimAccount, input: Input): object {
  const names = arr(input.AlarmNames).map(String);
  const prefix = str(input.AlarmNamePrefix);
  const state = str(input.StateValue);
  const list = [...sim.cloudwatch.alarms.values()]
    .filter(
      (a) =>
        (names.length === 0 || names.includes(a.AlarmName)) &&
        (!prefix || a.AlarmName.startsWith(prefix)) &&
        (!state || a.StateValue === state),
    )
    .sort((a, b) => a.AlarmName.localeCompare(b.AlarmName));
  const size = num(input.MaxRecords) ?? 50;
  const offset = decodeToken(str(input.NextToken), 'cw:alarms');
  if (offset === undefined)
    throw new InvalidNextToken({ message: 'The service cannot process the NextToken.', $metadata: meta() });
  const p = page(list, offset, size, 'cw:alarms');
  return { MetricAlarms: p.items.map(alarmView), CompositeAlarms: [], NextToken: p.next };
}

function findArn(sim: SimAccount, arn: string | undefined): AlarmRecord {
  for (const a of sim.cloudwatch.alarms.values()) if (a.AlarmArn === arn) return a;
  // CloudWatch API reference, ListTagsForResource errors: ResourceNotFoundException.
  throw serviceError(
    CloudWatchServiceException,
    'ResourceNotFoundException',
    `Resource ${String(arn)} not found.`,
  );
}

registerOperations('cloudwatch', {
  GetMetricData: getMetricData,
  GetMetricStatistics: getMetricStatistics,
  PutMetricAlarm: putMetricAlarm,
  DescribeAlarms: describeAlarms,
  DeleteAlarms: (sim, input) => {
    for (const n of arr(input.AlarmNames).map(String)) sim.cloudwatch.alarms.delete(n);
    return {};
  },
  SetAlarmState: (sim, input) => {
    const name = str(input.AlarmName) ?? '';
    const a = sim.cloudwatch.alarms.get(name);
    // CloudWatch API reference, SetAlarmState errors: ResourceNotFound.
    if (!a) throw new ResourceNotFound({ message: `Alarm ${name} not found`, $metadata: meta() });
    const value = str(input.StateValue);
    // CloudWatch API reference, SetAlarmState.StateValue: OK | ALARM | INSUFFICIENT_DATA.
    if (value !== 'OK' && value !== 'ALARM' && value !== 'INSUFFICIENT_DATA') {
      throw invalidValue(`The value ${String(value)} for parameter StateValue is not valid.`);
    }
    sim.cloudwatch.setState(a, value, str(input.StateReason) ?? 'set by SetAlarmState');
    return {};
  },
  ListTagsForResource: (sim, input) => ({ Tags: tagList(findArn(sim, str(input.ResourceARN)).tags) }),
  TagResource: (sim, input) => {
    const a = findArn(sim, str(input.ResourceARN));
    for (const [k, v] of readTags(input.Tags)) a.tags.set(k, v);
    return {};
  },
  UntagResource: (sim, input) => {
    const a = findArn(sim, str(input.ResourceARN));
    for (const k of arr(input.TagKeys)) a.tags.delete(String(k));
    return {};
  },
  PutDashboard: (sim, input) => {
    const name = str(input.DashboardName) ?? '';
    const body = str(input.DashboardBody) ?? '';
    try {
      JSON.parse(body);
    } catch {
      // CloudWatch API reference, PutDashboard errors: InvalidParameterInput (DashboardInvalidInputError).
      throw serviceError(
        CloudWatchServiceException,
        'InvalidParameterInput',
        'The dashboard body is not valid JSON.',
      );
    }
    sim.cloudwatch.dashboards.set(name, { body, at: sim.clock.now() });
    return { DashboardValidationMessages: [] };
  },
  GetDashboard: (sim, input) => {
    const name = str(input.DashboardName) ?? '';
    const d = sim.cloudwatch.dashboards.get(name);
    // CloudWatch API reference, GetDashboard errors: ResourceNotFound (the SDK's DashboardNotFoundError).
    if (!d)
      throw new DashboardNotFoundError({ message: `Dashboard ${name} does not exist`, $metadata: meta() });
    return {
      DashboardName: name,
      DashboardBody: d.body,
      DashboardArn: sim.arn('cloudwatch', `dashboard/${name}`),
    };
  },
  ListDashboards: (sim) => ({
    DashboardEntries: [...sim.cloudwatch.dashboards.entries()].map(([name, d]) => ({
      DashboardName: name,
      LastModified: d.at,
      Size: d.body.length,
    })),
  }),
  DeleteDashboards: (sim, input) => {
    for (const n of arr(input.DashboardNames).map(String)) sim.cloudwatch.dashboards.delete(n);
    return {};
  },
});
