import { describe, expect, it } from 'vitest';
import { detectDrift } from '../../../shared/core/drift.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { describeDriftScenario } from './drift-scenario.ts';
import { makeDecision, minutesAfter, T0 } from './fixtures.ts';

describe('detectDrift', () => {
  const applied = makeDecision({ id: 'run-1:0001', from: 3000, to: 6000 });

  it('sees no drift when the resource has the value db-autopilot last set', () => {
    expect(detectDrift({ observed: 6000, history: { recent: [applied] } }).drifted).toBe(false);
  });

  it('sees drift when the value differs from the last applied change', () => {
    const verdict = detectDrift({ observed: 12000, history: { recent: [applied] } });
    expect(verdict.drifted).toBe(true);
    expect(verdict.detail).toContain('set 6000');
    expect(verdict.detail).toContain('found 12000');
  });

  it('compares with applied changes only, never with planned or skipped ones', () => {
    const planned = makeDecision({ id: 'run-2:0001', outcome: 'planned', to: 9000 });
    expect(detectDrift({ observed: 6000, history: { recent: [planned, applied] } }).drifted).toBe(false);
    expect(detectDrift({ observed: 9000, history: { recent: [planned] } }).drifted).toBe(false);
  });

  it('does not count a change still in flight as drift', () => {
    expect(detectDrift({ observed: 3000, history: { recent: [applied] }, inFlight: [3000] }).drifted).toBe(
      false,
    );
  });

  it('does not report the same outside change twice', () => {
    const history = {
      recent: [applied],
      drift: {
        detectedAt: T0.toISOString(),
        backoffUntil: minutesAfter(T0, 60).toISOString(),
        detail: 'x',
        baseline: { decisionId: applied.id, observed: 12000 },
      },
    };
    expect(detectDrift({ observed: 12000, history }).drifted).toBe(false);
    expect(detectDrift({ observed: 16000, history }).drifted).toBe(true);
  });
});

describeDriftScenario('in-memory store', async () => new MemoryStateStore());
