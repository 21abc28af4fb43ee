import { TagResourceCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import type { Config } from '../../shared/config/schema.ts';
import { MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';
import {
  CATALOG,
  liftByAlarm,
  personSetsUpTargetTracking,
  READS,
  READS_AT_70,
  scalableTargetsOf,
  scalingPoliciesOf,
  stopManaging,
} from '../support/dynamodb-aas.ts';

/**
 * When db-autopilot stops tuning a table (opt-out tag, dropped from the config's resources), the
 * Application Auto Scaling settings it changed are handed back to the person's exactly: the lifted
 * minimum and the target tracking policy it set DisableScaleIn on (review.md, DynamoDB finding).
 */
const TABLE = CATALOG;
const DIM = READS;

describe('DynamoDB hand-back when db-autopilot stops tuning a table', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  async function liftedCatalog() {
    const config: Config = exampleConfigApplying('dynamodb');
    const section = sectionOf(config, 'dynamodb');
    section.autoScaling = { ownScaleIn: true, liftMinutes: 60 };
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    // A person set up target tracking on the catalog's read capacity (scale-in enabled).
    await personSetsUpTargetTracking({
      policy: { ...READS_AT_70, DisableScaleIn: false, ScaleInCooldown: 120 },
    });
    const { run, liftedAt, lift: fast, store } = await liftByAlarm(sim, config, { firstRun: [TABLE] });
    expect(fast.decisions.some((d) => d.action === 'set-scaling-target' && d.outcome === 'applied')).toBe(
      true,
    );
    const lifted = await scalingNow();
    expect(lifted.min).toBeGreaterThan(400);
    expect(lifted.disableScaleIn).toBe(true);
    return { config, sim, run, liftedAt, store };
  }

  async function scalingNow() {
    const target = (await scalableTargetsOf()).find((t) => t.ScalableDimension === DIM);
    const policy = (await scalingPoliciesOf()).find((p) => p.PolicyName === 'catalog-read');
    const tracking = policy?.TargetTrackingScalingPolicyConfiguration;
    return {
      min: target?.MinCapacity,
      max: target?.MaxCapacity,
      disableScaleIn: tracking?.DisableScaleIn,
      targetValue: tracking?.TargetValue,
      scaleInCooldown: tracking?.ScaleInCooldown,
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

  it.each([
    ['a minimum of the wrong type', { originalMin: '400' }, 'originalMin: Invalid input: expected number'],
    ['a missing dimension', { scalableDimension: undefined }, 'scalableDimension: Invalid'],
    ['an out-of-range minimum', { originalMin: 0 }, 'originalMin: Too small'],
    [
      'another table’s target',
      { resourceId: 'table/securecart-carts' },
      'names table/securecart-carts, not table securecart-catalog',
    ],
  ])(
    'never hands back a malformed stored lease (%s): changes nothing, says why, once',
    async (_, edit, why) => {
      const { sim, run, liftedAt, store } = await liftedCatalog();
      const history = await store.getHistory('dynamodb', TABLE, sim.clock.now());
      const lifts = history.tunerState?.lifts as Record<string, Record<string, unknown>>;
      const [key, lease] = Object.entries(lifts)[0] ?? [];
      if (!key || !lease) throw new Error('no lease recorded');
      await store.putTunerState('dynamodb', TABLE, {
        ...history.tunerState,
        lifts: { ...lifts, [key]: { ...lease, ...edit } },
      });
      const lifted = await scalingNow();
      const arn = sim.dynamodb.tables.get(TABLE)?.arn;
      await aws().dynamodb.send(
        new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'db-autopilot:opt-out', Value: 'true' }] }),
      );
      const next = await run(liftedAt + 5 * MINUTE_MS, 'schedule', [TABLE]);
      const mine = next.decisions.filter((d) => d.resource === TABLE);
      expect(mine.map((d) => [d.action, d.outcome])).toEqual([['recommend', 'applied']]);
      expect(mine[0]?.reason).toContain(`did not hand back lease ${key}: its stored record is not valid (`);
      expect(mine[0]?.reason).toContain(why);
      expect(await scalingNow()).toEqual(lifted);
      // Told once; still nothing set.
      const later = await run(liftedAt + 10 * MINUTE_MS, 'schedule', [TABLE]);
      expect(later.decisions.filter((d) => d.resource === TABLE)).toEqual([]);
      expect(await scalingNow()).toEqual(lifted);
    },
  );

  it('says which stored lease a managed table’s run treats as absent', async () => {
    const { sim, run, liftedAt, store } = await liftedCatalog();
    const history = await store.getHistory('dynamodb', TABLE, sim.clock.now());
    await store.putTunerState('dynamodb', TABLE, {
      ...history.tunerState,
      lifts: { [`${TABLE}:read`]: 'x' },
    });
    const next = await run(liftedAt + 5 * MINUTE_MS, 'schedule', [TABLE]);
    expect(next.notes.join('\n')).toContain(`${TABLE}: stored lease ${TABLE}:read is not valid (`);
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
