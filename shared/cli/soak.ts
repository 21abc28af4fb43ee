/**
 * `npm run soak -- --hours N --rate R --seed S [--json]`: db-autopilot's real Lambda handlers on the
 * simulated account (the securecart scenario) for N virtual hours with faults injected at rate R
 * (shared/sim/faults.ts: the SDK's real exception classes, responses lost after the change,
 * state-table failures, redelivered and late events, killed runs, pause windows), then checks:
 *
 *   bounds            every IOPS and capacity AWS was asked for is inside the configured bounds,
 *                     and no source ever has more created replicas than maxReaders
 *   nonOwnedDeleted   nothing db-autopilot did not create was deleted
 *   doubleActed       no event (idempotency key) changed AWS in more than one invocation
 *   unrecordedChanges every change AWS made has an applied decision (counted per resource)
 *   orphans           every instance with the created-by tag has its creation record
 *   crashes           no unhandled rejection or uncaught exception
 *   pauseBreaches     nothing changed while the pause flag said paused
 *
 * Prints `{"hours","runs","faults","violations":{...}}` with --json (one count per check).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { Config } from '../config/schema.ts';
import type { StateStore } from '../core/contracts.ts';
import type { Decision } from '../core/model.ts';
import type { FaultInjector, MutationRecord } from '../sim/faults.ts';
import { type CliSpec, parseCli } from './args.ts';

// Everything else is imported inside runSoak, after the quiet environment is set: Powertools'
// logger and metrics read it when their module loads.
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export interface SoakOptions {
  hours: number;
  rate: number;
  seed: number;
  scenario?: string;
  root?: string;
}

export interface SoakViolations {
  bounds: number;
  nonOwnedDeleted: number;
  doubleActed: number;
  unrecordedChanges: number;
  orphans: number;
  crashes: number;
  pauseBreaches: number;
}

export interface SoakResult {
  hours: number;
  runs: number;
  faults: number;
  violations: SoakViolations;
  /** Faults by kind, failed invocations, unsettled intents, examples of each violation. */
  detail: {
    faultsByKind: Record<string, number>;
    failedInvocations: number;
    killedRuns: number;
    redeliveries: number;
    lateEvents: number;
    pausedHours: number;
    awsChanges: number;
    appliedDecisions: number;
    unsettledIntents: number;
    unsettled: string[];
    examples: Record<string, string[]>;
    wallMs: number;
  };
}

/** The functions the soak runs (the PostgreSQL ones need a database and change no AWS resource). */
const SOAK_FUNCTIONS: Record<string, string> = {
  'iops-tuner': 'rate(5 minutes)',
  'replica-scaler': 'rate(5 minutes)',
  'dynamodb-tuner': 'rate(2 minutes)',
  'alarm-reconciler': 'rate(15 minutes)',
  report: 'rate(5 minutes)',
};

type Handler = (event: unknown, context: Context) => Promise<unknown>;

function context(functionName: string, requestId: string): Context {
  const fail = () => {
    throw new Error('the soak does not support callback-style handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:db-autopilot-soak-${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/db-autopilot-soak-${functionName}`,
    logStreamName: 'soak',
    getRemainingTimeInMillis: () => 300_000,
    done: fail,
    fail,
    succeed: fail,
  };
}

const QUIET_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  STATE_TABLE: 'db-autopilot-soak-state',
  ALARM_PREFIX: 'dbap-',
  DASHBOARD_NAME: 'db-autopilot',
  PAUSE_PARAMETER: '/db-autopilot/paused',
  SLACK_WEBHOOK_PARAMETER: '/db-autopilot/slack-webhook-url',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_DEV: 'true',
  POWERTOOLS_SERVICE_NAME: 'db-autopilot',
  POWERTOOLS_METRICS_NAMESPACE: 'DbAutopilot',
};

