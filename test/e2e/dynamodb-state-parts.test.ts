import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../shared/config/load.ts';
import type { StateOwner, TunerStateWrite } from '../../shared/core/contracts.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { tableTunerState } from '../../shared/tuners/dynamodb-state.ts';

interface StateWrite {
  resourceId: string;
  part: string | undefined;
  held: boolean;
  at: number;
  bytes: number;
  keys: string[];
}

/** The memory store, recording every tuner state write of the DynamoDB tuner. */
class RecordingStore extends MemoryStateStore {
  readonly writes: StateWrite[] = [];
  at = 0;
  override async putTunerState(
    owner: StateOwner,
    resourceId: string,
    state: Record<string, unknown>,
    part?: string,
    options?: TunerStateWrite,
  ): Promise<void> {
    if (owner === 'dynamodb')
      this.writes.push({
        resourceId,
        part,
        held: options?.held === true,
        at: this.at,
        bytes: JSON.stringify(state).length,
        keys: Object.keys(state),
      });
    await super.putTunerState(owner, resourceId, state, part);
  }
}

describe('the DynamoDB tuner state of a table over hours of runs (securecart, apply)', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('writes what every observation changes in a small held part, the main item only when it changes, and the learned peaks (prewarm) only when relearned, hourly', async () => {
    const config = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
    const section = config.tuners.dynamodb;
    if (!section) throw new Error('no dynamodb section');
    config.defaults.mode = 'apply';
    section.mode = 'apply';
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new RecordingStore();
    const start = sim.clock.now().getTime();
    const runs = 75; // 2.5 hours of the 2-minute schedule
    for (let i = 0; i < runs; i++) {
      const at = new Date(start + i * 2 * 60_000);
      sim.advanceTo(at.getTime());
      store.at = at.getTime();
      await runDynamodb(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `eventbridge:parts-${i}` },
        { config, store, now: at },
      );
    }
    const tables = section.resources.identifiers;
    expect(tables.length).toBeGreaterThan(0);
    for (const id of tables) {
      const mine = store.writes.filter((w) => w.resourceId === id);
      const main = mine.filter((w) => w.part === undefined);
      const prewarm = mine.filter((w) => w.part === 'prewarm');
      const observed = mine.filter((w) => w.part === 'observed');
      // Each observation writes one item: the main item when the rest of the state changed (with
      // this observation), else only this observation, a small held put.
      expect(main.length + observed.length, id).toBe(runs);
      for (const w of observed) {
        expect(w.keys, id).toEqual(['reads', 'cadence', 'observedAt']);
        expect(w.held, id).toBe(true);
        expect(w.bytes, `${id} observed part at ${new Date(w.at).toISOString()}`).toBeLessThan(512);
      }
      // The main item: written at once, only when what it keeps changed (not every observation),
      // never holding the learned peaks, small.
      expect(main.length, id).toBeGreaterThanOrEqual(1);
      expect(main.length, id).toBeLessThan(runs / 3);
      for (const w of main) {
        expect(w.keys, id).not.toContain('prewarm');
        expect(w.keys, id).toContain('observedAt');
        expect(w.held, id).toBe(false);
        expect(w.bytes, `${id} main state item at ${new Date(w.at).toISOString()}`).toBeLessThan(1024);
      }
      // The learned peaks: once per relearning (hourly) over 2.5 hours, however many runs.
      expect(prewarm.length, id).toBeGreaterThanOrEqual(1);
      expect(prewarm.length, id).toBeLessThanOrEqual(3);
      // Read back whole: the merged state has the peaks the tuner learned last.
      const history = await store.getHistory('dynamodb', id, new Date(store.at));
      expect(history.tunerStateParts, id).toContain('prewarm');
      // reads and cadence read back from the observed part: those of the last run.
      expect(tableTunerState(history).state.reads?.at, id).toBe(new Date(store.at).toISOString());
      expect(tableTunerState(history).state.prewarm?.learnedAt, id).toBeDefined();
      expect(Object.keys(history.tunerState?.prewarm ?? {}), id).toEqual(['packed']);
      // What the tuner writes is what its stored-state schemas accept (else it would relearn every run).
      expect(tableTunerState(history).malformedParts, id).toEqual([]);
    }
  }, 300_000);

  it('leaves out malformed stored parts, says so in the run notes, and writes them back valid', async () => {
    const config = loadConfigFile(join(import.meta.dirname, '../../db-autopilot.yml'));
    const section = config.tuners.dynamodb;
    if (!section) throw new Error('no dynamodb section');
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const store = new RecordingStore();
    const id = section.resources.identifiers[0] ?? '';
    const now = sim.clock.now();
    await store.putTunerState('dynamodb', id, {
      reads: { at: 'now', causesAt: 17 },
      cadence: { everyMinutes: 30, nextAt: 1_900_000_000_000, speed: 'slow', reason: 'edited' },
      explained: { table: { read: 'lots', write: 5 } },
    });
    await store.putTunerState('dynamodb', id, { learnedAt: now.toISOString(), models: 'none' }, 'prewarm');
    const summary = await runDynamodb(
      { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: 'eventbridge:malformed-state' },
      { config, store, now },
    );
    for (const part of ['reads', 'cadence', 'explained', 'prewarm'])
      expect(summary.notes.join('\n')).toContain(`${id}: stored ${part} is not valid`);
    expect(summary.decisions.some((d) => d.resource === id)).toBe(true);
    const after = await store.getHistory('dynamodb', id, now);
    expect(tableTunerState(after).malformedParts).toEqual([]);
    expect(tableTunerState(after).state.prewarm?.learnedAt).toBe(now.toISOString());
  }, 300_000);
});
