import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/fleet-worker.ts';
import { parseConfig, setConfig } from '../../../shared/config/load.ts';

const context = {
  awsRequestId: 'req-1',
  functionName: 'fleet-worker',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const sts = mockClient(STSClient);

describe('fleet-worker function', () => {
  afterEach(() => {
    sts.reset();
    setConfig(undefined);
  });

  it("refuses a unit outside the fleet's Regions, tuners or accounts, naming the field, and assumes no role", async () => {
    setConfig(
      parseConfig(
        [
          'version: 1',
          'fleet:',
          '  externalId: ext-1',
          "  accounts: ['111111111111']",
          "  excludeAccounts: ['222222222222']",
          '  regions: [us-east-1]',
          '  tuners: [iops]',
        ].join('\n'),
        'fleet.yml',
      ),
    );
    const unit = { runId: 'r-1', account: '111111111111', region: 'us-east-1', tuner: 'iops' };
    for (const [event, field] of [
      [{ ...unit, region: 'eu-west-1' }, 'event.region'],
      [{ ...unit, tuner: 'replicas' }, 'event.tuner'],
      [{ ...unit, account: '222222222222' }, 'event.account'],
      [{ ...unit, account: '333333333333' }, 'event.account'],
    ] as const) {
      const result = (await handler(event, context)) as { ok: boolean; error?: string };
      expect(result.ok, JSON.stringify(event)).toBe(false);
      expect(result.error).toContain(field);
    }
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });
});
