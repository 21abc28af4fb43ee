import { loadConfigFile } from '../config/load.ts';
import { ConfigError } from '../core/errors.ts';

/**
 * `npm run validate -- FILE`: checks a db-autopilot configuration file and prints every
 * problem with its path and line. Exit code 0 when valid, 1 when not, 2 on usage errors.
 */
function main(argv: string[]): number {
  const files = argv.filter((a) => !a.startsWith('-'));
  if (files.length === 0) {
    process.stderr.write('usage: npm run validate -- FILE [FILE ...]\n');
    return 2;
  }
  let failed = 0;
  for (const file of files) {
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

process.exitCode = main(process.argv.slice(2));
