import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../shared/core/model.ts';
import type { SimAccount } from '../../shared/sim/engine.ts';
import { HOUR_MS, MINUTE_MS } from '../../shared/sim/index.ts';
import { getScenario } from '../../shared/sim/scenarios/index.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { dynamodbAlarms, runDynamodb } from '../../shared/tuners/dynamodb.ts';
import { exampleConfigApplying } from '../support/config.ts';

/**
 * Two SecureCart days for the DynamoDB tuner (what `npm run demo` shows): the example config in
 * apply mode, the tuner every 5 minutes, and the alarm fast path when the flash sale throttles
 * the catalog's GSI (12:00 UTC on the first day).
 */
describe('DynamoDB tuner on the securecart scenario', () => {
  let sim: SimAccount;
  let uninstall: () => void;
  const decisions: Decision[] = [];
  const config = exampleConfigApplying('dynamodb');
  const updateTables: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    const scenario = await getScenario('securecart');
    sim = scenario.build({});
    // The honest world: CloudWatch publishes 2 minutes late (the simulator's default), the newest
    // minute partial.
    uninstall = sim.install();
    const store = new MemoryStateStore();
    const start = sim.nowMs();
    const alarmAt = start + 12 * HOUR_MS + 4 * MINUTE_MS;
    for (let t = start; t < start + 44 * HOUR_MS; t += 5 * MINUTE_MS) {
      if (t > alarmAt - 5 * MINUTE_MS && t <= alarmAt + 5 * MINUTE_MS && t > alarmAt) {
        // The GSI's throttling alarm (1-minute periods) is in ALARM by 12:04, after the 3-minute ramp.
        sim.advanceTo(alarmAt);
        const fast = await runDynamodb(
          {
            trigger: 'alarm',
            resourceIds: ['securecart-catalog/index/by-category'],
            dryRun: false,
            override: false,
            idempotencyKey: 'alarm-event-1',
          },
          { config, store, now: sim.clock.now() },
        );
        decisions.push(...fast.decisions);
      }
      sim.advanceTo(t);
      const summary = await runDynamodb(
        { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `sched-${t}` },
        { config, store, now: sim.clock.now() },
      );
      decisions.push(...summary.decisions);
    }
    for (const d of decisions)
      if (d.action === 'set-capacity' && d.outcome === 'applied')
        updateTables.push(d.to as Record<string, unknown>);
  }, 180_000);

  afterAll(() => {
    uninstall();
    if (process.env.DYNAMODB_TIMELINE) {
      for (const d of decisions.filter((x) => x.action !== 'noop'))
        console.log(d.at.slice(5, 16), d.resource, d.action, d.outcome, d.reason.slice(0, 160));
    }
  });

  it('raises the catalog table and its GSI in one step on the alarm, then to the flash sale demand / target within minutes', () => {
    const applied = decisions.filter(
      (d) =>
        d.resource === 'securecart-catalog' &&
        d.action === 'set-capacity' &&
        d.outcome === 'applied' &&
        d.at >= '2026-11-20T12:00' &&
        d.at <= '2026-11-20T12:10',
    );
    const reads = (d: Decision | undefined, side: 'from' | 'to', key: string) =>
      (d?.[side] as Record<string, { read: number }> | undefined)?.[key]?.read ?? 0;
    // The alarm fast path (12:04) raises the table and its GSI in one UpdateTable.
    const raise = applied[0];
    expect(raise?.trigger).toBe('alarm');
    expect(reads(raise, 'to', '(table)')).toBeGreaterThan(reads(raise, 'from', '(table)'));
    expect(reads(raise, 'to', 'by-category')).toBeGreaterThan(reads(raise, 'from', 'by-category'));
    expect(raise?.evidence.some((e) => e.metric === 'ReadProvisionedThroughputThrottleEvents')).toBe(true);
    // CloudWatch publishes 2 minutes late, so the alarm sees only the first minutes of the 3-minute
    // ramp; the scheduled runs after it finish the raise. Flash sale demand: ~2,900 RCU/s on the
    // table, ~2,400 on the GSI; target 70%.
    expect(Math.max(...applied.map((d) => reads(d, 'to', '(table)')))).toBeGreaterThan(3_500);
    expect(Math.max(...applied.map((d) => reads(d, 'to', 'by-category')))).toBeGreaterThan(3_000);
  });

  it('scales the over-provisioned carts table down without exhausting its decrease budget', () => {
    const carts = decisions.filter((d) => d.resource === 'securecart-carts' && d.action === 'set-capacity');
    const decreases = carts.filter((d) => d.outcome === 'applied' && d.monthlyCostDelta < 0);
    expect(decreases.length).toBeGreaterThan(0);
    expect(decreases[0]?.monthlyCostDelta).toBeLessThan(-100);
    // AWS never refused one: every decrease went through the budget model first.
    expect(carts.filter((d) => d.outcome === 'failed')).toHaveLength(0);
    expect(carts.filter((d) => d.reason.includes('LimitExceededException'))).toHaveLength(0);
    for (const day of ['2026-11-20', '2026-11-21']) {
      const n = decreases.filter((d) => d.at.startsWith(day)).length;
      expect(n).toBeLessThan(27);
    }
    const node = sim.dynamodb.tables.get('securecart-carts');
    expect(node?.read).toBeLessThan(4_000);
  });

  it('reports the inventory hot key as a finding and buys no capacity for it', () => {
    const findings = decisions.filter((d) => d.resource === 'securecart-inventory' && d.action === 'finding');
    expect(findings.length).toBeGreaterThan(0);
    expect(findings[0]?.reason).toContain('hot key');
    expect(findings[0]?.evidence[0]?.metric).toBe('WriteKeyRangeThroughputThrottleEvents');
    // Capacity raised for the hot key would be reasoned "throttled": there is none.
    const bought = decisions.filter(
      (d) =>
        d.resource === 'securecart-inventory' &&
        d.action === 'set-capacity' &&
        d.reason.includes('throttled'),
    );
    expect(bought).toHaveLength(0);
  });

  it('advises the sessions table to on-demand with the monthly saving', () => {
    const advice = decisions.find((d) => d.resource === 'securecart-sessions' && d.action === 'recommend');
    expect(advice?.tuner).toBe('dynamodb-mode');
    expect(advice?.to).toBe('PAY_PER_REQUEST');
    expect(advice?.monthlyCostDelta).toBeLessThan(0);
    expect(advice?.reason).toMatch(/costs \$\d+\.\d\d\/month less on on-demand/);
  });

  it('pre-warms the catalog before its daily evening peak on the second simulated day, with the history it learned from', () => {
    const prewarm = decisions.find(
      (d) =>
        d.resource === 'securecart-catalog' &&
        d.reason.includes('pre-warm') &&
        d.outcome === 'applied' &&
        d.at.startsWith('2026-11-21') &&
        d.at >= '2026-11-21T15:00' &&
        d.at <= '2026-11-21T19:00',
    );
    expect(prewarm).toBeDefined();
    const ev = prewarm?.evidence.find((e) => e.metric === 'recurring peak (learned walk-forward)');
    // Under the 2-minute publication delay the learner settles on a 2-day period for this daily
    // peak (autocorrelation 0.82; without the delay: 1 day): a whole number of days either way.
    expect(ev?.statistic).toMatch(/period [12] d\b/);
    expect(ev?.series?.length).toBeGreaterThanOrEqual(2);
    expect(Date.parse(ev?.window.end ?? '')).toBeLessThanOrEqual(Date.parse(prewarm?.at ?? ''));
  });

  it('never sends an UpdateTable that raises one value and lowers another', () => {
    for (const d of decisions.filter((x) => x.action === 'set-capacity' && x.outcome === 'applied')) {
      const from = d.from as Record<string, { read: number; write: number }>;
      const to = d.to as Record<string, { read: number; write: number }>;
      let up = false;
      let down = false;
      for (const [k, v] of Object.entries(to)) {
        const f = from[k];
        if (!f) continue;
        if (v.read > f.read || v.write > f.write) up = true;
        if (v.read < f.read || v.write < f.write) down = true;
      }
      expect(up && down, `${d.at} ${d.resource}`).toBe(false);
    }
  });

  it('declares a throttling alarm per table and GSI, read and write', () => {
    const specs = dynamodbAlarms([
      {
        ref: { kind: 'dynamodb-table', id: 'securecart-catalog' },
        tags: {},
        managed: true,
        created: false,
        optedOut: false,
      },
      {
        ref: { kind: 'dynamodb-gsi', id: 'securecart-catalog/index/by-category' },
        tags: {},
        managed: true,
        created: false,
        optedOut: false,
      },
    ]);
    expect(specs).toHaveLength(4);
    expect(specs[3]).toMatchObject({
      resourceId: 'securecart-catalog/index/by-category',
      key: 'throttle_write',
      metricName: 'WriteProvisionedThroughputThrottleEvents',
      dimensions: { TableName: 'securecart-catalog', GlobalSecondaryIndexName: 'by-category' },
      threshold: 0,
      treatMissingData: 'notBreaching',
    });
  });
});
