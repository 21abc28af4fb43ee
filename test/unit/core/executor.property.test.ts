import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RunContext, Target, TunerSettings } from '../../../shared/core/contracts.ts';
import { executePlan } from '../../../shared/core/executor.ts';
import { effectOf } from '../../../shared/core/guards.ts';
import type { Action, ActionKind, ActResult, RuleCheck } from '../../../shared/core/model.ts';
import { runTunerLoop } from '../../../shared/core/run.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import {
  makeAction,
  makeDecision,
  makePlan,
  makeTarget,
  minutesAfter,
  recordingAdapter,
  T0,
} from './fixtures.ts';

/**
 * Whatever a policy proposes, under whatever settings, target and run: the executor's promises
 * hold. The adapter is a recording fake; the store is the in-memory store with the same
 * semantics as the DynamoDB one.
 */

const RESOURCE = { kind: 'rds-instance', id: 'orders-db' } as const;
const MUTATING_KINDS: ActionKind[] = ['set-iops', 'add-replica', 'remove-replica', 'set-capacity', 'vacuum'];
const PASSIVE_KINDS: ActionKind[] = ['recommend', 'finding', 'noop'];

/** true about one time in six: most scenarios pass most guards, so each guard is the one deciding often. */
const rarely = () =>
  fc.oneof({ arbitrary: fc.constant(false), weight: 5 }, { arbitrary: fc.constant(true), weight: 1 });
const mostly = () => rarely().map((b) => !b);
/** A value about one time in four, undefined otherwise. */
const sometimes = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 });

const ruleArb: fc.Arbitrary<RuleCheck> = fc.record({
  rule: fc.constantFrom('aws:storage-wait', 'aws:decrease-budget', 'aws:status'),
  verdict: fc.oneof(
    { arbitrary: fc.constant<RuleCheck['verdict']>('ok'), weight: 6 },
    { arbitrary: fc.constantFrom<RuleCheck['verdict']>('defer', 'skip'), weight: 1 },
  ),
  until: fc.option(
    fc.integer({ min: 1, max: 600 }).map((m) => minutesAfter(T0, m).toISOString()),
    { nil: undefined },
  ),
});

const actionArb: fc.Arbitrary<Action> = fc
  .record({
    mutating: mostly(),
    mutatingKind: fc.constantFrom(...MUTATING_KINDS),
    passiveKind: fc.constantFrom(...PASSIVE_KINDS),
    deletes: rarely(),
    numericTarget: fc.option(fc.integer({ min: -10, max: 80_000 }), { nil: undefined, freq: 2 }),
    rules: sometimes(fc.array(ruleArb, { maxLength: 3 })),
  })
  .map((a) =>
    makeAction({
      resource: RESOURCE,
      kind: a.mutating ? a.mutatingKind : a.passiveKind,
      mutating: a.mutating,
      deletes: a.mutating && a.deletes,
      numericTarget: a.numericTarget,
      rules: a.rules,
    }),
  );

const settingsArb: fc.Arbitrary<TunerSettings> = fc.record({
  mode: mostly().map((apply) => (apply ? 'apply' : 'observe')),
  min: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
  max: fc.option(fc.integer({ min: 5_000, max: 70_000 }), { nil: undefined }),
  cooldownMinutes: fc.integer({ min: 0, max: 120 }),
  maxChangesPerRun: fc.integer({ min: 0, max: 6 }),
  driftBackoffMinutes: fc.integer({ min: 0, max: 600 }),
  lockLeaseSeconds: fc.integer({ min: 10, max: 900 }),
});

const targetArb: fc.Arbitrary<Target> = fc
  .record({ managed: mostly(), created: mostly(), optedOut: rarely() })
  .map((t) => makeTarget({ ref: RESOURCE, ...t }));

const runArb: fc.Arbitrary<RunContext> = fc
  .record({
    trigger: fc.constantFrom('schedule', 'alarm', 'manual', 'demo', 'backtest'),
    dryRun: rarely(),
    override: fc.boolean(),
    paused: rarely(),
    changesApplied: fc.integer({ min: 0, max: 3 }),
  })
  .map((r) => ({ ...r, runId: 'prop-run', tuner: 'iops' as const, idempotencyKey: 'prop', now: T0 }));

/** What the store knew before the run: an earlier change, a create record, a drift back-off. */
const priorArb = fc.record({
  lastChangeMinutesAgo: sometimes(fc.integer({ min: 0, max: 200 })),
  createdByUs: mostly(),
  driftMinutesAgo: sometimes(fc.integer({ min: 0, max: 600 })),
});

const resultArb: fc.Arbitrary<ActResult | Error> = fc.oneof(
  { arbitrary: fc.constant<ActResult>({ status: 'applied' }), weight: 5 },
  fc.constant<ActResult>({ status: 'deferred', until: minutesAfter(T0, 5).toISOString(), reason: 'busy' }),
  fc.constant<ActResult>({ status: 'failed', reason: 'nope', code: 'InvalidParameterCombination' }),
  fc.constant(new Error('boom')),
);

