/**
 * `npm run demo -- [--scenario NAME] [--out DIR] [--hours N] [--state memory|dynalite] [--no-postgres] [--postgres local]`
 *
 * Runs db-autopilot's real Lambda handlers (functions/*.ts) over a simulated day on the simulated
 * AWS account (shared/sim): schedules fire as serverless.yml deploys them (rate(...) and cron(...)),
 * CloudWatch alarms are evaluated by the simulator each minute and their state changes delivered
 * to the alarm handler as "CloudWatch Alarm State Change" events. The state table is dynalite
 * (in-process, loopback), the maintenance database an embedded PostgreSQL (PGlite behind its
 * socket server, reached through `pg`; `--postgres local`: the local server binaries, with HypoPG
 * and pgstattuple, shared/postgres/demo-local.ts). Prints progress per simulated hour, a timeline of
 * decisions and the report as posted; writes DIR/report.md and DIR/report.json (default out/demo).
 *
 * Everything is in apply mode for the demo (a demo override of db-autopilot.yml); nothing leaves
 * the machine: Slack posts are captured, not sent.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { parse as parseYaml } from 'yaml';
import { alarmPrefix, TUNER_NAMES } from '../alarms/names.ts';
import type { Config } from '../config/schema.ts';
import type { StateStore } from '../core/contracts.ts';
import { ValidationError } from '../core/errors.ts';
import { countsAsChange } from '../core/guards.ts';
import type { Decision, Evidence, TunerName } from '../core/model.ts';
import { meterStore, UsageMeter, withCapturedLogs } from '../cost/meter.ts';
import { type Bill, monthlyBill } from '../cost/model.ts';
import { SELF_PRICES_DATE, SELF_PRICES_SOURCE, selfPrices } from '../cost/prices.ts';
import { simFleetCost } from '../cost/sim-fleet.ts';
import { dashboardConsoleUrl } from '../report/console-links.ts';
import { describeChange, reasonText } from '../report/describe.ts';
import { renderDigestText } from '../report/digest.ts';
import { costText } from '../report/format.ts';
import { RECORDED_STATE_FILE, recordedState } from '../report/history.ts';
import { digestOf } from '../report/notifier.ts';
import { type ResourceDayRow, resourceDayMarkdown } from '../report/resource-days.ts';
import { digestPayload } from '../report/slack.ts';
import { digestMessage } from '../report/sns.ts';
import { moneyTotals, totalsText } from '../report/totals.ts';
import { HOUR_MS, MINUTE_MS, type SimAccount } from '../sim/index.ts';
import type { Scenario } from '../sim/scenarios/index.ts';
import type { AlarmStateChangeEvent } from '../sim/services/cloudwatch.ts';
import { type CliSpec, CliUsageError, type CliValues, choiceFlag, cliArgsOrExit, intFlag } from './args.ts';

export interface DemoOptions {
  scenario?: string;
  out?: string;
  /** Simulated hours (default 24). */
  hours?: number;
  /** Where progress and the timeline go (default stdout); pass () => {} to stay quiet. */
  print?: (line: string) => void;
  /** Start the embedded PostgreSQL for the maintenance and insights functions (default true). */
  postgres?: boolean;
  /**
   * `local`: the orders database on the local PostgreSQL server binaries (HypoPG, pgstattuple)
   * instead of PGlite (shared/postgres/demo-local.ts).
   */
  postgresServer?: 'pglite' | 'local';
  /**
   * The state store: 'memory' (default: the in-memory store with the same contract; a simulated
   * day makes ~30,000 state-table calls, which take minutes through dynalite) or 'dynalite' (the
   * DynamoDB store Lambda uses, against dynalite on loopback).
   */
  state?: 'dynalite' | 'memory';
  /** Repository root (default: the current directory). */
  root?: string;
  /** Interface VPC endpoints db-autopilot alone needs, priced in its own bill (default 0). */
  vpcEndpoints?: number;
  /** The Region whose prices the own bill uses (default: the config's region). */
  priceRegion?: string;
  /** The configuration to run (default: db-autopilot.yml at the root, the SecureCart example). */
  configFile?: string;
}

/** db-autopilot's own AWS bill for the fleet, measured over the demo (shared/cost). */
export interface OwnCost extends Bill {
  region: string;
  pricesSource: string;
  pricesDate: string;
  /** Simulated hours the usage was measured over (scaled to a 730-hour month). */
  measuredHours: number;
  managedResources: number;
  /** The most any one managed resource costs (its metrics and alarms + its share of the fleet's). */
  maxPerResourceUsd: number;
  /** The net monthly saving the demo reports (applied changes), and the bill as a share of it. */
  savingsMonthlyUsd: number;
  percentOfSavings: number | null;
  /** What was measured: invocations and AWS calls per function, metrics requested, state units. */
  usage: {
    invocations: Record<string, number>;
    awsCalls: Record<string, number>;
    metricsRequested: number;
    /** The same, per function (dynamodb-tuner, iops-tuner, ...). */
    metricsRequestedByFunction: Record<string, number>;
    cloudwatchRequests: number;
    alarms: number;
    customMetricHours: number;
    stateTable: { readUnits: number; writeUnits: number; estimated: boolean };
  };
}

export interface DemoDecision {
  at: string;
  tuner: TunerName;
  resource: string;
  resourceKind: string;
  action: string;
  outcome: string;
  reason: string;
  evidence: Evidence[];
  monthlyCostDelta: number;
  from: unknown;
  to: unknown;
  guard?: string;
  trigger: string;
  deferredUntil?: string;
  severity?: Decision['severity'];
}

export interface DemoFunction {
  name: string;
  file: string;
  schedules: string[];
  onAlarms: boolean;
  status: 'ran' | 'not scheduled' | 'skipped: not built yet';
  /** memorySize as serverless.yml deploys it (MB). */
  memoryMb: number;
  invocations: number;
  /** Real time spent in the handler (ms), to keep the demo fast. */
  wallMs: number;
  errors: string[];
}

export interface DemoReport {
  scenario: string;
  start: string;
  end: string;
  functions: DemoFunction[];
  tuners: Array<{ tuner: TunerName; status: 'ran' | 'skipped: not built yet'; decisions: number }>;
  decisions: DemoDecision[];
  alarms: Array<{ at: string; alarm: string; state: string }>;
  notifications: Array<{ channel: 'sns' | 'slack'; at: string; subject?: string; text: string }>;
  apiCalls: Record<string, number>;
  /** Calls the simulator answered with a throttling error (AWS's default rate limits). */
  apiThrottled: Record<string, number>;
  /** Calls answered with an error (AWS rules, or an operation not simulated yet), per operation. */
  apiErrors: Record<string, number>;
  totals: {
    decisions: number;
    applied: number;
    deferred: number;
    skipped: number;
    failed: number;
    planned: number;
    /** Applied changes (the progress lines' count): recommendations and findings are not changes. */
    appliedChanges: number;
    /** The one accounting of money (shared/report/totals.ts), the same in report.md, the digest and Slack. */
    appliedMonthlyCostDelta: number;
    potentialMonthlyCostDelta: number;
    reversedMonthlyCostDelta: number;
    recommendations: number;
  };
  /** Per resource, per day: start and end setting, changes, throttled/saturated minutes, cost. */
  resourceDays: ResourceDayRow[];
  /** What was posted: per-event posts and the daily digest, per channel. */
  posts: { slack: number; sns: number; digest: number };
  wallMs: number;
  /** Calls to the state table (dynalite) and the real time they took. */
  stateTable?: { store: 'dynalite' | 'memory'; calls: number; ms: number };
  /** db-autopilot's own monthly AWS bill beside the savings it reports. */
  ownCost?: OwnCost;
}

