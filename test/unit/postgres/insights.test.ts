import { describe, expect, it } from 'vitest';
import {
  analyzeInsights,
  connectionChurnPerHour,
  dedupeFindings,
  defaultInsightsSettings,
  duplicateOf,
  xidRate,
} from '../../../shared/postgres/insights/findings.ts';
import type { IndexRow, InsightsObservation } from '../../../shared/postgres/insights/types.ts';

const now = new Date('2026-11-23T12:00:00Z');

function index(over: Partial<IndexRow>): IndexRow {
  return {
    indexOid: 1,
    index: 'ix',
    table: 'orders',
    method: 'btree',
    unique: false,
    primary: false,
    valid: true,
    columns: [2],
    opclasses: [3124],
    predicate: null,
    expressions: null,
    backsConstraint: false,
    sizeBytes: 50 * 1024 * 1024,
    idxScan: 0,
    definition: 'CREATE INDEX ix ON orders USING btree (customer_id)',
    ...over,
  };
}

function observation(over: Partial<InsightsObservation> = {}): InsightsObservation {
  return {
    database: 'orders',
    serverVersionNum: 160002,
    observedAt: now.toISOString(),
    statements: { available: true, rows: [], byMean: [] },
    indexes: [],
    replicaIdxScans: [],
    unreachableReplicas: [],
    statsAgeSeconds: 30 * 86_400,
    tables: [],
    sessions: [],
    slots: [],
    prepared: [],
    databaseAges: [{ datname: 'orders', xidAge: 10_000_000, mxidAge: 0 }],
    freezeMaxAge: 200_000_000,
    currentXid: 5_000_000,
    connections: { maxConnections: 100, current: 10 },
    ...over,
  };
}

const kinds = (o: InsightsObservation) =>
  analyzeInsights(o, defaultInsightsSettings, [], now).map((f) => `${f.kind}:${f.key}`);

describe('index findings', () => {
  it('finds a column prefix of another valid index with the same method and predicate', () => {
    const a = index({ indexOid: 1, index: 'a', columns: [2] });
    const b = index({ indexOid: 2, index: 'b', columns: [2, 3], opclasses: [3124, 3126] });
    expect(duplicateOf(a, [a, b])?.index).toBe('b');
    expect(duplicateOf(b, [a, b])).toBeUndefined();
    expect(duplicateOf(a, [a, { ...b, method: 'hash' }])).toBeUndefined();
    expect(duplicateOf(a, [a, { ...b, predicate: '(status = 1)' }])).toBeUndefined();
    expect(duplicateOf(a, [a, { ...b, valid: false }])).toBeUndefined();
    expect(duplicateOf({ ...a, unique: true }, [a, b])).toBeUndefined();
  });

  it('reports an unused index only if unused on every reachable node since a stats reset long enough ago', () => {
    const ix = index({ index: 'orders_note' });
    expect(kinds(observation({ indexes: [ix] }))).toContain('unused-index:orders_note');
    expect(kinds(observation({ indexes: [ix], statsAgeSeconds: 86_400 }))).not.toContain(
      'unused-index:orders_note',
    );
    expect(
      kinds(observation({ indexes: [ix], replicaIdxScans: [{ replica: 'r1', scans: { orders_note: 12 } }] })),
    ).not.toContain('unused-index:orders_note');
    expect(kinds(observation({ indexes: [{ ...ix, sizeBytes: 1024 }] }))).not.toContain(
      'unused-index:orders_note',
    );
    expect(kinds(observation({ indexes: [{ ...ix, unique: true }] }))).not.toContain(
      'unused-index:orders_note',
    );
  });

  it('gives the DROP INDEX CONCURRENTLY statement for an invalid index', () => {
    const f = analyzeInsights(
      observation({ indexes: [index({ index: 'broken', valid: false })] }),
      defaultInsightsSettings,
      [],
      now,
    );
    expect(f.find((x) => x.kind === 'invalid-index')?.fix).toBe('DROP INDEX CONCURRENTLY broken;');
  });
});

