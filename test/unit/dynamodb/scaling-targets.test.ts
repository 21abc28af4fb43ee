import { describe, expect, it } from 'vitest';
import {
  type CapacityResourceObservation,
  handBackAll,
  planScalingTargets,
  planTableCapacity,
  type ScalableTargetObservation,
  type ScalingLift,
  scalingFloors,
} from '../../../shared/policies/dynamodb-capacity.ts';
import { priceTable } from '../../../shared/pricing.ts';
import { config, flat, NOW, resource, table } from './fixtures.ts';

function target(
  dim: 'read' | 'write',
  over: Partial<ScalableTargetObservation> = {},
): ScalableTargetObservation {
  return {
    resourceId: 'table/catalog',
    scalableDimension: `dynamodb:table:${dim === 'read' ? 'Read' : 'Write'}CapacityUnits`,
    minCapacity: 50,
    maxCapacity: 4000,
    policyName: `catalog-${dim}`,
    targetValue: 70,
    disableScaleIn: true,
    ...over,
  };
}

function autoscaled(
  read: number,
  readRate: number,
  throttles: number,
  over: Partial<ScalableTargetObservation> = {},
): CapacityResourceObservation {
  return resource(
    null,
    read,
    100,
    { read: flat(30, readRate, { throttles }), write: flat(30, 60) },
    { scalableTargets: { read: target('read', over), write: target('write') } },
  );
}

