import { pathToFileURL } from 'node:url';
import { ValidationError } from '../core/errors.ts';
import { selfPrices } from '../cost/prices.ts';
import { type CliSpec, CliUsageError, type CliValues, choiceFlag, cliArgsOrExit, intFlag } from './args.ts';
import { type DemoOptions, type OwnCost, ownCostText, runDemo } from './demo.ts';

/**
 * `npm run cost -- [--json] [--hours 24] [--region R] [--vpc-endpoints N] [--state memory|dynalite]`
 *
 * What db-autopilot itself costs a month for the SecureCart fleet at the configured schedules:
 * the real handlers run on the simulated account for `--hours` (the demo, quietly), every request
 * they make is counted (GetMetricData metrics per resource, CloudWatch requests, state-table
 * units, invocations, logs and EMF metrics, alarms and the dashboard they keep: shared/cost/meter.ts)
 * and priced with the Region's shipped price table (shared/cost/prices.ts), scaled to 730 hours.
 * `--json` prints only `{"monthlyUsd", "perResource", "byService"}` on stdout.
 */
export const COST_CLI = {
  name: 'cost',
  usage: `usage: npm run cost -- [--json] [--hours 24] [--region us-east-1] [--vpc-endpoints 0] [--state memory|dynalite] [--no-postgres] [--config FILE]
  --json             print only {"monthlyUsd", "perResource", "byService"} (USD a month) on stdout
  --hours N          simulated hours to measure over, 1 to 72 (default 24; scaled to a 730-hour month)
  --region R         price with this Region's table (default: the config's region)
  --vpc-endpoints N  interface VPC endpoints db-autopilot alone needs (default 0: the VPC has them)
  --state S          memory (default: state-table units estimated from the items) or dynalite (measured)
  --no-postgres      no database for the maintenance and insights functions
  --config FILE      the configuration (default db-autopilot.yml, the SecureCart example)
  --out DIR          where the underlying demo writes its report (default out/cost)
  --help             this text`,
  options: {
    json: { type: 'boolean' },
    hours: { type: 'string' },
    region: { type: 'string' },
    'vpc-endpoints': { type: 'string' },
    state: { type: 'string' },
    'no-postgres': { type: 'boolean' },
    out: { type: 'string' },
    config: { type: 'string' },
  },
} satisfies CliSpec;

export interface CostOptions extends DemoOptions {
  json: boolean;
  region?: string;
}

export function costOptions(values: CliValues): CostOptions {
  const o: CostOptions = { json: values.json === true, out: 'out/cost' };
  if (values.hours !== undefined) o.hours = intFlag(values, 'hours', 24, { min: 1, max: 72 });
  if (values['vpc-endpoints'] !== undefined) o.vpcEndpoints = intFlag(values, 'vpc-endpoints', 0, { min: 0 });
  if (typeof values.region === 'string') {
    // A Region without a shipped price table is bad input: refused before anything runs.
    try {
      selfPrices(values.region);
    } catch (error) {
      throw new CliUsageError((error as Error).message);
    }
    o.region = values.region;
  }
  if (typeof values.out === 'string') o.out = values.out;
  if (typeof values.config === 'string') o.configFile = values.config;
  if (values['no-postgres'] === true) o.postgres = false;
  const state = choiceFlag(values, 'state', ['dynalite', 'memory'] as const);
  if (state !== undefined) o.state = state;
  return o;
}

/** Runs the metered demo with nothing on stdout (a stray write goes to stderr) and returns its bill. */
export async function measureOwnCost(options: CostOptions): Promise<OwnCost> {
  const realWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  try {
    const { report } = await runDemo({
      ...options,
      print: () => {},
      ...(options.region ? { priceRegion: options.region } : {}),
    });
    if (!report.ownCost) throw new Error('the demo measured no cost');
    return report.ownCost;
  } finally {
    process.stdout.write = realWrite;
  }
}

export function costText(c: OwnCost): string {
  const lines = [ownCostText(c), '', '| resource | USD a month |', '|---|---|'];
  for (const [id, usd] of Object.entries(c.perResource)) lines.push(`| ${id} | ${usd.toFixed(4)} |`);
  lines.push('', '| service | USD a month |', '|---|---|');
  for (const [k, usd] of Object.entries(c.byService)) lines.push(`| ${k} | ${usd.toFixed(4)} |`);
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let options: CostOptions = { json: false };
  try {
    options = costOptions(cliArgsOrExit(COST_CLI, process.argv.slice(2)).values);
  } catch (error) {
    process.stderr.write(`cost: ${(error as Error).message}\n${COST_CLI.usage}\n`);
    process.exit(2);
  }
  measureOwnCost(options)
    .then((c) => {
      const out = options.json
        ? `${JSON.stringify({ monthlyUsd: c.monthlyUsd, perResource: c.perResource, byService: c.byService })}\n`
        : costText(c);
      process.stdout.write(out, () => process.exit(0));
    })
    .catch((error: unknown) => {
      if (error instanceof ValidationError) {
        process.stderr.write(`cost: ${error.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`cost failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    });
}
