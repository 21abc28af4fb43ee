import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PIClient } from '@aws-sdk/client-pi';
import { RDSClient } from '@aws-sdk/client-rds';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * One module-level client per service. Adapters call `aws().rds.send(...)`; the simulated
 * account (shared/sim) and tests install their own clients with `setAwsClients`, so the
 * same adapter code runs in Lambda, tests, the demo and backtests.
 *
 * `stateTable` is a separate DynamoDB client for db-autopilot's own state table (in the
 * demo and integration tests it points at dynalite on loopback), distinct from `dynamodb`,
 * the client for the tables being tuned.
 */
export interface AwsClients {
  rds: RDSClient;
  dynamodb: DynamoDBClient;
  cloudwatch: CloudWatchClient;
  ssm: SSMClient;
  secretsManager: SecretsManagerClient;
  sns: SNSClient;
  tagging: ResourceGroupsTaggingAPIClient;
  autoscaling: ApplicationAutoScalingClient;
  route53: Route53Client;
  /** Performance Insights (top SQL by DB load, no database connection needed). */
  pi: PIClient;
  stateTable: DynamoDBClient;
}

let clients: AwsClients | undefined;

function createDefaultClients(): AwsClients {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const common = { region, maxAttempts: 5 } as const;
  return {
    rds: new RDSClient(common),
    dynamodb: new DynamoDBClient(common),
    cloudwatch: new CloudWatchClient(common),
    ssm: new SSMClient(common),
    secretsManager: new SecretsManagerClient(common),
    sns: new SNSClient(common),
    tagging: new ResourceGroupsTaggingAPIClient(common),
    autoscaling: new ApplicationAutoScalingClient(common),
    // Route 53 is a global service.
    route53: new Route53Client({ ...common, region: 'us-east-1' }),
    pi: new PIClient(common),
    stateTable: new DynamoDBClient(
      process.env.STATE_TABLE_ENDPOINT ? { ...common, endpoint: process.env.STATE_TABLE_ENDPOINT } : common,
    ),
  };
}

export function aws(): AwsClients {
  clients ??= createDefaultClients();
  return clients;
}

/** Replace some or all clients (simulated account, tests). Returns a restore function. */
export function setAwsClients(partial: Partial<AwsClients>): () => void {
  const previous = clients;
  clients = { ...aws(), ...partial };
  return () => {
    clients = previous;
  };
}

export function resetAwsClients(): void {
  clients = undefined;
}
