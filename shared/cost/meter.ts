/**
 * Measures what db-autopilot's functions request while they run on the simulated account (the
 * demo and `npm run cost`): GetMetricData metrics per resource and other CloudWatch requests
 * (client middleware), state-table read and write units as DynamoDB reports them
 * (ReturnConsumedCapacity on the state-table client) or, on the in-memory store, as the same
 * items would consume them, Lambda invocations and AWS calls per function, and what the functions
 * write to their logs (JSON logs and EMF metrics). shared/cost/model.ts turns it into a bill.
 */
import { format } from 'node:util';
import type { Decision } from '../core/model.ts';
import { decisionTtlDays } from '../state/dynamodb-store.ts';
import { isNotable, REPORTED_TTL_SECONDS } from '../state/keys.ts';
import { storedForm } from '../state/slim.ts';
import { DEFAULT_AUDIT_TTL_DAYS, DEFAULT_NOOP_TTL_DAYS } from '../state/table-definition.ts';
import type { FunctionUsage, MeteredUsage } from './model.ts';

type Dimensions = ReadonlyArray<{ Name?: string; Value?: string }> | undefined;

/** The resource a metric is about, from its dimensions ('' when it is about none). */
export function resourceOfDimensions(dimensions: Dimensions): string {
  const d = new Map((dimensions ?? []).map((x) => [x.Name ?? '', x.Value ?? '']));
  const table = d.get('TableName');
  if (table) {
    const gsi = d.get('GlobalSecondaryIndexName');
    return gsi ? `${table}/index/${gsi}` : table;
  }
  return (
    d.get('DBInstanceIdentifier') ??
    d.get('DBClusterIdentifier') ??
    d.get('ProxyName') ??
    d.get('ProxyIdentifier') ??
    d.get('DBProxyName') ??
    ''
  );
}

interface MetricDataQueryLike {
  MetricStat?: { Metric?: { Dimensions?: Dimensions } };
}

/** Metrics requested by one GetMetricData call, per resource (expressions are not billed). */
export function metricsOfRequest(
  queries: readonly MetricDataQueryLike[] | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const q of queries ?? []) {
    if (!q.MetricStat) continue;
    const id = resourceOfDimensions(q.MetricStat.Metric?.Dimensions);
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

/** DynamoDB item size as it bills (attribute names + values, roughly their UTF-8 length). */
export function itemBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(item ?? {}), 'utf8');
}

type Middleware = (
  next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
  context: { commandName?: string },
) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

interface Stack {
  identify(): string[];
  add(
    mw: Middleware,
    options: { step: 'initialize'; priority: 'high'; name: string; override?: boolean },
  ): void;
  addRelativeTo(
    mw: Middleware,
    options: { relation: 'before'; toMiddleware: string; name: string; override?: boolean },
  ): void;
}

/** The simulated account answers in this middleware (shared/sim/engine.ts): meter before it. */
const SIMULATOR_MIDDLEWARE = 'dbAutopilotSimulatedAccount';

/** Adds `mw` so it sees every request first, on a real client or a simulated one. */
function addFirst(client: { middlewareStack: unknown }, mw: Middleware, name: string): void {
  const stack = client.middlewareStack as Stack;
  if (stack.identify().some((n) => n.startsWith(SIMULATOR_MIDDLEWARE)))
    stack.addRelativeTo(mw, { relation: 'before', toMiddleware: SIMULATOR_MIDDLEWARE, name, override: true });
  else stack.add(mw, { step: 'initialize', priority: 'high', name, override: true });
}

interface ConsumedCapacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/**
 * Storage DynamoDB bills per item beyond its attribute values: the 100 bytes of indexing overhead
 * (DynamoDB pricing, "Data storage") plus the keys and TTL attribute (pk, sk, expiresAt: ~100 B).
 */
export const ITEM_OVERHEAD_BYTES = 200;
/** DynamoDB deletes an expired item late ("typically within a few days"): counted 2 days past its TTL. */
export const TTL_DELETION_LAG_DAYS = 2;
/** A day's totals item of one tuner (outcome and no-op counters, the applied cost). */
export const TOTALS_ITEM_BYTES = 300;

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

/** An EMF document's metrics, as `namespace|name|dimension=value,...` keys. */
export function emfMetricKeys(line: string): string[] {
  if (!line.includes('"_aws"')) return [];
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return [];
  }
  const aws = doc._aws as
    | {
        CloudWatchMetrics?: Array<{
          Namespace?: string;
          Dimensions?: string[][];
          Metrics?: Array<{ Name?: string }>;
        }>;
      }
    | undefined;
  const keys: string[] = [];
  for (const directive of aws?.CloudWatchMetrics ?? []) {
    for (const set of directive.Dimensions?.length ? directive.Dimensions : [[]]) {
      const dims = set.map((k) => `${k}=${String(doc[k])}`).join(',');
      for (const m of directive.Metrics ?? []) keys.push(`${directive.Namespace}|${m.Name}|${dims}`);
    }
  }
  return keys;
}

