import { join } from 'node:path';
import {
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import { loadConfigFile } from '../../shared/config/load.ts';
import type { Config } from '../../shared/config/schema.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { HOUR_MS, MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import type { AuthRequest } from '../support/iam/evaluate.ts';
import { denials, functionRoles, memberRole, recording } from '../support/iam/replay.ts';

/**
 * Every AWS call the DynamoDB tuner makes on the SecureCart account, replayed against the roles
 * it runs with in a real account (the tuner's, the alarm handler's, the fleet member role): a
 * person's console-made Application Auto Scaling target carries no tags, and a table may be
 * managed by name only. The lift of the target's minimum and the hand-back must both be allowed
 * (test/support/iam/ says what the evaluator models).
 */
const TABLE = 'securecart-catalog';
const DIM = 'dynamodb:table:ReadCapacityUnits';
const MANAGED_TAG = 'db-autopilot:managed';

function applyConfig(): Config {
  const config = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
  config.defaults.mode = 'apply';
  const section = config.tuners.dynamodb;
  if (!section) throw new Error('no dynamodb section');
  section.mode = 'apply';
  section.autoScaling = { ownScaleIn: true, liftMinutes: 60 };
  return config;
}

/** The roles that run the DynamoDB tuner: on schedule, on an alarm, and in a fleet member account. */
const roles = (config: Config) => [
  ...functionRoles(['dynamodb-tuner', 'alarm-handler'], config),
  memberRole(config),
];

describe('IAM replay: the DynamoDB tuner on a person-made auto scaling target', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  /** SecureCart, a person's untagged target tracking on the catalog's reads, a lift at the evening alarm. */
  async function lifted(config: Config, prepare?: (sim: SimAccount) => Promise<void>) {
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const start = sim.nowMs();
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
          PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' },
        },
      }),
    );
    await prepare?.(sim);
    const store = new MemoryStateStore();
    const requests: AuthRequest[] = [];
    const run = async (at: number, trigger: 'alarm' | 'schedule', resourceIds?: string[]) => {
      sim.advanceTo(at);
      const { result, requests: made } = await recording(sim, () =>
        runDynamodb(
          { trigger, resourceIds, dryRun: false, override: false, idempotencyKey: `${trigger}-${at}` },
          { config, store, now: sim.clock.now() },
        ),
      );
      requests.push(...made);
      return result;
    };
    await run(start, 'schedule');
    const liftedAt = start + 12 * HOUR_MS + 6 * MINUTE_MS;
    const fast = await run(liftedAt, 'alarm', [TABLE]);
    const lift = fast.decisions.filter((d) => d.action === 'set-scaling-target' && d.resource === TABLE);
    expect(lift.map((d) => d.outcome)).toContain('applied');
    return { sim, run, liftedAt, requests };
  }

  const scalingCalls = (requests: AuthRequest[]) =>
    requests.filter((r) => /RegisterScalableTarget|PutScalingPolicy/.test(r.action));

  it('allows lifting the minimum of a tag-managed table whose target a person made (untagged)', async () => {
    const config = applyConfig();
    const { requests } = await lifted(config);
    expect(scalingCalls(requests).length).toBeGreaterThan(0);
    expect(denials(requests, roles(config))).toEqual([]);
  });

  it('allows tuning a table managed by name only (no managed tag on it)', async () => {
    const config = applyConfig();
    const { requests } = await lifted(config, async (sim) => {
      await aws().dynamodb.send(
        new UntagResourceCommand({
          ResourceArn: sim.dynamodb.tables.get(TABLE)?.arn,
          TagKeys: [MANAGED_TAG],
        }),
      );
    });
    expect(config.tuners.dynamodb?.resources.identifiers).toContain(TABLE);
    expect(scalingCalls(requests).length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.action === 'dynamodb:UpdateTable').length).toBeGreaterThan(0);
    expect(denials(requests, roles(config))).toEqual([]);
  });

  it('allows handing the target back after the table is opted out or no longer managed', async () => {
    const config = applyConfig();
    const { sim, run, liftedAt, requests } = await lifted(config);
    const arn = sim.dynamodb.tables.get(TABLE)?.arn;
    await aws().dynamodb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: [MANAGED_TAG] }));
    await aws().dynamodb.send(
      new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'db-autopilot:opt-out', Value: 'true' }] }),
    );
    const section = config.tuners.dynamodb;
    if (section)
      section.resources = {
        ...section.resources,
        identifiers: section.resources.identifiers.filter((id) => id !== TABLE),
      };
    const before = requests.length;
    const next = await run(liftedAt + 5 * MINUTE_MS, 'schedule', [TABLE]);
    const back = next.decisions.filter((d) => d.action === 'set-scaling-target');
    expect(back.map((d) => d.outcome)).toEqual(['applied']);
    expect(back[0]?.reason).toContain('handed back');
    expect(scalingCalls(requests.slice(before)).length).toBeGreaterThan(0);
    expect(denials(requests, roles(config))).toEqual([]);
  });
});
