import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { handler as iopsTuner } from '../../functions/iops-tuner.ts';
import { parseConfig, setConfig } from '../../shared/config/load.ts';
import type { TunerRunSummary } from '../../shared/core/contracts.ts';
import { jsonBytes, RESPONSE_BUDGET_BYTES } from '../../shared/core/response-budget.ts';
import { setResponseBudget } from '../../shared/handler/wrap.ts';
import { SimAccount } from '../../shared/sim/engine.ts';
import { constant } from '../../shared/sim/workload.ts';
import { MemoryStateStore, setStateStore } from '../../shared/state/index.ts';
import { isNotable } from '../../shared/state/keys.ts';

/**
 * The `iops-tuner` Lambda handler on the simulated account, its answer within the response budget
 * (shared/core/response-budget.ts): a fleet whose answer is over it (a budget of 40 KiB stands for
 * the 256 KiB of a fleet ~7 times larger, so the test stays cheap; the production constant is checked by
 * the unit properties) answers every notable decision whole and counts what it left out, while
 * the state table records every decision; a manual dry run on one database answers in full.
 */
const START = Date.parse('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const N = 24;
const SATURATED = new Set(['db-03', 'db-11', 'db-19']);
const ids = Array.from({ length: N }, (_, i) => `db-${String(i).padStart(2, '0')}`);

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function install(): MemoryStateStore {
  const sim = new SimAccount({
    start: new Date(START).toISOString(),
    latencyMs: 0,
    historyStart: START - 30 * HOUR,
  });
  for (const id of ids) {
    sim.rds.addInstance({
      id,
      engine: 'postgres',
      instanceClass: 'db.r6i.8xlarge',
      storageType: 'io1',
      allocatedStorage: 1000,
      iops: 20_000,
      // Three instances saturated (a planned change each), the others quiet (no-ops).
      workload: { iops: constant(SATURATED.has(id) ? 35_000 : 14_000) },
    });
  }
  cleanups.push(sim.install());
  const store = new MemoryStateStore();
  cleanups.push(setStateStore(store));
  setConfig(
    parseConfig(`
version: 1
region: us-east-1
defaults: { mode: observe, cooldownMinutes: 30 }
tuners:
  iops:
    resources: { identifiers: [${ids.join(', ')}] }
    minIops: 1000
    maxIops: 64000
`),
  );
  cleanups.push(() => setConfig(undefined));
  return store;
}

const context = (id: string) =>
  ({
    awsRequestId: id,
    functionName: 'iops-tuner',
    getRemainingTimeInMillis: () => 300_000,
  }) as unknown as Context;

const scheduled = {
  version: '0',
  id: 'sched-1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date(START).toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/db-autopilot-iops-tuner'],
  detail: {},
};

describe('iops-tuner handler: the answer within the response budget', () => {
  it('answers a fleet over the budget with every notable decision whole and what it left out counted; the state table has every decision', async () => {
    const store = install();
    const budget = 40 * 1024;
    cleanups.push(setResponseBudget(budget));
    const answer = (await iopsTuner(scheduled as never, context('big-1'))) as TunerRunSummary;

    expect(answer.ok).toBe(true);
    expect(jsonBytes(answer)).toBeLessThanOrEqual(budget);
    const leftOut = answer.leftOut;
    expect(leftOut?.fullBytes).toBeGreaterThan(budget);
    expect(leftOut?.noopEvidence).toBe(N - SATURATED.size);
    expect(leftOut?.decisions).toBeGreaterThan(0);

    const recorded = (await store.exportDecisions({ since: new Date(START - HOUR).toISOString() })).filter(
      (d) => d.runId === answer.runId,
    );
    expect(recorded).toHaveLength(N + SATURATED.size); // a no-op or a change, and a finding, each
    // Nothing silent: the answer's decisions and the ones it counts are every recorded decision.
    expect(answer.decisions.length + (leftOut?.decisions ?? 0)).toBe(recorded.length);
    const notable = answer.decisions.filter(isNotable);
    expect(new Set(notable.map((d) => d.resource))).toEqual(SATURATED);
    // Notable decisions whole, evidence first: as the state table holds them.
    for (const d of notable) {
      expect(d.evidence.length).toBeGreaterThan(0);
      expect(recorded.find((r) => r.id === d.id)).toEqual(d);
    }
    // No-ops answered as the state table stores them: without evidence.
    expect(answer.decisions.filter((d) => !isNotable(d)).every((d) => d.evidence.length === 0)).toBe(true);
    expect(leftOut?.byAction.noop ?? 0).toBe(leftOut?.decisions);
    expect(answer.notes.join('\n')).not.toMatch(/left out/); // the counts are in leftOut, not a note
  });

  it('answers the same fleet in full under the production budget, and a manual dry run on one database with its evidence', async () => {
    install();
    const full = (await iopsTuner(scheduled as never, context('full-1'))) as TunerRunSummary;
    expect(jsonBytes(full)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
    expect(full.leftOut).toBeUndefined();
    expect(full.decisions).toHaveLength(N + SATURATED.size);
    expect(full.decisions.every((d) => d.evidence.length > 0)).toBe(true);

    const manual = (await iopsTuner(
      { dryRun: true, resources: ['db-03'] } as never,
      context('manual-1'),
    )) as TunerRunSummary;
    expect(manual.leftOut).toBeUndefined();
    expect(new Set(manual.decisions.map((d) => d.resource))).toEqual(new Set(['db-03']));
    expect(manual.decisions[0]?.evidence.length).toBeGreaterThan(0);
  });
});
