import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { renderChart } from '../backtest/chart.ts';
import { traceFromCloudWatch } from '../backtest/cloudwatch.ts';
import { runBacktest } from '../backtest/engine.ts';
import { generateTrace, SHAPES, type Shape } from '../backtest/generate-traces.ts';
import { type BacktestOptions, optionsFromConfig } from '../backtest/options.ts';
import {
  formatSensitivity,
  reportScores,
  runSensitivity,
  sensitivityJson,
  suiteScores,
} from '../backtest/sensitivity.ts';
import { isServerlessKind, SERVERLESS_USAGE, serverlessMain } from '../backtest/serverless-cli.ts';
import { DEFAULT_UNSEEN_SEEDS, runSuite } from '../backtest/suite.ts';
import { formatSuite, formatTable, suiteJson, toJson } from '../backtest/table.ts';
import { readTraceFile } from '../backtest/trace.ts';
import { KINDS, type Trace } from '../backtest/types.ts';
import { loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { clock } from '../core/clock.ts';
import { publicMessage, ValidationError } from '../core/errors.ts';
import { type CliSpec, parseCli } from './args.ts';

/**
 * npm run backtest -- --kind dynamodb|iops|replicas (--trace FILE | --from-cloudwatch RESOURCE
 *                     | --generate SHAPE [--seed N] [--jitter] | --suite [--seeds 101,202])
 *                     [--config FILE] [--json] [--chart FILE.svg] [--days N] [--sensitivity]
 *
 * --sensitivity runs the trace (or suite) at CloudWatch publication delay 0, 2 and 5 minutes and
 * signal strength x0.3, x1 and x3 and prints each policy's scores per setting.
 *
 * --generate runs one UNSEEN generated trace (seeded, not committed); --suite runs every
 * shipped trace of the kind plus unseen ones of the same shapes and prints totals.
 *
 * Replays a demand trace minute by minute through db-autopilot's tuner (its backtest plugin)
 * and through AWS's native scaling, static peak provisioning and an oracle, all on the same
 * capacity model, and prints them side by side.
 */
export const USAGE =
  'usage: npm run backtest -- --kind dynamodb|iops|replicas (--trace FILE | --from-cloudwatch RESOURCE | --generate SHAPE [--seed N] [--jitter] | --suite [--seeds N,N]) [--config FILE] [--json] [--chart FILE.svg] [--days N] [--sensitivity]';

/** The flags of every kind (serverless takes a subset); shared/cli/args.ts is the convention. */
export const BACKTEST_CLI = {
  name: 'backtest',
  usage: `${USAGE}\n       ${SERVERLESS_USAGE.replace(/^usage: /, '')}\n  --help   this text`,
  options: {
    kind: { type: 'string' },
    trace: { type: 'string' },
    config: { type: 'string' },
    json: { type: 'boolean' },
    chart: { type: 'string' },
    'from-cloudwatch': { type: 'string' },
    days: { type: 'string' },
    generate: { type: 'string' },
    seed: { type: 'string' },
    jitter: { type: 'boolean' },
    suite: { type: 'boolean' },
    sensitivity: { type: 'boolean' },
    seeds: { type: 'string' },
  },
} satisfies CliSpec;

export const cliArgsSchema = z
  .object({
    kind: z.enum(KINDS, {
      error: (issue) =>
        issue.input === undefined
          ? `--kind is required: one of ${KINDS.join(', ')}`
          : `unknown kind ${JSON.stringify(issue.input)}: one of ${KINDS.join(', ')}`,
    }),
    trace: z.string().min(1).optional(),
    config: z.string().min(1).optional(),
    json: z.boolean().default(false),
    chart: z
      .string()
      .regex(/\.svg$/i, '--chart takes a file name ending in .svg')
      .optional(),
    'from-cloudwatch': z.string().min(1).optional(),
    days: z.coerce
      .number()
      .gt(0)
      .max(14, '--days is at most 14 (CloudWatch keeps 1-minute data 15 days)')
      .optional(),
    generate: z.string().min(1).optional(),
    seed: z.coerce.number().int('--seed takes a whole number').min(0).optional(),
    jitter: z.boolean().default(false),
    suite: z.boolean().default(false),
    sensitivity: z.boolean().default(false),
    seeds: z
      .string()
      .regex(/^\d+(,\d+)*$/, '--seeds takes whole numbers separated by commas, e.g. 101,202')
      .optional(),
  })
  .strict()
  .refine(
    (a) =>
      [a.trace, a['from-cloudwatch'], a.generate, a.suite ? true : undefined].filter((x) => x !== undefined)
        .length === 1,
    {
      message: 'give exactly one of --trace FILE, --from-cloudwatch RESOURCE, --generate SHAPE or --suite',
      path: ['trace'],
    },
  )
  .refine((a) => a.generate === undefined || (SHAPES[a.kind] as readonly string[]).includes(a.generate), {
    message: `unknown shape for this kind (dynamodb: ${SHAPES.dynamodb.join(', ')}; iops and replicas: ${SHAPES.iops.join(', ')})`,
    path: ['generate'],
  })
  .refine((a) => !(a.suite && a.chart), { message: '--chart draws one trace, not a suite', path: ['chart'] })
  .refine((a) => !a.jitter || a.generate !== undefined, {
    message: '--jitter goes with --generate SHAPE',
    path: ['jitter'],
  })
  .refine((a) => !(a.sensitivity && a.chart), {
    message: '--chart draws one run, not a sensitivity sweep',
    path: ['chart'],
  });

export type CliArgs = z.infer<typeof cliArgsSchema>;

export function parseCliArgs(argv: string[]): CliArgs {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: BACKTEST_CLI.options,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new ValidationError(`${(error as Error).message}\n${USAGE}`);
  }
  const parsed = cliArgsSchema.safeParse(values);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: i.path.length > 0 ? `--${i.path.join('.')}` : '(arguments)',
      message: i.message,
    }));
    throw new ValidationError(
      `invalid arguments:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}\n${USAGE}`,
      issues,
    );
  }
  return parsed.data;
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  now(): Date;
}

