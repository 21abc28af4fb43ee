import type { Config } from '../config/schema.ts';
import { MEMBER_ROLE_NAME } from '../config/sections/fleet.ts';
import { tunerActs } from '../core/settings.ts';
import { HOME_SCOPE, ownerPrefix, STATE_WRITERS, type StateOwner } from '../state/keys.ts';

/**
 * One IAM role per function, least privilege, generated from this table at package time
 * (serverless.yml reads it through shared/deploy/serverless-vars.cjs).
 *
 * Rules (checked by test/integration/deploy/package.test.ts on the generated template):
 * - no action is `*` or `service:*`;
 * - every mutating RDS, DynamoDB, Application Auto Scaling, CloudWatch-alarm and SSM action
 *   either carries an `aws:ResourceTag` / `aws:RequestTag` condition or names resources with a
 *   literal prefix before any wildcard (`db:dbap-*`, `alarm:dbap-*`), or names exact ARNs of
 *   resources listed by identifier in the configuration.
 * - Describe/List/Get calls that AWS does not scope to resources use Resource "*".
 * - Observe mode is read-only: a tuner that is not in apply mode (shared/core/settings.ts
 *   tunerActs) gets no write action on databases, scaling, alarms or routing, in its own role or in
 *   the alarm handler's and control's; the alarm reconciler gets alarm and dashboard writes only
 *   when a tuner that declares alarms acts. The state table and the pause flag stay writable: they
 *   are db-autopilot's own audit log and kill switch.
 */

type CfnValue = string | Record<string, unknown>;

export interface Statement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: CfnValue | CfnValue[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface DeployOptions {
  service: string;
  stage: string;
  alarmPrefix: string;
  dashboardName: string;
  pauseParameter: string;
  slackWebhookParameter: string;
  databaseSecretPrefix: string;
  routingHostedZoneIds: string[];
  /**
   * Customer-managed KMS keys (key ARNs) the account's databases, secrets or SecureString
   * parameters are encrypted with: the `kmsKeyArns` deploy parameter. AWS managed keys (aws/rds,
   * aws/secretsmanager, aws/ssm) need nothing here.
   */
  kmsKeyArns?: string[];
}

const sub = (s: string) => ({ 'Fn::Sub': s });

export const FUNCTIONS = [
  'iops-tuner',
  'replica-scaler',
  'dynamodb-tuner',
  'pg-maintenance',
  'pg-insights',
  'proxy-tuner',
  'rightsizing',
  'serverless-tuner',
  'alarm-handler',
  'alarm-reconciler',
  'report',
  'digest',
  'control',
  // A fleet across accounts and Regions (issue 27): the Step Functions run's three steps.
  'fleet-planner',
  'fleet-worker',
  'fleet-report',
] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

function tagCondition(config: Config, kind: 'Resource' | 'Request' = 'Resource') {
  const { key, value } = config.tags.managed;
  return { StringEquals: { [`aws:${kind}Tag/${key}`]: value } };
}

function identifiersOf(config: Config, tuner: 'iops' | 'replicas' | 'dynamodb'): string[] {
  return config.tuners[tuner]?.resources.identifiers ?? [];
}

/**
 * The state table: every function reads every item (reports, digest, control status and revert
 * read all tuners' decisions), but writes only the partitions of the owners it runs for: every
 * partition key begins with its owner (shared/state/keys.ts), and `dynamodb:LeadingKeys` limits
 * PutItem / UpdateItem / DeleteItem to `<owner>#*` of the function's STATE_WRITERS.
 */
function stateTableStatements(fn: FunctionName): Statement[] {
  const table = { 'Fn::GetAtt': ['StateTable', 'Arn'] };
  const index = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['StateTable', 'Arn'] }, '/index/*']] };
  const owners: readonly string[] = STATE_WRITERS[fn];
  // The fleet worker writes its tuners' items in every member scope (`<owner>#<account>.<region>#`);
  // every other function only its home scope's.
  const pattern = (o: string) =>
    fn === 'fleet-worker' ? `${o}#*` : `${ownerPrefix(o as StateOwner, HOME_SCOPE)}*`;
  const read: Statement = {
    Sid: 'StateTableRead',
    Effect: 'Allow',
    Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem'],
    Resource: [table, index],
  };
  if (owners.length === 0) return [read];
  return [
    {
      Sid: 'StateTableRead',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem'],
      Resource: [table, index],
    },
    {
      // BatchWriteItem is an IAM action of its own (the report function marks what it posted in
      // batches, shared/state/dynamodb-store.ts markReported); LeadingKeys applies to each of its
      // items (DynamoDB Developer Guide, "Using IAM policy conditions for fine-grained access control").
      Sid: 'StateTableWriteOwnPartitions',
      Effect: 'Allow',
      Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
      Resource: table,
      Condition: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': owners.map(pattern),
        },
      },
    },
  ];
}