export class UsageMeter {
  private readonly functions = new Map<string, FunctionUsage>();
  private readonly metricsRequested: Record<string, number> = {};
  private cloudwatchRequests = 0;
  /** The function whose invocation is running (set by the caller): metrics are counted per function too. */
  running = '';
  private readonly metricsPerFunction: Record<string, number> = {};
  private readonly state = { readUnits: 0, writeUnits: 0 };
  /** Bytes x days of the items written once and deleted by their TTL (decisions, idempotency keys). */
  private storedByteDays = 0;
  /** The newest size of each item rewritten in place (tuner state, locks, the day's totals). */
  private readonly storedItems = new Map<string, number>();
  private readonly storedOnceKeys = new Set<string>();
  /** `hourIndex|metric key` of every custom metric published. */
  private readonly customMetricHours = new Set<string>();

  /** Counts the metrics each GetMetricData call requests, per resource, and other CloudWatch requests. */
  attachCloudWatch(client: { middlewareStack: unknown }): void {
    addFirst(
      client,
      (next, context) => async (args) => {
        if (context.commandName === 'GetMetricDataCommand') {
          for (const [id, n] of Object.entries(
            metricsOfRequest(args.input.MetricDataQueries as MetricDataQueryLike[] | undefined),
          )) {
            this.metricsRequested[id] = (this.metricsRequested[id] ?? 0) + n;
            this.metricsPerFunction[this.running] = (this.metricsPerFunction[this.running] ?? 0) + n;
          }
        } else this.cloudwatchRequests += 1;
        return next(args);
      },
      'dbAutopilotCostMeter',
    );
  }

