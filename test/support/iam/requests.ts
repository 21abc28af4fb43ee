/**
 * What IAM authorizes for each SDK call db-autopilot makes, read from the simulated account's
 * state as the caller found it (SimAccount.observeCalls): the action, every resource ARN the
 * Service Authorization Reference lists for it (one request each: IAM must allow all of them) and
 * the condition keys of that request (the resource's tags, the request's tags, service keys).
 *
 * Sources: Service Authorization Reference (docs.aws.amazon.com/service-authorization/latest/
 * reference/) pages of Amazon RDS, Amazon DynamoDB, AWS Application Auto Scaling, Amazon
 * CloudWatch, Amazon Route 53, AWS Systems Manager, Secrets Manager, SNS, Performance Insights and
 * the Resource Groups Tagging API; Application Auto Scaling User Guide, "How Application Auto
 * Scaling works with IAM" (scalable-target ARN with an opaque id; keys service-namespace and
 * scalable-dimension) and "Identity-based policy examples" (PutScalingPolicy's caller needs the
 * CloudWatch alarm actions).
 *
 * Not modelled (a call these pass may still need more in a real account): KMS permissions of
 * encrypted replicas (kms:CreateGrant / DescribeKey, key policies), the default option, parameter
 * and subnet groups AWS picks when a request names none, iam:CreateServiceLinkedRole (the
 * simulator has no service-linked roles), aws:RequestedRegion and other global keys we do not use.
 * An operation not listed here throws, so a new SDK call cannot pass the replay unexamined.
 */
import { createHash } from 'node:crypto';
import type { SimAccount, SimCall } from '../../../shared/sim/engine.ts';
import { proxyByArn } from '../../../shared/sim/services/rds-proxy.ts';
import type { AuthRequest, ContextValue } from './evaluate.ts';

type Input = Record<string, unknown>;
type Tags = Map<string, string> | Record<string, string> | undefined;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function tagContext(prefix: 'aws:ResourceTag' | 'aws:RequestTag', tags: Tags): Record<string, string> {
  const entries = tags instanceof Map ? [...tags.entries()] : Object.entries(tags ?? {});
  return Object.fromEntries(entries.map(([k, v]) => [`${prefix}/${k}`, v]));
}

/** `Tags` of an RDS / CloudWatch / AAS request as IAM sees them: aws:RequestTag/<k> and aws:TagKeys. */
function requestTags(input: Input): Record<string, ContextValue> {
  const raw = input.Tags;
  const pairs: Array<[string, string]> = Array.isArray(raw)
    ? raw.map((t) => [String((t as { Key?: unknown }).Key), String((t as { Value?: unknown }).Value ?? '')])
    : raw && typeof raw === 'object'
      ? Object.entries(raw as Record<string, string>)
      : [];
  if (pairs.length === 0) return {};
  return { ...tagContext('aws:RequestTag', Object.fromEntries(pairs)), 'aws:TagKeys': pairs.map(([k]) => k) };
}

class Requests {
  readonly out: AuthRequest[] = [];
  constructor(
    private readonly sim: SimAccount,
    private readonly call: string,
    private readonly client: string,
  ) {}
  arn(service: string, resource: string, region = this.sim.region): string {
    return `arn:aws:${service}:${region}:${this.sim.accountId}:${resource}`;
  }
  add(action: string, resource: string, context: Record<string, ContextValue> = {}): this {
    this.out.push({ action, resource, context, call: this.call, client: this.client });
    return this;
  }
}

function rdsDb(sim: SimAccount, idOrArn: string): { arn: string; tags: Tags } {
  if (idOrArn.startsWith('arn:')) {
    const id = idOrArn.split(':').pop() ?? '';
    return { arn: idOrArn, tags: sim.rds.instances.get(id)?.tags };
  }
  return {
    arn: `arn:aws:rds:${sim.region}:${sim.accountId}:db:${idOrArn}`,
    tags: sim.rds.instances.get(idOrArn)?.tags,
  };
}

