import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TunerRunSummary } from '../../../shared/core/contracts.ts';
import type { Decision, Evidence, Outcome } from '../../../shared/core/model.ts';
import {
  fitResponse,
  jsonBytes,
  type LeftOut,
  MAX_NOTES,
  RESPONSE_BUDGET_BYTES,
} from '../../../shared/core/response-budget.ts';
import { lambdaHandler, setResponseBudget } from '../../../shared/handler/wrap.ts';
import { isNotable } from '../../../shared/state/keys.ts';
import { makeDecision } from './fixtures.ts';

/**
 * The answer of a function within the response budget (Lambda refuses a synchronous response over
 * 6 MB after the run acted): small answers as they are, successful no-ops' evidence left out
 * first, then no-ops, notable decisions last, and what was left out counted, never silent.
 */
const LAMBDA_SYNC_RESPONSE_LIMIT = 6 * 1024 * 1024;

function evidence(points: number): Evidence {
  return {
    metric: 'ReadIOPS',
    statistic: 'Average',
    value: 1234.5,
    unit: 'Count/Second',
    window: { start: '2026-03-02T09:00:00.000Z', end: '2026-03-02T10:00:00.000Z', periodSeconds: 60 },
    namespace: 'AWS/RDS',
    dimensions: { DBInstanceIdentifier: 'orders-db' },
    series: Array.from({ length: points }, (_, i) => 1000 + i * 1.25),
  };
}

function summary(decisions: Decision[], notes: string[] = []): TunerRunSummary {
  return { ok: true, tuner: 'iops', runId: 'iops-run-1', paused: false, duplicate: false, decisions, notes };
}

const noop = (i: number, points = 60): Decision =>
  makeDecision({
    id: `iops-run-1:${i}`,
    resource: `db-${i}`,
    action: 'noop',
    outcome: 'applied',
    evidence: [evidence(points), evidence(points), evidence(points)],
  });

const notable = (i: number, outcome: Outcome, points = 60): Decision =>
  makeDecision({
    id: `iops-run-1:n${i}`,
    resource: `db-${i}`,
    action: 'set-iops',
    outcome,
    evidence: [evidence(points)],
  });

const outcomes: Outcome[] = ['planned', 'intended', 'applied', 'deferred', 'skipped', 'failed'];

const decisionArb = fc
  .record({
    notable: fc.boolean(),
    outcome: fc.constantFrom(...outcomes),
    points: fc.integer({ min: 0, max: 120 }),
    i: fc.nat(100_000),
  })
  .map(({ notable: n, outcome, points, i }) => (n ? notable(i, outcome, points) : noop(i, points)));
/** Decisions with unique ids, as a run records them. */
const decisionsArb = (maxLength: number) =>
  fc.array(decisionArb, { maxLength }).map((ds) => ds.map((d, k) => ({ ...d, id: `iops-run-1:${k}` })));

const leftOutOf = (r: TunerRunSummary): LeftOut | undefined => r.leftOut;

