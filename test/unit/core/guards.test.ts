import { describe, expect, it } from 'vitest';
import {
  changeCapGuard,
  cooldownGuard,
  driftGuard,
  effectOf,
  evaluateGuards,
  type GuardInput,
  guardsBeforeAct,
  rulesGuard,
} from '../../../shared/core/guards.ts';
import { makeAction, makeDecision, makeRun, makeSettings, makeTarget, minutesAfter, T0 } from './fixtures.ts';

function input(overrides: Partial<GuardInput> = {}): GuardInput {
  return {
    action: makeAction(),
    target: makeTarget(),
    settings: makeSettings(),
    run: makeRun(),
    history: { recent: [] },
    now: T0,
    createdByUs: false,
    ...overrides,
  };
}

describe('guards', () => {
  it('lets a managed change in apply mode through every guard', () => {
    expect(evaluateGuards(guardsBeforeAct, input())).toBeUndefined();
  });

  it('checks the pause flag before anything else', () => {
    const verdict = evaluateGuards(
      guardsBeforeAct,
      input({ run: makeRun({ paused: true }), target: makeTarget({ optedOut: true, managed: false }) }),
    );
    expect(verdict).toMatchObject({ outcome: 'skipped', guard: 'paused' });
  });

  it('lets an action that restores the person’s setting pass the opt-out and managed consent, and nothing else', () => {
    const stopped = makeTarget({ optedOut: true, managed: false });
    const restore = makeAction({ restores: true });
    expect(evaluateGuards(guardsBeforeAct, input({ target: stopped, action: restore }))).toBeUndefined();
    // Without the flag the same change is skipped by the opt-out tag, and by consent once not managed.
    expect(evaluateGuards(guardsBeforeAct, input({ target: stopped }))).toMatchObject({ guard: 'opt-out' });
    expect(evaluateGuards(guardsBeforeAct, input({ target: makeTarget({ managed: false }) }))).toMatchObject({
      guard: 'consent',
    });
    // Every other guard still applies to a restore: pause, deletes, mode, the change cap.
    const on = (o: Partial<GuardInput>) =>
      evaluateGuards(guardsBeforeAct, input({ target: stopped, action: restore, ...o }));
    expect(on({ run: makeRun({ paused: true }) })).toMatchObject({ guard: 'paused' });
    expect(on({ action: makeAction({ restores: true, deletes: true }) })).toMatchObject({ guard: 'consent' });
    expect(on({ settings: makeSettings({ mode: 'observe' }) })).toMatchObject({
      outcome: 'planned',
      guard: 'mode',
    });
    expect(on({ run: makeRun({ changesApplied: 99 }) })).toMatchObject({ guard: 'change-cap' });
  });

  it('derives the effect of a run from mode, dryRun, trigger and override', () => {
    const observe = makeSettings({ mode: 'observe' });
    expect(effectOf(observe, makeRun({ trigger: 'schedule', override: true }))).toBe('observe');
    expect(effectOf(observe, makeRun({ trigger: 'manual' }))).toBe('refused');
    expect(effectOf(observe, makeRun({ trigger: 'manual', override: true }))).toBe('override');
    expect(effectOf(observe, makeRun({ trigger: 'manual', override: true, dryRun: true }))).toBe('dry-run');
    expect(effectOf(makeSettings({ mode: 'apply' }), makeRun())).toBe('apply');
  });

  it('ends a cooldown exactly when it says', () => {
    const history = { recent: [makeDecision({ runId: 'other' })], lastAppliedAt: T0.toISOString() };
    const settings = makeSettings({ cooldownMinutes: 30 });
    expect(cooldownGuard(input({ history, settings, now: minutesAfter(T0, 29) }))?.until).toBe(
      minutesAfter(T0, 30).toISOString(),
    );
    expect(cooldownGuard(input({ history, settings, now: minutesAfter(T0, 30) }))).toBeUndefined();
  });

  it("treats a run's own earlier change as part of one change, but not if another run changed it since", () => {
    const settings = makeSettings({ cooldownMinutes: 30 });
    const history = { recent: [], lastAppliedAt: T0.toISOString() };
    expect(cooldownGuard(input({ history, settings, ownChangeAt: T0.toISOString() }))).toBeUndefined();
    const later = { recent: [], lastAppliedAt: minutesAfter(T0, 1).toISOString() };
    expect(
      cooldownGuard(
        input({ history: later, settings, now: minutesAfter(T0, 2), ownChangeAt: T0.toISOString() }),
      )?.outcome,
    ).toBe('deferred');
  });

  it('ends a drift back-off exactly when it says', () => {
    const history = {
      recent: [],
      drift: { detectedAt: T0.toISOString(), backoffUntil: minutesAfter(T0, 60).toISOString(), detail: 'x' },
    };
    expect(driftGuard(input({ history, now: minutesAfter(T0, 59) }))?.guard).toBe('drift');
    expect(driftGuard(input({ history, now: minutesAfter(T0, 60) }))).toBeUndefined();
  });

  it('lets a skip rule win over a defer rule, and defers until the latest of several', () => {
    const skip = rulesGuard(
      input({
        action: makeAction({
          rules: [
            { rule: 'aws:a', verdict: 'defer', until: minutesAfter(T0, 5).toISOString() },
            { rule: 'aws:b', verdict: 'skip', reason: 'never on gp2' },
          ],
        }),
      }),
    );
    expect(skip).toMatchObject({ outcome: 'skipped', guard: 'aws:b', reason: 'never on gp2' });
    const defer = rulesGuard(
      input({
        action: makeAction({
          rules: [
            { rule: 'aws:a', verdict: 'defer', until: minutesAfter(T0, 5).toISOString() },
            { rule: 'aws:c', verdict: 'defer', until: minutesAfter(T0, 50).toISOString() },
          ],
        }),
      }),
    );
    expect(defer).toMatchObject({
      outcome: 'deferred',
      guard: 'aws:c',
      until: minutesAfter(T0, 50).toISOString(),
    });
  });

  it('counts the changes a run already applied against its cap', () => {
    const settings = makeSettings({ maxChangesPerRun: 2 });
    expect(changeCapGuard(input({ settings, run: makeRun({ changesApplied: 1 }) }))).toBeUndefined();
    expect(changeCapGuard(input({ settings, run: makeRun({ changesApplied: 2 }) }))?.guard).toBe(
      'change-cap',
    );
  });
});
