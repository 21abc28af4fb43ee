import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AdviceSettings,
  candidateIndexes,
  chooseAdvice,
  columnsFromPlan,
  createIndexStatement,
  foldPartitions,
  indexName,
  type PlanNode,
  partitionedIndexStatements,
  slowStatements,
  type TableCatalog,
  writeCost,
} from '../../../shared/postgres/index-advisor.ts';

const settings: AdviceSettings = {
  topStatements: 10,
  minMeanMs: 20,
  minCalls: 100,
  minCostReduction: 0.5,
  maxCandidates: 8,
};

const orders: TableCatalog = {
  schema: 'public',
  relation: 'orders',
  columns: ['id', 'customer_id', 'status', 'created_at'],
  indexes: [['id']],
};
const customers: TableCatalog = {
  schema: 'public',
  relation: 'customers',
  columns: ['id', 'email', 'region'],
  indexes: [['id']],
};

function scan(alias: string, relation: string, filter?: string): PlanNode {
  return {
    'Node Type': 'Seq Scan',
    'Relation Name': relation,
    Schema: 'public',
    Alias: alias,
    'Total Cost': 100,
    ...(filter ? { Filter: filter } : {}),
  };
}

describe('slowStatements', () => {
  it('keeps slow, explainable, single statements, slowest total first', () => {
    const row = (queryid: string, query: string, meanExecMs = 50, calls = 200, totalExecMs = 1000) => ({
      queryid,
      query,
      calls,
      meanExecMs,
      totalExecMs,
    });
    const out = slowStatements(
      [
        row('1', 'SELECT * FROM orders WHERE customer_id = $1', 50, 200, 10_000),
        row('2', 'SELECT * FROM orders WHERE id = $1', 1),
        row('3', 'VACUUM orders'),
        row('4', 'SELECT 1; DROP TABLE orders'),
        row('5', 'UPDATE orders SET status = $1 WHERE customer_id = $2', 80, 500, 40_000),
        row('6', 'SELECT * FROM orders', 50, 10),
      ],
      settings,
    );
    expect(out.map((s) => s.queryid)).toEqual(['5', '1']);
  });
});

describe('columnsFromPlan', () => {
  it('reads equality, range and sort columns of a filtered scan, and join columns of both sides', () => {
    const plan: PlanNode = {
      'Node Type': 'Sort',
      'Total Cost': 500,
      'Sort Key': ['o.created_at DESC'],
      Plans: [
        {
          'Node Type': 'Hash Join',
          'Total Cost': 400,
          'Hash Cond': '(o.customer_id = c.id)',
          Plans: [
            scan('o', 'orders', '(((o.status)::text = $1) AND (o.created_at >= $2))'),
            scan('c', 'customers', '(c.region = $3)'),
          ],
        },
      ],
    };
    const uses = columnsFromPlan(plan);
    expect(uses).toEqual([
      {
        schema: 'public',
        relation: 'orders',
        equality: ['status'],
        range: ['created_at'],
        join: ['customer_id'],
        sort: [{ column: 'created_at', desc: true }],
      },
      { schema: 'public', relation: 'customers', equality: ['region'], range: [], join: ['id'], sort: [] },
    ]);
  });

  it('reads a comparison written with the parameter first, and quoted identifiers', () => {
    const uses = columnsFromPlan(scan('Order Lines', 'Order Lines', '($1 < "Order Lines"."Qty")'));
    expect(uses[0]).toMatchObject({ relation: 'Order Lines', range: ['Qty'] });
  });
});

