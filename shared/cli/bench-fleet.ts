/**
 * The fleet bench of the whole loop (`npm run bench -- --fleet N --hours H [--json]`, issue #28):
 * every deployed function's real handler (functions/*.ts) on a simulated account of N RDS
 * instances and N DynamoDB tables, for H simulated hours, on the schedules serverless.yml deploys
 * (alarm state changes go to the alarm handler; `control status` once an hour), against the
 * DynamoDB state store code on dynalite (in this process, see inProcessDynalite). A run's CPU time
 * is the whole process's while it runs: the handler, the simulated AWS account it calls and
 * dynalite. The bench process gets the deployed memory size as its heap limit.
 *
 * Per function: runs, CPU ms per run (p50, p99), state-table read and write units per run
 * (ReturnConsumedCapacity), bytes the state table returned per run (HTTP Content-Length of read
 * responses), and the peak JS heap in use while it ran (the whole process: the simulated
 * account's own memory included). A run's clock is its CPU time (cpu-clock.ts): its remaining
 * time and middy's early timeout count CPU, so a loaded machine does not cut runs short.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { parse as parseYaml } from 'yaml';
import { HOUR_MS, MINUTE_MS, SimAccount, workload as w } from '../sim/index.ts';
import { type CpuClock, installCpuClock, threadCpuMs } from './cpu-clock.ts';
import { deployedFunctions, parseSchedule } from './demo.ts';

export interface FunctionFigures {
  runs: number;
  cpuMsP50: number;
  cpuMsP99: number;
  readUnitsPerRun: number;
  writeUnitsPerRun: number;
  bytesReadPerRun: number;
  peakHeapMb: number;
}

export interface FleetBenchResult {
  fleet: number;
  hours: number;
  functions: Record<string, FunctionFigures>;
}

/** What the bench also knows per function (printed beside the JSON, not in it). */
export interface FunctionLimits {
  memoryMb: number;
  timeoutMs: number;
  maxWallMs: number;
  maxCpuMs: number;
  /** Runs cut short by the early timeout (their CPU time reached the timeout). */
  timedOut: number;
  errors: string[];
}

const MANAGED = { key: 'db-autopilot:managed', value: 'true' };
const START = Date.parse('2026-11-23T02:00:00.000Z');
const READ_COMMANDS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand']);

/** Memory size and timeout of every function as serverless.yml deploys them. */
export function deployedLimits(root: string): Record<string, { memoryMb: number; timeoutMs: number }> {
  const doc = parseYaml(readFileSync(join(root, 'serverless.yml'), 'utf8'), {
    customTags: ['!Ref', '!GetAtt', '!Sub', '!Join', '!If', '!Equals'].map((tag) => ({
      tag,
      resolve: (v: string) => v,
    })),
    logLevel: 'silent',
  }) as {
    provider?: { memorySize?: number; timeout?: number };
    functions?: Record<string, { memorySize?: number; timeout?: number }>;
  };
  const memory = Number(doc.provider?.memorySize ?? 1024);
  const timeout = Number(doc.provider?.timeout ?? 6);
  const out: Record<string, { memoryMb: number; timeoutMs: number }> = {};
  for (const [name, f] of Object.entries(doc.functions ?? {})) {
    out[name] = { memoryMb: Number(f.memorySize ?? memory), timeoutMs: Number(f.timeout ?? timeout) * 1000 };
  }
  return out;
}

/** The largest memory size any function deploys with: the bench's heap limit. */
export function deployedMemoryMb(root: string): number {
  return Math.max(...Object.values(deployedLimits(root)).map((l) => l.memoryMb));
}

