import {
  DescribeScalableTargetsCommand,
  ObjectNotFoundException,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import {
  GetResourcesCommand,
  type GetResourcesCommandOutput,
} from '@aws-sdk/client-resource-groups-tagging-api';
import {
  ChangeResourceRecordSetsCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
} from '@aws-sdk/client-route-53';
import {
  GetSecretValueCommand,
  ResourceNotFoundException as SecretNotFound,
} from '@aws-sdk/client-secrets-manager';
import { InvalidParameterException, NotFoundException, PublishCommand } from '@aws-sdk/client-sns';
import {
  GetParameterCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../../shared/aws/clients.ts';
import { clock } from '../../../shared/core/clock.ts';
import { MINUTE_MS, SimAccount } from '../../../shared/sim/index.ts';
import { rejection } from '../../support/rejection.ts';

const START = '2026-11-20T00:00:00.000Z';

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

describe('SimAccount.install', () => {
  it('makes aws() answer from the simulator and clock() read the virtual clock, and counts calls', async () => {
    const sim = new SimAccount({ start: START });
    sim.rds.addInstance({ id: 'orders', engine: 'postgres', instanceClass: 'db.m5.large' });
    uninstall = sim.install();
    const out = await aws().rds.send(new DescribeDBInstancesCommand({}));
    expect(out.DBInstances?.map((d) => d.DBInstanceIdentifier)).toEqual(['orders']);
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(clock().now().toISOString()).toBe(START);
    sim.advance(5 * MINUTE_MS);
    expect(clock().now().toISOString()).toBe('2026-11-20T00:05:00.000Z');
    expect(sim.stats().calls).toEqual({ 'rds:DescribeDBInstances': 1 });
    uninstall();
    uninstall = undefined;
    expect(clock().now().getUTCFullYear()).not.toBe(2026 + 100);
    expect(clock()).not.toBe(sim.clock);
  });
});

describe('simulated Resource Groups Tagging API', () => {
  it('selects by tag and type, 100 per page with PaginationToken', async () => {
    const sim = new SimAccount({ start: START });
    for (let i = 0; i < 150; i++)
      sim.rds.addInstance({
        id: `db${i}`,
        engine: 'postgres',
        instanceClass: 'db.m5.large',
        tags: { 'db-autopilot:managed': i % 2 === 0 ? 'true' : 'false' },
      });
    for (let i = 0; i < 30; i++)
      sim.dynamodb.addTable({ name: `t${i}`, tags: { 'db-autopilot:managed': 'true' } });
    sim.dynamodb.addTable({ name: 'untagged' });
    const tagging = sim.clients().tagging;
    const arns: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out: GetResourcesCommandOutput = await tagging.send(
        new GetResourcesCommand({
          TagFilters: [{ Key: 'db-autopilot:managed', Values: ['true'] }],
          ResourceTypeFilters: ['rds:db', 'dynamodb:table'],
          PaginationToken: token,
        }),
      );
      arns.push(...(out.ResourceTagMappingList ?? []).map((r) => r.ResourceARN ?? ''));
      token = out.PaginationToken || undefined;
      pages++;
    } while (token);
    expect(arns).toHaveLength(105);
    expect(pages).toBe(2);
    const tables = await tagging.send(new GetResourcesCommand({ ResourceTypeFilters: ['dynamodb:table'] }));
    expect(tables.ResourceTagMappingList).toHaveLength(30);
  });
});

describe('simulated SSM, Secrets Manager, SNS, Route 53, Application Auto Scaling', () => {
  it('answers ParameterNotFound and refuses to overwrite without Overwrite', async () => {
    const sim = new SimAccount({ start: START });
    const ssm = sim.clients().ssm;
    const missing = await rejection(ssm.send(new GetParameterCommand({ Name: '/db-autopilot/paused' })));
    expect(missing).toBeInstanceOf(ParameterNotFound);
    await ssm.send(new PutParameterCommand({ Name: '/db-autopilot/paused', Value: 'true', Type: 'String' }));
    const again = await rejection(
      ssm.send(new PutParameterCommand({ Name: '/db-autopilot/paused', Value: 'false' })),
    );
    expect(again).toBeInstanceOf(ParameterAlreadyExists);
    await ssm.send(
      new PutParameterCommand({ Name: '/db-autopilot/paused', Value: 'false', Overwrite: true }),
    );
    const p = await ssm.send(new GetParameterCommand({ Name: '/db-autopilot/paused' }));
    expect(p.Parameter).toMatchObject({ Value: 'false', Version: 2 });
  });

  it('serves secrets and answers ResourceNotFoundException for an unknown one', async () => {
    const sim = new SimAccount({ start: START });
    sim.secrets.put('db-autopilot/orders', { username: 'u', password: 'p' });
    const sm = sim.clients().secretsManager;
    const s = await sm.send(new GetSecretValueCommand({ SecretId: 'db-autopilot/orders' }));
    expect(JSON.parse(s.SecretString ?? '{}')).toEqual({ username: 'u', password: 'p' });
    const err = await rejection(sm.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(err).toBeInstanceOf(SecretNotFound);
    expect(err.message).toBe("Secrets Manager can't find the specified secret.");
  });

  it('records SNS messages and rejects unknown topics and bad subjects', async () => {
    const sim = new SimAccount({ start: START });
    const topic = sim.sns.createTopic('reports');
    const sns = sim.clients().sns;
    await sns.send(
      new PublishCommand({ TopicArn: topic, Subject: 'db-autopilot: 3 changes', Message: 'hello' }),
    );
    expect(sim.sns.messages.map((m) => m.Subject)).toEqual(['db-autopilot: 3 changes']);
    expect(
      await rejection(sns.send(new PublishCommand({ TopicArn: `${topic}x`, Message: 'x' }))),
    ).toBeInstanceOf(NotFoundException);
    expect(
      await rejection(sns.send(new PublishCommand({ TopicArn: topic, Subject: 'a\nb', Message: 'x' }))),
    ).toBeInstanceOf(InvalidParameterException);
  });

  it('stores weighted record sets and rejects creating one twice', async () => {
    const sim = new SimAccount({ start: START });
    sim.route53.addZone('Z1', 'db.internal.');
    const r53 = sim.clients().route53;
    const change = (Action: 'CREATE' | 'DELETE') =>
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: 'Z1',
        ChangeBatch: {
          Changes: [
            {
              Action,
              ResourceRecordSet: {
                Name: 'read.db.internal',
                Type: 'CNAME',
                SetIdentifier: 'r1',
                Weight: 1,
                TTL: 30,
                ResourceRecords: [{ Value: 'r1.example' }],
              },
            },
          ],
        },
      });
    await r53.send(change('CREATE'));
    expect(await rejection(r53.send(change('CREATE')))).toBeInstanceOf(InvalidChangeBatch);
    expect(
      (await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1' }))).ResourceRecordSets,
    ).toHaveLength(1);
    await r53.send(change('DELETE'));
    expect(
      (await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1' }))).ResourceRecordSets,
    ).toHaveLength(0);
  });

  it('keeps scalable targets and refuses a policy without a target', async () => {
    const sim = new SimAccount({ start: START });
    const aas = sim.clients().autoscaling;
    const policy = new PutScalingPolicyCommand({
      PolicyName: 'p',
      ServiceNamespace: 'dynamodb',
      ResourceId: 'table/carts',
      ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 70,
        PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' },
      },
    });
    const err = await rejection(aas.send(policy));
    expect(err).toBeInstanceOf(ObjectNotFoundException);
    await aas.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: 'table/carts',
        ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
        MinCapacity: 5,
        MaxCapacity: 500,
      }),
    );
    const out = await aas.send(policy);
    expect(out.Alarms).toHaveLength(2);
    const targets = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb' }));
    expect(targets.ScalableTargets?.[0]).toMatchObject({ MinCapacity: 5, MaxCapacity: 500 });
  });
});
