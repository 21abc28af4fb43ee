import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const bench = (argv: string[]) =>
  spawnSync(tsx, [join(root, 'shared/cli/bench.ts'), ...argv], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' },
  });

describe('npm run bench -- --accounts A --regions R (issue 27)', () => {
  it('prints the fleet run figures with exactly the keys the issue names', () => {
    const r = bench(['--accounts', '2', '--regions', '2', '--resources', '2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
    expect(Object.keys(out)).toEqual([
      'accounts',
      'regions',
      'resources',
      'wallMs',
      'apiCalls',
      'peakHeapMb',
    ]);
    expect(out).toMatchObject({ accounts: 2, regions: 2, resources: 8 });
    expect(out.apiCalls).toBeGreaterThan(0);
    expect(out.peakHeapMb).toBeGreaterThan(0);
    // Details on stderr: every unit ran, one AssumeRole per account.
    const details = JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}') as {
      units: number;
      statuses: Record<string, number>;
      assumeRoleCalls: number;
    };
    expect(details.units).toBe(2 * 2 * 3);
    expect(details.statuses).toEqual({ done: 12 });
    expect(details.assumeRoleCalls).toBe(2);
  });

  it('exits 2 naming the flag for a bad value', () => {
    const r = bench(['--accounts', '2', '--regions', '9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--regions');
  });
});