/** N RDS instances (io1 PostgreSQL) and N provisioned tables, all managed, each with its own daily peak. */
export function buildFleet(sim: SimAccount, n: number): void {
  for (let i = 0; i < n; i++) {
    const peakHour = (3 + i * 5) % 24;
    sim.rds.addInstance({
      id: `fleet-db-${i}`,
      engine: 'postgres',
      instanceClass: 'db.r6g.large',
      storageType: 'io1',
      allocatedStorage: 400,
      iops: 3000,
      tags: { [MANAGED.key]: MANAGED.value },
      workload: {
        iops: w.noisy(
          w.diurnal({ base: 900 + (i % 7) * 100, peak: 2600 + (i % 5) * 500, peakHourUtc: peakHour }),
          0.1,
          `db${i}`,
        ),
        cpu: w.diurnal({ base: 25, peak: 55 + (i % 4) * 10, peakHourUtc: peakHour }),
      },
    });
    sim.dynamodb.addTable({
      name: `fleet-table-${i}`,
      read: 100,
      write: 50,
      tags: { [MANAGED.key]: MANAGED.value },
      workload: {
        read: w.noisy(w.diurnal({ base: 30, peak: 90 + (i % 6) * 30, peakHourUtc: peakHour }), 0.1, `t${i}`),
        write: w.diurnal({ base: 12, peak: 30 + (i % 3) * 15, peakHourUtc: peakHour }),
      },
    });
  }
}

/** Every tuner in apply mode on the managed tag; reports to SNS only (nothing leaves the machine). */
export function fleetConfigYaml(n: number): string {
  const sources = Array.from({ length: n }, (_, i) => `      fleet-db-${i}: {}`).join('\n');
  return `version: 1
region: us-east-1
defaults:
  mode: apply
notifications:
  minSeverity: info
  sns:
    enabled: true
tuners:
  iops:
    resources:
      tags: { '${MANAGED.key}': '${MANAGED.value}' }
    minIops: 1000
    maxIops: 20000
  replicas:
    resources:
      tags: { '${MANAGED.key}': '${MANAGED.value}' }
    minReaders: 0
    maxReaders: 3
    sources:
${sources}
  dynamodb:
    resources:
      tags: { '${MANAGED.key}': '${MANAGED.value}' }
    minCapacity: 5
    maxCapacity: 20000
prices: {}
`;
}

interface Meter {
  readUnits: number;
  writeUnits: number;
  bytesRead: number;
}

/** ReturnConsumedCapacity on every state-table call, summed; Content-Length of the read responses. */
function meterStateTable(client: DynamoDBClient, meter: Meter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const out = await next(args);
      const cc = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      const units = (Array.isArray(cc) ? cc : cc ? [cc] : []).reduce(
        (sum: number, c: { CapacityUnits?: number }) => sum + (c.CapacityUnits ?? 0),
        0,
      );
      if (READ_COMMANDS.has(context.commandName ?? '')) meter.readUnits += units;
      else meter.writeUnits += units;
      return out;
    },
    { step: 'initialize', name: 'benchConsumedCapacity' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (READ_COMMANDS.has(context.commandName ?? '')) {
        const headers = (out.response as { headers?: Record<string, string> }).headers ?? {};
        meter.bytesRead += Number(headers['content-length'] ?? 0);
      }
      return out;
    },
    { step: 'deserialize', name: 'benchBytesRead' },
  );
}

/**
 * dynalite in this process, reached without sockets or HTTP framing: the state-table client's
 * request handler hands each request's operation (`X-Amz-Target`) and JSON body straight to
 * dynalite's own type checks, validations and actions on dynalite's own store (what its HTTP
 * listener does after parsing the request), and returns dynalite's JSON answer (or its error body,
 * status 400) as the response. Skipped: dynalite's HTTP stream handling, its request-id and CRC32
 * headers and its check that an Authorization header is present (the bench's client therefore does
 * not sign its requests, see unsignedStateClient). dynalite's work is included in each run's CPU
 * time (pessimistic).
 */
interface DynaliteHandler {
  requestHandler: {
    handle(request: {
      method: string;
      path: string;
      headers: Record<string, string>;
      body?: unknown;
    }): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }>;
    destroy(): void;
  };
  stop(): Promise<void>;
}

type DynaliteCallback = (error: { statusCode?: number; body?: unknown } | null, data?: unknown) => void;

interface DynaliteModules {
  db: { create(options: Record<string, number>): { db?: { close(): Promise<void> } } };
  validations: {
    checkTypes(data: unknown, types: unknown): Record<string, unknown>;
    checkValidations(data: unknown, types: unknown, custom: unknown, store: unknown): void;
  };
  action(name: string): {
    run: (store: unknown, data: unknown, cb: DynaliteCallback) => void;
    types: unknown;
    custom: unknown;
  };
}

