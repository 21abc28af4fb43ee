import { ConcurrentUpdateException } from '@aws-sdk/client-application-auto-scaling';
import { UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { applyDynamodbCapacity } from '../../shared/adapters/dynamodb-capacity.ts';
import { aws } from '../../shared/aws/clients.ts';
import type { Config } from '../../shared/config/schema.ts';
import { runControl } from '../../shared/control/commands.ts';
import type { Action, Decision } from '../../shared/core/model.ts';
import { DEFAULT_PAUSE_PARAMETER } from '../../shared/core/run.ts';
import { errorMetadata } from '../../shared/sim/errors.ts';
import { HOUR_MS, MINUTE_MS } from '../../shared/sim/index.ts';
import { registerRule } from '../../shared/sim/registry.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { loadTuner } from '../../shared/tuners/registry.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';
import {
  CATALOG,
  CATALOG_RESOURCE,
  personSetsUpTargetTracking,
  READS,
  scalableTargetsOf,
  scalingPoliciesOf,
} from '../support/dynamodb-aas.ts';

/**
 * db-autopilot beside Application Auto Scaling on the simulated account (issue 18): every lift
 * is handed back exactly, per scalable target, from the outcome of its own action; the person's
 * target tracking policy is restored whole after pause and revert; a stale decrease is refused;
 * a person's raise is respected.
 */

const TABLE = CATALOG;
const RESOURCE = CATALOG_RESOURCE;
const READ = READS;

/** ConcurrentUpdateException on the next `failures` RegisterScalableTarget calls. */
let failures = 0;
registerRule('autoscaling', 'RegisterScalableTarget', 'test-concurrent-update', () => {
  if (failures <= 0) return;
  failures--;
  throw new ConcurrentUpdateException({
    message: 'You already have a pending update to an Auto Scaling resource.',
    $metadata: errorMetadata(),
  });
});

const PERSON_POLICY = {
  TargetValue: 60,
  DisableScaleIn: false,
  ScaleInCooldown: 600,
  ScaleOutCooldown: 30,
  PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' as const },
};

function configWith(maxChangesPerRun: number): Config {
  const config = exampleConfigApplying('dynamodb');
  const section = sectionOf(config, 'dynamodb');
  section.maxChangesPerRun = maxChangesPerRun;
  section.autoScaling = { ownScaleIn: true, liftMinutes: 60 };
  return config;
}

/** The person's target tracking (PERSON_POLICY) on `resource`'s reads, 400..10,000. */
const personSetsUp = (resource = RESOURCE) => personSetsUpTargetTracking({ resource, policy: PERSON_POLICY });

async function readTarget() {
  return (await scalableTargetsOf(RESOURCE)).find((t) => t.ScalableDimension === READ);
}

async function readPolicy(resource = RESOURCE) {
  return (await scalingPoliciesOf(resource)).find((p) => p.ScalableDimension === READ)
    ?.TargetTrackingScalingPolicyConfiguration;
}

async function setup(maxChangesPerRun = 10, tables = [TABLE]) {
  const config = configWith(maxChangesPerRun);
  const sim = (await getScenario('securecart')).build({});
  const uninstall = sim.install();
  const store = new MemoryStateStore();
  let seq = 0;
  const run = async (at: number, trigger: 'alarm' | 'schedule' | 'manual' = 'schedule') => {
    sim.advanceTo(at);
    seq++;
    return runDynamodb(
      {
        trigger,
        resourceIds: tables,
        dryRun: false,
        override: false,
        idempotencyKey: `${trigger}-${at}-${seq}`,
      },
      { config, store, now: sim.clock.now() },
    );
  };
  return { config, sim, uninstall, store, run, start: sim.nowMs() };
}

function applied(decisions: Decision[], kind: Decision['action']): Decision[] {
  return decisions.filter((d) => d.action === kind && d.outcome === 'applied');
}

describe('DynamoDB beside Application Auto Scaling (simulated account)', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => {
    uninstall?.();
    failures = 0;
  });

  it('lifts the minimum after a raise under a change cap and a ConcurrentUpdateException, then hands it back exactly', async () => {
    const env = await setup(1);
    uninstall = env.uninstall;
    await personSetsUp();
    await env.run(env.start);
    // Flash sale: the raise is the run's only allowed change, so the lift waits (change cap).
    const t0 = env.start + 12 * HOUR_MS + 4 * MINUTE_MS;
    const first = await env.run(t0, 'alarm');
    expect(applied(first.decisions, 'set-capacity').length + applied(first.decisions, 'prewarm').length).toBe(
      1,
    );
    expect((await readTarget())?.MinCapacity).toBe(400);
    // Next run: Application Auto Scaling answers ConcurrentUpdateException: deferred, tried again.
    failures = 1;
    const second = await env.run(t0 + 2 * MINUTE_MS);
    expect(second.decisions.some((d) => d.action === 'set-scaling-target' && d.outcome === 'deferred')).toBe(
      true,
    );
    expect((await readTarget())?.MinCapacity).toBe(400);
    // Then the lift goes through.
    let lifted = false;
    for (let t = t0 + 4 * MINUTE_MS; t < t0 + 20 * MINUTE_MS && !lifted; t += 2 * MINUTE_MS) {
      const s = await env.run(t);
      lifted = applied(s.decisions, 'set-scaling-target').some((d) => d.reason.includes('minimum lifted'));
    }
    expect(lifted).toBe(true);
    const liftedMin = (await readTarget())?.MinCapacity ?? 0;
    expect(liftedMin).toBeGreaterThan(400);
    // After the lift window the person's minimum comes back exactly.
    let handedBack = false;
    for (let t = t0 + 90 * MINUTE_MS; t < t0 + 4 * HOUR_MS && !handedBack; t += 5 * MINUTE_MS) {
      const s = await env.run(t);
      handedBack = applied(s.decisions, 'set-scaling-target').some((d) => d.reason.includes('handed back'));
    }
    expect(handedBack).toBe(true);
    const after = await readTarget();
    expect(after?.MinCapacity).toBe(400);
    expect(after?.MaxCapacity).toBe(10_000);
  });

  it("restores the person's whole target tracking policy when db-autopilot is paused", async () => {
    const env = await setup();
    uninstall = env.uninstall;
    await personSetsUp();
    await env.run(env.start);
    const ours = await readPolicy();
    expect(ours).toMatchObject({
      TargetValue: 70,
      DisableScaleIn: true,
      ScaleInCooldown: 600,
      ScaleOutCooldown: 30,
    });
    await aws().ssm.send(
      new PutParameterCommand({
        Name: DEFAULT_PAUSE_PARAMETER,
        Value: 'true',
        Type: 'String',
        Overwrite: true,
      }),
    );
    const paused = await env.run(env.start + 10 * MINUTE_MS);
    expect(applied(paused.decisions, 'set-scaling-target')[0]?.reason).toContain('paused');
    expect(await readPolicy()).toEqual(PERSON_POLICY);
    // Nothing else is done while paused.
    expect(paused.decisions.every((d) => d.action === 'set-scaling-target')).toBe(true);
  });

  it('hands back every table in one paused run, each under its own decision id', async () => {
    const OTHER = 'securecart-carts';
    const env = await setup(10, [TABLE, OTHER]);
    uninstall = env.uninstall;
    await personSetsUp();
    await personSetsUp(`table/${OTHER}`);
    await env.run(env.start);
    expect(await readPolicy()).toMatchObject({ TargetValue: 70, DisableScaleIn: true });
    expect(await readPolicy(`table/${OTHER}`)).toMatchObject({ TargetValue: 70, DisableScaleIn: true });
    await aws().ssm.send(
      new PutParameterCommand({
        Name: DEFAULT_PAUSE_PARAMETER,
        Value: 'true',
        Type: 'String',
        Overwrite: true,
      }),
    );
    const paused = await env.run(env.start + 10 * MINUTE_MS);
    const handedBack = applied(paused.decisions, 'set-scaling-target');
    expect(new Set(handedBack.map((d) => d.resource))).toEqual(new Set([TABLE, OTHER]));
    expect(new Set(paused.decisions.map((d) => d.id)).size).toBe(paused.decisions.length);
    expect(paused.decisions.every((d) => d.outcome !== 'failed')).toBe(true);
    expect(await readPolicy()).toEqual(PERSON_POLICY);
    expect(await readPolicy(`table/${OTHER}`)).toEqual(PERSON_POLICY);
  });

  it("restores the person's whole policy when the change is reverted", async () => {
    const env = await setup();
    uninstall = env.uninstall;
    await personSetsUp();
    const first = await env.run(env.start);
    const change = applied(first.decisions, 'set-scaling-target')[0];
    if (!change) throw new Error('no scaling target change');
    // A revert goes through the same guards (the 30-minute cooldown of the example config).
    env.sim.advanceTo(env.start + 31 * MINUTE_MS);
    const result = await runControl(
      { command: 'revert', decisionId: change.id, dryRun: false, override: false },
      {
        ssm: aws().ssm,
        tagging: aws().tagging,
        store: env.store,
        config: () => env.config,
        loadTuner,
        pauseParameter: DEFAULT_PAUSE_PARAMETER,
        now: env.sim.clock.now(),
        requestId: 'revert-policy',
      },
    );
    expect(result, JSON.stringify(result).slice(0, 800)).toMatchObject({ ok: true, reverted: true });
    expect(await readPolicy()).toEqual(PERSON_POLICY);
    expect((await readTarget())?.MinCapacity).toBe(400);
  });

  it('refuses a decrease planned before a later increase', async () => {
    const env = await setup();
    uninstall = env.uninstall;
    const before = env.sim.dynamodb.tables.get(TABLE)?.read ?? 0;
    const plannedAt = env.sim.clock.now().toISOString();
    // A person (or the alarm fast path) raises capacity after the decrease was planned.
    env.sim.advanceTo(env.start + 5 * MINUTE_MS);
    await aws().dynamodb.send(
      new UpdateTableCommand({
        TableName: TABLE,
        ProvisionedThroughput: {
          ReadCapacityUnits: before * 2,
          WriteCapacityUnits: env.sim.dynamodb.tables.get(TABLE)?.write ?? 1,
        },
      }),
    );
    env.sim.advanceTo(env.start + 10 * MINUTE_MS);
    const stale: Action = {
      tuner: 'dynamodb',
      resource: { kind: 'dynamodb-table', id: TABLE },
      kind: 'set-capacity',
      from: null,
      to: null,
      reason: 'planned before the raise',
      evidence: [],
      monthlyCostDelta: 0,
      undo: null,
      mutating: true,
      params: {
        tableName: TABLE,
        direction: 'decrease',
        updates: [
          { indexName: null, read: 5, write: env.sim.dynamodb.tables.get(TABLE)?.write ?? 1, plannedAt },
        ],
      },
    };
    const res = await applyDynamodbCapacity(stale, {
      ref: stale.resource,
      tags: {},
      managed: true,
      created: false,
      optedOut: false,
    });
    expect(res).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('stale decrease refused'),
    });
    expect(env.sim.dynamodb.tables.get(TABLE)?.read).toBe(before * 2);
  });

  it('respects a person raising capacity before an event (drift) instead of lowering it', async () => {
    const env = await setup();
    uninstall = env.uninstall;
    // db-autopilot tunes the quiet table for a while (it lowers capacity at least once).
    let lowered = false;
    for (let t = env.start; t < env.start + 3 * HOUR_MS; t += 10 * MINUTE_MS) {
      const s = await env.run(t);
      lowered ||= applied(s.decisions, 'set-capacity').length > 0;
    }
    expect(lowered).toBe(true);
    const write = env.sim.dynamodb.tables.get(TABLE)?.write ?? 1;
    await aws().dynamodb.send(
      new UpdateTableCommand({
        TableName: TABLE,
        ProvisionedThroughput: { ReadCapacityUnits: 20_000, WriteCapacityUnits: write },
      }),
    );
    const next = await env.run(env.start + 3 * HOUR_MS + 30 * MINUTE_MS);
    expect(next.notes.join(' ')).toContain('raised outside db-autopilot');
    // Within the drift back-off nothing lowers the person's raise.
    for (let t = env.start + 4 * HOUR_MS; t < env.start + 5 * HOUR_MS; t += 10 * MINUTE_MS) await env.run(t);
    expect(env.sim.dynamodb.tables.get(TABLE)?.read).toBe(20_000);
  });
});
