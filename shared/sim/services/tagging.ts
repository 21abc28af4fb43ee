import { InvalidParameterException } from '@aws-sdk/client-resource-groups-tagging-api';
import type { SimAccount } from '../engine.ts';
import { errorMetadata } from '../errors.ts';
import { arr, decodeToken, num, page, rec, str, tagList } from '../paging.ts';
import { type Input, registerOperations } from '../registry.ts';

/**
 * Simulated Resource Groups Tagging API GetResources over the account's RDS instances and clusters,
 * DynamoDB tables and CloudWatch alarms (aws-facts.md, CloudWatch: select resources by tag with
 * GetResources, 100 per page). Like AWS, it lists only resources that have at least one tag.
 * ResourceTypeFilters: 'rds', 'rds:db', 'rds:cluster', 'dynamodb', 'dynamodb:table', 'cloudwatch:alarm'.
 * TagFilters: AND across filters, OR across a filter's values; a filter without values matches the key.
 */
interface Tagged {
  arn: string;
  type: string;
  tags: Map<string, string>;
}

function everything(sim: SimAccount): Tagged[] {
  const out: Tagged[] = [];
  for (const i of sim.rds.instances.values()) out.push({ arn: i.arn, type: 'rds:db', tags: i.tags });
  for (const c of sim.rds.clusters.values()) out.push({ arn: c.arn, type: 'rds:cluster', tags: c.tags });
  for (const t of sim.dynamodb.tables.values())
    out.push({ arn: t.arn, type: 'dynamodb:table', tags: t.tags });
  for (const a of sim.cloudwatch.alarms.values())
    out.push({ arn: a.AlarmArn, type: 'cloudwatch:alarm', tags: a.tags });
  return out;
}

function getResources(sim: SimAccount, input: Input): object {
  const perPage = num(input.ResourcesPerPage) ?? 100;
  // Resource Groups Tagging API reference, GetResources: ResourcesPerPage 1-100.
  if (perPage < 1 || perPage > 100) {
    throw new InvalidParameterException({
      message: 'ResourcesPerPage must be between 1 and 100.',
      $metadata: errorMetadata(),
    });
  }
  const types = arr(input.ResourceTypeFilters).map(String);
  const filters = arr(input.TagFilters)
    .map(rec)
    .map((f) => ({ key: String(f.Key ?? ''), values: arr(f.Values).map(String) }));
  const arns = arr(input.ResourceARNList).map(String);
  const list = everything(sim).filter(
    (r) =>
      r.tags.size > 0 &&
      (types.length === 0 || types.some((t) => r.type === t || r.type.startsWith(`${t}:`))) &&
      (arns.length === 0 || arns.includes(r.arn)) &&
      filters.every((f) => {
        const v = r.tags.get(f.key);
        return v !== undefined && (f.values.length === 0 || f.values.includes(v));
      }),
  );
  const offset = decodeToken(str(input.PaginationToken) || undefined, 'tagging:GetResources');
  if (offset === undefined) {
    throw new InvalidParameterException({
      message: 'The PaginationToken is not valid.',
      $metadata: errorMetadata(),
    });
  }
  const p = page(list, offset, perPage, 'tagging:GetResources');
  return {
    ResourceTagMappingList: p.items.map((r) => ({ ResourceARN: r.arn, Tags: tagList(r.tags) })),
    // AWS returns an empty string when there are no more pages.
    PaginationToken: p.next ?? '',
  };
}

registerOperations('tagging', { GetResources: getResources });
