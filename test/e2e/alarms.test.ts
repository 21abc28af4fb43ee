import { readFileSync } from 'node:fs';
import {
  CloudWatchClient,
  DashboardNotFoundError,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetDashboardCommand,
  ListTagsForResourceCommand,
  type MetricAlarm,
  PutDashboardCommand,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as alarmHandler } from '../../functions/alarm-handler.ts';
import { reconcileAlarms } from '../../shared/alarms/reconcile.ts';
import { setAwsClients } from '../../shared/aws/clients.ts';
import { configSchema } from '../../shared/config/schema.ts';
import type { AlarmSpec, Target, TunerRunRequest } from '../../shared/core/contracts.ts';
import { finishRun, startRun } from '../../shared/core/run.ts';
import { MemoryStateStore, setStateStore } from '../../shared/state/index.ts';
import { type TunerRegistration, tuners } from '../../shared/tuners/registry.ts';
import { writeThrottleSpec } from '../support/alarms.ts';

/**
 * The alarm fast path end to end, over a small in-memory CloudWatch (alarms by name, prefix
 * filtering as DescribeAlarms does it) and a fake DynamoDB tuner registered in the registry.
 */

const NOW = new Date('2026-11-23T18:00:00Z');
const config = configSchema.parse({
  version: 1,
  // Alarms are kept only for tuners that act (observe mode is read-only).
  tuners: { dynamodb: { mode: 'apply', resources: { tags: { team: 'shop' } } } },
});

function table(id: string): Target {
  return {
    ref: { kind: 'dynamodb-table', id },
    tags: { team: 'shop' },
    managed: true,
    created: false,
    optedOut: false,
  };
}

