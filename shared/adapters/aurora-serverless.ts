/**
 * How a capacity-bounds change is applied to an Aurora Serverless v2 cluster. Thin: one
 * `set-serverless-bounds` Action (or its recorded undo, replayed by `revert` or a pause hand-back)
 * in, DescribeDBClusters (the cluster's state and engine version) then ModifyDBCluster with
 * ServerlessV2ScalingConfiguration out, SDK errors turned into a typed ActResult.
 *
 * AWS's rules (shared/aws/aurora-serverless.ts, RDS API reference ServerlessV2ScalingConfiguration):
 * MinCapacity / MaxCapacity in 0.5 ACU steps, MaxCapacity 1-256, MinCapacity 0 only on engine
 * versions with auto-pause (else 0.5), SecondsUntilAutoPause 300-86,400. A capacity-range change
 * takes effect at once "whether you apply it immediately or during the next scheduled maintenance
 * window" (Aurora User Guide, aurora-serverless-v2-administration), so ApplyImmediately is left
 * false: true would also apply every cluster modification a person queued for the maintenance
 * window (aws-facts.md, ApplyImmediately).
 */
import {
  type DBCluster,
  DBClusterNotFoundFault,
  DescribeDBClustersCommand,
  InvalidDBClusterStateFault,
  InvalidDBInstanceStateFault,
  ModifyDBClusterCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { z } from 'zod';
import { AUTO_PAUSE_SECONDS, invalidBounds, MAX_ACU } from '../aws/aurora-serverless.ts';
import { rdsClient } from '../aws/clients.ts';
import { clock } from '../core/clock.ts';
import type { Adapter, IntentCheck } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import type { ActResult } from '../core/model.ts';

/** When the cluster is not in a state to change: look again after this long. */
export const RETRY_CLUSTER_STATE_MS = 5 * 60_000;

const halfStep = (v: number) => Number.isInteger(v * 2);

export const serverlessBoundsSchema = z
  .object({
    min: z.number().min(0).max(MAX_ACU).refine(halfStep, 'MinCapacity must be a multiple of 0.5 ACU'),
    max: z.number().min(1).max(MAX_ACU).refine(halfStep, 'MaxCapacity must be a multiple of 0.5 ACU'),
    secondsUntilAutoPause: z
      .number()
      .int()
      .min(AUTO_PAUSE_SECONDS.min)
      .max(AUTO_PAUSE_SECONDS.max)
      .optional(),
  })
  .strict()
  .refine((b) => b.max >= b.min, { message: 'MaxCapacity must be at least MinCapacity', path: ['max'] });

export type ServerlessBoundsParams = z.infer<typeof serverlessBoundsSchema>;

/** The adapter parameters; a replayed undo also carries `undoKind` / `revertOf` (ignored here). */
export const setServerlessBoundsParamsSchema = z.object({
  clusterId: z.string().regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'a DB cluster identifier'),
  bounds: serverlessBoundsSchema,
});

/** The bounds as DescribeDBClusters shows them (SecondsUntilAutoPause only with MinCapacity 0). */
export function boundsOf(cluster: DBCluster): ServerlessBoundsParams | undefined {
  const c = cluster.ServerlessV2ScalingConfiguration;
  if (c?.MinCapacity === undefined || c.MaxCapacity === undefined) return undefined;
  return {
    min: c.MinCapacity,
    max: c.MaxCapacity,
    ...(c.MinCapacity === 0 && c.SecondsUntilAutoPause !== undefined
      ? { secondsUntilAutoPause: c.SecondsUntilAutoPause }
      : {}),
  };
}