function logStatements(o: DeployOptions, fn: FunctionName): Statement[] {
  return [
    {
      Sid: 'Logs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: sub(
        `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${o.service}-${o.stage}-${fn}:*`,
      ),
    },
  ];
}

/** The ARN of an SSM parameter from its full name (the name as written after `parameter`). */
function ssmParameterArn(name: string) {
  return sub(`arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name}`);
}

function pauseRead(o: DeployOptions): Statement {
  return {
    Sid: 'ReadPauseFlag',
    Effect: 'Allow',
    Action: ['ssm:GetParameter'],
    // The global switch and each fleet member account's own (`<name>/<account>`, issue 27).
    Resource: [ssmParameterArn(o.pauseParameter), ssmParameterArn(`${o.pauseParameter}/*`)],
  };
}

const discovery: Statement = {
  Sid: 'DiscoverAndRead',
  Effect: 'Allow',
  Action: ['tag:GetResources', 'cloudwatch:GetMetricData'],
  Resource: '*',
};

function rdsArn(kind: 'db' | 'cluster' | 'pg' | 'og' | 'subgrp' | 'target-group', name: string) {
  return sub(`arn:\${AWS::Partition}:rds:\${AWS::Region}:\${AWS::AccountId}:${kind}:${name}`);
}

function iopsStatements(config: Config): Statement[] {
  const ids = identifiersOf(config, 'iops');
  const read: Statement = {
    Sid: 'RdsRead',
    Effect: 'Allow',
    Action: [
      'rds:DescribeDBInstances',
      'rds:DescribeValidDBInstanceModifications',
      'rds:DescribeEvents',
      'rds:ListTagsForResource',
    ],
    Resource: '*',
  };
  if (!tunerActs(config, 'iops')) return [read];
  const out: Statement[] = [
    read,
    {
      Sid: 'ModifyTaggedInstances',
      Effect: 'Allow',
      Action: ['rds:ModifyDBInstance'],
      Resource: rdsArn('db', '*'),
      Condition: tagCondition(config),
    },
  ];
  if (ids.length > 0) {
    out.push({
      Sid: 'ModifyListedInstances',
      Effect: 'Allow',
      Action: ['rds:ModifyDBInstance'],
      Resource: ids.map((id) => rdsArn('db', id)),
    });
  }
  return out;
}

function replicaReadStatements(): Statement[] {
  return [
    {
      Sid: 'RdsRead',
      Effect: 'Allow',
      Action: [
        'rds:DescribeDBInstances',
        'rds:DescribeDBClusters',
        'rds:DescribeAccountAttributes',
        'rds:ListTagsForResource',
      ],
      Resource: '*',
    },
    {
      // Aurora Auto Scaling on a cluster: db-autopilot stands down for its readers (issue 19).
      Sid: 'ReadAuroraAutoScaling',
      Effect: 'Allow',
      Action: ['application-autoscaling:DescribeScalableTargets'],
      Resource: '*',
    },
  ];
}

