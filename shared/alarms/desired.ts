import type { ResourceSelector } from '../config/common.ts';
import type { Config } from '../config/schema.ts';
import type { AlarmSpec, Target } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import type { TunerName } from '../core/model.ts';
import { isTunerEnabled, sectionOf } from '../core/settings.ts';
import { allTargets, type DiscoverKind, discoverFleet } from '../discovery/fleet.ts';
import type { TunerLoader } from '../tuners/registry.ts';
import { validateAlarmSpec } from './diff.ts';

/**
 * What alarms the tuners want: for each registered tuner that declares alarms and is enabled,
 * discover its managed fleet (its config section's selector) and ask it. A tuner whose
 * discovery or declaration fails is "frozen": its existing alarms are left alone this run.
 */

/** The resource kinds each tuner manages (its alarms can only be on these). */
export const TUNER_KINDS: Partial<Record<TunerName, DiscoverKind[]>> = {
  iops: ['rds-instance'],
  replicas: ['rds-instance', 'aurora-cluster'],
  dynamodb: ['dynamodb-table'],
  'dynamodb-mode': ['dynamodb-table'],
  prewarm: ['dynamodb-table'],
  serverless: ['aurora-cluster'],
};

export interface DesiredAlarms {
  specs: AlarmSpec[];
  /** Tuners whose desired set is unknown this run. */
  frozen: Set<TunerName>;
  /** Declared alarms that could not be used (a defect in the tuner's declaration): counted as failed. */
  invalid: string[];
  /** Every managed target seen (for the dashboard), deduplicated by kind and id. */
  targets: Target[];
  notes: string[];
}

export type Discover = (
  kinds: DiscoverKind[],
  tuner: TunerName,
) => Promise<{ targets: Target[]; notes: string[] }>;

/** The default discovery: the tuner's section selector, managed and not opted out. */
export function discoverForConfig(config: Config): Discover {
  const cache = new Map<string, Promise<{ targets: Target[]; notes: string[] }>>();
  return (kinds, tuner) => {
    const section = sectionOf[tuner];
    const configured = section
      ? (config.tuners[section] as { resources?: ResourceSelector } | undefined)
      : undefined;
    const selector: ResourceSelector = configured?.resources ?? { identifiers: [], tags: {} };
    const key = JSON.stringify([kinds, selector]);
    let p = cache.get(key);
    if (!p) {
      p = discoverFleet({ kinds, selector, tagKeys: config.tags }).then((fleet) => ({
        targets: allTargets(fleet),
        notes: fleet.notes,
      }));
      cache.set(key, p);
    }
    return p;
  };
}

export async function collectDesired(input: {
  config: Config;
  tuners: Partial<Record<TunerName, TunerLoader>>;
  discover: Discover;
}): Promise<DesiredAlarms> {
  const out: DesiredAlarms = { specs: [], frozen: new Set(), invalid: [], targets: [], notes: [] };
  const seen = new Set<string>();
  for (const [name, loader] of Object.entries(input.tuners) as Array<[TunerName, TunerLoader | undefined]>) {
    if (!loader || !isTunerEnabled(input.config, name)) continue;
    const kinds = TUNER_KINDS[name];
    try {
      const registration = await loader();
      if (!registration.alarms || !kinds) continue;
      const found = await input.discover(kinds, name);
      out.notes.push(...found.notes.map((n) => `${name}: ${n}`));
      const targets = found.targets.filter((t) => t.managed && !t.optedOut);
      for (const t of targets) {
        const k = `${t.ref.kind}:${t.ref.id}`;
        if (!seen.has(k)) {
          seen.add(k);
          out.targets.push(t);
        }
      }
      const ids = new Set(targets.map((t) => t.ref.id));
      const declared = await registration.alarms(targets);
      declared.forEach((raw, i) => {
        try {
          const spec = validateAlarmSpec(raw, `${name}.alarms[${i}]`);
          if (spec.tuner !== name) throw new Error(`declares tuner ${spec.tuner}, expected ${name}`);
          if (!ids.has(spec.resourceId))
            throw new Error(`${spec.resourceId} is not a managed ${name} target`);
          out.specs.push(spec);
        } catch (error) {
          out.invalid.push(`${name}: alarm ${i} not created: ${publicMessage(error)}`);
        }
      });
    } catch (error) {
      out.frozen.add(name);
      out.notes.push(
        `${name}: could not work out its alarms (${publicMessage(error)}); its existing alarms are kept`,
      );
    }
  }
  return out;
}
