import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  type TargetTrackingScalingPolicyConfiguration,
} from '@aws-sdk/client-application-auto-scaling';
import { UntagResourceCommand } from '@aws-sdk/client-dynamodb';
import { aws } from '../../shared/aws/clients.ts';
import type { Config } from '../../shared/config/schema.ts';
import type { TunerRunSummary } from '../../shared/core/contracts.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { HOUR_MS, MINUTE_MS } from '../../shared/sim/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { sectionOf } from './config.ts';

/**
 * A person's Application Auto Scaling on SecureCart's DynamoDB tables, as the DynamoDB e2e tests
 * set it up (the console way: a scalable target without tags, a target tracking policy on it).
 */
export const CATALOG = 'securecart-catalog';
export const CATALOG_RESOURCE = `table/${CATALOG}`;
export const READS = 'dynamodb:table:ReadCapacityUnits';

/** Target tracking at 70 % of the provisioned reads; a test adds the person's other settings. */
export const READS_AT_70 = {
  TargetValue: 70,
  PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBReadCapacityUtilization' as const },
};

export interface PersonTargetTracking {
  /** `table/<name>` (default: the catalog). */
  resource?: string;
  min?: number;
  max?: number;
  policy?: TargetTrackingScalingPolicyConfiguration;
}

/**
 * A person registers `resource`'s reads as a scalable target (`min`..`max`, no tags) and puts the
 * target tracking policy `catalog-read` on them.
 */
export async function personSetsUpTargetTracking({
  resource = CATALOG_RESOURCE,
  min = 400,
  max = 10_000,
  policy = READS_AT_70,
}: PersonTargetTracking = {}): Promise<void> {
  await aws().autoscaling.send(
    new RegisterScalableTargetCommand({
      ServiceNamespace: 'dynamodb',
      ResourceId: resource,
      ScalableDimension: READS,
      MinCapacity: min,
      MaxCapacity: max,
    }),
  );
  await aws().autoscaling.send(
    new PutScalingPolicyCommand({
      ServiceNamespace: 'dynamodb',
      ResourceId: resource,
      ScalableDimension: READS,
      PolicyName: 'catalog-read',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: policy,
    }),
  );
}

/** The scalable targets Application Auto Scaling describes for `resource` (every dimension). */
export async function scalableTargetsOf(resource = CATALOG_RESOURCE) {
  const out = await aws().autoscaling.send(
    new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb', ResourceIds: [resource] }),
  );
  return out.ScalableTargets ?? [];
}

/** The scaling policies Application Auto Scaling describes for `resource` (every dimension). */
export async function scalingPoliciesOf(resource = CATALOG_RESOURCE) {
  const out = await aws().autoscaling.send(
    new DescribeScalingPoliciesCommand({ ServiceNamespace: 'dynamodb', ResourceId: resource }),
  );
  return out.ScalingPolicies ?? [];
}

/** One DynamoDB tuner run at `at` (the simulated clock moved there first), keyed by trigger and time. */
export type TunerRunAt = (
  at: number,
  trigger: 'alarm' | 'schedule',
  resourceIds?: string[],
) => Promise<TunerRunSummary>;

export interface LiftOptions {
  /** The tables the first scheduled run is asked for (default: every managed table). */
  firstRun?: string[];
  /** Wraps each tuner run (an IAM replay records the calls it makes). */
  around?: (run: () => Promise<TunerRunSummary>) => Promise<TunerRunSummary>;
}

/**
 * On the installed SecureCart `sim`: a scheduled run at its start, then the catalog's evening
 * throttling alarm at 12:06 (the 12:04 throttling plus CloudWatch's 2-minute publication delay),
 * whose run lifts the minimum of a person's target. Returns that run (`lift`) for the test to check,
 * and `run` for the runs after it (one memory state store for all of them, `store`).
 */
export async function liftByAlarm(sim: SimAccount, config: Config, options: LiftOptions = {}) {
  const store = new MemoryStateStore();
  const around = options.around ?? ((go) => go());
  const run: TunerRunAt = (at, trigger, resourceIds) => {
    sim.advanceTo(at);
    return around(() =>
      runDynamodb(
        { trigger, resourceIds, dryRun: false, override: false, idempotencyKey: `${trigger}-${at}` },
        { config, store, now: sim.clock.now() },
      ),
    );
  };
  const start = sim.nowMs();
  await run(start, 'schedule', options.firstRun);
  const liftedAt = start + 12 * HOUR_MS + 6 * MINUTE_MS;
  const lift = await run(liftedAt, 'alarm', [CATALOG]);
  return { run, start, liftedAt, lift, store };
}

/** The managed tag taken off `table` (the scenario's tables carry it): only the config can manage it now. */
export async function untagManaged(sim: SimAccount, table = CATALOG): Promise<void> {
  await aws().dynamodb.send(
    new UntagResourceCommand({
      ResourceArn: sim.dynamodb.tables.get(table)?.arn,
      TagKeys: ['db-autopilot:managed'],
    }),
  );
}

/** `table` no longer managed: its managed tag and its name in the config's DynamoDB resources dropped. */
export async function stopManaging(config: Config, sim: SimAccount, table = CATALOG): Promise<void> {
  await untagManaged(sim, table);
  const section = sectionOf(config, 'dynamodb');
  section.resources = {
    ...section.resources,
    identifiers: (section.resources.identifiers ?? []).filter((id) => id !== table),
  };
}
