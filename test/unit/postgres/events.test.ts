import { readdirSync, readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { pgInsightsEventSchema } from '../../../functions/pg-insights.ts';
import { handler, pgMaintenanceEventSchema } from '../../../functions/pg-maintenance.ts';

const context = {
  functionName: 'pg-maintenance',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

describe('pg-maintenance and pg-insights events', () => {
  it('accepts every sample event in events/', () => {
    const files = readdirSync('events').filter((f) => f.startsWith('pg-'));
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      const event: unknown = JSON.parse(readFileSync(`events/${f}`, 'utf8'));
      const schema = f.startsWith('pg-maintenance') ? pgMaintenanceEventSchema : pgInsightsEventSchema;
      expect(schema.safeParse(event).success, f).toBe(true);
    }
  });

  it('says what is wrong and where, and does nothing, for a bad manual event', async () => {
    const out = await handler(
      { database: 'orders', dryRun: true, tables: [42], sql: 'VACUUM FULL' },
      context,
    );

    expect(out).toMatchObject({ ok: false });
    const issues = (out as { issues?: Array<{ path: string; message: string }> }).issues ?? [];
    expect(issues.map((i) => i.path)).toContain('event.tables[0]');
    expect(issues.some((i) => /sql/.test(i.message))).toBe(true);
  });

  it('refuses a manual event without dryRun with a message saying it is required', () => {
    const r = pgMaintenanceEventSchema.safeParse({ database: 'orders' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/dryRun is required/);
  });

  it('validates the doctor command by its own shape', () => {
    expect(pgMaintenanceEventSchema.safeParse({ command: 'doctor' }).success).toBe(true);
    const r = pgMaintenanceEventSchema.safeParse({ command: 'doctor', database: 'Orders!' });
    expect(r.error?.issues[0]?.path).toEqual(['database']);
  });
});
