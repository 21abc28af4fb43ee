import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

/**
 * The one flag convention of every db-autopilot CLI (demo, backtest, bench, bench:vacuum,
 * validate, invoke, history, soak, cost), on `node:util` parseArgs:
 *
 * - `--help` (or `-h`) anywhere prints the CLI's usage text (it starts `usage:`) and exits 0
 *   without running anything, whatever else is on the line;
 * - an unknown flag exits 2 and names the flag; so does a flag missing its value or a value given
 *   to a switch;
 * - bare `--` separators are dropped, so `npm run demo -- --out DIR -- --hours 48` (the README's
 *   `[-- --flag]` notation) means the same as `npm run demo -- --out DIR --hours 48`.
 *
 * Each CLI declares a {@link CliSpec} (its usage text and its flags) and calls {@link parseCli} in
 * a function the tests can call; {@link cliArgsOrExit} is the process-facing wrapper.
 */
export interface CliSpec<O extends ParseArgsOptionsConfig = ParseArgsOptionsConfig> {
  /** The npm script, used as the prefix of error messages ("bench: unknown flag --x"). */
  name: string;
  /** Starts with `usage:`. */
  usage: string;
  options: O;
  /** Largest number of positional arguments (file names, a function name); default 0. */
  maxPositionals?: number;
}

export type CliValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export type CliParse =
  | { kind: 'help'; exitCode: 0; text: string }
  | { kind: 'error'; exitCode: 2; text: string }
  | { kind: 'args'; values: CliValues; positionals: string[] };

/** Thrown by a CLI's own argument checks (a bad value): exit code 2 with the usage text. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

const HELP = new Set(['--help', '-h']);

/** Parses argv by the convention above; never throws, never exits. */
export function parseCli(spec: CliSpec, argv: readonly string[]): CliParse {
  const args = argv.filter((a) => a !== '--');
  if (args.some((a) => HELP.has(a))) return { kind: 'help', exitCode: 0, text: withNewline(spec.usage) };
  const unknown = unknownFlag(spec, args);
  if (unknown !== undefined) return usageError(spec, `unknown flag ${unknown}`);
  let parsed: { values: CliValues; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: spec.options, strict: true, allowPositionals: true }) as {
      values: CliValues;
      positionals: string[];
    };
  } catch (error) {
    return usageError(spec, plainParseError(error));
  }
  const max = spec.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals[max] ?? '';
    return usageError(spec, max === 0 ? `unexpected argument ${extra}` : `too many arguments: ${extra}`);
  }
  return { kind: 'args', values: parsed.values, positionals: parsed.positionals };
}

/** The error result for a bad value a CLI finds after parsing (exit 2, message + usage). */
export function usageError(spec: CliSpec, message: string): { kind: 'error'; exitCode: 2; text: string } {
  return { kind: 'error', exitCode: 2, text: `${spec.name}: ${message}\n${withNewline(spec.usage)}` };
}

/**
 * For a CLI's entry point: the parsed arguments, or (for --help or a usage error) the text
 * written to stdout / stderr and the process ended with 0 / 2.
 */
export function cliArgsOrExit(
  spec: CliSpec,
  argv: readonly string[],
): { values: CliValues; positionals: string[] } {
  const parsed = parseCli(spec, argv);
  if (parsed.kind === 'args') return parsed;
  (parsed.kind === 'help' ? process.stdout : process.stderr).write(parsed.text);
  process.exit(parsed.exitCode);
}

/** The first flag the spec does not declare, as the user typed it (`--fleet-size`, `-x`). */
function unknownFlag(spec: CliSpec, args: string[]): string | undefined {
  const { tokens } = parseArgs({
    args,
    options: spec.options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const known = new Set<string>();
  for (const [name, option] of Object.entries(spec.options)) {
    known.add(name);
    if (option.short) known.add(option.short);
  }
  for (const token of tokens) {
    if (token.kind === 'option-terminator') break;
    if (token.kind === 'option' && !known.has(token.name)) return token.rawName;
  }
  return undefined;
}

/** parseArgs' own messages, without its advice about `--` (which this convention drops). */
function plainParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\. To specify a (positional|an option) argument.*$/s, '');
}

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** A flag's value as a whole number within [min, max], or a CliUsageError naming the flag. */
export function intFlag(
  values: CliValues,
  flag: string,
  fallback: number,
  range: { min: number; max?: number } = { min: 1 },
): number {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (
    typeof raw !== 'string' ||
    !Number.isInteger(n) ||
    n < range.min ||
    (range.max !== undefined && n > range.max)
  ) {
    const bound = range.max === undefined ? `>= ${range.min}` : `from ${range.min} to ${range.max}`;
    throw new CliUsageError(`--${flag} must be a whole number ${bound}, got "${String(raw)}"`);
  }
  return n;
}

/** A flag whose value is one of `choices`, or a CliUsageError naming the flag and the choices. */
export function choiceFlag<C extends string>(
  values: CliValues,
  flag: string,
  choices: readonly C[],
): C | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(choices as readonly string[]).includes(raw)) {
    throw new CliUsageError(`--${flag} must be ${choices.join(' or ')}`);
  }
  return raw as C;
}
