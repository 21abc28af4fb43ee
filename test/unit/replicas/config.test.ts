import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import { configSchema } from '../../../shared/config/schema.ts';
import { ConfigError } from '../../../shared/core/errors.ts';
import {
  guardSettings,
  recommendationsFrom,
  sourceSettings,
  vcpusOf,
} from '../../../shared/tuners/replicas.ts';

const yaml = `
version: 1
tuners:
  replicas:
    resources: { identifiers: [catalog-aurora, shop-mysql] }
    minReaders: 1
    maxReaders: 6
    instanceClasses: [db.r6g.large, db.r6g.xlarge]
    availabilityZones: [us-east-1a, us-east-1b]
    sources:
      shop-mysql:
        maxReaders: 3
        drainConnectionThreshold: 2
        routing: { hostedZoneId: Z0SHOP, recordName: reads.db.shop.internal, fallback: { setIdentifier: shop-mysql } }
      reports-mysql:
        schedule:
          - { days: [mon, tue, wed, thu, fri], start: '08:00', end: '18:00', readers: 2 }
`;

describe('replicas configuration', () => {
  it('resolves per-source overrides over the section values', () => {
    const config = parseConfig(yaml);
    const section = config.tuners.replicas;
    if (!section) throw new Error('no replicas section');
    const mysql = sourceSettings(config, section, 'shop-mysql');
    expect(mysql).toMatchObject({
      minReaders: 1,
      maxReaders: 3,
      drainConnectionThreshold: 2,
      targetCpuPercent: 60,
    });
    expect(mysql.routing).toEqual({
      hostedZoneId: 'Z0SHOP',
      recordName: 'reads.db.shop.internal',
      ttlSeconds: 30,
      weight: 100,
      fallback: { setIdentifier: 'shop-mysql', weight: 1 },
      healthChecks: false,
    });
    const aurora = sourceSettings(config, section, 'catalog-aurora');
    expect(aurora).toMatchObject({ maxReaders: 6, instanceClasses: ['db.r6g.large', 'db.r6g.xlarge'] });
    expect(aurora.routing).toBeUndefined();
    expect(sourceSettings(config, section, 'reports-mysql').schedule?.[0]?.readers).toBe(2);
    expect(guardSettings(config, section, mysql)).toMatchObject({
      min: 1,
      max: 3,
      cooldownMinutes: 0,
      mode: 'observe',
    });
  });

  it('requires a fallback record in a routing block and says where', () => {
    const bad = yaml.replace(', fallback: { setIdentifier: shop-mysql }', '');
    expect(() => parseConfig(bad)).toThrow(/tuners\.replicas\.sources\.shop-mysql\.routing\.fallback/);
  });

  it('rejects a bad routing block and says where', () => {
    const bad = yaml.replace('hostedZoneId: Z0SHOP', 'hostedZoneId: not-a-zone');
    expect(() => parseConfig(bad)).toThrow(ConfigError);
    try {
      parseConfig(bad);
    } catch (e) {
      const issue = (e as ConfigError).issues[0];
      expect(issue?.path).toBe('tuners.replicas.sources.shop-mysql.routing.hostedZoneId');
      expect(issue?.line).toBe(14);
    }
  });

  it('rejects minReaders above maxReaders, and more than 15 readers', () => {
    expect(
      configSchema.safeParse({ version: 1, tuners: { replicas: { minReaders: 4, maxReaders: 2 } } }).success,
    ).toBe(false);
    expect(configSchema.safeParse({ version: 1, tuners: { replicas: { maxReaders: 16 } } }).success).toBe(
      false,
    );
    expect(
      configSchema.safeParse({ version: 1, tuners: { replicas: { instanceClasses: ['r6g.large'] } } })
        .success,
    ).toBe(false);
  });

  it('ignores a malformed recorded tuner state instead of trusting it', () => {
    expect(recommendationsFrom({ recommendations: [{ at: 'x', readers: -1 }] })).toEqual([]);
    expect(recommendationsFrom(undefined)).toEqual([]);
    expect(
      recommendationsFrom({ recommendations: [{ at: '2026-11-23T18:00:00.000Z', readers: 2 }] }),
    ).toEqual([{ at: '2026-11-23T18:00:00.000Z', readers: 2 }]);
  });

  it('knows the vCPUs of an instance class from its size', () => {
    expect(vcpusOf('db.r6g.large')).toBe(2);
    expect(vcpusOf('db.r6g.xlarge')).toBe(4);
    expect(vcpusOf('db.r6g.4xlarge')).toBe(16);
    expect(vcpusOf('db.x2g.metal')).toBeUndefined();
  });
});
