import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

function cost(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      join(root, 'node_modules/.bin/tsx'),
      ['shared/cli/cost.ts', ...args],
      { cwd: root, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

describe('npm run cost', () => {
  it('prints only {"monthlyUsd", "perResource", "byService"} on stdout with --json', {
    timeout: 300_000,
  }, async () => {
    const run = await cost(['--json', '--hours', '1', '--no-postgres', '--out', 'out/cost-test']);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const bill = JSON.parse(run.stdout) as {
      monthlyUsd: number;
      perResource: Record<string, number>;
      byService: Record<string, number>;
    };
    expect(Object.keys(bill).sort()).toEqual(['byService', 'monthlyUsd', 'perResource']);
    expect(bill.monthlyUsd).toBeGreaterThan(0);
    // Every SecureCart table, its GSI and the DB instances have a line; the lines add up.
    for (const id of ['securecart-carts', 'securecart-catalog/index/by-category', 'securecart-orders'])
      expect(bill.perResource[id], id).toBeGreaterThan(0);
    const sum = Object.values(bill.perResource).reduce((s, v) => s + v, 0);
    expect(sum).toBeCloseTo(bill.monthlyUsd, 2);
    expect(bill.byService.cloudwatchGetMetricData).toBeGreaterThan(0);
    expect(bill.byService.lambda).toBeGreaterThan(0);
  });

  it('prints its usage for --help and runs nothing; an unknown flag exits 2 naming it', async () => {
    const help = await cost(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.startsWith('usage:')).toBe(true);
    const bad = await cost(['--fleet', '3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--fleet');
  });

  it('refuses a Region it has no prices for, naming it', { timeout: 300_000 }, async () => {
    const run = await cost([
      '--json',
      '--hours',
      '1',
      '--no-postgres',
      '--region',
      'xx-nowhere-1',
      '--out',
      'out/cost-test-region',
    ]);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('xx-nowhere-1');
  });
});
