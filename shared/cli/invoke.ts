import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CliSpec, CliUsageError, type CliValues, intFlag, parseCli } from './args.ts';

/**
 * `npm run invoke -- FUNCTION [EVENT_FILE] [--config FILE] [--scenario NAME] [--hours N]`
 *
 * Runs one Lambda handler (functions/FUNCTION.ts, as serverless.yml names it) once, on the
 * simulated AWS account (shared/sim: the scenario's fleet and metrics), with an in-memory state
 * table, no AWS account and no deployed stack. The configuration is the one you would deploy
 * (default db-autopilot.yml; modes as written: observe plans only). The handler's result is printed
 * as JSON on stdout; its logs go to stderr. Without EVENT_FILE the function gets the EventBridge
 * "Scheduled Event" its schedule sends. pg-maintenance and pg-insights run against an embedded
 * PostgreSQL (PGlite) seeded like the demo's orders database.
 */
export const INVOKE_CLI = {
  name: 'invoke',
  usage: `usage: npm run invoke -- FUNCTION [EVENT_FILE] [--config FILE] [--scenario NAME] [--hours N]
  FUNCTION         a function of serverless.yml (iops-tuner, dynamodb-tuner, pg-maintenance, control, ...)
  EVENT_FILE       the event as JSON (samples in events/); default: the scheduled event its schedule sends
  --config FILE    the configuration (default db-autopilot.yml), modes as written
  --scenario NAME  the simulated account (default securecart)
  --hours N        simulated hours the account runs before the invocation, 0 to 72 (default 2): metrics to read
  --help           this text
Runs the handler once on the simulated account (no AWS, no deployed stack) and prints its result as JSON on stdout.`,
  options: {
    config: { type: 'string' },
    scenario: { type: 'string' },
    hours: { type: 'string' },
  },
  maxPositionals: 2,
} satisfies CliSpec;

export interface InvokeArgs {
  fn: string;
  eventFile?: string;
  config: string;
  scenario: string;
  hours: number;
}

export function invokeArgs(values: CliValues, positionals: string[]): InvokeArgs {
  const [fn, eventFile] = positionals;
  if (fn === undefined) throw new CliUsageError('give the FUNCTION to invoke');
  return {
    fn,
    eventFile,
    config: typeof values.config === 'string' ? values.config : 'db-autopilot.yml',
    scenario: typeof values.scenario === 'string' ? values.scenario : 'securecart',
    hours: intFlag(values, 'hours', 2, { min: 0, max: 72 }),
  };
}

/** The event: the file's JSON, or the scheduled event EventBridge sends this function. */
export function invokeEvent(args: InvokeArgs, at: Date, region: string, account: string): unknown {
  if (args.eventFile === undefined) {
    return {
      version: '0',
      id: `invoke-${args.fn}-${at.toISOString()}`,
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account,
      time: at.toISOString(),
      region,
      resources: [`arn:aws:events:${region}:${account}:rule/dbap-${args.fn}`],
      detail: {},
    };
  }
  if (!existsSync(args.eventFile)) throw new CliUsageError(`${args.eventFile}: no such event file`);
  try {
    return JSON.parse(readFileSync(args.eventFile, 'utf8')) as unknown;
  } catch (error) {
    throw new CliUsageError(`${args.eventFile}: not JSON (${(error as Error).message})`);
  }
}

/** The environment the deployed functions get (serverless.yml provider.environment), locally. */
const LOCAL_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  STATE_TABLE: 'db-autopilot-local-state',
  ALARM_PREFIX: 'dbap-',
  DASHBOARD_NAME: 'db-autopilot',
  PAUSE_PARAMETER: '/db-autopilot/paused',
  SLACK_WEBHOOK_PARAMETER: '/db-autopilot/slack-webhook-url',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_DEV: 'true',
  POWERTOOLS_SERVICE_NAME: 'db-autopilot',
  POWERTOOLS_METRICS_NAMESPACE: 'DbAutopilot',
};

