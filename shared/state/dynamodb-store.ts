import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { aws } from '../aws/clients.ts';
import { clock } from '../core/clock.ts';
import type { DriftBaseline, ResourceHistory, StateStore } from '../core/contracts.ts';
import type { Decision, TunerName } from '../core/model.ts';
import { DuplicateDecisionError } from './errors.ts';
import {
  backoffUntil,
  byTimeThenId,
  countsAsChange,
  daysBetween,
  epochSeconds,
  expiresAfter,
  inWindow,
  isExpired,
  keys,
  RECENT_DECISIONS,
} from './keys.ts';
import { DEFAULT_AUDIT_TTL_DAYS, DEFAULT_STATE_TABLE_NAME, STATE_TABLE } from './table-definition.ts';

export interface DynamoDbStateStoreOptions {
  /** Defaults to aws().stateTable (dynalite in the demo and integration tests). */
  client?: DynamoDBClient;
  /** Defaults to env STATE_TABLE, then "db-autopilot-state". */
  tableName?: string;
  /** How long audit records live (TTL); env AUDIT_TTL_DAYS, default 400. */
  auditTtlDays?: number;
}

type Item = Record<string, unknown>;

/** Sort key prefix of the newest applied change of one action kind (`last#set-iops`). */
const LAST_APPLIED_SK = 'last#';

function isConditionFailure(error: unknown): boolean {
  // lib-dynamodb passes the client's modeled ConditionalCheckFailedException through.
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function auditTtlDaysFromEnv(): number {
  const raw = process.env.AUDIT_TTL_DAYS;
  if (raw === undefined || raw === '') return DEFAULT_AUDIT_TTL_DAYS;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1) {
    throw new RangeError(`AUDIT_TTL_DAYS must be a whole number of days >= 1, got "${raw}"`);
  }
  return days;
}

function asDecision(item: Item | undefined): Decision | undefined {
  const decision = item?.decision;
  return decision && typeof decision === 'object' ? (decision as Decision) : undefined;
}

/**
 * The StateStore on the DynamoDB state table (see table-definition.ts for the item layout).
 * Every write that must not race is a conditional write: idempotency keys and locks are claimed
 * with a condition, decisions are append-only, the cooldown ledger only moves forward in time.
 */
export class DynamoDbStateStore implements StateStore {
  readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;
  private readonly auditTtlDays: number;

