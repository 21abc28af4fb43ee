import { describe, expect, it } from 'vitest';
import { repeats, repeatsDeferral, repeatsSkip } from '../../../shared/state/slim.ts';
import { makeDecision } from '../core/fixtures.ts';

const skip = (at: string, over: Parameters<typeof makeDecision>[0] = {}) =>
  makeDecision({
    action: 'set-iops',
    outcome: 'skipped',
    guard: 'cooldown',
    reason: 'cooldown',
    at,
    ...over,
  });
const deferral = (at: string, over: Parameters<typeof makeDecision>[0] = {}) =>
  makeDecision({
    action: 'set-capacity',
    outcome: 'deferred',
    guard: 'change-cap',
    reason: 'cap',
    at,
    ...over,
  });

describe('which skips and deferrals are stored as repeats of the one before', () => {
  it('takes a skip for a repeat within the same UTC day only, with the same reason and values', () => {
    const first = skip('2026-11-20T01:00:00.000Z');
    expect(repeatsSkip(first, skip('2026-11-20T23:58:00.000Z'))).toBe(true);
    expect(repeatsSkip(first, skip('2026-11-21T00:02:00.000Z'))).toBe(false);
    expect(repeatsSkip(first, skip('2026-11-20T02:00:00.000Z', { reason: 'another reason' }))).toBe(false);
    expect(repeatsSkip(first, skip('2026-11-20T02:00:00.000Z', { to: 4000 }))).toBe(false);
    expect(repeatsSkip(first, skip('2026-11-20T00:59:00.000Z'))).toBe(false);
  });

  it('takes a deferral for a repeat within the same UTC hour only, whatever its reason and values', () => {
    const first = deferral('2026-11-20T10:00:00.000Z');
    expect(repeatsDeferral(first, deferral('2026-11-20T10:58:00.000Z', { reason: 'later', to: 99 }))).toBe(
      true,
    );
    expect(repeatsDeferral(first, deferral('2026-11-20T11:00:00.000Z'))).toBe(false);
    expect(repeatsDeferral(first, deferral('2026-11-20T10:30:00.000Z', { guard: 'cooldown' }))).toBe(false);
  });

  it('never takes a skip for a repeat of a deferral, or a no-op for either', () => {
    const at = '2026-11-20T10:00:00.000Z';
    expect(repeats(deferral(at), skip(at))).toBe(false);
    expect(repeats(skip(at), deferral(at))).toBe(false);
    expect(repeats(undefined, skip(at))).toBe(false);
    const noop = makeDecision({ action: 'noop', outcome: 'skipped', at });
    expect(repeats(noop, noop)).toBe(false);
  });
});
