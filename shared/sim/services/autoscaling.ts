import { ObjectNotFoundException, ValidationException } from '@aws-sdk/client-application-auto-scaling';
import type { SimAccount } from '../engine.ts';
import { errorMetadata } from '../errors.ts';
import { arr, decodeToken, num, page, rec, str } from '../paging.ts';
import { type Input, registerOperations } from '../registry.ts';

/**
 * Simulated Application Auto Scaling: scalable targets and scaling policies as a store (the
 * simulator does not scale by itself; AWS's own target tracking is modelled in shared/backtest).
 */
export interface ScalableTarget {
  ServiceNamespace: string;
  ResourceId: string;
  ScalableDimension: string;
  MinCapacity: number;
  MaxCapacity: number;
  RoleARN: string;
  CreationTime: Date;
  SuspendedState: Record<string, unknown>;
}

export interface ScalingPolicy {
  PolicyARN: string;
  PolicyName: string;
  ServiceNamespace: string;
  ResourceId: string;
  ScalableDimension: string;
  PolicyType: string;
  TargetTrackingScalingPolicyConfiguration?: Record<string, unknown>;
  StepScalingPolicyConfiguration?: Record<string, unknown>;
  Alarms: Array<{ AlarmName: string; AlarmARN: string }>;
  CreationTime: Date;
}

export class AutoScalingState {
  readonly targets = new Map<string, ScalableTarget>();
  readonly policies = new Map<string, ScalingPolicy>();
  constructor(private readonly sim: SimAccount) {}

  key(ns: string, resourceId: string, dim: string): string {
    return `${ns}|${resourceId}|${dim}`;
  }

  register(
    t: Omit<ScalableTarget, 'CreationTime' | 'RoleARN' | 'SuspendedState'> & Partial<ScalableTarget>,
  ): void {
    this.targets.set(this.key(t.ServiceNamespace, t.ResourceId, t.ScalableDimension), {
      RoleARN: this.sim.arn(
        'iam',
        'role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable',
      ),
      CreationTime: this.sim.clock.now(),
      SuspendedState: {},
      ...t,
    });
  }
}

const meta = errorMetadata;

function ids(input: Input) {
  return {
    ns: str(input.ServiceNamespace) ?? '',
    resourceId: str(input.ResourceId) ?? '',
    dim: str(input.ScalableDimension) ?? '',
  };
}

function pageOf<T>(list: T[], input: Input, scope: string) {
  const size = num(input.MaxResults) ?? 50;
  const p = page(list, decodeToken(str(input.NextToken), scope) ?? 0, size, scope);
  return { items: p.items, NextToken: p.next };
}

