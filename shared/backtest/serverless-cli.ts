import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ValidationError } from '../core/errors.ts';
import {
  formatServerlessTable,
  formatServerlessTrace,
  generateServerlessTrace,
  readServerlessTrace,
  runServerlessBacktest,
  SERVERLESS_POLICIES,
  SERVERLESS_SHAPES,
  type ServerlessReport,
  type ServerlessShape,
} from './serverless.ts';

/**
 * `npm run backtest -- --kind serverless (--trace FILE | --generate SHAPE [--seed N] | --suite [--seeds N,N]) [--json]`
 * (shared/cli/backtest.ts hands `--kind serverless` here). Shipped traces: test/traces/serverless/.
 */
export const SERVERLESS_USAGE =
  'usage: npm run backtest -- --kind serverless (--trace FILE | --generate SHAPE [--seed N] | --suite [--seeds N,N]) [--json]';

export const SHIPPED_SERVERLESS_DIR = join(import.meta.dirname, '../../test/traces/serverless');
export const UNSEEN_SERVERLESS_SEEDS = [101, 202];

export function isServerlessKind(argv: string[]): boolean {
  return argv.some((a, i) => a === '--kind=serverless' || (a === '--kind' && argv[i + 1] === 'serverless'));
}

/** Shipped traces plus every shape at each unseen seed (jittered daily peaks). */
export function runServerlessSuite(seeds: number[] = UNSEEN_SERVERLESS_SEEDS): ServerlessReport[] {
  const shipped = readdirSync(SHIPPED_SERVERLESS_DIR)
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => ({
      ...readServerlessTrace(join(SHIPPED_SERVERLESS_DIR, f)),
      source: `test/traces/serverless/${f}`,
    }));
  const unseen = seeds.flatMap((seed) =>
    SERVERLESS_SHAPES.map((shape) => generateServerlessTrace(shape, seed)),
  );
  return [...shipped, ...unseen].map((t) => runServerlessBacktest(t));
}

/** Writes the shipped traces (seed 1): `npx tsx shared/backtest/serverless-cli.ts --write-shipped`. */
export function writeShippedServerlessTraces(): void {
  mkdirSync(SHIPPED_SERVERLESS_DIR, { recursive: true });
  for (const shape of ['diurnal', 'flash-sale', 'dev-idle', 'recurring-spikes'] as const) {
    writeFileSync(
      join(SHIPPED_SERVERLESS_DIR, `${shape}.csv`),
      formatServerlessTrace(generateServerlessTrace(shape, 1)),
    );
  }
}

export function serverlessMain(argv: string[], io: { out(t: string): void; err(t: string): void }): number {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        kind: { type: 'string' },
        trace: { type: 'string' },
        generate: { type: 'string' },
        seed: { type: 'string' },
        suite: { type: 'boolean' },
        seeds: { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    });
    const sources = [values.trace, values.generate, values.suite ? true : undefined].filter(
      (x) => x !== undefined,
    );
    if (sources.length !== 1)
      throw new ValidationError(`give exactly one of --trace, --generate or --suite\n${SERVERLESS_USAGE}`);
    if (values.suite) {
      const seeds = values.seeds ? values.seeds.split(',').map(Number) : UNSEEN_SERVERLESS_SEEDS;
      if (seeds.some((s) => !Number.isInteger(s) || s < 0))
        throw new ValidationError(`--seeds takes whole numbers separated by commas\n${SERVERLESS_USAGE}`);
      const reports = runServerlessSuite(seeds);
      io.out(
        values.json
          ? JSON.stringify({ kind: 'serverless', traces: reports }, null, 2)
          : reports.map(formatServerlessTable).join('\n\n'),
      );
      return 0;
    }
    let report: ServerlessReport;
    if (values.generate !== undefined) {
      if (!(SERVERLESS_SHAPES as readonly string[]).includes(values.generate))
        throw new ValidationError(`unknown shape ${values.generate}: one of ${SERVERLESS_SHAPES.join(', ')}`);
      const seed = Number(values.seed ?? 1);
      if (!Number.isInteger(seed) || seed < 0) throw new ValidationError('--seed takes a whole number');
      report = runServerlessBacktest(generateServerlessTrace(values.generate as ServerlessShape, seed));
    } else {
      report = runServerlessBacktest(readServerlessTrace(values.trace ?? ''));
    }
    io.out(
      values.json
        ? JSON.stringify(
            { kind: report.kind, trace: report.trace, minutes: report.minutes, policies: report.policies },
            null,
            2,
          )
        : formatServerlessTable(report),
    );
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`backtest: ${message.includes('usage:') ? message : `${message}\n${SERVERLESS_USAGE}`}`);
    return error instanceof ValidationError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ? 2
      : 1;
  }
}

export { SERVERLESS_POLICIES };

if (import.meta.url === `file://${process.argv[1]}` && process.argv.includes('--write-shipped'))
  writeShippedServerlessTraces();