/** Which function runs which tuner (a tuner "exists" when its function file does). */
const TUNER_FUNCTIONS: Array<{ tuner: TunerName; fn: string }> = [
  { tuner: 'iops', fn: 'iops-tuner' },
  { tuner: 'replicas', fn: 'replica-scaler' },
  { tuner: 'dynamodb', fn: 'dynamodb-tuner' },
  { tuner: 'maintenance', fn: 'pg-maintenance' },
  { tuner: 'insights', fn: 'pg-insights' },
  { tuner: 'proxy', fn: 'proxy-tuner' },
  { tuner: 'rightsizing', fn: 'rightsizing' },
  { tuner: 'serverless', fn: 'serverless-tuner' },
  { tuner: 'alarms', fn: 'alarm-reconciler' },
];

/** Functions the design deploys, with their schedules, when serverless.yml cannot be read. */
const DEFAULT_FUNCTIONS: Record<string, string[]> = {
  'iops-tuner': ['rate(5 minutes)'],
  'replica-scaler': ['rate(5 minutes)'],
  'dynamodb-tuner': ['rate(2 minutes)'],
  'pg-maintenance': ['cron(0 3 * * ? *)'],
  'pg-insights': ['cron(30 5 * * ? *)'],
  'proxy-tuner': ['rate(15 minutes)'],
  rightsizing: ['cron(45 5 * * ? *)'],
  'serverless-tuner': ['rate(5 minutes)'],
  'alarm-handler': [],
  'alarm-reconciler': ['rate(15 minutes)'],
  report: ['rate(5 minutes)'],
  digest: ['cron(0 7 * * ? *)'],
  control: [],
};

/** The Serverless Framework's default memorySize (MB) when serverless.yml sets none. */
const DEFAULT_MEMORY_MB = 1024;

interface Schedule {
  everyMinutes?: number;
  cron?: { minute: number | '*'; hour: number | '*' };
}

export function parseSchedule(expr: string): Schedule | undefined {
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expr.trim());
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] ?? 'minutes';
    return { everyMinutes: unit.startsWith('minute') ? n : unit.startsWith('hour') ? n * 60 : n * 1440 };
  }
  const cron = /^cron\((\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\)$/.exec(expr.trim());
  if (cron) {
    const field = (v: string | undefined): number | '*' => (v === undefined || v === '*' ? '*' : Number(v));
    const minute = field(cron[1]);
    const hour = field(cron[2]);
    if ((minute !== '*' && Number.isNaN(minute)) || (hour !== '*' && Number.isNaN(hour))) return undefined;
    return { cron: { minute, hour } };
  }
  return undefined;
}

function dueAt(s: Schedule, tMs: number): boolean {
  const minuteOfDay = Math.floor((tMs % (24 * HOUR_MS)) / MINUTE_MS);
  if (s.everyMinutes) return Math.floor(tMs / MINUTE_MS) % s.everyMinutes === 0;
  if (s.cron) {
    const m = minuteOfDay % 60;
    const h = Math.floor(minuteOfDay / 60);
    return (s.cron.minute === '*' || s.cron.minute === m) && (s.cron.hour === '*' || s.cron.hour === h);
  }
  return false;
}

/** Reads functions, schedules and the alarm rule from serverless.yml (params resolved). */
export function deployedFunctions(
  root: string,
): Array<{ name: string; file: string; schedules: string[]; onAlarms: boolean; memoryMb: number }> {
  const file = join(root, 'serverless.yml');
  if (!existsSync(file)) {
    return Object.entries(DEFAULT_FUNCTIONS).map(([name, schedules]) => ({
      name,
      file: join(root, 'functions', `${name}.ts`),
      schedules,
      onAlarms: name === 'alarm-handler',
      memoryMb: DEFAULT_MEMORY_MB,
    }));
  }
  const text = readFileSync(file, 'utf8');
  // serverless.yml uses CloudFormation tags (!Ref); read it as plain YAML with them ignored.
  const doc = parseYaml(text, {
    customTags: [
      { tag: '!Ref', resolve: (v: string) => v },
      { tag: '!GetAtt', resolve: (v: string) => v },
      { tag: '!Sub', resolve: (v: string) => v },
    ],
    logLevel: 'silent',
  }) as Record<string, unknown>;
  const params = ((doc.params as Record<string, Record<string, unknown>> | undefined)?.default ??
    {}) as Record<string, unknown>;
  const resolveVars = (v: string) =>
    v.replace(/\$\{param:([A-Za-z0-9]+)\}/g, (_m, k: string) => String(params[k] ?? ''));
  const functions = (doc.functions ?? {}) as Record<
    string,
    { handler?: string; events?: Array<Record<string, unknown>>; memorySize?: number }
  >;
  const providerMemory = (doc.provider as { memorySize?: number } | undefined)?.memorySize;
  return Object.entries(functions).map(([name, f]) => {
    const handlerFile = (f.handler ?? `functions/${name}.handler`).replace(/\.handler$/, '.ts');
    const schedules: string[] = [];
    let onAlarms = false;
    for (const e of f.events ?? []) {
      const s = e.schedule;
      if (typeof s === 'string') schedules.push(resolveVars(s));
      else if (s && typeof s === 'object' && typeof (s as { rate?: unknown }).rate === 'string') {
        schedules.push(resolveVars((s as { rate: string }).rate));
      }
      const eb = e.eventBridge as { pattern?: { 'detail-type'?: string[] } } | undefined;
      if (eb?.pattern?.['detail-type']?.includes('CloudWatch Alarm State Change')) onAlarms = true;
    }
    const memoryMb = Number(f.memorySize ?? providerMemory ?? DEFAULT_MEMORY_MB);
    return { name, file: join(root, handlerFile), schedules, onAlarms, memoryMb };
  });
}

