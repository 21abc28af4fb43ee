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
import { dynamodbClient, rdsClient, taggingClient } from '../aws/clients.ts';
import type { ResourceSelector } from '../config/common.ts';
import type { Target } from '../core/contracts.ts';
import { mapLimit, Semaphore } from '../metrics/limits.ts';
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
}

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

interface Discovery {
  request: DiscoverRequest;
  kinds: Set<DiscoverKind>;
  fleet: Fleet;
  tagsByArn: Map<string, Record<string, string>>;
  /** Managed ids found (identifiers in the config that match nothing are noted). */
  found: Set<string>;
  /** DescribeTable of a name, started once (pipelined with the tag pages). */
  describe: (name: string) => Promise<TableDescription | undefined>;
  described: Map<string, Promise<TableDescription | undefined>>;
}

export async function discoverFleet(request: DiscoverRequest): Promise<Fleet> {
  const { selector } = request;
  const kinds = new Set(request.kinds);
  const fleet: Fleet = { rdsInstances: [], auroraClusters: [], tables: [], gsis: [], notes: [] };
  const described = new Map<string, Promise<TableDescription | undefined>>();
  const d: Discovery = {
    request,
    kinds,
    fleet,
    tagsByArn: new Map(),
    found: new Set(),
    described,
    describe: tableDescriber(described, request.describeConcurrency ?? 64),
  };

  // 1. Tags, 2. every RDS instance and cluster, and the tables named by identifier, all at once.
  const tagChains = readTagChains(d);
  const rdsInstances = kinds.has('rds-instance')
    ? listAll(paginateDescribeDBInstances({ client: rdsClient(), pageSize: 100 }, {}), (p) => p.DBInstances)
    : Promise.resolve([]);
  const rdsClusters = kinds.has('aurora-cluster')
    ? listAll(paginateDescribeDBClusters({ client: rdsClient(), pageSize: 100 }, {}), (p) => p.DBClusters)
    : Promise.resolve([]);
  if (kinds.has('dynamodb-table'))
    for (const id of selector.identifiers) void d.describe(id).catch(() => undefined);

  // Every started call is awaited together: a rejection of any of them (a tag page, an RDS page)
  // rejects this one await instead of going unhandled while another is awaited (Node exits on an
  // unhandled rejection).
  const [, instances, clusters] = await Promise.all([Promise.all(tagChains), rdsInstances, rdsClusters]);
  addRdsTargets(d, instances, clusters);
  if (kinds.has('dynamodb-table')) await addTables(d);

  const arns = new Set(allTargets(fleet).map((t) => t.ref.arn));
  for (const id of selector.identifiers) {
    if (!d.found.has(id) && !arns.has(id)) {
      fleet.notes.push(`${id}: listed in the config but no such ${[...kinds].join(' / ')} exists (skipped)`);
    }
  }
  const byId = (a: Target, b: Target) => (a.ref.id < b.ref.id ? -1 : a.ref.id > b.ref.id ? 1 : 0);
  fleet.rdsInstances.sort(byId);
  fleet.auroraClusters.sort(byId);
  fleet.tables.sort(byId);
  fleet.gsis.sort(byId);
  return fleet;
}

/** Every item of every page (100 per page: DescribeDBInstances / DescribeDBClusters MaxRecords maximum). */
async function listAll<P, T>(pages: AsyncIterable<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...(items(page) ?? []));
  return out;
}

/**
 * DescribeTable once per name, at most `concurrency` in flight. Paced per attempt by the client
 * (shared/aws/clients.ts, DynamoDB's control-plane limit) and retried by the SDK alone.
 */
