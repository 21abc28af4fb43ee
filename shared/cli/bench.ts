import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clock } from '../core/clock.ts';
import { allTargets, discoverFleet } from '../discovery/fleet.ts';
import { dynamodbSeries, rdsInstanceSeries } from '../metrics/catalog.ts';
import { getMetrics } from '../metrics/fetch.ts';
import type { SeriesRequest } from '../metrics/plan.ts';
import { minCallsFor } from '../metrics/plan.ts';
import { SimAccount, workload as w } from '../sim/index.ts';
import { type CliSpec, CliUsageError, cliArgsOrExit } from './args.ts';
import type { AccountsBenchResult } from './bench-accounts.ts';
import type { FleetBenchResult, FunctionLimits } from './bench-fleet.ts';

/**
 * `npm run bench -- --fleet N --hours H [--json]`: the whole loop at fleet scale (bench-fleet.ts).
 *
 * `npm run bench [-- --json] [-- --sizes 10,100]`: fleet discovery + one hour of metrics at 60 s
 * on the simulated account, 50 ms per API call and AWS's default rate limits (GetMetricData
 * 50 TPS), for fleets of 10, 100, 1,000 and 5,000 resources (half RDS, half DynamoDB).
 * Each size runs in its own Node process so its memory is measured alone (peak RSS of the whole
 * process, the simulated AWS account's own metric store included). The child gets the young
 * generation V8 picks for itself in a 256 MB Lambda (`--max-semi-space-size=4`; V8 scales the
 * semi-space with the memory it is given, and this machine has far more than a Lambda).
 *
 * Goals (issue #5): getMetricDataCalls == minGetMetricDataCalls at every size; 1,000 RDS +
 * 1,000 tables in under 5 s and 256 MB; linear growth.
 */

const TAGS = {
  managed: { key: 'db-autopilot:managed', value: 'true' },
  optOut: { key: 'db-autopilot:opt-out', value: 'true' },
  createdBy: { key: 'db-autopilot:created-by', value: 'db-autopilot' },
};

export interface BenchRow {
  resources: number;
  wallMs: number;
  rssMb: number;
  getMetricDataCalls: number;
  minGetMetricDataCalls: number;
  apiCalls: number;
  discoverMs: number;
  metricsMs: number;
  throttled: number;
  targets: number;
  series: number;
  seriesWithData: number;
  /** RSS after loading the code and building the simulated fleet, before discovery. */
  baselineRssMb: number;
  peakHeapMb: number;
  /** Typed arrays etc. outside the JS heap (mostly the simulator's metric store). */
  peakExternalMb: number;
}

function buildFleet(sim: SimAccount, resources: number): void {
  const rds = Math.floor(resources / 2);
  const tables = resources - rds;
  for (let i = 0; i < rds; i++) {
    sim.rds.addInstance({
      id: `bench-db-${i}`,
      engine: 'postgres',
      instanceClass: 'db.r6g.large',
      storageType: 'io1',
      allocatedStorage: 400,
      iops: 3000,
      tags: { [TAGS.managed.key]: TAGS.managed.value, team: 'shop' },
      workload: { iops: w.constant(1000 + (i % 7) * 100), cpu: w.constant(30) },
    });
  }
  for (let i = 0; i < tables; i++) {
    sim.dynamodb.addTable({
      name: `bench-table-${i}`,
      read: 100,
      write: 50,
      tags: { [TAGS.managed.key]: TAGS.managed.value, team: 'shop' },
      workload: { read: w.constant(40), write: w.constant(20 + (i % 5)) },
    });
  }
}