/** CreateDBInstance / CreateDBInstanceReadReplica: the new instance, its source, the groups it names. */
function rdsCreate(sim: SimAccount, r: Requests, action: string, input: Input): void {
  const tags = requestTags(input);
  const id = str(input.DBInstanceIdentifier) ?? '';
  r.add(`rds:${action}`, r.arn('rds', `db:${id}`), tags);
  const source = str(input.SourceDBInstanceIdentifier);
  if (source) {
    const s = rdsDb(sim, source);
    r.add(`rds:${action}`, s.arn, { ...tags, ...tagContext('aws:ResourceTag', s.tags) });
  }
  const cluster = str(input.DBClusterIdentifier);
  if (cluster) {
    r.add(`rds:${action}`, r.arn('rds', `cluster:${cluster}`), {
      ...tags,
      ...tagContext('aws:ResourceTag', sim.rds.clusters.get(cluster)?.tags),
    });
  }
  const groups: Array<[string, string]> = [
    ['pg', 'DBParameterGroupName'],
    ['og', 'OptionGroupName'],
    ['subgrp', 'DBSubnetGroupName'],
  ];
  for (const [type, field] of groups) {
    const name = str(input[field]);
    if (name) r.add(`rds:${action}`, r.arn('rds', `${type}:${name}`), tags);
  }
  // Tags given at creation are authorized as rds:AddTagsToResource too (aws-facts.md, IAM).
  if (input.Tags) r.add('rds:AddTagsToResource', r.arn('rds', `db:${id}`), tags);
  const role = str(input.MonitoringRoleArn);
  if (role) r.add('iam:PassRole', role, { 'iam:PassedToService': 'monitoring.rds.amazonaws.com' });
}

function rds(sim: SimAccount, r: Requests, op: string, input: Input): void {
  const db = (id: unknown) => rdsDb(sim, str(id) ?? '');
  switch (op) {
    case 'DescribeDBInstances':
      r.add(
        'rds:DescribeDBInstances',
        str(input.DBInstanceIdentifier) ? db(input.DBInstanceIdentifier).arn : r.arn('rds', 'db:*'),
      );
      return;
    case 'DescribeDBClusters':
      r.add('rds:DescribeDBClusters', r.arn('rds', `cluster:${str(input.DBClusterIdentifier) ?? '*'}`));
      return;
    case 'DescribeValidDBInstanceModifications':
      r.add('rds:DescribeValidDBInstanceModifications', db(input.DBInstanceIdentifier).arn);
      return;
    case 'DescribeEvents':
    case 'DescribeAccountAttributes':
    case 'DescribeDBProxies':
    case 'DescribeDBProxyTargetGroups':
    case 'DescribeDBProxyTargets':
      r.add(`rds:${op}`, '*');
      return;
    case 'ListTagsForResource':
      r.add('rds:ListTagsForResource', str(input.ResourceName) ?? '*');
      return;
    case 'ModifyDBInstance': {
      const d = db(input.DBInstanceIdentifier);
      r.add('rds:ModifyDBInstance', d.arn, tagContext('aws:ResourceTag', d.tags));
      return;
    }
    case 'DeleteDBInstance': {
      const d = db(input.DBInstanceIdentifier);
      r.add('rds:DeleteDBInstance', d.arn, tagContext('aws:ResourceTag', d.tags));
      return;
    }
    case 'ModifyDBCluster': {
      const id = str(input.DBClusterIdentifier) ?? '';
      r.add(
        'rds:ModifyDBCluster',
        r.arn('rds', `cluster:${id}`),
        tagContext('aws:ResourceTag', sim.rds.clusters.get(id)?.tags),
      );
      return;
    }
    case 'CreateDBInstance':
    case 'CreateDBInstanceReadReplica':
      rdsCreate(sim, r, op, input);
      return;
    case 'ModifyDBProxyTargetGroup': {
      // The target group's ARN holds an opaque id (target-group:prx-tg-...) and its own tags, not
      // the proxy's; the simulator keeps none (a person's default target group has none).
      const name = str(input.DBProxyName) ?? '';
      if (!proxyByArn(sim, r.arn('rds', `db-proxy:prx-${name}`)))
        throw new Error(`no simulated proxy ${name}`);
      r.add('rds:ModifyDBProxyTargetGroup', r.arn('rds', `target-group:prx-tg-${opaque(name)}`));
      return;
    }
  }
  throw unmodelled('rds', op);
}

