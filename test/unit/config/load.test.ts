import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import { ConfigError } from '../../../shared/core/errors.ts';

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
