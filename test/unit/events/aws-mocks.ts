import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSClient } from '@aws-sdk/client-rds';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

/**
 * Every AWS client db-autopilot uses, mocked (on the class prototype, so clients created later
 * by shared/aws/clients.ts are mocked too). Nothing reaches AWS; every command sent is recorded.
 */
export function mockAllAws() {
  const mocks = {
    rds: mockClient(RDSClient),
    dynamodb: mockClient(DynamoDBClient),
    dynamodbDocument: mockClient(DynamoDBDocumentClient),
    cloudwatch: mockClient(CloudWatchClient),
    ssm: mockClient(SSMClient),
    sns: mockClient(SNSClient),
    secretsManager: mockClient(SecretsManagerClient),
    tagging: mockClient(ResourceGroupsTaggingAPIClient),
    autoscaling: mockClient(ApplicationAutoScalingClient),
    route53: mockClient(Route53Client),
  };
  return {
    mocks,
    /** `service:CommandName` of every command sent to any client. */
    sent(): string[] {
      return Object.entries(mocks).flatMap(([service, mock]) =>
        mock
          .calls()
          .map((call) => `${service}:${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`),
      );
    },
    reset() {
      for (const m of Object.values(mocks)) m.reset();
    },
    restore() {
      for (const m of Object.values(mocks)) m.restore();
    },
  };
}

/** SDK commands that change something: the verbs of the IAM rule, plus Publish and Send*. */
export const MUTATING_COMMAND =
  /:(Create|Modify|Delete|Update|Put|Register|Deregister|Add|Remove|Tag|Untag|Set|Change|Reboot|Start|Stop|Restore|Label|Unlabel|Promote|Failover|Enable|Disable|Reset|Publish|Send|Execute|TransactWrite|BatchWrite)/;

export function fakeContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `db-autopilot-test-${functionName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:db-autopilot-test-${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: '11111111-2222-3333-4444-555555555555',
    logGroupName: `/aws/lambda/db-autopilot-test-${functionName}`,
    logStreamName: '2026/11/23/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 290_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