registerOperations('autoscaling', {
  RegisterScalableTarget: (sim, input) => {
    const { ns, resourceId, dim } = ids(input);
    const existing = sim.autoscaling.targets.get(sim.autoscaling.key(ns, resourceId, dim));
    const min = num(input.MinCapacity) ?? existing?.MinCapacity;
    const max = num(input.MaxCapacity) ?? existing?.MaxCapacity;
    // Application Auto Scaling API reference, RegisterScalableTarget: min and max are required for a new target.
    if (min === undefined || max === undefined) {
      throw new ValidationException({
        message: 'MinCapacity and MaxCapacity are required to register a new scalable target.',
        $metadata: meta(),
      });
    }
    if (min > max) {
      throw new ValidationException({
        message: `Minimum capacity cannot be greater than maximum capacity (${min} > ${max}).`,
        $metadata: meta(),
      });
    }
    sim.autoscaling.register({
      ServiceNamespace: ns,
      ResourceId: resourceId,
      ScalableDimension: dim,
      MinCapacity: min,
      MaxCapacity: max,
      SuspendedState:
        input.SuspendedState !== undefined ? rec(input.SuspendedState) : (existing?.SuspendedState ?? {}),
      CreationTime: existing?.CreationTime,
    });
    return { ScalableTargetARN: sim.arn('application-autoscaling', `scalable-target/${resourceId}`) };
  },
  DeregisterScalableTarget: (sim, input) => {
    const { ns, resourceId, dim } = ids(input);
    if (!sim.autoscaling.targets.delete(sim.autoscaling.key(ns, resourceId, dim))) {
      throw new ObjectNotFoundException({
        message: `No scalable target found for service namespace: ${ns}, resource ID: ${resourceId}, scalable dimension: ${dim}`,
        $metadata: meta(),
      });
    }
    for (const [k, p] of sim.autoscaling.policies)
      if (p.ResourceId === resourceId && p.ScalableDimension === dim) sim.autoscaling.policies.delete(k);
    return {};
  },
  DescribeScalableTargets: (sim, input) => {
    const ns = str(input.ServiceNamespace);
    const resourceIds = arr(input.ResourceIds).map(String);
    const dim = str(input.ScalableDimension);
    const list = [...sim.autoscaling.targets.values()].filter(
      (t) =>
        (!ns || t.ServiceNamespace === ns) &&
        (resourceIds.length === 0 || resourceIds.includes(t.ResourceId)) &&
        (!dim || t.ScalableDimension === dim),
    );
    const p = pageOf(list, input, 'aas:targets');
    return { ScalableTargets: p.items, NextToken: p.NextToken };
  },
  PutScalingPolicy: (sim, input) => {
    const { ns, resourceId, dim } = ids(input);
    if (!sim.autoscaling.targets.has(sim.autoscaling.key(ns, resourceId, dim))) {
      // Application Auto Scaling API reference, PutScalingPolicy errors: ObjectNotFoundException; message as returned.
      throw new ObjectNotFoundException({
        message: `No scalable target registered for service namespace: ${ns}, resource ID: ${resourceId}, scalable dimension: ${dim}`,
        $metadata: meta(),
      });
    }
    const name = str(input.PolicyName) ?? 'policy';
    const arn = sim.arn('autoscaling', `scalingPolicy:sim:resource/${ns}/${resourceId}:policyName/${name}`);
    const policy: ScalingPolicy = {
      PolicyARN: arn,
      PolicyName: name,
      ServiceNamespace: ns,
      ResourceId: resourceId,
      ScalableDimension: dim,
      PolicyType: str(input.PolicyType) ?? 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration:
        input.TargetTrackingScalingPolicyConfiguration !== undefined
          ? rec(input.TargetTrackingScalingPolicyConfiguration)
          : undefined,
      StepScalingPolicyConfiguration:
        input.StepScalingPolicyConfiguration !== undefined
          ? rec(input.StepScalingPolicyConfiguration)
          : undefined,
      // aws-facts.md, DynamoDB: target tracking creates an AlarmHigh and an AlarmLow per dimension.
      Alarms: ['AlarmHigh', 'AlarmLow'].map((k) => ({
        AlarmName: `TargetTracking-${resourceId}-${k}-${name}`,
        AlarmARN: sim.arn('cloudwatch', `alarm:TargetTracking-${resourceId}-${k}-${name}`),
      })),
      CreationTime: sim.clock.now(),
    };
    sim.autoscaling.policies.set(`${ns}|${resourceId}|${dim}|${name}`, policy);
    return { PolicyARN: arn, Alarms: policy.Alarms };
  },
  DescribeScalingPolicies: (sim, input) => {
    const ns = str(input.ServiceNamespace);
    const resourceId = str(input.ResourceId);
    const dim = str(input.ScalableDimension);
    const names = arr(input.PolicyNames).map(String);
    const list = [...sim.autoscaling.policies.values()].filter(
      (p) =>
        (!ns || p.ServiceNamespace === ns) &&
        (!resourceId || p.ResourceId === resourceId) &&
        (!dim || p.ScalableDimension === dim) &&
        (names.length === 0 || names.includes(p.PolicyName)),
    );
    const p = pageOf(list, input, 'aas:policies');
    return { ScalingPolicies: p.items, NextToken: p.NextToken };
  },
  DeleteScalingPolicy: (sim, input) => {
    const { ns, resourceId, dim } = ids(input);
    const k = `${ns}|${resourceId}|${dim}|${str(input.PolicyName) ?? ''}`;
    if (!sim.autoscaling.policies.delete(k)) {
      throw new ObjectNotFoundException({
        message: `No scaling policy found for service namespace: ${ns}, resource ID: ${resourceId}, scalable dimension: ${dim}, policy name: ${String(input.PolicyName)}`,
        $metadata: meta(),
      });
    }
    return {};
  },
});