export function fakeContext(functionName: string, requestId: string, timeoutMs: number): Context {
  const fail = () => {
    throw new Error('the demo does not support callback-style handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:db-autopilot-demo-${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/db-autopilot-demo-${functionName}`,
    logStreamName: 'demo',
    // The virtual clock does not move during a run: the whole timeout is always left.
    getRemainingTimeInMillis: () => timeoutMs,
    done: fail,
    fail,
    succeed: fail,
  };
}

type DynaliteFactory = (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

/** dynalite in-process on loopback with the state table created (compatible with test/support/dynalite.ts). */
export async function startStateTable(
  tableName: string,
): Promise<{ client: DynamoDBClient; stop: () => Promise<void> }> {
  const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
    maxAttempts: 2,
  });
  const { createStateTable } = await import('../state/table-definition.ts');
  await createStateTable(client, tableName);
  return {
    client,
    stop: async () => {
      client.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

export interface DemoPostgres {
  host: string;
  port: number;
  database: string;
  user: string;
  secretId: string;
  seeded: { bloated: string[]; stale: string[]; healthy: string[] };
  /** Index-advice thresholds scaled to the demo's small tables (local server only). */
  indexes?: Partial<NonNullable<Config['tuners']['maintenance']>['indexes']>;
  stop(): Promise<void>;
}

/** `--postgres local`: the orders database on the local server binaries, its credentials as the secret. */
export async function prepareLocalPostgres(
  sim: SimAccount,
  secretId = 'db-autopilot/orders',
): Promise<DemoPostgres> {
  const { startLocalDemoDatabase } = await import('../postgres/demo-local.ts');
  const local = await startLocalDemoDatabase();
  sim.secrets.put(secretId, {
    username: local.user,
    password: 'unused-trust-auth',
    engine: 'postgres',
    host: local.host,
    port: local.port,
    dbname: local.database,
  });
  return { ...local, secretId };
}

/**
 * The maintenance hook: starts an embedded PostgreSQL (PGlite) behind its socket server on
 * 127.0.0.1 (a free port), seeds the orders database with bloated and stale tables
 * (shared/postgres/demo-seed.ts) and stores its credentials as the Secrets Manager secret the
 * maintenance config names, so the maintenance function connects through the same `pg` path
 * as in production.
 */
export async function preparePostgres(
  sim: SimAccount,
  secretId = 'db-autopilot/orders',
): Promise<DemoPostgres> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const pg = (await import('pg')).default;
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const [host = '127.0.0.1', portText = '0'] = server.getServerConn().split(':');
  const port = Number(portText);
  const client = new pg.Client({
    host,
    port,
    user: 'postgres',
    password: 'postgres',
    database: 'postgres',
    ssl: false,
  });
  await client.connect();
  let seeded: DemoPostgres['seeded'] = { bloated: [], stale: [], healthy: [] };
  try {
    const { seedDemoTables } = await import('../postgres/demo-seed.ts');
    seeded = await seedDemoTables(client, { rows: 5_000 });
  } finally {
    await client.end();
  }
  sim.secrets.put(secretId, {
    username: 'postgres',
    password: 'postgres',
    engine: 'postgres',
    host,
    port,
    dbname: 'postgres',
  });
  return {
    host,
    port,
    database: 'postgres',
    user: 'postgres',
    secretId,
    seeded,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

/** The demo override of the example config: every tuner in apply mode, maintenance on the embedded PostgreSQL. */
export function demoConfig(base: Config, pgInfo: DemoPostgres | undefined): Config {
  const config: Config = structuredClone(base);
  config.defaults.mode = 'apply';
  for (const section of Object.values(config.tuners)) {
    if (section && typeof section === 'object' && 'mode' in section)
      (section as { mode?: string }).mode = 'apply';
    else if (section && typeof section === 'object') Object.assign(section, { mode: 'apply' });
  }
  return withDemoDatabase(config, pgInfo);
}

/** The first maintenance database pointed at the embedded one (modes left as configured). */
export function withDemoDatabase(base: Config, pgInfo: DemoPostgres | undefined): Config {
  const config: Config = structuredClone(base);
  const m = config.tuners.maintenance;
  if (m && pgInfo) {
    m.concurrency = 1;
    if (pgInfo.indexes) m.indexes = { ...m.indexes, ...pgInfo.indexes };
    m.databases = m.databases.map((db, i) =>
      i === 0
        ? {
            ...db,
            host: pgInfo.host,
            port: pgInfo.port,
            database: pgInfo.database,
            user: pgInfo.user,
            ssl: 'disable',
            auth: { type: 'secret', secretId: pgInfo.secretId },
            replicas: [],
          }
        : db,
    );
  }
  return config;
}

function toDemoDecision(d: Decision): DemoDecision {
  return {
    at: d.at,
    tuner: d.tuner,
    resource: d.resource,
    resourceKind: d.resourceKind,
    action: d.action,
    outcome: d.outcome,
    reason: d.reason,
    evidence: d.evidence,
    monthlyCostDelta: d.monthlyCostDelta,
    from: d.from,
    to: d.to,
    guard: d.guard,
    trigger: d.trigger,
    deferredUntil: d.deferredUntil,
    severity: d.severity,
  };
}

const hhmm = (iso: string) => iso.slice(11, 16);

/** db-autopilot's own monthly bill from what the demo measured (shared/cost/model.ts). */
function ownCostOf(input: {
  meter: UsageMeter;
  sim: SimAccount;
  config: Config;
  hours: number;
  functions: DemoFunction[];
  region: string;
  savingsMonthlyUsd: number;
  stateEstimated: boolean;
  vpcEndpoints: number;
}): OwnCost {
  const { sim, config } = input;
  const fleet = simFleetCost(sim, config, alarmPrefix());
  const calls = sim.stats().calls;
  const count = (prefix: string) =>
    Object.entries(calls)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((s, [, v]) => s + v, 0);
  const subnets = config.tuners.maintenance ? 2 : 0;
  const usage = input.meter.usage({
    hours: input.hours,
    alarms: fleet.alarms,
    dashboards: fleet.dashboards,
    snsPublishes: count('sns:Publish'),
    secretsManagerCalls: count('secretsManager:'),
    vpcEndpoints: { interfaceEndpoints: input.vpcEndpoints, azs: subnets },
    managedResources: fleet.managedResources,
  });
  const bill = monthlyBill(usage, selfPrices(input.region));
  const perResource = Object.values(bill.perResource);
  return {
    ...bill,
    region: input.region,
    pricesSource: SELF_PRICES_SOURCE,
    pricesDate: SELF_PRICES_DATE,
    measuredHours: input.hours,
    managedResources: fleet.managedResources.length,
    maxPerResourceUsd: perResource.length ? Math.max(...perResource) : 0,
    savingsMonthlyUsd: input.savingsMonthlyUsd,
    percentOfSavings:
      input.savingsMonthlyUsd > 0
        ? Math.round((bill.monthlyUsd / input.savingsMonthlyUsd) * 10_000) / 100
        : null,
    usage: {
      invocations: Object.fromEntries(usage.functions.map((f) => [f.name, f.invocations])),
      awsCalls: Object.fromEntries(usage.functions.map((f) => [f.name, f.awsCalls])),
      metricsRequested: Object.values(usage.metricsRequested).reduce((s, v) => s + v, 0),
      metricsRequestedByFunction: input.meter.metricsByFunction(),
      cloudwatchRequests: usage.cloudwatchRequests,
      alarms: Object.values(usage.alarms).reduce((s, v) => s + v, 0),
      customMetricHours: usage.customMetricHours,
      stateTable: {
        readUnits: Math.round(usage.stateTable.readUnits),
        writeUnits: Math.round(usage.stateTable.writeUnits),
        estimated: input.stateEstimated,
      },
    },
  };
}

/** The bill in one paragraph, beside the savings (report.md, the demo's output, npm run cost). */
export function ownCostText(c: OwnCost): string {
  const usd = (v: number) => `$${v.toFixed(2)}`;
  const share =
    c.percentOfSavings === null
      ? 'no net saving reported to compare it with'
      : `${c.percentOfSavings.toFixed(2)}% of the ${usd(c.savingsMonthlyUsd)}/month it saves`;
  const services = Object.entries(c.byService)
    .filter(([, v]) => v >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${usd(v)}`)
    .join(', ');
  return `db-autopilot's own AWS bill: ${usd(c.monthlyUsd)}/month in ${c.region} for ${c.managedResources} managed resources (at most ${usd(c.maxPerResourceUsd)} per resource), ${share}. By service: ${services}. Measured over ${c.measuredHours} simulated hours at the configured schedules; prices: ${c.pricesSource} (${c.pricesDate}).`;
}

/** The state table's name in the demo (dynalite or the in-memory store). */
const DEMO_TABLE = 'db-autopilot-demo-state';

/**
 * One simulated day of db-autopilot, as a sequence of named steps: set up the local-only
 * environment and the simulated account -> capture what would leave the machine -> state table,
 * usage meter, PostgreSQL, state store, config -> load the deployed functions -> run the day
 * minute by minute -> build the report -> write and print it. Everything set up is undone on the
 * way out.
 */
export async function runDemo(options: DemoOptions = {}): Promise<{ report: DemoReport; outDir: string }> {
  const wallStart = performance.now();
  const root = resolve(options.root ?? process.cwd());
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const outDir = resolve(root, options.out ?? 'out/demo');
  const hours = options.hours ?? 24;

  const restoreEnv = setDemoEnvironment(DEMO_TABLE);
  const { scenario, sim, startMs } = await buildDemoAccount(options.scenario ?? 'securecart');
  const outgoing = captureOutgoingCalls(sim);
  const table = await connectStateTable(sim, options.state);
  const meter = await startUsageMeter(sim, table.state);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const pgInfo = await startDemoPostgres(options, sim, print);
    if (pgInfo) cleanups.push(() => pgInfo.stop());
    const { store, recorded } = await installStateStore(table.state, meter, cleanups);
    await scenario.seedState?.(store, new Date(startMs));
    await installMetricsLimiter(cleanups);
    const config = await installDemoConfig(root, options.configFile, pgInfo, cleanups);
    const deployed = await loadDeployedFunctions(root);
    printDemoHeader(print, { scenario, startMs, hours, dynalite: !!table.state, pgInfo, deployed });

    const endMs = startMs + hours * HOUR_MS;
    const invoke = demoInvoker(sim, meter, deployed.handlers, startMs);
    const alarms = await simulateDay({ sim, deployed, invoke, startMs, endMs, recorded, print });
    sim.advanceTo(endMs);

    const day = await buildDemoReport({
      store,
      sim,
      scenario,
      config,
      deployed,
      outgoing,
      alarms,
      startMs,
      endMs,
    });
    const { report } = day;
    report.ownCost = ownCostOf({
      meter,
      sim,
      config,
      hours,
      functions: deployed.functions,
      region: options.priceRegion ?? config.region,
      savingsMonthlyUsd: Math.max(0, -report.totals.appliedMonthlyCostDelta),
      stateEstimated: !table.state,
      vpcEndpoints: options.vpcEndpoints ?? 0,
    });
    report.wallMs = Math.round(performance.now() - wallStart);
    report.stateTable = {
      store: table.state ? 'dynalite' : 'memory',
      calls: table.calls.count,
      ms: Math.round(table.calls.ms),
    };
    const written = writeDemoFiles(outDir, day, outgoing.slackPayloads, sim, config);
    printDemoResult(print, outDir, report, written);
    return { report, outDir };
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    table.uninstall();
    await table.state?.stop();
    outgoing.restore();
    restoreEnv();
  }
}

/**
 * The quiet, local-only environment the handlers read (set before their modules load); returns
 * what puts the previous one back.
 */
function setDemoEnvironment(tableName: string): () => void {
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    STATE_TABLE: tableName,
    ALARM_PREFIX: 'dbap-',
    DASHBOARD_NAME: 'db-autopilot',
    PAUSE_PARAMETER: '/db-autopilot/paused',
    SLACK_WEBHOOK_PARAMETER: '/db-autopilot/slack-webhook-url',
    // Logs at the deployed level and EMF metrics on: both are captured per invocation (not printed
    // unless DEMO_LOG_LEVEL is set) and priced in db-autopilot's own bill (shared/cost/meter.ts).
    POWERTOOLS_LOG_LEVEL: process.env.DEMO_LOG_LEVEL ?? 'INFO',
    POWERTOOLS_METRICS_DISABLED: 'false',
    // Dev mode: Powertools writes through the global console (filtered below), not its own.
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_SERVICE_NAME: 'db-autopilot',
    POWERTOOLS_METRICS_NAMESPACE: 'DbAutopilot',
  };
  const previousEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    previousEnv[k] = process.env[k];
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(previousEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete process.env.REPORT_TOPIC_ARN;
  };
}

/** The scenario's simulated account, with the report topic and the Slack webhook parameter. */
async function buildDemoAccount(
  scenarioName: string,
): Promise<{ scenario: Scenario; sim: SimAccount; startMs: number }> {
  const { getScenario } = await import('../sim/scenarios/index.ts');
  const scenario = await getScenario(scenarioName);
  const sim = scenario.build({});
  const topicArn = sim.sns.createTopic('db-autopilot-demo-reports');
  process.env.REPORT_TOPIC_ARN = topicArn;
  sim.ssm.put(
    '/db-autopilot/slack-webhook-url',
    'https://hooks.slack.com/services/TDEMO/BDEMO/demo',
    'SecureString',
  );
  const startMs = sim.nowMs();
  // A day runs in seconds of real time: real-time API quotas (the simulator's token buckets, the
  // metrics module's GetMetricData pacing) would only add sleeps. The fleet benchmark keeps them.
  sim.setRateLimits(false);
  return { scenario, sim, startMs };
}

/** Slack posts as captured (never sent; nothing else may leave the machine). */
interface OutgoingCalls {
  notifications: DemoReport['notifications'];
  /** Every Slack webhook body as posted (Block Kit payloads), written to DIR/slack-payloads.json. */
  slackPayloads: Array<{ at: string; payload: unknown }>;
  restore(): void;
}

/**
 * Replaces fetch (Slack posts captured, any other call refused) and quiets one Powertools warning
 * for the run; `restore` puts both back.
 */
function captureOutgoingCalls(sim: SimAccount): OutgoingCalls {
  const notifications: DemoReport['notifications'] = [];
  const slackPayloads: Array<{ at: string; payload: unknown }> = [];
  const realFetch = globalThis.fetch;
  // Powertools Metrics warns on every invocation that publishes nothing (metrics are disabled here).
  const realWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('No application metrics to publish')) return;
    realWarn(...args);
  };
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith('https://hooks.slack.com/')) {
      const body = typeof init?.body === 'string' ? init.body : '';
      let text = body;
      try {
        text = String((JSON.parse(body) as { text?: unknown }).text ?? body);
      } catch {
        // keep the raw body
      }
      notifications.push({ channel: 'slack', at: sim.clock.now().toISOString(), text });
      try {
        slackPayloads.push({ at: sim.clock.now().toISOString(), payload: JSON.parse(body) as unknown });
      } catch {
        slackPayloads.push({ at: sim.clock.now().toISOString(), payload: body });
      }
      return new Response('ok', { status: 200 });
    }
    throw new Error(`the demo makes no network calls (${url})`);
  }) as typeof fetch;
  return {
    notifications,
    slackPayloads,
    restore: () => {
      globalThis.fetch = realFetch;
      console.warn = realWarn;
    },
  };
}

