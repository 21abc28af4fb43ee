import { AddTagsToResourceCommand } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import type { Decision } from '../../shared/core/model.ts';
import { MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { serverlessBounds } from '../../shared/sim/services/aurora-serverless.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runServerless } from '../../shared/tuners/serverless.ts';
import { exampleConfigApplying } from '../support/config.ts';

/**
 * Opting an Aurora Serverless v2 cluster out (the opt-out tag) after db-autopilot raised its
 * minimum hands the person's own capacity range back on the next run (review.md finding).
 */
const ACCOUNTS = 'securecart-customer-accounts';
const PERSON = { min: 8, max: 32 };

describe('serverless tuner on an opted-out cluster', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('hands the person’s 8-32 ACU back once the cluster is opted out after a raised minimum', async () => {
    const config = exampleConfigApplying('serverless');
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const run = async (at: number) => {
      sim.advanceTo(at);
      return runServerless(
        {
          trigger: 'schedule',
          resourceIds: [ACCOUNTS],
          dryRun: false,
          override: false,
          idempotencyKey: `s-${at}`,
        },
        { config, store, now: sim.clock.now() },
      );
    };
    const start = sim.nowMs();
    let raised: Decision | undefined;
    let t = start;
    for (; t < start + 12 * 60 * MINUTE_MS && !raised; t += 5 * MINUTE_MS) {
      const s = await run(t);
      raised = s.decisions.find(
        (d) =>
          d.action === 'set-serverless-bounds' &&
          d.outcome === 'applied' &&
          (d.to as { min: number }).min > (d.from as { min: number }).min,
      );
    }
    // 07:40, ahead of the 08:00 login storm: the minimum raised above the person's 8 ACU.
    expect((raised?.to as { min: number } | undefined)?.min).toBeGreaterThan(PERSON.min);
    const arn = sim.rds.clusters.get(ACCOUNTS)?.arn;
    await aws().rds.send(
      new AddTagsToResourceCommand({
        ResourceName: arn,
        Tags: [{ Key: 'db-autopilot:opt-out', Value: 'true' }],
      }),
    );
    const next = await run(t + 5 * MINUTE_MS);
    const back = next.decisions.filter((d) => d.resource === ACCOUNTS);
    expect(back.map((d) => [d.action, d.outcome])).toEqual([['set-serverless-bounds', 'applied']]);
    expect(back[0]?.to).toEqual(PERSON);
    expect(back[0]?.reason).toContain('handed back');
    expect(back[0]?.reason).toContain('cluster opted out');
    expect(serverlessBounds(sim, ACCOUNTS)).toMatchObject(PERSON);
    // Nothing more is done to an opted-out cluster, through the login storm and the evening peak.
    for (let u = t + 10 * MINUTE_MS; u < t + 60 * MINUTE_MS; u += 10 * MINUTE_MS) {
      expect((await run(u)).decisions.filter((d) => d.resource === ACCOUNTS)).toEqual([]);
    }
    expect(serverlessBounds(sim, ACCOUNTS)).toMatchObject(PERSON);
  });
});
