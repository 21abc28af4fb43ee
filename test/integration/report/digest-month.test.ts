import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, Outcome, TunerName } from '../../../shared/core/model.ts';
import { decisionItems } from '../../../shared/state/dynamodb-store.ts';
import { isNotable, keys } from '../../../shared/state/keys.ts';
import { totalsAttributes } from '../../../shared/state/totals.ts';
import { type Dynalite, startDynalite } from '../../support/dynalite.ts';

/**
 * A month of SecureCart decisions in the state table (dynalite), and the digest function's read
 * and build in a process whose heap is capped at 256 MB: it reads the notable decisions of the
 * window since the last digest (here the longest, 7 days), never the month's decisions.
 * The shape of a SecureCart day: 10 resources, a decision per resource every 5 minutes (2,880),
 * 7% of them notable with three 60-point evidence series (4-5 KB each), the rest no-ops.
 */
const DAYS = 30;
const RESOURCES: Array<[TunerName, string]> = [
  ['iops', 'securecart-orders'],
  ['replicas', 'securecart-catalog-aurora'],
  ['replicas', 'securecart-mysql'],
  ['dynamodb', 'securecart-catalog'],
  ['dynamodb', 'securecart-carts'],
  ['dynamodb', 'securecart-sessions'],
  ['dynamodb', 'securecart-inventory'],
  ['dynamodb-mode', 'securecart-sessions'],
  ['alarms', 'dbap-iops-securecart-orders-queue'],
  ['maintenance', 'orders:demo_orders'],
];
const OUTCOMES: Outcome[] = ['applied', 'deferred', 'skipped', 'planned', 'failed'];
const series = Array.from({ length: 60 }, (_, i) => 1000 + ((i * 37) % 400));

function decisionAt(day: number, minute: number, r: number): Decision {
  const at = new Date(Date.UTC(2026, 10, 1 + day, 0, minute)).toISOString();
  const [tuner, resource] = RESOURCES[r] as [TunerName, string];
  const notable = (minute / 5 + r) % 14 === 0;
  const outcome = notable ? (OUTCOMES[(minute + day) % OUTCOMES.length] as Outcome) : 'applied';
  return {
    id: `${tuner}-${at}-${r}:0001`,
    runId: `${tuner}-${at}`,
    at,
    tuner,
    resource,
    resourceKind: 'rds-instance',
    action: notable ? 'set-iops' : 'noop',
    outcome,
    reason: notable
      ? 'read+write IOPS p99 at 91% of provisioned for 30 min; the next 6 h forecast peaks at 5,400'
      : 'within target: p99 62% of provisioned',
    evidence: ['p99', 'p95', 'Maximum'].map((statistic) => ({
      metric: 'ReadIOPS+WriteIOPS',
      statistic,
      value: 2710,
      unit: 'Count/Second',
      window: { start: at, end: at, periodSeconds: 60 },
      namespace: 'AWS/RDS',
      dimensions: { DBInstanceIdentifier: resource },
      series,
    })),
    monthlyCostDelta: notable && outcome === 'applied' ? 12.5 : 0,
    from: 3000,
    to: notable ? 6000 : 3000,
    undo: null,
    guard: 'adapter',
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'info',
  };
}

let server: Dynalite;
const expected = { notableInWindow: 0, appliedInWindow: 0, appliedCostInWindow: 0 };
const NOW = '2026-11-30T07:00:00.000Z';
const SINCE = '2026-11-23T07:00:00.000Z';
const LAST_DAY = '2026-11-29T07:00:00.000Z';

beforeAll(async () => {
  server = await startDynalite('digest-month');
  const doc = DynamoDBDocumentClient.from(server.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const put = async (items: Record<string, unknown>[]) => {
    for (let i = 0; i < items.length; i += 25) {
      let batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      while (batch.length > 0) {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { 'digest-month': batch } }));
        batch = (out.UnprocessedItems?.['digest-month'] ?? []) as typeof batch;
      }
    }
  };
  const byTunerDay = new Map<string, Decision[]>();
  for (let day = 0; day < DAYS - 1; day++) {
    const items: Record<string, unknown>[] = [];
    for (let minute = 0; minute < 1440; minute += 5) {
      for (let r = 0; r < RESOURCES.length; r++) {
        const d = decisionAt(day, minute, r);
        if (d.at >= NOW) continue;
        const k = `${d.tuner}|${d.at.slice(0, 10)}`;
        byTunerDay.set(k, [...(byTunerDay.get(k) ?? []), d]);
        if (d.at >= SINCE && isNotable(d)) {
          expected.notableInWindow += 1;
          if (d.outcome === 'applied') {
            expected.appliedInWindow += 1;
            expected.appliedCostInWindow += d.monthlyCostDelta;
          }
        }
        // Every notable decision of the month; the no-ops of the last day only (no-ops are in no
        // index the digest queries: writing 80,000 more only costs test time).
        if (isNotable(d) || d.at >= LAST_DAY) items.push(...decisionItems(d, 400));
      }
    }
    await put(items);
  }
  // The days' totals, as recordDecision keeps them (a month is the sum of its days).
  for (const [k, ds] of byTunerDay) {
    const [tuner, day] = k.split('|') as [TunerName, string];
    await doc.send(
      new PutCommand({
        TableName: 'digest-month',
        Item: { ...keys.aggregate(tuner, day), ...totalsAttributes(ds) },
      }),
    );
  }
  await doc.send(
    new PutCommand({
      TableName: 'digest-month',
      Item: {
        pk: keys.resource('digest', 'digest'),
        sk: 'm#state',
        tunerState: { lastDeliveredUntil: SINCE },
      },
    }),
  );
}, 600_000);

afterAll(async () => {
  await server?.teardown();
});

describe('the digest of a month of SecureCart decisions', () => {
  it('is built within 256 MB of heap from the notable decisions of its window', async () => {
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=256', '--import', 'tsx', join(import.meta.dirname, 'digest-child.ts')],
      {
        env: {
          ...process.env,
          DIGEST_ENDPOINT: server.endpoint,
          DIGEST_TABLE: 'digest-month',
          DIGEST_NOW: NOW,
          POWERTOOLS_LOG_LEVEL: 'CRITICAL',
        },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const code = await new Promise<number | null>((ok) => child.on('close', ok));
    expect(code, err.slice(-2000)).toBe(0);
    const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
      since: string;
      counts: Record<Outcome, number>;
      appliedMonthlyCostDelta: number;
      peakHeapMb: number;
    };
    expect(result.since).toBe(SINCE);
    expect(Object.values(result.counts).reduce((a, b) => a + b, 0)).toBe(expected.notableInWindow);
    expect(result.counts.applied).toBe(expected.appliedInWindow);
    expect(result.appliedMonthlyCostDelta).toBeCloseTo(expected.appliedCostInWindow, 2);
    expect(result.peakHeapMb).toBeLessThan(256);
  }, 300_000);
});