interface DemoStateTable {
  /** dynalite on loopback (--state dynalite), else undefined (the in-memory store). */
  state: Awaited<ReturnType<typeof startStateTable>> | undefined;
  /** Calls to dynalite and the real time they took. */
  calls: { count: number; ms: number };
  /** Takes the simulator out from beneath the SDK clients. */
  uninstall(): void;
}

/**
 * The state table: the in-memory store (default, fast) or dynalite on loopback (--state dynalite:
 * the DynamoDB code path Lambda uses, minutes for a whole day); then the simulator installed
 * beneath the SDK clients.
 */
async function connectStateTable(sim: SimAccount, store: DemoOptions['state']): Promise<DemoStateTable> {
  const useDynalite = (store ?? 'memory') === 'dynalite';
  const state = useDynalite ? await startStateTable(DEMO_TABLE) : undefined;
  const calls = { count: 0, ms: 0 };
  state?.client.middlewareStack.add(
    (next) => async (args) => {
      const began = performance.now();
      try {
        return await next(args);
      } finally {
        calls.count += 1;
        calls.ms += performance.now() - began;
      }
    },
    { step: 'initialize', name: 'demoStateTableTiming' },
  );
  // Without dynalite, the state table client is a simulated one that answers "not simulated":
  // nothing can reach a real table by mistake.
  const uninstall = sim.install({
    stateTable:
      state?.client ??
      sim.attach(
        new DynamoDBClient({
          region: 'us-east-1',
          credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
        }),
        'dynamodb',
      ),
  });
  return { state, calls, uninstall };
}