describe('fitResponse', () => {
  it('keeps the production budget well under Lambda 6 MB synchronous response limit', () => {
    expect(RESPONSE_BUDGET_BYTES).toBeLessThanOrEqual(LAMBDA_SYNC_RESPONSE_LIMIT / 4);
    expect(RESPONSE_BUDGET_BYTES).toBe(256 * 1024);
  });

  it('answers a small run exactly as it is, evidence and all', () => {
    const small = summary([notable(1, 'applied'), noop(2), noop(3)], ['a note']);
    const answer = fitResponse(small);
    expect(answer).toBe(small);
    expect(answer.leftOut).toBeUndefined();
    expect(answer.decisions[1]?.evidence).toHaveLength(3);
  });

  it('leaves out the evidence of successful no-ops first, as the state table stores them, and says so', () => {
    const decisions = [notable(0, 'applied'), ...Array.from({ length: 200 }, (_, i) => noop(i + 1))];
    const full = summary(decisions);
    const budget = jsonBytes(full) / 2;
    const answer = fitResponse(full, budget);
    expect(jsonBytes(answer)).toBeLessThanOrEqual(budget);
    expect(answer.decisions).toHaveLength(201);
    expect(answer.decisions[0]).toEqual(decisions[0]);
    expect(answer.decisions.slice(1).every((d) => d.evidence.length === 0)).toBe(true);
    expect(leftOutOf(answer)).toMatchObject({ noopEvidence: 200, decisions: 0, fullBytes: jsonBytes(full) });
    expect(leftOutOf(answer)?.readWith).toMatch(/"command": "history", "tuner": "iops"/);
  });

  it('leaves out no-ops (counted by outcome and action) before any notable decision', () => {
    const decisions = [
      ...Array.from({ length: 300 }, (_, i) => noop(i)),
      notable(1, 'failed'),
      notable(2, 'deferred'),
      notable(3, 'intended'),
    ];
    const answer = fitResponse(summary(decisions), 20_000);
    expect(jsonBytes(answer)).toBeLessThanOrEqual(20_000);
    const kept = answer.decisions.filter(isNotable);
    expect(kept).toEqual(decisions.slice(300));
    const out = leftOutOf(answer);
    const keptNoops = answer.decisions.length - 3;
    expect(keptNoops).toBeGreaterThan(0);
    expect(out).toMatchObject({ decisions: 300 - keptNoops, byAction: { noop: 300 - keptNoops } });
    expect(out?.byOutcome).toEqual({ applied: 300 - keptNoops });
  });

  it('when the notable decisions alone are over budget, keeps the newest and counts the rest', () => {
    const decisions = Array.from({ length: 100 }, (_, i) => notable(i, 'applied'));
    const notes = Array.from({ length: 50 }, (_, i) => `note ${i}`);
    const answer = fitResponse(summary(decisions, notes), 10_000);
    expect(jsonBytes(answer)).toBeLessThanOrEqual(10_000);
    expect(answer.notes).toHaveLength(MAX_NOTES);
    const n = answer.decisions.length;
    expect(n).toBeGreaterThan(0);
    expect(answer.decisions).toEqual(decisions.slice(100 - n).map((d) => ({ ...d, evidence: [] })));
    expect(leftOutOf(answer)).toMatchObject({
      decisions: 100 - n,
      notes: 50 - MAX_NOTES,
      notableEvidence: n,
    });
  });

  it('before leaving a notable decision out, answers every one, the oldest without their evidence', () => {
    const decisions = [...Array.from({ length: 10 }, (_, i) => notable(i, 'applied')), noop(99)];
    const slimBytes = jsonBytes(summary(decisions.map((d) => ({ ...d, evidence: [] }))));
    const budget = slimBytes + 3 * jsonBytes(decisions[0]?.evidence) + 1500;
    const answer = fitResponse(summary(decisions), budget);
    expect(jsonBytes(answer)).toBeLessThanOrEqual(budget);
    expect(answer.decisions.filter(isNotable)).toHaveLength(10);
    const whole = answer.decisions.filter((d) => d.evidence.length > 0);
    expect(whole.length).toBeGreaterThanOrEqual(2);
    expect(whole).toEqual(decisions.slice(10 - whole.length, 10));
    expect(leftOutOf(answer)).toMatchObject({
      notableEvidence: 10 - whole.length,
      decisions: 1,
      byAction: { noop: 1 },
    });
  });

  it('fits a tuner answer nested under `run` (the alarm handler) and a control history answer', () => {
    const run = summary(Array.from({ length: 100 }, (_, i) => noop(i)));
    const routed = fitResponse({ ok: true, alarm: 'dbap-iops-db-1', run }, 30_000);
    expect(jsonBytes(routed)).toBeLessThanOrEqual(30_000);
    expect(routed.run.leftOut?.noopEvidence).toBe(100);
    const history = fitResponse(
      {
        ok: true,
        command: 'history',
        total: 100,
        decisions: Array.from({ length: 100 }, (_, i) => notable(i, 'applied')),
      },
      20_000,
    );
    expect(jsonBytes(history)).toBeLessThanOrEqual(20_000);
    expect((history as { leftOut?: LeftOut }).leftOut?.readWith).toMatch(/narrow the window/);
  });

  it('property: the answer is never over the budget once its decisions are left out, whatever their number', () => {
    fc.assert(
      fc.property(decisionsArb(150), fc.integer({ min: 4_000, max: 200_000 }), (decisions, budget) => {
        const answer = fitResponse(summary(decisions, ['one note']), budget);
        expect(jsonBytes(answer)).toBeLessThanOrEqual(budget);
        // Nothing silent: what is in the answer plus what it counts is every decision.
        expect(answer.decisions.length + (answer.leftOut?.decisions ?? 0)).toBe(decisions.length);
      }),
      { numRuns: 150 },
    );
  });

  it('property: no notable decision is left out (nor its evidence) while a no-op keeps its evidence or is in the answer', () => {
    fc.assert(
      fc.property(decisionsArb(150), fc.integer({ min: 4_000, max: 200_000 }), (decisions, budget) => {
        const answer = fitResponse(summary(decisions), budget);
        const noopsWithEvidence = answer.decisions.filter((d) => !isNotable(d) && d.evidence.length > 0);
        const noopsKept = answer.decisions.filter((d) => !isNotable(d)).length;
        const notableKept = answer.decisions.filter(isNotable);
        const notableAll = decisions.filter(isNotable);
        if (noopsWithEvidence.length > 0 || noopsKept > 0) expect(notableKept).toEqual(notableAll);
        // A notable decision in the answer is as recorded, or (counted) without its evidence.
        for (const d of notableKept) {
          const original = decisions.find((o) => o.id === d.id);
          expect(d).toEqual(d.evidence.length > 0 ? original : { ...original, evidence: [] });
        }
        const stripped = notableKept.filter(
          (d) => d.evidence.length === 0 && decisions.find((o) => o.id === d.id)?.evidence.length,
        ).length;
        expect(answer.leftOut?.notableEvidence ?? 0).toBe(stripped);
      }),
      { numRuns: 150 },
    );
  });

  it('property: an answer within the budget is returned as it is', () => {
    fc.assert(
      fc.property(decisionsArb(20), (decisions) => {
        const s = summary(decisions);
        expect(fitResponse(s, jsonBytes(s))).toBe(s);
      }),
      { numRuns: 100 },
    );
  });

  it('property: with the production budget, a fleet of any size answers within it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 40 }), (noops, notables) => {
        const decisions = [
          ...Array.from({ length: noops }, (_, i) => noop(i)),
          ...Array.from({ length: notables }, (_, i) => notable(i, 'applied')),
        ];
        const answer = fitResponse(summary(decisions));
        expect(jsonBytes(answer)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
        expect(answer.decisions.filter(isNotable)).toHaveLength(notables);
      }),
      { numRuns: 12 },
    );
  });
});