  /**
   * Reads the units DynamoDB reports for each state-table request (asks for them with
   * ReturnConsumedCapacity) and what each write leaves stored (stateItemWritten).
   */
  attachStateTable(client: { middlewareStack: unknown }, now: () => Date = () => new Date()): void {
    addFirst(
      client,
      (next, context) => async (args) => {
        const name = context.commandName ?? '';
        const input: Record<string, unknown> = { ...args.input, ReturnConsumedCapacity: 'TOTAL' };
        if (WRITE_COMMANDS.has(name)) this.stateItemWritten(name, input, now());
        const result = await next({ ...args, input });
        const consumed = result.output.ConsumedCapacity as ConsumedCapacity | ConsumedCapacity[] | undefined;
        for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
          const units = c.CapacityUnits ?? (c.ReadCapacityUnits ?? 0) + (c.WriteCapacityUnits ?? 0);
          if (WRITE_COMMANDS.has(name)) this.state.writeUnits += units;
          else this.state.readUnits += units;
        }
        return result;
      },
      'dbAutopilotCostMeterState',
    );
  }

  /**
   * What a state-table write leaves stored: an item with a TTL and a decision time (a decision) is
   * kept from then to its TTL (+ DynamoDB's deletion lag); any other item is one item rewritten in
   * place under its key (its newest size counts); a delete removes it.
   */
  private stateItemWritten(command: string, input: Record<string, unknown>, now: Date): void {
    const keyOf = (k: unknown) => {
      const o = (k ?? {}) as { pk?: unknown; sk?: unknown };
      return `${String(o.pk)}|${String(o.sk)}`;
    };
    if (command !== 'PutItemCommand') {
      this.storedItem(keyOf(input.Key), command === 'DeleteItemCommand' ? undefined : itemBytes(input));
      return;
    }
    const item = (input.Item ?? {}) as { expiresAt?: unknown; decision?: { at?: unknown } };
    const expires = typeof item.expiresAt === 'number' ? item.expiresAt * 1000 : undefined;
    const at = typeof item.decision?.at === 'string' ? Date.parse(item.decision.at) : now.getTime();
    if (expires === undefined || !item.decision) this.storedItem(keyOf(item), itemBytes(item));
    else
      this.storedFor(
        itemBytes(item) + ITEM_OVERHEAD_BYTES,
        (expires - at) / 86_400_000 + TTL_DELETION_LAG_DAYS,
      );
  }

  /** An item written once and kept `days` (until its TTL deletes it). */
  storedFor(bytes: number, days: number): void {
    this.storedByteDays += bytes * Math.max(0, days);
  }

  /** An item under `key` written once however often it is updated, kept `days`. */
  storedOnce(key: string, bytes: number, days: number): void {
    if (this.storedOnceKeys.has(key)) return;
    this.storedOnceKeys.add(key);
    this.storedFor(bytes + ITEM_OVERHEAD_BYTES, days);
  }

  /** An item rewritten in place under `key`: its newest size (undefined: deleted). */
  storedItem(key: string, bytes: number | undefined): void {
    if (bytes === undefined) this.storedItems.delete(key);
    else this.storedItems.set(key, bytes + ITEM_OVERHEAD_BYTES);
  }

  /** GetMetricData metrics requested per function (where the bill's biggest line comes from). */
  metricsByFunction(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.metricsPerFunction).sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Units a state-table request consumed (meterStore's estimate). */
  stateTableUnits(readUnits: number, writeUnits: number): void {
    this.state.readUnits += readUnits;
    this.state.writeUnits += writeUnits;
  }

  /** One invocation of a function, with the AWS calls it made and the time its handler took. */
  invocation(name: string, memoryMb: number, handlerMs: number, awsCalls: number, logBytes: number): void {
    const f = this.functions.get(name) ?? {
      name,
      memoryMb,
      invocations: 0,
      awsCalls: 0,
      handlerMs: 0,
      logBytes: 0,
    };
    f.invocations += 1;
    f.awsCalls += awsCalls;
    f.handlerMs += handlerMs;
    f.logBytes += logBytes;
    this.functions.set(name, f);
  }

  /** A log line a function wrote: EMF metrics in it count as published in that hour. */
  logLine(line: string, hourIndex: number): void {
    for (const key of emfMetricKeys(line)) this.customMetricHours.add(`${hourIndex}|${key}`);
  }

  usage(
    rest: Omit<
      MeteredUsage,
      'functions' | 'metricsRequested' | 'cloudwatchRequests' | 'customMetricHours' | 'stateTable'
    > & {
      stateTable?: { readUnits?: number; writeUnits?: number; storedBytes?: number };
    },
  ): MeteredUsage {
    // Steady state: a day's writes kept for their lifetimes, plus the items rewritten in place.
    let inPlace = 0;
    for (const b of this.storedItems.values()) inPlace += b;
    const storedBytes = (this.storedByteDays * 24) / rest.hours + inPlace;
    return {
      ...rest,
      functions: [...this.functions.values()].sort((a, b) => a.name.localeCompare(b.name)),
      metricsRequested: { ...this.metricsRequested },
      cloudwatchRequests: this.cloudwatchRequests,
      customMetricHours: this.customMetricHours.size,
      stateTable: {
        readUnits: rest.stateTable?.readUnits ?? this.state.readUnits,
        writeUnits: rest.stateTable?.writeUnits ?? this.state.writeUnits,
        storedBytes: rest.stateTable?.storedBytes ?? storedBytes,
      },
    };
  }
}

/** StateStore methods that write (everything else reads). */
const STORE_WRITES = new Set([
  'recordDecision',
  'resolveDecision',
  'markReported',
  'claimIdempotencyKey',
  'releaseIdempotencyKey',
  'acquireLock',
  'releaseLock',
  'putTunerState',
  'recordDrift',
  'recordCreated',
  'forgetCreated',
]);

/** How long the deployed store keeps decisions (shared/state/table-definition.ts). */
export interface StateRetention {
  auditTtlDays: number;
  noopTtlDays: number;
}

const DEFAULT_RETENTION: StateRetention = {
  auditTtlDays: DEFAULT_AUDIT_TTL_DAYS,
  noopTtlDays: DEFAULT_NOOP_TTL_DAYS,
};

/**
 * Write units of one store call beyond 1 per KB of its item: a decision also adds to the day's
 * totals item, and a notable one is written to the two sparse indexes (byDay, byId).
 */
function extraWriteUnits(method: string, args: readonly unknown[]): number {
  if (method !== 'recordDecision') return 0;
  const d = args[0] as Decision;
  // A successful no-op's count is written later with its run's others (flushTotals); an intended
  // decision counts in the totals once resolved.
  if (!isNotable(d)) return 0;
  return d.outcome === 'intended' ? 2 : 3;
}

