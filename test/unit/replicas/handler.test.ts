import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler } from '../../../functions/replica-scaler.ts';
import { configSchema } from '../../../shared/config/schema.ts';
import { tunerEventSchema } from '../../../shared/core/invocation.ts';
import { loadTuner } from '../../../shared/tuners/registry.ts';
import { replicaAlarms } from '../../../shared/tuners/replicas.ts';

const events = join(import.meta.dirname, '../../../events');
const context = {
  awsRequestId: 'req-1',
  functionName: 'replica-scaler',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

describe('replica-scaler function', () => {
  for (const file of ['replica-scheduled.json', 'replica-manual-dry-run.json', 'replica-manual-apply.json']) {
    it(`accepts the sample event ${file}`, () => {
      const event: unknown = JSON.parse(readFileSync(join(events, file), 'utf8'));
      expect(tunerEventSchema.safeParse(event).success).toBe(true);
    });
  }

  it('rejects a malformed event with what is wrong and where, and does nothing', async () => {
    const result = (await handler({ dryRun: 'yes', resources: ['bad id!'] }, context)) as {
      ok: boolean;
      error: string;
    };
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/invalid event/);
  });

  it('is registered in the tuner registry with its adapter and alarms', async () => {
    const reg = await loadTuner('replicas');
    expect(reg?.run).toBeTypeOf('function');
    expect(reg?.adapter).toBeTypeOf('function');
    expect(reg?.alarms).toBeTypeOf('function');
  });

  it('asks for a reader-CPU alarm on each managed Aurora cluster, at the target plus the tolerance', () => {
    const config = configSchema.parse({
      version: 1,
      tuners: {
        replicas: { targetCpuPercent: 60, tolerance: 0.1, sources: { c2: { targetCpuPercent: 50 } } },
      },
    });
    const t = (id: string, kind: 'aurora-cluster' | 'rds-instance', optedOut = false) => ({
      ref: { kind, id },
      tags: {},
      managed: true,
      created: false,
      optedOut,
    });
    const alarms = replicaAlarms(
      [
        t('c1', 'aurora-cluster'),
        t('c2', 'aurora-cluster'),
        t('c3', 'aurora-cluster', true),
        t('db', 'rds-instance'),
      ],
      config,
    );
    expect(alarms.map((a) => [a.resourceId, a.threshold])).toEqual([
      ['c1', 66],
      ['c2', 55],
    ]);
    expect(alarms[0]).toMatchObject({
      tuner: 'replicas',
      metricName: 'CPUUtilization',
      dimensions: { DBClusterIdentifier: 'c1', Role: 'READER' },
      datapointsToAlarm: 2,
      comparison: 'GreaterThanThreshold',
    });
  });
});
