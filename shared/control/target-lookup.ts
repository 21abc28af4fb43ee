import {
  GetResourcesCommand,
  type ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import type { Config } from '../config/schema.ts';
import type { Target } from '../core/contracts.ts';
import type { ResourceKind, ResourceRef, TunerName } from '../core/model.ts';
import { resolveTarget } from '../core/settings.ts';
import { tagListToMap } from '../discovery/select.ts';

/** Tagging API resource types and how an ARN ends for each kind db-autopilot changes. */
const lookup: Partial<Record<ResourceKind, { type: string; arnSuffix: (id: string) => string }>> = {
  'rds-instance': { type: 'rds:db', arnSuffix: (id) => `:db:${id}` },
  'aurora-cluster': { type: 'rds:cluster', arnSuffix: (id) => `:cluster:${id}` },
  'dynamodb-table': { type: 'dynamodb:table', arnSuffix: (id) => `:table/${id}` },
  'dynamodb-gsi': { type: 'dynamodb:table', arnSuffix: (id) => `:table/${id.split('/index/')[0] ?? id}` },
};

/**
 * Finds one resource's tags with the Resource Groups Tagging API (GetResources, 100 per page; the
 * per-service tag calls are rate limited, aws-facts.md "CloudWatch") and resolves its consent facts.
 * undefined: not found, or a kind the Tagging API does not cover.
 */
export async function lookupTarget(
  tagging: ResourceGroupsTaggingAPIClient,
  config: Config,
  tuner: TunerName,
  ref: ResourceRef,
): Promise<Target | undefined> {
  const how = lookup[ref.kind];
  if (!how) return undefined;
  const suffix = how.arnSuffix(ref.id);
  let PaginationToken: string | undefined;
  do {
    const page = await tagging.send(
      new GetResourcesCommand({ ResourceTypeFilters: [how.type], ResourcesPerPage: 100, PaginationToken }),
    );
    for (const mapping of page.ResourceTagMappingList ?? []) {
      const arn = mapping.ResourceARN;
      if (!arn?.endsWith(suffix)) continue;
      const tags = tagListToMap(mapping.Tags);
      return resolveTarget({ config, tuner, ref: { ...ref, arn: ref.arn ?? arn }, tags });
    }
    PaginationToken = page.PaginationToken || undefined;
  } while (PaginationToken);
  // GetResources lists only resources that have (or had) tags. One the config names by identifier
  // may have none: then it carries no opt-out tag either, and the config's consent applies. If it
  // does not exist at all, the adapter's own call fails and the revert is recorded as failed.
  const identifiers = identifiersFor(config, tuner);
  const baseId = ref.kind === 'dynamodb-gsi' ? (ref.id.split('/index/')[0] ?? ref.id) : ref.id;
  if (identifiers.includes(baseId)) return resolveTarget({ config, tuner, ref, tags: {} });
  return undefined;
}

function identifiersFor(config: Config, tuner: TunerName): string[] {
  if (tuner === 'iops' || tuner === 'replicas' || tuner === 'dynamodb') {
    return config.tuners[tuner]?.resources.identifiers ?? [];
  }
  return [];
}
