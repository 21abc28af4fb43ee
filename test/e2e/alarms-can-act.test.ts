import { join } from 'node:path';
import { DescribeAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, describe, expect, it } from 'vitest';
import { ALARM_TAGS, alarmPrefix } from '../../shared/alarms/names.ts';
import { reconcileAlarms } from '../../shared/alarms/reconcile.ts';
import { aws } from '../../shared/aws/clients.ts';
import { loadConfigFile } from '../../shared/config/load.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { tuners } from '../../shared/tuners/registry.ts';

/**
 * Alarms are paid for and can only run a tuner: the IOPS tuner's are kept only where it can act.
 * BurstBalance is a gp2 metric (gp3/io1/io2 have no burst bucket: RDS User Guide, rds-metrics),
 * and an Aurora member's storage is the cluster volume, which grows by itself (Aurora User Guide,
 * Aurora.Managing.Performance). An alarm an earlier version created where it cannot act is
 * deleted by the reconciler. SecureCart: orders io1, reports gp2, mysql gp3, an Aurora cluster.
 */
describe('IOPS alarms only where the tuner can act (simulated account)', () => {
  let sim: SimAccount;
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  const shipped = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
  const config = { ...shipped, defaults: { ...shipped.defaults, mode: 'apply' as const } };
  let seq = 0;

  async function setup() {
    sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
  }

  async function reconcile() {
    seq++;
    return reconcileAlarms({
      request: { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `reconcile-${seq}` },
      config,
      store: new MemoryStateStore(),
      tuners,
      now: sim.clock.now(),
    });
  }

  async function iopsAlarmNames(): Promise<string[]> {
    const out = await aws().cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: `${alarmPrefix()}iops-` }),
    );
    return (out.MetricAlarms ?? []).map((a) => a.AlarmName ?? '').sort();
  }

  /** An alarm as an earlier db-autopilot version created it (name, tags). */
  async function leftFromBefore(resourceId: string, key: string, metricName: string): Promise<string> {
    const name = `${alarmPrefix()}iops-${resourceId}-${key}`;
    await aws().cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        Namespace: 'AWS/RDS',
        MetricName: metricName,
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: resourceId }],
        Statistic: 'Average',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 20,
        ComparisonOperator: 'LessThanThreshold',
        Tags: [
          { Key: ALARM_TAGS.managedBy, Value: 'db-autopilot' },
          { Key: ALARM_TAGS.tuner, Value: 'iops' },
          { Key: ALARM_TAGS.resource, Value: resourceId },
          { Key: ALARM_TAGS.key, Value: key },
        ],
      }),
    );
    return name;
  }

  it('keeps BurstBalance for the gp2 volume only and no IOPS alarm on an Aurora member', async () => {
    await setup();
    const summary = await reconcile();
    expect(summary.alarms.failed).toBe(0);
    const names = await iopsAlarmNames();
    const burst = names.filter((n) => n.endsWith('-burst_balance_low'));
    expect(burst).toEqual([`${alarmPrefix()}iops-securecart-reports-burst_balance_low`]);
    // io1 orders still gets its queue-depth and latency alarms (the tuner can raise its IOPS).
    expect(names).toContain(`${alarmPrefix()}iops-securecart-orders-queue_depth_high`);
    expect(names.filter((n) => n.includes('securecart-catalog-aurora'))).toEqual([]);
  });

  it('deletes the IOPS alarms an earlier version left where they can never act', async () => {
    await setup();
    const io1Burst = await leftFromBefore('securecart-orders', 'burst_balance_low', 'BurstBalance');
    const auroraQueue = await leftFromBefore(
      'securecart-catalog-aurora-writer',
      'queue_depth_high',
      'DiskQueueDepth',
    );
    const summary = await reconcile();
    expect(summary.alarms.failed).toBe(0);
    const names = await iopsAlarmNames();
    expect(names).not.toContain(io1Burst);
    expect(names).not.toContain(auroraQueue);
    expect(names).toContain(`${alarmPrefix()}iops-securecart-reports-burst_balance_low`);
  });
});
