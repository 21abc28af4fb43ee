import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { traceFromCloudWatch } from '../../../shared/backtest/cloudwatch.ts';
import { main, parseCliArgs } from '../../../shared/cli/backtest.ts';
import { ValidationError } from '../../../shared/core/errors.ts';

const TRACES = join(import.meta.dirname, '..', '..', 'traces');
const NOW = new Date('2026-03-02T12:00:30Z');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (t) => (out += `${t}\n`),
    err: (t) => (err += `${t}\n`),
    now: () => NOW,
  });
  return { code, out, err };
}

describe('backtest CLI arguments', () => {
  it('requires --kind and names the allowed kinds', () => {
    expect(() => parseCliArgs(['--trace', 'x.csv'])).toThrow(/--kind.*dynamodb, iops, replicas/);
  });

  it('refuses an unknown kind, both or neither of --trace / --from-cloudwatch, a chart without .svg', () => {
    expect(() => parseCliArgs(['--kind', 'redis', '--trace', 'x'])).toThrow(ValidationError);
    expect(() => parseCliArgs(['--kind', 'redis', '--trace', 'x'])).toThrow(/unknown kind "redis"/);
    expect(() => parseCliArgs(['--kind', 'iops'])).toThrow(/exactly one of --trace/);
    expect(() => parseCliArgs(['--kind', 'iops', '--trace', 'x', '--from-cloudwatch', 'db'])).toThrow(
      /exactly one/,
    );
    expect(() => parseCliArgs(['--kind', 'iops', '--trace', 'x', '--chart', 'out.png'])).toThrow(/\.svg/);
    expect(() => parseCliArgs(['--kind', 'iops', '--trace', 'x', '--bogus'])).toThrow(/bogus/);
  });

  it('exits 2 with the file and line of a bad trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bt-'));
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'minute,iops_demand\n0,100\n1,oops\n');
    const r = await run(['--kind', 'iops', '--trace', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}:3`);
    expect(r.out).toBe('');
  });
});

describe('backtest CLI output', () => {
  it('takes targets, bounds and prices from --config, and refuses a bad config naming the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bt-'));
    const trace = join(TRACES, 'dynamodb', 'sudden-drop.csv');
    const json = async (args: string[]) =>
      JSON.parse((await run([...args, '--json'])).out) as { policies: Record<string, { cost: number }> };
    const base = await json(['--kind', 'dynamodb', '--trace', trace]);
    const cfg = join(dir, 'c.yml');
    writeFileSync(
      cfg,
      'version: 1\ntuners:\n  dynamodb:\n    targetUtilization: 0.35\nprices:\n  us-east-1:\n    dynamodb.rcuHour: 0.0003\n',
    );
    const tuned = await json(['--kind', 'dynamodb', '--trace', trace, '--config', cfg]);
    // Lower target (more headroom) and dearer reads: static peak costs more.
    expect(tuned.policies['static-peak']?.cost).toBeGreaterThan(
      2 * (base.policies['static-peak']?.cost ?? 0),
    );
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'version: 1\ntuners:\n  dynamodb:\n    targetUtilization: 5\n');
    const r = await run(['--kind', 'dynamodb', '--trace', trace, '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:4`);
  });

  it('backtests an unseen generated trace with --generate SHAPE --seed N', async () => {
    const r = await run([
      '--kind',
      'replicas',
      '--generate',
      'sawtooth-3h',
      '--seed',
      '42',
      '--days',
      '0.5',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { trace: string; minutes: number };
    expect(json).toMatchObject({ trace: 'generated:replicas/sawtooth-3h#42', minutes: 720 });
  });

  it('names the shapes when --generate gets an unknown one', () => {
    expect(() => parseCliArgs(['--kind', 'iops', '--generate', 'weekly'])).toThrow(/diurnal, flash-sale/);
    expect(() => parseCliArgs(['--kind', 'iops', '--suite', '--seeds', '1,x'])).toThrow(/--seeds/);
  });

  it('prints JSON with unservedPct, saturationMinutes, cost and changes per policy (iops: no AWS baseline)', async () => {
    const r = await run(['--kind', 'iops', '--trace', join(TRACES, 'iops', 'sawtooth-3h.csv'), '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { policies: Record<string, Record<string, unknown>> };
    expect(Object.keys(json.policies).sort()).toEqual([
      'db-autopilot',
      'oracle',
      'static-exact',
      'static-peak',
    ]);
    for (const name of ['oracle', 'static-peak', 'static-exact']) {
      expect(json.policies[name]).toMatchObject({
        unservedPct: expect.any(Number),
        saturationMinutes: expect.any(Number),
        cost: expect.any(Number),
        changes: expect.any(Number),
      });
    }
    const autopilot = json.policies['db-autopilot'] ?? {};
    if (autopilot.available === false) expect(autopilot.reason).toEqual(expect.any(String));
    else expect(autopilot.cost).toEqual(expect.any(Number));
  });

  it('prints a side-by-side table and writes an SVG chart with a legend and axes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bt-'));
    const chart = join(dir, 'chart.svg');
    const r = await run([
      '--kind',
      'replicas',
      '--trace',
      join(TRACES, 'replicas', 'flash-sale.csv'),
      '--chart',
      chart,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/policy\s+unserved %\s+saturation min\s+cost \$\s+changes/);
    expect(r.out).toMatch(/aws-target-tracking\s+\d/);
    const svg = readFileSync(chart, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('oracle capacity');
    expect(svg).toContain('aws-target-tracking capacity');
    expect(svg).toContain('time since trace start');
    expect(svg).toContain('reader CPU %');
  });
});

describe('--from-cloudwatch', () => {
  const cw = mockClient(CloudWatchClient);
  afterEach(() => cw.reset());

  /** Answers every MetricStat query with a constant per minute, in two NextToken pages. */
  function fakeCloudWatch(valueFor: (metricName: string) => number): void {
    cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      const start = (input.StartTime as Date).getTime();
      const end = (input.EndTime as Date).getTime();
      const minutes = Math.round((end - start) / 60_000);
      const half = Math.floor(minutes / 2);
      const [from, to] = input.NextToken === 'page-2' ? [half, minutes] : [0, half];
      const results: MetricDataResult[] = (input.MetricDataQueries ?? [])
        .filter((q) => q.ReturnData !== false)
        .map((q) => {
          const name = q.MetricStat?.Metric?.MetricName ?? 'expression';
          const ts: Date[] = [];
          const vs: number[] = [];
          for (let i = from; i < to; i++) {
            ts.push(new Date(start + i * 60_000));
            vs.push(valueFor(name));
          }
          return {
            Id: q.Id,
            Timestamps: ts,
            Values: vs,
            StatusCode: input.NextToken ? 'Complete' : 'PartialData',
          };
        });
      return Promise.resolve({
        MetricDataResults: results,
        NextToken: input.NextToken ? undefined : 'page-2',
      });
    });
  }

  it('turns 14 days of consumed capacity into a per-second DynamoDB trace, following NextToken', async () => {
    fakeCloudWatch((name) =>
      name === 'ConsumedReadCapacityUnits' ? 600 : name === 'ConsumedWriteCapacityUnits' ? 120 : 0,
    );
    const { trace, calls } = await traceFromCloudWatch({ kind: 'dynamodb', resource: 'orders', now: NOW });
    if (trace.kind !== 'dynamodb') throw new Error('kind');
    expect(trace.read.length).toBe(14 * 1440);
    expect(new Set(trace.read)).toEqual(new Set([10]));
    expect(new Set(trace.write)).toEqual(new Set([2]));
    expect(calls).toBe(2);
    expect(cw).toHaveReceivedCommandWith(GetMetricDataCommand, { NextToken: 'page-2' });
  });

  it('reads total reader CPU for an Aurora cluster from the READER role', async () => {
    fakeCloudWatch(() => 130);
    const { trace } = await traceFromCloudWatch({
      kind: 'replicas',
      resource: 'shop-aurora',
      now: NOW,
      days: 1,
    });
    if (trace.kind !== 'replicas') throw new Error('kind');
    expect(trace.cpu.length).toBe(1440);
    const input = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    const dims = input?.MetricDataQueries?.[0]?.MetricStat?.Metric?.Dimensions ?? [];
    expect(dims).toEqual(
      expect.arrayContaining([
        { Name: 'DBClusterIdentifier', Value: 'shop-aurora' },
        { Name: 'Role', Value: 'READER' },
      ]),
    );
  });

  it('backtests a resource pulled from CloudWatch from the CLI', async () => {
    fakeCloudWatch((name) => (name === 'ConsumedReadCapacityUnits' ? 6000 : 600));
    const r = await run(['--kind', 'dynamodb', '--from-cloudwatch', 'orders', '--days', '1', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { minutes: number; policies: Record<string, unknown> };
    expect(json.minutes).toBe(1440);
    expect(Object.keys(json.policies)).toContain('aws-target-tracking');
  });

  it('refuses a resource id that is not an identifier, before calling AWS', async () => {
    const r = await run(['--kind', 'iops', '--from-cloudwatch', 'db;rm -rf']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--from-cloudwatch');
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });
});

describe('backtest CLI --sensitivity', () => {
  it('prints each policy at publication delay 0, 2, 5 and signal strength x0.3, x1, x3 (--json), AWS losing more with a longer delay', async () => {
    const r = await run([
      '--kind',
      'dynamodb',
      '--generate',
      'recurring-spikes',
      '--days',
      '1',
      '--sensitivity',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as {
      settings: Array<{
        name: string;
        publicationDelayMinutes: number;
        signalStrength: number;
        policies: Record<
          string,
          { unservedPct: number; saturationMinutes: number; cost: number; changes: number }
        >;
      }>;
    };
    expect(json.settings.map((s) => [s.publicationDelayMinutes, s.signalStrength])).toEqual([
      [0, 1],
      [2, 1],
      [5, 1],
      [2, 0.3],
      [2, 3],
    ]);
    for (const s of json.settings) {
      for (const name of ['db-autopilot', 'aws-target-tracking', 'static-peak', 'static-exact', 'oracle']) {
        expect(Object.keys(s.policies[name] ?? {}).sort(), `${s.name} ${name}`).toEqual([
          'changes',
          'cost',
          'saturationMinutes',
          'unservedPct',
        ]);
      }
    }
    const aws = json.settings.map((s) => s.policies['aws-target-tracking']?.unservedPct ?? Number.NaN);
    expect(aws[2]).toBeGreaterThan(aws[0] ?? Number.NaN);
    // Policies that know the trace do not read the published series: the world does not move them.
    expect(new Set(json.settings.map((s) => s.policies.oracle?.cost)).size).toBe(1);
  });

  it('prints a table and refuses --chart with --sensitivity', async () => {
    expect(() => parseCliArgs(['--kind', 'iops', '--suite', '--sensitivity', '--chart', 'x.svg'])).toThrow(
      /sensitivity/,
    );
    const r = await run(['--kind', 'replicas', '--generate', 'diurnal', '--days', '0.3', '--sensitivity']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('replicas sensitivity');
    expect(r.out).toContain('delay 5 min');
    expect(r.out).toContain('signal x0.3');
  });
});
