import { pathToFileURL } from 'node:url';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError } from '../core/errors.ts';
import { type CliParse, type CliSpec, parseCli, usageError } from './args.ts';

/**
 * `npm run validate -- FILE [FILE ...]`: checks db-autopilot configuration files and prints every
 * problem with its path and line. Exit code 0 when valid, 1 when not, 2 on usage errors.
 */
export const VALIDATE_CLI: CliSpec = {
  name: 'validate',
  usage: `usage: npm run validate -- FILE [FILE ...]
  FILE     a db-autopilot configuration file (YAML); every problem is printed with its path and line
  --help   this text`,
  options: {},
  maxPositionals: Number.POSITIVE_INFINITY,
};

export function parseValidateArgs(argv: readonly string[]): CliParse {
  const parsed = parseCli(VALIDATE_CLI, argv);
  if (parsed.kind === 'args' && parsed.positionals.length === 0)
    return usageError(VALIDATE_CLI, 'give at least one FILE');
  return parsed;
}

function main(argv: string[]): number {
  const parsed = parseValidateArgs(argv);
  if (parsed.kind !== 'args') {
    (parsed.kind === 'help' ? process.stdout : process.stderr).write(parsed.text);
    return parsed.exitCode;
  }
  let failed = 0;
  for (const file of parsed.positionals) {
    try {
      const config = loadConfigFile(file);
      const tuners = Object.entries(config.tuners)
        .filter(([, section]) => section !== undefined)
        .map(([name, section]) => `${name} (${(section as { mode?: string }).mode ?? config.defaults.mode})`);
      process.stdout.write(`${file}: valid. Tuners: ${tuners.join(', ') || 'none'}\n`);
    } catch (error) {
      failed++;
      if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
      else process.stderr.write(`${file}: ${(error as Error).message}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.exitCode = main(process.argv.slice(2));