describe('working with Application Auto Scaling', () => {
  it('on throttling raises capacity at once and lifts the target minimum so it is not scaled straight back', () => {
    const obs = table(autoscaled(100, 100, 3000));
    const { plan, proposed } = planTableCapacity({
      observation: obs,
      config: config(),
      prices: priceTable(),
      now: NOW,
    });
    expect(plan.actions[0]?.kind).toBe('set-capacity');
    const { actions, changes } = planScalingTargets({
      observation: obs,
      config: config(),
      proposed,
      lifts: {},
      now: NOW,
    });
    expect(actions).toHaveLength(1);
    expect(actions[0]?.params).toMatchObject({ resourceId: 'table/catalog', minCapacity: 215 });
    expect(changes[0]?.key).toBe('(table):read');
    expect(changes[0]?.next).toMatchObject({
      originalMin: 50,
      liftedTo: 215,
      until: '2026-03-10T13:00:00.000Z',
    });
  });

  it('hands the minimum back after the lift window', () => {
    const obs = table(autoscaled(215, 100, 0, { minCapacity: 215 }));
    const lifts = {
      '(table):read': {
        resourceId: 'table/catalog',
        scalableDimension: 'dynamodb:table:ReadCapacityUnits',
        originalMin: 50,
        liftedTo: 215,
        until: '2026-03-10T11:59:00.000Z',
      },
    };
    const proposed = new Map([['(table)', { read: 215, write: 100 }]]);
    const r = planScalingTargets({ observation: obs, config: config(), proposed, lifts, now: NOW });
    expect(r.actions[0]?.params).toMatchObject({ minCapacity: 50 });
    expect(r.changes[0]).toEqual({ key: '(table):read', next: undefined });
  });

  it('keeps capacity at the lifted minimum while the lift lasts', () => {
    const obs = table(autoscaled(215, 10, 0, { minCapacity: 215 }));
    const lifts = {
      '(table):read': {
        resourceId: 'table/catalog',
        scalableDimension: 'dynamodb:table:ReadCapacityUnits',
        originalMin: 50,
        liftedTo: 215,
        until: '2026-03-10T12:30:00.000Z',
      },
    };
    const floors = scalingFloors(obs, config(), lifts, NOW);
    const { plan } = planTableCapacity({
      observation: obs,
      config: config(),
      prices: priceTable(),
      now: NOW,
      floors,
    });
    const read = plan.actions.filter((a) => a.kind === 'set-capacity');
    expect(read.every((a) => JSON.stringify(a.params).includes('"read":215'))).toBe(true);
  });

  it('turns off scale-in on the target tracking policy where db-autopilot owns scale-in', () => {
    const obs = table(autoscaled(100, 60, 0, { disableScaleIn: false }));
    const proposed = new Map([['(table)', { read: 100, write: 100 }]]);
    const { actions } = planScalingTargets({
      observation: obs,
      config: config(),
      proposed,
      lifts: {},
      now: NOW,
    });
    expect(actions[0]?.params?.policy).toEqual({
      policyName: 'catalog-read',
      targetValue: 70,
      disableScaleIn: true,
    });
  });

  it("keeps the rest of the person's policy (cooldowns, metric) and records it whole to restore", () => {
    const person = {
      policyName: 'catalog-read',
      targetValue: 50,
      disableScaleIn: false,
      scaleInCooldown: 600,
      scaleOutCooldown: 30,
      predefinedMetricType: 'DynamoDBReadCapacityUtilization',
    };
    const obs = table(autoscaled(100, 60, 0, { targetValue: 50, disableScaleIn: false, policy: person }));
    const r = planScalingTargets({
      observation: obs,
      config: config(),
      proposed: new Map([['(table)', { read: 100, write: 100 }]]),
      lifts: {},
      now: NOW,
    });
    expect(r.actions[0]?.params?.policy).toEqual({ ...person, targetValue: 70, disableScaleIn: true });
    expect(r.changes[0]?.next?.originalPolicy).toEqual(person);
    expect(r.actions[0]?.undo?.params.policy).toEqual(person);
    // Handing back restores the person's policy exactly, with their minimum.
    const back = handBackAll(
      { '(table):read': r.changes[0]?.next as ScalingLift },
      obs.table as never,
      'paused',
    );
    expect(back.actions[0]?.params?.policy).toEqual(person);
  });

  it("hands back a lifted maximum as well as the minimum, each to the person's value", () => {
    const obs = table(autoscaled(100, 100, 3000, { minCapacity: 50, maxCapacity: 150 }));
    const lift = planScalingTargets({
      observation: obs,
      config: config(),
      proposed: new Map([['(table)', { read: 215, write: 100 }]]),
      lifts: {},
      now: NOW,
    });
    expect(lift.actions[0]?.params).toMatchObject({ minCapacity: 215, maxCapacity: 215 });
    const lease = lift.changes[0]?.next as ScalingLift;
    expect(lease).toMatchObject({ originalMin: 50, originalMax: 150, liftedTo: 215, liftedMax: 215 });
    const later = new Date(Date.parse(lease.until ?? '') + 60_000);
    const after = table(autoscaled(215, 50, 0, { minCapacity: 215, maxCapacity: 215 }));
    const back = planScalingTargets({
      observation: after,
      config: config(),
      proposed: new Map([['(table)', { read: 215, write: 100 }]]),
      lifts: { '(table):read': lease },
      now: later,
    });
    expect(back.actions[0]?.params).toMatchObject({ minCapacity: 50, maxCapacity: 150 });
  });

  it('respects a person who changed a lifted minimum: their value is the one handed back', () => {
    const lease: ScalingLift = {
      resourceId: 'table/catalog',
      scalableDimension: 'dynamodb:table:ReadCapacityUnits',
      originalMin: 50,
      liftedTo: 215,
      until: '2026-03-10T12:30:00.000Z',
    };
    // A person raised the minimum to 800 before an event.
    const obs = table(autoscaled(800, 100, 0, { minCapacity: 800 }));
    const r = planScalingTargets({
      observation: obs,
      config: config(),
      proposed: new Map([['(table)', { read: 800, write: 100 }]]),
      lifts: { '(table):read': lease },
      now: NOW,
    });
    expect(r.lifts['(table):read']).toBeUndefined();
    expect(r.actions.every((a) => a.params?.minCapacity === undefined)).toBe(true);
  });

  it('never lowers capacity itself where target tracking owns scale-in', () => {
    const obs = table(autoscaled(1000, 10, 0, { disableScaleIn: false }));
    const readLowered = (own: boolean) => {
      const cfg = config({ autoScaling: { ownScaleIn: own, liftMinutes: 60 } });
      const floors = scalingFloors(obs, cfg, {}, NOW);
      const { plan } = planTableCapacity({
        observation: obs,
        config: cfg,
        prices: priceTable(),
        now: NOW,
        floors,
      });
      return plan.actions.some((a) =>
        ((a.params as { updates?: Array<{ read: number }> } | undefined)?.updates ?? []).some(
          (u) => u.read < 1000,
        ),
      );
    };
    expect(readLowered(true)).toBe(true);
    expect(readLowered(false)).toBe(false);
  });

  it('never lowers capacity below the scalable target minimum, even where it owns scale-in', () => {
    const obs = table(autoscaled(1000, 10, 0, { minCapacity: 400 }));
    const cfg = config({ autoScaling: { ownScaleIn: true, liftMinutes: 60 } });
    const floors = scalingFloors(obs, cfg, {}, NOW);
    const { plan } = planTableCapacity({
      observation: obs,
      config: cfg,
      prices: priceTable(),
      now: NOW,
      floors,
    });
    const reads = plan.actions.flatMap(
      (a) => (a.params as { updates?: Array<{ read?: number }> } | undefined)?.updates ?? [],
    );
    expect(reads.some((u) => u.read !== undefined && u.read < 1000)).toBe(true);
    expect(reads.every((u) => u.read === undefined || u.read >= 400)).toBe(true);
  });
});