  constructor(options: DynamoDbStateStoreOptions = {}) {
    this.tableName = options.tableName ?? process.env.STATE_TABLE ?? DEFAULT_STATE_TABLE_NAME;
    this.auditTtlDays = options.auditTtlDays ?? auditTtlDaysFromEnv();
    this.doc = DynamoDBDocumentClient.from(options.client ?? aws().stateTable, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    });
  }

  async recordDecision(decision: Decision): Promise<void> {
    const at = new Date(decision.at);
    const written = await this.putIf({
      TableName: this.tableName,
      Item: {
        ...keys.decision(decision.id),
        dayPk: keys.day(decision.at),
        daySk: `${decision.at}#${decision.id}`,
        resPk: keys.resource(decision.tuner, decision.resource),
        resSk: `${decision.at}#${decision.id}`,
        decision,
        [STATE_TABLE.ttlAttribute]: expiresAfter(at, this.auditTtlDays * 86_400),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (!written) throw new DuplicateDecisionError(decision.id);
    if (countsAsChange(decision)) await this.advanceLedger(decision);
  }

  async resolveDecision(decision: Decision): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.decision(decision.id),
          UpdateExpression: 'SET #d = :d',
          ConditionExpression: 'attribute_exists(pk) AND #d.#o = :intended',
          ExpressionAttributeNames: { '#d': 'decision', '#o': 'outcome' },
          ExpressionAttributeValues: { ':d': decision, ':intended': 'intended' },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    if (countsAsChange(decision)) await this.advanceLedger(decision);
    return true;
  }

  /** lastAppliedAt only moves forward (a late write of an older decision cannot roll it back). */
  private async advanceLedger(decision: Decision): Promise<void> {
    await this.rememberLastApplied(decision);
    const Key = { pk: keys.resource(decision.tuner, decision.resource), sk: 'ledger' };
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET lastAppliedAt = :at ADD appliedCount :one',
          ConditionExpression: 'attribute_not_exists(lastAppliedAt) OR lastAppliedAt < :at',
          ExpressionAttributeValues: { ':at': decision.at, ':one': 1 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'ADD appliedCount :one',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    }
  }

  /** The newest applied change of its kind (drift detection compares with it, however old). */
  private async rememberLastApplied(decision: Decision): Promise<void> {
    // Not written when a newer change of this kind is already kept.
    await this.putIf({
      TableName: this.tableName,
      Item: {
        pk: keys.resource(decision.tuner, decision.resource),
        sk: `${LAST_APPLIED_SK}${decision.action}`,
        at: decision.at,
        decision,
      },
      ConditionExpression: 'attribute_not_exists(pk) OR #at < :at',
      ExpressionAttributeNames: { '#at': 'at' },
      ExpressionAttributeValues: { ':at': decision.at },
    });
  }

  async listDecisions(query: {
    since: string;
    until?: string;
    tuner?: TunerName;
    resource?: string;
  }): Promise<Decision[]> {
    const until = query.until ?? clock().now().toISOString();
    const found: Decision[] = [];
    for (const day of daysBetween(query.since, until)) {
      const items = await this.queryAll({
        TableName: this.tableName,
        IndexName: STATE_TABLE.byDayIndex,
        KeyConditionExpression: 'dayPk = :day',
        ExpressionAttributeValues: { ':day': `day#${day}` },
      });
      for (const item of items) {
        const d = asDecision(item);
        if (!d || !inWindow(d, query.since, query.until)) continue;
        if (query.tuner !== undefined && d.tuner !== query.tuner) continue;
        if (query.resource !== undefined && d.resource !== query.resource) continue;
        found.push(d);
      }
    }
    return found.sort(byTimeThenId);
  }

  async markReported(decisionIds: string[], at: string): Promise<void> {
    for (const id of decisionIds) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.decision(id),
            UpdateExpression: 'SET #d.reportedAt = :at',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#d': 'decision' },
            ExpressionAttributeValues: { ':at': at },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error; // an unknown id: nothing to mark
      }
    }
  }

  async claimIdempotencyKey(key: string, runId: string, now: Date, ttlSeconds: number): Promise<boolean> {
    return this.putIf({
      TableName: this.tableName,
      Item: {
        ...keys.idempotency(key),
        runId,
        claimedAt: now.toISOString(),
        [STATE_TABLE.ttlAttribute]: expiresAfter(now, ttlSeconds),
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
      ExpressionAttributeValues: { ':now': epochSeconds(now) },
    });
  }

  async releaseIdempotencyKey(key: string, runId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.idempotency(key),
          ConditionExpression: 'runId = :me',
          ExpressionAttributeValues: { ':me': runId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // claimed by another run meanwhile: leave it
    }
  }

  async acquireLock(resourceId: string, owner: string, now: Date, leaseSeconds: number): Promise<boolean> {
    return this.putIf({
      TableName: this.tableName,
      Item: {
        ...keys.lock(resourceId),
        owner,
        acquiredAt: now.toISOString(),
        [STATE_TABLE.ttlAttribute]: expiresAfter(now, leaseSeconds),
      },
      // Free, expired (a crashed run's lease) or already ours (re-entrant).
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR #owner = :me',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':now': epochSeconds(now), ':me': owner },
    });
  }

  async releaseLock(resourceId: string, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.lock(resourceId),
          ConditionExpression: '#owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // someone else's (our lease expired): leave it
    }
  }

  async getHistory(tuner: TunerName, resourceId: string, now: Date): Promise<ResourceHistory> {
    const pk = keys.resource(tuner, resourceId);
    const [own, recentItems] = await Promise.all([
      this.queryAll({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
      }),
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: STATE_TABLE.byResourceIndex,
          KeyConditionExpression: 'resPk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ScanIndexForward: false,
          Limit: RECENT_DECISIONS,
        }),
      ),
    ]);
    const recent = (recentItems.Items ?? [])
      .map((item) => asDecision(item))
      .filter((d): d is Decision => d !== undefined);
    const history: ResourceHistory = { recent };
    for (const item of own) {
      if (item.sk === 'ledger' && typeof item.lastAppliedAt === 'string') {
        history.lastAppliedAt = item.lastAppliedAt;
      } else if (item.sk === 'drift' && !isExpired(item.expiresAt as number | undefined, now)) {
        history.drift = {
          detectedAt: String(item.detectedAt),
          backoffUntil: String(item.backoffUntil),
          detail: String(item.detail),
          ...(item.baseline && typeof item.baseline === 'object'
            ? { baseline: item.baseline as DriftBaseline }
            : {}),
        };
      } else if (item.sk === 'state' && item.tunerState && typeof item.tunerState === 'object') {
        history.tunerState = item.tunerState as Record<string, unknown>;
      } else if (typeof item.sk === 'string' && item.sk.startsWith(LAST_APPLIED_SK)) {
        const d = asDecision(item);
        if (d) history.lastApplied = { ...history.lastApplied, [d.action]: d };
      }
    }
    return history;
  }

  async putTunerState(tuner: TunerName, resourceId: string, state: Record<string, unknown>): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: keys.resource(tuner, resourceId), sk: 'state', tunerState: state },
      }),
    );
  }

  async recordDrift(
    tuner: TunerName,
    resourceId: string,
    detail: string,
    now: Date,
    backoffMinutes: number,
    baseline?: DriftBaseline,
  ): Promise<void> {
    const until = backoffUntil(now, backoffMinutes);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: keys.resource(tuner, resourceId),
          sk: 'drift',
          detectedAt: now.toISOString(),
          backoffUntil: until.toISOString(),
          detail,
          baseline,
          // Kept for the audit retention after the back-off so the baseline is remembered.
          [STATE_TABLE.ttlAttribute]: expiresAfter(until, this.auditTtlDays * 86_400),
        },
      }),
    );
  }

  async recordCreated(resourceId: string, detail: Record<string, unknown>, now: Date): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.created(resourceId), detail, createdAt: now.toISOString() },
      }),
    );
  }

  async wasCreatedByUs(resourceId: string): Promise<boolean> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.created(resourceId), ConsistentRead: true }),
    );
    return result.Item !== undefined;
  }

  async forgetCreated(resourceId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: keys.created(resourceId) }));
  }

  async getDecision(id: string): Promise<Decision | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.decision(id), ConsistentRead: true }),
    );
    return asDecision(result.Item);
  }

  /** A conditional put: true when written, false when its condition failed. */
  private async putIf(input: PutCommandInput): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand(input));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey }));
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }
}
