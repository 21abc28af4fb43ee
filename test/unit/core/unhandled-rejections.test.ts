import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findStartedPromises, scanStartedPromises } from '../../support/started-promises.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');

describe('no started promise is left unawaited while another is awaited', () => {
  it('flags the discovery pattern that crashed the process (DescribeDBInstances started, tags awaited first)', () => {
    const code = `
      export async function discover(kinds: Set<string>) {
        const tagChains = [...kinds].map(async (k) => readTags(k));
        const rdsInstances = kinds.has('rds') ? (async () => describeAll())() : Promise.resolve([]);
        await Promise.all(tagChains);
        const instances = await rdsInstances;
        return instances;
      }`;
    expect(findStartedPromises('fleet.ts', code).map((f) => f.name)).toEqual(['rdsInstances']);
  });

  it('flags a promise kept from a plain call and awaited after another await', () => {
    const code = `
      export async function discover() {
        const instances = listAll(pages);
        const tags = await readTags();
        return [tags, await instances];
      }`;
    expect(findStartedPromises('fleet.ts', code).map((f) => f.name)).toEqual(['instances']);
  });

  it('accepts promises started together and awaited in one Promise.all', () => {
    const code = `
      export async function discover(kinds: Set<string>) {
        const tagChains = [...kinds].map(async (k) => readTags(k));
        const rdsInstances = (async () => describeAll())();
        const [, instances] = await Promise.all([Promise.all(tagChains), rdsInstances]);
        return instances;
      }`;
    expect(findStartedPromises('fleet.ts', code)).toEqual([]);
  });

  it('finds none in shared/ and functions/', () => {
    expect(scanStartedPromises(root, ['shared', 'functions'])).toEqual([]);
  });
});