async function describeCluster(rds: RDSClient, id: string): Promise<DBCluster | undefined> {
  try {
    return (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
  } catch (error) {
    if (error instanceof DBClusterNotFoundFault) return undefined;
    throw error;
  }
}

/** Why the cluster cannot take these bounds now (deferred) or ever (skipped), from its description. */
function refusal(cluster: DBCluster | undefined, id: string, b: ServerlessBoundsParams, until: string) {
  if (!cluster) return { status: 'skipped' as const, reason: `${id}: no such DB cluster` };
  if (!boundsOf(cluster))
    return { status: 'skipped' as const, reason: `${id} has no Aurora Serverless v2 scaling configuration` };
  if (cluster.Status !== 'available')
    return {
      status: 'deferred' as const,
      until,
      reason: `${id} is ${cluster.Status}, not available: bounds change retried after ${until}`,
    };
  const invalid = invalidBounds(b, cluster.Engine ?? '', cluster.EngineVersion ?? '');
  if (invalid) return { status: 'skipped' as const, reason: `${id}: ${invalid}` };
  return undefined;
}

function fromError(error: unknown, id: string, until: string): ActResult {
  if (error instanceof DBClusterNotFoundFault)
    return { status: 'skipped', reason: `${id}: ${publicMessage(error)}` };
  if (error instanceof InvalidDBClusterStateFault || error instanceof InvalidDBInstanceStateFault)
    return {
      status: 'deferred',
      until,
      reason: `${id} is not available for changes: ${publicMessage(error)}`,
    };
  const name = (error as { name?: string }).name;
  // Common errors with no class of their own (RDS API reference, Common Errors): AWS rejected the
  // values; retrying the same request cannot succeed.
  if (name === 'InvalidParameterValue' || name === 'InvalidParameterCombination')
    return { status: 'skipped', reason: `${id}: AWS rejected the bounds: ${publicMessage(error)}` };
  return { status: 'failed', reason: publicMessage(error), code: name };
}

export function createServerlessAdapter(options: { rds?: () => RDSClient; now?: () => Date } = {}): Adapter {
  const rds = options.rds ?? (() => rdsClient());
  const now = options.now ?? (() => clock().now());
  const adapter: Adapter = async (action): Promise<ActResult> => {
    if (action.kind !== 'set-serverless-bounds')
      return { status: 'skipped', reason: `the serverless adapter does not do ${action.kind}` };
    const parsed = setServerlessBoundsParamsSchema.safeParse(action.params);
    if (!parsed.success)
      return {
        status: 'skipped',
        reason: `invalid set-serverless-bounds parameters: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      };
    const { clusterId, bounds } = parsed.data;
    const until = new Date(now().getTime() + RETRY_CLUSTER_STATE_MS).toISOString();
    try {
      const refused = refusal(await describeCluster(rds(), clusterId), clusterId, bounds, until);
      if (refused) return refused;
      await rds().send(
        new ModifyDBClusterCommand({
          DBClusterIdentifier: clusterId,
          ServerlessV2ScalingConfiguration: {
            MinCapacity: bounds.min,
            MaxCapacity: bounds.max,
            ...(bounds.secondsUntilAutoPause !== undefined
              ? { SecondsUntilAutoPause: bounds.secondsUntilAutoPause }
              : {}),
          },
          ApplyImmediately: false,
        }),
      );
      return { status: 'applied' };
    } catch (error) {
      return fromError(error, clusterId, until);
    }
  };
  adapter.check = serverlessBoundsCheck;
  return adapter;
}

/** set-serverless-bounds: DescribeDBClusters shows the intended MinCapacity / MaxCapacity (they apply at once). */
export const serverlessBoundsCheck: IntentCheck = async (intent) => {
  const parsed = setServerlessBoundsParamsSchema.safeParse(intent.params);
  if (!parsed.success) return { verdict: 'unknown', detail: 'the intent names no cluster or bounds' };
  const { clusterId, bounds } = parsed.data;
  const cluster = await describeCluster(rdsClient(), clusterId);
  if (!cluster) return { verdict: 'not-applied', detail: `${clusterId} does not exist` };
  const seen = boundsOf(cluster);
  const same = seen?.min === bounds.min && seen.max === bounds.max;
  return same
    ? { verdict: 'applied', detail: `DescribeDBClusters shows ${bounds.min}-${bounds.max} ACU` }
    : {
        verdict: 'not-applied',
        detail: `DescribeDBClusters shows ${seen ? `${seen.min}-${seen.max}` : 'no'} ACU, not ${bounds.min}-${bounds.max}`,
      };
};
