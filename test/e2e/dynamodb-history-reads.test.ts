import { afterEach, describe, expect, it } from 'vitest';
import type {
  DecisionQuery,
  HistoryOptions,
  ResourceHistory,
  StateOwner,
} from '../../shared/core/contracts.ts';
import type { Decision, TunerName } from '../../shared/core/model.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { exampleConfigApplying } from '../support/config.ts';

/** A memory store that records every history read (owner, resource, options) and lock taken. */
class CountingStore extends MemoryStateStore {
  reads: Array<{ owner: StateOwner; id: string; options?: HistoryOptions }> = [];
  lockLog: Array<{ tuner: TunerName; id: string }> = [];
  listLog: DecisionQuery[] = [];
  override async listDecisions(query: DecisionQuery): Promise<Decision[]> {
    this.listLog.push(query);
    return super.listDecisions(query);
  }
  override async acquireLock(
    tuner: TunerName,
    id: string,
    owner: string,
    now: Date,
    leaseSeconds: number,
  ): Promise<boolean> {
    this.lockLog.push({ tuner, id });
    return super.acquireLock(tuner, id, owner, now, leaseSeconds);
  }
  override async getHistory(
    owner: StateOwner,
    id: string,
    now: Date,
    options?: HistoryOptions,
  ): Promise<ResourceHistory> {
    this.reads.push({ owner, id, ...(options ? { options } : {}) });
    return super.getHistory(owner, id, now, options);
  }
}

describe("the DynamoDB tuner's history reads per run", () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it("reads each table's history once with its newest decision only, and the mode advice's own history once (nothing more)", async () => {
    // Prepare: SecureCart's tables in apply mode; three scheduled runs (the first advises the
    // capacity mode of every table: its hourly advice is due).
    const config = exampleConfigApplying('dynamodb');
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new CountingStore();
    const tables = config.tuners.dynamodb?.resources.identifiers ?? [];
    expect(tables.length).toBeGreaterThan(1);
    for (let i = 0; i < 3; i++) {
      sim.advanceTo(sim.nowMs() + 5 * 60_000);
      store.reads = [];
      store.lockLog = [];
      store.listLog = [];
      // Act
      const summary = await runDynamodb(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `sched-${i}` },
        { config, store, now: sim.clock.now() },
      );
      // Assess: per table, one read of its meta items and newest decision; a full read only
      // under the lock of an action that got that far (the executor's fresh read), never for a
      // no-op; the mode advice (due on the first run only) reads its own history once, and again
      // only under an action's lock.
      expect(summary.decisions.length).toBeGreaterThan(0);
      expect(summary.decisions.filter((d) => d.outcome === 'failed')).toEqual([]);
      // The mode history holds every mode decision of the day (fewer than 20): no second read of them.
      expect(store.listLog.filter((q) => q.tuner === 'dynamodb-mode')).toEqual([]);
      for (const id of tables) {
        const reads = store.reads.filter((r) => r.id === id);
        const locks = (tuner: TunerName) =>
          store.lockLog.filter((l) => l.id === id && l.tuner === tuner).length;
        const own = reads.filter((r) => r.owner === 'dynamodb');
        expect(
          own.filter((r) => r.options?.recentDecisions === 1),
          `${id} run ${i}`,
        ).toHaveLength(1);
        expect(own.filter((r) => !r.options)).toHaveLength(locks('dynamodb'));
        const modeReads = reads.filter((r) => r.owner === 'dynamodb-mode');
        expect(modeReads.every((r) => !r.options)).toBe(true);
        expect(modeReads, `${id} run ${i}`).toHaveLength((i === 0 ? 1 : 0) + locks('dynamodb-mode'));
      }
    }
  });
});
