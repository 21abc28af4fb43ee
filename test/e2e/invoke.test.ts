import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliUsageError } from '../../shared/cli/args.ts';
import { invokeArgs, invokeEvent } from '../../shared/cli/invoke.ts';

/**
 * `npm run invoke -- FUNCTION [EVENT_FILE]`: one handler on the simulated account, no AWS and no
 * deployed stack, with the configuration as shipped (observe mode: plans only).
 */
const root = join(import.meta.dirname, '../..');

describe('npm run invoke', () => {
  it('runs dynamodb-tuner with events/dynamodb-manual-dry-run.json: JSON on stdout, planned changes and their totals', {
    timeout: 120_000,
  }, () => {
    // As on a fresh clone: only the repository's files, nothing under out/, no AWS credentials.
    const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };
    const r = spawnSync(
      join(root, 'node_modules/.bin/tsx'),
      ['shared/cli/invoke.ts', 'dynamodb-tuner', 'events/dynamodb-manual-dry-run.json'],
      { cwd: root, encoding: 'utf8', env, timeout: 110_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      ok: boolean;
      tuner: string;
      decisions: Array<{ resource: string; action: string; outcome: string; dryRun: boolean }>;
      plan?: { wouldChange: number; wouldSaveMonthly: number; text: string };
    };
    expect(result).toMatchObject({ ok: true, tuner: 'dynamodb' });
    // The event names two tables: every decision is about one of them, and nothing was applied.
    expect(new Set(result.decisions.map((d) => d.resource))).toEqual(
      new Set(['securecart-catalog', 'securecart-sessions']),
    );
    expect(result.decisions.some((d) => d.action === 'set-capacity' && d.outcome === 'planned')).toBe(true);
    expect(result.decisions.every((d) => d.outcome !== 'applied' || d.action === 'recommend')).toBe(true);
    expect(result.plan?.wouldChange).toBeGreaterThan(0);
    expect(result.plan?.text).toMatch(/^would change \d+ \/ would save \$[\d,]+\.\d\d a month/);
  });

  it('reads FUNCTION and EVENT_FILE, and gives a scheduled event without a file', () => {
    const args = invokeArgs({}, ['iops-tuner']);
    expect(args).toEqual({ fn: 'iops-tuner', config: 'db-autopilot.yml', scenario: 'securecart', hours: 2 });
    expect(invokeEvent(args, new Date('2026-11-20T02:00:00Z'), 'us-east-1', '123456789012')).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-11-20T02:00:00.000Z',
    });
    expect(() => invokeArgs({}, [])).toThrow(CliUsageError);
    expect(() =>
      invokeEvent({ ...args, eventFile: 'events/none.json' }, new Date(), 'us-east-1', '1'),
    ).toThrow('events/none.json: no such event file');
  });
});
