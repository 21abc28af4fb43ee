import { afterEach, describe, expect, it } from 'vitest';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { constant } from '../../shared/sim/workload.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { exampleConfigApplying, sectionOf } from '../support/config.ts';

const MANAGED = { 'db-autopilot:managed': 'true', app: 'securecart' };

describe('DynamoDB tuner and the account-wide capacity quota', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  it('counts the increases of earlier tables in a run against the account quota of later ones', async () => {
    const config = exampleConfigApplying('dynamodb');
    const section = sectionOf(config, 'dynamodb');
    section.prewarm.enabled = false;
    section.modeAdvisor.enabled = false;
    const sim = (await getScenario('securecart')).build({});
    // Two throttled tables: each wants several hundred more RCU.
    for (const name of ['acct-a', 'acct-b']) {
      sim.dynamodb.addTable({
        name,
        read: 100,
        write: 5,
        tags: MANAGED,
        workload: { read: constant(1000), write: constant(1) },
      });
    }
    const accountRead = (): number => {
      let total = 0;
      for (const t of sim.dynamodb.tables.values()) {
        if (t.billingMode !== 'PROVISIONED') continue;
        total += t.read;
        for (const g of t.gsis.values()) total += g.read;
      }
      return total;
    };
    const before = accountRead();
    // Room for 800 more RCU in the account: enough for one table's raise, not for both in full.
    section.accountMaxCapacity = before + 800;
    uninstall = sim.install();

    const summary = await runDynamodb(
      {
        trigger: 'schedule',
        dryRun: false,
        override: false,
        idempotencyKey: 'eventbridge:acct-1',
        resourceIds: ['acct-a', 'acct-b'],
      },
      { config, store: new MemoryStateStore(), now: sim.clock.now() },
    );

    const raised = summary.decisions.filter((d) => d.action === 'set-capacity' && d.outcome === 'applied');
    expect(raised.length).toBeGreaterThanOrEqual(1);
    // Each table alone wants more than the 800 RCU of room: together they must still fit in it.
    expect(
      (sim.dynamodb.tables.get('acct-a')?.read ?? 0) + (sim.dynamodb.tables.get('acct-b')?.read ?? 0),
    ).toBe(200 + 800);
    expect(accountRead()).toBeLessThanOrEqual(before + 800);
  });
});
