/**
 * The state table's calls as IAM authorizes them (DynamoDB Developer Guide, "Using IAM policy
 * conditions for fine-grained access control": dynamodb:LeadingKeys is the partition key of each
 * item a request reads or writes; Service Authorization Reference, Amazon DynamoDB: BatchWriteItem
 * and BatchGetItem are actions of their own, TransactWriteItems is authorized as each item's
 * PutItem / UpdateItem / DeleteItem / ConditionCheckItem, a query on an index on the index's ARN).
 * Recorded on the low-level client under the DynamoDB document client (the store's own client).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AuthRequest } from './evaluate.ts';

type AttributeMap = Record<string, { S?: string } | undefined>;
type Input = Record<string, unknown>;

/** The item's partition key, marshalled ({ S }) or as the document client gives it. */
const pkOf = (item: unknown): string[] => {
  const pk = (item as Record<string, unknown> | undefined)?.pk;
  const s = typeof pk === 'string' ? pk : (pk as { S?: string } | undefined)?.S;
  return s === undefined ? [] : [s];
};

/** The document client's command names (PutCommand) as the DynamoDB operations they send. */
const OPERATION: Record<string, string> = {
  Put: 'PutItem',
  Get: 'GetItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactWrite: 'TransactWriteItems',
};

function request(
  action: string,
  resource: string,
  leadingKeys: string[] | undefined,
  call: string,
): AuthRequest {
  return {
    action: `dynamodb:${action}`,
    resource,
    context: leadingKeys ? { 'dynamodb:LeadingKeys': leadingKeys } : {},
    call,
    client: 'stateTable',
  };
}

/** The partition key value a KeyConditionExpression binds (`pk = :pk`). */
function queriedKey(input: Input): string[] {
  const expr = String(input.KeyConditionExpression ?? '');
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as AttributeMap;
  const m = /(#?\w+)\s*=\s*(:\w+)/.exec(expr);
  if (!m) return [];
  const attr = m[1]?.startsWith('#') ? names[m[1]] : m[1];
  if (attr !== 'pk' && attr !== 'gsi1pk' && !attr?.endsWith('pk')) return [];
  const raw = (values as Record<string, unknown>)[m[2] ?? ''];
  const v = typeof raw === 'string' ? raw : (raw as { S?: string } | undefined)?.S;
  return v === undefined ? [] : [v];
}

/** The IAM requests of one low-level DynamoDB call on the state table. */
export function stateTableRequests(operation: string, input: Input, tableArn: string): AuthRequest[] {
  const call = `stateTable:${operation}`;
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return [request(operation, tableArn, pkOf(input.Key), call)];
    case 'PutItem':
      return [request(operation, tableArn, pkOf(input.Item), call)];
    case 'Query': {
      const index = typeof input.IndexName === 'string' ? `${tableArn}/index/${input.IndexName}` : tableArn;
      return [request('Query', index, queriedKey(input), call)];
    }
    case 'Scan':
      return [request('Scan', tableArn, undefined, call)];
    case 'BatchGetItem': {
      const items = Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: unknown[] }>);
      return [
        request(
          'BatchGetItem',
          tableArn,
          items.flatMap((t) => (t.Keys ?? []).flatMap(pkOf)),
          call,
        ),
      ];
    }
    case 'BatchWriteItem': {
      const writes = Object.values((input.RequestItems ?? {}) as Record<string, Input[]>).flat();
      const pks = writes.flatMap((w) => [
        ...pkOf((w.PutRequest as Input | undefined)?.Item),
        ...pkOf((w.DeleteRequest as Input | undefined)?.Key),
      ]);
      return [request('BatchWriteItem', tableArn, pks, call)];
    }
    case 'TransactWriteItems':
      return ((input.TransactItems ?? []) as Input[]).flatMap((t) => {
        const [[kind, body] = ['', {}]] = Object.entries(t) as Array<[string, Input]>;
        const action = {
          Put: 'PutItem',
          Update: 'UpdateItem',
          Delete: 'DeleteItem',
          ConditionCheck: 'ConditionCheckItem',
        }[kind];
        if (!action) throw new Error(`iam replay: TransactWriteItems ${kind} is not modelled`);
        return [request(action, tableArn, pkOf(kind === 'Put' ? body.Item : body.Key), call)];
      });
  }
  throw new Error(`iam replay: state table ${operation} is not modelled in test/support/iam/state-table.ts`);
}

/** Records the state table's calls on this client until `stop()`. */
export function recordStateTable(
  client: DynamoDBClient,
  tableArn: string,
): { requests: AuthRequest[]; stop: () => void } {
  const requests: AuthRequest[] = [];
  const name = 'dbAutopilotIamReplay';
  const stack = client.middlewareStack as unknown as {
    add(
      mw: (
        next: (args: { input: Input }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: Input }) => Promise<unknown>,
      options: { step: 'build'; name: string },
    ): void;
    remove(name: string): boolean;
  };
  stack.add(
    (next, context) => async (args) => {
      const command = (context.commandName ?? '').replace(/Command$/, '');
      requests.push(...stateTableRequests(OPERATION[command] ?? command, args.input, tableArn));
      return next(args);
    },
    { step: 'build', name },
  );
  return { requests, stop: () => void stack.remove(name) };
}