export async function benchOne(resources: number): Promise<BenchRow> {
  const start = Date.parse('2026-11-20T12:00:00Z');
  const sim = new SimAccount({ start, historyStart: start - 3_600_000, latencyMs: 50 });
  buildFleet(sim, resources);
  const uninstall = sim.install();
  let peak = process.memoryUsage().rss;
  let peakHeap = 0;
  let peakExternal = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    peakHeap = Math.max(peakHeap, m.heapTotal);
    peakExternal = Math.max(peakExternal, m.external);
  };
  const baseline = process.memoryUsage().rss;
  const sampler = setInterval(sample, 10);
  try {
    sim.resetStats();
    const t0 = performance.now();
    const fleet = await discoverFleet({
      kinds: ['rds-instance', 'dynamodb-table'],
      selector: { identifiers: [], tags: {} },
      tagKeys: TAGS,
    });
    const t1 = performance.now();
    const series: SeriesRequest[] = [
      ...fleet.rdsInstances.flatMap((t) => rdsInstanceSeries(t.ref.id)),
      ...fleet.tables.flatMap((t) => dynamodbSeries(t.ref.id)),
      ...fleet.gsis.flatMap((g) => dynamodbSeries(g.tableName, String(g.raw.IndexName))),
    ];
    const now = clock().now();
    const result = await getMetrics(
      {
        series,
        start: new Date(now.getTime() - 3_600_000),
        end: now,
        periodSeconds: 60,
        now,
      },
      { concurrency: Number(process.env.BENCH_GMD_CONCURRENCY ?? 10) },
    );
    const t2 = performance.now();
    sample();
    const stats = sim.stats();
    return {
      resources,
      wallMs: Math.round(t2 - t0),
      rssMb: Math.round(peak / 1024 / 1024),
      getMetricDataCalls: stats.calls['cloudwatch:GetMetricData'] ?? 0,
      minGetMetricDataCalls: minCallsFor(series.length, series.length * 60),
      apiCalls: stats.total,
      discoverMs: Math.round(t1 - t0),
      metricsMs: Math.round(t2 - t1),
      throttled: Object.values(stats.throttled).reduce((a, b) => a + b, 0),
      targets: allTargets(fleet).length,
      series: series.length,
      // Sanity: every series came back with values (gauges from the workload, counters filled).
      seriesWithData: [...result.series.values()].filter((r) => r.values.some((v) => v !== null)).length,
      baselineRssMb: Math.round(baseline / 1024 / 1024),
      peakHeapMb: Math.round(peakHeap / 1024 / 1024),
      peakExternalMb: Math.round(peakExternal / 1024 / 1024),
    };
  } finally {
    clearInterval(sampler);
    uninstall();
  }
}

function table(rows: BenchRow[]): string {
  const cols: Array<[keyof BenchRow, string]> = [
    ['resources', 'resources'],
    ['wallMs', 'wall ms'],
    ['discoverMs', 'discover ms'],
    ['metricsMs', 'metrics ms'],
    ['rssMb', 'peak RSS MB'],
    ['getMetricDataCalls', 'GetMetricData'],
    ['minGetMetricDataCalls', 'minimum'],
    ['apiCalls', 'API calls'],
    ['throttled', 'throttled'],
  ];
  const cells = [cols.map(([, h]) => h), ...rows.map((r) => cols.map(([k]) => String(r[k])))];
  const widths = cols.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => c.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  const verdict = rows.map(
    (r) =>
      `${r.resources}: ${r.getMetricDataCalls === r.minGetMetricDataCalls ? 'fewest GetMetricData calls' : 'MORE GetMetricData calls than the minimum'}`,
  );
  return [
    'Fleet discovery + 1 h of metrics at 60 s, simulated account, 50 ms per API call, AWS default rate limits',
    '(half RDS instances, half DynamoDB tables; 4 series each; peak RSS of the whole process, simulator included)',
    line(cells[0] ?? []),
    ...cells.slice(1).map(line),
    '',
    ...verdict,
  ].join('\n');
}

export const USAGE = `usage: npm run bench -- [--json] [--sizes 10,100,1000]
       npm run bench -- --fleet N --hours H [--json]
       npm run bench -- --accounts A --regions R [--resources N] [--json]

  (default)        fleet discovery + one hour of metrics, per fleet size (--sizes, default 10,100,1000,2000,5000)
  --fleet N        the whole loop: every function's real handler on N RDS instances and N DynamoDB tables
  --hours H        simulated hours of the --fleet run (default 6)
  --accounts A     one fleet run over A member accounts x R Regions (issue 27), prints
                   {"accounts","regions","resources","wallMs","apiCalls","peakHeapMb"} with --json
  --regions R      Regions per account for --accounts (default 1, at most 6)
  --resources N    resources per account and Region for --accounts (default 20)
  --json           JSON: one line per size, or {"fleet","hours","functions":{...}} for --fleet
  --help           this text`;

/** `--one`, `--fleet-child` and `--accounts-child` are the bench's own child processes' flags. */
export const BENCH_CLI = {
  name: 'bench',
  usage: USAGE,
  options: {
    json: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    one: { type: 'string' },
    fleet: { type: 'string' },
    hours: { type: 'string' },
    'fleet-child': { type: 'boolean' },
    accounts: { type: 'string' },
    regions: { type: 'string' },
    resources: { type: 'string' },
    'accounts-child': { type: 'boolean' },
  },
} satisfies CliSpec;

