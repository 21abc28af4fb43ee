/**
 * The fleet run on AWS Step Functions (issue 27), a Standard workflow:
 *
 *   PlanUnits (fleet-planner)
 *     -> EachAccount: Distributed Map over the member accounts, MaxConcurrency = maxConcurrentAccounts,
 *        each account a child execution of its own (Standard: no 5-minute limit), failures tolerated
 *        -> EachUnit: inline Map over the account's (Region, tuner) units,
 *           MaxConcurrency = maxConcurrentUnitsPerAccount (what one account's API quotas see)
 *           -> RunUnit (fleet-worker): retried on Lambda's own transient errors, any other failure
 *              caught (UnitFailed) so the account's other units go on
 *     -> Report (fleet-report): the run's decisions grouped by account and Region, fleet totals
 *
 * A slow or failing account holds up only its own child execution; the Map keeps
 * maxConcurrentAccounts others running. Function ARNs are DefinitionSubstitutions
 * (`${PlannerArn}`...). Validated offline by shared/fleet/asl-check.ts.
 */
import type { FanOutLimits } from './local-map.ts';

export const STATE_MACHINE_SUBSTITUTIONS = ['PlannerArn', 'WorkerArn', 'ReportArn'] as const;

/** `${Name}`: a DefinitionSubstitution placeholder. */
const substitution = (name: (typeof STATE_MACHINE_SUBSTITUTIONS)[number]) => `\${${name}}`;

/** Lambda's transient errors (Step Functions Developer Guide, "Handling errors": Lambda service exceptions). */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

const retryTransient = [
  {
    ErrorEquals: LAMBDA_TRANSIENT_ERRORS,
    IntervalSeconds: 2,
    MaxAttempts: 3,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
];

/** A unit may take the worker's whole timeout (300 s) and a little. */
export const UNIT_TIMEOUT_SECONDS = 330;

export function fleetDefinition(limits: FanOutLimits): Record<string, unknown> {
  return {
    Comment: 'db-autopilot fleet run: one unit per (member account, Region, tuner), bounded per account',
    StartAt: 'PlanUnits',
    States: {
      PlanUnits: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: {
          FunctionName: substitution('PlannerArn'),
          Payload: { 'executionId.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' },
        },
        ResultSelector: { 'runId.$': '$.Payload.runId', 'accounts.$': '$.Payload.accounts' },
        Retry: retryTransient,
        Next: 'EachAccount',
      },
      EachAccount: {
        Type: 'Map',
        ItemsPath: '$.accounts',
        MaxConcurrency: limits.accounts,
        ToleratedFailurePercentage: 100,
        Label: 'EachAccount',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'EachUnit',
          States: {
            EachUnit: {
              Type: 'Map',
              ItemsPath: '$.units',
              MaxConcurrency: limits.perAccount,
              ItemProcessor: {
                ProcessorConfig: { Mode: 'INLINE' },
                StartAt: 'RunUnit',
                States: {
                  RunUnit: {
                    Type: 'Task',
                    Resource: 'arn:aws:states:::lambda:invoke',
                    Parameters: { FunctionName: substitution('WorkerArn'), 'Payload.$': '$' },
                    TimeoutSeconds: UNIT_TIMEOUT_SECONDS,
                    ResultSelector: { 'status.$': '$.Payload.status', 'scope.$': '$.Payload.scope' },
                    Retry: retryTransient,
                    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'UnitFailed' }],
                    End: true,
                  },
                  UnitFailed: {
                    Type: 'Pass',
                    Parameters: { status: 'failed', 'error.$': '$.error' },
                    End: true,
                  },
                },
              },
              // The unit results stay in the state table (decisions); the Map's output is dropped.
              ResultPath: null,
              End: true,
            },
          },
        },
        ResultPath: null,
        Next: 'Report',
      },
      Report: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: {
          FunctionName: substitution('ReportArn'),
          Payload: { 'runId.$': '$.runId', 'accounts.$': '$.accounts[*].account' },
        },
        Retry: retryTransient,
        End: true,
      },
    },
  };
}

/** The concurrency limits a definition sets (the local runner uses the definition's own numbers). */
export function fanOutLimitsOf(definition: Record<string, unknown>): FanOutLimits {
  const states = definition.States as Record<string, Record<string, unknown>>;
  const outer = states.EachAccount as {
    MaxConcurrency: number;
    ItemProcessor: { States: Record<string, { MaxConcurrency: number }> };
  };
  return {
    accounts: outer.MaxConcurrency,
    perAccount: outer.ItemProcessor.States.EachUnit?.MaxConcurrency ?? 1,
  };
}