/** Process-wide pieces the soak replaces, restored afterwards. */
function quietProcess(): () => void {
  const previousEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(QUIET_ENV)) {
    previousEnv[k] = process.env[k];
    process.env[k] = v;
  }
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith('https://hooks.slack.com/')) return new Response('ok', { status: 200 });
    throw new Error(`the soak makes no network calls (${url})`);
  }) as typeof fetch;
  const realWarn = console.warn;
  const realLog = console.log;
  const realError = console.error;
  console.warn = () => {};
  console.log = () => {};
  console.error = () => {};
  return () => {
    globalThis.fetch = realFetch;
    console.warn = realWarn;
    console.log = realLog;
    console.error = realError;
    for (const [k, v] of Object.entries(previousEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

interface World {
  options: SoakOptions;
  ownedAtStart: Set<string>;
  faults: FaultInjector;
  store: StateStore;
  config: Config;
  sim: Awaited<ReturnType<typeof buildWorld>>['sim'];
  pauses: Array<[number, number]>;
  crashes: string[];
  runs: number;
  failedInvocations: number;
  redeliveries: number;
  lateEvents: number;
}

async function buildWorld(options: SoakOptions) {
  const { getScenario } = await import('../sim/scenarios/index.ts');
  const scenario = await getScenario(options.scenario ?? 'securecart');
  const sim = scenario.build({});
  sim.setRateLimits(false);
  process.env.REPORT_TOPIC_ARN = sim.sns.createTopic('db-autopilot-soak-reports');
  sim.ssm.put(
    '/db-autopilot/slack-webhook-url',
    'https://hooks.slack.com/services/TSOAK/BSOAK/soak',
    'SecureString',
  );
  sim.ssm.put('/db-autopilot/paused', 'false');
  return { sim, scenario };
}

/** Runs the soak and returns the counts (see the file comment). */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const wallStart = performance.now();
  const root = resolve(options.root ?? process.cwd());
  const restoreProcess = quietProcess();
  const crashes: string[] = [];
  const onCrash = (reason: unknown) => crashes.push(String((reason as Error)?.stack ?? reason).slice(0, 300));
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
  const cleanups: Array<() => void> = [];
  try {
    const [{ DynamoDBClient }, { OPERATION_RATES, setOperationLimiter }, { RateLimiter }, { FaultInjector }] =
      await Promise.all([
        import('@aws-sdk/client-dynamodb'),
        import('../aws/clients.ts'),
        import('../metrics/limits.ts'),
        import('../sim/faults.ts'),
      ]);
    const { demoConfig } = await import('./demo.ts');
    const { sim, scenario } = await buildWorld(options);
    // Hours run in seconds of real time: real-time API pacing would only add sleeps.
    for (const key of Object.keys(OPERATION_RATES))
      cleanups.push(setOperationLimiter(key, new RateLimiter(1e9, 1e9)));
    const faults = new FaultInjector(options.rate, options.seed, () => sim.nowMs());
    const clients = sim.clients();
    for (const [name, client] of Object.entries(clients)) faults.attach(client, name);
    const stateClient = sim.attach(
      new DynamoDBClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'soak', secretAccessKey: 'soak' },
      }),
      'dynamodb',
    );
    cleanups.push(sim.install({ stateTable: stateClient }));

    const stateModule = await import('../state/index.ts');
    const store = new stateModule.MemoryStateStore();
    await scenario.seedState?.(store, new Date(sim.nowMs()));
    cleanups.push(stateModule.setStateStore(faults.wrapStore(store)));

    const { loadConfigFile, setConfig, parseConfig } = await import('../config/load.ts');
    const file = join(root, 'db-autopilot.yml');
    const base = existsSync(file) ? loadConfigFile(file) : parseConfig('version: 1\n', 'default');
    const config = demoConfig(base, undefined);
    delete config.tuners.maintenance;
    delete config.tuners.insights;
    setConfig(config);
    cleanups.push(() => setConfig(undefined));

    // Replicas db-autopilot created before the soak (the scenario's seeded records) are its own too.
    const ownedAtStart = new Set<string>();
    for (const inst of sim.rds.instances.values()) {
      if (await store.wasCreatedByUs('replicas', inst.id)) ownedAtStart.add(inst.id);
    }
    const world: World = {
      options,
      ownedAtStart,
      faults,
      store,
      config,
      sim,
      pauses: [],
      crashes,
      runs: 0,
      failedInvocations: 0,
      redeliveries: 0,
      lateEvents: 0,
    };
    const handlers = await loadHandlers(root);
    const { parseSchedule } = await import('./demo.ts');
    await drive(world, handlers, parseSchedule);
    // The world calms down: faults stop and every tuner runs a few more times, so intents a faulty
    // run left pending are settled from AWS's state as in a real account ("on the next run").
    faults.enabled = false;
    await settle(world, handlers);
    // Let anything a run left running settle (a rejection found here is still a crash).
    await new Promise((r) => setTimeout(r, 20));
    const { countsAsChange } = await import('../core/guards.ts');
    return await check(world, performance.now() - wallStart, countsAsChange);
  } finally {
    for (const c of cleanups.reverse()) c();
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    restoreProcess();
  }
}

