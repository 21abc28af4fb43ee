import { afterEach, describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';
import {
  CATALOG,
  liftByAlarm,
  personSetsUpTargetTracking,
  READS_AT_70,
  scalableTargetsOf,
  scalingPoliciesOf,
} from '../support/dynamodb-aas.ts';

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
    // A person set up target tracking on the catalog's read capacity (scale-in enabled).
    await personSetsUpTargetTracking({ policy: { ...READS_AT_70, DisableScaleIn: false } });
    // The catalog's evening throttling alarm (12:04 plus CloudWatch's 2-minute publication delay).
    const { run, start, lift: fast } = await liftByAlarm(sim, config, { firstRun: [CATALOG] });
    const lift = fast.decisions.find((d) => d.action === 'set-scaling-target' && d.outcome === 'applied');
    expect(lift?.reason).toContain('minimum lifted');
    const targets = await scalableTargetsOf();
    const raised = sim.dynamodb.tables.get('securecart-catalog')?.read ?? 0;
    expect(raised).toBeGreaterThan(3_500);
    expect(targets[0]?.MinCapacity).toBe(raised);
    const policies = await scalingPoliciesOf();
    expect(policies[0]?.TargetTrackingScalingPolicyConfiguration?.DisableScaleIn).toBe(true);
    // After the lift window the minimum is handed back.
    let handedBack = false;
    for (
      let t = start + 13 * HOUR_MS + 10 * MINUTE_MS;
      t < start + 15 * HOUR_MS && !handedBack;
      t += 5 * MINUTE_MS
    ) {
      const s = await run(t, 'schedule', [CATALOG]);
      handedBack = s.decisions.some(
        (d) => d.action === 'set-scaling-target' && d.reason.includes('handed back'),
      );
    }
    expect(handedBack).toBe(true);
    const after = await scalableTargetsOf();
    expect(after[0]?.MinCapacity).toBe(400);
  });
});
