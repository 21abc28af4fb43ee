import { describe, expect, it } from 'vitest';
import type { StateStore, Target, TunerSettings } from '../../../shared/core/contracts.ts';
import { checkDrift } from '../../../shared/core/drift.ts';
import { executePlan } from '../../../shared/core/executor.ts';
import type { Decision } from '../../../shared/core/model.ts';
import {
  makeAction,
  makeDecision,
  makePlan,
  makeRun,
  makeSettings,
  makeTarget,
  minutesAfter,
  recordingAdapter,
  T0,
} from './fixtures.ts';

/** The drift story, run against the in-memory store and against DynamoDB (dynalite). */
export function describeDriftScenario(name: string, newStore: () => Promise<StateStore>): void {
  describe(`a change made outside db-autopilot (${name})`, () => {
    const settings: TunerSettings = makeSettings({ cooldownMinutes: 0, driftBackoffMinutes: 120 });
    const target: Target = makeTarget();

    /** One tuner run: observe the IOPS, check drift, propose 9,000 IOPS, execute. */
    async function tunerRun(store: StateStore, observedIops: number, minutes: number) {
      const now = minutesAfter(T0, minutes);
      const history = await store.getHistory('iops', 'orders-db', now);
      const { verdict } = await checkDrift({
        store,
        tuner: 'iops',
        resourceId: 'orders-db',
        observed: observedIops,
        history,
        kinds: ['set-iops'],
        settings,
        now,
      });
      const { adapter, calls } = recordingAdapter();
      const decisions: Decision[] = await executePlan({
        plan: makePlan([makeAction({ from: observedIops, to: 9000, numericTarget: 9000 })]),
        target,
        settings,
        adapter,
        run: makeRun({ now }),
        store,
      });
      return { verdict, calls, decisions };
    }

    it('is detected, recorded, backed off from until the back-off ends, and not fought afterwards', async () => {
      // Prepare: db-autopilot set 6,000 IOPS at T0.
      const store = await newStore();
      await store.recordDecision(
        makeDecision({ id: 'set:1', runId: 'set', at: T0.toISOString(), from: 3000, to: 6000 }),
      );

      // Act: someone set 12,000 IOPS in the console; the next run sees it.
      const detected = await tunerRun(store, 12000, 10);

      // Assess: drift recorded, the action skipped naming the drift, nothing sent to AWS.
      expect(detected.verdict.drifted).toBe(true);
      expect(detected.calls).toHaveLength(0);
      expect(detected.decisions[0]).toMatchObject({ outcome: 'skipped', guard: 'drift' });
      expect(detected.decisions[0]?.reason).toContain('found 12000');
      const history = await store.getHistory('iops', 'orders-db', minutesAfter(T0, 10));
      expect(history.drift?.backoffUntil).toBe(minutesAfter(T0, 130).toISOString());

      // Runs during the back-off leave it alone and do not re-detect the same change.
      const during = await tunerRun(store, 12000, 100);
      expect(during.verdict.drifted).toBe(false);
      expect(during.calls).toHaveLength(0);
      expect(during.decisions[0]?.guard).toBe('drift');

      // After the back-off the tuner may act again, from the new value.
      const after = await tunerRun(store, 12000, 131);
      expect(after.verdict.drifted).toBe(false);
      expect(after.calls).toHaveLength(1);
      expect(after.decisions[0]?.outcome).toBe('applied');
    });

    it('is detected however many no-op runs were recorded since db-autopilot last changed it', async () => {
      const store = await newStore();
      await store.recordDecision(
        makeDecision({ id: 'set:1', runId: 'set', at: T0.toISOString(), from: 3000, to: 6000 }),
      );
      // A scheduled tuner records a no-op every 5 minutes: far more than the recent decisions kept.
      for (let i = 1; i <= 30; i++) {
        await store.recordDecision(
          makeDecision({
            id: `noop-${i}:0001`,
            runId: `noop-${i}`,
            at: minutesAfter(T0, 5 * i).toISOString(),
            action: 'noop',
            outcome: 'planned',
            from: null,
            to: null,
          }),
        );
      }

      const detected = await tunerRun(store, 12000, 5 * 31);

      expect(detected.verdict.drifted).toBe(true);
      expect(detected.verdict.decision?.id).toBe('set:1');
      expect(detected.calls).toHaveLength(0);
    });
  });
}