function dynaliteModules(): DynaliteModules {
  const require = createRequire(import.meta.url);
  const cache = new Map<string, ReturnType<DynaliteModules['action']>>();
  return {
    db: require('dynalite/db') as DynaliteModules['db'],
    validations: require('dynalite/validations') as DynaliteModules['validations'],
    action(name) {
      const known = cache.get(name);
      if (known) return known;
      const validation = require(`dynalite/validations/${name}`) as { types: unknown; custom: unknown };
      const loaded = {
        run: require(`dynalite/actions/${name}`) as ReturnType<DynaliteModules['action']>['run'],
        types: validation.types,
        custom: validation.custom,
      };
      cache.set(name, loaded);
      return loaded;
    },
  };
}

/** dynalite's operations (its index.js `validOperations`). */
const DYNALITE_OPERATIONS = new Set([
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
]);

/**
 * Two memory faults of dynalite 4 on memory-level 3 (its in-memory store), fixed for the bench:
 * - a query's items are streamed from an abstract-level iterator that dynalite closes with
 *   `iterator.return()`, which abstract-level 3 iterators do not have (they have `close()`): every
 *   Query and Scan left its iterator open in the database's resources, each holding the version of
 *   the in-memory tree it started on (N=50 x 3 h: 20,873 open iterators, ~400 MB of old tree
 *   versions; at N=200 x 6 h the bench ran out of its heap). `return()` = `close()`.
 * - memory-level keeps the key and value Buffers it is given, and a small Buffer is a slice of
 *   Node's shared 64 KB allocation pool: one stored item kept a whole 64 KB slab alive (N=50 x
 *   3 h: a 12 MB table held 283 MB of slabs). It now keeps an exact-size copy of each.
 */
export function fixDynaliteMemory(): void {
  const require = createRequire(createRequire(import.meta.url).resolve('dynalite/db'));
  const fromMemoryLevel = createRequire(require.resolve('memory-level'));
  const { AbstractIterator } = fromMemoryLevel('abstract-level') as {
    AbstractIterator: { prototype: object };
  };
  const common = Object.getPrototypeOf(AbstractIterator.prototype) as {
    return?: () => Promise<void>;
    close(): Promise<void>;
  };
  if (typeof common.return !== 'function')
    common.return = function (this: { close(): Promise<void> }) {
      return this.close();
    };
  const { MemoryLevel } = require('memory-level') as { MemoryLevel: { prototype: MemoryLevelMethods } };
  const proto = MemoryLevel.prototype;
  if (proto[OWN_COPIES]) return;
  const put = proto._put;
  const batch = proto._batch;
  proto._put = function (key, value, options) {
    return put.call(this, ownCopy(key), ownCopy(value), options);
  };
  proto._batch = function (operations, options) {
    const copied = operations.map((op) =>
      op.type === 'put' ? { ...op, key: ownCopy(op.key), value: ownCopy(op.value) } : op,
    );
    return batch.call(this, copied, options);
  };
  proto[OWN_COPIES] = true;
}

const OWN_COPIES = Symbol('bench: memory-level keeps own copies');

interface MemoryLevelMethods {
  _put(key: unknown, value: unknown, options: unknown): Promise<void>;
  _batch(operations: Array<{ type: string; key: unknown; value?: unknown }>, options: unknown): Promise<void>;
  [OWN_COPIES]?: boolean;
}

/**
 * dynalite parses every request's expressions (UpdateExpression, ConditionExpression,
 * KeyConditionExpression, FilterExpression, ProjectionExpression) with its PEG parsers (~6% of the
 * fleet bench's CPU profile); the state store sends the same few expressions with the same names,
 * and the same values about half the time (N=20 x 2 h: 8,535 of 15,580 parses). The bench's
 * dynalite keeps each parse result by all it depends on (the parser, the expression, the request's
 * ExpressionAttributeNames and ExpressionAttributeValues, already validated and normalised by
 * then), hands out a deep copy (dynalite rewrites a parsed key condition in place) and marks the
 * names and values the expression uses as used, as the parser does. A parse that throws (a syntax
 * error) is not kept: it throws again, the same. Same items, sizes, units and errors. Bounded (the
 * bench's heap is the deployed memory size): only keys up to 1 KB (every repeat of that run was
 * one; larger ones carry whole items), the 500 most recently used (8,416 of the 8,535 repeats).
 * Measured: ~5% less CPU replaying a run's state requests.
 */
