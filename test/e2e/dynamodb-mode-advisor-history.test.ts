import { afterEach, describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/sim/clock.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { constant, spikes, sum } from '../../shared/sim/workload.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { exampleConfig, sectionOf } from '../support/config.ts';

const TABLE = 'securecart-events';
const EVERY = 2 * HOUR_MS;
const SPIKE = 15 * MINUTE_MS;

/**
 * The mode advisor reads the table's ProvisionedReadCapacityUnits history (and its throttle
 * events) from CloudWatch: a table whose capacity served recurring spikes cheaply stays
 * provisioned; the same table whose capacity did not serve them is advised to on-demand.
 */
describe('DynamoDB mode advisor prices provisioned from the capacity the table had', () => {
  let uninstall: (() => void) | undefined;
  afterEach(() => uninstall?.());

  async function advise(prewarmed: boolean) {
    const config = exampleConfig();
    const section = sectionOf(config, 'dynamodb');
    section.mode = 'observe';
    const sim = (await getScenario('securecart')).build({});
    // A 15-minute spike to 1,000 reads/s every other hour over 50 reads/s.
    const table = sim.dynamodb.addTable({
      name: TABLE,
      read: 75,
      write: 5,
      tags: { 'db-autopilot:managed': 'true', app: 'securecart' },
      workload: {
        read: sum(constant(50), spikes({ everyMs: EVERY, durationMs: SPIKE, height: 950 })),
        write: constant(1),
      },
    });
    const now = sim.clock.now();
    if (prewarmed) {
      // What a capacity policy that learned the spikes ran: 1,430 RCU from 5 minutes before each
      // spike to 5 minutes after it, 75 RCU otherwise.
      const first = Math.ceil(sim.historyStartMs / EVERY) * EVERY;
      for (let t = first; t < now.getTime(); t += EVERY) {
        table.timeline.push(
          { from: t - 5 * MINUTE_MS, billingMode: 'PROVISIONED', read: 1430, write: 5 },
          { from: t + SPIKE + 5 * MINUTE_MS, billingMode: 'PROVISIONED', read: 75, write: 5 },
        );
      }
    }
    uninstall = sim.install();
    const summary = await runDynamodb(
      {
        trigger: 'manual',
        dryRun: false,
        override: false,
        idempotencyKey: 'manual:mode',
        resourceIds: [TABLE],
      },
      { config, store: new MemoryStateStore(), now },
    );
    return summary.decisions.filter((d) => d.tuner === 'dynamodb-mode');
  }

  it('keeps the table on provisioned when its capacity history served the spikes for less than on-demand', async () => {
    const decisions = await advise(true);
    expect(decisions.some((d) => d.action === 'recommend' || d.action === 'set-capacity-mode')).toBe(false);
    const noop = decisions.find((d) => d.action === 'noop');
    expect(noop?.reason).toContain('provisioned is the right mode');
    const cost = (m: string) => noop?.evidence.find((e) => e.metric === m)?.value ?? Number.NaN;
    expect(cost('monthly cost, provisioned at equal service')).toBeLessThan(cost('monthly cost, on-demand'));
  }, 120_000);

  it('recommends on-demand for the same table when its capacity left the spikes throttled', async () => {
    const decisions = await advise(false);
    const advice = decisions.find((d) => d.action === 'recommend');
    expect(advice?.to).toBe('PAY_PER_REQUEST');
    expect(advice?.reason).toMatch(/costs \$\d+\.\d\d\/month less on on-demand/);
  }, 120_000);
});