function dynamodb(sim: SimAccount, r: Requests, op: string, input: Input): void {
  const table = (name: string) => ({
    arn: r.arn('dynamodb', `table/${name}`),
    tags: sim.dynamodb.tables.get(name)?.tags,
  });
  switch (op) {
    case 'ListTables':
    case 'DescribeLimits':
      r.add(`dynamodb:${op}`, '*');
      return;
    case 'DescribeTable':
    case 'UpdateTable': {
      const t = table(str(input.TableName) ?? '');
      r.add(`dynamodb:${op}`, t.arn, tagContext('aws:ResourceTag', t.tags));
      return;
    }
    case 'ListTagsOfResource':
      r.add('dynamodb:ListTagsOfResource', str(input.ResourceArn) ?? '*');
      return;
  }
  throw unmodelled('dynamodb', op);
}

/** A stable stand-in for the opaque id AWS gives a scalable target or a proxy target group. */
function opaque(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 36);
}

function autoscaling(r: Requests, op: string, input: Input): void {
  switch (op) {
    case 'DescribeScalableTargets':
    case 'DescribeScalingPolicies':
      r.add(`application-autoscaling:${op}`, '*');
      return;
    case 'RegisterScalableTarget':
    case 'PutScalingPolicy': {
      const ns = str(input.ServiceNamespace) ?? '';
      const resourceId = str(input.ResourceId) ?? '';
      const dim = str(input.ScalableDimension) ?? '';
      // arn:...:scalable-target/<opaque id>: the ARN never names the table. The simulator keeps no
      // tags on scalable targets, as a person's console-made target has none.
      const target = r.arn(
        'application-autoscaling',
        `scalable-target/${opaque(`${ns}|${resourceId}|${dim}`)}`,
      );
      const context = {
        'application-autoscaling:service-namespace': ns,
        'application-autoscaling:scalable-dimension': dim,
        ...(op === 'RegisterScalableTarget' ? requestTags(input) : {}),
      };
      r.add(`application-autoscaling:${op}`, target, context);
      if (op === 'RegisterScalableTarget' && input.Tags)
        r.add('application-autoscaling:TagResource', target, context);
      if (op === 'PutScalingPolicy' && str(input.PolicyType) !== 'StepScaling') {
        // Target tracking creates (or updates) its alarms with the caller's permissions.
        for (const k of ['AlarmHigh', 'AlarmLow'])
          r.add(
            'cloudwatch:PutMetricAlarm',
            r.arn('cloudwatch', `alarm:TargetTracking-${resourceId}-${k}-${opaque(resourceId + k)}`),
          );
      }
      return;
    }
  }
  throw unmodelled('autoscaling', op);
}

