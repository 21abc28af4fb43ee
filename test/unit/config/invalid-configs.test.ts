import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import { ConfigError } from '../../../shared/core/errors.ts';

const dir = join(import.meta.dirname, '../../fixtures/invalid-configs');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.yml'));

describe('malformed configurations', () => {
  it('ships at least a dozen of them', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(12);
  });

  it.each(fixtures)('%s is rejected with the path and the line of the problem', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const expected = /^# expect: (.+)$/m.exec(text)?.[1]?.trim();
    expect(expected, 'fixture declares the expected path').toBeDefined();
    let error: unknown;
    try {
      parseConfig(text, file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map((i) => i.path)).toContain(expected);
    const issue = issues.find((i) => i.path === expected);
    expect(issue?.line, 'a line number points into the file').toBeGreaterThan(1);
    expect((error as Error).message).toContain(`${file}:${issue?.line}`);
  });
});
