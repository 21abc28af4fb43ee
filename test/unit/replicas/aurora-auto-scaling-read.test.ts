import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  ValidationException,
} from '@aws-sdk/client-application-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { auroraAutoScalingOf } from '../../../shared/tuners/replicas.ts';

/** The replica scaler reads Aurora Auto Scaling of all its Aurora clusters at once, not one call per cluster. */
const aas = mockClient(ApplicationAutoScalingClient);
let restore: () => void;
beforeEach(() => {
  aas.reset();
  restore = setAwsClients({ autoscaling: new ApplicationAutoScalingClient({ region: 'us-east-1' }) });
});
afterEach(() => restore());

const target = (cluster: string, min: number, max: number) => ({
  ServiceNamespace: 'rds' as const,
  ResourceId: `cluster:${cluster}`,
  ScalableDimension: 'rds:cluster:ReadReplicaCount' as const,
  MinCapacity: min,
  MaxCapacity: max,
});

describe('Aurora Auto Scaling of the run’s clusters', () => {
  it('is read in one DescribeScalableTargets per 50 clusters, every page, once per run', async () => {
    const clusters = Array.from({ length: 60 }, (_, i) => `aurora-${i}`);
    aas
      .on(DescribeScalableTargetsCommand)
      .callsFake(async (input: { ResourceIds?: string[]; NextToken?: string }) => {
        // Only clusters 7 and 55 have a target; the first call answers in two pages.
        const ids = input.ResourceIds ?? [];
        if (ids.includes('cluster:aurora-7'))
          return input.NextToken
            ? { ScalableTargets: [target('aurora-7', 1, 4)] }
            : { ScalableTargets: [], NextToken: 'page-2' };
        return { ScalableTargets: ids.includes('cluster:aurora-55') ? [target('aurora-55', 0, 2)] : [] };
      });
    const of = auroraAutoScalingOf(clusters);
    expect(aas.commandCalls(DescribeScalableTargetsCommand)).toHaveLength(0);
    expect(await of('aurora-7')).toEqual({ resourceId: 'cluster:aurora-7', minCapacity: 1, maxCapacity: 4 });
    expect(await of('aurora-55')).toEqual({
      resourceId: 'cluster:aurora-55',
      minCapacity: 0,
      maxCapacity: 2,
    });
    expect(await of('aurora-3')).toBeUndefined();
    const calls = aas.commandCalls(DescribeScalableTargetsCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(3);
    expect(calls.map((i) => i.ResourceIds?.length)).toEqual([50, 50, 10]);
    expect(calls.every((i) => i.ServiceNamespace === 'rds')).toBe(true);
    expect(calls.every((i) => i.ScalableDimension === 'rds:cluster:ReadReplicaCount')).toBe(true);
    expect(calls[1]?.NextToken).toBe('page-2');
  });

  it('fails each cluster’s lookup with the error when the read fails, after one call', async () => {
    aas
      .on(DescribeScalableTargetsCommand)
      .rejects(new ValidationException({ message: 'bad request', $metadata: {} }));
    const of = auroraAutoScalingOf(['a', 'b']);
    await expect(of('a')).rejects.toThrow('bad request');
    await expect(of('b')).rejects.toBeInstanceOf(ValidationException);
    expect(aas.commandCalls(DescribeScalableTargetsCommand)).toHaveLength(1);
  });
});
