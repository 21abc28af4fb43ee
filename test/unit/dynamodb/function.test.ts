import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler } from '../../../functions/dynamodb-tuner.ts';
import { tunerEventSchema } from '../../../shared/core/invocation.ts';

const events = join(import.meta.dirname, '../../../events');
const context = {
  awsRequestId: 'req-1',
  functionName: 'dynamodb-tuner',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

describe('dynamodb-tuner function', () => {
  it('rejects a malformed event with what is wrong and where, and changes nothing', async () => {
    const out = (await handler({ dryRun: 'yes', resources: ['bad name!'] }, context)) as {
      ok: boolean;
      error: string;
    };
    expect(out.ok).toBe(false);
    expect(out.error).toContain('invalid event');
  });

  it.each(['dynamodb-scheduled.json', 'dynamodb-manual-dry-run.json', 'dynamodb-manual-apply.json'])(
    'accepts the sample event %s',
    (file) => {
      const event: unknown = JSON.parse(readFileSync(join(events, file), 'utf8'));
      expect(tunerEventSchema.safeParse(event).success).toBe(true);
    },
  );
});