async function loadHandlers(root: string): Promise<Map<string, Handler>> {
  const handlers = new Map<string, Handler>();
  for (const name of [...Object.keys(SOAK_FUNCTIONS), 'alarm-handler']) {
    const mod = (await import(pathToFileURL(join(root, 'functions', `${name}.ts`)).href)) as {
      handler?: Handler;
    };
    if (typeof mod.handler === 'function') handlers.set(name, mod.handler);
  }
  return handlers;
}

function scheduledEvent(fn: string, t: number, region: string, account: string) {
  return {
    version: '0',
    id: `soak-${fn}-${new Date(t).toISOString()}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account,
    time: new Date(t).toISOString(),
    region,
    resources: [`arn:aws:events:${region}:${account}:rule/soak-dbap-${fn}`],
    detail: {},
  };
}

/** Three more schedule ticks of every tuner, 5 minutes apart, without faults. */
async function settle(w: World, handlers: Map<string, Handler>): Promise<void> {
  const { sim } = w;
  sim.ssm.put('/db-autopilot/paused', 'false');
  for (let tick = 1; tick <= 3; tick++) {
    const t = sim.nowMs() + 5 * MINUTE_MS;
    sim.advanceTo(t);
    for (const fn of Object.keys(SOAK_FUNCTIONS)) {
      const handler = handlers.get(fn);
      w.runs += 1;
      await handler?.(
        scheduledEvent(fn, t, sim.region, sim.accountId),
        context(fn, `soak-settle-${tick}-${fn}`),
      ).catch(() => undefined);
    }
  }
}

/** The virtual hours: pause windows, late alarm events, schedules, redeliveries and Lambda retries. */
async function drive(
  w: World,
  handlers: Map<string, Handler>,
  parseSchedule: (expr: string) => { everyMinutes?: number } | undefined,
): Promise<void> {
  const { sim, faults, options } = w;
  const random = faults.random;
  const startMs = sim.nowMs();
  const endMs = startMs + options.hours * HOUR_MS;
  const late: Array<{
    at: number;
    event: { id: string; detail: { alarmName: string; state: { value: string } } };
  }> = [];
  const schedules = Object.entries(SOAK_FUNCTIONS).map(([fn, expr]) => ({
    fn,
    every: parseSchedule(expr)?.everyMinutes ?? 5,
  }));
  let pausedUntil = 0;
  let seq = 0;

  const invoke = async (fn: string, event: { id: string }) => {
    const handler = handlers.get(fn);
    if (!handler) return;
    // Lambda retries a failed asynchronous invocation (twice); EventBridge may deliver twice.
    for (let attempt = 0; attempt < 3; attempt++) {
      seq += 1;
      w.runs += 1;
      const killAt = random() < options.rate / 2 ? 1 + Math.floor(random() * 40) : undefined;
      faults.current = { seq, eventKey: `${fn}:${event.id}`, calls: 0, killAt, killed: false };
      let failed = false;
      try {
        const out = (await handler(structuredClone(event), context(fn, `soak-${seq}`))) as
          | { ok?: boolean }
          | undefined;
        failed = out?.ok === false;
      } catch {
        failed = true;
      } finally {
        faults.current = undefined;
      }
      if (failed) w.failedInvocations += 1;
      const redeliver = !failed && random() < options.rate;
      if (redeliver) w.redeliveries += 1;
      if (!failed && !redeliver) return;
    }
  };

  for (let t = startMs; t < endMs; t += MINUTE_MS) {
    if (t > sim.nowMs()) sim.advanceTo(t);
    // A person pauses db-autopilot for an hour, now and then.
    if (t >= pausedUntil && (t - startMs) % HOUR_MS === 0 && random() < 1 / 12) {
      pausedUntil = t + HOUR_MS;
      w.pauses.push([t, pausedUntil]);
      sim.ssm.put('/db-autopilot/paused', 'true');
    } else if (pausedUntil !== 0 && t >= pausedUntil) {
      sim.ssm.put('/db-autopilot/paused', 'false');
      pausedUntil = 0;
    }
    for (const e of sim.cloudwatch.takeAlarmEvents()) {
      if (e.detail.state.value !== 'ALARM' || !e.detail.alarmName.startsWith('dbap-')) continue;
      if (random() < options.rate) {
        w.lateEvents += 1;
        late.push({ at: t + (5 + Math.floor(random() * 25)) * MINUTE_MS, event: e });
      } else await invoke('alarm-handler', e);
    }
    for (const item of late.filter((l) => l.at <= t)) {
      late.splice(late.indexOf(item), 1);
      await invoke('alarm-handler', item.event);
    }
    for (const { fn, every } of schedules) {
      if (Math.floor(t / MINUTE_MS) % every === 0)
        await invoke(fn, scheduledEvent(fn, t, sim.region, sim.accountId));
    }
  }
  sim.advanceTo(endMs);
  sim.ssm.put('/db-autopilot/paused', 'false');
}

/** Which decisions and which AWS calls stand for the same change (counted per key). */
function changeKeyOfCall(m: MutationRecord): string | undefined {
  const id = String(m.input.DBInstanceIdentifier ?? '');
  switch (m.key) {
    case 'rds:ModifyDBInstance':
      return `modify:${id}`;
    case 'rds:CreateDBInstance':
    case 'rds:CreateDBInstanceReadReplica':
      return `create:${id}`;
    case 'rds:DeleteDBInstance':
      return `delete:${id}`;
    case 'dynamodb:UpdateTable':
      return `table:${String(m.input.TableName ?? '')}`;
    default:
      return undefined;
  }
}

function changeKeyOfDecision(d: Decision): string | undefined {
  const p = d.params ?? {};
  switch (d.action) {
    case 'set-iops':
    case 'set-storage-type':
      return `modify:${d.resource}`;
    case 'add-replica':
      return `create:${String(p.replicaId ?? '')}`;
    case 'remove-replica':
      return `delete:${String(p.replicaId ?? '')}`;
    case 'set-capacity':
    case 'prewarm':
    case 'set-capacity-mode':
      return `table:${String(p.tableName ?? d.resource.split('/index/')[0])}`;
    default:
      return undefined;
  }
}

type Examples = Record<keyof SoakViolations, string[]>;

/** Changes AWS made (per change key) beyond the applied decisions that record them. */
function unrecordedChanges(mutations: MutationRecord[], applied: Decision[], examples: Examples): number {
  const want = new Map<string, number>();
  for (const m of mutations) {
    const key = changeKeyOfCall(m);
    if (key) want.set(key, (want.get(key) ?? 0) + 1);
  }
  const have = new Map<string, number>();
  for (const d of applied) {
    const key = changeKeyOfDecision(d);
    if (key) have.set(key, (have.get(key) ?? 0) + 1);
  }
  let unrecorded = 0;
  for (const [key, n] of want) {
    const missing = Math.max(0, n - (have.get(key) ?? 0));
    unrecorded += missing;
    if (missing > 0 && examples.unrecordedChanges.length < 5)
      examples.unrecordedChanges.push(`${key} x${missing}`);
  }
  return unrecorded;
}

/** Live instances with db-autopilot's created-by tag and no creation record. */
async function orphanCount(w: World, examples: Examples): Promise<number> {
  const created = w.config.tags.createdBy;
  let orphans = 0;
  for (const inst of w.sim.rds.instances.values()) {
    if (inst.status === 'deleting' || inst.deletedAt !== undefined) continue;
    if (inst.tags.get(created.key) !== created.value) continue;
    if (!(await w.store.wasCreatedByUs('replicas', inst.id))) {
      orphans += 1;
      if (examples.orphans.length < 5) examples.orphans.push(inst.id);
    }
  }
  return orphans;
}

/** What AWS's state says of an intent now (the soak's own look, faults off). */
async function checkNow(intent: Decision): Promise<string> {
  const { intentCheckFor, runCheck } = await import('../core/intent.ts');
  const verdict = await runCheck(intentCheckFor(intent.action), intent);
  return `${verdict.verdict}: ${verdict.detail}`;
}

function boundsViolations(w: World, examples: Examples): number {
  const iops = w.config.tuners.iops;
  const ddb = w.config.tuners.dynamodb;
  let n = 0;
  const bad = (what: string) => {
    n += 1;
    if (examples.bounds.length < 5) examples.bounds.push(what);
  };
  for (const m of w.faults.mutations) {
    if (m.key === 'rds:ModifyDBInstance' && typeof m.input.Iops === 'number' && iops) {
      const v = m.input.Iops;
      if (v < (iops.minIops ?? 0) || v > (iops.maxIops ?? Number.POSITIVE_INFINITY))
        bad(`${m.input.DBInstanceIdentifier} asked for ${v} IOPS`);
    }
    if (m.key === 'dynamodb:UpdateTable' && ddb) {
      const pts = [
        m.input.ProvisionedThroughput,
        ...(
          (m.input.GlobalSecondaryIndexUpdates as Array<{ Update?: { ProvisionedThroughput?: unknown } }>) ??
          []
        ).map((g) => g.Update?.ProvisionedThroughput),
      ] as Array<{ ReadCapacityUnits?: number; WriteCapacityUnits?: number } | undefined>;
      for (const pt of pts) {
        for (const v of [pt?.ReadCapacityUnits, pt?.WriteCapacityUnits]) {
          if (v !== undefined && (v < ddb.minCapacity || v > ddb.maxCapacity))
            bad(`${m.input.TableName} asked for ${v} capacity units`);
        }
      }
    }
  }
  // Created replicas per source, at the end (a source never has more than maxReaders of ours).
  const created = w.config.tags.createdBy;
  const max = w.config.tuners.replicas?.maxReaders ?? Number.POSITIVE_INFINITY;
  const bySource = new Map<string, number>();
  for (const inst of w.sim.rds.instances.values()) {
    if (inst.status === 'deleting' || inst.deletedAt !== undefined) continue;
    if (inst.tags.get(created.key) !== created.value) continue;
    const source = inst.clusterId ?? inst.replicaSourceId ?? '?';
    bySource.set(source, (bySource.get(source) ?? 0) + 1);
  }
  for (const [source, count] of bySource) if (count > max) bad(`${source} has ${count} created replicas`);
  return n;
}

async function check(
  w: World,
  wallMs: number,
  countsAsChange: (d: Decision) => boolean,
): Promise<SoakResult> {
  const examples: Examples = {
    bounds: [],
    nonOwnedDeleted: [],
    doubleActed: [],
    unrecordedChanges: [],
    orphans: [],
    crashes: w.crashes.slice(0, 3),
    pauseBreaches: [],
  };
  const mutations = w.faults.mutations;
  const createdIds = new Set([
    ...w.ownedAtStart,
    ...mutations
      .filter((m) => m.key.startsWith('rds:Create'))
      .map((m) => String(m.input.DBInstanceIdentifier)),
  ]);
  const nonOwnedDeleted = mutations.filter(
    (m) => m.key === 'rds:DeleteDBInstance' && !createdIds.has(String(m.input.DBInstanceIdentifier)),
  );
  examples.nonOwnedDeleted = nonOwnedDeleted.slice(0, 5).map((m) => String(m.input.DBInstanceIdentifier));

  const invocationsByEvent = new Map<string, Set<number>>();
  for (const m of mutations) {
    const set = invocationsByEvent.get(m.eventKey) ?? new Set<number>();
    set.add(m.invocation);
    invocationsByEvent.set(m.eventKey, set);
  }
  const doubled = [...invocationsByEvent].filter(([, s]) => s.size > 1);
  examples.doubleActed = doubled.slice(0, 5).map(([k]) => k);

  const all = await w.store.listDecisions({ since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' });
  const applied = all.filter(countsAsChange);
  const unrecorded = unrecordedChanges(mutations, applied, examples);
  const orphans = await orphanCount(w, examples);

  const breaches = mutations.filter((m) => w.pauses.some(([a, b]) => m.at >= a && m.at < b));
  examples.pauseBreaches = breaches.slice(0, 5).map((m) => `${m.key} at ${new Date(m.at).toISOString()}`);

  return {
    hours: w.options.hours,
    runs: w.runs,
    faults: w.faults.faults,
    violations: {
      bounds: boundsViolations(w, examples),
      nonOwnedDeleted: nonOwnedDeleted.length,
      doubleActed: doubled.length,
      unrecordedChanges: unrecorded,
      orphans,
      crashes: w.crashes.length,
      pauseBreaches: breaches.length,
    },
    detail: {
      faultsByKind: { ...w.faults.counts },
      failedInvocations: w.failedInvocations,
      killedRuns: w.faults.counts.killed ?? 0,
      redeliveries: w.redeliveries,
      lateEvents: w.lateEvents,
      pausedHours: w.pauses.length,
      awsChanges: mutations.length,
      appliedDecisions: applied.length,
      unsettledIntents: all.filter((d) => d.outcome === 'intended').length,
      unsettled: await Promise.all(
        all
          .filter((d) => d.outcome === 'intended')
          .slice(0, 5)
          .map(
            async (d) => `${d.tuner} ${d.action} ${d.resource} at ${d.at} (${d.id}): ${await checkNow(d)}`,
          ),
      ),
      examples: Object.fromEntries(Object.entries(examples).filter(([, v]) => v.length > 0)),
      wallMs: Math.round(wallMs),
    },
  };
}

export const SOAK_CLI = {
  name: 'soak',
  usage: `usage: npm run soak -- --hours N --rate R --seed S [--json]
  --hours N   virtual hours to run (whole number, 1-1000; default 24)
  --rate R    probability of a fault per AWS / state-table call, 0-1 (default 0.05)
  --seed S    seed of the fault sequence (whole number; default 1)
  --json      print only the JSON result
  --help      this text
`,
  options: {
    hours: { type: 'string' },
    rate: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'boolean' },
  },
} satisfies CliSpec;

/** Parses the soak's flags: `{ options }`, or `{ exit, message }` for --help (0) and bad flags (2). */
export function parseSoakArgs(
  argv: string[],
): { options: SoakOptions; json: boolean } | { exit: number; message: string } {
  const parsed = parseCli(SOAK_CLI, argv);
  if (parsed.kind !== 'args') return { exit: parsed.exitCode, message: parsed.text };
  const { values } = parsed;
  const hours = Number(values.hours ?? 24);
  const rate = Number(values.rate ?? 0.05);
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(hours) || hours < 1 || hours > 1000)
    return { exit: 2, message: `soak: --hours must be a whole number from 1 to 1000, got ${values.hours}\n` };
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    return { exit: 2, message: `soak: --rate must be a number from 0 to 1, got ${values.rate}\n` };
  if (!Number.isInteger(seed))
    return { exit: 2, message: `soak: --seed must be a whole number, got ${values.seed}\n` };
  return { options: { hours, rate, seed }, json: values.json === true };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const parsed = parseSoakArgs(process.argv.slice(2));
  if ('exit' in parsed) {
    (parsed.exit === 0 ? process.stdout : process.stderr).write(parsed.message);
    process.exit(parsed.exit);
  }
  runSoak(parsed.options)
    .then((result) => {
      const { detail, ...summary } = result;
      const text = parsed.json
        ? `${JSON.stringify(summary)}\n`
        : `${JSON.stringify(summary)}\n${JSON.stringify(detail, null, 2)}\n`;
      // Exit once the output is written (a pipe is written asynchronously).
      process.stdout.write(text, () => process.exit(0));
    })
    .catch((error: unknown) => {
      process.stderr.write(`soak failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
