import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { setAwsClients } from '../../../shared/aws/clients.ts';
import type { Decision } from '../../../shared/core/model.ts';
import { measureImpact } from '../../../shared/report/impact.ts';
import { resourceDayMarkdown, resourceDayRows } from '../../../shared/report/resource-days.ts';
import { makeDecision } from '../core/fixtures.ts';

let seq = 0;
const capacity = (hour: number, from: unknown, to: unknown, cost: number, over: Partial<Decision> = {}) =>
  makeDecision({
    id: `c:${++seq}`,
    at: `2026-11-20T${String(hour).padStart(2, '0')}:00:00.000Z`,
    tuner: 'dynamodb',
    resource: 'securecart-catalog',
    resourceKind: 'dynamodb-table',
    action: 'set-capacity',
    from,
    to,
    monthlyCostDelta: cost,
    ...over,
  });

describe('per resource and day', () => {
  it('shows the whole setting at the start and the end, the changes, the deferrals and the net cost', () => {
    const rows = resourceDayRows([
      capacity(
        1,
        { '(table)': { read: 1500, write: 200 }, 'by-category': { read: 800, write: 200 } },
        { '(table)': { read: 900, write: 200 }, 'by-category': { read: 500, write: 200 } },
        -100,
      ),
      capacity(2, { '(table)': { read: 900, write: 200 } }, { '(table)': { read: 700, write: 80 } }, -40),
      capacity(3, null, null, 0, { outcome: 'deferred', guard: 'aws:dynamodb-decrease-budget' }),
      makeDecision({
        id: 'a:1',
        tuner: 'alarms',
        action: 'put-alarm',
        resource: 'dbap-x',
        from: null,
        to: 0,
        monthlyCostDelta: 0.1,
      }),
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      resource: 'securecart-catalog',
      start: 'r1,500/w200, by-category r800/w200',
      end: 'r700/w80, by-category r500/w200',
      changes: 2,
      deferrals: 1,
      impactMinutes: null,
      monthlyCostDelta: -140,
      indexes: ['by-category'],
    });
    expect(resourceDayMarkdown(rows).join('\n')).toContain('| 2026-11-20 | dynamodb securecart-catalog |');
  });

  it('counts throttled and saturated minutes from the metrics CloudWatch returns', async () => {
    const cw = mockClient(CloudWatchClient);
    // Every series answers the same minutes: 2 of 10 at or over the thresholds (12 >= 10 queue depth).
    const values = [0, 0, 12, 0, 0, 12, 0, 0, 0, 0];
    cw.on(GetMetricDataCommand).callsFake(
      (input: { MetricDataQueries?: MetricDataQuery[]; StartTime?: Date }) => ({
        MetricDataResults: (input.MetricDataQueries ?? [])
          .filter((q) => q.ReturnData !== false)
          .map((q) => ({
            Id: q.Id,
            StatusCode: 'Complete',
            Timestamps: values.map((_, i) => new Date((input.StartTime?.getTime() ?? 0) + i * 60_000)),
            Values: values,
          })),
      }),
    );
    const restore = setAwsClients({ cloudwatch: cw as unknown as CloudWatchClient });
    try {
      const impact = await measureImpact(
        [
          { resource: 'securecart-catalog', resourceKind: 'dynamodb-table', indexes: ['by-category'] },
          { resource: 'securecart-orders', resourceKind: 'rds-instance' },
          { resource: 'securecart-catalog-aurora', resourceKind: 'aurora-cluster' },
        ],
        { start: new Date('2026-11-20T10:00:00.000Z'), end: new Date('2026-11-20T10:10:00.000Z') },
        new Date('2026-11-20T10:15:00.000Z'),
      );
      expect(impact['securecart-catalog']).toEqual({ minutes: 2, signal: 'throttled' });
      expect(impact['securecart-orders']).toEqual({ minutes: 2, signal: 'saturated' });
      expect(impact['securecart-catalog-aurora']).toBeUndefined();
    } finally {
      restore();
      cw.restore();
    }
  });
});
