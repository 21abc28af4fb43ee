import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDefinition, checkMachine } from '../../../shared/fleet/asl-check.ts';
import {
  fanOutLimitsOf,
  fleetDefinition,
  LAMBDA_TRANSIENT_ERRORS,
  STATE_MACHINE_SUBSTITUTIONS,
} from '../../../shared/fleet/state-machine.ts';

// biome-ignore lint/suspicious/noExplicitAny: the tests edit a JSON definition at any depth
type Obj = Record<string, any>;
const definition = () => fleetDefinition({ accounts: 20, perAccount: 3 }) as Obj;

describe('the fleet state machine definition (validated offline)', () => {
  it('passes the ASL checks, every placeholder a DefinitionSubstitution', () => {
    expect(checkDefinition(definition(), STATE_MACHINE_SUBSTITUTIONS)).toEqual([]);
  });

  it('fans out over accounts with a Distributed Map (Standard child executions), failures tolerated', () => {
    const each = definition().States.EachAccount;
    expect(each).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.accounts',
      MaxConcurrency: 20,
      ToleratedFailurePercentage: 100,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
  });

  it("bounds each account's units with an inline Map, one Lambda invocation per (account, Region, tuner)", () => {
    const inner = definition().States.EachAccount.ItemProcessor.States.EachUnit;
    expect(inner).toMatchObject({ Type: 'Map', ItemsPath: '$.units', MaxConcurrency: 3 });
    const run = inner.ItemProcessor.States.RunUnit;
    expect(run).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: '${WorkerArn}', 'Payload.$': '$' },
    });
    // Lambda's transient errors are retried; anything else is caught so the other units go on.
    expect(run.Retry[0].ErrorEquals).toEqual(LAMBDA_TRANSIENT_ERRORS);
    expect(run.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'UnitFailed' }]);
    expect(fanOutLimitsOf(definition())).toEqual({ accounts: 20, perAccount: 3 });
  });

  it('ends with the fleet report of the run', () => {
    const d = definition();
    expect(d.States.EachAccount.Next).toBe('Report');
    expect(d.States.Report).toMatchObject({ End: true, Parameters: { FunctionName: '${ReportArn}' } });
  });
});

describe('the offline ASL checks find broken definitions', () => {
  it('a Next, Catch or StartAt naming no state, and an unreachable state', () => {
    const d = definition();
    d.StartAt = 'Plan';
    d.States.EachAccount.Next = 'Reprot';
    d.States.EachAccount.ItemProcessor.States.EachUnit.ItemProcessor.States.RunUnit.Catch[0].Next = 'Nowhere';
    const messages = checkMachine(d).map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        '$.StartAt: "Plan" is not a state',
        '$.States.EachAccount.Next: "Reprot" is not a state',
        '$.States.EachAccount.ItemProcessor.States.EachUnit.ItemProcessor.States.RunUnit.Catch[0].Next: "Nowhere" is not a state',
      ]),
    );
  });

  it('Map settings Step Functions rejects', () => {
    const d = definition();
    d.States.EachAccount.ItemProcessor.ProcessorConfig = { Mode: 'DISTRIBUTED' };
    d.States.EachAccount.ItemProcessor.States.EachUnit.MaxConcurrency = 100;
    d.States.EachAccount.ItemProcessor.States.EachUnit.ToleratedFailurePercentage = 10;
    d.States.EachAccount.ToleratedFailurePercentage = 150;
    const messages = checkMachine(d).map((p) => p.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'a Distributed Map needs ExecutionType STANDARD or EXPRESS',
        'an inline Map runs at most 40 iterations at once',
        'only a Distributed Map tolerates failures',
        'must be from 0 to 100',
      ]),
    );
  });

  it('a state with both Next and End, a bad path, States.ALL not last, a missing substitution', () => {
    const d = definition();
    d.States.PlanUnits.End = true;
    d.States.PlanUnits.ResultSelector['runId.$'] = 'Payload.runId';
    d.States.EachAccount.ItemsPath = 'accounts';
    const run = d.States.EachAccount.ItemProcessor.States.EachUnit.ItemProcessor.States.RunUnit;
    run.Catch.unshift({ ErrorEquals: ['States.ALL'], Next: 'UnitFailed' });
    const problems = checkDefinition(d, ['PlannerArn', 'WorkerArn']).map((p) => p.message);
    expect(problems).toEqual(
      expect.arrayContaining([
        'needs exactly one of Next and End: true',
        'a field ending in .$ must hold a path ($... or $$...)',
        'must be null or a JSONPath ($...)',
        'States.ALL must appear alone and in the last retrier or catcher',
        'placeholder ${ReportArn} has no DefinitionSubstitution',
      ]),
    );
  });

  it('removing any state the definition names is found (property)', () => {
    const names = ['PlanUnits', 'EachAccount', 'Report'];
    fc.assert(
      fc.property(fc.constantFrom(...names), (name) => {
        const d = definition();
        delete d.States[name];
        expect(checkMachine(d).length).toBeGreaterThan(0);
      }),
    );
  });

  it('the definition is valid for any limits the config allows (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 40 }),
        (accounts, perAccount) => {
          expect(
            checkDefinition(fleetDefinition({ accounts, perAccount }), STATE_MACHINE_SUBSTITUTIONS),
          ).toEqual([]);
        },
      ),
    );
  });
});