interface BenchArgs {
  json: boolean;
  sizes?: string;
  one?: string;
  fleet?: string;
  hours?: string;
  'fleet-child'?: boolean;
  accounts?: string;
  regions?: string;
  resources?: string;
  'accounts-child'?: boolean;
}

function positiveInt(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliUsageError(`${flag} must be a whole number >= 1, got "${value ?? ''}"`);
  return n;
}

/**
 * --accounts: one fleet run across member accounts and Regions (bench-accounts.ts), in a child
 * process (no EMF metrics or logs on stdout, a heap limit that fits the simulated world).
 */
async function accountsMode(args: BenchArgs): Promise<void> {
  const accounts = positiveInt(args.accounts, '--accounts');
  const regions = positiveInt(args.regions, '--regions', 1);
  if (regions > 6)
    throw new CliUsageError(`--regions must be a whole number from 1 to 6, got "${args.regions}"`);
  const resources = positiveInt(args.resources, '--resources', 20);
  if (args['accounts-child']) {
    const { runAccountsBench } = await import('./bench-accounts.ts');
    const { result, details } = await runAccountsBench({ accounts, regions, resources });
    process.stdout.write(`${JSON.stringify(result)}\n${JSON.stringify(details)}\n`);
    return;
  }
  const child = spawnSync(
    process.execPath,
    [
      '--max-old-space-size=6144',
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      '--accounts-child',
      ...['--accounts', String(accounts), '--regions', String(regions), '--resources', String(resources)],
    ],
    {
      encoding: 'utf8',
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL', POWERTOOLS_METRICS_DISABLED: 'true' },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (child.status !== 0) {
    process.stderr.write(child.stderr);
    throw new Error(`the accounts bench failed (exit ${child.status})`);
  }
  const [resultLine = '{}', detailsLine = '{}'] = child.stdout.trim().split('\n').slice(-2);
  const r = JSON.parse(resultLine) as AccountsBenchResult;
  const line = JSON.stringify({
    accounts: r.accounts,
    regions: r.regions,
    resources: r.resources,
    wallMs: r.wallMs,
    apiCalls: r.apiCalls,
    peakHeapMb: r.peakHeapMb,
  });
  if (args.json) {
    process.stdout.write(`${line}\n`);
    process.stderr.write(`${detailsLine}\n`);
    return;
  }
  process.stdout.write(
    `One fleet run: ${accounts} accounts x ${regions} Regions x ${resources} resources = ${r.resources} resources\n` +
      `wall ${r.wallMs} ms, ${r.apiCalls} API calls, peak heap ${r.peakHeapMb} MB\n${JSON.stringify(JSON.parse(detailsLine), null, 2)}\n`,
  );
}

/** --fleet: the run happens in a child process whose heap limit is the deployed memory size. */
async function fleetMode(args: BenchArgs): Promise<void> {
  const n = positiveInt(args.fleet, '--fleet');
  const hours = positiveInt(args.hours, '--hours', 6);
  const { deployedMemoryMb, runFleetBench } = await import('./bench-fleet.ts');
  if (args['fleet-child']) {
    const began = performance.now();
    // Progress on stderr after each simulated hour: a run stopped early still leaves its figures.
    const progress = (hour: number, soFar: FleetBenchResult) => {
      const cpu = process.cpuUsage();
      const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;
      process.stderr.write(
        `fleet bench hour ${hour}/${hours}: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, ${((performance.now() - began) / 1000).toFixed(0)} s wall, heap ${heapMb.toFixed(0)} MB; so far ${JSON.stringify(soFar)}\n`,
      );
    };
    const { result, limits } = await runFleetBench(n, hours, process.cwd(), undefined, progress);
    process.stdout.write(`${JSON.stringify(result)}\n${JSON.stringify(limits)}\n`);
    return;
  }
  const memoryMb = deployedMemoryMb(process.cwd());
  const began = performance.now();
  const stdout = await fleetChild([
    `--max-old-space-size=${memoryMb}`,
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--fleet-child',
    '--fleet',
    String(n),
    '--hours',
    String(hours),
  ]);
  const [resultLine = '{}', limitsLine = '{}'] = stdout.trim().split('\n').slice(-2);
  const result = JSON.parse(resultLine) as FleetBenchResult;
  const limits = JSON.parse(limitsLine) as Record<string, FunctionLimits>;
  const wallS = (performance.now() - began) / 1000;
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${fleetTable(result, limits, memoryMb, wallS)}\n`);
  // Beside the JSON (stderr): how close each function came to its timeout, and any errors.
  if (args.json) process.stderr.write(`${fleetLimitsText(limits, wallS, memoryMb)}\n`);
}

/** Powertools' warning of a run that published no metrics (the bench disables metrics). */
const NO_METRICS_WARNING = 'No application metrics to publish';

/**
 * Runs the fleet bench's child process: its stdout is returned, its stderr (the progress after
 * each simulated hour, errors) goes to this process's stderr as it comes, less Powertools' warning
 * of a run that published no metrics.
 */
function fleetChild(args: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (!line.startsWith(NO_METRICS_WARNING)) process.stderr.write(`${line}\n`);
    });
    child.on('error', fail);
    child.on('close', (code) => {
      if (code === 0) ok(Buffer.concat(out).toString('utf8'));
      else fail(new Error(`the fleet bench failed (exit ${code})`));
    });
  });
}

function fleetLimitsText(limits: Record<string, FunctionLimits>, wallS: number, memoryMb: number): string {
  const lines = [
    `bench wall time ${wallS.toFixed(0)} s, heap limit ${memoryMb} MB (deployed memory size); a run's clock is its CPU time (cpu-clock.ts)`,
  ];
  for (const [name, l] of Object.entries(limits).sort(([a], [b]) => a.localeCompare(b))) {
    const share = ((100 * l.maxCpuMs) / l.timeoutMs).toFixed(1);
    const cut = l.timedOut > 0 ? `; ${l.timedOut} run(s) timed out` : '';
    lines.push(
      `${name}: slowest run ${l.maxCpuMs} ms CPU (${l.maxWallMs} ms wall) = ${share}% of its ${l.timeoutMs / 1000} s timeout${cut}${l.errors.length > 0 ? `; errors: ${l.errors.join(' | ')}` : ''}`,
    );
  }
  return lines.join('\n');
}