/** db-autopilot's own usage, measured as the functions run (shared/cost/meter.ts). */
async function startUsageMeter(sim: SimAccount, state: DemoStateTable['state']): Promise<UsageMeter> {
  const meter = new UsageMeter();
  meter.attachCloudWatch((await import('../aws/clients.ts')).cloudwatchClient());
  if (state) meter.attachStateTable(state.client, () => sim.clock.now());
  return meter;
}

/** The embedded (or `--postgres local`) PostgreSQL, unless `--no-postgres`; a failure is printed. */
async function startDemoPostgres(
  options: DemoOptions,
  sim: SimAccount,
  print: (line: string) => void,
): Promise<DemoPostgres | undefined> {
  if (options.postgres === false) return undefined;
  try {
    return options.postgresServer === 'local' ? await prepareLocalPostgres(sim) : await preparePostgres(sim);
  } catch (error) {
    print(`! embedded PostgreSQL not started: ${(error as Error).message}`);
    return undefined;
  }
}

/** Decisions and applied changes counted as they are recorded, for the progress lines. */
interface RecordedCounts {
  decisions: number;
  changes: number;
}

/** The state store the handlers use (DynamoDB on dynalite, or in memory and metered), counting. */
async function installStateStore(
  state: DemoStateTable['state'],
  meter: UsageMeter,
  cleanups: Array<() => Promise<void>>,
): Promise<{ store: StateStore; recorded: RecordedCounts }> {
  const stateModule = await import('../state/index.ts');
  const store: StateStore = state
    ? new stateModule.DynamoDbStateStore({ client: state.client, tableName: DEMO_TABLE })
    : meterStore(new stateModule.MemoryStateStore(), meter, stateModule.decisionRetention());
  // Counts decisions as they are recorded, for the progress lines (no re-reading of the log).
  const recorded: RecordedCounts = { decisions: 0, changes: 0 };
  const recordDecision = store.recordDecision.bind(store);
  store.recordDecision = async (decision) => {
    await recordDecision(decision);
    recorded.decisions += 1;
    if (countsAsChange(decision)) recorded.changes += 1;
  };
  const restoreStore = stateModule.setStateStore(store);
  cleanups.push(async () => restoreStore());
  return { store, recorded };
}

/** No GetMetricData pacing during the demo (a day runs in seconds). */
async function installMetricsLimiter(cleanups: Array<() => Promise<void>>): Promise<void> {
  const { setSharedLimiter } = await import('../metrics/fetch.ts');
  const { RateLimiter } = await import('../metrics/limits.ts');
  const restoreLimiter = setSharedLimiter(new RateLimiter(1_000_000, 1_000_000));
  cleanups.push(async () => restoreLimiter());
}

/** The configuration (db-autopilot.yml or --config) with the demo's override, set for the handlers. */
async function installDemoConfig(
  root: string,
  file: string | undefined,
  pgInfo: DemoPostgres | undefined,
  cleanups: Array<() => Promise<void>>,
): Promise<Config> {
  const { loadConfigFile, setConfig, parseConfig } = await import('../config/load.ts');
  const configFile = file ? resolve(root, file) : join(root, 'db-autopilot.yml');
  const base = existsSync(configFile) ? loadConfigFile(configFile) : parseConfig('version: 1\n', 'default');
  const config = demoConfig(base, pgInfo);
  setConfig(config);
  cleanups.push(async () => setConfig(undefined));
  return config;
}

type DemoHandler = (event: unknown, context: Context) => Promise<unknown>;

/** The functions as deployed, their loaded handlers and schedules, and which tuners are registered. */
interface DeployedFunctions {
  functions: DemoFunction[];
  handlers: Map<string, DemoHandler>;
  schedules: Array<{ fn: DemoFunction; schedule: Schedule | undefined }>;
  registered: Awaited<typeof import('../tuners/registry.ts')>['tuners'];
}

