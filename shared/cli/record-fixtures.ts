/**
 * Records real AWS SDK responses as test fixtures (Cloud Custodian placebo style).
 *
 *   AWS_PROFILE=readonly AWS_REGION=us-east-1 npx tsx shared/cli/record-fixtures.ts [--out DIR] [--no-redact]
 *
 * Run it with credentials for a real account (read-only permissions are enough: rds:Describe*,
 * rds:ListTagsForResource, dynamodb:ListTables, dynamodb:DescribeTable, dynamodb:ListTagsOfResource,
 * cloudwatch:GetMetricData, cloudwatch:DescribeAlarms, tag:GetResources,
 * application-autoscaling:DescribeScalableTargets). It makes only the read-only calls listed in
 * `CALLS` below and writes each response to `DIR/<service>/<Operation>_<n>.json` (default DIR
 * test/fixtures/placebo-recorded, so hand-made fixtures in test/fixtures/placebo are not
 * overwritten; copy the files you want). 12-digit account ids are replaced with 123456789012
 * unless --no-redact. Replay them in tests with `replayFrom(client, service, dir)` from
 * shared/sim/placebo.ts. Review the files before committing: they can hold resource names and tags.
 */
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ListTagsOfResourceCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeEventsCommand,
  DescribeValidDBInstanceModificationsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { recordTo } from '../sim/placebo.ts';

interface Args {
  out: string;
  redact: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { out: 'test/fixtures/placebo-recorded', redact: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') args.out = argv[++i] ?? args.out;
    else if (a === '--no-redact') args.redact = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npx tsx shared/cli/record-fixtures.ts [--out DIR] [--no-redact]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

/** The read-only calls recorded, in order. Each step may use what the previous ones returned. */
export async function recordFixtures(args: Args): Promise<string[]> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const common = { region, maxAttempts: 3 };
  const rds = recordTo(new RDSClient(common), 'rds', args.out, args.redact);
  const ddb = recordTo(new DynamoDBClient(common), 'dynamodb', args.out, args.redact);
  const cw = recordTo(new CloudWatchClient(common), 'cloudwatch', args.out, args.redact);
  const tagging = recordTo(new ResourceGroupsTaggingAPIClient(common), 'tagging', args.out, args.redact);
  const aas = recordTo(new ApplicationAutoScalingClient(common), 'autoscaling', args.out, args.redact);
  const done: string[] = [];
  const step = async (label: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      done.push(`${label}: recorded`);
    } catch (error) {
      done.push(`${label}: recorded error ${(error as Error).name}`);
    }
  };

  const instances = await rds.send(new DescribeDBInstancesCommand({ MaxRecords: 20 })).catch(() => undefined);
  done.push('rds DescribeDBInstances: recorded');
  const first = instances?.DBInstances?.[0]?.DBInstanceIdentifier;
  await step('rds DescribeDBClusters', () => rds.send(new DescribeDBClustersCommand({ MaxRecords: 20 })));
  await step('rds DescribeEvents', () =>
    rds.send(new DescribeEventsCommand({ Duration: 1440, MaxRecords: 20 })),
  );
  if (first) {
    await step('rds DescribeValidDBInstanceModifications', () =>
      rds.send(new DescribeValidDBInstanceModificationsCommand({ DBInstanceIdentifier: first })),
    );
    const end = new Date();
    await step('cloudwatch GetMetricData', () =>
      cw.send(
        new GetMetricDataCommand({
          StartTime: new Date(end.getTime() - 3_600_000),
          EndTime: end,
          MetricDataQueries: ['ReadIOPS', 'WriteIOPS', 'DiskQueueDepth'].map((m, i) => ({
            Id: `m${i}`,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/RDS',
                MetricName: m,
                Dimensions: [{ Name: 'DBInstanceIdentifier', Value: first }],
              },
              Period: 60,
              Stat: 'Average',
            },
          })),
        }),
      ),
    );
  }
  const tables = await ddb.send(new ListTablesCommand({ Limit: 20 })).catch(() => undefined);
  done.push('dynamodb ListTables: recorded');
  const table = tables?.TableNames?.[0];
  if (table) {
    const described = await ddb.send(new DescribeTableCommand({ TableName: table })).catch(() => undefined);
    done.push('dynamodb DescribeTable: recorded');
    const arn = described?.Table?.TableArn;
    if (arn)
      await step('dynamodb ListTagsOfResource', () =>
        ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn })),
      );
  }
  await step('cloudwatch DescribeAlarms', () => cw.send(new DescribeAlarmsCommand({ MaxRecords: 20 })));
  await step('tagging GetResources', () =>
    tagging.send(
      new GetResourcesCommand({ ResourceTypeFilters: ['rds:db', 'dynamodb:table'], ResourcesPerPage: 50 }),
    ),
  );
  await step('autoscaling DescribeScalableTargets', () =>
    aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb' })),
  );
  return done;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  recordFixtures(args)
    .then((done) => {
      process.stdout.write(`${done.join('\n')}\nfixtures written to ${args.out}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`record-fixtures failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    });
}
