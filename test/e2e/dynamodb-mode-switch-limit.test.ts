import { afterEach, describe, expect, it } from 'vitest';
import type { Decision } from '../../shared/core/model.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';

const TABLE = 'securecart-sessions';

function decision(id: string, at: Date, over: Partial<Decision>): Decision {
  return {
    id,
    runId: `run-${id}`,
    at: at.toISOString(),
    tuner: 'dynamodb-mode',
    resource: TABLE,
    resourceKind: 'dynamodb-table',
    action: 'noop',
    outcome: 'planned',
    reason: 'test history',
    evidence: [],
    monthlyCostDelta: 0,
    from: null,
    to: null,
    undo: null,
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'info',
    ...over,
  };
}

/** A switch to on-demand 20 h before `now` and the switch back 30 minutes later (both applied). */
function switchedAndBack(now: Date): Decision[] {
  const h = 3_600_000;
  return [
    decision('switch', new Date(now.getTime() - 20 * h), {
      action: 'set-capacity-mode',
      outcome: 'applied',
      from: 'PROVISIONED',
      to: 'PAY_PER_REQUEST',
    }),
    decision('back', new Date(now.getTime() - 19.5 * h), {
      action: 'set-capacity-mode',
      outcome: 'applied',
      from: 'PAY_PER_REQUEST',
      to: 'PROVISIONED',
    }),
  ];
}

describe('DynamoDB capacity mode advisor and the rolling 24 h switch limit', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  async function run(history: (now: Date) => Decision[]) {
    const config = exampleConfigApplying('dynamodb');
    const section = sectionOf(config, 'dynamodb');
    section.modeAdvisor.allowSwitch = true;
    section.modeAdvisor.minHoursBetweenSwitches = 0;
    section.modeAdvisor.maxSwitchesToOnDemandPer24h = 1;
    const sim = (await getScenario('securecart')).build({});
    uninstall = sim.install();
    const now = sim.clock.now();
    const store = new MemoryStateStore();
    for (const d of history(now)) await store.recordDecision(d);
    const summary = await runDynamodb(
      {
        trigger: 'manual',
        dryRun: false,
        override: false,
        idempotencyKey: 'manual:mode-1',
        resourceIds: [TABLE],
      },
      { config, store, now },
    );
    return { summary, sim };
  }

  it('switches the sessions table to on-demand when no switch was made in the last 24 h', async () => {
    const { summary } = await run(() => []);
    const switched = summary.decisions.find((d) => d.action === 'set-capacity-mode');
    // Applied, or waiting for the capacity change made earlier in the same run (UPDATING).
    expect(['applied', 'deferred']).toContain(switched?.outcome);
    expect(summary.decisions.some((d) => d.action === 'recommend')).toBe(false);
  });

  it('counts a switch 20 h ago even when more than a page of later decisions hides it', async () => {
    const { summary, sim } = await run((now) => {
      const h = 3_600_000;
      const out = switchedAndBack(now);
      // 30 later no-op decisions (hourly advice, manual runs): more than the recent-history page.
      for (let i = 0; i < 30; i++)
        out.push(decision(`noop-${i}`, new Date(now.getTime() - (19 - i * 0.5) * h), {}));
      return out;
    });
    expect(summary.decisions.some((d) => d.action === 'set-capacity-mode')).toBe(false);
    const advice = summary.decisions.find((d) => d.action === 'recommend');
    expect(advice?.reason).toContain('switch(es) to on-demand in the last 24 h');
    expect(sim.dynamodb.tables.get(TABLE)?.billingMode).toBe('PROVISIONED');
  });

  it('counts a switch 20 h ago when more notable decisions since than the mode history holds hide it', async () => {
    const { summary, sim } = await run((now) => {
      const h = 3_600_000;
      const out = switchedAndBack(now);
      // 25 later recommendations (notable): the history's 20 newest are all of them.
      for (let i = 0; i < 25; i++)
        out.push(
          decision(`rec-${i}`, new Date(now.getTime() - (19 - i * 0.5) * h), {
            action: 'recommend',
            outcome: 'applied',
            to: 'PAY_PER_REQUEST',
          }),
        );
      return out;
    });
    expect(summary.decisions.some((d) => d.action === 'set-capacity-mode')).toBe(false);
    const advice = summary.decisions.find((d) => d.action === 'recommend');
    expect(advice?.reason).toContain('switch(es) to on-demand in the last 24 h');
    expect(sim.dynamodb.tables.get(TABLE)?.billingMode).toBe('PROVISIONED');
  });
});
