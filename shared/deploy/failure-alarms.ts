import { FUNCTIONS, type FunctionName } from './iam.ts';

/**
 * A failed run is loud (design.md "Trust in a real account"): one CloudWatch alarm per function on
 * Lambda's Errors metric (an invocation that threw: shared/handler/wrap.ts rethrows unexpected
 * errors) and one on the FailedRuns metric the handlers publish (Powertools EMF, namespace
 * DbAutopilot, dimension service), each notifying the report topic. Their names do not start with
 * the alarm prefix, so the alarm handler's EventBridge rule never routes them to a tuner.
 */

export interface FailureAlarmOptions {
  service: string;
  stage: string;
  /** Powertools service name (POWERTOOLS_SERVICE_NAME) and metrics namespace. */
  metricsService?: string;
  metricsNamespace?: string;
}

const pascal = (fn: string) =>
  fn
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');

export function failureAlarmLogicalId(fn: FunctionName | 'FailedRuns'): string {
  return fn === 'FailedRuns' ? 'FailedRunsAlarm' : `${pascal(fn)}ErrorsAlarm`;
}

function alarm(properties: Record<string, unknown>) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'ReportTopic' }],
      OKActions: [{ Ref: 'ReportTopic' }],
      ...properties,
    },
  };
}

/** CloudFormation resources: the Errors alarm of every function and the FailedRuns alarm. */
export function buildFailureAlarms(o: FailureAlarmOptions): Record<string, unknown> {
  const resources: Record<string, unknown> = {};
  for (const fn of FUNCTIONS) {
    const functionName = `${o.service}-${o.stage}-${fn}`;
    resources[failureAlarmLogicalId(fn)] = alarm({
      AlarmName: `${o.service}-${o.stage}-errors-${fn}`,
      AlarmDescription: `db-autopilot: ${fn} failed (an invocation threw; see its logs)`,
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: functionName }],
    });
  }
  resources[failureAlarmLogicalId('FailedRuns')] = alarm({
    AlarmName: `${o.service}-${o.stage}-failed-runs`,
    AlarmDescription: 'db-autopilot: a run failed on an unexpected error (FailedRuns metric)',
    Namespace: o.metricsNamespace ?? 'DbAutopilot',
    MetricName: 'FailedRuns',
    Dimensions: [{ Name: 'service', Value: o.metricsService ?? 'db-autopilot' }],
  });
  return resources;
}
