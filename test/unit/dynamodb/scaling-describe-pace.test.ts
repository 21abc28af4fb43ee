import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  describeScalableTargetsFor,
  POLICY_DESCRIBES_IN_FLIGHT,
} from '../../../shared/adapters/app-autoscaling.ts';
import { setAwsClients } from '../../../shared/aws/clients.ts';

/**
 * A busy account: 120 tables with Application Auto Scaling. Their policies are described a few at
 * a time (one throttle bucket per account and Region), not 120 calls at once.
 */
const aas = mockClient(ApplicationAutoScalingClient);
let restore: () => void;
beforeEach(() => {
  aas.reset();
  restore = setAwsClients({ autoscaling: new ApplicationAutoScalingClient({ region: 'us-east-1' }) });
});
afterEach(() => restore());

describe('describing the scaling policies of many tables', () => {
  it(`keeps at most ${POLICY_DESCRIBES_IN_FLIGHT} DescribeScalingPolicies in flight and reads every table's`, async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `table/t-${i}`);
    aas.on(DescribeScalableTargetsCommand).callsFake(async (input: { ResourceIds?: string[] }) => ({
      ScalableTargets: (input.ResourceIds ?? []).map((id) => ({
        ServiceNamespace: 'dynamodb',
        ResourceId: id,
        ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
        MinCapacity: 5,
        MaxCapacity: 100,
      })),
    }));
    let inFlight = 0;
    let most = 0;
    aas.on(DescribeScalingPoliciesCommand).callsFake(async (input: { ResourceId?: string }) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return {
        ScalingPolicies: [
          {
            PolicyName: 'read',
            ServiceNamespace: 'dynamodb',
            ResourceId: input.ResourceId,
            ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
            PolicyType: 'TargetTrackingScaling',
            TargetTrackingScalingPolicyConfiguration: { TargetValue: 70 },
          },
        ],
      };
    });
    const out = await describeScalableTargetsFor(ids);
    expect(out.size).toBe(120);
    expect(aas.commandCalls(DescribeScalingPoliciesCommand)).toHaveLength(120);
    expect(most).toBeLessThanOrEqual(POLICY_DESCRIBES_IN_FLIGHT);
    expect(most).toBeGreaterThan(0);
  });
});
