import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../shared/core/model.ts';
import {
  mergeWithStatements,
  normalizeStatement,
  type PiKey,
  type PiObservation,
  parseLoad,
  parseTopSql,
  piFindings,
  piOffFinding,
} from '../../../shared/insights/performance-insights.ts';

const keys: PiKey[] = [
  {
    Dimensions: {
      'db.sql_tokenized.statement': "SELECT * FROM orders WHERE customer_id = ? AND note = 'secret-token'",
      'db.sql_tokenized.db_id': '-4242',
      'db.sql_tokenized.id': 'AKIAX',
    },
    Total: 1.2,
    Partitions: [0.3, 0.9],
  },
  { Dimensions: { 'db.sql_tokenized.statement': 'SELECT 1' }, Total: 0.05, Partitions: [0.05, 0] },
];
const partitionKeys = [
  { Dimensions: { 'db.wait_event.name': 'CPU' } },
  { Dimensions: { 'db.wait_event.name': 'IO:DataFileRead' } },
];

function observation(): PiObservation {
  return {
    instanceId: 'orders',
    engine: 'postgres',
    vcpus: 4,
    window: { start: '2026-11-19T00:00:00.000Z', end: '2026-11-20T00:00:00.000Z' },
    totalLoad: 2,
    peakLoad: 5,
    topSql: parseTopSql(keys, partitionKeys),
  };
}

describe('Performance Insights findings', () => {
  it('parses top SQL with its waits, largest first, and removes literals', () => {
    const top = parseTopSql(keys, partitionKeys);
    expect(top[0]).toMatchObject({ dbId: '-4242', load: 1.2 });
    expect(top[0]?.waits.map((w) => w.event)).toEqual(['IO:DataFileRead', 'CPU']);
    expect(top[0]?.statement).not.toContain('secret-token');
    expect(normalizeStatement("SET app.key = 'abc' ; x = 42 $$body$$")).toBe('SET app.key = ? ; x = ? ?');
  });

  it('reads the mean and peak DB load', () => {
    expect(parseLoad([{ Value: 1 }, { Value: 3 }, {}])).toEqual({ mean: 2, peak: 3 });
    expect(parseLoad([])).toEqual({ mean: 0, peak: 0 });
  });

  it('names Performance Insights, the share of load and the waits; skips small statements', () => {
    const f = piFindings(observation());
    const top = f.find((x) => x.key === '-4242');
    expect(top?.reason).toMatch(
      /^Performance Insights: .* accounts for 60% of the DB load of orders .*IO:DataFileRead 75%/,
    );
    expect(f.some((x) => x.reason.includes('SELECT 1'))).toBe(false);
    expect(f.find((x) => x.key === 'load-above-vcpus')?.reason).toMatch(/above its 4 vCPUs/);
  });

  it('says how to turn Performance Insights on', () => {
    expect(piOffFinding('mysql-1', 'mysql').reason).toMatch(
      /Performance Insights is off .*--enable-performance-insights/,
    );
  });

  it('merges a statement found in both sources into the pg_stat_statements finding', () => {
    const pg = {
      id: 'd1',
      resource: 'orders:query:-4242',
      reason: 'slow query: 120 ms on average over 500 calls. SELECT * FROM orders WHERE customer_id = $1',
      to: { kind: 'slow-query' },
      evidence: [],
    } as unknown as Decision;
    const other = {
      ...pg,
      id: 'd2',
      resource: 'orders:public.idx',
      to: { kind: 'unused-index' },
    } as unknown as Decision;
    const { decisions, unmatched } = mergeWithStatements([pg, other], piFindings(observation()));
    expect(decisions[0]?.reason).toMatch(/120 ms on average .* Performance Insights: it accounts for 60%/);
    expect(decisions[0]?.evidence).toHaveLength(1);
    expect(decisions[1]?.reason).toBe(other.reason);
    expect(unmatched.map((u) => u.key)).toEqual(['load-above-vcpus']);
  });

  it('matches by normalized text when PI has no engine id', () => {
    const pg = {
      id: 'd1',
      resource: 'orders:query:9',
      reason: 'slow. SELECT * FROM orders WHERE customer_id = $1 AND note = $2',
      to: { kind: 'slow-query' },
      evidence: [],
    } as unknown as Decision;
    const o = observation();
    o.topSql = o.topSql.map(({ dbId: _d, ...rest }) => rest);
    const { unmatched } = mergeWithStatements([pg], piFindings(o));
    expect(unmatched.some((u) => u.statement !== undefined)).toBe(false);
  });
});