describe('candidateIndexes', () => {
  it('builds candidates only on catalog columns, never one an existing index already leads with', () => {
    const uses = [
      {
        schema: 'public',
        relation: 'orders',
        equality: ['customer_id', 'ghost'],
        range: ['created_at'],
        join: ['id'],
        sort: [],
      },
    ];
    const out = candidateIndexes(uses, [orders], 8).map((c) => c.columns.map((x) => x.column).join(','));
    // "ghost" is not a column of the table: no candidate names it; (id) is the primary key.
    expect(out.every((c) => !c.includes('ghost'))).toBe(true);
    expect(out).not.toContain('id');
    expect(out).toEqual([]);
  });

  it('proposes equality, equality + range, equality + sort and join candidates', () => {
    const uses = [
      {
        schema: 'public',
        relation: 'orders',
        equality: ['customer_id'],
        range: ['created_at'],
        join: ['status'],
        sort: [{ column: 'created_at', desc: true }],
      },
    ];
    const out = candidateIndexes(uses, [orders], 8).map((c) =>
      c.columns.map((x) => `${x.column}${x.desc ? ' desc' : ''}`).join(','),
    );
    expect(out).toEqual([
      'customer_id',
      'customer_id,created_at',
      'customer_id,created_at desc',
      'status',
      'customer_id,status',
    ]);
  });

  it('never proposes more than the cap, nor a candidate on a relation missing from the catalog (property)', () => {
    const col = fc.constantFrom('id', 'customer_id', 'status', 'created_at', 'nope');
    fc.assert(
      fc.property(
        fc.array(col, { maxLength: 4 }),
        fc.array(col, { maxLength: 3 }),
        fc.array(col, { maxLength: 3 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom('orders', 'missing'),
        (equality, range, join, cap, relation) => {
          const out = candidateIndexes(
            [{ schema: 'public', relation, equality, range, join, sort: [] }],
            [orders, customers],
            cap,
          );
          expect(out.length).toBeLessThanOrEqual(cap);
          for (const c of out) {
            expect(c.relation).toBe('orders');
            expect(c.columns.every((x) => orders.columns.includes(x.column))).toBe(true);
            expect(new Set(c.columns.map((x) => x.column)).size).toBe(c.columns.length);
          }
        },
      ),
    );
  });
});

describe('chooseAdvice', () => {
  const candidate = (col: string) => ({
    schema: 'public',
    relation: 'orders',
    columns: [{ column: col, desc: false }],
  });

  it('advises the cheapest candidate the planner used when the cost falls by the margin', () => {
    const out = chooseAdvice(
      1000,
      [
        { candidate: candidate('status'), cost: 100, used: false, estimatedBytes: 1 },
        { candidate: candidate('customer_id'), cost: 120, used: true, estimatedBytes: 2_000_000 },
        { candidate: candidate('created_at'), cost: 600, used: true, estimatedBytes: 1 },
      ],
      settings,
    );
    expect(out).toMatchObject({ kind: 'advice', costAfter: 120, gain: 0.88, estimatedBytes: 2_000_000 });
  });

  it('gives no advice when the best cut is under the margin', () => {
    const out = chooseAdvice(
      1000,
      [{ candidate: candidate('status'), cost: 700, used: true, estimatedBytes: 1 }],
      settings,
    );
    expect(out).toMatchObject({ kind: 'none', bestGain: 0.3 });
    expect(out.kind === 'none' && out.reason).toContain('30%');
  });

  it('never advises an index the planner did not use, whatever the costs (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e6, noNaN: true }),
        fc.array(fc.record({ cost: fc.double({ min: 0, max: 1e6, noNaN: true }), used: fc.boolean() }), {
          maxLength: 6,
        }),
        (before, trials) => {
          const out = chooseAdvice(
            before,
            trials.map((t, i) => ({ ...t, candidate: candidate(`c${i}`), estimatedBytes: 1 })),
            settings,
          );
          if (out.kind === 'advice') {
            const chosen = trials[Number(out.candidate.columns[0]?.column.slice(1))];
            expect(chosen?.used).toBe(true);
            expect(out.gain).toBeGreaterThanOrEqual(settings.minCostReduction);
            expect(out.costAfter).toBeLessThanOrEqual(before * (1 - settings.minCostReduction) + 1e-9);
          }
        },
      ),
    );
  });
});

describe('createIndexStatement', () => {
  it('writes CREATE INDEX CONCURRENTLY with every identifier quoted, and a name within 63 bytes', () => {
    const c = {
      schema: 'sales',
      relation: 'Order "Lines"',
      columns: [
        { column: 'customer_id', desc: false },
        { column: 'created_at', desc: true },
      ],
    };
    expect(createIndexStatement(c)).toBe(
      'CREATE INDEX CONCURRENTLY "order_lines_customer_id_created_at_idx" ON "sales"."Order ""Lines""" ("customer_id", "created_at" DESC)',
    );
    const long = { ...c, relation: 'x'.repeat(60) };
    expect(indexName(long).length).toBeLessThanOrEqual(63);
  });
});

describe('foldPartitions', () => {
  const use = (relation: string, equality: string[]) => ({
    schema: 'public',
    relation,
    equality,
    range: [],
    join: [],
    sort: [],
  });
  const part = (relation: string, indexes: string[][]) => ({
    schema: 'public',
    relation,
    columns: ['id', 'customer_id', 'status'],
    indexes,
    root: { schema: 'public', relation: 'orders' },
  });

  it('folds the partitions a plan scans into their partitioned table, keeping only the indexes every partition has', () => {
    const f = foldPartitions(
      [use('orders_1', ['customer_id']), use('orders_2', ['customer_id', 'status']), use('carts', ['id'])],
      [
        part('orders_1', [['id'], ['customer_id']]),
        part('orders_2', [['id']]),
        { schema: 'public', relation: 'carts', columns: ['id'], indexes: [] },
      ],
    );
    expect(f.uses.map((u) => [u.relation, u.equality])).toEqual([
      ['orders', ['customer_id', 'status']],
      ['carts', ['id']],
    ]);
    expect(f.catalog.find((t) => t.relation === 'orders')?.indexes).toEqual([['id']]);
    expect(f.partitions.get('public.orders')?.map((p) => p.relation)).toEqual(['orders_1', 'orders_2']);
    const candidates = candidateIndexes(f.uses, f.catalog, 8);
    expect(candidates.map((c) => `${c.relation}(${c.columns.map((x) => x.column).join(',')})`)).toContain(
      'orders(customer_id,status)',
    );
  });

  it('writes the ON ONLY, per-partition CONCURRENTLY and ATTACH statements for a partitioned table', () => {
    expect(
      partitionedIndexStatements({
        schema: 'public',
        relation: 'orders',
        columns: [{ column: 'customer_id', desc: false }],
        partitions: [{ schema: 'public', relation: 'orders_1' }],
      }),
    ).toEqual([
      'CREATE INDEX "orders_customer_id_idx" ON ONLY "public"."orders" ("customer_id")',
      'CREATE INDEX CONCURRENTLY "orders_1_customer_id_idx" ON "public"."orders_1" ("customer_id")',
      'ALTER INDEX "public"."orders_customer_id_idx" ATTACH PARTITION "public"."orders_1_customer_id_idx"',
    ]);
  });
});

describe('writeCost', () => {
  it('counts inserts and non-HOT updates per day', () => {
    expect(
      writeCost({ inserts: 20_000, nonHotUpdates: 10_000, secondsObserved: 2 * 86_400, existingIndexes: 3 }),
    ).toMatchObject({ indexWritesPerDay: 15_000, existingIndexes: 3 });
  });
});