/** Functions as deployed (serverless.yml), each handler loaded, and which tuners exist. */
async function loadDeployedFunctions(root: string): Promise<DeployedFunctions> {
  const present = new Set(existsSync(join(root, 'functions')) ? readdirSync(join(root, 'functions')) : []);
  const { tuners: registered } = await import('../tuners/registry.ts');
  const functions: DemoFunction[] = deployedFunctions(root).map((f) => {
    const built = present.has(f.file.split('/').pop() ?? '');
    return {
      ...f,
      status: !built
        ? 'skipped: not built yet'
        : f.schedules.length === 0 && !f.onAlarms
          ? 'not scheduled'
          : 'ran',
      invocations: 0,
      wallMs: 0,
      errors: [],
    };
  });
  const handlers = new Map<string, DemoHandler>();
  for (const f of functions) {
    if (f.status !== 'ran') continue;
    try {
      const mod = (await import(pathToFileURL(f.file).href)) as { handler?: DemoHandler };
      if (typeof mod.handler === 'function') handlers.set(f.name, mod.handler);
      else f.errors.push('no exported handler');
    } catch (error) {
      f.errors.push(`cannot load: ${(error as Error).message}`);
    }
  }
  const schedules = functions.flatMap((f) =>
    f.schedules.map((s) => ({ fn: f, schedule: parseSchedule(s) })).filter((x) => x.schedule !== undefined),
  );
  return { functions, handlers, schedules, registered };
}

function printDemoHeader(
  print: (line: string) => void,
  run: {
    scenario: Scenario;
    startMs: number;
    hours: number;
    dynalite: boolean;
    pgInfo: DemoPostgres | undefined;
    deployed: DeployedFunctions;
  },
): void {
  const { scenario, startMs, hours, pgInfo } = run;
  print(`db-autopilot demo: scenario "${scenario.name}" (${scenario.description})`);
  print(
    `simulated day ${new Date(startMs).toISOString().slice(0, 10)}, ${hours} h on the virtual clock; state store: ${run.dynalite ? `dynalite on loopback` : `in memory (--state dynalite for the DynamoDB store)`}; ${pgInfo ? `embedded PostgreSQL on ${pgInfo.host}:${pgInfo.port}` : 'no PostgreSQL'}`,
  );
  for (const f of run.deployed.functions) {
    print(
      `  ${f.name.padEnd(18)} ${f.status === 'ran' ? f.schedules.join(', ') || (f.onAlarms ? 'on alarm state changes' : '') : f.status}`,
    );
  }
}

type DemoInvoke = (f: DemoFunction, event: unknown) => Promise<void>;

/**
 * Invokes a function's handler as Lambda would (a fake context), recording its errors, real time,
 * and usage (AWS calls, log bytes) in the meter.
 */
function demoInvoker(
  sim: SimAccount,
  meter: UsageMeter,
  handlers: Map<string, DemoHandler>,
  startMs: number,
): DemoInvoke {
  let requestSeq = 0;
  return async (f, event) => {
    const handler = handlers.get(f.name);
    if (!handler) return;
    requestSeq += 1;
    f.invocations += 1;
    const began = performance.now();
    const callsBefore = sim.stats().total;
    let logBytes = 0;
    meter.running = f.name;
    try {
      const captured = await withCapturedLogs(
        meter,
        Math.floor((sim.nowMs() - startMs) / HOUR_MS),
        process.env.DEMO_LOG_LEVEL !== undefined,
        () => handler(event, fakeContext(f.name, `demo-${requestSeq}`, 300_000)),
      );
      logBytes = captured.logBytes;
      const result = captured.result as { ok?: boolean; error?: string } | undefined;
      if (result && result.ok === false)
        f.errors.push(`${hhmm(sim.clock.now().toISOString())} ${result.error ?? 'failed'}`);
    } catch (error) {
      f.errors.push(`${hhmm(sim.clock.now().toISOString())} ${(error as Error).message}`);
    } finally {
      const ms = performance.now() - began;
      f.wallMs += ms;
      meter.invocation(f.name, f.memoryMb, ms, sim.stats().total - callsBefore, logBytes);
    }
  };
}

/**
 * The day, minute by minute: alarm state changes first (the fast path, to the alarm functions),
 * then the schedules due that minute; a progress line each simulated hour. Returns the alarm log.
 */
async function simulateDay(day: {
  sim: SimAccount;
  deployed: DeployedFunctions;
  invoke: DemoInvoke;
  startMs: number;
  endMs: number;
  recorded: RecordedCounts;
  print: (line: string) => void;
}): Promise<DemoReport['alarms']> {
  const { sim, invoke, startMs, recorded } = day;
  const alarmFns = day.deployed.functions.filter((f) => f.onAlarms);
  const alarmLog: DemoReport['alarms'] = [];
  let lastHourDecisions = 0;
  for (let t = startMs; t < day.endMs; t += MINUTE_MS) {
    if (t > sim.nowMs()) sim.advanceTo(t);
    const events: AlarmStateChangeEvent[] = sim.cloudwatch.takeAlarmEvents();
    for (const e of events) {
      alarmLog.push({ at: e.time, alarm: e.detail.alarmName, state: e.detail.state.value });
      if (e.detail.state.value === 'ALARM' && e.detail.alarmName.startsWith(alarmPrefix())) {
        for (const f of alarmFns) await invoke(f, e);
      }
    }
    for (const { fn, schedule } of day.deployed.schedules) {
      if (schedule && dueAt(schedule, t)) await invoke(fn, scheduledEvent(sim, fn, t));
    }
    if ((t + MINUTE_MS - startMs) % HOUR_MS === 0) {
      day.print(
        `[${hhmm(new Date(t + MINUTE_MS).toISOString())}] ${recorded.decisions - lastHourDecisions} new decisions (${recorded.decisions} total, ${recorded.changes} applied changes), ${sim.stats().total} API calls`,
      );
      lastHourDecisions = recorded.decisions;
    }
  }
  return alarmLog;
}

