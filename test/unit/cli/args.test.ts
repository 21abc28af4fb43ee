import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliParse, type CliSpec, intFlag, parseCli } from '../../../shared/cli/args.ts';
import { BACKTEST_CLI } from '../../../shared/cli/backtest.ts';
import { BENCH_CLI, USAGE } from '../../../shared/cli/bench.ts';
import { BENCH_VACUUM_CLI } from '../../../shared/cli/bench-vacuum.ts';
import { DEMO_CLI } from '../../../shared/cli/demo.ts';
import { parseSoakArgs } from '../../../shared/cli/soak.ts';
import { parseValidateArgs } from '../../../shared/cli/validate.ts';

const root = join(import.meta.dirname, '../../..');

const spec: CliSpec = {
  name: 'tool',
  usage: 'usage: npm run tool -- [--json] [--out DIR] FILE',
  options: { json: { type: 'boolean' }, out: { type: 'string' } },
  maxPositionals: 1,
};

describe('the CLI convention (shared/cli/args.ts)', () => {
  it('prints the usage for --help or -h, wherever it stands and whatever else is given', () => {
    for (const argv of [['--help'], ['-h'], ['--out', 'x', '--bogus', '--help']]) {
      const r = parseCli(spec, argv);
      expect(r).toEqual({ kind: 'help', exitCode: 0, text: `${spec.usage}\n` });
    }
  });

  it('exits 2 naming an unknown flag, long or short, before anything runs', () => {
    const long = parseCli(spec, ['--json', '--fleet-size', '3']);
    expect(long.kind).toBe('error');
    expect(long).toMatchObject({ exitCode: 2 });
    expect((long as { text: string }).text).toMatch(/^tool: unknown flag --fleet-size\nusage:/);
    expect((parseCli(spec, ['-x']) as { text: string }).text).toMatch(/^tool: unknown flag -x\n/);
  });

  it('exits 2 when a flag lacks its value or a switch gets one, and on too many positionals', () => {
    expect(parseCli(spec, ['--out'])).toMatchObject({ kind: 'error', exitCode: 2 });
    expect((parseCli(spec, ['--out']) as { text: string }).text).toContain('--out');
    expect(parseCli(spec, ['--json=yes'])).toMatchObject({ kind: 'error', exitCode: 2 });
    expect((parseCli(spec, ['a.yml', 'b.yml']) as { text: string }).text).toContain(
      'too many arguments: b.yml',
    );
    expect((parseCli({ ...spec, maxPositionals: 0 }, ['a']) as { text: string }).text).toContain(
      'unexpected argument a',
    );
  });

  it('drops bare -- separators, so the README notation [-- --flag] works', () => {
    const r = parseCli(spec, ['--', '--out', 'd', '--', '--json', 'f.yml']);
    expect(r).toEqual({ kind: 'args', values: { out: 'd', json: true }, positionals: ['f.yml'] });
  });

  it('reads whole-number flags within their range and names the flag otherwise', () => {
    expect(intFlag({ hours: '48' }, 'hours', 24, { min: 1, max: 72 })).toBe(48);
    expect(intFlag({}, 'hours', 24)).toBe(24);
    expect(() => intFlag({ hours: '99' }, 'hours', 24, { min: 1, max: 72 })).toThrow(
      '--hours must be a whole number from 1 to 72, got "99"',
    );
    expect(() => intFlag({ rounds: '1.5' }, 'rounds', 3)).toThrow('--rounds must be a whole number >= 1');
  });
});

/** Every CLI's argument parsing, without running the CLI. */
type Parsed = CliParse | { exit: number; message: string } | { options: unknown };
const clis: Array<[string, (argv: string[]) => Parsed]> = [
  ['demo', (a) => parseCli(DEMO_CLI, a)],
  ['backtest', (a) => parseCli(BACKTEST_CLI, a)],
  ['bench', (a) => parseCli(BENCH_CLI, a)],
  ['bench:vacuum', (a) => parseCli(BENCH_VACUUM_CLI, a)],
  ['validate', parseValidateArgs],
  ['soak', parseSoakArgs],
];

function exitAndText(r: Parsed): { code: number; text: string } {
  if ('exit' in r) return { code: r.exit, text: r.message };
  if ('options' in r || r.kind === 'args') return { code: -1, text: '' };
  return { code: r.exitCode, text: r.text };
}

describe.each(clis)('npm run %s', (name, parse) => {
  it('--help prints a usage text starting "usage:" and exits 0', () => {
    const r = exitAndText(parse(['--help']));
    expect(r.code).toBe(0);
    expect(r.text).toMatch(new RegExp(`^usage: npm run ${name} --`));
  });

  it('an unknown flag exits 2 naming it', () => {
    const r = exitAndText(parse(['--no-such-flag']));
    expect(r.code).toBe(2);
    expect(r.text).toContain('unknown flag --no-such-flag');
  });
});

describe('the CLIs as processes', () => {
  const tsx = join(root, 'node_modules/.bin/tsx');
  const run = (file: string, argv: string[]) =>
    spawnSync(tsx, [join(root, 'shared/cli', file), ...argv], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('bench --help prints its usage and runs no bench', () => {
    const r = run('bench.ts', ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run bench --/);
    // The usage text and nothing else: no bench output after it.
    expect(r.stdout).toBe(`${USAGE}\n`);
  });

  it('backtest -- --help (as npm passes it) prints its usage on stdout', () => {
    const r = run('backtest.ts', ['--', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run backtest --/);
    expect(r.stderr).toBe('');
  });

  it('validate exits 2 naming an unknown flag, on stderr only', () => {
    const r = run('validate.ts', ['--strict', 'db-autopilot.yml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^validate: unknown flag --strict\n/);
    expect(r.stdout).toBe('');
  });
});