export function reuseParsedExpressions(): void {
  const require = createRequire(createRequire(import.meta.url).resolve('dynalite/db'));
  for (const name of ['./conditionParser', './updateParser', './projectionParser']) {
    const parser = require(name) as DynaliteParser;
    if (parser[PARSES]) continue;
    const parse = parser.parse;
    const cache = new Map<string, ParsedExpression>();
    parser.parse = (input, options) => {
      const context = options.context;
      const key = `${input}\u0000${JSON.stringify(context.attrNames ?? null)}\u0000${JSON.stringify(context.attrVals ?? null)}`;
      let parsed = cache.get(key);
      if (parsed) {
        // Most recently used last: the oldest entry is the first one evicted.
        cache.delete(key);
        cache.set(key, parsed);
      } else {
        const unusedAttrNames = allKeys(context.attrNames);
        const unusedAttrVals = allKeys(context.attrVals);
        const result = parse.call(parser, input, {
          ...options,
          context: { ...context, unusedAttrNames, unusedAttrVals },
        });
        parsed = {
          result,
          names: Object.keys(context.attrNames ?? {}).filter((k) => !(k in unusedAttrNames)),
          vals: Object.keys(context.attrVals ?? {}).filter((k) => !(k in unusedAttrVals)),
        };
        if (key.length <= 1_024) {
          if (cache.size >= 500) cache.delete(cache.keys().next().value as string);
          cache.set(key, parsed);
        }
      }
      for (const k of parsed.names) if (context.unusedAttrNames) delete context.unusedAttrNames[k];
      for (const k of parsed.vals) if (context.unusedAttrVals) delete context.unusedAttrVals[k];
      return deepCopy(parsed.result);
    };
    parser[PARSES] = true;
  }
}

const PARSES = Symbol('bench: parse results reused');

interface ExpressionContext {
  attrNames?: Record<string, unknown>;
  attrVals?: Record<string, unknown>;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
}

interface DynaliteParser {
  parse(input: string, options: { context: ExpressionContext }): unknown;
  [PARSES]?: boolean;
}

interface ParsedExpression {
  result: unknown;
  names: string[];
  vals: string[];
}

function allKeys(record: Record<string, unknown> | undefined): Record<string, boolean> {
  const out: Record<string, boolean> = Object.create(null);
  for (const k of Object.keys(record ?? {})) out[k] = true;
  return out;
}

/** A copy of plain data (objects keep their prototype, plain or null). */
function deepCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  const out = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) out[k] = deepCopy(v);
  return out as T;
}

/** A Buffer that owns exactly its bytes (not a slice of a shared pool slab). */
function ownCopy(value: unknown): unknown {
  if (!Buffer.isBuffer(value) || value.byteLength === value.buffer.byteLength) return value;
  const bytes = new Uint8Array(value.byteLength);
  bytes.set(value);
  return Buffer.from(bytes.buffer);
}

