import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as control } from '../../functions/control.ts';
import { handler as serverlessTuner } from '../../functions/serverless-tuner.ts';
import { setConfig } from '../../shared/config/load.ts';
import type { TunerRunSummary } from '../../shared/core/contracts.ts';
import type { Decision } from '../../shared/core/model.ts';
import { HOUR_MS, MINUTE_MS, type SimAccount } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { serverlessBounds } from '../../shared/sim/services/aurora-serverless.ts';
import { MemoryStateStore, setStateStore } from '../../shared/state/index.ts';
import { exampleConfigApplying } from '../support/config.ts';

/**
 * The `serverless-tuner` Lambda handler over SecureCart's morning and flash sale on the simulated
 * account (the example config in apply mode): scheduled events every 5 minutes as serverless.yml
 * deploys them, a manual dry run, a redelivered event, `revert` and `pause` through the control
 * handler.
 */
const ACCOUNTS = 'securecart-customer-accounts';
const DEV = 'securecart-accounts-dev';

function context(id: string): Context {
  return {
    awsRequestId: id,
    functionName: 'serverless-tuner',
    getRemainingTimeInMillis: () => 300_000,
  } as unknown as Context;
}

function scheduled(t: number) {
  return {
    version: '0',
    id: `sched-${t}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date(t).toISOString(),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/dev-dbap-serverless-tuner'],
    detail: {},
  };
}

const run = async (event: unknown, id: string) =>
  (await serverlessTuner(event as never, context(id))) as unknown as TunerRunSummary;

describe('serverless tuner handler on securecart', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  let restoreStore: () => void;
  const store = new MemoryStateStore();
  const decisions: Decision[] = [];
  let startMs = 0;

  beforeAll(async () => {
    const config = exampleConfigApplying('serverless');
    setConfig(config);
    restoreStore = setStateStore(store);
    sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    startMs = sim.nowMs();
    for (let t = startMs; t <= startMs + 13 * HOUR_MS; t += 5 * MINUTE_MS) {
      sim.advanceTo(t);
      decisions.push(...(await run(scheduled(t), `req-${t}`)).decisions);
    }
  }, 240_000);

  afterAll(() => {
    uninstall();
    restoreStore();
    setConfig(undefined);
  });

  const of = (resource: string, outcome: string) =>
    decisions.filter(
      (d) => d.resource === resource && d.action === 'set-serverless-bounds' && d.outcome === outcome,
    );

  it('waits for the person’s change in progress, then lowers their night minimum, recording the prior bounds, evidence and the saving', () => {
    expect(of(ACCOUNTS, 'deferred')[0]).toMatchObject({
      at: new Date(startMs).toISOString(),
      guard: 'aws:cluster-available',
      deferredUntil: new Date(startMs + 5 * MINUTE_MS).toISOString(),
    });
    const first = of(ACCOUNTS, 'applied')[0];
    expect(first?.at).toBe(new Date(startMs + 10 * MINUTE_MS).toISOString());
    expect(first?.from).toEqual({ min: 8, max: 32 });
    expect((first?.to as { min: number } | undefined)?.min).toBeLessThan(8);
    expect(first?.undo).toEqual({
      kind: 'set-serverless-bounds',
      params: { clusterId: ACCOUNTS, bounds: { min: 8, max: 32 } },
    });
    expect(first?.monthlyCostDelta).toBeLessThan(0);
    expect(first?.evidence.map((e) => e.metric)).toEqual(
      expect.arrayContaining([
        'ServerlessDatabaseCapacity',
        'ACUUtilization',
        'DatabaseConnections',
        'CPUUtilization',
      ]),
    );
  });

  it('defers the raise ahead of the login storm while the cluster is modifying, then applies it before 08:00', () => {
    const deferred = of(ACCOUNTS, 'deferred').filter((d) => Date.parse(d.at) >= startMs + 7 * HOUR_MS);
    expect(deferred.map((d) => d.guard)).toContain('aws:cluster-available');
    const raisedAfter = of(ACCOUNTS, 'applied').find(
      (d) =>
        d.at > (deferred[0]?.at ?? '') && (d.to as { min: number }).min > (d.from as { min: number }).min,
    );
    expect(raisedAfter).toBeDefined();
    expect(Date.parse(raisedAfter?.at ?? '')).toBeLessThan(startMs + 8 * HOUR_MS);
  });

  it('raises MaxCapacity when ACUUtilization sits at 100% in the flash sale, never above the ceiling', () => {
    const raised = of(ACCOUNTS, 'applied').find((d) => /ACUUtilization at/.test(d.reason));
    expect(raised).toBeDefined();
    expect(Date.parse(raised?.at ?? '')).toBeGreaterThanOrEqual(startMs + 12 * HOUR_MS);
    expect(Date.parse(raised?.at ?? '')).toBeLessThanOrEqual(startMs + 12 * HOUR_MS + 15 * MINUTE_MS);
    for (const d of of(ACCOUNTS, 'applied')) expect((d.to as { max: number }).max).toBeLessThanOrEqual(64);
  });

  it('leaves AWS with the bounds of the last applied decision', () => {
    const last = of(ACCOUNTS, 'applied').at(-1);
    expect(serverlessBounds(sim, ACCOUNTS)).toMatchObject(last?.to as object);
  });

  it('lowers the idle dev cluster to 0.5 ACU and recommends auto-pause with the monthly figure', () => {
    expect(of(DEV, 'applied')[0]?.to).toEqual({ min: 0.5, max: 8 });
    const advice = decisions.find((d) => d.resource === DEV && d.action === 'recommend');
    expect(advice?.reason).toMatch(/no connection for 4 h: MinCapacity 0 pauses it/);
    expect(advice?.monthlyCostDelta).toBeLessThan(0);
    expect(serverlessBounds(sim, DEV)).toMatchObject({ min: 0.5, max: 8 });
  });

  it('acts once for a redelivered scheduled event, and a manual dry run changes nothing', async () => {
    sim.advance(5 * MINUTE_MS);
    const again = await run(scheduled(startMs + 13 * HOUR_MS), 'redelivered');
    expect(again.duplicate).toBe(true);
    expect(again.decisions).toEqual([]);
    const before = serverlessBounds(sim, ACCOUNTS);
    const dry = await run({ dryRun: true, resources: [ACCOUNTS] }, 'dry-1');
    expect(dry.decisions.every((d) => d.outcome === 'planned' || d.action === 'noop')).toBe(true);
    expect(serverlessBounds(sim, ACCOUNTS)).toEqual(before);
  });

  it('reverts a decision to its recorded prior bounds exactly', async () => {
    const last = of(ACCOUNTS, 'applied').at(-1) as Decision;
    sim.advance(10 * MINUTE_MS);
    const result = (await control(
      { command: 'revert', decisionId: last.id, dryRun: false } as never,
      context('revert-1'),
    )) as unknown as { ok: boolean; reverted: boolean };
    expect(result).toMatchObject({ ok: true, reverted: true });
    expect(serverlessBounds(sim, ACCOUNTS)).toMatchObject(last.from as object);
  });

  it('hands the person’s own 8-32 ACU back exactly when paused, and tunes again after resume', async () => {
    await control({ command: 'pause', reason: 'audit' } as never, context('pause-1'));
    sim.advance(5 * MINUTE_MS);
    const paused = await run(scheduled(sim.nowMs()), 'paused-run');
    expect(paused.paused).toBe(true);
    const handBack = paused.decisions.find((d) => d.resource === ACCOUNTS);
    expect(handBack).toMatchObject({ outcome: 'applied', to: { min: 8, max: 32 } });
    expect(serverlessBounds(sim, ACCOUNTS)).toMatchObject({ min: 8, max: 32 });
    expect(serverlessBounds(sim, DEV)).toMatchObject({ min: 2, max: 8 });
    // A second paused run has nothing left to hand back.
    sim.advance(5 * MINUTE_MS);
    expect((await run(scheduled(sim.nowMs()), 'paused-run-2')).decisions).toEqual([]);
    await control({ command: 'resume' } as never, context('resume-1'));
    sim.advance(10 * MINUTE_MS);
    const resumed = await run(scheduled(sim.nowMs()), 'resumed-run');
    expect(
      resumed.decisions.some((d) => d.action === 'set-serverless-bounds' && d.outcome === 'applied'),
    ).toBe(true);
  });
});
