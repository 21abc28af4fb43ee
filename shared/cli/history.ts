import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clock } from '../core/clock.ts';
import type { StateStore } from '../core/contracts.ts';
import { publicMessage, ValidationError } from '../core/errors.ts';
import type { Decision, TunerName } from '../core/model.ts';
import {
  historyQuerySchema,
  historyTable,
  RECORDED_STATE_FILE,
  readHistory,
  recordedStateSchema,
  selectHistory,
  sinceTime,
} from '../report/history.ts';
import { type CliSpec, type CliValues, parseCli } from './args.ts';

/**
 * `npm run history -- [--from DIR | --table NAME] [--resource ID] [--since 7d] [--tuner T] [--json]`
 *
 * The audit log read back: from a demo's output folder (DIR/state.json, the state the demo
 * recorded) or from a deployed state table (DynamoDB, with your AWS credentials and AWS_REGION).
 * A table in the terminal, or with --json a JSON array of the decisions on stdout (nothing else
 * is written there).
 */
export const HISTORY_CLI = {
  name: 'history',
  usage: `usage: npm run history -- [--from DIR | --table NAME] [--resource ID] [--since 7d] [--tuner T] [--json]
  --from DIR       a demo's output folder (default out/demo): the state it recorded (DIR/${RECORDED_STATE_FILE})
  --table NAME     a deployed state table (AWS credentials and AWS_REGION from your environment)
  --resource ID    one resource's decisions (a table, an instance, a cluster, ...)
  --since T        7d, 12h, 30m or an ISO time (default: the whole recorded period for --from, 7d for --table);
                   counted back from the end of the recorded period for --from, from now for --table
  --tuner T        one tuner's decisions (iops, replicas, dynamodb, maintenance, ...)
  --json           a JSON array of the decisions on stdout, for scripts
  --help           this text
Successful no-ops are left out (the daily totals count them); failed ones are shown.`,
  options: {
    from: { type: 'string' },
    table: { type: 'string' },
    resource: { type: 'string' },
    since: { type: 'string' },
    tuner: { type: 'string' },
    json: { type: 'boolean' },
  },
} satisfies CliSpec;

export interface HistoryArgs {
  source: { kind: 'dir'; dir: string } | { kind: 'table'; table: string };
  resource?: string;
  tuner?: TunerName;
  since?: string;
  json: boolean;
}

/** The CLI's arguments checked; a ValidationError names the bad one. */
export function historyArgs(values: CliValues): HistoryArgs {
  if (values.from !== undefined && values.table !== undefined)
    throw new ValidationError('give --from DIR or --table NAME, not both');
  const parsed = historyQuerySchema.safeParse({
    resource: values.resource,
    tuner: values.tuner,
    since: values.since,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`--${String(issue?.path[0] ?? 'arguments')}: ${issue?.message ?? 'invalid'}`);
  }
  const source: HistoryArgs['source'] =
    typeof values.table === 'string'
      ? { kind: 'table', table: values.table }
      : { kind: 'dir', dir: typeof values.from === 'string' ? values.from : 'out/demo' };
  return { source, ...parsed.data, json: values.json === true };
}

/** DIR/state.json, validated: its decisions and the end of its recorded period. */
export function readRecordedState(dir: string): { decisions: Decision[]; until: string; since: string } {
  const file = join(dir, RECORDED_STATE_FILE);
  if (!existsSync(file))
    throw new ValidationError(
      `${file} not found: run the demo first (npm run demo -- --out ${dir}), or give --table NAME for a deployed state table`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ValidationError(`${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = recordedStateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(
      `${file}: not a recorded state (${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'})`,
    );
  }
  return {
    decisions: parsed.data.decisions as unknown as Decision[],
    until: parsed.data.until,
    since: parsed.data.since,
  };
}

export interface HistoryIo {
  out(text: string): void;
  err(text: string): void;
  now(): Date;
  /** The deployed state table by name (the DynamoDB store; tests pass one on dynalite). */
  openTable(name: string): StateStore;
}

export async function historyDecisions(args: HistoryArgs, io: HistoryIo): Promise<Decision[]> {
  const filter = { tuner: args.tuner, resource: args.resource };
  if (args.source.kind === 'dir') {
    const recorded = readRecordedState(args.source.dir);
    const since = args.since ? sinceTime(args.since, new Date(recorded.until)) : undefined;
    return selectHistory(recorded.decisions, { ...filter, since });
  }
  const now = io.now();
  return readHistory(io.openTable(args.source.table), {
    ...filter,
    since: sinceTime(args.since ?? '7d', now),
    until: now.toISOString(),
  });
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 bad arguments). */
export async function main(argv: string[], io: HistoryIo): Promise<number> {
  const cli = parseCli(HISTORY_CLI, argv);
  if (cli.kind === 'help') {
    io.out(cli.text);
    return 0;
  }
  if (cli.kind === 'error') {
    io.err(cli.text);
    return 2;
  }
  try {
    const args = historyArgs(cli.values);
    const decisions = await historyDecisions(args, io);
    io.out(args.json ? `${JSON.stringify(decisions, null, 2)}\n` : `${historyTable(decisions)}\n`);
    return 0;
  } catch (error) {
    io.err(`history: ${publicMessage(error)}\n`);
    return error instanceof ValidationError ? 2 : 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { DynamoDbStateStore } = await import('../state/index.ts');
  process.exitCode = await main(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    now: () => clock().now(),
    openTable: (tableName) => new DynamoDbStateStore({ tableName }),
  });
}