const scenarioArb = fc.record({
  actions: fc.array(actionArb, { maxLength: 6 }),
  settings: settingsArb,
  target: targetArb,
  run: runArb,
  prior: priorArb,
  result: resultArb,
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

async function execute(s: Scenario) {
  const store = new MemoryStateStore();
  if (s.prior.lastChangeMinutesAgo !== undefined) {
    await store.recordDecision(
      makeDecision({
        id: 'prior:1',
        runId: 'prior',
        at: minutesAfter(T0, -s.prior.lastChangeMinutesAgo).toISOString(),
      }),
    );
  }
  if (s.prior.createdByUs) await store.recordCreated('iops', RESOURCE.id, {}, T0);
  if (s.prior.driftMinutesAgo !== undefined) {
    await store.recordDrift(
      'iops',
      RESOURCE.id,
      'changed outside',
      minutesAfter(T0, -s.prior.driftMinutesAgo),
      s.settings.driftBackoffMinutes,
    );
  }
  const { adapter, calls } = recordingAdapter(s.result);
  const run = { ...s.run };
  const decisions = await executePlan({
    plan: makePlan(s.actions, { resource: RESOURCE }),
    target: s.target,
    settings: s.settings,
    adapter,
    run,
    store,
  });
  const recorded = await store.exportDecisions({
    since: minutesAfter(T0, -1).toISOString(),
    until: minutesAfter(T0, 1).toISOString(),
  });
  return { store, calls, decisions, recorded: recorded.filter((d) => d.runId === run.runId) };
}

const RUNS = { numRuns: 1000 };

describe('executePlan properties', () => {
  it('records exactly one decision per action (one no-op for an empty plan), each recorded once', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { decisions, recorded } = await execute(s);
        expect(decisions).toHaveLength(Math.max(1, s.actions.length));
        expect(recorded.map((d) => d.id).sort()).toEqual(decisions.map((d) => d.id).sort());
        expect(new Set(decisions.map((d) => d.id)).size).toBe(decisions.length);
      }),
      RUNS,
    );
  });

  it('never calls the adapter while paused, for an opted-out resource, in a dry run or in observe mode without override', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { calls, decisions } = await execute(s);
        const effect = effectOf(s.settings, s.run);
        const forbidden =
          s.run.paused ||
          s.target.optedOut ||
          effect === 'dry-run' ||
          effect === 'observe' ||
          effect === 'refused';
        if (forbidden) {
          expect(calls).toHaveLength(0);
          expect(decisions.every((d) => d.outcome !== 'applied' || !isMutating(d.action))).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('never hands the adapter a non-mutating action, a target outside bounds, an unmanaged resource or a delete of something it did not create', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { calls } = await execute(s);
        for (const { action, target } of calls) {
          expect(action.mutating).toBe(true);
          expect(target.managed).toBe(true);
          if (action.numericTarget !== undefined) {
            if (s.settings.min !== undefined)
              expect(action.numericTarget).toBeGreaterThanOrEqual(s.settings.min);
            if (s.settings.max !== undefined)
              expect(action.numericTarget).toBeLessThanOrEqual(s.settings.max);
          }
          if (action.deletes) {
            expect(target.created).toBe(true);
            expect(s.prior.createdByUs).toBe(true);
          }
          expect((action.rules ?? []).every((r) => r.verdict === 'ok')).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('never acts within the cooldown of an earlier change, during a drift back-off, or beyond the per-run cap', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { calls, decisions } = await execute(s);
        const ago = s.prior.lastChangeMinutesAgo;
        if (ago !== undefined && ago < s.settings.cooldownMinutes) expect(calls).toHaveLength(0);
        const drift = s.prior.driftMinutesAgo;
        if (drift !== undefined && drift < s.settings.driftBackoffMinutes) expect(calls).toHaveLength(0);
        const applied = decisions.filter((d) => d.outcome === 'applied' && isMutating(d.action)).length;
        expect(applied).toBeLessThanOrEqual(Math.max(0, s.settings.maxChangesPerRun - s.run.changesApplied));
      }),
      RUNS,
    );
  });
});

function isMutating(kind: ActionKind): boolean {
  return !PASSIVE_KINDS.includes(kind);
}

describe('idempotency property', () => {
  it('acts at most once per idempotency key, however often events are redelivered', async () => {
    const ssm = mockClient(SSMClient);
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('evt-a', 'evt-b', 'evt-c', 'evt-d'), { minLength: 1, maxLength: 12 }),
        async (keys) => {
          const store = new MemoryStateStore();
          const { adapter, calls } = recordingAdapter();
          for (const [i, key] of keys.entries()) {
            // A different resource per key: only idempotency may stop a repeat, not a cooldown.
            const resource = { kind: 'rds-instance' as const, id: `db-${key}` };
            await runTunerLoop({
              tuner: 'iops',
              request: {
                trigger: 'schedule',
                dryRun: false,
                override: false,
                idempotencyKey: `eventbridge:${key}`,
              },
              store,
              adapter,
              ssm: ssm as unknown as SSMClient,
              now: minutesAfter(T0, i),
              runId: `run-${i}`,
              discover: async () => [makeTarget({ ref: resource })],
              settingsFor: () => ({
                mode: 'apply',
                cooldownMinutes: 0,
                maxChangesPerRun: 10,
                driftBackoffMinutes: 60,
                lockLeaseSeconds: 60,
              }),
              plan: async (target) =>
                makePlan([makeAction({ resource: target.ref })], { resource: target.ref }),
            });
          }
          expect(calls).toHaveLength(new Set(keys).size);
        },
      ),
      { numRuns: 100 },
    );
    ssm.restore();
  });
});
