import { join } from 'node:path';
import { loadConfigFile } from '../../shared/config/load.ts';
import type { Config } from '../../shared/config/schema.ts';

type TunerSectionName = keyof Config['tuners'];
/** The tuners whose section has a mode (observe / apply). */
type ActingTuner = {
  [K in TunerSectionName]: NonNullable<Config['tuners'][K]> extends { mode?: unknown } ? K : never;
}[TunerSectionName];

/** The example configuration shipped at the repository root (db-autopilot.yml), as shipped. */
export function exampleConfig(): Config {
  return loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
}

/** The example configuration acting: its defaults and each named tuner present in it in apply mode. */
export function exampleConfigApplying(...tuners: ActingTuner[]): Config {
  const config = exampleConfig();
  config.defaults.mode = 'apply';
  for (const name of tuners) {
    const section = config.tuners[name];
    if (section) section.mode = 'apply';
  }
  return config;
}

/** A tuner's section of a configuration; throws when the configuration has none. */
export function sectionOf<K extends TunerSectionName>(
  config: Config,
  tuner: K,
): NonNullable<Config['tuners'][K]> {
  const section = config.tuners[tuner];
  if (!section) throw new Error(`the configuration has no ${tuner} section`);
  return section;
}