/** The EventBridge "Scheduled Event" a function's schedule delivers at `t`. */
function scheduledEvent(sim: SimAccount, fn: DemoFunction, t: number) {
  return {
    version: '0',
    id: `demo-${fn.name}-${new Date(t).toISOString()}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: sim.accountId,
    time: new Date(t).toISOString(),
    region: sim.region,
    resources: [`arn:aws:events:${sim.region}:${sim.accountId}:rule/demo-dbap-${fn.name}`],
    detail: {},
  };
}

/** The report with what it was built from (written beside it). */
interface DemoDay {
  report: DemoReport;
  recordedDecisions: Decision[];
  digest: Awaited<ReturnType<typeof digestOf>>;
  since: string;
  until: string;
}

/**
 * The day's report: the audit log read back, the notifications in order, every tuner's status, the
 * daily digest built as the digest function builds it (its minutes measured from the simulated
 * CloudWatch) and the one accounting of money for the day. `ownCost`, `wallMs` and `stateTable`
 * are the caller's.
 */
async function buildDemoReport(input: {
  store: StateStore;
  sim: SimAccount;
  scenario: Scenario;
  config: Config;
  deployed: DeployedFunctions;
  outgoing: OutgoingCalls;
  alarms: DemoReport['alarms'];
  startMs: number;
  endMs: number;
}): Promise<DemoDay> {
  const { sim, startMs, endMs, outgoing } = input;
  const recordedDecisions = (
    await input.store.exportDecisions({ since: new Date(startMs - HOUR_MS).toISOString() })
  ).sort((a, b) => a.at.localeCompare(b.at));
  const decisions = recordedDecisions.map(toDemoDecision);
  const notifications = outgoing.notifications;
  for (const m of sim.sns.messages)
    notifications.push({ channel: 'sns', at: m.at.toISOString(), subject: m.Subject, text: m.Message });
  notifications.sort((a, b) => a.at.localeCompare(b.at));
  // The API calls of the day, before the digest reads the simulated CloudWatch.
  const stats = sim.stats();
  const since = new Date(startMs).toISOString();
  const until = new Date(endMs).toISOString();
  const digest = await digestOf({
    decisions: recordedDecisions,
    since,
    until,
    paused: false,
    dashboardUrl: dashboardConsoleUrl('db-autopilot', input.config.region),
    now: new Date(endMs),
  });
  const money = moneyTotals(recordedDecisions.filter((d) => d.at >= since && d.at < until));
  const count = (o: string) => decisions.filter((d) => d.outcome === o).length;
  const report: DemoReport = {
    scenario: input.scenario.name,
    start: since,
    end: until,
    functions: input.deployed.functions,
    tuners: tunerStatuses(decisions, input.deployed),
    decisions,
    alarms: input.alarms,
    notifications,
    apiCalls: stats.calls,
    apiThrottled: stats.throttled,
    apiErrors: stats.errors,
    totals: {
      decisions: decisions.length,
      applied: count('applied'),
      deferred: count('deferred'),
      skipped: count('skipped'),
      failed: count('failed'),
      planned: count('planned'),
      appliedChanges: money.appliedChanges,
      appliedMonthlyCostDelta: money.appliedMonthlyCostDelta,
      potentialMonthlyCostDelta: money.potentialMonthlyCostDelta,
      reversedMonthlyCostDelta: money.reversedMonthlyCostDelta,
      recommendations: money.recommendations,
    },
    resourceDays: digest.resourceDays,
    posts: {
      slack: outgoing.slackPayloads.length,
      sns: sim.sns.messages.length,
      digest: notifications.filter((n) => n.text.includes('daily digest')).length,
    },
    wallMs: 0,
  };
  return { report, recordedDecisions, digest, since, until };
}

/** Every tuner but `control` (the operator's function, not a tuner): ran or not built yet. */
function tunerStatuses(decisions: DemoDecision[], deployed: DeployedFunctions): DemoReport['tuners'] {
  return TUNER_NAMES.filter((t) => t !== 'control').map((tuner) => {
    const fnName = TUNER_FUNCTIONS.find((x) => x.tuner === tuner)?.fn;
    const exists =
      deployed.registered[tuner] !== undefined ||
      (fnName !== undefined && deployed.handlers.has(fnName)) ||
      decisions.some((d) => d.tuner === tuner);
    // Pre-warming runs inside the DynamoDB tuner: its decisions are dynamodb `prewarm` actions.
    const own = decisions.filter((d) => d.tuner === tuner || (tuner === 'prewarm' && d.action === 'prewarm'));
    return {
      tuner,
      status: exists || own.length > 0 ? ('ran' as const) : ('skipped: not built yet' as const),
      decisions: own.length,
    };
  });
}

/**
 * DIR/report.json and report.md, the audit log as recorded (`npm run history -- --from DIR` reads
 * it), and the reports as posted: every Slack webhook body and SNS message of the day, and the
 * daily digest rendered the way the digest function renders it. Returns the markdown and digest.
 */
function writeDemoFiles(
  outDir: string,
  day: DemoDay,
  slackPayloads: OutgoingCalls['slackPayloads'],
  sim: SimAccount,
  config: Config,
): { md: string; digestText: string } {
  const { report, digest } = day;
  const md = renderMarkdown(report);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.md'), md);
  writeFileSync(
    join(outDir, RECORDED_STATE_FILE),
    `${JSON.stringify(recordedState({ table: DEMO_TABLE, since: day.since, until: day.until, decisions: day.recordedDecisions }))}\n`,
  );
  const digestText = renderDigestText(digest);
  writeFileSync(join(outDir, 'slack-payloads.json'), `${JSON.stringify(slackPayloads, null, 2)}\n`);
  writeFileSync(join(outDir, 'sns-messages.json'), `${JSON.stringify(sim.sns.messages, null, 2)}\n`);
  writeFileSync(join(outDir, 'digest.txt'), `${digestText}\n`);
  writeFileSync(
    join(outDir, 'digest-slack.json'),
    `${JSON.stringify(digestPayload(digest, config.region), null, 2)}\n`,
  );
  writeFileSync(
    join(outDir, 'digest-sns.json'),
    `${JSON.stringify(digestMessage(process.env.REPORT_TOPIC_ARN ?? 'arn:aws:sns:us-east-1:123456789012:db-autopilot-demo-reports', digest), null, 2)}\n`,
  );
  return { md, digestText };
}

function printDemoResult(
  print: (line: string) => void,
  outDir: string,
  report: DemoReport,
  written: { md: string; digestText: string },
): void {
  print('');
  print(written.md);
  print('');
  print(
    'Daily digest, as the digest function posts it (also in digest.txt, digest-slack.json, digest-sns.json):',
  );
  print('');
  print(written.digestText);
  print(
    `wrote ${join(outDir, 'report.md')} and ${join(outDir, 'report.json')} in ${(report.wallMs / 1000).toFixed(1)} s`,
  );
}

/** The day in numbers: decisions, the one accounting of money, posts, and the per-resource table. */
function summaryLines(r: DemoReport): string[] {
  const lines: string[] = [];
  const t = r.totals;
  lines.push(
    `Simulated ${r.start} to ${r.end} (virtual clock). ${t.decisions} decisions: ${t.applied} applied (${t.appliedChanges} changes, ${t.applied - t.appliedChanges} recommendations and findings), ${t.deferred} deferred, ${t.skipped} skipped, ${t.failed} failed, ${t.planned} planned.`,
    '',
    totalsText({
      appliedMonthlyCostDelta: t.appliedMonthlyCostDelta,
      potentialMonthlyCostDelta: t.potentialMonthlyCostDelta,
      reversedMonthlyCostDelta: t.reversedMonthlyCostDelta,
      appliedChanges: t.appliedChanges,
      recommendations: t.recommendations,
    }),
    '',
    `Posted: ${r.posts.slack} Slack messages and ${r.posts.sns} SNS messages (daily digest included).`,
    '',
    ...(r.ownCost ? [ownCostText(r.ownCost), ''] : []),
  );
  lines.push(
    '## Per resource and day',
    '',
    'Throttled / saturated minutes are counted from the CloudWatch metrics AWS publishes (DynamoDB throttle events; RDS DiskQueueDepth and CPUUtilization).',
    '',
    ...resourceDayMarkdown(r.resourceDays),
    '',
  );
  return lines;
}

export function renderMarkdown(r: DemoReport): string {
  const lines: string[] = [];
  lines.push(`# db-autopilot demo: ${r.scenario}`, '');
  lines.push(...summaryLines(r));
  lines.push('## Tuners', '', '| tuner | status | decisions |', '|---|---|---|');
  for (const t of r.tuners) lines.push(`| ${t.tuner} | ${t.status} | ${t.decisions} |`);
  lines.push(
    '',
    '## Functions',
    '',
    '| function | schedule | status | invocations | errors |',
    '|---|---|---|---|---|',
  );
  for (const f of r.functions) {
    lines.push(
      `| ${f.name} | ${f.schedules.join(', ') || (f.onAlarms ? 'alarm events' : '-')} | ${f.status} | ${f.invocations} | ${f.errors.length} |`,
    );
  }
  const errors = r.functions.flatMap((f) => f.errors.slice(0, 3).map((e) => `- ${f.name}: ${e}`));
  if (errors.length > 0) lines.push('', 'First errors per function:', '', ...errors);
  lines.push('', '## Timeline', '');
  // A decision repeated run after run (a deferral, a standing recommendation) is shown once with
  // its count; every one of them is in report.json.
  const interesting = r.decisions.filter(
    (d) => !(d.action === 'noop' && (d.outcome === 'planned' || d.outcome === 'applied')),
  );
  const quiet = r.decisions.length - interesting.length;
  const shown: Array<{ d: DemoDecision; repeats: number; last: string }> = [];
  const latest = new Map<string, { d: DemoDecision; repeats: number; last: string }>();
  for (const d of interesting) {
    const key = `${d.tuner}|${d.resource}|${d.action}|${d.outcome}|${d.guard ?? ''}`;
    const prev = latest.get(key);
    if (prev && Date.parse(d.at) - Date.parse(prev.last) <= 2 * HOUR_MS) {
      prev.repeats += 1;
      prev.last = d.at;
      continue;
    }
    const entry = { d, repeats: 0, last: d.at };
    latest.set(key, entry);
    shown.push(entry);
  }
  for (const { d, repeats, last } of shown) {
    const cost = d.monthlyCostDelta !== 0 ? ` (${costText(d.monthlyCostDelta, d)})` : '';
    const until = d.deferredUntil ? ` until ${hhmm(d.deferredUntil)}` : '';
    const ev = d.evidence[0];
    const evidence = ev
      ? ` [${ev.metric} ${ev.statistic} ${ev.value === null ? 'unknown' : Number(ev.value.toFixed(2))}${ev.unit ? ` ${ev.unit}` : ''}]`
      : '';
    const again = repeats > 0 ? ` (again ${repeats}x until ${hhmm(last)})` : '';
    lines.push(
      `- ${hhmm(d.at)} **${d.tuner}** ${d.resource}: ${describeChange(d)}: ${d.outcome}${until}${cost}${again} - ${reasonText(d)}${evidence}`,
    );
  }
  if (interesting.length === 0) lines.push('- (no actions)');
  if (quiet > 0) lines.push(`- … and ${quiet} no-op decisions (nothing to do), recorded in report.json`);
  if (r.alarms.length > 0) {
    lines.push('', '## Alarms', '');
    for (const a of r.alarms) lines.push(`- ${hhmm(a.at)} ${a.alarm} -> ${a.state}`);
  }
  lines.push('', '## Reports as posted', '');
  if (r.notifications.length === 0) lines.push('(no report function yet: nothing was posted)');
  else
    lines.push(`${r.notifications.length} posts during the day; the first and the last of each channel:`, '');
  for (const channel of ['slack', 'sns'] as const) {
    const posts = r.notifications.filter((n) => n.channel === channel);
    const picked = posts.length > 1 ? [posts[0], posts[posts.length - 1]] : posts;
    for (const n of picked) {
      if (!n) continue;
      lines.push(
        `### ${n.channel} ${hhmm(n.at)}${n.subject ? `: ${n.subject}` : ''}`,
        '',
        '```',
        readable(n.text).slice(0, 3000),
        '```',
        '',
      );
    }
  }
  const calls = Object.entries(r.apiCalls).sort((a, b) => b[1] - a[1]);
  lines.push(
    '',
    '## AWS API calls (simulated)',
    '',
    calls.map(([k, v]) => `${k}: ${v}`).join(', ') || '(none)',
    '',
  );
  return `${lines.join('\n')}\n`;
}

/** An SNS message with MessageStructure json shows its email text; Slack text is unescaped. */
function readable(text: string): string {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const pick = parsed.email ?? parsed.default;
    if (typeof pick === 'string') return pick;
  } catch {
    // plain text
  }
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export const DEMO_CLI = {
  name: 'demo',
  usage: `usage: npm run demo -- [--scenario securecart] [--out out/demo] [--hours 24] [--state memory|dynalite] [--postgres pglite|local] [--no-postgres]
  --scenario NAME   the simulated shop (default securecart)
  --out DIR         where the report, the payloads and the recorded state go (default out/demo)
  --hours N         simulated hours, 1 to 72 (default 24)
  --state S         memory (default) or dynalite: the DynamoDB state-table code against dynalite on loopback
  --postgres P      pglite (default, embedded) or local: the local PostgreSQL server binaries (HypoPG, pgstattuple)
  --no-postgres     no database for the maintenance and insights functions
  --help            this text`,
  options: {
    scenario: { type: 'string' },
    out: { type: 'string' },
    hours: { type: 'string' },
    state: { type: 'string' },
    postgres: { type: 'string' },
    'no-postgres': { type: 'boolean' },
  },
} satisfies CliSpec;

/** The demo's options from its flags, or a CliUsageError naming the bad one. */
export function demoOptions(values: CliValues): DemoOptions {
  const o: DemoOptions = {};
  if (typeof values.scenario === 'string') o.scenario = values.scenario;
  if (typeof values.out === 'string') o.out = values.out;
  if (values.hours !== undefined) o.hours = intFlag(values, 'hours', 24, { min: 1, max: 72 });
  if (values['no-postgres'] === true) o.postgres = false;
  const pgServer = values.postgres;
  if (pgServer !== undefined) {
    if (pgServer !== 'local' && pgServer !== 'pglite')
      throw new CliUsageError('--postgres must be local or pglite');
    o.postgresServer = pgServer;
  }
  const state = choiceFlag(values, 'state', ['dynalite', 'memory'] as const);
  if (state !== undefined) o.state = state;
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let options: DemoOptions = {};
  try {
    options = demoOptions(cliArgsOrExit(DEMO_CLI, process.argv.slice(2)).values);
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n${DEMO_CLI.usage}\n`);
    process.exit(2);
  }
  runDemo(options)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      // Bad input (an unknown scenario) is told plainly; anything else keeps its stack.
      if (error instanceof ValidationError) {
        process.stderr.write(`demo: ${error.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