/** What one store write leaves in the table as the deployed store (shared/state/dynamodb-store.ts) keeps it. */
function storeWriteStored(
  meter: UsageMeter,
  method: string,
  args: readonly unknown[],
  retention: StateRetention,
): void {
  const [a0, a1] = args as [unknown, unknown];
  switch (method) {
    case 'recordDecision': {
      const d = a0 as Decision;
      const bytes = itemBytes(storedForm(d)) + ITEM_OVERHEAD_BYTES;
      const days = decisionTtlDays(d, retention.auditTtlDays, retention.noopTtlDays) + TTL_DELETION_LAG_DAYS;
      // A notable decision is projected whole into the byDay index (ALL) as well.
      meter.storedFor(isNotable(d) ? 2 * bytes : bytes, days);
      // The day's totals of the tuner (one item per tuner and day, kept for the audit retention).
      meter.storedOnce(
        `totals|${d.tuner}|${d.at.slice(0, 10)}`,
        TOTALS_ITEM_BYTES,
        retention.auditTtlDays + TTL_DELETION_LAG_DAYS,
      );
      break;
    }
    case 'recordDrift':
      meter.storedFor(itemBytes(args) + ITEM_OVERHEAD_BYTES, retention.auditTtlDays + TTL_DELETION_LAG_DAYS);
      break;
    case 'markReported':
      meter.storedFor(
        (Array.isArray(a0) ? a0.length : 1) * ITEM_OVERHEAD_BYTES,
        REPORTED_TTL_SECONDS / 86_400 + TTL_DELETION_LAG_DAYS,
      );
      break;
    case 'claimIdempotencyKey': {
      const ttlSeconds = typeof args[4] === 'number' ? args[4] : 7 * 86_400;
      meter.storedFor(itemBytes(args) + ITEM_OVERHEAD_BYTES, ttlSeconds / 86_400 + TTL_DELETION_LAG_DAYS);
      break;
    }
    case 'acquireLock':
    case 'putTunerState':
    case 'recordCreated':
      meter.storedItem(
        // A tuner state part (putTunerState's 4th argument) is an item of its own.
        `${method === 'recordCreated' ? 'created' : method}|${String(a0)}|${String(a1)}${method === 'putTunerState' && typeof args[3] === 'string' ? `|${args[3]}` : ''}`,
        itemBytes(args),
      );
      break;
    case 'releaseLock':
      meter.storedItem(`acquireLock|${String(a0)}|${String(a1)}`, undefined);
      break;
    case 'forgetCreated':
      meter.storedItem(`created|${String(a0)}|${String(a1)}`, undefined);
      break;
    default:
    // resolveDecision rewrites a decision in place; releaseIdempotencyKey ends a key early.
  }
}

/**
 * The in-memory store (the demo's default: dynalite takes far longer for a day) has no consumed
 * capacity to report: each call is charged as DynamoDB would charge the items it moves, 1 WRU per
 * KB written (+1 for the totals item a notable decision updates, +2 for the indexes of a notable
 * one; the no-op counts of a run are one write per totals item when it ends, flushTotals),
 * 1 RRU per 4 KB read (strongly consistent), at least one unit per call; and what it leaves stored
 * is counted as the deployed store keeps it (decisions until their TTL, in-place items once). An
 * estimate: `--state dynalite` measures the units.
 */
export function meterStore<S extends object>(
  store: S,
  meter: UsageMeter,
  retention: StateRetention = DEFAULT_RETENTION,
): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (prop === 'flushTotals') {
          // One small totals item written per tuner and day the run held no-op counts for.
          meter.stateTableUnits(0, typeof result === 'number' ? result : 0);
        } else if (STORE_WRITES.has(prop)) {
          const bytes = itemBytes(args);
          meter.stateTableUnits(0, Math.max(1, Math.ceil(bytes / 1024)) + extraWriteUnits(prop, args));
          storeWriteStored(meter, prop, args, retention);
        } else {
          const bytes = result instanceof Map ? itemBytes([...result]) : itemBytes(result);
          meter.stateTableUnits(Math.max(1, Math.ceil(bytes / 4096)), 0);
        }
        return result;
      };
    },
  });
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** A log line as Lambda would ingest it: JSON compacted (dev mode pretty-prints it), else as is. */
function ingested(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/**
 * Runs `fn` with the global console captured: what the handler logs (Powertools writes its JSON
 * logs and EMF metrics through it in dev mode) is counted as ingested log bytes and its EMF
 * metrics as published in `hourIndex`, and not printed unless `echo` says so.
 */
export async function withCapturedLogs<T>(
  meter: UsageMeter,
  hourIndex: number,
  echo: boolean,
  fn: () => Promise<T>,
): Promise<{ result: T; logBytes: number }> {
  const saved = CONSOLE_METHODS.map((m) => [m, console[m]] as const);
  let logBytes = 0;
  for (const m of CONSOLE_METHODS) {
    const original = console[m];
    console[m] = (...args: unknown[]) => {
      const line = ingested(format(...args));
      logBytes += Buffer.byteLength(line, 'utf8') + 1;
      meter.logLine(line, hourIndex);
      if (echo) original(...args);
    };
  }
  try {
    return { result: await fn(), logBytes };
  } finally {
    for (const [m, original] of saved) console[m] = original;
  }
}