export function inProcessDynalite(): DynaliteHandler {
  fixDynaliteMemory();
  reuseParsedExpressions();
  const modules = dynaliteModules();
  const store = modules.db.create({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const answer = (statusCode: number, data: unknown) => {
    const body = Buffer.from(JSON.stringify(data));
    return {
      response: {
        statusCode,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(body.length) },
        body: new Uint8Array(body.buffer, body.byteOffset, body.length),
      },
    };
  };
  return {
    requestHandler: {
      handle: (request) =>
        new Promise((ok, fail) => {
          const operation = (request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
          if (!DYNALITE_OPERATIONS.has(operation)) {
            ok(answer(400, { __type: 'com.amazon.coral.service#UnknownOperationException' }));
            return;
          }
          const text =
            typeof request.body === 'string'
              ? request.body
              : request.body instanceof Uint8Array
                ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.length).toString()
                : '';
          const action = modules.action(operation.charAt(0).toLowerCase() + operation.slice(1));
          try {
            const data = modules.validations.checkTypes(JSON.parse(text || '{}'), action.types);
            modules.validations.checkValidations(data, action.types, action.custom, store);
            action.run(store, data, (error, out) => {
              if (error?.statusCode) ok(answer(error.statusCode, error.body));
              else if (error) fail(error);
              else ok(answer(200, out));
            });
          } catch (error) {
            const e = error as { statusCode?: number; body?: unknown };
            if (e.statusCode) ok(answer(e.statusCode, e.body));
            else fail(error);
          }
        }),
      destroy: () => undefined,
    },
    stop: async () => {
      await store.db?.close();
    },
  };
}

/**
 * The state-table client of the bench: a real DynamoDB client whose requests go to dynalite in
 * this process unsigned (SigV4 hashing and HMACs were a tenth of the bench's CPU; dynalite
 * checks no signature) and without a user-agent header.
 */
function unsignedStateClient(requestHandler: DynaliteHandler['requestHandler']): DynamoDBClient {
  const client = new DynamoDBClient({
    endpoint: 'http://dynalite.local:4567',
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 2,
    requestHandler: requestHandler as never,
  });
  client.middlewareStack.remove('httpSigningMiddleware');
  client.middlewareStack.remove('getUserAgentMiddleware');
  return client;
}

/**
 * A Lambda context whose remaining time is the run's (cpu-clock.ts: the timeout less the CPU time
 * the run has used).
 */
function fakeContext(
  functionName: string,
  requestId: string,
  memoryMb: number,
  remainingMs: () => number,
): Context {
  const fail = () => {
    throw new Error('callback-style handlers are not supported');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:db-autopilot-bench-${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/db-autopilot-bench-${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: remainingMs,
    done: fail,
    fail,
    succeed: fail,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

interface Tally {
  cpu: number[];
  wall: number[];
  meter: Meter;
  peakHeap: number;
  errors: string[];
  /** Runs middy's early timeout cut short (the run's CPU time reached its timeout). */
  timedOut: number;
}

const ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  STATE_TABLE: 'db-autopilot-bench-state',
  ALARM_PREFIX: 'dbap-',
  DASHBOARD_NAME: 'db-autopilot',
  PAUSE_PARAMETER: '/db-autopilot/paused',
  POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_DEV: 'true',
  POWERTOOLS_SERVICE_NAME: 'db-autopilot',
  POWERTOOLS_METRICS_NAMESPACE: 'DbAutopilot',
};

type Handler = (event: unknown, context: Context) => Promise<unknown>;

type Invoke = (name: string, event: unknown) => Promise<void>;
type DeployedFunction = ReturnType<typeof deployedFunctions>[number];

/** The state table on dynalite, the store on it, the config of the fleet and no metrics rate limit. */
async function prepareState(stateClient: DynamoDBClient, n: number) {
  const { createStateTable } = await import('../state/table-definition.ts');
  await createStateTable(stateClient, ENV.STATE_TABLE as string);
  await untilActive(stateClient, ENV.STATE_TABLE as string);
  const state = await import('../state/index.ts');
  const store = new state.DynamoDbStateStore({ client: stateClient, tableName: ENV.STATE_TABLE });
  state.setStateStore(store);
  const { setSharedLimiter } = await import('../metrics/fetch.ts');
  const { RateLimiter } = await import('../metrics/limits.ts');
  setSharedLimiter(new RateLimiter(1_000_000, 1_000_000));
  const { parseConfig, setConfig } = await import('../config/load.ts');
  setConfig(parseConfig(fleetConfigYaml(n), 'fleet bench'));
  return store;
}

/** Every deployed function whose file exists, with its handler. */
async function loadHandlers(root: string) {
  const functions = deployedFunctions(root).filter((f) => existsSync(f.file));
  const handlers = new Map<string, Handler>();
  for (const f of functions) {
    const mod = (await import(pathToFileURL(f.file).href)) as { handler?: Handler };
    if (typeof mod.handler === 'function') handlers.set(f.name, mod.handler);
  }
  return { functions, handlers };
}

/** Invokes a handler as Lambda would and tallies its CPU, wall time, state-table units and heap. */
function invoker(
  handlers: Map<string, Handler>,
  deployed: Record<string, { memoryMb: number; timeoutMs: number }>,
  meter: Meter,
  tallies: Map<string, Tally>,
  cpuClock: CpuClock,
): Invoke {
  let seq = 0;
  const heapUsed = () => getHeapStatistics().used_heap_size;
  return async (name, event) => {
    const handler = handlers.get(name);
    if (!handler) return;
    const limits = deployed[name] ?? { memoryMb: 512, timeoutMs: 300_000 };
    const tally = tallies.get(name) ?? {
      cpu: [],
      wall: [],
      meter: { readUnits: 0, writeUnits: 0, bytesRead: 0 },
      peakHeap: 0,
      errors: [],
      timedOut: 0,
    };
    tallies.set(name, tally);
    const before = { ...meter };
    let peak = heapUsed();
    const sampler = setInterval(() => {
      peak = Math.max(peak, heapUsed());
    }, 25);
    const cpu0 = threadCpuMs();
    const wall0 = performance.now();
    seq += 1;
    const run = cpuClock.start(limits.timeoutMs);
    try {
      const context = fakeContext(name, `bench-${seq}`, limits.memoryMb, run.remainingMs);
      const out = (await handler(event, context)) as { ok?: boolean; error?: string } | undefined;
      if (out?.ok === false && tally.errors.length < 5) tally.errors.push(String(out.error ?? 'ok: false'));
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') tally.timedOut += 1;
      if (tally.errors.length < 5) tally.errors.push((error as Error).message);
    } finally {
      run.end();
      tally.cpu.push(threadCpuMs() - cpu0);
      tally.wall.push(performance.now() - wall0);
      clearInterval(sampler);
      tally.peakHeap = Math.max(tally.peakHeap, peak, heapUsed());
      tally.meter.readUnits += meter.readUnits - before.readUnits;
      tally.meter.writeUnits += meter.writeUnits - before.writeUnits;
      tally.meter.bytesRead += meter.bytesRead - before.bytesRead;
    }
  };
}

/**
 * Minute by minute: the simulated account moves on, alarm state changes go to the alarm
 * handler, scheduled functions run when due, `control status` once an hour.
 */
async function simulate(
  sim: SimAccount,
  functions: DeployedFunction[],
  hours: number,
  invoke: Invoke,
  onHour?: (hour: number) => void,
) {
  const schedules = functions.flatMap((f) =>
    f.schedules.flatMap((s) => {
      const schedule = parseSchedule(s);
      return schedule ? [{ name: f.name, schedule }] : [];
    }),
  );
  const alarmFns = functions.filter((f) => f.onAlarms).map((f) => f.name);
  const endMs = START + hours * HOUR_MS;
  for (let t = START; t < endMs; t += MINUTE_MS) {
    if (t > sim.nowMs()) sim.advanceTo(t);
    for (const e of sim.cloudwatch.takeAlarmEvents()) {
      if (e.detail.state.value !== 'ALARM' || !e.detail.alarmName.startsWith('dbap-')) continue;
      for (const name of alarmFns) await invoke(name, e);
    }
    for (const { name, schedule } of schedules) {
      if (!dueAt(schedule, t)) continue;
      await invoke(name, scheduledEvent(name, t, sim));
    }
    if ((t - START) % HOUR_MS === 30 * MINUTE_MS) await invoke('control', { command: 'status' });
    if ((t + MINUTE_MS - START) % HOUR_MS === 0) onHour?.((t + MINUTE_MS - START) / HOUR_MS);
  }
}

/** Runs the fleet for `hours` simulated hours; returns the figures and the per-function limits. */
export async function runFleetBench(
  n: number,
  hours: number,
  rootDir = process.cwd(),
  /** Called with the state store before it is torn down (tests, investigations). */
  inspect?: (store: import('../core/contracts.ts').StateStore) => Promise<void>,
  /** Called after each simulated hour with the figures so far. */
  onHour?: (hour: number, soFar: FleetBenchResult) => void,
): Promise<{ result: FleetBenchResult; limits: Record<string, FunctionLimits> }> {
  const root = resolve(rootDir);
  for (const [k, v] of Object.entries(ENV)) process.env[k] = v;
  const realWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('No application metrics to publish')) return;
    realWarn(...args);
  };
  const sim = new SimAccount({ start: START, historyStart: START - 15 * 24 * HOUR_MS, rateLimits: false });
  buildFleet(sim, n);
  // CloudWatch evaluates the reconciler's alarms every minute; their state changes go to the
  // alarm handler (the fast path), as EventBridge delivers them in the deployed stack.
  sim.cloudwatch.startEvaluation();
  process.env.REPORT_TOPIC_ARN = sim.sns.createTopic('db-autopilot-bench-reports');
  const dynalite = inProcessDynalite();
  const stateClient = unsignedStateClient(dynalite.requestHandler);
  const meter: Meter = { readUnits: 0, writeUnits: 0, bytesRead: 0 };
  meterStateTable(stateClient, meter);
  const uninstall = sim.install({ stateTable: stateClient });
  const cpuClock = installCpuClock();
  try {
    const store = await prepareState(stateClient, n);
    const deployed = deployedLimits(root);
    const { functions, handlers } = await loadHandlers(root);
    const tallies = new Map<string, Tally>();
    await simulate(sim, functions, hours, invoker(handlers, deployed, meter, tallies, cpuClock), (hour) =>
      onHour?.(hour, figures(n, hour, tallies)),
    );
    await inspect?.(store);
    return { result: figures(n, hours, tallies), limits: limitsOf(tallies, deployed) };
  } finally {
    cpuClock.uninstall();
    uninstall();
    stateClient.destroy();
    await dynalite.stop();
    console.warn = realWarn;
  }
}

/** dynalite flips a new table to ACTIVE on a timer: wait for it before the first run. */
export async function untilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((ok) => setTimeout(ok, 10));
  }
  throw new Error(`the state table ${tableName} did not become ACTIVE`);
}

