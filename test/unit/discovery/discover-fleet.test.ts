import {
  DescribeTableCommand,
  DynamoDBClient,
  ListTagsOfResourceCommand,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import {
  DBInstanceNotFoundFault,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { configSchema } from '../../../shared/config/schema.ts';
import { resolveTarget } from '../../../shared/core/settings.ts';
import { allTargets, discoverFleet } from '../../../shared/discovery/fleet.ts';
import { matchesTagSelector, toTarget } from '../../../shared/discovery/select.ts';

const tagKeys = {
  managed: { key: 'db-autopilot:managed', value: 'true' },
  optOut: { key: 'db-autopilot:opt-out', value: 'true' },
  createdBy: { key: 'db-autopilot:created-by', value: 'db-autopilot' },
};
const ACCOUNT = 'arn:aws:rds:us-east-1:123456789012';
const DDB = 'arn:aws:dynamodb:us-east-1:123456789012';

describe('discoverFleet', () => {
  const rds = mockClient(RDSClient);
  const ddb = mockClient(DynamoDBClient);
  const tagging = mockClient(ResourceGroupsTaggingAPIClient);
  let restore: () => void;

  beforeEach(() => {
    restore = setAwsClients({
      rds: new RDSClient({ region: 'us-east-1' }),
      dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
      tagging: new ResourceGroupsTaggingAPIClient({ region: 'us-east-1' }),
    });
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [] });
    ddb
      .on(DescribeTableCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }));
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
  });
  afterEach(() => {
    rds.reset();
    ddb.reset();
    tagging.reset();
    restore();
  });

  it('leaves retries of a throttled DescribeTable to the SDK: one send, the error surfaces', async () => {
    ddb.on(DescribeTableCommand).rejectsOnce(
      new ThrottlingException({
        message: 'Rate of requests exceeds the allowed throughput.',
        $metadata: { attempts: 3 },
      }),
    );

    await expect(
      discoverFleet({
        kinds: ['dynamodb-table'],
        selector: { identifiers: ['carts'], tags: {} },
        tagKeys,
      }),
    ).rejects.toThrow('Rate of requests exceeds');
    expect(ddb.commandCalls(DescribeTableCommand)).toHaveLength(1);
  });

  it('rejects (no unhandled rejection) when DescribeDBInstances fails while the tag pages are still read', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      rds
        .on(DescribeDBInstancesCommand)
        .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: {} }));
      // The tag lookups answer late: DescribeDBInstances has already failed by then.
      tagging.on(GetResourcesCommand).callsFake(async () => {
        await new Promise((r) => setTimeout(r, 20));
        return { ResourceTagMappingList: [] };
      });
      await expect(
        discoverFleet({
          kinds: ['rds-instance', 'aurora-cluster'],
          selector: { identifiers: [], tags: {} },
          tagKeys,
        }),
      ).rejects.toThrow('DBInstance not found');
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('follows every page of DescribeDBInstances and GetResources', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .resolvesOnce({
        DBInstances: [{ DBInstanceIdentifier: 'orders-1', DBInstanceArn: `${ACCOUNT}:db:orders-1` }],
        Marker: 'm2',
      })
      .resolvesOnce({
        DBInstances: [{ DBInstanceIdentifier: 'orders-2', DBInstanceArn: `${ACCOUNT}:db:orders-2` }],
      });
    tagging
      .on(GetResourcesCommand, {
        ResourceTypeFilters: ['rds:db'],
        TagFilters: [{ Key: 'team', Values: ['shop'] }],
      })
      .resolvesOnce({
        ResourceTagMappingList: [
          { ResourceARN: `${ACCOUNT}:db:orders-1`, Tags: [{ Key: 'team', Value: 'shop' }] },
        ],
        PaginationToken: 'p2',
      })
      .resolvesOnce({
        ResourceTagMappingList: [
          { ResourceARN: `${ACCOUNT}:db:orders-2`, Tags: [{ Key: 'team', Value: 'shop' }] },
        ],
        PaginationToken: '',
      });

    const fleet = await discoverFleet({
      kinds: ['rds-instance'],
      selector: { identifiers: [], tags: { team: 'shop' } },
      tagKeys,
    });

    expect(fleet.rdsInstances.map((t) => t.ref.id)).toEqual(['orders-1', 'orders-2']);
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(2);
    expect(rds).toHaveReceivedNthCommandWith(DescribeDBInstancesCommand, 2, {
      Marker: 'm2',
      MaxRecords: 100,
    });
    expect(tagging).toHaveReceivedCommandWith(GetResourcesCommand, {
      PaginationToken: 'p2',
      ResourcesPerPage: 100,
    });
    expect(fleet.notes).toEqual([]);
  });

  it('selects by tag through GetResources, never with one tag call per resource', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        { DBInstanceIdentifier: 'shop-db', DBInstanceArn: `${ACCOUNT}:db:shop-db` },
        {
          DBInstanceIdentifier: 'hr-db',
          DBInstanceArn: `${ACCOUNT}:db:hr-db`,
          TagList: [{ Key: 'team', Value: 'hr' }],
        },
        { DBInstanceIdentifier: 'legacy-db', DBInstanceArn: `${ACCOUNT}:db:legacy-db` },
      ],
    });
    tagging
      .on(GetResourcesCommand, {
        ResourceTypeFilters: ['rds:db'],
        TagFilters: [{ Key: 'team', Values: ['shop'] }, { Key: 'env' }],
      })
      .resolves({
        ResourceTagMappingList: [
          {
            ResourceARN: `${ACCOUNT}:db:shop-db`,
            Tags: [
              { Key: 'team', Value: 'shop' },
              { Key: 'env', Value: 'prod' },
            ],
          },
        ],
      })
      .on(GetResourcesCommand, {
        ResourceTypeFilters: ['rds:db'],
        TagFilters: [{ Key: 'db-autopilot:managed', Values: ['true'] }],
      })
      .resolves({
        ResourceTagMappingList: [
          {
            ResourceARN: `${ACCOUNT}:db:legacy-db`,
            Tags: [
              { Key: 'db-autopilot:managed', Value: 'true' },
              { Key: 'db-autopilot:opt-out', Value: 'true' },
            ],
          },
        ],
      });

    const fleet = await discoverFleet({
      kinds: ['rds-instance'],
      selector: { identifiers: [], tags: { team: 'shop', env: '*' } },
      tagKeys,
    });

    expect(fleet.rdsInstances.map((t) => [t.ref.id, t.managed, t.optedOut])).toEqual([
      ['legacy-db', true, true],
      ['shop-db', true, false],
    ]);
    expect(fleet.rdsInstances[1]?.tags).toEqual({ team: 'shop', env: 'prod' });
    expect(rds).not.toHaveReceivedCommand(ListTagsForResourceCommand);
    expect(ddb).not.toHaveReceivedCommand(ListTagsOfResourceCommand);
  });

  it('reports an identifier that does not exist and still returns the rest', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [{ DBInstanceIdentifier: 'orders-db', DBInstanceArn: `${ACCOUNT}:db:orders-db` }],
    });
    ddb.on(DescribeTableCommand, { TableName: 'carts' }).resolves({
      Table: {
        TableName: 'carts',
        TableArn: `${DDB}:table/carts`,
        GlobalSecondaryIndexes: [{ IndexName: 'by-user', IndexArn: `${DDB}:table/carts/index/by-user` }],
      },
    });
    tagging.on(GetResourcesCommand, { ResourceARNList: [`${DDB}:table/carts`] }).resolves({
      ResourceTagMappingList: [{ ResourceARN: `${DDB}:table/carts`, Tags: [{ Key: 'owner', Value: 'web' }] }],
    });

    const fleet = await discoverFleet({
      kinds: ['rds-instance', 'dynamodb-table'],
      selector: { identifiers: ['orders-db', 'carts', 'no-such-db'], tags: {} },
      tagKeys,
    });

    expect(allTargets(fleet).map((t) => `${t.ref.kind}:${t.ref.id}`)).toEqual([
      'rds-instance:orders-db',
      'dynamodb-table:carts',
      'dynamodb-gsi:carts/index/by-user',
    ]);
    expect(fleet.tables[0]?.tags).toEqual({ owner: 'web' });
    expect(fleet.gsis[0]?.tableName).toBe('carts');
    expect(fleet.notes).toHaveLength(1);
    expect(fleet.notes[0]).toMatch(/^no-such-db: listed in the config but no such/);
  });

  it('describes tables found by tag and marks db-autopilot-created ones', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [] });
    tagging.on(GetResourcesCommand, { ResourceTypeFilters: ['dynamodb:table'] }).resolves({
      ResourceTagMappingList: [
        {
          ResourceARN: `${DDB}:table/sessions`,
          Tags: [
            { Key: 'db-autopilot:managed', Value: 'true' },
            { Key: 'db-autopilot:created-by', Value: 'db-autopilot' },
          ],
        },
      ],
    });
    ddb.on(DescribeTableCommand, { TableName: 'sessions' }).resolves({
      Table: { TableName: 'sessions', TableArn: `${DDB}:table/sessions` },
    });

    const fleet = await discoverFleet({
      kinds: ['dynamodb-table'],
      selector: { identifiers: [], tags: {} },
      tagKeys,
    });

    expect(fleet.tables.map((t) => [t.ref.id, t.managed, t.created])).toEqual([['sessions', true, true]]);
    expect(ddb.commandCalls(DescribeTableCommand)).toHaveLength(1);
    expect(tagging).not.toHaveReceivedCommandWith(GetResourcesCommand, {
      ResourceARNList: [`${DDB}:table/sessions`],
    });
  });
});