/** Runs the handler; returns its result. Logs (console) go to `log`. */
export async function invokeOnSimulatedAccount(
  args: InvokeArgs,
  root: string,
  log: (line: string) => void,
): Promise<unknown> {
  for (const [k, v] of Object.entries(LOCAL_ENV)) process.env[k] ??= v;
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const demo = await import('./demo.ts');
  const fn = demo.deployedFunctions(root).find((f) => f.name === args.fn);
  if (!fn) {
    const names = demo.deployedFunctions(root).map((f) => f.name);
    throw new CliUsageError(`no function ${args.fn} in serverless.yml: one of ${names.join(', ')}`);
  }
  const { loadConfigFile, setConfig } = await import('../config/load.ts');
  let config = loadConfigFile(resolve(root, args.config));
  const { getScenario } = await import('../sim/scenarios/index.ts');
  const scenario = await getScenario(args.scenario);
  const sim = scenario.build({});
  sim.setRateLimits(false);
  process.env.REPORT_TOPIC_ARN = sim.sns.createTopic('db-autopilot-local-reports');
  sim.ssm.put(
    '/db-autopilot/slack-webhook-url',
    'https://hooks.slack.com/services/TLOCAL/BLOCAL/local',
    'SecureString',
  );
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  // The state table is in memory; its client answers "not simulated", so nothing reaches AWS.
  const uninstall = sim.install({
    stateTable: sim.attach(
      new DynamoDBClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
      'dynamodb',
    ),
  });
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith('https://hooks.slack.com/'))
      throw new Error(`invoke makes no network calls (${url})`);
    log(`(Slack post captured, not sent: ${String(init?.body ?? '').slice(0, 200)})`);
    return new Response('ok', { status: 200 });
  }) as typeof fetch;
  const cleanups: Array<() => Promise<void> | void> = [
    () => uninstall(),
    () => {
      globalThis.fetch = realFetch;
    },
  ];
  try {
    const { MemoryStateStore, setStateStore } = await import('../state/index.ts');
    const store = new MemoryStateStore();
    cleanups.push(setStateStore(store));
    await scenario.seedState?.(store, new Date(sim.nowMs()));
    if (args.hours > 0) sim.advanceTo(sim.nowMs() + args.hours * 3_600_000);
    if (args.fn === 'pg-maintenance' || args.fn === 'pg-insights') {
      const pg = await demo.preparePostgres(sim);
      cleanups.push(() => pg.stop());
      config = demo.withDemoDatabase(config, pg);
    }
    setConfig(config);
    cleanups.push(() => setConfig(undefined));
    const event = invokeEvent(args, sim.clock.now(), sim.region, sim.accountId);
    const mod = (await import(pathToFileURL(fn.file).href)) as {
      handler?: (e: unknown, c: unknown) => Promise<unknown>;
    };
    if (typeof mod.handler !== 'function') throw new Error(`${fn.file} exports no handler`);
    return await mod.handler(event, demo.fakeContext(fn.name, `invoke-${Date.now()}`, 300_000));
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

async function main(argv: string[]): Promise<number> {
  const cli = parseCli(INVOKE_CLI, argv);
  if (cli.kind !== 'args') {
    (cli.kind === 'help' ? process.stdout : process.stderr).write(cli.text);
    return cli.exitCode;
  }
  // stdout carries only the result: every log line (Powertools writes through console) to stderr.
  const toStderr = (...parts: unknown[]) =>
    process.stderr.write(`${parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')}\n`);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  // Powertools Metrics warns on every invocation that publishes nothing (metrics are disabled here).
  const realWarn = console.warn;
  console.warn = (...parts: unknown[]) => {
    if (typeof parts[0] === 'string' && parts[0].startsWith('No application metrics to publish')) return;
    realWarn(...parts);
  };
  try {
    const args = invokeArgs(cli.values, cli.positionals);
    const result = await invokeOnSimulatedAccount(args, process.cwd(), (l) => process.stderr.write(`${l}\n`));
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return (result as { ok?: unknown } | undefined)?.ok === false ? 1 : 0;
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`invoke: ${error.message}\n${INVOKE_CLI.usage}\n`);
      return 2;
    }
    process.stderr.write(`invoke failed: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const code = await main(process.argv.slice(2));
  // Open handles (an SDK agent, PGlite) must not keep the process: exit once stdout is written.
  process.stdout.write('', () => process.exit(code));
}