function tableDescriber(described: Map<string, Promise<TableDescription | undefined>>, concurrency: number) {
  const sem = new Semaphore(concurrency);
  return (name: string) => {
    let p = described.get(name);
    if (!p) {
      p = sem.use(async () => {
        try {
          const out = await dynamodbClient().send(new DescribeTableCommand({ TableName: name }));
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
      });
      described.set(name, p);
    }
    return p;
  };
}

/** One paginated GetResources chain per (tag clause, resource type); tables are described as they appear. */
function readTagChains(d: Discovery): Array<Promise<void>> {
  const { tagKeys, selector } = d.request;
  const clauses: Array<Array<{ Key: string; Values?: string[] }>> = [
    [{ Key: tagKeys.managed.key, Values: [tagKeys.managed.value] }],
  ];
  if (Object.keys(selector.tags).length > 0) clauses.push(tagFiltersFor(selector.tags));
  return clauses.flatMap((TagFilters) =>
    [...d.kinds].map(async (kind) => {
      const pages = paginateGetResources(
        { client: taggingClient(), pageSize: 100 },
        { TagFilters, ResourceTypeFilters: [RESOURCE_TYPE[kind]], ResourcesPerPage: 100 },
      );
      for await (const page of pages) {
        for (const m of page.ResourceTagMappingList ?? []) {
          if (!m.ResourceARN) continue;
          d.tagsByArn.set(m.ResourceARN, tagListToMap(m.Tags));
          if (kind === 'dynamodb-table') {
            const name = tableNameFromArn(m.ResourceARN);
            if (name) void d.describe(name).catch(() => undefined);
          }
        }
      }
    }),
  );
}

function addRdsTargets(d: Discovery, instances: DBInstance[], clusters: DBCluster[]): void {
  const { selector, tagKeys, includeUnmanaged } = d.request;
  for (const db of instances) {
    const id = db.DBInstanceIdentifier;
    if (!id) continue;
    const arn = db.DBInstanceArn;
    const tags = (arn && d.tagsByArn.get(arn)) || tagListToMap(db.TagList);
    const target = toTarget({ kind: 'rds-instance', id, arn }, tags, selector, tagKeys, arn ? [arn] : []);
    if (target.managed) d.found.add(id);
    if (target.managed || includeUnmanaged) d.fleet.rdsInstances.push({ ...target, raw: db });
  }
  for (const c of clusters) {
    const id = c.DBClusterIdentifier;
    // DescribeDBClusters also lists Neptune and DocumentDB clusters: keep Aurora only.
    if (!id || !(c.Engine ?? '').startsWith('aurora')) continue;
    const arn = c.DBClusterArn;
    const tags = (arn && d.tagsByArn.get(arn)) || tagListToMap(c.TagList);
    const target = toTarget({ kind: 'aurora-cluster', id, arn }, tags, selector, tagKeys, arn ? [arn] : []);
    if (target.managed) d.found.add(id);
    if (target.managed || includeUnmanaged) d.fleet.auroraClusters.push({ ...target, raw: c });
  }
}

async function addTables(d: Discovery): Promise<void> {
  const { selector, tagKeys, includeUnmanaged } = d.request;
  if (includeUnmanaged) {
    for await (const page of paginateListTables({ client: dynamodbClient(), pageSize: 100 }, {})) {
      for (const name of page.TableNames ?? []) void d.describe(name).catch(() => undefined);
    }
  }
  const tables = (await Promise.all([...d.described.values()])).filter((t): t is TableDescription => !!t);
  // Tables selected by identifier only: their tags were not in a tag-filtered page yet.
  const untagged = tables
    .filter((t) => t.TableArn && !d.tagsByArn.has(t.TableArn))
    .map((t) => t.TableArn ?? '');
  const batches: string[][] = [];
  for (let i = 0; i < untagged.length; i += ARN_LIST_MAX) batches.push(untagged.slice(i, i + ARN_LIST_MAX));
  await mapLimit(batches, 4, async (ResourceARNList) => {
    const out = await taggingClient().send(new GetResourcesCommand({ ResourceARNList }));
    for (const m of out.ResourceTagMappingList ?? []) {
      if (m.ResourceARN) d.tagsByArn.set(m.ResourceARN, tagListToMap(m.Tags));
    }
  });
  for (const t of tables) {
    const name = t.TableName;
    if (!name) continue;
    const arn = t.TableArn;
    const tags = (arn && d.tagsByArn.get(arn)) || {};
    const target = toTarget(
      { kind: 'dynamodb-table', id: name, arn },
      tags,
      selector,
      tagKeys,
      arn ? [arn] : [],
    );
    if (target.managed) d.found.add(name);
    if (!(target.managed || includeUnmanaged)) continue;
    d.fleet.tables.push({ ...target, raw: t });
    // GSIs have no tags of their own: they inherit the table's consent.
    for (const gsi of t.GlobalSecondaryIndexes ?? []) {
      if (!gsi.IndexName) continue;
      d.fleet.gsis.push({
        ...target,
        ref: { kind: 'dynamodb-gsi', id: `${name}/index/${gsi.IndexName}`, arn: gsi.IndexArn },
        raw: gsi,
        tableName: name,
      });
    }
  }
}
