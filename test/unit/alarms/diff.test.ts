import type { MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { dashboardBody } from '../../../shared/alarms/dashboard.ts';
import { diffAlarms, putAlarmInput, validateAlarmSpec } from '../../../shared/alarms/diff.ts';
import { alarmName, parseAlarmName } from '../../../shared/alarms/names.ts';
import type { AlarmSpec } from '../../../shared/core/contracts.ts';
import { writeThrottleSpec } from '../../support/alarms.ts';

const PREFIX = 'dbap-';

function spec(resourceId: string, threshold = 0, key = 'WriteThrottle'): AlarmSpec {
  return writeThrottleSpec(resourceId, { threshold, key });
}

/** The alarm as DescribeAlarms reports it after PutMetricAlarm with this spec. */
function existing(s: AlarmSpec, overrides: Partial<MetricAlarm> = {}): MetricAlarm {
  const input = putAlarmInput(alarmName(s, PREFIX), s);
  return {
    AlarmName: input.AlarmName,
    AlarmDescription: input.AlarmDescription,
    Namespace: input.Namespace,
    MetricName: input.MetricName,
    Dimensions: input.Dimensions,
    Statistic: input.Statistic,
    Period: input.Period,
    EvaluationPeriods: input.EvaluationPeriods,
    DatapointsToAlarm: input.DatapointsToAlarm,
    Threshold: input.Threshold,
    ComparisonOperator: input.ComparisonOperator,
    TreatMissingData: input.TreatMissingData,
    StateValue: 'OK',
    ...overrides,
  };
}

describe('diffAlarms', () => {
  it('creates the alarms of a resource added to the fleet', () => {
    const diff = diffAlarms([spec('orders'), spec('carts')], [existing(spec('orders'))], { prefix: PREFIX });
    expect(diff.create.map((c) => c.name)).toEqual(['dbap-dynamodb-carts-WriteThrottle']);
    expect(diff.update).toEqual([]);
    expect(diff.delete).toEqual([]);
    expect(diff.unchanged).toEqual(['dbap-dynamodb-orders-WriteThrottle']);
  });

  it('deletes the alarms of a resource removed from the fleet', () => {
    const diff = diffAlarms([spec('orders')], [existing(spec('orders')), existing(spec('gone'))], {
      prefix: PREFIX,
    });
    expect(diff.delete).toEqual(['dbap-dynamodb-gone-WriteThrottle']);
    expect(diff.create).toEqual([]);
  });

  it('updates an alarm whose threshold changed and says what changed', () => {
    const diff = diffAlarms([spec('orders', 5)], [existing(spec('orders', 0))], { prefix: PREFIX });
    expect(diff.update).toHaveLength(1);
    expect(diff.update[0]?.changes).toEqual(['Threshold: 0 -> 5']);
    expect(diff.update[0]?.spec.threshold).toBe(5);
  });

  it('treats dimensions in another order as the same alarm', () => {
    const s = { ...spec('orders'), dimensions: { TableName: 'orders', GlobalSecondaryIndexName: 'by-user' } };
    const e = existing(s, {
      Dimensions: [
        { Name: 'GlobalSecondaryIndexName', Value: 'by-user' },
        { Name: 'TableName', Value: 'orders' },
      ],
    });
    expect(diffAlarms([s], [e], { prefix: PREFIX }).unchanged).toHaveLength(1);
  });

  it('never touches an alarm outside the prefix, even when handed one', () => {
    const foreign = existing(spec('orders'), {
      AlarmName: 'TargetTracking-table/orders-AlarmHigh-0d9f1c3e',
    });
    const diff = diffAlarms([], [foreign], { prefix: PREFIX });
    expect(diff).toEqual({ create: [], update: [], delete: [], unchanged: [], rejected: [], foreign: [] });
  });

  it('never deletes an alarm under the prefix whose name db-autopilot would not give it', () => {
    const mine = existing(spec('gone'));
    const theirs = existing(spec('orders'), { AlarmName: 'dbap-team-dashboard-latency' });
    const diff = diffAlarms([], [mine, theirs], { prefix: PREFIX });
    expect(diff.delete).toEqual(['dbap-dynamodb-gone-WriteThrottle']);
    expect(diff.foreign).toEqual(['dbap-team-dashboard-latency']);
  });

  it('keeps the alarms of a tuner whose desired set is unknown this run', () => {
    const diff = diffAlarms([], [existing(spec('orders'))], {
      prefix: PREFIX,
      frozenTuners: new Set(['dynamodb']),
      tunerOf: (a) => parseAlarmName(a.AlarmName ?? '', PREFIX)?.tuner,
    });
    expect(diff.delete).toEqual([]);
  });

  it('rejects a spec declared twice instead of fighting over one alarm', () => {
    const diff = diffAlarms([spec('orders', 1), spec('orders', 2)], [], { prefix: PREFIX });
    expect(diff.create).toHaveLength(1);
    expect(diff.create[0]?.spec.threshold).toBe(1);
    expect(diff.rejected[0]).toMatch(/declared twice/);
  });
});

describe('alarm names', () => {
  it('reads tuner, resource and key back from a name, GSIs and dashed ids included', () => {
    expect(parseAlarmName('dbap-dynamodb-orders/index/by-user-ReadThrottle', PREFIX)).toEqual({
      tuner: 'dynamodb',
      resourceId: 'orders/index/by-user',
      key: 'ReadThrottle',
    });
    expect(parseAlarmName('dbap-dynamodb-mode-carts-Cost', PREFIX)?.tuner).toBe('dynamodb-mode');
    expect(parseAlarmName('dbap-iops-shop-db-1-QueueDepth', PREFIX)).toEqual({
      tuner: 'iops',
      resourceId: 'shop-db-1',
      key: 'QueueDepth',
    });
    expect(parseAlarmName('TargetTracking-table/orders-AlarmHigh', PREFIX)).toBeUndefined();
    expect(parseAlarmName('dbap-unknown-orders-Key', PREFIX)).toBeUndefined();
  });

  it('tags every alarm with its tuner, resource and key', () => {
    expect(putAlarmInput('dbap-dynamodb-orders-WriteThrottle', spec('orders')).Tags).toEqual([
      { Key: 'db-autopilot:managed-by', Value: 'db-autopilot' },
      { Key: 'db-autopilot:tuner', Value: 'dynamodb' },
      { Key: 'db-autopilot:resource', Value: 'orders' },
      { Key: 'db-autopilot:alarm-key', Value: 'WriteThrottle' },
    ]);
  });
});

describe('validateAlarmSpec', () => {
  it('says which field of which declaration is wrong', () => {
    expect(() =>
      validateAlarmSpec({ ...spec('orders'), key: 'write-throttle' }, 'dynamodb.alarms[0]'),
    ).toThrow(/dynamodb\.alarms\[0\]\.key: a short key/);
    expect(() => validateAlarmSpec({ ...spec('orders'), datapointsToAlarm: 3 }, 'x')).toThrow(
      /datapointsToAlarm must not exceed/,
    );
    expect(() => validateAlarmSpec({ ...spec('orders'), periodSeconds: 45 }, 'x')).toThrow(/periodSeconds/);
  });
});

describe('dashboardBody', () => {
  it('shows the managed fleet and db-autopilot decisions, deferrals and failures', () => {
    const body = JSON.parse(
      dashboardBody({
        targets: [
          {
            ref: { kind: 'rds-instance', id: 'shop-db' },
            tags: {},
            managed: true,
            created: false,
            optedOut: false,
          },
          {
            ref: { kind: 'dynamodb-table', id: 'orders' },
            tags: {},
            managed: true,
            created: false,
            optedOut: false,
          },
        ],
        region: 'us-east-1',
      }),
    ) as { widgets: Array<{ properties: { title?: string; metrics?: unknown[] } }> };
    const titles = body.widgets.map((w) => w.properties.title).filter(Boolean);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Decisions and changes',
        'Deferrals and failures',
        'RDS IOPS (read + write)',
        'DynamoDB throttle events',
      ]),
    );
    const text = JSON.stringify(body);
    expect(text).toContain('"DBInstanceIdentifier","shop-db"');
    expect(text).toContain('"TableName","orders"');
    expect(text).toContain('MetricName=\\"Decisions\\"');
    const ids = [...text.matchAll(/"id":"([a-z]\w*)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length); // metric ids must be unique within a widget's dashboard
  });
});
