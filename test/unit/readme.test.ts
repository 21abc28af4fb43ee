import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('README stays true', () => {
  it('starts with the two commands a newcomer runs', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock).toContain('npm ci && npm run demo');
    expect(firstBlock).toContain('npm test');
  });

  it('names only sample events that exist', () => {
    const named = [...readme.matchAll(/events\/[a-z0-9-]+\.json/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(3);
    for (const file of named) expect(existsSync(join(root, file)), file).toBe(true);
  });

  it('names only npm scripts that exist', () => {
    const scripts = [...readme.matchAll(/npm run ([a-z:]+)/g)].map((m) => m[1] ?? '');
    for (const s of scripts) expect(pkg.scripts, `npm run ${s}`).toHaveProperty([s]);
  });
});