const context = {
  awsRequestId: 'req-1',
  functionName: 'alarm-handler',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

describe('alarm reconciler and alarm handler', () => {
  const cw = mockClient(CloudWatchClient);
  const ssm = mockClient(SSMClient);
  const alarms = new Map<string, MetricAlarm & { Tags?: Array<{ Key?: string; Value?: string }> }>();
  let store: MemoryStateStore;
  let fleet: Target[];
  let threshold: number;
  const acted: TunerRunRequest[] = [];
  let restoreClients: () => void;
  let restoreStore: () => void;
  const previousTuner = tuners.dynamodb;

  const fakeTuner: TunerRegistration = {
    // The real start of a run: pause flag, then the idempotency key in the state store.
    run: async (request) => {
      const started = await startRun({ tuner: 'dynamodb', request, store, now: NOW });
      if (!started.duplicate && !started.run.paused) acted.push(request);
      return finishRun(started, []);
    },
    alarms: (targets): AlarmSpec[] =>
      targets.map((t) =>
        writeThrottleSpec(t.ref.id, {
          threshold,
          description: `db-autopilot dynamodb: write throttling on ${t.ref.id}`,
        }),
      ),
  };

  const reconcile = (id: string, withConfig = config) =>
    reconcileAlarms({
      request: { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `eventbridge:${id}` },
      config: withConfig,
      store,
      tuners: { dynamodb: async () => fakeTuner },
      discover: async () => ({ targets: fleet, notes: [] }),
      prefix: 'dbap-',
      dashboard: 'db-autopilot',
      now: NOW,
    });

  beforeEach(() => {
    alarms.clear();
    acted.length = 0;
    store = new MemoryStateStore();
    fleet = [table('orders'), table('carts')];
    threshold = 0;
    restoreClients = setAwsClients({
      cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
      ssm: new SSMClient({ region: 'us-east-1' }),
    });
    restoreStore = setStateStore(store);
    tuners.dynamodb = async () => fakeTuner;
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    cw.on(DescribeAlarmsCommand).callsFake(async (input) => {
      const list = [...alarms.values()].filter(
        (a) =>
          (!input.AlarmNamePrefix || a.AlarmName?.startsWith(input.AlarmNamePrefix)) &&
          (!input.AlarmNames || input.AlarmNames.includes(a.AlarmName ?? '')),
      );
      return { MetricAlarms: list.map(({ Tags: _tags, ...a }) => a) };
    });
    cw.on(PutMetricAlarmCommand).callsFake(async (input: PutMetricAlarmCommandInput) => {
      const name = input.AlarmName ?? '';
      const before = alarms.get(name);
      alarms.set(name, {
        ...input,
        AlarmName: name,
        AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
        StateValue: before?.StateValue ?? 'INSUFFICIENT_DATA',
        // PutMetricAlarm applies tags only when it creates the alarm.
        Tags: before ? before.Tags : input.Tags,
      });
      return {};
    });
    cw.on(DeleteAlarmsCommand).callsFake(async (input) => {
      for (const n of input.AlarmNames ?? []) alarms.delete(n);
      return {};
    });
    cw.on(ListTagsForResourceCommand).callsFake(async (input) => ({
      Tags: [...alarms.values()].find((a) => a.AlarmArn === input.ResourceARN)?.Tags ?? [],
    }));
    cw.on(GetDashboardCommand).rejects(
      new DashboardNotFoundError({ message: 'Dashboard does not exist', $metadata: {} }),
    );
    cw.on(PutDashboardCommand).resolves({ DashboardValidationMessages: [] });
  });

  afterEach(() => {
    cw.reset();
    ssm.reset();
    restoreClients();
    restoreStore();
    tuners.dynamodb = previousTuner;
  });

  it('in observe mode creates no alarm and no dashboard, and names alarms an apply-mode deploy left', async () => {
    // Prepare: the same fleet, the tuner observing; one alarm left from an earlier apply deploy.
    const observing = configSchema.parse({
      version: 1,
      tuners: { dynamodb: { resources: { tags: { team: 'shop' } } } },
    });
    alarms.set('dbap-dynamodb-orders-WriteThrottle', { AlarmName: 'dbap-dynamodb-orders-WriteThrottle' });

    // Act
    const summary = await reconcile('observe-1', observing);

    // Assess: no write call at all; the left-over alarm is named, not deleted.
    expect(cw.commandCalls(PutMetricAlarmCommand)).toHaveLength(0);
    expect(cw.commandCalls(DeleteAlarmsCommand)).toHaveLength(0);
    expect(cw.commandCalls(PutDashboardCommand)).toHaveLength(0);
    expect(summary.alarms).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    expect(summary.decisions).toEqual([]);
    expect(summary.notes.join('\n')).toContain('observe mode is read-only');
    expect(summary.notes.join('\n')).toContain('dbap-dynamodb-orders-WriteThrottle');
    expect([...alarms.keys()]).toEqual(['dbap-dynamodb-orders-WriteThrottle']);
  });

  it('creates the alarms a tuner wants, tagged and under the prefix, and the dashboard', async () => {
    const summary = await reconcile('r1');

    expect(summary.alarms).toMatchObject({ created: 2, updated: 0, deleted: 0 });
    expect([...alarms.keys()].sort()).toEqual([
      'dbap-dynamodb-carts-WriteThrottle',
      'dbap-dynamodb-orders-WriteThrottle',
    ]);
    expect(alarms.get('dbap-dynamodb-orders-WriteThrottle')?.Tags).toContainEqual({
      Key: 'db-autopilot:resource',
      Value: 'orders',
    });
    expect(cw).toHaveReceivedCommandWith(PutDashboardCommand, { DashboardName: 'db-autopilot' });
    const recorded = await store.listDecisions({ since: '2026-01-01T00:00:00Z', tuner: 'alarms' });
    expect(recorded.filter((d) => d.action === 'put-alarm' && d.outcome === 'applied')).toHaveLength(2);
  });

  it('gives a resource added to the fleet its alarms and takes them from a removed one', async () => {
    await reconcile('r1');
    fleet = [table('orders'), table('sessions')];
    cw.resetHistory();

    const summary = await reconcile('r2');

    expect(summary.alarms).toMatchObject({ created: 1, deleted: 1, unchanged: 1 });
    expect([...alarms.keys()].sort()).toEqual([
      'dbap-dynamodb-orders-WriteThrottle',
      'dbap-dynamodb-sessions-WriteThrottle',
    ]);
    expect(cw).toHaveReceivedCommandWith(DeleteAlarmsCommand, {
      AlarmNames: ['dbap-dynamodb-carts-WriteThrottle'],
    });
  });

  it('updates an alarm whose threshold the tuner changed', async () => {
    await reconcile('r1');
    threshold = 10;
    cw.resetHistory();

    const summary = await reconcile('r2');

    expect(summary.alarms).toMatchObject({ created: 0, updated: 2, deleted: 0 });
    expect(alarms.get('dbap-dynamodb-orders-WriteThrottle')?.Threshold).toBe(10);
    const updates = summary.decisions.filter((d) => d.action === 'put-alarm');
    expect(updates[0]?.reason).toContain('Threshold: 0 -> 10');
  });

  it('keeps no dashboard when the config disables it, and names one left from before', async () => {
    const noDashboard = configSchema.parse({
      version: 1,
      dashboard: { enabled: false },
      tuners: { dynamodb: { mode: 'apply', resources: { tags: { team: 'shop' } } } },
    });

    const first = await reconcile('r1', noDashboard);

    expect(first.alarms).toMatchObject({ created: 2 });
    expect(cw).not.toHaveReceivedCommand(PutDashboardCommand);
    expect(first.notes.join(' ')).not.toContain('dashboard is disabled');
    cw.on(GetDashboardCommand).resolves({ DashboardName: 'db-autopilot', DashboardBody: '{"widgets":[]}' });

    const second = await reconcile('r2', noDashboard);

    expect(cw).not.toHaveReceivedCommand(PutDashboardCommand);
    expect(second.notes.join(' ')).toContain(
      'aws cloudwatch delete-dashboards --dashboard-names db-autopilot',
    );
  });

  it('changes nothing when everything is in step, and records that', async () => {
    await reconcile('r1');
    const body = cw.commandCalls(PutDashboardCommand)[0]?.args[0].input.DashboardBody;
    cw.on(GetDashboardCommand).resolves({ DashboardName: 'db-autopilot', DashboardBody: body });
    cw.resetHistory();

    const summary = await reconcile('r2');

    expect(cw).not.toHaveReceivedCommand(PutMetricAlarmCommand);
    expect(cw).not.toHaveReceivedCommand(DeleteAlarmsCommand);
    expect(cw).not.toHaveReceivedCommand(PutDashboardCommand);
    expect(summary.decisions.map((d) => d.action)).toEqual(['noop']);
  });

  it('never touches an alarm outside the prefix', async () => {
    alarms.set('TargetTracking-table/orders-AlarmHigh-0d9f', {
      AlarmName: 'TargetTracking-table/orders-AlarmHigh-0d9f',
      Threshold: 1,
    });
    // A broken DescribeAlarms that ignores the prefix must not change that either.
    cw.on(DescribeAlarmsCommand).callsFake(async () => ({ MetricAlarms: [...alarms.values()] }));
    fleet = [];

    await reconcile('r1');

    expect(alarms.has('TargetTracking-table/orders-AlarmHigh-0d9f')).toBe(true);
    for (const call of cw.commandCalls(DeleteAlarmsCommand)) {
      expect(call.args[0].input.AlarmNames?.every((n) => n.startsWith('dbap-'))).toBe(true);
    }
    for (const call of cw.commandCalls(PutMetricAlarmCommand)) {
      expect(call.args[0].input.AlarmName?.startsWith('dbap-')).toBe(true);
    }
  });

  it('keeps existing alarms when the tuner cannot say what it wants', async () => {
    await reconcile('r1');
    const failing: TunerRegistration = { ...fakeTuner, alarms: () => Promise.reject(new Error('boom')) };
    cw.resetHistory();

    const summary = await reconcileAlarms({
      request: { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'eventbridge:r2' },
      config,
      store,
      tuners: { dynamodb: async () => failing },
      discover: async () => ({ targets: fleet, notes: [] }),
      prefix: 'dbap-',
      now: NOW,
    });

    expect(cw).not.toHaveReceivedCommand(DeleteAlarmsCommand);
    expect(alarms.size).toBe(2);
    expect(summary.notes.join('\n')).toMatch(/dynamodb: could not work out its alarms/);
  });

  describe('alarm handler', () => {
    const sample = JSON.parse(readFileSync('events/alarm-state-change.json', 'utf8')) as Record<
      string,
      unknown
    >;

    beforeEach(async () => {
      await reconcile('setup');
      const a = alarms.get('dbap-dynamodb-orders-WriteThrottle');
      if (a) a.StateValue = 'ALARM';
      acted.length = 0;
    });

    it('routes an OK -> ALARM event for a managed resource to its tuner once, even when delivered twice', async () => {
      const first = await alarmHandler(sample, context);
      const second = await alarmHandler(sample, context);

      expect(acted).toHaveLength(1);
      expect(acted[0]).toEqual({
        trigger: 'alarm',
        resourceIds: ['orders'],
        dryRun: false,
        override: false,
        idempotencyKey: 'eventbridge:c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
        remainingMs: expect.any(Function),
      });
      expect(first).toMatchObject({ ok: true, outcome: 'routed', tuner: 'dynamodb', resourceId: 'orders' });
      expect(second).toMatchObject({ ok: true, outcome: 'routed', run: { duplicate: true } });
      expect(cw).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
        AlarmNames: ['dbap-dynamodb-orders-WriteThrottle'],
      });
    });

    it('trusts only a known tuner name from the alarm tags and otherwise goes by the alarm name', async () => {
      const a = alarms.get('dbap-dynamodb-orders-WriteThrottle');
      if (a)
        a.Tags = [
          { Key: 'db-autopilot:tuner', Value: 'not-a-tuner' },
          { Key: 'db-autopilot:resource', Value: 'orders' },
        ];

      const result = await alarmHandler(sample, context);

      expect(result).toMatchObject({ ok: true, outcome: 'routed', tuner: 'dynamodb', resourceId: 'orders' });
      expect(acted).toHaveLength(1);
    });

    it('does nothing for a stale event whose alarm is back to OK, and records why', async () => {
      const a = alarms.get('dbap-dynamodb-orders-WriteThrottle');
      if (a) a.StateValue = 'OK';

      const result = await alarmHandler(sample, context);

      expect(acted).toHaveLength(0);
      expect(result).toMatchObject({ ok: true, outcome: 'stale', resourceId: 'orders' });
      // The alarm handler's skip is a no-op: in the audit log, not among the notable decisions.
      const recorded = (await store.exportDecisions({ since: '2000-01-01T00:00:00Z' })).filter(
        (d) => d.tuner === 'alarms' && d.resource === 'orders',
      );
      expect(recorded.some((d) => d.guard === 'stale-alarm' && d.outcome === 'skipped')).toBe(true);
    });

    it('ignores an alarm outside the prefix without reading it', async () => {
      const event = {
        ...sample,
        detail: { ...(sample.detail as object), alarmName: 'TargetTracking-table/orders-AlarmHigh-0d9f' },
      };
      cw.resetHistory();

      const result = await alarmHandler(event, context);

      expect(result).toMatchObject({ ok: true, outcome: 'outside-prefix' });
      expect(acted).toHaveLength(0);
      expect(cw).not.toHaveReceivedCommand(DescribeAlarmsCommand);
    });

    it('does not act on an ALARM -> OK transition', async () => {
      const detail = sample.detail as { state: object; previousState: object };
      const event = {
        ...sample,
        id: 'other',
        detail: { ...detail, state: { value: 'OK' }, previousState: { value: 'ALARM' } },
      };

      const result = await alarmHandler(event, context);

      expect(result).toMatchObject({ outcome: 'not-alarm' });
      expect(acted).toHaveLength(0);
    });

    it('rejects a malformed event, says where, and changes nothing', async () => {
      const result = await alarmHandler(
        { ...sample, source: 'aws.events', detail: { state: { value: 'ALARM' } } },
        context,
      );

      expect(result).toMatchObject({ ok: false });
      const issues = (result as { issues?: Array<{ path: string }> }).issues?.map((i) => i.path) ?? [];
      expect(issues).toEqual(expect.arrayContaining(['event.source', 'event.detail.alarmName']));
      expect(acted).toHaveLength(0);
    });
  });
});