function scheduledEvent(name: string, t: number, sim: SimAccount) {
  return {
    version: '0',
    id: `bench-${name}-${new Date(t).toISOString()}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: sim.accountId,
    time: new Date(t).toISOString(),
    region: sim.region,
    resources: [`arn:aws:events:${sim.region}:${sim.accountId}:rule/bench-dbap-${name}`],
    detail: {},
  };
}

function dueAt(s: NonNullable<ReturnType<typeof parseSchedule>>, tMs: number): boolean {
  if (s.everyMinutes) return Math.floor(tMs / MINUTE_MS) % s.everyMinutes === 0;
  if (!s.cron) return false;
  const minuteOfDay = Math.floor((tMs % (24 * HOUR_MS)) / MINUTE_MS);
  const m = minuteOfDay % 60;
  const h = Math.floor(minuteOfDay / 60);
  return (s.cron.minute === '*' || s.cron.minute === m) && (s.cron.hour === '*' || s.cron.hour === h);
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

function figures(n: number, hours: number, tallies: Map<string, Tally>): FleetBenchResult {
  const functions: Record<string, FunctionFigures> = {};
  for (const [name, t] of [...tallies].sort(([a], [b]) => a.localeCompare(b))) {
    const runs = t.cpu.length;
    const cpu = [...t.cpu].sort((a, b) => a - b);
    functions[name] = {
      runs,
      cpuMsP50: round(percentile(cpu, 50)),
      cpuMsP99: round(percentile(cpu, 99)),
      readUnitsPerRun: round(t.meter.readUnits / runs),
      writeUnitsPerRun: round(t.meter.writeUnits / runs),
      bytesReadPerRun: Math.round(t.meter.bytesRead / runs),
      peakHeapMb: round(t.peakHeap / 1024 / 1024),
    };
  }
  return { fleet: n, hours, functions };
}

function limitsOf(
  tallies: Map<string, Tally>,
  deployed: Record<string, { memoryMb: number; timeoutMs: number }>,
): Record<string, FunctionLimits> {
  const out: Record<string, FunctionLimits> = {};
  for (const [name, t] of tallies) {
    const d = deployed[name] ?? { memoryMb: 512, timeoutMs: 300_000 };
    out[name] = {
      ...d,
      maxWallMs: Math.round(Math.max(0, ...t.wall)),
      maxCpuMs: Math.round(Math.max(0, ...t.cpu)),
      timedOut: t.timedOut,
      errors: t.errors,
    };
  }
  return out;
}
