import { stateTableDefinition, stateTableTtl } from '../state/table-definition.ts';

/** The state table as a CloudFormation resource, from the same definition the code and tests use. */
export function stateTableResource(stage: string): Record<string, unknown> {
  return {
    Type: 'AWS::DynamoDB::Table',
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      TableName: `db-autopilot-${stage}-state`,
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: stateTableTtl,
      AttributeDefinitions: stateTableDefinition.AttributeDefinitions,
      KeySchema: stateTableDefinition.KeySchema,
      GlobalSecondaryIndexes: stateTableDefinition.GlobalSecondaryIndexes,
    },
  };
}
