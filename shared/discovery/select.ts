import type { ResourceSelector } from '../config/common.ts';
import type { Config } from '../config/schema.ts';
import type { Target } from '../core/contracts.ts';
import type { ResourceRef } from '../core/model.ts';
import { tagMatches } from '../core/settings.ts';

/**
 * Pure selection rules: which discovered resources a tuner manages and with which consent.
 * - managed: its identifier is in the config, or its tags match the config's tag selector
 *   (every key/value must match; "*" matches any value), or it carries the managed tag;
 * - optedOut: it carries the opt-out tag (the executor never acts on it);
 * - created: it carries the created-by tag (deleting also needs a recorded create).
 */
export type TagKeys = Config['tags'];

export function matchesTagSelector(tags: Record<string, string>, selector: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  if (entries.length === 0) return false;
  return entries.every(([k, v]) => tagMatches(tags, k, v));
}

/** The config's managed / opt-out / created-by tag pair, with the same "*" rule as resolveTarget. */
export function hasTag(tags: Record<string, string>, pair: { key: string; value: string }): boolean {
  return tagMatches(tags, pair.key, pair.value);
}

export function toTarget(
  ref: ResourceRef,
  tags: Record<string, string>,
  selector: ResourceSelector,
  tagKeys: TagKeys,
  aliases: string[] = [],
): Target {
  const byId = [ref.id, ...aliases].some((id) => selector.identifiers.includes(id));
  return {
    ref,
    tags,
    managed: byId || matchesTagSelector(tags, selector.tags) || hasTag(tags, tagKeys.managed),
    created: hasTag(tags, tagKeys.createdBy),
    optedOut: hasTag(tags, tagKeys.optOut),
  };
}

export function tagListToMap(
  list: ReadonlyArray<{ Key?: string; Value?: string }> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** Tag filters for GetResources: every selector key (values ANDed across keys), "*" = any value. */
export function tagFiltersFor(selector: Record<string, string>): Array<{ Key: string; Values?: string[] }> {
  return Object.entries(selector).map(([Key, v]) => (v === '*' ? { Key } : { Key, Values: [v] }));
}

/** The table name in a DynamoDB table ARN (arn:aws:dynamodb:region:account:table/NAME). */
export function tableNameFromArn(arn: string): string | undefined {
  const m = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)$/.exec(arn);
  return m?.[1];
}
