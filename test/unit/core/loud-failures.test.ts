import { readFileSync } from 'node:fs';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import { ValidationError } from '../../../shared/core/errors.ts';
import { toRunRequest, tunerEventSchema } from '../../../shared/core/invocation.ts';
import { startRun } from '../../../shared/core/run.ts';
import {
  FUNCTION_TUNER,
  lambdaHandler,
  MAX_EVENT_DEPTH,
  RunFailedError,
} from '../../../shared/handler/wrap.ts';
import { setStateStore } from '../../../shared/state/index.ts';
import { DECISION_TUNERS, STATE_WRITERS } from '../../../shared/state/keys.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';

const ssmMock = mockClient(SSMClient);

/** Every function serverless.yml deploys. */
const FUNCTIONS = Object.keys(
  (
    parse(readFileSync(new URL('../../../serverless.yml', import.meta.url), 'utf8'), {
      customTags: [{ tag: '!Ref', resolve: (v: string) => ({ Ref: v }) }],
    }) as { functions: Record<string, unknown> }
  ).functions,
);
const context = (id: string) =>
  ({
    functionName: 'iops-tuner',
    awsRequestId: id,
    getRemainingTimeInMillis: () => 60_000,
  }) as unknown as Context;

/** A manual invocation with a caller-supplied idempotency key (the same on every retry). */
const manual = { dryRun: false, override: true, idempotencyKey: 'fix-orders-1' };

describe('loud failures and bounded errors (issue 21)', () => {
  let restore: () => void;
  let audit: MemoryStateStore;
  let restoreStore: () => void;
  beforeEach(() => {
    restore = setAwsClients({ ssm: new SSMClient({ region: 'us-east-1' }) });
    audit = new MemoryStateStore();
    restoreStore = setStateStore(audit);
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  });
  afterEach(() => {
    ssmMock.reset();
    restore();
    restoreStore();
  });

  /** A tuner whose core claims the run's key, "acts" (counted), then does what `then` says. */
  function tuner(store: MemoryStateStore, then: () => void) {
    const acted: string[] = [];
    const handler = lambdaHandler('iops-tuner', tunerEventSchema, async (event, ctx) => {
      const started = await startRun({ tuner: 'iops', request: toRunRequest(event, ctx.requestId), store });
      if (started.duplicate) return { ok: true, duplicate: true };
      then();
      acted.push(ctx.requestId);
      return { ok: true, duplicate: false };
    });
    return { handler, acted };
  }

  it('fails the invocation on an unexpected error instead of answering ok: false', async () => {
    const { handler } = tuner(new MemoryStateStore(), () => {
      throw new TypeError('Cannot read properties of undefined');
    });
    await expect(handler(manual, context('r1'))).rejects.toBeInstanceOf(RunFailedError);
    // Recorded for the report and the digest's failed-runs list.
    const [failed] = await audit.listDecisions({
      since: '2000-01-01T00:00:00Z',
      until: '2100-01-01T00:00:00Z',
    });
    expect(failed).toMatchObject({
      tuner: 'iops',
      outcome: 'failed',
      guard: 'run-failed',
      resource: 'iops-tuner',
    });
    expect(failed?.reason).toContain('Cannot read properties of undefined');
  });

  it.each(FUNCTIONS)(
    'records a failed run of %s in the audit log, under a tuner its role may write and the digest reads',
    async (fn) => {
      const handler = lambdaHandler(fn, tunerEventSchema, async () => {
        throw new TypeError('Cannot read properties of undefined');
      });
      await expect(handler(manual, { ...context(`r-${fn}`), functionName: fn })).rejects.toBeInstanceOf(
        RunFailedError,
      );
      const failed = await audit.listDecisions({
        since: '2000-01-01T00:00:00Z',
        until: '2100-01-01T00:00:00Z',
      });
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ outcome: 'failed', guard: 'run-failed', resource: fn });
      const tuner = FUNCTION_TUNER[fn];
      expect(failed[0]?.tuner).toBe(tuner);
      // The role's dynamodb:LeadingKeys allow the write; the digest's byDay reads include the tuner.
      expect(STATE_WRITERS[fn as keyof typeof STATE_WRITERS] as readonly string[]).toContain(tuner);
      expect(DECISION_TUNERS as readonly string[]).toContain(tuner);
    },
  );

  it("keeps the failed run's idempotency key claimed: Lambda's retry of the same event acts not twice", async () => {
    const store = new MemoryStateStore();
    let calls = 0;
    const { handler, acted } = tuner(store, () => {
      calls += 1;
      if (calls === 1) {
        // The run acted, then failed on something unexpected.
        acted.push('first attempt acted');
        throw new Error('state table write failed');
      }
    });
    await expect(handler(manual, context('r1'))).rejects.toThrow('state table write failed');
    await expect(handler(manual, context('r2'))).resolves.toMatchObject({ duplicate: true });
    expect(acted).toEqual(['first attempt acted']);
  });

  it('gives the idempotency key back when the run is rejected as bad input, so the corrected retry acts', async () => {
    const store = new MemoryStateStore();
    let calls = 0;
    const { handler, acted } = tuner(store, () => {
      calls += 1;
      if (calls === 1) throw new ValidationError('unknown table public.line_itemz');
    });
    await expect(handler(manual, context('r1'))).resolves.toMatchObject({ ok: false });
    await expect(handler(manual, context('r2'))).resolves.toMatchObject({ ok: true, duplicate: false });
    expect(acted).toEqual(['r2']);
  });

  it('rejects a 10,000-deep nested field cheaply with a clear message (no stack overflow)', async () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 10_000; i++) {
      const next: Record<string, unknown> = {};
      deep.a = next;
      deep = next;
    }
    const { handler, acted } = tuner(new MemoryStateStore(), () => {});
    const out = (await handler({ ...manual, extra: root }, context('r1'))) as { ok: boolean; error: string };
    expect(out.ok).toBe(false);
    expect(out.error).toContain(`nested deeper than ${MAX_EVENT_DEPTH} levels`);
    expect(out.error).not.toMatch(/call stack/i);
    expect(acted).toEqual([]);
  });

  it('never echoes more than a short prefix of a 5 MB field', async () => {
    const huge = 'x'.repeat(5 * 1024 * 1024);
    const { handler } = tuner(new MemoryStateStore(), () => {});
    for (const event of [
      { ...manual, idempotencyKey: huge },
      { ...manual, [huge]: 1 },
    ]) {
      const out = await handler(event, context('r1'));
      expect(out).toMatchObject({ ok: false });
      expect(JSON.stringify(out).length).toBeLessThan(4096);
    }
  });

  it('quotes at most 200 characters of an invalid field in its message', async () => {
    const long = 'y'.repeat(20_000);
    const { handler } = tuner(new MemoryStateStore(), () => {});
    const out = (await handler({ ...manual, idempotencyKey: long }, context('r1'))) as { error: string };
    expect(out.error.length).toBeLessThanOrEqual(1100);
  });
});
