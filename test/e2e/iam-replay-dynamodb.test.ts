import { TagResourceCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import type { Config } from '../../shared/config/schema.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';
import {
  CATALOG,
  liftByAlarm,
  personSetsUpTargetTracking,
  stopManaging,
  untagManaged,
} from '../support/dynamodb-aas.ts';
import type { AuthRequest } from '../support/iam/evaluate.ts';
import { denials, functionRoles, memberRole, recording } from '../support/iam/replay.ts';

/**
 * Every AWS call the DynamoDB tuner makes on the SecureCart account, replayed against the roles
 * it runs with in a real account (the tuner's, the alarm handler's, the fleet member role): a
 * person's console-made Application Auto Scaling target carries no tags, and a table may be
 * managed by name only. The lift of the target's minimum and the hand-back must both be allowed
 * (test/support/iam/ says what the evaluator models).
 */
const TABLE = CATALOG;

function applyConfig(): Config {
  const config = exampleConfigApplying('dynamodb');
  const section = sectionOf(config, 'dynamodb');
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
    await personSetsUpTargetTracking();
    await prepare?.(sim);
    const requests: AuthRequest[] = [];
    const { run, liftedAt, lift } = await liftByAlarm(sim, config, {
      around: async (go) => {
        const { result, requests: made } = await recording(sim, go);
        requests.push(...made);
        return result;
      },
    });
    const liftOfTable = lift.decisions.filter(
      (d) => d.action === 'set-scaling-target' && d.resource === TABLE,
    );
    expect(liftOfTable.map((d) => d.outcome)).toContain('applied');
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
    const { requests } = await lifted(config, (sim) => untagManaged(sim));
    expect(config.tuners.dynamodb?.resources.identifiers).toContain(TABLE);
    expect(scalingCalls(requests).length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.action === 'dynamodb:UpdateTable').length).toBeGreaterThan(0);
    expect(denials(requests, roles(config))).toEqual([]);
  });

  it('allows handing the target back after the table is opted out or no longer managed', async () => {
    const config = applyConfig();
    const { sim, run, liftedAt, requests } = await lifted(config);
    await stopManaging(config, sim);
    await aws().dynamodb.send(
      new TagResourceCommand({
        ResourceArn: sim.dynamodb.tables.get(TABLE)?.arn,
        Tags: [{ Key: 'db-autopilot:opt-out', Value: 'true' }],
      }),
    );
    const before = requests.length;
    const next = await run(liftedAt + 5 * MINUTE_MS, 'schedule', [TABLE]);
    const back = next.decisions.filter((d) => d.action === 'set-scaling-target');
    expect(back.map((d) => d.outcome)).toEqual(['applied']);
    expect(back[0]?.reason).toContain('handed back');
    expect(scalingCalls(requests.slice(before)).length).toBeGreaterThan(0);
    expect(denials(requests, roles(config))).toEqual([]);
  });
});
