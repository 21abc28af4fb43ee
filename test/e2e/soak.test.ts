import { describe, expect, it } from 'vitest';
import { parseSoakArgs, runSoak } from '../../shared/cli/soak.ts';

describe('npm run soak', () => {
  it('prints usage and exits 0 for --help', () => {
    const out = parseSoakArgs(['--help']);
    expect(out).toMatchObject({ exit: 0 });
    expect('message' in out && out.message).toMatch(
      /^usage: npm run soak -- --hours N --rate R --seed S \[--json\]/,
    );
  });

  it('exits 2 naming an unknown flag', () => {
    const out = parseSoakArgs(['--hours', '2', '--bogus']);
    expect(out).toMatchObject({ exit: 2 });
    expect('message' in out && out.message).toContain('--bogus');
  });

  it('exits 2 on a rate outside 0-1', () => {
    expect(parseSoakArgs(['--rate', '1.5'])).toMatchObject({ exit: 2 });
  });

  it('reads --hours, --rate, --seed and --json', () => {
    expect(parseSoakArgs(['--', '--hours', '200', '--rate', '0.2', '--seed', '3', '--json'])).toEqual({
      options: { hours: 200, rate: 0.2, seed: 3 },
      json: true,
    });
  });

  it('holds every check through 3 virtual hours of faults at rate 0.2 (real handlers, simulated account)', async () => {
    const result = await runSoak({ hours: 3, rate: 0.2, seed: 7 });
    expect(Object.keys(result).sort()).toEqual(['detail', 'faults', 'hours', 'runs', 'violations']);
    expect(result.runs).toBeGreaterThan(100);
    expect(result.faults).toBeGreaterThan(50);
    expect(result.detail.failedInvocations).toBeGreaterThan(0);
    expect(result.violations).toEqual({
      bounds: 0,
      nonOwnedDeleted: 0,
      doubleActed: 0,
      unrecordedChanges: 0,
      orphans: 0,
      crashes: 0,
      pauseBreaches: 0,
    });
  }, 300_000);
});
