import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

/**
 * The state table: one DynamoDB table for the audit log, the cooldown ledger, drift records,
 * tuner state, lease locks, idempotency keys, the "created by db-autopilot" register, the daily
 * and monthly totals and the report function's delivery record. The key layout (partition keys
 * begin with the owning tuner) is documented at the top of keys.ts. serverless.yml takes this
 * definition through shared/deploy/state-table.ts.
 *
 * Indexes are sparse: only notable decisions (not no-ops) carry their keys, so a no-op is written
 * once, not three times.
 *
 * `expiresAt` is the TTL attribute (epoch seconds). DynamoDB deletes expired items late (up to
 * days), so every read and condition that cares about expiry compares it with "now" itself.
 */
export const STATE_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  byDayIndex: 'byDay',
  byIdIndex: 'byId',
} as const;

export const DEFAULT_STATE_TABLE_NAME = 'db-autopilot-state';

/** Audit records are kept this long unless AUDIT_TTL_DAYS says otherwise. */
export const DEFAULT_AUDIT_TTL_DAYS = 400;

/**
 * A successful no-op decision (about 93% of all decisions: "nothing to do" every run) is kept
 * this long unless NOOP_TTL_DAYS says otherwise (never longer than the audit records). The day's
 * totals still count it for the audit retention; notable decisions (changes, skips, deferrals,
 * failures, recommendations, failed no-ops) keep the audit retention. Most of what the state
 * table stores is no-ops, so this is most of its storage bill (shared/cost/model.ts).
 */
export const DEFAULT_NOOP_TTL_DAYS = 30;

/**
 * A retention in days as deployed (`AUDIT_TTL_DAYS` / `NOOP_TTL_DAYS`, set from serverless.yml's
 * `auditTtlDays` / `noopTtlDays` parameters): a whole number >= 1, else `fallback` when unset.
 * Checked at package time (shared/deploy/serverless-vars.cjs) and again when the store starts.
 */
export function parseTtlDays(name: string, raw: string | number | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1) {
    throw new RangeError(`${name} must be a whole number of days >= 1, got "${raw}"`);
  }
  return days;
}

export const stateTableDefinition = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'dayPk', AttributeType: 'S' },
    { AttributeName: 'daySk', AttributeType: 'S' },
    { AttributeName: 'decisionId', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
  GlobalSecondaryIndexes: [
    {
      IndexName: 'byDay',
      KeySchema: [
        { AttributeName: 'dayPk', KeyType: 'HASH' },
        { AttributeName: 'daySk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: 'byId',
      KeySchema: [{ AttributeName: 'decisionId', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    },
  ],
} as const satisfies Omit<CreateTableCommandInput, 'TableName'>;

/** For UpdateTimeToLive / the CloudFormation TimeToLiveSpecification. */
export const stateTableTtl = { AttributeName: 'expiresAt', Enabled: true } as const;

/**
 * Creates the state table (tests against dynalite, the demo). Idempotent: an existing table is
 * left as it is. TTL is enabled where the server supports it (dynalite does not: ignored there).
 */
export async function createStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const input: CreateTableCommandInput = {
    TableName: tableName,
    AttributeDefinitions: stateTableDefinition.AttributeDefinitions.map((a) => ({ ...a })),
    KeySchema: stateTableDefinition.KeySchema.map((k) => ({ ...k })),
    BillingMode: stateTableDefinition.BillingMode,
    GlobalSecondaryIndexes: stateTableDefinition.GlobalSecondaryIndexes.map((g) => ({
      IndexName: g.IndexName,
      KeySchema: g.KeySchema.map((k) => ({ ...k })),
      Projection: { ...g.Projection },
    })),
  };
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (error instanceof ResourceInUseException) return;
    throw error;
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { ...stateTableTtl } }),
    );
  } catch {
    // dynalite has no UpdateTimeToLive; real DynamoDB gets TTL from CloudFormation anyway.
  }
}