describe('invalid partitioned indexes and indexes being built', () => {
  it("tells how to make an invalid partitioned index valid (attach the partitions' indexes), never DROP INDEX CONCURRENTLY, which refuses one", () => {
    const f = analyzeInsights(
      observation({ indexes: [index({ index: 'orders_placed_idx', valid: false, partitioned: true })] }),
      defaultInsightsSettings,
      [],
      now,
    ).find((x) => x.kind === 'invalid-index');
    expect(f?.title).toMatch(/not every partition has its index attached/);
    expect(f?.fix).toMatch(/^ALTER INDEX orders_placed_idx ATTACH PARTITION/);
  });

  it('does not call an index being built right now (CREATE INDEX CONCURRENTLY in progress) a failed one', () => {
    const f = analyzeInsights(
      observation({ indexes: [index({ index: 'orders_new_idx', valid: false, building: true })] }),
      defaultInsightsSettings,
      [],
      now,
    );
    expect(f.filter((x) => x.kind === 'invalid-index')).toEqual([]);
  });
});

describe('wraparound and connections', () => {
  it('computes the XID rate from recorded samples', () => {
    expect(
      xidRate([{ at: '2026-11-23T11:00:00Z', xid: 1_000 }], { at: now.toISOString(), xid: 3_601_000 }),
    ).toBe(1_000);
    expect(xidRate([], { at: now.toISOString(), xid: 5 })).toBeUndefined();
  });

  it('warns with the days left at the current XID rate', () => {
    const o = observation({
      databaseAges: [{ datname: 'orders', xidAge: 600_000_000, mxidAge: 0 }],
      currentXid: 600_000_000 + 86_400 * 1000,
    });
    const f = analyzeInsights(
      o,
      defaultInsightsSettings,
      [{ at: '2026-11-22T12:00:00Z', xid: 600_000_000 }],
      now,
    );
    const w = f.find((x) => x.kind === 'wraparound-risk');
    expect(w?.severity).toBe('warning');
    const days = w?.evidence.find((e) => e.metric === 'days_to_limit')?.value ?? 0;
    expect(days).toBeCloseTo((2 ** 31 - 3_000_000 - 600_000_000) / 1000 / 86_400, 3);
  });

  it('recommends RDS Proxy past the connection threshold, with the reason', () => {
    const o = observation({
      connections: { maxConnections: 100, current: 80, dbInstanceIdentifier: 'orders-db' },
    });
    const f = analyzeInsights(o, defaultInsightsSettings, [], now).find((x) => x.kind === 'connections');
    expect(f?.action).toBe('recommend');
    expect(f?.detail).toMatch(/80% of max_connections 100/);
  });

  it('measures churn as movement per hour relative to the mean', () => {
    expect(connectionChurnPerHour([10, 10, 10, 10], 300)).toBe(0);
    expect(connectionChurnPerHour([10, 30, 10, 30], 300)).toBeCloseTo(60 / 20 / 0.25);
  });

  it('says how to enable pg_stat_statements on RDS when it is missing', () => {
    const f = analyzeInsights(
      observation({ statements: { available: false, reason: 'not installed' } }),
      defaultInsightsSettings,
      [],
      now,
    );
    expect(f[0]).toMatchObject({
      kind: 'extension-missing',
      fix: 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;',
    });
    expect(f[0]?.detail).toMatch(/parameter group/);
  });
});

describe('dedupeFindings', () => {
  it('marks findings new, then open, then changed when their signature moves, and resolved when gone', () => {
    const o = observation({ indexes: [index({ index: 'orders_note' })] });
    const first = dedupeFindings(analyzeInsights(o, defaultInsightsSettings, [], now), undefined, now, 100);
    expect(first.current.map((c) => c.status)).toEqual(['new']);
    const second = dedupeFindings(
      analyzeInsights(o, defaultInsightsSettings, [], now),
      first.state,
      now,
      200,
    );
    expect(second.current.map((c) => c.status)).toEqual(['open']);
    expect(second.current[0]?.fingerprint).toBe(first.current[0]?.fingerprint);
    const bigger = observation({
      indexes: [index({ index: 'orders_note', sizeBytes: 5 * 1024 * 1024 * 1024 })],
    });
    const third = dedupeFindings(
      analyzeInsights(bigger, defaultInsightsSettings, [], now),
      second.state,
      now,
    );
    expect(third.current.map((c) => c.status)).toEqual(['changed']);
    const fourth = dedupeFindings([], third.state, now);
    expect(fourth.resolved.map((r) => r.kind)).toEqual(['unused-index']);
    expect(second.state.xidSamples.map((s) => s.xid)).toEqual([100, 200]);
  });
});
