import { describe, expect, it } from 'vitest';
import { deployedLimits } from '../../../shared/cli/bench-fleet.ts';
import { parseConfig } from '../../../shared/config/load.ts';
import type { DecisionQuery } from '../../../shared/core/contracts.ts';
import {
  DEFAULT_LONGEST_RUN_MS,
  INDEX_LAG_MS,
  LONGEST_RUN_MS,
  lateRecordMarginMs,
  selectPendingReports,
} from '../../../shared/report/notifier.ts';
import { DECISION_TUNERS, STATE_WRITERS } from '../../../shared/state/keys.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { makeDecision } from '../core/fixtures.ts';

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

describe('a report run after a decision recorded late', () => {
  const config = parseConfig('version: 1\n');
  const watermark = new Date('2026-11-23T12:00:00.000Z');
  const ago = (minutes: number) => new Date(watermark.getTime() - minutes * 60_000).toISOString();

  it('still sees what a run started before the watermark recorded after it, reading no further back per tuner', async () => {
    // Prepare: the last report run read up to the watermark; then a 5-minute IOPS run started
    // 4 min before it and a 15-minute maintenance run started 14 min before it recorded.
    const store = new MemoryStateStore();
    await store.putTunerState('report', 'report', { reportedThrough: watermark.toISOString(), memory: {} });
    await store.recordDecision(makeDecision({ id: 'iops:late', at: ago(4), tuner: 'iops' }));
    await store.recordDecision(
      makeDecision({
        id: 'maint:late',
        at: ago(14),
        tuner: 'maintenance',
        action: 'vacuum',
        resource: 'orders-db',
      }),
    );
    const windows = new Map<string, string>();
    const list = store.listDecisions.bind(store);
    store.listDecisions = async (query: DecisionQuery) => {
      windows.set(query.tuner ?? 'all', query.since);
      return list(query);
    };

    // Act: the next report run, five minutes later.
    const next = await selectPendingReports({
      store,
      config,
      now: new Date(watermark.getTime() + 5 * 60_000),
    });

    // Assess
    expect(next.candidates.map((d) => d.id)).toEqual(['maint:late', 'iops:late']);
    expect(windows.get('iops')).toBe(ago(6));
    expect(windows.get('maintenance')).toBe(ago(16));
    expect(windows.get('all')).toBeUndefined();
  });
});
