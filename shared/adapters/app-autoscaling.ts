import {
  ConcurrentUpdateException,
  type CustomizedMetricSpecification,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  LimitExceededException,
  type MetricType,
  ObjectNotFoundException,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  type ScalableDimension,
  type ScalingPolicy,
  type TargetTrackingScalingPolicyConfiguration,
  ValidationException,
} from '@aws-sdk/client-application-auto-scaling';
import { z } from 'zod';
import { autoscalingClient } from '../aws/clients.ts';
import { clock } from '../core/clock.ts';
import type { Adapter } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import type { Action, ActResult } from '../core/model.ts';
import { isThrottling, mapLimit } from '../metrics/limits.ts';
import type {
  CapacityDim,
  ScalableTargetObservation,
  TrackingPolicy,
} from '../policies/dynamodb-observation.ts';

/**
 * Application Auto Scaling for DynamoDB: tune the scalable target instead of fighting it with
 * UpdateTable (aws-facts.md, "Native auto scaling").
 *
 * `set-scaling-target` params: { resourceId: "table/<t>[/index/<g>]", scalableDimension,
 * minCapacity?, maxCapacity?, policy?: the whole target tracking policy (name, target,
 * DisableScaleIn, cooldowns, metric) }: PutScalingPolicy replaces a policy whole, so every part the
 * person set is sent back as it was (aws-facts.md, "Learned from review").
 * - RegisterScalableTarget updates min/max of an existing target (a new minimum above the
 *   current capacity makes Application Auto Scaling scale out to it);
 * - PutScalingPolicy (TargetTrackingScaling, DynamoDB{Read,Write}CapacityUtilization, target
 *   20-90%) with DisableScaleIn where db-autopilot owns scale-in, so both do not spend the same
 *   decrease budget. The caller needs cloudwatch:PutMetricAlarm/DescribeAlarms/DeleteAlarms:
 *   the policy creates its alarms.
 * Errors (Application Auto Scaling API reference): ConcurrentUpdateException and throttling are
 * deferred a minute; ObjectNotFoundException is skipped (no target any more); ValidationException
 * and LimitExceededException fail with their name.
 */

export const DIMENSION: Record<
  CapacityDim,
  { table: ScalableDimension; index: ScalableDimension; metric: MetricType }
> = {
  read: {
    table: 'dynamodb:table:ReadCapacityUnits',
    index: 'dynamodb:index:ReadCapacityUnits',
    metric: 'DynamoDBReadCapacityUtilization',
  },
  write: {
    table: 'dynamodb:table:WriteCapacityUnits',
    index: 'dynamodb:index:WriteCapacityUnits',
    metric: 'DynamoDBWriteCapacityUtilization',
  },
};

export function scalableResourceId(tableName: string, indexName: string | null): string {
  return indexName === null ? `table/${tableName}` : `table/${tableName}/index/${indexName}`;
}

/** A target tracking policy, whole (sent by PutScalingPolicy; kept in the tuner state as the person's). */
export const trackingPolicySchema = z.object({
  policyName: z.string().min(1).max(256),
  // Target tracking for DynamoDB: 20-90 percent (aws-facts.md, "Native auto scaling").
  targetValue: z.number().min(20).max(90),
  disableScaleIn: z.boolean().optional(),
  // The rest of the person's policy, kept as it was (PutScalingPolicy replaces all of it).
  scaleInCooldown: z.number().int().min(0).optional(),
  scaleOutCooldown: z.number().int().min(0).optional(),
  predefinedMetricType: z.string().min(1).optional(),
  resourceLabel: z.string().min(1).optional(),
  customizedMetric: z.record(z.string(), z.unknown()).optional(),
});

/** A DynamoDB scalable target's ResourceId: table/<t>[/index/<g>]. */
export const scalableResourceIdSchema = z
  .string()
  .regex(/^table\/[A-Za-z0-9_.-]{3,255}(\/index\/[A-Za-z0-9_.-]{3,255})?$/);

export const scalableDimensionSchema = z.enum([
  'dynamodb:table:ReadCapacityUnits',
  'dynamodb:table:WriteCapacityUnits',
  'dynamodb:index:ReadCapacityUnits',
  'dynamodb:index:WriteCapacityUnits',
]);

const paramsSchema = z.object({
  resourceId: scalableResourceIdSchema,
  scalableDimension: scalableDimensionSchema,
  minCapacity: z.number().int().min(1).optional(),
  maxCapacity: z.number().int().min(1).optional(),
  policy: trackingPolicySchema.optional(),
});