/** The hosted zones of weighted read routing (sources.*.routing and routingHostedZoneIds). */
function routingZones(config: Config, o: DeployOptions): string[] {
  return [
    ...new Set(
      [
        ...o.routingHostedZoneIds,
        ...Object.values(config.tuners.replicas?.sources ?? {}).map((src) => src.routing?.hostedZoneId),
      ]
        .filter((id): id is string => typeof id === 'string' && id !== '')
        .map((id) => id.replace(/^\/hostedzone\//, '')),
    ),
  ].sort();
}

/**
 * The replica scaler's role: reads always; when it acts, replicas it creates and deletes (its own
 * only), replicas of sources listed by identifier, weighted read routing and record health checks.
 */
function replicaStatements(config: Config, o: DeployOptions): Statement[] {
  const zones = routingZones(config, o);
  const zoneArns = zones.map((id) => sub(`arn:\${AWS::Partition}:route53:::hostedzone/${id}`));
  if (!tunerActs(config, 'replicas')) {
    // Observe mode still reads the routing records it would change.
    const listRouting: Statement[] =
      zones.length > 0
        ? [
            {
              Sid: 'ReadRouting',
              Effect: 'Allow',
              Action: ['route53:ListResourceRecordSets'],
              Resource: zoneArns,
            },
          ]
        : [];
    return [...replicaReadStatements(), ...listRouting];
  }
  return [
    ...replicaReadStatements(),
    ...ownReplicaStatements(config),
    ...listedSourceStatements(config),
    // Weighted read routing: the zones named in the configuration (sources.*.routing) and the
    // routingHostedZoneIds parameter.
    ...(zones.length > 0
      ? [
          {
            Sid: 'ReadRouting',
            Effect: 'Allow' as const,
            Action: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets'],
            Resource: zoneArns,
          },
        ]
      : []),
    ...healthCheckStatements(config),
  ];
}

/** Create replicas (tagged as its own, named dbap-*) of managed sources; delete only its own. */
function ownReplicaStatements(config: Config): Statement[] {
  const created = config.tags.createdBy;
  // The created-by tag, and no other tag key but the source's (never the managed tag):
  // aws:TagKeys lists every key of the request.
  const ownTagsOnly = {
    StringEquals: { [`aws:RequestTag/${created.key}`]: created.value },
    'ForAllValues:StringEquals': { 'aws:TagKeys': [created.key, 'db-autopilot:source'] },
  };
  return [
    {
      // The created-by tag only on dbap-* instances.
      Sid: 'CreateOwnReplicas',
      Effect: 'Allow',
      Action: ['rds:CreateDBInstance', 'rds:CreateDBInstanceReadReplica', 'rds:AddTagsToResource'],
      Resource: rdsArn('db', 'dbap-*'),
      Condition: ownTagsOnly,
    },
    {
      // RDS authorizes a create on the DB parameter, option and subnet groups it uses as well as
      // on the new instance (Service Authorization Reference, Amazon RDS: CreateDBInstance lists
      // db, cluster, og, pg, secgrp, subgrp; CreateDBInstanceReadReplica db, og, subgrp; RDS User
      // Guide, "Permission policies to create, modify and delete resources": its example names
      // og:default*, pg:default* and subgrp:default beside db:test*). A new Aurora reader names
      // its cluster readers' parameter group (aws-facts.md, learned from review), which a person
      // made and never tagged; a group is only used here, never changed. So any group, but only
      // in a request that creates db-autopilot's own tagged instance: the request's tags are
      // request context, the same for each resource IAM checks (as the RDS example's
      // rds:DatabaseEngine condition is for og/pg/subgrp).
      Sid: 'NewReplicasUseGroups',
      Effect: 'Allow',
      Action: ['rds:CreateDBInstance', 'rds:CreateDBInstanceReadReplica'],
      Resource: [rdsArn('pg', '*'), rdsArn('og', '*'), rdsArn('subgrp', '*')],
      Condition: ownTagsOnly,
    },
    {
      Sid: 'ReplicateFromManagedSources',
      Effect: 'Allow',
      Action: ['rds:CreateDBInstanceReadReplica', 'rds:CreateDBInstance'],
      Resource: [rdsArn('db', '*'), rdsArn('cluster', '*')],
      Condition: tagCondition(config),
    },
    {
      // A new replica copies its source's Enhanced Monitoring role (CreateDBInstance /
      // CreateDBInstanceReadReplica with MonitoringRoleArn need iam:PassRole on it).
      Sid: 'PassMonitoringRoleToNewReplicas',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*'),
      Condition: { StringEquals: { 'iam:PassedToService': 'monitoring.rds.amazonaws.com' } },
    },
    {
      Sid: 'DeleteOnlyOwnReplicas',
      Effect: 'Allow',
      Action: ['rds:DeleteDBInstance'],
      Resource: rdsArn('db', 'dbap-*'),
      Condition: { StringEquals: { [`aws:ResourceTag/${created.key}`]: created.value } },
    },
  ];
}

/**
 * Sources listed by identifier need not carry the managed tag: name them exactly. RDS authorizes
 * CreateDBInstanceReadReplica on the source instance and CreateDBInstance (Aurora reader) on the
 * cluster as well as on the new instance (Service Authorization Reference, Amazon RDS actions).
 */
function listedSourceStatements(config: Config): Statement[] {
  const sourceIds = identifiersOf(config, 'replicas');
  if (sourceIds.length === 0) return [];
  return [
    {
      Sid: 'ReplicateFromListedSources',
      Effect: 'Allow',
      Action: ['rds:CreateDBInstanceReadReplica', 'rds:CreateDBInstance'],
      Resource: sourceIds.flatMap((id) => [rdsArn('db', id), rdsArn('cluster', id)]),
    },
  ];
}

/**
 * Health checks on replica records (routing.healthChecks): CloudWatch-alarm based, on alarms
 * named db-autopilot-route-health-* (outside the reconciler's prefix).
 */
function healthCheckStatements(config: Config): Statement[] {
  if (!Object.values(config.tuners.replicas?.sources ?? {}).some((src) => src.routing?.healthChecks))
    return [];
  return [
    {
      Sid: 'RecordHealthChecks',
      Effect: 'Allow',
      Action: [
        'route53:CreateHealthCheck',
        'route53:DeleteHealthCheck',
        'route53:GetHealthCheck',
        'route53:ListHealthChecks',
      ],
      Resource: '*',
    },
    {
      Sid: 'RecordHealthAlarms',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms'],
      Resource: sub(
        'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:db-autopilot-route-health-*',
      ),
    },
  ];
}

/** The scalable dimensions of DynamoDB capacity (Application Auto Scaling API reference, ScalableDimension). */
export const DYNAMODB_SCALABLE_DIMENSIONS = [
  'dynamodb:table:ReadCapacityUnits',
  'dynamodb:table:WriteCapacityUnits',
  'dynamodb:index:ReadCapacityUnits',
  'dynamodb:index:WriteCapacityUnits',
];

/**
 * Lifting a person's scalable target (min/max, DisableScaleIn) and handing it back.
 *
 * What IAM can condition on here (Service Authorization Reference, "Actions, resources, and
 * condition keys for AWS Application Auto Scaling"; Application Auto Scaling User Guide, "How
 * Application Auto Scaling works with IAM"):
 * - RegisterScalableTarget and PutScalingPolicy are authorized on the scalable target,
 *   `arn:...:scalable-target/<id>`, an id AWS assigns (1234abcd56ab...), never the table's name;
 * - the only resource condition is aws:ResourceTag on that target; scaling policies have no tags
 *   (ABAC "Partial"), and a target made in the console, or by RegisterScalableTarget without
 *   Tags, has none. A statement conditioned on the managed tag therefore denied every lift and
 *   every hand-back, and tables managed by name had no scalable-target permission at all;
 * - the service keys `application-autoscaling:service-namespace` and
 *   `application-autoscaling:scalable-dimension` are supported by both actions; no key names the
 *   resource id (the table).
 * So the narrowest statement that works names DynamoDB capacity targets (namespace and the four
 * dimensions) of any table in the account, as AWS's own DynamoDBGlobalTableSettingsManagement
 * service role policy does. Which table is left to the tuner's guards, which IAM cannot express:
 * the DynamoDB tuner changes only managed tables' targets (shared/core/guards.ts consent) and a
 * hand-back only restores what the audit log recorded db-autopilot changing.
 * Not granted: iam:CreateServiceLinkedRole. RegisterScalableTarget needs it only when
 * AWSServiceRoleForApplicationAutoScaling_DynamoDBTable does not exist (Application Auto Scaling
 * User Guide, "Service-linked roles"), and db-autopilot only changes targets a person already
 * registered, which use that role (it cannot be deleted while they exist). PutScalingPolicy's
 * alarms: TargetTrackingAlarms below.
 */
const dynamodbScalableTargets: Statement = {
  Sid: 'TuneDynamoDbScalableTargets',
  Effect: 'Allow',
  Action: ['application-autoscaling:RegisterScalableTarget', 'application-autoscaling:PutScalingPolicy'],
  Resource: sub(
    'arn:${AWS::Partition}:application-autoscaling:${AWS::Region}:${AWS::AccountId}:scalable-target/*',
  ),
  Condition: {
    StringEquals: {
      'application-autoscaling:service-namespace': 'dynamodb',
      'application-autoscaling:scalable-dimension': DYNAMODB_SCALABLE_DIMENSIONS,
    },
  },
};

function dynamodbStatements(config: Config): Statement[] {
  const ids = identifiersOf(config, 'dynamodb');
  const tableArn = (name: string) =>
    sub(`arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/${name}`);
  const read: Statement = {
    Sid: 'DynamoDbRead',
    Effect: 'Allow',
    Action: [
      'dynamodb:ListTables',
      'dynamodb:DescribeTable',
      'dynamodb:DescribeLimits',
      'application-autoscaling:DescribeScalableTargets',
      'application-autoscaling:DescribeScalingPolicies',
      'cloudwatch:DescribeAlarms',
    ],
    Resource: '*',
  };
  if (!tunerActs(config, 'dynamodb')) return [read];
  const out: Statement[] = [
    read,
    {
      Sid: 'UpdateTaggedTables',
      Effect: 'Allow',
      Action: ['dynamodb:UpdateTable'],
      Resource: tableArn('*'),
      Condition: tagCondition(config),
    },
    dynamodbScalableTargets,
    {
      // PutScalingPolicy creates and updates its own target-tracking alarms.
      Sid: 'TargetTrackingAlarms',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms'],
      Resource: sub(
        'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:TargetTracking-table/*',
      ),
    },
  ];
  if (ids.length > 0) {
    out.push({
      Sid: 'UpdateListedTables',
      Effect: 'Allow',
      Action: ['dynamodb:UpdateTable'],
      Resource: ids.flatMap((id) => [tableArn(id), tableArn(`${id}/index/*`)]),
    });
  }
  return out;
}

/** A Secrets Manager secret by name or ARN (the ARN of a named secret ends in -<6 characters>). */
function secretArn(idOrArn: string) {
  if (idOrArn.startsWith('arn:')) return idOrArn;
  return sub(
    `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${idOrArn}-??????`,
  );
}

function postgresStatements(config: Config, o: DeployOptions): Statement[] {
  const databases = config.tuners.maintenance?.databases ?? [];
  // Secrets named in the configuration that are not under the prefix (cold start would fail on them).
  const configuredSecrets = [
    ...new Set(
      databases.flatMap((d) =>
        d.auth.type === 'secret' && !d.auth.secretId.startsWith(o.databaseSecretPrefix)
          ? [d.auth.secretId]
          : [],
      ),
    ),
  ];
  // IAM database authentication: the users the configuration connects as (db_autopilot by default).
  const iamUsers = [
    ...new Set(['db_autopilot', ...databases.flatMap((d) => (d.auth.type === 'iam' ? [d.user] : []))]),
  ];
  return [
    {
      Sid: 'DatabaseSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [
        sub(
          `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${o.databaseSecretPrefix}*`,
        ),
        ...configuredSecrets.map(secretArn),
      ],
    },
    {
      Sid: 'IamDatabaseAuth',
      Effect: 'Allow',
      Action: ['rds-db:connect'],
      Resource: iamUsers.map((user) =>
        sub(`arn:\${AWS::Partition}:rds-db:\${AWS::Region}:\${AWS::AccountId}:dbuser:*/${user}`),
      ),
    },
    {
      Sid: 'VpcNetworkInterfaces',
      Effect: 'Allow',
      // The actions of AWS's AWSLambdaVPCAccessExecutionRole (v3, 2024) for the function's ENIs.
      Action: [
        'ec2:CreateNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSubnets',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      Resource: '*',
    },
  ];
}

const alarmsRead: Statement = {
  Sid: 'AlarmsRead',
  Effect: 'Allow',
  Action: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'],
  Resource: '*',
};

/** The tuners that declare fast-path alarms (shared/alarms/desired.ts TUNER_KINDS), by config section. */
const ALARM_SECTIONS = ['iops', 'replicas', 'dynamodb', 'serverless'] as const;

function alarmStatements(config: Config, o: DeployOptions): Statement[] {
  if (!ALARM_SECTIONS.some((t) => tunerActs(config, t))) return [alarmsRead];
  return [
    alarmsRead,
    {
      Sid: 'OwnAlarms',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:TagResource'],
      Resource: sub(
        `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${o.alarmPrefix}*`,
      ),
    },
    {
      Sid: 'OwnDashboard',
      Effect: 'Allow',
      Action: ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard'],
      Resource: sub(`arn:\${AWS::Partition}:cloudwatch::\${AWS::AccountId}:dashboard/${o.dashboardName}`),
    },
  ];
}

/** RDS Proxy pool tuning (shared/adapters/rds-proxy.ts): read proxies; change only tagged target groups. */
function proxyStatements(config: Config): Statement[] {
  const read: Statement = {
    Sid: 'RdsProxyRead',
    Effect: 'Allow',
    Action: [
      'rds:DescribeDBProxies',
      'rds:DescribeDBProxyTargetGroups',
      'rds:DescribeDBProxyTargets',
      'rds:DescribeDBInstances',
      // The proxy's own tags: consent (managed) and the opt-out tag.
      'rds:ListTagsForResource',
    ],
    Resource: '*',
  };
  if (!tunerActs(config, 'proxy')) return [read];
  return [
    read,
    {
      // RDS authorizes ModifyDBProxyTargetGroup on the target group only (Service Authorization
      // Reference, Amazon RDS: resource target-group, arn:...:target-group:<id RDS assigns,
      // prx-tg-...>, condition keys aws:ResourceTag / rds:target-group-tag of the target group's
      // own tags). The tuner takes consent from the proxy (its name in the config or the managed
      // tag on the proxy, shared/tuners/proxy.ts), never from the target group, which a person
      // does not tag: a statement conditioned on the target group's managed tag denied every pool
      // change. No condition key names the proxy, so any target group of the account; which proxy
      // is left to the tuner's guards (managed proxies only, opt-out tag honoured), which IAM
      // cannot express. A pool change never restarts anything (shared/adapters/rds-proxy.ts).
      Sid: 'ModifyProxyTargetGroups',
      Effect: 'Allow',
      Action: ['rds:ModifyDBProxyTargetGroup'],
      Resource: rdsArn('target-group', '*'),
    },
  ];
}

/**
 * Aurora Serverless v2 bounds (shared/adapters/aurora-serverless.ts): read clusters and their
 * instances; ModifyDBCluster only on clusters that carry the managed tag, or are listed by
 * identifier in the configuration (exact ARNs).
 */
function serverlessStatements(config: Config): Statement[] {
  const ids = config.tuners.serverless?.resources.identifiers ?? [];
  const read: Statement = {
    Sid: 'ServerlessRead',
    Effect: 'Allow',
    Action: ['rds:DescribeDBClusters', 'rds:DescribeDBInstances'],
    Resource: '*',
  };
  if (!tunerActs(config, 'serverless')) return [read];
  return [
    read,
    {
      Sid: 'ModifyTaggedServerlessClusters',
      Effect: 'Allow',
      Action: ['rds:ModifyDBCluster'],
      Resource: rdsArn('cluster', '*'),
      Condition: tagCondition(config),
    },
    ...(ids.length > 0
      ? [
          {
            Sid: 'ModifyListedServerlessClusters',
            Effect: 'Allow' as const,
            Action: ['rds:ModifyDBCluster'],
            Resource: ids.map((id) => rdsArn('cluster', id)),
          },
        ]
      : []),
  ];
}

/** Performance Insights top SQL (shared/insights/pi-run.ts): read only. */
const performanceInsightsRead: Statement = {
  Sid: 'PerformanceInsightsRead',
  Effect: 'Allow',
  Action: ['pi:DescribeDimensionKeys', 'pi:GetResourceMetrics', 'rds:DescribeDBInstances'],
  Resource: [
    sub('arn:${AWS::Partition}:pi:${AWS::Region}:${AWS::AccountId}:metrics/rds/*'),
    sub('arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:*'),
  ],
};

function reportStatements(config: Config, o: DeployOptions): Statement[] {
  // The webhook URL's parameter / secret as the configuration names it (notifications.slack), as
  // well as the slackWebhookParameter deploy parameter.
  const slack = config.notifications.slack;
  const parameters = [...new Set([o.slackWebhookParameter, slack?.webhookParameter])].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );
  return [
    { Sid: 'PublishReports', Effect: 'Allow', Action: ['sns:Publish'], Resource: { Ref: 'ReportTopic' } },
    {
      Sid: 'SlackWebhook',
      Effect: 'Allow',
      Action: ['ssm:GetParameter'],
      Resource: parameters.map(ssmParameterArn),
    },
    {
      Sid: 'SlackWebhookSecret',
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [
        sub(
          'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:db-autopilot/slack*',
        ),
        ...(slack?.webhookSecretId ? [secretArn(slack.webhookSecretId)] : []),
      ],
    },
  ];
}

/**
 * The fleet's central roles reach member accounts only through `db-autopilot-member`: exact role
 * ARNs of the listed accounts, or (when Organizations units name the accounts) that role name in
 * any account.
 */
function fleetStatements(fn: FunctionName, config: Config): Statement[] {
  const fleet = config.fleet;
  if (fn === 'fleet-planner') {
    return fleet && fleet.organizationalUnits.length > 0
      ? [
          {
            Sid: 'EnumerateOrganizationalUnits',
            Effect: 'Allow',
            Action: ['organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
            Resource: '*',
          },
        ]
      : [];
  }
  if (fn === 'fleet-report') {
    return [
      { Sid: 'PublishReports', Effect: 'Allow', Action: ['sns:Publish'], Resource: { Ref: 'ReportTopic' } },
    ];
  }
  const accounts = fleet && fleet.organizationalUnits.length === 0 ? fleet.accounts : ['*'];
  return [
    {
      Sid: 'AssumeMemberRole',
      Effect: 'Allow',
      Action: ['sts:AssumeRole'],
      Resource: accounts.map((a) => sub(`arn:\${AWS::Partition}:iam::${a}:role/${MEMBER_ROLE_NAME}`)),
    },
  ];
}

/** The statements of each function's role. */
export function statementsFor(fn: FunctionName, config: Config, o: DeployOptions): Statement[] {
  // What every function needs: its own log group, the state table, the pause flag (read first by
  // every run; an unreadable flag counts as paused), and discovery / metric reads (the fleet's
  // functions discover nothing in the central account: the member role does that).
  const fleetFn = fn === 'fleet-planner' || fn === 'fleet-worker' || fn === 'fleet-report';
  const common = [
    ...logStatements(o, fn),
    ...stateTableStatements(fn),
    pauseRead(o),
    ...(fleetFn ? [] : [discovery]),
  ];
  const own = ownStatements(fn, config, o);
  return dedupeSids([...common, ...own, ...kmsStatements([...common, ...own], o.kmsKeyArns ?? [])]);
}

/** A KMS key ARN (IAM policies name keys by key ARN; an alias ARN does not match key use). */
export const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/**
 * What a role needs of the customer-managed keys (`kmsKeyArns`) for the calls it already makes,
 * each only through the service that makes it (kms:ViaService):
 * - creating RDS resources (a read replica or an Aurora reader of an encrypted database, a
 *   Performance Insights key on it): kms:CreateGrant (only for an AWS resource) and
 *   kms:DescribeKey (RDS User Guide, "AWS KMS key management": "Authorizing use of a customer
 *   managed key"; its tip: scope CreateGrant with kms:ViaService);
 * - reading a secret or a SecureString parameter encrypted with such a key: kms:Decrypt via
 *   Secrets Manager / Systems Manager (Secrets Manager User Guide, "Secret encryption and
 *   decryption"; Systems Manager User Guide, "How Parameter Store uses AWS KMS").
 */
export function kmsStatements(statements: Statement[], keyArns: string[]): Statement[] {
  return keyArns.length === 0 ? [] : kmsStatementsOn(statements, keyArns);
}

/**
 * `kmsStatements` on keys given as a CloudFormation value (the fleet member template's
 * `KmsKeyArns` parameter, split): the same statements, whatever the keys are.
 */
export function kmsStatementsOn(statements: Statement[], keyArns: Statement['Resource']): Statement[] {
  const actions = new Set(statements.flatMap((s) => s.Action));
  // A key belongs to one Region (its ARN names it), so the service's endpoint in any Region.
  const via = (service: string) => `${service}.*.amazonaws.com`;
  const out: Statement[] = [];
  if (['rds:CreateDBInstanceReadReplica', 'rds:CreateDBInstance'].some((a) => actions.has(a))) {
    out.push(
      {
        Sid: 'RdsCustomerManagedKeyGrants',
        Effect: 'Allow',
        Action: ['kms:CreateGrant'],
        Resource: keyArns,
        Condition: {
          StringLike: { 'kms:ViaService': via('rds') },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      },
      {
        Sid: 'RdsCustomerManagedKeys',
        Effect: 'Allow',
        Action: ['kms:DescribeKey'],
        Resource: keyArns,
        Condition: { StringLike: { 'kms:ViaService': via('rds') } },
      },
    );
  }
  if ([...actions].some((a) => a.startsWith('pi:'))) {
    // Performance Insights data under a customer-managed key: whoever calls the PI API needs
    // Decrypt and GenerateDataKey on the key, through RDS (AWS, "Changing an AWS KMS policy for
    // Performance Insights").
    out.push({
      Sid: 'PerformanceInsightsCustomerManagedKeys',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: keyArns,
      Condition: { StringLike: { 'kms:ViaService': via('rds') } },
    });
  }
  const decryptVia = [
    ...(actions.has('secretsmanager:GetSecretValue') ? [via('secretsmanager')] : []),
    ...(statements.some((s) => s.Sid === 'SlackWebhook') ? [via('ssm')] : []),
  ];
  if (decryptVia.length > 0) {
    out.push({
      Sid: 'DecryptSecrets',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: keyArns,
      Condition: { StringLike: { 'kms:ViaService': decryptVia } },
    });
  }
  return out;
}

/** A function's own permissions (what it changes and reads beyond the common ones). */
export function ownStatements(fn: FunctionName, config: Config, o: DeployOptions): Statement[] {
  switch (fn) {
    case 'fleet-planner':
    case 'fleet-worker':
    case 'fleet-report':
      return fleetStatements(fn, config);
    case 'iops-tuner':
      return iopsStatements(config);
    case 'replica-scaler':
      return replicaStatements(config, o);
    case 'dynamodb-tuner':
      return dynamodbStatements(config);
    case 'pg-maintenance':
      return postgresStatements(config, o);
    case 'pg-insights':
      return [
        ...postgresStatements(config, o),
        {
          // shared/postgres/insights/proxy.ts: RDS Proxy connection findings (read only).
          Sid: 'RdsProxyRead',
          Effect: 'Allow',
          Action: [
            'rds:DescribeDBProxies',
            'rds:DescribeDBProxyTargetGroups',
            'rds:DescribeDBProxyTargets',
            'rds:DescribeDBInstances',
          ],
          Resource: '*',
        },
        performanceInsightsRead,
      ];
    case 'proxy-tuner':
      return proxyStatements(config);
    case 'serverless-tuner':
      return serverlessStatements(config);
    case 'rightsizing':
      // Recommend only: fleet discovery and metric reads (common), DescribeDBInstances.
      return [{ Sid: 'RdsRead', Effect: 'Allow', Action: ['rds:DescribeDBInstances'], Resource: '*' }];
    case 'alarm-reconciler':
      return [
        ...alarmStatements(config, o),
        {
          Sid: 'FleetRead',
          Effect: 'Allow',
          Action: [
            'rds:DescribeDBInstances',
            'rds:DescribeDBClusters',
            'dynamodb:ListTables',
            'dynamodb:DescribeTable',
          ],
          Resource: '*',
        },
      ];
    case 'alarm-handler':
      // The alarm handler runs the IOPS, replicas (reader CPU) and DynamoDB fast paths in-process,
      // through the same guards, so it holds those tuners' (condition-scoped) permissions.
      return [
        alarmsRead,
        ...iopsStatements(config),
        ...replicaStatements(config, o),
        ...dynamodbStatements(config),
        ...serverlessStatements(config),
      ];
    case 'report':
    case 'digest':
      return reportStatements(config, o);
    case 'control':
      return [
        {
          Sid: 'WritePauseFlag',
          Effect: 'Allow',
          Action: ['ssm:PutParameter'],
          // The global switch and each fleet member account's own (`<name>/<account>`).
          Resource: [ssmParameterArn(o.pauseParameter), ssmParameterArn(`${o.pauseParameter}/*`)],
        },
        // revert replays a recorded undo through the tuner's own adapter.
        ...iopsStatements(config),
        ...replicaStatements(config, o),
        ...dynamodbStatements(config),
        ...proxyStatements(config),
        ...serverlessStatements(config),
      ];
  }
}

/** The read calls every tuner makes to discover its fleet and read metrics. */
export const discoveryStatement: Statement = discovery;

export function dedupeSids(statements: Statement[]): Statement[] {
  const seen = new Map<string, number>();
  return statements.map((s) => {
    const n = seen.get(s.Sid) ?? 0;
    seen.set(s.Sid, n + 1);
    return n === 0 ? s : { ...s, Sid: `${s.Sid}${n + 1}` };
  });
}

const pascal = (fn: string) =>
  fn
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

export function roleLogicalId(fn: FunctionName): string {
  return `${pascal(fn)}Role`;
}

/** The fleet worker's role name, which member roles trust (`<service>-<stage>-fleet-worker`). */
export function fleetWorkerRoleName(o: Pick<DeployOptions, 'service' | 'stage'>): string {
  return `${o.service}-${o.stage}-fleet-worker`.slice(0, 64);
}

/** CloudFormation resources: one AWS::IAM::Role per function. */
export function buildRoles(config: Config, o: DeployOptions): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  for (const fn of FUNCTIONS) {
    resources[roleLogicalId(fn)] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        // The member role's trust policy names the fleet worker's role by name (member-role.ts).
        ...(fn === 'fleet-worker' ? { RoleName: fleetWorkerRoleName(o) } : {}),
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
        Policies: [
          {
            PolicyName: `${o.service}-${o.stage}-${fn}`,
            PolicyDocument: { Version: '2012-10-17', Statement: statementsFor(fn, config, o) },
          },
        ],
        Tags: [{ Key: 'app', Value: o.service }],
      },
    };
  }
  return resources;
}
