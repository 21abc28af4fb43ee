import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DemoReport, runDemo } from '../../shared/cli/demo.ts';
import { main as historyMain } from '../../shared/cli/history.ts';
import { formatUsd } from '../../shared/report/format.ts';

/**
 * Runs the demo programmatically (real handlers, simulated account, embedded PostgreSQL) and
 * checks report.json. Six simulated hours cover every schedule (maintenance 03:00, insights 05:30);
 * the whole day is `npm run demo`.
 */
const OUTCOMES = ['planned', 'applied', 'deferred', 'skipped', 'failed'];
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function outDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dbap-demo-'));
  dirs.push(d);
  return d;
}

/** The six-hour demo's output folder, which the history check below reads. */
let sixHourOut = '';

describe('npm run demo', () => {
  it('writes report.json with one well-formed decision per decision, every existing tuner with evidence', {
    timeout: 300_000,
  }, async () => {
    const out = outDir();
    sixHourOut = out;
    const { report } = await runDemo({ out, hours: 6, print: () => {} });
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DemoReport;
    expect(json.decisions.length).toBe(report.decisions.length);
    expect(json.decisions.length).toBeGreaterThan(0);
    for (const d of json.decisions) {
      expect(typeof d.tuner).toBe('string');
      expect(typeof d.resource).toBe('string');
      expect(typeof d.action).toBe('string');
      expect(OUTCOMES).toContain(d.outcome);
      expect(typeof d.reason).toBe('string');
      expect(Array.isArray(d.evidence)).toBe(true);
      expect(typeof d.monthlyCostDelta).toBe('number');
    }
    const ran = json.tuners.filter((t) => t.status === 'ran');
    expect(ran.length).toBeGreaterThan(0);
    for (const t of ran) {
      const mine = json.decisions.filter((d) => d.tuner === t.tuner);
      // The alarm reconciler keeps alarms in step: its decisions carry no metric evidence.
      if (t.tuner === 'alarms') continue;
      expect(mine.length, `${t.tuner} has decisions`).toBeGreaterThan(0);
      // No-ops are slim records (evidence []); anything a tuner did or advised shows its evidence.
      const notable = mine.filter((d) => d.action !== 'noop' && d.outcome !== 'skipped');
      if (notable.length > 0)
        expect(
          notable.some((d) => d.evidence.length > 0),
          `${t.tuner} shows evidence`,
        ).toBe(true);
    }
    for (const t of json.tuners.filter((x) => x.status !== 'ran'))
      expect(t.status).toBe('skipped: not built yet');
    for (const f of json.functions.filter((x) => x.status === 'ran')) expect(f.errors, f.name).toEqual([]);
    // Aurora Serverless v2 (issue 24): the customer-accounts range waits for a person's change in
    // progress (deferred), then is applied, each with its metric evidence (a deferral repeated in
    // the same hour is a slim record, evidence [], counted on the first: issue 28).
    const ranges = json.decisions.filter(
      (d) =>
        d.tuner === 'serverless' &&
        d.resource === 'securecart-customer-accounts' &&
        d.action === 'set-serverless-bounds',
    );
    expect(ranges.map((d) => d.outcome)).toEqual(expect.arrayContaining(['deferred', 'applied']));
    for (const outcome of ['deferred', 'applied'])
      expect(
        ranges.some(
          (d) =>
            d.outcome === outcome && d.evidence.map((e) => e.metric).includes('ServerlessDatabaseCapacity'),
        ),
        `a ${outcome} range with its metric evidence`,
      ).toBe(true);
    for (const d of ranges.filter((x) => x.evidence.length > 0))
      expect(d.evidence.map((e) => e.metric)).toContain('ServerlessDatabaseCapacity');
    expect(ranges.filter((d) => d.outcome === 'applied').every((d) => d.evidence.length > 0)).toBe(true);
    expect(json.apiCalls['cloudwatch:GetMetricData']).toBeGreaterThan(0);

    // Quiet reports: every applied change and failure is in a per-event post or in the digest.
    const slack = JSON.parse(readFileSync(join(out, 'slack-payloads.json'), 'utf8')) as Array<{
      payload: { text: string };
    }>;
    const sns = JSON.parse(readFileSync(join(out, 'sns-messages.json'), 'utf8')) as unknown[];
    expect(slack.length).toBeLessThanOrEqual(15);
    expect(sns.length).toBeLessThanOrEqual(15);
    const digest = readFileSync(join(out, 'digest.txt'), 'utf8');
    const posted = `${slack.map((p) => p.payload.text).join('\n')}\n${digest}`;
    for (const d of json.decisions.filter(
      (x) => (x.outcome === 'applied' && x.action !== 'noop') || x.outcome === 'failed',
    ))
      expect(posted, `${d.tuner} ${d.resource} ${d.action}`).toContain(`${d.tuner} ${d.resource}`);
    // No raw JSON in what people read.
    expect(posted).not.toMatch(/\{"|put-alarm - -> 0/);

    // One accounting of money, the same in report.json, report.md, the digest and its Slack post.
    const t = json.totals;
    expect(typeof t.appliedMonthlyCostDelta).toBe('number');
    expect(typeof t.potentialMonthlyCostDelta).toBe('number');
    const applied = `${formatUsd(t.appliedMonthlyCostDelta)}/month net`;
    const potential = `${formatUsd(t.potentialMonthlyCostDelta)}/month potential`;
    const digestSlack = readFileSync(join(out, 'digest-slack.json'), 'utf8');
    for (const [name, text] of [
      ['report.md', readFileSync(join(out, 'report.md'), 'utf8')],
      ['digest.txt', digest],
      ['digest-slack.json', digestSlack],
    ] as const) {
      expect(text, name).toContain(applied);
      expect(text, name).toContain(potential);
    }
    // The per-resource table, in the digest and in report.md.
    expect(digest).toContain('throttled/saturated min');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(
      '| day | resource | start | end | changes |',
    );

    // db-autopilot's own bill beside the savings: measured from what the functions requested.
    const own = json.ownCost;
    expect(own, 'report.json has ownCost').toBeDefined();
    if (!own) return;
    expect(own.usage.metricsRequested).toBeGreaterThan(0);
    expect(own.usage.invocations['dynamodb-tuner']).toBeGreaterThan(0);
    expect(own.byService.cloudwatchGetMetricData).toBeGreaterThan(0);
    expect(own.monthlyUsd).toBeCloseTo(
      Object.values(own.byService).reduce((s, v) => s + v, 0),
      2,
    );
    expect(own.perResource['securecart-carts']).toBeGreaterThan(0);
    expect(own.savingsMonthlyUsd).toBe(Math.max(0, -t.appliedMonthlyCostDelta));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain("db-autopilot's own AWS bill: $");
  });

  it('leaves its recorded state for npm run history -- --from DIR --resource securecart-orders --json', async () => {
    expect(sixHourOut, 'the demo above ran').not.toBe('');
    let out = '';
    let err = '';
    const code = await historyMain(['--from', sixHourOut, '--resource', 'securecart-orders', '--json'], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      now: () => new Date(),
      openTable: () => {
        throw new Error('not used with --from');
      },
    });
    expect(code).toBe(0);
    expect(err).toBe('');
    const printed = JSON.parse(out) as Array<{ resource: string; action: string; at: string }>;
    const report = JSON.parse(readFileSync(join(sixHourOut, 'report.json'), 'utf8')) as DemoReport;
    const expected = report.decisions.filter(
      (d) => d.resource === 'securecart-orders' && (d.action !== 'noop' || d.outcome === 'failed'),
    );
    expect(printed.length).toBeGreaterThan(0);
    expect(printed.length).toBe(expected.length);
    for (const d of printed) expect(d.resource).toBe('securecart-orders');
  });

  it('records the decisions through the DynamoDB state store on dynalite', { timeout: 300_000 }, async () => {
    const out = outDir();
    const { report } = await runDemo({ out, hours: 1, state: 'dynalite', postgres: false, print: () => {} });
    expect(report.stateTable?.store).toBe('dynalite');
    expect(report.stateTable?.calls).toBeGreaterThan(0);
    expect(report.decisions.length).toBeGreaterThan(0);
    // On dynalite the state-table units are the ones DynamoDB reports (ReturnConsumedCapacity).
    expect(report.ownCost?.usage.stateTable.estimated).toBe(false);
    expect(report.ownCost?.usage.stateTable.writeUnits).toBeGreaterThan(0);
  });
});