describe('matchesTagSelector', () => {
  it('requires every key to match and treats "*" as any value', () => {
    expect(matchesTagSelector({ team: 'shop', env: 'prod' }, { team: 'shop', env: '*' })).toBe(true);
    expect(matchesTagSelector({ team: 'shop' }, { team: 'shop', env: '*' })).toBe(false);
    expect(matchesTagSelector({ team: 'hr', env: 'prod' }, { team: 'shop' })).toBe(false);
    expect(matchesTagSelector({ team: 'shop' }, {})).toBe(false);
  });
});

describe('toTarget consent tags', () => {
  const ref = { kind: 'rds-instance' as const, id: 'orders-db' };
  const selector = { identifiers: ['orders-db'], tags: {} };

  it('treats a configured opt-out value "*" as any value, like resolveTarget does', () => {
    const keys = { ...tagKeys, optOut: { key: 'db-autopilot:opt-out', value: '*' } };
    const target = toTarget(ref, { 'db-autopilot:opt-out': 'yes' }, selector, keys);
    expect(target.optedOut).toBe(true);
    const config = configSchema.parse({ version: 1, tags: keys });
    expect(
      resolveTarget({ config, tuner: 'iops', ref, tags: { 'db-autopilot:opt-out': 'yes' } }).optedOut,
    ).toBe(true);
  });

  it('does not read inherited object properties as tags', () => {
    expect(toTarget(ref, {}, { identifiers: [], tags: { constructor: '*' } }, tagKeys).managed).toBe(false);
  });
});
