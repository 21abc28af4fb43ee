import { describe, expect, it } from 'vitest';
import { deployedLimits } from '../../../shared/cli/bench-fleet.ts';
import {
  DEFAULT_LONGEST_RUN_MS,
  INDEX_LAG_MS,
  LONGEST_RUN_MS,
  lateRecordMarginMs,
} from '../../../shared/report/notifier.ts';
import { DECISION_TUNERS, STATE_WRITERS } from '../../../shared/state/keys.ts';

/**
 * The report re-reads, per tuner, its late-record margin before its watermark: a decision stamped
 * with its run's start can be recorded up to that run's deployed timeout later.
 */
describe("the report's late-record margins", () => {
  const limits = deployedLimits(process.cwd());

  it('cover the deployed timeout of every function that records the tuner, plus the index lag', () => {
    const short: string[] = [];
    for (const [fn, owners] of Object.entries(STATE_WRITERS)) {
      const timeoutMs = limits[fn]?.timeoutMs;
      expect(timeoutMs, `${fn} is deployed (serverless.yml)`).toBeDefined();
      for (const owner of owners) {
        if (!(DECISION_TUNERS as readonly string[]).includes(owner)) continue;
        if (lateRecordMarginMs(owner) < (timeoutMs ?? 0) + INDEX_LAG_MS)
          short.push(`${owner} (written by ${fn}, timeout ${timeoutMs} ms)`);
      }
    }
    expect(short).toEqual([]);
  });

  it('are no longer than the longest run of a function recording the tuner, plus the index lag', () => {
    const longest = new Map<string, number>();
    for (const [fn, owners] of Object.entries(STATE_WRITERS))
      for (const owner of owners)
        longest.set(owner, Math.max(longest.get(owner) ?? 0, limits[fn]?.timeoutMs ?? 0));
    for (const [tuner, ms] of Object.entries(LONGEST_RUN_MS)) expect(ms).toBe(longest.get(tuner));
    const others = [...longest].filter(([t]) => !(t in LONGEST_RUN_MS)).map(([, ms]) => ms);
    expect(Math.max(...others)).toBe(DEFAULT_LONGEST_RUN_MS);
  });
});
