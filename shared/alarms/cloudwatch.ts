import {
  DashboardNotFoundError,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetDashboardCommand,
  ListTagsForResourceCommand,
  type MetricAlarm,
  PutDashboardCommand,
  PutMetricAlarmCommand,
  paginateDescribeAlarms,
} from '@aws-sdk/client-cloudwatch';
import { cloudwatchClient } from '../aws/clients.ts';
import type { AlarmSpec } from '../core/contracts.ts';
import { tagListToMap } from '../discovery/select.ts';
import { putAlarmInput } from './diff.ts';

/**
 * The thin CloudWatch half of the reconciler and the alarm handler. Every call is scoped to
 * the prefix: listing uses AlarmNamePrefix, and put/delete refuse a name outside it.
 */

function assertInPrefix(name: string, prefix: string): void {
  if (!name.startsWith(prefix))
    throw new Error(`refusing to touch alarm ${name}: outside the prefix ${prefix}`);
}

/** Every metric alarm under the prefix (DescribeAlarms AlarmNamePrefix, 100 per page). */
export async function listAlarms(prefix: string): Promise<MetricAlarm[]> {
  const out: MetricAlarm[] = [];
  const pages = paginateDescribeAlarms(
    { client: cloudwatchClient(), pageSize: 100 },
    { AlarmNamePrefix: prefix, AlarmTypes: ['MetricAlarm'] },
  );
  for await (const page of pages) {
    for (const a of page.MetricAlarms ?? []) if (a.AlarmName?.startsWith(prefix)) out.push(a);
  }
  return out;
}

export async function putAlarm(name: string, spec: AlarmSpec, prefix: string): Promise<void> {
  assertInPrefix(name, prefix);
  await cloudwatchClient().send(new PutMetricAlarmCommand(putAlarmInput(name, spec)));
}

/** DeleteAlarms takes at most 100 names per call (CloudWatch API reference, DeleteAlarms). */
export async function deleteAlarms(names: string[], prefix: string): Promise<void> {
  for (const n of names) assertInPrefix(n, prefix);
  for (let i = 0; i < names.length; i += 100) {
    const AlarmNames = names.slice(i, i + 100);
    await cloudwatchClient().send(new DeleteAlarmsCommand({ AlarmNames }));
  }
}

/** The alarm as CloudWatch has it now (the handler re-reads it before acting). */
export async function describeAlarm(name: string): Promise<MetricAlarm | undefined> {
  const out = await cloudwatchClient().send(
    new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ['MetricAlarm'] }),
  );
  return out.MetricAlarms?.find((a) => a.AlarmName === name);
}

export async function alarmTags(arn: string): Promise<Record<string, string>> {
  const out = await cloudwatchClient().send(new ListTagsForResourceCommand({ ResourceARN: arn }));
  return tagListToMap(out.Tags);
}

/** The current body, or undefined when the dashboard does not exist. */
export async function getDashboardBody(name: string): Promise<string | undefined> {
  try {
    const out = await cloudwatchClient().send(new GetDashboardCommand({ DashboardName: name }));
    return out.DashboardBody;
  } catch (error) {
    // GetDashboard answers DashboardNotFoundError (error code ResourceNotFound) for a new dashboard.
    if (error instanceof DashboardNotFoundError || (error as Error).name === 'ResourceNotFound')
      return undefined;
    throw error;
  }
}

export async function putDashboard(name: string, body: string): Promise<string[]> {
  const out = await cloudwatchClient().send(
    new PutDashboardCommand({ DashboardName: name, DashboardBody: body }),
  );
  return (out.DashboardValidationMessages ?? []).map((m) => `${m.DataPath ?? ''}: ${m.Message ?? ''}`);
}
