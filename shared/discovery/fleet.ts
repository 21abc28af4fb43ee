import {
  DescribeTableCommand,
  type GlobalSecondaryIndexDescription,
  paginateListTables,
  ResourceNotFoundException,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import {
  type DBCluster,
  type DBInstance,
  paginateDescribeDBClusters,
  paginateDescribeDBInstances,
} from '@aws-sdk/client-rds';
import { GetResourcesCommand, paginateGetResources } from '@aws-sdk/client-resource-groups-tagging-api';
import { aws } from '../aws/clients.ts';
import type { ResourceSelector } from '../config/common.ts';
import type { Target } from '../core/contracts.ts';
import { mapLimit, RateLimiter, type RetryOptions, Semaphore, withRetry } from '../metrics/limits.ts';
import { type TagKeys, tableNameFromArn, tagFiltersFor, tagListToMap, toTarget } from './select.ts';

/**
 * Fleet discovery: RDS instances, Aurora clusters, DynamoDB tables and their GSIs, selected by
 * a ResourceSelector. Tags come from the Resource Groups Tagging API (GetResources, 100 per
 * page, filtered by tag and resource type) instead of one tag call per resource: DynamoDB's
 * ListTagsOfResource is limited to about 10 calls per second per account (aws-facts.md
 * "CloudWatch", control-plane rate limits). An identifier in the config that does not exist
 * is reported in `notes`, never fatal.
 */

export type DiscoverKind = 'rds-instance' | 'aurora-cluster' | 'dynamodb-table';

export interface DiscoveredTarget<Raw = unknown> extends Target {
  raw: Raw;
}

export interface GsiTarget extends DiscoveredTarget<GlobalSecondaryIndexDescription> {
  tableName: string;
}

export interface Fleet {
  rdsInstances: Array<DiscoveredTarget<DBInstance>>;
  auroraClusters: Array<DiscoveredTarget<DBCluster>>;
  tables: Array<DiscoveredTarget<TableDescription>>;
  gsis: GsiTarget[];
  notes: string[];
}

export interface DiscoverRequest {
  kinds: DiscoverKind[];
  selector: ResourceSelector;
  tagKeys: TagKeys;
  /** Also return resources that are not managed (managed: false), e.g. for reports. Default false. */
  includeUnmanaged?: boolean;
  /** DescribeTable calls in flight (default 64). */
  describeConcurrency?: number;
  retry?: RetryOptions;
}

/**
 * DynamoDB control-plane calls are throttled at 2,500 requests per second per account
 * (DynamoDB Developer Guide, "Best practices for managing the control plane"): stay well below.
 */
const describeTableLimiter = new RateLimiter(1000, 100);

const RESOURCE_TYPE: Record<DiscoverKind, string> = {
  'rds-instance': 'rds:db',
  'aurora-cluster': 'rds:cluster',
  'dynamodb-table': 'dynamodb:table',
};

/** GetResources accepts at most 100 ARNs in ResourceARNList (Tagging API reference). */
const ARN_LIST_MAX = 100;

export function allTargets(fleet: Fleet): Array<DiscoveredTarget<unknown>> {
  return [...fleet.rdsInstances, ...fleet.auroraClusters, ...fleet.tables, ...fleet.gsis];
}

export async function discoverFleet(request: DiscoverRequest): Promise<Fleet> {
  const { selector, tagKeys } = request;
  const kinds = new Set(request.kinds);
  const notes: string[] = [];
  const tagsByArn = new Map<string, Record<string, string>>();
  const fleet: Fleet = { rdsInstances: [], auroraClusters: [], tables: [], gsis: [], notes };

  // DynamoDB tables are described as soon as their names are known (pipelined with tag pages).
  const describeSem = new Semaphore(request.describeConcurrency ?? 64);
  const described = new Map<string, Promise<TableDescription | undefined>>();
  const describe = (name: string) => {
    let p = described.get(name);
    if (!p) {
      p = describeSem.use(() =>
        withRetry(async () => {
          await describeTableLimiter.take();
          try {
            const out = await aws().dynamodb.send(new DescribeTableCommand({ TableName: name }));
            return out.Table;
          } catch (error) {
            if (
              error instanceof ResourceNotFoundException ||
              (error as Error).name === 'ResourceNotFoundException'
            ) {
              return undefined;
            }
            throw error;
          }
        }, request.retry),
      );
      described.set(name, p);
    }
    return p;
  };

  // 1. Tags: one paginated GetResources chain per (tag clause, resource type), all in parallel.
  const clauses: Array<Array<{ Key: string; Values?: string[] }>> = [
    [{ Key: tagKeys.managed.key, Values: [tagKeys.managed.value] }],
  ];
  if (Object.keys(selector.tags).length > 0) clauses.push(tagFiltersFor(selector.tags));
  const tagChains = clauses.flatMap((TagFilters) =>
    [...kinds].map(async (kind) => {
      const pages = paginateGetResources(
        { client: aws().tagging, pageSize: 100 },
        { TagFilters, ResourceTypeFilters: [RESOURCE_TYPE[kind]], ResourcesPerPage: 100 },
      );
      for await (const page of pages) {
        for (const m of page.ResourceTagMappingList ?? []) {
          if (!m.ResourceARN) continue;
          tagsByArn.set(m.ResourceARN, tagListToMap(m.Tags));
          if (kind === 'dynamodb-table') {
            const name = tableNameFromArn(m.ResourceARN);
            if (name) void describe(name).catch(() => undefined);
          }
        }
      }
    }),
  );

  // 2. RDS: every instance and cluster, 100 per page (DescribeDBInstances MaxRecords maximum).
  const rdsInstances = kinds.has('rds-instance')
    ? (async () => {
        const out: DBInstance[] = [];
        for await (const page of paginateDescribeDBInstances({ client: aws().rds, pageSize: 100 }, {})) {
          out.push(...(page.DBInstances ?? []));
        }
        return out;
      })()
    : Promise.resolve([]);
  const rdsClusters = kinds.has('aurora-cluster')
    ? (async () => {
        const out: DBCluster[] = [];
        for await (const page of paginateDescribeDBClusters({ client: aws().rds, pageSize: 100 }, {})) {
          out.push(...(page.DBClusters ?? []));
        }
        return out;
      })()
    : Promise.resolve([]);

  // Identifiers may name a table too: describe them alongside.
  if (kinds.has('dynamodb-table'))
    for (const id of selector.identifiers) void describe(id).catch(() => undefined);

  await Promise.all(tagChains);
  const [instances, clusters] = await Promise.all([rdsInstances, rdsClusters]);

  const found = new Set<string>();
  for (const db of instances) {
    const id = db.DBInstanceIdentifier;
    if (!id) continue;
    const arn = db.DBInstanceArn;
    const tags = (arn && tagsByArn.get(arn)) || tagListToMap(db.TagList);
    const target = toTarget({ kind: 'rds-instance', id, arn }, tags, selector, tagKeys, arn ? [arn] : []);
    if (target.managed) found.add(id);
    if (target.managed || request.includeUnmanaged) fleet.rdsInstances.push({ ...target, raw: db });
  }
  for (const c of clusters) {
    const id = c.DBClusterIdentifier;
    // DescribeDBClusters also lists Neptune and DocumentDB clusters: keep Aurora only.
    if (!id || !(c.Engine ?? '').startsWith('aurora')) continue;
    const arn = c.DBClusterArn;
    const tags = (arn && tagsByArn.get(arn)) || tagListToMap(c.TagList);
    const target = toTarget({ kind: 'aurora-cluster', id, arn }, tags, selector, tagKeys, arn ? [arn] : []);
    if (target.managed) found.add(id);
    if (target.managed || request.includeUnmanaged) fleet.auroraClusters.push({ ...target, raw: c });
  }

  if (kinds.has('dynamodb-table')) {
    if (request.includeUnmanaged) {
      for await (const page of paginateListTables({ client: aws().dynamodb, pageSize: 100 }, {})) {
        for (const name of page.TableNames ?? []) void describe(name).catch(() => undefined);
      }
    }
    const tables = (await Promise.all([...described.values()])).filter((t): t is TableDescription => !!t);
    // Tables selected by identifier only: their tags were not in a tag-filtered page yet.
    const untagged = tables
      .filter((t) => t.TableArn && !tagsByArn.has(t.TableArn))
      .map((t) => t.TableArn ?? '');
    const batches: string[][] = [];
    for (let i = 0; i < untagged.length; i += ARN_LIST_MAX) batches.push(untagged.slice(i, i + ARN_LIST_MAX));
    await mapLimit(batches, 4, async (ResourceARNList) => {
      const out = await withRetry(
        () => aws().tagging.send(new GetResourcesCommand({ ResourceARNList })),
        request.retry,
      );
      for (const m of out.ResourceTagMappingList ?? []) {
        if (m.ResourceARN) tagsByArn.set(m.ResourceARN, tagListToMap(m.Tags));
      }
    });
    for (const t of tables) {
      const name = t.TableName;
      if (!name) continue;
      const arn = t.TableArn;
      const tags = (arn && tagsByArn.get(arn)) || {};
      const target = toTarget(
        { kind: 'dynamodb-table', id: name, arn },
        tags,
        selector,
        tagKeys,
        arn ? [arn] : [],
      );
      if (target.managed) found.add(name);
      if (!(target.managed || request.includeUnmanaged)) continue;
      fleet.tables.push({ ...target, raw: t });
      // GSIs have no tags of their own: they inherit the table's consent.
      for (const gsi of t.GlobalSecondaryIndexes ?? []) {
        if (!gsi.IndexName) continue;
        fleet.gsis.push({
          ...target,
          ref: { kind: 'dynamodb-gsi', id: `${name}/index/${gsi.IndexName}`, arn: gsi.IndexArn },
          raw: gsi,
          tableName: name,
        });
      }
    }
  }

  const arns = new Set(allTargets(fleet).map((t) => t.ref.arn));
  for (const id of selector.identifiers) {
    if (!found.has(id) && !arns.has(id)) {
      notes.push(`${id}: listed in the config but no such ${[...kinds].join(' / ')} exists (skipped)`);
    }
  }
  const byId = (a: Target, b: Target) => (a.ref.id < b.ref.id ? -1 : a.ref.id > b.ref.id ? 1 : 0);
  fleet.rdsInstances.sort(byId);
  fleet.auroraClusters.sort(byId);
  fleet.tables.sort(byId);
  fleet.gsis.sort(byId);
  return fleet;
}
