import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { parseConfig } from '../../../shared/config/load.ts';
import { pendingReports, sendDigest, sendPendingReports } from '../../../shared/report/notifier.ts';
import { emptyMemory, selectPosts } from '../../../shared/report/selection.ts';
import { postToSlack, slackWebhookUrl } from '../../../shared/report/slack-webhook.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeDecision } from '../core/fixtures.ts';

/** A Slack stand-in on loopback that answers from a script of responses. */
let server: Server;
let url: string;
let script: Array<{ status: number; headers?: Record<string, string> }> = [];
let received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(body);
      const next = script.shift() ?? { status: 200 };
      res.writeHead(next.status, { 'content-type': 'text/plain', ...next.headers });
      res.end(next.status === 200 ? 'ok' : 'error');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T/B/X`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => {
  script = [];
  received = [];
});

const payload = { text: 'hello', blocks: [] };

describe('posting to Slack', () => {
  it('retries a 429 after the Retry-After it was given, then succeeds', async () => {
    script = [{ status: 429, headers: { 'retry-after': '7' } }, { status: 200 }];
    const waits: number[] = [];
    const result = await postToSlack(url, payload, { sleep: async (ms) => void waits.push(ms) });
    expect(result).toEqual({ ok: true, attempts: 2 });
    expect(waits).toEqual([7000]);
    expect(received).toHaveLength(2);
  });

  it('does not retry a 400', async () => {
    script = [{ status: 400 }, { status: 200 }];
    const result = await postToSlack(url, payload, { sleep: async () => {} });
    expect(result).toMatchObject({ ok: false, attempts: 1, status: 400, retryable: false });
    expect(received).toHaveLength(1);
  });

  it('retries 5xx with backoff and gives up after the last attempt', async () => {
    script = [{ status: 503 }, { status: 500 }, { status: 502 }];
    const waits: number[] = [];
    const result = await postToSlack(url, payload, {
      maxAttempts: 3,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(result).toMatchObject({ ok: false, attempts: 3, status: 502, retryable: true });
    expect(waits).toEqual([500, 1000]);
  });

  it('never puts the webhook URL in an error', async () => {
    const result = await postToSlack('http://127.0.0.1:1/services/SECRET', payload, {
      maxAttempts: 1,
      sleep: async () => {},
    });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('SECRET');
  });
});

describe('the webhook secret', () => {
  it('reports a malformed Secrets Manager secret without quoting it', async () => {
    const secrets = mockClient(SecretsManagerClient);
    const restore = setAwsClients({ secretsManager: secrets as unknown as SecretsManagerClient });
    try {
      secrets
        .on(GetSecretValueCommand)
        .resolves({ SecretString: '{https://hooks.slack.com/services/T000/B000/XXXXSECRET' });
      const error = await slackWebhookUrl({ secretId: 'db-autopilot/slack' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).toContain('db-autopilot/slack');
      expect(String((error as Error).message)).not.toContain('hooks.slack');
    } finally {
      restore();
      secrets.restore();
    }
  });
});

describe('pending reports', () => {
  it('include a resource that could not be observed (a failed no-op) but not a planned or applied no-op', () => {
    const failed = makeDecision({ id: 'p:1', action: 'noop', outcome: 'failed', severity: 'warning' });
    const applied = makeDecision({ id: 'p:2', action: 'noop', outcome: 'applied' });
    const { post } = selectPosts({
      decisions: pendingReports([failed, applied]),
      memory: emptyMemory(),
      now: new Date('2026-11-23T12:00:00.000Z'),
      minSeverity: 'info',
      maxPostsPerHour: 1,
      batch: 20,
    });
    expect(post.map((d) => d.id)).toEqual(['p:1']);
  });
});

describe('reports lose nothing', () => {
  const config = parseConfig('version: 1\n');
  const now = new Date('2026-11-23T12:00:00.000Z');
  /** What the report function recorded as posted, for the decisions of that day. */
  const window = { since: '2026-11-23T00:00:00.000Z', until: '2026-11-24T00:00:00.000Z' };

  it('retries a failed post on the next run and marks decisions reported only once delivered', async () => {
    const store = new MemoryStateStore();
    const sns = mockClient(SNSClient);
    const restore = setAwsClients({ sns: sns as unknown as SNSClient });
    try {
      await store.recordDecision(
        makeDecision({ id: 'r:1', at: '2026-11-23T11:00:00.000Z', outcome: 'applied' }),
      );
      await store.recordDecision(
        makeDecision({ id: 'r:2', at: '2026-11-23T11:01:00.000Z', outcome: 'skipped' }),
      );
      script = [{ status: 400 }];
      const channels = {
        slackUrl: url,
        topicArn: 'arn:aws:sns:us-east-1:123456789012:reports',
        region: 'us-east-1',
        post: { sleep: async () => {} },
      };
      const first = await sendPendingReports({ store, config, channels, now });
      expect(first).toMatchObject({ ok: false, pending: 1, reported: 0 });
      expect((await store.reportedIn(window)).has('r:1')).toBe(false);

      script = [{ status: 200 }];
      const second = await sendPendingReports({
        store,
        config,
        channels,
        now: new Date(now.getTime() + 300_000),
      });
      expect(second).toMatchObject({ ok: true, pending: 1, reported: 1 });
      expect((await store.reportedIn(window)).has('r:1')).toBe(true);
      expect(sns).toHaveReceivedCommandWith(PublishCommand, {
        MessageAttributes: expect.objectContaining({ severity: { DataType: 'String', StringValue: 'info' } }),
      });

      const third = await sendPendingReports({
        store,
        config,
        channels,
        now: new Date(now.getTime() + 600_000),
      });
      expect(third.pending).toBe(0);
    } finally {
      restore();
      sns.restore();
    }
  });

  it('keeps a decision pending when SNS fails', async () => {
    const store = new MemoryStateStore();
    const sns = mockClient(SNSClient);
    sns
      .on(PublishCommand)
      .rejects(
        new SNSServiceException({ name: 'InternalError', $fault: 'server', $metadata: {}, message: 'boom' }),
      );
    const restore = setAwsClients({ sns: sns as unknown as SNSClient });
    try {
      await store.recordDecision(
        makeDecision({ id: 'f:1', at: '2026-11-23T11:00:00.000Z', outcome: 'failed' }),
      );
      const result = await sendPendingReports({
        store,
        config,
        channels: { topicArn: 'arn:aws:sns:us-east-1:1:t', region: 'us-east-1' },
        now,
      });
      expect(result.ok).toBe(false);
      expect(result.errors[0]).toContain('sns');
      expect((await store.reportedIn(window)).has('f:1')).toBe(false);
    } finally {
      restore();
      sns.restore();
    }
  });

  it("lists a deferral in the digest only while it is its resource's newest decision", async () => {
    const store = new MemoryStateStore();
    const cw = mockClient(CloudWatchClient).on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const restore = setAwsClients({ cloudwatch: cw as unknown as CloudWatchClient });
    try {
      const deferred = (id: string, resource: string, at: string) =>
        makeDecision({ id, resource, at, outcome: 'deferred', guard: 'aws:storage-wait-6h' });
      await store.recordDecision(deferred('s:1', 'orders-db', '2026-11-23T01:00:00.000Z'));
      await store.recordDecision(deferred('s:2', 'reports-db', '2026-11-23T01:00:00.000Z'));
      // orders-db: nothing left to do later (a no-op, which the digest's window listing does not hold).
      await store.recordDecision(
        makeDecision({
          id: 's:3',
          resource: 'orders-db',
          at: '2026-11-23T02:00:00.000Z',
          action: 'noop',
          outcome: 'skipped',
          to: null,
        }),
      );
      const { digest } = await sendDigest({
        store,
        config,
        channels: { region: 'us-east-1' },
        now: new Date('2026-11-23T07:00:00.000Z'),
        paused: false,
      });
      expect(digest.deferred.map((d) => d.resource)).toEqual(['reports-db']);
    } finally {
      restore();
      cw.restore();
    }
  });

  it('tells a deferral once, and that it resolved when its resource has nothing left to do', async () => {
    const store = new MemoryStateStore();
    const channels = { slackUrl: url, region: 'us-east-1', post: { sleep: async () => {} } };
    const deferred = (id: string, at: string) =>
      makeDecision({ id, at, outcome: 'deferred', guard: 'aws:storage-wait-6h', severity: 'warning' });
    await store.recordDecision(deferred('q:1', '2026-11-23T11:00:00.000Z'));
    const first = await sendPendingReports({ store, config, channels, now });
    await store.recordDecision(deferred('q:2', '2026-11-23T11:06:00.000Z'));
    const again = await sendPendingReports({
      store,
      config,
      channels,
      now: new Date(now.getTime() + 600_000),
    });
    await store.recordDecision(
      makeDecision({
        id: 'q:3',
        at: '2026-11-23T11:12:00.000Z',
        action: 'noop',
        outcome: 'skipped',
        to: null,
      }),
    );
    const resolved = await sendPendingReports({
      store,
      config,
      channels,
      now: new Date(now.getTime() + 2 * 3_600_000),
    });
    expect([first.reported, again.reported, resolved.reported]).toEqual([1, 0, 1]);
    expect(received.at(-1)).toContain('nothing is held back any more');
  });

  it('includes the day of a digest that failed to post in the next digest', async () => {
    const store = new MemoryStateStore();
    await store.recordDecision(
      makeDecision({ id: 'd:1', at: '2026-11-22T10:00:00.000Z', outcome: 'applied' }),
    );
    const channels = { slackUrl: url, region: 'us-east-1', post: { sleep: async () => {}, maxAttempts: 1 } };
    await store.putTunerState('digest', 'digest', { lastDeliveredUntil: '2026-11-22T07:00:00.000Z' });
    script = [{ status: 500 }];
    const failed = await sendDigest({
      store,
      config,
      channels,
      now: new Date('2026-11-23T07:00:00.000Z'),
      paused: false,
    });
    expect(failed.result.ok).toBe(false);
    const next = await sendDigest({
      store,
      config,
      channels,
      now: new Date('2026-11-24T07:00:00.000Z'),
      paused: false,
    });
    expect(next.result.ok).toBe(true);
    expect(next.digest.since).toBe('2026-11-22T07:00:00.000Z');
    expect(next.digest.applied.map((d) => d.id)).toContain('d:1');
  });
});