export type ScalingTargetParams = z.infer<typeof paramsSchema>;

/** The whole TargetTrackingScalingPolicyConfiguration: what the person had, with our target / DisableScaleIn. */
export function trackingConfiguration(
  policy: NonNullable<ScalingTargetParams['policy']>,
  scalableDimension: string,
): TargetTrackingScalingPolicyConfiguration {
  const read = scalableDimension.endsWith('ReadCapacityUnits');
  return {
    TargetValue: policy.targetValue,
    ...(policy.disableScaleIn !== undefined ? { DisableScaleIn: policy.disableScaleIn } : {}),
    ...(policy.scaleInCooldown !== undefined ? { ScaleInCooldown: policy.scaleInCooldown } : {}),
    ...(policy.scaleOutCooldown !== undefined ? { ScaleOutCooldown: policy.scaleOutCooldown } : {}),
    ...(policy.customizedMetric
      ? { CustomizedMetricSpecification: policy.customizedMetric as CustomizedMetricSpecification }
      : {
          PredefinedMetricSpecification: {
            PredefinedMetricType: (policy.predefinedMetricType ??
              (read ? DIMENSION.read.metric : DIMENSION.write.metric)) as MetricType,
            ...(policy.resourceLabel ? { ResourceLabel: policy.resourceLabel } : {}),
          },
        }),
  };
}

/** A policy as DescribeScalingPolicies returns it, recorded whole. */
export function recordPolicy(p: ScalingPolicy): TrackingPolicy | undefined {
  const c = p.TargetTrackingScalingPolicyConfiguration;
  if (!p.PolicyName || c?.TargetValue === undefined) return undefined;
  return {
    policyName: p.PolicyName,
    targetValue: c.TargetValue,
    ...(c.DisableScaleIn !== undefined ? { disableScaleIn: c.DisableScaleIn } : {}),
    ...(c.ScaleInCooldown !== undefined ? { scaleInCooldown: c.ScaleInCooldown } : {}),
    ...(c.ScaleOutCooldown !== undefined ? { scaleOutCooldown: c.ScaleOutCooldown } : {}),
    ...(c.PredefinedMetricSpecification?.PredefinedMetricType
      ? { predefinedMetricType: c.PredefinedMetricSpecification.PredefinedMetricType }
      : {}),
    ...(c.PredefinedMetricSpecification?.ResourceLabel
      ? { resourceLabel: c.PredefinedMetricSpecification.ResourceLabel }
      : {}),
    ...(c.CustomizedMetricSpecification
      ? { customizedMetric: c.CustomizedMetricSpecification as Record<string, unknown> }
      : {}),
  };
}

function later(ms: number): string {
  return new Date(clock().now().getTime() + ms).toISOString();
}