describe('lambdaHandler: every function answers within the response budget', () => {
  it('fits what a function core returns (a control history of large decisions) and leaves error answers alone', async () => {
    const restore = setResponseBudget(30_000);
    try {
      const decisions = Array.from({ length: 40 }, (_, i) => notable(i, 'applied'));
      const handler = lambdaHandler('control', z.object({ command: z.literal('history') }), async () => ({
        ok: true as const,
        command: 'history' as const,
        total: decisions.length,
        decisions,
      }));
      const answer = (await handler({ command: 'history' }, {} as never)) as {
        decisions: Decision[];
        leftOut?: LeftOut;
      };
      expect(jsonBytes(answer)).toBeLessThanOrEqual(30_000);
      // Every decision answered, the newest with its evidence, the oldest without (counted).
      expect(answer.decisions.map((d) => d.id)).toEqual(decisions.map((d) => d.id));
      expect(answer.decisions.at(-1)).toEqual(decisions.at(-1));
      expect(answer.leftOut?.notableEvidence).toBeGreaterThan(0);
      expect(answer.leftOut?.decisions).toBe(0);
      const rejected = await handler({ command: 'nope' }, {} as never);
      expect(rejected).toMatchObject({ ok: false });
    } finally {
      restore();
    }
  });

  it('never lets a test budget above the production constant through', async () => {
    const restore = setResponseBudget(100 * 1024 * 1024);
    try {
      const big = summary(Array.from({ length: 80 }, (_, i) => noop(i, 120)));
      expect(jsonBytes(big)).toBeGreaterThan(RESPONSE_BUDGET_BYTES);
      const handler = lambdaHandler('iops-tuner', z.object({}), async () => big);
      const answer = (await handler({}, {} as never)) as TunerRunSummary;
      expect(jsonBytes(answer)).toBeLessThanOrEqual(RESPONSE_BUDGET_BYTES);
      expect(answer.leftOut?.budgetBytes).toBe(RESPONSE_BUDGET_BYTES);
    } finally {
      restore();
    }
  });
});
