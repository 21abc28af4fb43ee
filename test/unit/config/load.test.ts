import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import { ConfigError } from '../../../shared/core/errors.ts';
import { DEFAULT_PRICES, PRICE_KEYS, pricesFor } from '../../../shared/pricing.ts';

describe('config loader', () => {
  it('applies defaults: every tuner observes on a first deploy', () => {
    const config = parseConfig('version: 1\n');
    expect(config.defaults.mode).toBe('observe');
  });

  it('names the path and line of a wrong value', () => {
    const text = 'version: 1\ndefaults:\n  mode: observe\n  maxChangesPerRun: -3\n';
    try {
      parseConfig(text, 'bad.yml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const issues = (error as ConfigError).issues;
      expect(issues[0]).toMatchObject({ path: 'defaults.maxChangesPerRun', line: 4 });
      expect((error as Error).message).toContain('bad.yml:4 defaults.maxChangesPerRun');
    }
  });
});

function messageOf(text: string, source: string, options = {}): string {
  try {
    parseConfig(text, source, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  return expect.unreachable('the configuration was accepted') as never;
}

describe('bounds, Region and prices (issue 23)', () => {
  it('rejects minIops above maxIops and DynamoDB minCapacity above maxCapacity, with file:line', () => {
    const iops = 'version: 1\ntuners:\n  iops:\n    minIops: 1000\n    maxIops: 500\n';
    expect(messageOf(iops, 'shop.yml')).toContain(
      'shop.yml:4 tuners.iops.minIops: minIops (1000) must not exceed maxIops (500)',
    );
    const ddb = 'version: 1\ntuners:\n  dynamodb:\n    minCapacity: 50000\n    maxCapacity: 20000\n';
    expect(messageOf(ddb, 'shop.yml')).toContain(
      'shop.yml:4 tuners.dynamodb.minCapacity: minCapacity (50000) must not exceed maxCapacity (20000)',
    );
  });

  it('rejects a configuration Region other than the deploy Region, at the region line', () => {
    const text = 'version: 1\n# shop\nregion: us-east-1\n';
    expect(messageOf(text, 'shop.yml', { deployRegion: 'eu-west-1' })).toContain(
      'shop.yml:3 region: us-east-1 is not the Region db-autopilot is deployed to (eu-west-1)',
    );
    expect(parseConfig(text, 'shop.yml', { deployRegion: 'us-east-1' }).region).toBe('us-east-1');
  });

  it('never prices eu-west-1 with us-east-1 prices: a complete prices.eu-west-1 block is required and used', () => {
    expect(messageOf('version: 1\nregion: eu-west-1\n', 'shop.yml')).toMatch(
      /shop\.yml:2 region: no prices for eu-west-1: db-autopilot ships list prices for us-east-1 only \(AWS public pricing pages.*as of \d{4}-\d{2}-\d{2}\)/,
    );
    const complete = Object.fromEntries(PRICE_KEYS.map((k, i) => [k, i + 0.5]));
    const config = parseConfig(
      `version: 1\nregion: eu-west-1\nprices:\n  eu-west-1: ${JSON.stringify(complete)}\n`,
      'shop.yml',
    );
    const table = pricesFor(config);
    for (const k of PRICE_KEYS) expect(table[k], k).toBe(complete[k]);
    expect(Object.keys(table).sort()).toEqual([...PRICE_KEYS].sort());
  });

  it('uses the shipped us-east-1 prices under the prices.us-east-1 block, and ignores other Regions', () => {
    const config = parseConfig(
      'version: 1\nregion: us-east-1\nprices:\n  us-east-1: { rds.io1.iopsMonth: 0.2 }\n  eu-west-1: { rds.io1.iopsMonth: 9 }\n',
    );
    const table = pricesFor(config);
    expect(table['rds.io1.iopsMonth']).toBe(0.2);
    expect(table['dynamodb.rcuHour']).toBe(DEFAULT_PRICES['dynamodb.rcuHour']);
  });
});