function fleetTable(
  r: FleetBenchResult,
  limits: Record<string, FunctionLimits>,
  memoryMb: number,
  wallS: number,
): string {
  const head = [
    'function',
    'runs',
    'cpu ms p50',
    'p99',
    'RRU/run',
    'WRU/run',
    'bytes read/run',
    'peak heap MB',
  ];
  const rows = Object.entries(r.functions).map(([name, f]) => [
    name,
    String(f.runs),
    String(f.cpuMsP50),
    String(f.cpuMsP99),
    String(f.readUnitsPerRun),
    String(f.writeUnitsPerRun),
    String(f.bytesReadPerRun),
    String(f.peakHeapMb),
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => c.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  return [
    `The whole loop on ${r.fleet} RDS instances + ${r.fleet} DynamoDB tables for ${r.hours} simulated hours (state table: dynalite)`,
    line(head),
    ...rows.map(line),
    '',
    fleetLimitsText(limits, wallS, memoryMb),
  ].join('\n');
}

async function main(): Promise<void> {
  const args = cliArgsOrExit(BENCH_CLI, process.argv.slice(2)).values as unknown as BenchArgs;
  if (args.accounts !== undefined) {
    await accountsMode(args);
    return;
  }
  if (args.fleet !== undefined || args['fleet-child']) {
    await fleetMode(args);
    return;
  }
  const json = args.json;
  if (args.one !== undefined) {
    // Child process: one fleet size, one JSON line on stdout.
    const row = await benchOne(positiveInt(args.one, '--one'));
    process.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  const sizes = args.sizes
    ? args.sizes.split(',').map((x) => positiveInt(x.trim(), '--sizes'))
    : [10, 100, 1000, 2000, 5000];
  const self = fileURLToPath(import.meta.url);
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    const child = spawnSync(
      process.execPath,
      [
        '--max-semi-space-size=4',
        '--max-old-space-size=160',
        ...process.execArgv,
        self,
        '--one',
        String(size),
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    if (child.status !== 0) {
      process.stderr.write(child.stderr);
      throw new Error(`bench for ${size} resources failed (exit ${child.status})`);
    }
    const last = child.stdout.trim().split('\n').pop() ?? '{}';
    const row = JSON.parse(last) as BenchRow;
    rows.push(row);
    if (json) {
      const { resources, wallMs, rssMb, getMetricDataCalls, minGetMetricDataCalls, apiCalls, ...extra } = row;
      process.stdout.write(
        `${JSON.stringify({ resources, wallMs, rssMb, getMetricDataCalls, minGetMetricDataCalls, apiCalls, ...extra })}\n`,
      );
    }
  }
  if (!json) process.stdout.write(`${table(rows)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    if (error instanceof CliUsageError) {
      process.stderr.write(`bench: ${error.message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
