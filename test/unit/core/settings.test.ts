import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../shared/config/schema.ts';
import { isTunerEnabled, resolveSettings, resolveTarget } from '../../../shared/core/settings.ts';

const config = configSchema.parse({
  version: 1,
  defaults: { mode: 'observe', cooldownMinutes: 45, maxChangesPerRun: 3 },
  tuners: {
    iops: { mode: 'apply', minIops: 2000, maxIops: 20000, resources: { identifiers: ['orders-db'] } },
    dynamodb: { cooldownMinutes: 5, resources: { tags: { team: 'shop', tier: '*' } } },
    replicas: { enabled: false },
  },
});

describe('resolveSettings', () => {
  it('lets a section override the defaults and takes its bounds', () => {
    expect(resolveSettings(config, 'iops')).toEqual({
      mode: 'apply',
      min: 2000,
      max: 20000,
      cooldownMinutes: 45,
      maxChangesPerRun: 3,
      driftBackoffMinutes: 1440,
      lockLeaseSeconds: 900,
    });
  });

  it('falls back to the defaults where a section says nothing', () => {
    const s = resolveSettings(config, 'dynamodb');
    expect(s).toMatchObject({ mode: 'observe', cooldownMinutes: 5, maxChangesPerRun: 3, min: 1, max: 40000 });
    expect(resolveSettings(config, 'prewarm').cooldownMinutes).toBe(5);
    expect(resolveSettings(config, 'alarms')).toMatchObject({ mode: 'observe', cooldownMinutes: 45 });
    expect(resolveSettings(config, 'alarms').min).toBeUndefined();
  });

  it('runs a tuner only when its section is present and enabled', () => {
    expect(isTunerEnabled(config, 'iops')).toBe(true);
    expect(isTunerEnabled(config, 'replicas')).toBe(false);
    expect(isTunerEnabled(config, 'maintenance')).toBe(false);
    expect(isTunerEnabled(config, 'control')).toBe(true);
  });
});

describe('resolveTarget', () => {
  it('manages a resource named by identifier', () => {
    const t = resolveTarget({
      config,
      tuner: 'iops',
      ref: { kind: 'rds-instance', id: 'orders-db' },
      tags: {},
    });
    expect(t).toMatchObject({ managed: true, created: false, optedOut: false });
    const other = resolveTarget({
      config,
      tuner: 'iops',
      ref: { kind: 'rds-instance', id: 'billing-db' },
      tags: {},
    });
    expect(other.managed).toBe(false);
  });

  it('manages a resource whose tags match every selector tag, "*" matching any value', () => {
    const ref = { kind: 'dynamodb-table' as const, id: 'carts' };
    expect(
      resolveTarget({ config, tuner: 'dynamodb', ref, tags: { team: 'shop', tier: 'gold' } }).managed,
    ).toBe(true);
    expect(resolveTarget({ config, tuner: 'dynamodb', ref, tags: { team: 'shop' } }).managed).toBe(false);
    expect(
      resolveTarget({ config, tuner: 'dynamodb', ref, tags: { team: 'ops', tier: 'gold' } }).managed,
    ).toBe(false);
  });

  it('manages a resource carrying the managed tag even when the config does not name it', () => {
    const t = resolveTarget({
      config,
      tuner: 'iops',
      ref: { kind: 'rds-instance', id: 'billing-db' },
      tags: { 'db-autopilot:managed': 'true' },
    });
    expect(t.managed).toBe(true);
  });

  it('reads the created-by and opt-out tags', () => {
    const t = resolveTarget({
      config,
      tuner: 'iops',
      ref: { kind: 'rds-instance', id: 'orders-db' },
      tags: { 'db-autopilot:created-by': 'db-autopilot', 'db-autopilot:opt-out': 'true' },
    });
    expect(t).toMatchObject({ managed: true, created: true, optedOut: true });
  });

  it('manages a GSI when its table is named', () => {
    const named = configSchema.parse({
      version: 1,
      tuners: { dynamodb: { resources: { identifiers: ['orders'] } } },
    });
    const t = resolveTarget({
      config: named,
      tuner: 'dynamodb',
      ref: { kind: 'dynamodb-gsi', id: 'orders/index/by-customer' },
      tags: {},
    });
    expect(t.managed).toBe(true);
  });
});
