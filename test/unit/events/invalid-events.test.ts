import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStateStore, setStateStore } from '../../../shared/state/index.ts';
import { fakeContext, MUTATING_COMMAND, mockAllAws } from './aws-mocks.ts';

/**
 * Every malformed event under test/fixtures/invalid-events/ (`<function>--<case>.json`, with its
 * expectation in `<function>--<case>.expect.json`: `{ "path": "event.x", "contains": "...",
 * "at"?: "run" }`) is given to the function's real handler, with every AWS client mocked. The
 * handler must answer `{ ok: false, error }` naming what is wrong (`contains`) and where (`path`),
 * and send no mutating SDK command; rejected by the schema ("at" absent), it sends none at all.
 */

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const DIR = join(ROOT, 'test/fixtures/invalid-events');

interface Expectation {
  path: string;
  contains: string;
  at?: 'schema' | 'run';
}

interface Case {
  file: string;
  fn: string;
  event: unknown;
  expect: Expectation;
}

function loadCases(): Case[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.expect.json'))
    .sort()
    .map((file) => {
      const fn = file.split('--')[0] ?? '';
      const expectFile = join(DIR, file.replace(/\.json$/, '.expect.json'));
      if (!existsSync(expectFile)) throw new Error(`${file}: missing its expectation ${expectFile}`);
      return {
        file,
        fn,
        event: JSON.parse(readFileSync(join(DIR, file), 'utf8')) as unknown,
        expect: JSON.parse(readFileSync(expectFile, 'utf8')) as Expectation,
      };
    });
}

const cases = loadCases();

type Handler = (event: unknown, context: ReturnType<typeof fakeContext>) => Promise<unknown>;

async function handlerOf(fn: string): Promise<Handler> {
  const file = join(ROOT, 'functions', `${fn}.ts`);
  expect(existsSync(file), `functions/${fn}.ts does not exist (a fixture names it)`).toBe(true);
  const mod = (await import(pathToFileURL(file).href)) as { handler?: Handler };
  expect(typeof mod.handler, `functions/${fn}.ts exports no handler`).toBe('function');
  return mod.handler as Handler;
}

const aws = mockAllAws();
let store = new MemoryStateStore();

beforeEach(() => {
  aws.reset();
  store = new MemoryStateStore();
  setStateStore(store);
});

afterAll(() => {
  setStateStore(undefined);
  aws.restore();
});

describe('malformed events', () => {
  it('there are at least 12 of them, each with an expectation naming a path under event', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
    for (const c of cases) {
      expect(c.expect.path, c.file).toMatch(/^event(\.|\[|$)/);
      expect(c.expect.contains.length, c.file).toBeGreaterThan(0);
    }
  });

  it.each(cases.map((c) => [c.file, c] as const))(
    '%s is rejected, saying what and where, changing nothing',
    async (_f, c) => {
      const handler = await handlerOf(c.fn);
      const result = (await handler(c.event, fakeContext(c.fn))) as {
        ok?: unknown;
        error?: unknown;
        issues?: Array<{ path: string; message: string }>;
      };

      expect(result.ok, JSON.stringify(result)).toBe(false);
      expect(typeof result.error).toBe('string');
      const error = String(result.error);
      // What: the message names the problem.
      expect(error).toContain(c.expect.contains);
      // Where: the path of the problem, in the structured issues and (schema errors) in the message.
      const issue = result.issues?.find((i) => i.path === c.expect.path);
      expect(issue, `no issue at ${c.expect.path}: ${JSON.stringify(result.issues)}`).toBeDefined();
      if (c.expect.at !== 'run') expect(error).toContain(`${c.expect.path}: `);
      // Never internals: no stack frames or file paths.
      expect(error).not.toMatch(/\bat .+:\d+:\d+|node_modules/);
      expect(error).not.toContain(ROOT);

      // Nothing changed.
      const sent = aws.sent();
      expect(sent.filter((s) => MUTATING_COMMAND.test(s))).toEqual([]);
      if (c.expect.at !== 'run') expect(sent).toEqual([]);
      expect(await store.listDecisions({ since: '2000-01-01T00:00:00Z' })).toEqual([]);
    },
  );
});

describe('the no-mutation check itself', () => {
  it('records a command sent through any client, even one created after mocking', async () => {
    await new RDSClient({ region: 'us-east-1' }).send(
      new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'orders', Iops: 3000 }),
    );
    expect(aws.sent()).toEqual(['rds:ModifyDBInstance']);
    expect(aws.sent().filter((x) => MUTATING_COMMAND.test(x))).toHaveLength(1);
  });

  it('recognises the mutating commands it must catch', () => {
    for (const s of [
      'rds:ModifyDBInstance',
      'rds:CreateDBInstanceReadReplica',
      'rds:DeleteDBInstance',
      'dynamodb:UpdateTable',
      'ssm:PutParameter',
      'cloudwatch:PutMetricAlarm',
      'cloudwatch:DeleteAlarms',
      'sns:Publish',
      'autoscaling:RegisterScalableTarget',
      'autoscaling:PutScalingPolicy',
      'route53:ChangeResourceRecordSets',
      'dynamodbDocument:TransactWrite',
    ]) {
      expect(MUTATING_COMMAND.test(s), s).toBe(true);
    }
    for (const s of [
      'rds:DescribeDBInstances',
      'ssm:GetParameter',
      'cloudwatch:GetMetricData',
      'dynamodbDocument:Query',
    ]) {
      expect(MUTATING_COMMAND.test(s), s).toBe(false);
    }
  });
});
