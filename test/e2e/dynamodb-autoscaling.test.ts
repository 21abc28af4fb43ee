import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import { HOUR_MS, MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';

/**
 * A table under Application Auto Scaling target tracking: db-autopilot tunes the target instead
 * of fighting it, raises capacity at once on the throttling alarm and lifts the target's minimum,
 * then hands the minimum back after the lift window.
 */
describe('DynamoDB tuner with Application Auto Scaling', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('lifts the minimum on the alarm fast path, owns scale-in, and hands the minimum back', async () => {
    const config = exampleConfigApplying('dynamodb');
    const section = sectionOf(config, 'dynamodb');
    section.autoScaling = { ownScaleIn: true, liftMinutes: 60 };
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const start = sim.nowMs();
    // A person set up target tracking on the catalog's read capacity (scale-in enabled).
    await aws().autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: 'table/securecart-catalog',
        ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
        MinCapacity: 400,
        MaxCapacity: 10_000,
      }),
    );
    await aws().autoscaling.send(
      new PutScalingPolicyCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: 'table/securecart-catalog',
        ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
        PolicyName: 'catalog-read',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 70,
          DisableScaleIn: false,
          PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' },
        },
      }),
    );
    const store = new MemoryStateStore();
    const run = async (at: number, trigger: 'alarm' | 'schedule') => {
      sim.advanceTo(at);
      return runDynamodb(
        {
          trigger,
          resourceIds: ['securecart-catalog'],
          dryRun: false,
          override: false,
          idempotencyKey: `${trigger}-${at}`,
        },
        { config, store, now: sim.clock.now() },
      );
    };
    await run(start, 'schedule');
    // 12:04 plus CloudWatch's 2-minute publication delay.
    const fast = await run(start + 12 * HOUR_MS + 6 * MINUTE_MS, 'alarm');
    const lift = fast.decisions.find((d) => d.action === 'set-scaling-target' && d.outcome === 'applied');
    expect(lift?.reason).toContain('minimum lifted');
    const targets = await aws().autoscaling.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: 'dynamodb',
        ResourceIds: ['table/securecart-catalog'],
      }),
    );
    const raised = sim.dynamodb.tables.get('securecart-catalog')?.read ?? 0;
    expect(raised).toBeGreaterThan(3_500);
    expect(targets.ScalableTargets?.[0]?.MinCapacity).toBe(raised);
    const policies = await aws().autoscaling.send(
      new DescribeScalingPoliciesCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: 'table/securecart-catalog',
      }),
    );
    expect(policies.ScalingPolicies?.[0]?.TargetTrackingScalingPolicyConfiguration?.DisableScaleIn).toBe(
      true,
    );
    // After the lift window the minimum is handed back.
    let handedBack = false;
    for (
      let t = start + 13 * HOUR_MS + 10 * MINUTE_MS;
      t < start + 15 * HOUR_MS && !handedBack;
      t += 5 * MINUTE_MS
    ) {
      const s = await run(t, 'schedule');
      handedBack = s.decisions.some(
        (d) => d.action === 'set-scaling-target' && d.reason.includes('handed back'),
      );
    }
    expect(handedBack).toBe(true);
    const after = await aws().autoscaling.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: 'dynamodb',
        ResourceIds: ['table/securecart-catalog'],
      }),
    );
    expect(after.ScalableTargets?.[0]?.MinCapacity).toBe(400);
  });
});