/** Runs the CLI; returns the exit code. */
export async function main(rawArgv: string[], io: CliIo): Promise<number> {
  const cli = parseCli(BACKTEST_CLI, rawArgv);
  if (cli.kind !== 'args') {
    if (cli.kind === 'help') io.out(cli.text.trimEnd());
    else io.err(cli.text.trimEnd());
    return cli.exitCode;
  }
  const argv = rawArgv.filter((a) => a !== '--');
  // Aurora Serverless v2 has its own model and baselines (shared/backtest/serverless.ts).
  if (isServerlessKind(argv)) return serverlessMain(argv, io);
  try {
    const args = parseCliArgs(argv);
    const config: Config | undefined = args.config ? loadConfigFile(args.config) : undefined;
    const options = optionsFromConfig(config);
    if (args.suite) {
      const seeds = args.seeds ? args.seeds.split(',').map(Number) : DEFAULT_UNSEEN_SEEDS;
      if (args.sensitivity) {
        const source = `suite (shipped + unseen seeds ${seeds.join(',')})`;
        const result = await runSensitivity(args.kind, source, options, async (o) =>
          suiteScores(await runSuite({ kind: args.kind, options: o, config, seeds })),
        );
        io.out(args.json ? JSON.stringify(sensitivityJson(result), null, 2) : formatSensitivity(result));
        return 0;
      }
      const suite = await runSuite({ kind: args.kind, options, config, seeds });
      io.out(args.json ? JSON.stringify(suiteJson(suite), null, 2) : formatSuite(suite));
      return 0;
    }
    let trace: Trace;
    const cloud = args['from-cloudwatch'];
    if (cloud !== undefined) {
      const pulled = await traceFromCloudWatch({
        kind: args.kind,
        resource: cloud,
        now: io.now(),
        days: args.days,
      });
      trace = pulled.trace;
      for (const note of pulled.notes) io.err(`note: ${note}`);
      io.err(`read ${cloud} from CloudWatch in ${pulled.calls} GetMetricData call(s)`);
    } else if (args.generate !== undefined) {
      trace = generateTrace(args.kind, args.generate as Shape, {
        seed: args.seed ?? 1,
        days: args.days,
        jitter: args.jitter,
      });
    } else {
      trace = readTraceFile(args.kind, args.trace ?? '');
    }
    if (args.sensitivity) {
      const one = trace;
      const result = await runSensitivity(args.kind, one.source, options, async (o: BacktestOptions) =>
        reportScores(await runBacktest({ trace: one, options: o, config })),
      );
      io.out(args.json ? JSON.stringify(sensitivityJson(result), null, 2) : formatSensitivity(result));
      return 0;
    }
    const report = await runBacktest({ trace, options, config });
    if (args.chart) {
      writeFileSync(args.chart, renderChart(report));
      io.err(`chart written to ${args.chart}`);
    }
    io.out(args.json ? JSON.stringify(toJson(report), null, 2) : formatTable(report));
    return 0;
  } catch (error) {
    io.err(`backtest: ${publicMessage(error)}`);
    return error instanceof ValidationError ? 2 : 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const code = await main(process.argv.slice(2), {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    now: () => clock().now(),
  });
  process.exitCode = code;
}
