/**
 * The fleet run's CloudFormation resources (issue 27), beside the functions in serverless.yml:
 * the Step Functions state machine (shared/fleet/state-machine.ts) with its role, and the
 * EventBridge rule that starts it (enabled only when the configuration has a fleet section).
 */
import type { Config } from '../config/schema.ts';
import { fleetSection } from '../config/sections/fleet.ts';
import { fleetDefinition } from '../fleet/state-machine.ts';
import type { DeployOptions } from './iam.ts';

const sub = (s: string) => ({ 'Fn::Sub': s });
/** Serverless Framework's logical id of a function's AWS::Lambda::Function (`-` becomes `Dash`). */
export function lambdaLogicalId(fn: string): string {
  const normalized = fn
    .replace(/-/g, 'Dash')
    .replace(/_/g, 'Underscore')
    .replace(/^./, (c) => c.toUpperCase());
  return `${normalized}LambdaFunction`;
}

export function stateMachineName(o: Pick<DeployOptions, 'service' | 'stage'>): string {
  return `${o.service}-${o.stage}-fleet`;
}

const FLEET_FUNCTIONS = {
  PlannerArn: 'fleet-planner',
  WorkerArn: 'fleet-worker',
  ReportArn: 'fleet-report',
} as const;

/** The state machine's role: invoke the three fleet functions, run its Distributed Map's children. */
function stateMachineRole(name: string, service: string): Record<string, unknown> {
  const functionArns = Object.values(FLEET_FUNCTIONS).map((fn) => ({
    'Fn::GetAtt': [lambdaLogicalId(fn), 'Arn'],
  }));
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      Policies: [
        {
          PolicyName: `${name}-state-machine`,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'InvokeFleetFunctions',
                Effect: 'Allow',
                Action: ['lambda:InvokeFunction'],
                Resource: functionArns,
              },
              {
                // A Distributed Map starts child executions of its own state machine
                // (Step Functions Developer Guide, "IAM policies for using Distributed Map states").
                Sid: 'DistributedMapChildren',
                Effect: 'Allow',
                Action: ['states:StartExecution'],
                Resource: sub(
                  `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${name}`,
                ),
              },
              {
                Sid: 'DistributedMapChildExecutions',
                Effect: 'Allow',
                Action: ['states:DescribeExecution', 'states:StopExecution'],
                Resource: sub(
                  `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:${name}/*`,
                ),
              },
            ],
          },
        },
      ],
      Tags: [{ Key: 'app', Value: service }],
    },
  };
}

/** The EventBridge rule that starts a run, and the role it starts it with. */
function schedule(config: Config, stage: string, expression: string): Record<string, unknown> {
  return {
    FleetRunScheduleRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        },
        Policies: [
          {
            PolicyName: `dbap-${stage}-fleet-schedule`,
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'StartFleetRun',
                  Effect: 'Allow',
                  Action: ['states:StartExecution'],
                  Resource: { Ref: 'FleetStateMachine' },
                },
              ],
            },
          },
        ],
      },
    },
    FleetRunSchedule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: `${stage}-dbap-fleet-run`,
        Description: 'Starts a db-autopilot fleet run (issue 27)',
        ScheduleExpression: expression,
        State: config.fleet ? 'ENABLED' : 'DISABLED',
        Targets: [
          {
            Id: 'FleetStateMachine',
            Arn: { Ref: 'FleetStateMachine' },
            RoleArn: { 'Fn::GetAtt': ['FleetRunScheduleRole', 'Arn'] },
          },
        ],
      },
    },
  };
}

export function buildFleetResources(
  config: Config,
  o: Pick<DeployOptions, 'service' | 'stage'>,
  scheduleExpression: string,
): Record<string, unknown> {
  // Without a fleet section: the default limits (the machine exists, its schedule is off).
  const fleet =
    config.fleet ??
    fleetSection.parse({ externalId: 'unused', accounts: ['000000000000'], regions: ['us-east-1'] });
  const limits = { accounts: fleet.maxConcurrentAccounts, perAccount: fleet.maxConcurrentUnitsPerAccount };
  const name = stateMachineName(o);
  return {
    FleetStateMachineRole: stateMachineRole(name, o.service),
    FleetStateMachine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: name,
        StateMachineType: 'STANDARD',
        RoleArn: { 'Fn::GetAtt': ['FleetStateMachineRole', 'Arn'] },
        Definition: fleetDefinition(limits),
        DefinitionSubstitutions: Object.fromEntries(
          Object.entries(FLEET_FUNCTIONS).map(([key, fn]) => [
            key,
            { 'Fn::GetAtt': [lambdaLogicalId(fn), 'Arn'] },
          ]),
        ),
        Tags: [{ Key: 'app', Value: o.service }],
      },
    },
    ...schedule(config, o.stage, scheduleExpression),
  };
}
