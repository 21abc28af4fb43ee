import type { ResourceSelector } from '../config/common.ts';
import type { Config } from '../config/schema.ts';
import type { Target, TunerSettings } from './contracts.ts';
import type { ResourceRef, TunerName } from './model.ts';

/**
 * Resolves what the guards need from the configuration: a tuner's settings (its section overrides
 * `defaults`) and, for a discovered resource, the consent facts (managed / created / opted out).
 */

type SectionName = keyof Config['tuners'];

/** Which config section configures a tuner (the DynamoDB mode advisor and pre-warming share `dynamodb`). */
export const sectionOf: Partial<Record<TunerName, SectionName>> = {
  iops: 'iops',
  replicas: 'replicas',
  dynamodb: 'dynamodb',
  'dynamodb-mode': 'dynamodb',
  prewarm: 'dynamodb',
  maintenance: 'maintenance',
  insights: 'insights',
  proxy: 'proxy',
  rightsizing: 'rightsizing',
  serverless: 'serverless',
};

interface SectionView {
  enabled?: boolean;
  mode?: 'observe' | 'apply';
  resources?: ResourceSelector;
  cooldownMinutes?: number;
  maxChangesPerRun?: number;
}

function section(config: Config, tuner: TunerName): SectionView | undefined {
  const name = sectionOf[tuner];
  return name ? (config.tuners[name] as SectionView | undefined) : undefined;
}

/** The bounds each tuner's section declares (checked against Action.numericTarget). */
function bounds(config: Config, tuner: TunerName): { min?: number; max?: number } {
  switch (tuner) {
    case 'iops': {
      const s = config.tuners.iops;
      return s ? { min: s.minIops, max: s.maxIops } : {};
    }
    case 'replicas': {
      const s = config.tuners.replicas;
      return s ? { min: s.minReaders, max: s.maxReaders } : {};
    }
    case 'dynamodb': {
      const s = config.tuners.dynamodb;
      return s ? { min: s.minCapacity, max: s.maxCapacity } : {};
    }
    case 'proxy': {
      const s = config.tuners.proxy;
      return s ? { min: s.maxConnectionsPercentFloor, max: s.maxConnectionsPercentCeiling } : {};
    }
    case 'serverless': {
      // A bound change's numericTarget is its MaxCapacity: the cost guard.
      const s = config.tuners.serverless;
      return s ? { max: s.maxCapacityCeiling } : {};
    }
    default:
      return {};
  }
}

export function resolveSettings(config: Config, tuner: TunerName): TunerSettings {
  const s = section(config, tuner);
  const d = config.defaults;
  return {
    mode: s?.mode ?? d.mode,
    ...bounds(config, tuner),
    cooldownMinutes: s?.cooldownMinutes ?? d.cooldownMinutes,
    maxChangesPerRun: s?.maxChangesPerRun ?? d.maxChangesPerRun,
    driftBackoffMinutes: d.driftBackoffMinutes,
    lockLeaseSeconds: d.lockLeaseSeconds,
  };
}

/** A tuner runs when its section is present and not disabled (control and alarms always run). */
export function isTunerEnabled(config: Config, tuner: TunerName): boolean {
  if (tuner === 'control' || tuner === 'alarms') return true;
  const s = section(config, tuner);
  return s !== undefined && s.enabled !== false;
}

/** A configured tag value of "*" matches any value of that key. */
export function tagMatches(tags: Record<string, string>, key: string, value: string): boolean {
  if (!Object.hasOwn(tags, key)) return false;
  return value === '*' || tags[key] === value;
}

/** Every key/value of the selector must match (AND); an empty selector matches nothing by tag. */
export function selectorTagsMatch(selector: ResourceSelector, tags: Record<string, string>): boolean {
  const entries = Object.entries(selector.tags);
  return entries.length > 0 && entries.every(([k, v]) => tagMatches(tags, k, v));
}

/**
 * A resource is named by the selector when its id or ARN is listed; a GSI ("table/index/name")
 * is also named when its table is.
 */
export function selectorNames(selector: ResourceSelector, ref: ResourceRef): boolean {
  const ids = new Set(selector.identifiers);
  if (ids.has(ref.id) || (ref.arn !== undefined && ids.has(ref.arn))) return true;
  if (ref.kind === 'dynamodb-gsi') {
    const table = ref.id.split('/index/')[0];
    return table !== undefined && ids.has(table);
  }
  return false;
}

export interface ResolveTargetInput {
  config: Config;
  tuner: TunerName;
  ref: ResourceRef;
  tags: Record<string, string>;
}

/**
 * Consent facts for a discovered resource:
 * - managed: the section's selector names it (identifier or tags) or it carries the managed tag;
 * - created: it carries the created-by tag (deleting also needs the store's record, see guards);
 * - optedOut: it carries the opt-out tag (never act, whatever else says so).
 */
export function resolveTarget({ config, tuner, ref, tags }: ResolveTargetInput): Target {
  const selector = section(config, tuner)?.resources;
  const byConfig =
    selector !== undefined && (selectorNames(selector, ref) || selectorTagsMatch(selector, tags));
  const byTag = tagMatches(tags, config.tags.managed.key, config.tags.managed.value);
  return {
    ref,
    tags,
    managed: byConfig || byTag,
    created: tagMatches(tags, config.tags.createdBy.key, config.tags.createdBy.value),
    optedOut: tagMatches(tags, config.tags.optOut.key, config.tags.optOut.value),
  };
}