function cloudwatch(sim: SimAccount, r: Requests, op: string, input: Input): void {
  const alarm = (name: string) => r.arn('cloudwatch', `alarm:${name}`);
  const dashboard = (name: string) => `arn:aws:cloudwatch::${sim.accountId}:dashboard/${name}`;
  switch (op) {
    case 'GetMetricData':
    case 'GetMetricStatistics':
    case 'DescribeAlarms':
      r.add(`cloudwatch:${op}`, '*');
      return;
    case 'PutMetricAlarm': {
      const tags = requestTags(input);
      r.add('cloudwatch:PutMetricAlarm', alarm(str(input.AlarmName) ?? ''), tags);
      if (input.Tags) r.add('cloudwatch:TagResource', alarm(str(input.AlarmName) ?? ''), tags);
      return;
    }
    case 'DeleteAlarms':
      for (const name of (input.AlarmNames as string[] | undefined) ?? [])
        r.add('cloudwatch:DeleteAlarms', alarm(name));
      return;
    case 'ListTagsForResource':
    case 'TagResource':
      r.add(
        `cloudwatch:${op}`,
        str(input.ResourceARN) ?? '*',
        op === 'TagResource' ? requestTags(input) : {},
      );
      return;
    case 'PutDashboard':
    case 'GetDashboard':
      r.add(`cloudwatch:${op}`, dashboard(str(input.DashboardName) ?? ''));
      return;
  }
  throw unmodelled('cloudwatch', op);
}

function route53(r: Requests, op: string, input: Input): void {
  const zone = `arn:aws:route53:::hostedzone/${(str(input.HostedZoneId) ?? '').replace(/^\/hostedzone\//, '')}`;
  switch (op) {
    case 'ChangeResourceRecordSets':
    case 'ListResourceRecordSets':
      r.add(`route53:${op}`, zone);
      return;
    case 'CreateHealthCheck':
    case 'ListHealthChecks':
      r.add(`route53:${op}`, '*');
      return;
    case 'DeleteHealthCheck':
    case 'GetHealthCheck':
      r.add(`route53:${op}`, `arn:aws:route53:::healthcheck/${str(input.HealthCheckId) ?? ''}`);
      return;
  }
  throw unmodelled('route53', op);
}

function unmodelled(service: string, op: string): Error {
  return new Error(
    `iam replay: ${service}:${op} is not modelled in test/support/iam/requests.ts (add the action, resources and condition keys the Service Authorization Reference lists for it)`,
  );
}

/** The authorization requests of one SDK call, in the account's state before the call. */
export function authorizationRequests(sim: SimAccount, call: SimCall): AuthRequest[] {
  const { service, operation: op, input } = call;
  const r = new Requests(sim, `${service}:${op}`, service);
  switch (service) {
    case 'rds':
      rds(sim, r, op, input);
      break;
    case 'dynamodb':
      dynamodb(sim, r, op, input);
      break;
    case 'autoscaling':
      autoscaling(r, op, input);
      break;
    case 'cloudwatch':
      cloudwatch(sim, r, op, input);
      break;
    case 'route53':
      route53(r, op, input);
      break;
    case 'tagging':
      if (op !== 'GetResources') throw unmodelled(service, op);
      r.add('tag:GetResources', '*');
      break;
    case 'ssm': {
      if (op !== 'GetParameter' && op !== 'PutParameter') throw unmodelled(service, op);
      const name = str(input.Name) ?? '';
      r.add(`ssm:${op}`, r.arn('ssm', `parameter${name.startsWith('/') ? name : `/${name}`}`));
      break;
    }
    case 'secretsManager': {
      if (op !== 'GetSecretValue') throw unmodelled(service, op);
      const id = str(input.SecretId) ?? '';
      r.add(
        'secretsmanager:GetSecretValue',
        id.startsWith('arn:') ? id : r.arn('secretsmanager', `secret:${id}-AbCdEf`),
      );
      break;
    }
    case 'sns':
      if (op !== 'Publish') throw unmodelled(service, op);
      r.add('sns:Publish', str(input.TopicArn) ?? '*');
      break;
    case 'pi':
      if (op !== 'DescribeDimensionKeys' && op !== 'GetResourceMetrics') throw unmodelled(service, op);
      r.add(`pi:${op}`, r.arn('pi', `metrics/rds/${str(input.Identifier) ?? ''}`));
      break;
    default:
      throw unmodelled(service, op);
  }
  return r.out;
}
