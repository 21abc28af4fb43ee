import { Readable } from 'node:stream';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HttpResponse } from '@smithy/core/transport';
import { afterEach, describe, expect, it } from 'vitest';
import {
  aws,
  limitAttempts,
  MAX_ATTEMPTS,
  resetAwsClients,
  setOperationLimiter,
} from '../../../shared/aws/clients.ts';
import { RateLimiter } from '../../../shared/metrics/limits.ts';

/** A limiter that never waits and counts the tokens taken. */
class CountingLimiter extends RateLimiter {
  taken = 0;
  constructor() {
    super(1e9, 1e9);
  }
  override take(): Promise<void> {
    this.taken += 1;
    return Promise.resolve();
  }
}

/** An HTTP handler that answers every request with a DynamoDB 500 InternalServerError. */
function failingHandler() {
  const handler = {
    requests: 0,
    handle: async () => {
      handler.requests += 1;
      const body = JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
        message: 'boom',
      });
      return {
        response: new HttpResponse({
          statusCode: 500,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([Buffer.from(body)]),
        }),
      };
    },
  };
  return handler;
}

describe('one retry layer: the SDK', () => {
  afterEach(() => resetAwsClients());

  it('takes one rate-limiter token for every attempt the SDK makes, retries included', async () => {
    const limiter = new CountingLimiter();
    const restore = setOperationLimiter('dynamodb:DescribeTable', limiter);
    const handler = failingHandler();
    const client = limitAttempts(
      new DynamoDBClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'test' },
        maxAttempts: 3,
        retryMode: 'standard',
        requestHandler: handler,
      }),
      'dynamodb',
    );
    try {
      const error = await client.send(new DescribeTableCommand({ TableName: 'carts' })).catch((e) => e);
      expect(error.name).toBe('InternalServerError');
      expect(error.$metadata.attempts).toBe(3);
      expect(handler.requests).toBe(3);
      expect(limiter.taken).toBe(3);
    } finally {
      restore();
    }
  });

  it('adds the limiter once however often a client is installed', () => {
    const client = new DynamoDBClient({ region: 'us-east-1' });
    limitAttempts(client, 'dynamodb');
    limitAttempts(client, 'dynamodb');
    const names = client.middlewareStack.identify().filter((n) => n.startsWith('dbAutopilotAttemptLimiter'));
    expect(names).toHaveLength(1);
  });

  it('removes the SDK logger middleware, which masked every request and response for no log line, and still surfaces errors', async () => {
    const handler = failingHandler();
    const client = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
      requestHandler: handler,
    });
    expect(client.middlewareStack.identify().some((n) => n.startsWith('loggerMiddleware'))).toBe(true);
    limitAttempts(client, 'dynamodb');
    expect(client.middlewareStack.identify().some((n) => n.startsWith('loggerMiddleware'))).toBe(false);
    const error = await client.send(new DescribeTableCommand({ TableName: 'carts' })).catch((e) => e);
    expect(error.name).toBe('InternalServerError');
    expect(
      aws()
        .rds.middlewareStack.identify()
        .some((n) => n.startsWith('loggerMiddleware')),
    ).toBe(false);
  });

  it('configures the default clients with adaptive retries and at most MAX_ATTEMPTS attempts', async () => {
    const rds = aws().rds;
    expect(await rds.config.maxAttempts()).toBe(MAX_ATTEMPTS);
    expect(((await rds.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
    expect(MAX_ATTEMPTS).toBeLessThanOrEqual(3);
  });
});
