import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultMaxConnections, smallerClasses } from '../../../shared/aws/instance-classes.ts';
import { rightsizingSection } from '../../../shared/config/sections/rightsizing.ts';
import {
  findIdle,
  findSmallerClass,
  planRightsizing,
  type RightsizingObservation,
} from '../../../shared/policies/rightsizing.ts';
import { priceTable } from '../../../shared/pricing.ts';

const settings = rightsizingSection.parse({});
const prices = priceTable();
const HOURS = 14 * 24;

function obs(
  o: Partial<RightsizingObservation> & { connections: number | null; cpu: number | null },
): RightsizingObservation {
  return {
    id: 'staging',
    kind: 'rds-instance',
    engine: 'postgres',
    instanceClass: 'db.r6g.2xlarge',
    multiAz: false,
    allocatedGiB: 100,
    storagePricePerGbMonth: 0.115,
    createdAt: '2026-10-01T00:00:00.000Z',
    observedAt: '2026-11-20T00:00:00.000Z',
    window: { start: '2026-11-06T00:00:00.000Z', end: '2026-11-20T00:00:00.000Z' },
    hourly: {
      connectionsMax: Array.from({ length: HOURS }, () => o.connections),
      cpuMax: Array.from({ length: HOURS }, () => o.cpu),
    },
    ...o,
  };
}

describe('right-sizing policy', () => {
  it('recommends an instance with no connection for 7 days as idle, with the monthly saving', () => {
    const plan = planRightsizing(obs({ connections: 0, cpu: 2 }), settings, prices);
    const a = plan.actions[0];
    expect(a?.kind).toBe('idle-instance');
    expect(a?.mutating).toBe(false);
    // db.r6g.2xlarge: 8 vCPUs x $0.1125 x 730 h = $657 + 100 GiB x $0.115 = $11.50.
    expect(a?.monthlyCostDelta).toBeCloseTo(-668.5, 1);
    expect(a?.reason).toMatch(/RDS starts a stopped instance again after 7 days/);
  });

  it('does not call an instance idle when one hour had a connection', () => {
    const o = obs({ connections: 0, cpu: 2 });
    o.hourly.connectionsMax[HOURS - 3] = 1;
    expect(findIdle(o, settings).idle).toBe(false);
  });

  it('does not call an instance idle when the metrics are missing (unknown is not zero)', () => {
    expect(findIdle(obs({ connections: null, cpu: null }), settings)).toMatchObject({ idle: false });
    expect(planRightsizing(obs({ connections: null, cpu: null }), settings, prices).actions).toEqual([]);
  });

  it('does not call a new instance idle', () => {
    const o = obs({ connections: 0, cpu: 1, createdAt: '2026-11-17T00:00:00.000Z' });
    expect(findIdle(o, settings)).toMatchObject({ idle: false });
  });

  it('recommends the smallest class of the family that keeps CPU and connections within targets', () => {
    // 8 vCPUs at 10% p95 -> xlarge (4 vCPUs) 20%, large (2 vCPUs) 40%: both under 60%.
    const plan = planRightsizing(obs({ connections: 50, cpu: 10 }), settings, prices);
    const a = plan.actions[0];
    expect(a?.kind).toBe('oversized-instance');
    expect(a?.to).toEqual({ instanceClass: 'db.r6g.large' });
    expect(a?.monthlyCostDelta).toBeCloseTo(-(0.9 - 0.225) * 730, 1);
  });

  it('keeps the class when CPU is used', () => {
    const plan = planRightsizing(obs({ connections: 50, cpu: 45 }), settings, prices);
    expect(plan.actions).toEqual([]);
    expect(plan.noopReason).toMatch(/the class is used/);
  });

  it('keeps enough max_connections for the peak on the smaller class', () => {
    // db.r6g.large (16 GiB): PostgreSQL default max_connections ~1,802; 1,500 connections need > 50%.
    const r = findSmallerClass(obs({ connections: 1500, cpu: 5 }), settings);
    expect(r.found?.target.name).toBe('db.r6g.xlarge');
    expect(defaultMaxConnections('db.r6g.large', 'postgres')).toBe(1802);
  });

  it('never recommends a class whose projected CPU exceeds the target (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 3000 }), (cpu, conns) => {
        const r = findSmallerClass(obs({ connections: conns, cpu }), settings);
        if (!r.found) return;
        expect(r.found.projectedCpuP95).toBeLessThanOrEqual(settings.targetCpuPercent);
        expect(r.found.peakConnections).toBeLessThanOrEqual(
          settings.connectionsFraction * r.found.maxConnections,
        );
        expect(smallerClasses('db.r6g.2xlarge').map((c) => c.name)).toContain(r.found.target.name);
      }),
    );
  });
});
