import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import type { Config } from '../../shared/config/schema.ts';
import { HOUR_MS, MINUTE_MS, type SimAccount } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';

/**
 * When db-autopilot stops tuning a table (opt-out tag, dropped from the config's resources), the
 * Application Auto Scaling settings it changed are handed back to the person's exactly: the lifted
 * minimum and the target tracking policy it set DisableScaleIn on (review.md, DynamoDB finding).
 */
const TABLE = 'securecart-catalog';
const DIM = 'dynamodb:table:ReadCapacityUnits';

describe('DynamoDB hand-back when db-autopilot stops tuning a table', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  async function liftedCatalog() {
    const config: Config = exampleConfigApplying('dynamodb');
    const section = sectionOf(config, 'dynamodb');
    section.autoScaling = { ownScaleIn: true, liftMinutes: 60 };
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const start = sim.nowMs();
    // A person set up target tracking on the catalog's read capacity (scale-in enabled).
    await aws().autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: `table/${TABLE}`,
        ScalableDimension: DIM,
        MinCapacity: 400,
        MaxCapacity: 10_000,
      }),
    );
    await aws().autoscaling.send(
      new PutScalingPolicyCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: `table/${TABLE}`,
        ScalableDimension: DIM,
        PolicyName: 'catalog-read',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 70,
          DisableScaleIn: false,
          ScaleInCooldown: 120,
          PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' },
        },
      }),
    );
    const store = new MemoryStateStore();
    const run = async (at: number, trigger: 'alarm' | 'schedule', resourceIds?: string[]) => {
      sim.advanceTo(at);
      return runDynamodb(
        { trigger, resourceIds, dryRun: false, override: false, idempotencyKey: `${trigger}-${at}` },
        { config, store, now: sim.clock.now() },
      );
    };
    await run(start, 'schedule', [TABLE]);
    // 12:04 plus CloudWatch's 2-minute publication delay: the throttling alarm lifts the minimum.
    const liftedAt = start + 12 * HOUR_MS + 6 * MINUTE_MS;
    const fast = await run(liftedAt, 'alarm', [TABLE]);
    expect(fast.decisions.some((d) => d.action === 'set-scaling-target' && d.outcome === 'applied')).toBe(
      true,
    );
    const lifted = await scalingNow();
    expect(lifted.min).toBeGreaterThan(400);
    expect(lifted.disableScaleIn).toBe(true);
    return { config, sim, run, liftedAt };
  }

  async function scalingNow() {
    const targets = await aws().autoscaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb', ResourceIds: [`table/${TABLE}`] }),
    );
    const policies = await aws().autoscaling.send(
      new DescribeScalingPoliciesCommand({ ServiceNamespace: 'dynamodb', ResourceId: `table/${TABLE}` }),
    );
    const target = targets.ScalableTargets?.find((t) => t.ScalableDimension === DIM);
    const policy = policies.ScalingPolicies?.find((p) => p.PolicyName === 'catalog-read');
    const tracking = policy?.TargetTrackingScalingPolicyConfiguration;
    return {
      min: target?.MinCapacity,
      max: target?.MaxCapacity,
      disableScaleIn: tracking?.DisableScaleIn,
      targetValue: tracking?.TargetValue,
      scaleInCooldown: tracking?.ScaleInCooldown,
    };
  }

  /** The catalog no longer managed: its managed tag and its name in the config's resources dropped. */
  async function stopManaging(config: Config, sim: SimAccount) {
    // The scenario's tables carry the managed tag too: without it only the config could manage it.
    await aws().dynamodb.send(
      new UntagResourceCommand({
        ResourceArn: sim.dynamodb.tables.get(TABLE)?.arn,
        TagKeys: ['db-autopilot:managed'],
      }),
    );
    const section = sectionOf(config, 'dynamodb');
    section.resources = {
      ...section.resources,
      identifiers: (section.resources.identifiers ?? []).filter((id) => id !== TABLE),
    };
  }

  function expectPersonSettings(now: Awaited<ReturnType<typeof scalingNow>>) {
    expect(now).toEqual({
      min: 400,
      max: 10_000,
      disableScaleIn: false,
      targetValue: 70,
      scaleInCooldown: 120,
    });
  }

  it('hands the lifted minimum and the person policy back on the next run once the table is opted out', async () => {
    const { sim, run, liftedAt } = await liftedCatalog();
    const arn = sim.dynamodb.tables.get(TABLE)?.arn;
    await aws().dynamodb.send(
      new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'db-autopilot:opt-out', Value: 'true' }] }),
    );
    // Well inside the 60-minute lift: only the opt-out can hand it back.
    const next = await run(liftedAt + 5 * MINUTE_MS, 'schedule', [TABLE]);
    const back = next.decisions.filter((d) => d.action === 'set-scaling-target');
    expect(back.map((d) => d.outcome)).toEqual(['applied']);
    expect(back[0]?.reason).toContain('handed back');
    expect(back[0]?.reason).toContain('table opted out');
    // Nothing else is done to an opted-out table.
    expect(
      next.decisions.filter((d) => d.action !== 'set-scaling-target' && d.outcome === 'applied'),
    ).toEqual([]);
    expectPersonSettings(await scalingNow());
    // Handed back once: the next run has nothing left to restore.
    const later = await run(liftedAt + 10 * MINUTE_MS, 'schedule', [TABLE]);
    expect(later.decisions.filter((d) => d.action === 'set-scaling-target')).toEqual([]);
    expectPersonSettings(await scalingNow());
  });

  it('hands the settings back once the table is no longer managed (config resources and managed tag dropped)', async () => {
    const { config, sim, run, liftedAt } = await liftedCatalog();
    await stopManaging(config, sim);
    // A scheduled run over every managed table (the catalog is no longer one of them).
    const next = await run(liftedAt + 5 * MINUTE_MS, 'schedule');
    const back = next.decisions.filter((d) => d.resource === TABLE && d.action === 'set-scaling-target');
    expect(back.map((d) => d.outcome)).toEqual(['applied']);
    expect(back[0]?.reason).toContain('table no longer managed');
    expect(next.decisions.filter((d) => d.resource === TABLE && d.action !== 'set-scaling-target')).toEqual(
      [],
    );
    expectPersonSettings(await scalingNow());
  });

  it('hands one table back and tunes the others in the same run, each decision under its own id', async () => {
    const { config, sim, run, liftedAt } = await liftedCatalog();
    await stopManaging(config, sim);
    const next = await run(liftedAt + 5 * MINUTE_MS, 'schedule');
    // The hand-back and the other tables' tuning share the run's numbering: no id is used twice, so
    // no table's tuning fails with "decision ... is already recorded".
    expect(next.decisions.some((d) => d.resource === TABLE && d.outcome === 'applied')).toBe(true);
    expect(next.decisions.some((d) => d.resource !== TABLE)).toBe(true);
    expect(new Set(next.decisions.map((d) => d.id)).size).toBe(next.decisions.length);
    expect(next.decisions.filter((d) => d.reason.includes('already recorded'))).toEqual([]);
  });
});