export const applyScalingTarget: Adapter = async (action: Action): Promise<ActResult> => {
  if (action.kind !== 'set-scaling-target') {
    return {
      status: 'skipped',
      reason: `the Application Auto Scaling adapter does not apply ${action.kind}`,
    };
  }
  const parsed = paramsSchema.safeParse(action.params);
  if (!parsed.success) {
    return {
      status: 'failed',
      reason: `invalid scaling target params: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    };
  }
  const p = parsed.data;
  if (p.minCapacity !== undefined && p.maxCapacity !== undefined && p.minCapacity > p.maxCapacity) {
    return { status: 'failed', reason: `minCapacity ${p.minCapacity} is above maxCapacity ${p.maxCapacity}` };
  }
  const done: string[] = [];
  try {
    if (p.minCapacity !== undefined || p.maxCapacity !== undefined) {
      await autoscalingClient().send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'dynamodb',
          ResourceId: p.resourceId,
          ScalableDimension: p.scalableDimension,
          MinCapacity: p.minCapacity,
          MaxCapacity: p.maxCapacity,
        }),
      );
      done.push(`RegisterScalableTarget min ${p.minCapacity ?? '-'} max ${p.maxCapacity ?? '-'}`);
    }
    if (p.policy) {
      await autoscalingClient().send(
        new PutScalingPolicyCommand({
          ServiceNamespace: 'dynamodb',
          ResourceId: p.resourceId,
          ScalableDimension: p.scalableDimension,
          PolicyName: p.policy.policyName,
          PolicyType: 'TargetTrackingScaling',
          TargetTrackingScalingPolicyConfiguration: trackingConfiguration(p.policy, p.scalableDimension),
        }),
      );
      done.push(
        `PutScalingPolicy target ${p.policy.targetValue}% DisableScaleIn ${p.policy.disableScaleIn ?? false}`,
      );
    }
    if (!done.length) return { status: 'skipped', reason: 'nothing to change on the scalable target' };
    return { status: 'applied', detail: done.join('; ') };
  } catch (error) {
    const partial = done.length ? ` (done before the error: ${done.join('; ')})` : '';
    if (error instanceof ConcurrentUpdateException || isThrottling(error)) {
      return { status: 'deferred', until: later(60_000), reason: `${publicMessage(error)}${partial}` };
    }
    if (error instanceof ObjectNotFoundException) {
      return { status: 'skipped', reason: `no scalable target any more: ${publicMessage(error)}${partial}` };
    }
    if (error instanceof ValidationException || error instanceof LimitExceededException) {
      return { status: 'failed', reason: `${publicMessage(error)}${partial}`, code: error.name };
    }
    return { status: 'failed', reason: `${publicMessage(error)}${partial}`, code: (error as Error)?.name };
  }
};

/** DescribeScalableTargets takes at most 50 ResourceIds per call (Application Auto Scaling API reference). */
const RESOURCE_IDS_PER_CALL = 50;
/** DescribeScalingPolicies calls in flight at once (one per table with scalable targets). */
export const POLICY_DESCRIBES_IN_FLIGHT = 4;

/**
 * The scalable targets of many tables and GSIs at once (50 resource ids per call), with the
 * target tracking policy of each resource that has a target. Keyed by ResourceId.
 */
export async function describeScalableTargetsFor(
  resourceIds: string[],
): Promise<Map<string, Partial<Record<CapacityDim, ScalableTargetObservation>>>> {
  const out = new Map<string, Partial<Record<CapacityDim, ScalableTargetObservation>>>();
  const found: Array<{
    ResourceId?: string;
    ScalableDimension?: string;
    MinCapacity?: number;
    MaxCapacity?: number;
  }> = [];
  for (let i = 0; i < resourceIds.length; i += RESOURCE_IDS_PER_CALL) {
    let token: string | undefined;
    do {
      const page = await autoscalingClient().send(
        new DescribeScalableTargetsCommand({
          ServiceNamespace: 'dynamodb',
          ResourceIds: resourceIds.slice(i, i + RESOURCE_IDS_PER_CALL),
          NextToken: token,
        }),
      );
      found.push(...(page.ScalableTargets ?? []));
      token = page.NextToken;
    } while (token);
  }
  const withTargets = [...new Set(found.map((t) => t.ResourceId).filter((id): id is string => !!id))];
  // A few at a time, not one call per table at once: Application Auto Scaling has one throttle
  // bucket per account and Region, shared with the person's own tooling and AAS's console, and a
  // burst of hundreds of describes is answered "Rate exceeded" (AWS knowledge center,
  // autoscaling-api-calls-throttled: https://repost.aws/knowledge-center/autoscaling-api-calls-throttled).
  const policies = (
    await mapLimit(withTargets, POLICY_DESCRIBES_IN_FLIGHT, (id) =>
      autoscalingClient().send(
        new DescribeScalingPoliciesCommand({ ServiceNamespace: 'dynamodb', ResourceId: id }),
      ),
    )
  ).flatMap((p) => p.ScalingPolicies ?? []);
  for (const t of found) {
    if (!t.ResourceId || !t.ScalableDimension) continue;
    const dim: CapacityDim = t.ScalableDimension.endsWith('ReadCapacityUnits') ? 'read' : 'write';
    const policy = policies.find(
      (p) =>
        p.ResourceId === t.ResourceId &&
        p.ScalableDimension === t.ScalableDimension &&
        p.PolicyType === 'TargetTrackingScaling',
    );
    const entry = out.get(t.ResourceId) ?? {};
    entry[dim] = {
      resourceId: t.ResourceId,
      scalableDimension: t.ScalableDimension,
      minCapacity: t.MinCapacity ?? 1,
      maxCapacity: t.MaxCapacity ?? 40_000,
      policyName: policy?.PolicyName,
      targetValue: policy?.TargetTrackingScalingPolicyConfiguration?.TargetValue,
      disableScaleIn: policy?.TargetTrackingScalingPolicyConfiguration?.DisableScaleIn,
      policy: policy ? recordPolicy(policy) : undefined,
    };
    out.set(t.ResourceId, entry);
  }
  return out;
}
