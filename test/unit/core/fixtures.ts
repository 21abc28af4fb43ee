import type { Adapter, RunContext, Target, TunerSettings } from '../../../shared/core/contracts.ts';
import type { Action, ActResult, Decision, Plan } from '../../../shared/core/model.ts';

/** Builders for executor and store tests: a valid default, overridden per test. */

export const T0 = new Date('2026-03-02T10:00:00.000Z');

export function minutesAfter(base: Date, minutes: number): Date {
  return new Date(base.getTime() + minutes * 60_000);
}

export function makeAction(overrides: Partial<Action> = {}): Action {
  return {
    tuner: 'iops',
    resource: { kind: 'rds-instance', id: 'orders-db' },
    kind: 'set-iops',
    from: 3000,
    to: 6000,
    reason: 'read+write IOPS at 92% of provisioned for 30 min',
    evidence: [],
    monthlyCostDelta: 195,
    undo: { kind: 'set-iops', params: { iops: 3000 } },
    mutating: true,
    numericTarget: 6000,
    ...overrides,
  };
}

export function makePlan(actions: Action[], overrides: Partial<Plan> = {}): Plan {
  return {
    tuner: 'iops',
    resource: { kind: 'rds-instance', id: 'orders-db' },
    observedAt: T0.toISOString(),
    actions,
    ...overrides,
  };
}

export function makeTarget(overrides: Partial<Target> = {}): Target {
  return {
    ref: { kind: 'rds-instance', id: 'orders-db' },
    tags: {},
    managed: true,
    created: false,
    optedOut: false,
    ...overrides,
  };
}

export function makeSettings(overrides: Partial<TunerSettings> = {}): TunerSettings {
  return {
    mode: 'apply',
    min: 1000,
    max: 64000,
    cooldownMinutes: 30,
    maxChangesPerRun: 10,
    driftBackoffMinutes: 1440,
    lockLeaseSeconds: 900,
    ...overrides,
  };
}

let runs = 0;

export function makeRun(overrides: Partial<RunContext> = {}): RunContext {
  runs += 1;
  return {
    runId: `run-${runs}`,
    tuner: 'iops',
    trigger: 'schedule',
    dryRun: false,
    override: false,
    idempotencyKey: `key-${runs}`,
    now: T0,
    paused: false,
    changesApplied: 0,
    ...overrides,
  };
}

export function makeDecision(overrides: Partial<Decision> = {}): Decision {
  return {
    id: 'seed:0001',
    runId: 'seed',
    at: T0.toISOString(),
    tuner: 'iops',
    resource: 'orders-db',
    resourceKind: 'rds-instance',
    action: 'set-iops',
    outcome: 'applied',
    reason: 'seed',
    evidence: [],
    monthlyCostDelta: 0,
    from: 3000,
    to: 6000,
    undo: { kind: 'set-iops', params: { iops: 3000 } },
    guard: 'adapter',
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'info',
    ...overrides,
  };
}

/** An adapter that records every call and answers with `result` (or throws it when it is an Error). */
export function recordingAdapter(
  result: ActResult | Error | (() => Promise<ActResult>) = { status: 'applied' },
) {
  const calls: Array<{ action: Action; target: Target }> = [];
  const adapter: Adapter = async (action, target) => {
    calls.push({ action, target });
    if (result instanceof Error) throw result;
    if (typeof result === 'function') return result();
    return result;
  };
  return { adapter, calls };
}
