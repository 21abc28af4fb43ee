import { describe, expect, it } from 'vitest';
import { handler } from '../../../functions/iops-tuner.ts';
import { iopsSection } from '../../../shared/config/sections/iops.ts';
import type { Action, Decision, Plan } from '../../../shared/core/model.ts';
import { REPEAT_FINDING_MS, withoutRepeats } from '../../../shared/tuners/common.ts';
import { historyMinutes, recentSeries } from '../../../shared/tuners/iops.ts';

const NOW = new Date('2026-11-20T18:00:00.000Z');

function recommend(): Action {
  return {
    tuner: 'iops',
    resource: { kind: 'rds-instance', id: 'reports' },
    kind: 'recommend',
    from: { storageType: 'gp2' },
    to: { storageType: 'gp3' },
    reason: 'move to gp3',
    evidence: [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: false,
  };
}

function reported(at: string): Decision {
  return {
    id: at,
    runId: 'r',
    at,
    tuner: 'iops',
    resource: 'reports',
    resourceKind: 'rds-instance',
    action: 'recommend',
    outcome: 'applied',
    reason: 'move to gp3',
    evidence: [],
    monthlyCostDelta: 0,
    from: { storageType: 'gp2' },
    to: { storageType: 'gp3' },
    undo: null,
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'warning',
  };
}

describe('IOPS tuner glue', () => {
  it('reports the same recommendation again only after 6 h', () => {
    const plan = (): Plan => ({
      tuner: 'iops',
      resource: { kind: 'rds-instance', id: 'reports' },
      observedAt: NOW.toISOString(),
      actions: [recommend()],
    });
    const recent = plan();
    withoutRepeats(recent, [reported(new Date(NOW.getTime() - 60 * 60_000).toISOString())], NOW);
    expect(recent.actions).toEqual([]);
    expect(recent.noopReason).toMatch(/already reported/);

    const old = plan();
    withoutRepeats(old, [reported(new Date(NOW.getTime() - REPEAT_FINDING_MS - 1).toISOString())], NOW);
    expect(old.actions).toHaveLength(1);
  });

  it('reads a day plus the lock-out of history, or the stabilization window when longer', () => {
    expect(historyMinutes(iopsSection.parse({}))).toBe(24 * 60 + 6 * 60);
    expect(historyMinutes(iopsSection.parse({ scaleDownStabilizationMinutes: 3 * 24 * 60 }))).toBe(
      3 * 24 * 60,
    );
  });

  it('rejects a malformed event with a message that says where, before touching AWS', async () => {
    const result = await handler({ dryRun: 'yes' }, {} as never);
    expect(result).toMatchObject({ ok: false });
    expect(JSON.stringify(result)).toMatch(/dryRun/);
  });

  it('rejects a config section with an invalid utilization, naming the field', () => {
    const parsed = iopsSection.safeParse({ targetUtilization: 1.5 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['targetUtilization']);
  });
});

describe('IOPS tuner metric requests', () => {
  const metricsOf = (storageType: string | undefined) =>
    recentSeries('db-1', storageType).map((s) => s.metric?.metricName);

  it('asks for BurstBalance only of a gp2 instance, the one storage that publishes it', () => {
    expect(metricsOf('gp2')).toContain('BurstBalance');
    for (const storageType of ['gp3', 'io1', 'io2', undefined]) {
      expect(metricsOf(storageType)).not.toContain('BurstBalance');
      expect(metricsOf(storageType)).toEqual(metricsOf('gp2').filter((m) => m !== 'BurstBalance'));
    }
    expect(metricsOf('io1')).toEqual([
      'ReadIOPS',
      'WriteIOPS',
      'DiskQueueDepth',
      'ReadLatency',
      'WriteLatency',
      'EBSIOBalance%',
      'FreeStorageSpace',
    ]);
  });
});
