import type pg from 'pg';

/**
 * Creates tables for the demo in a given `pg` session (the demo's embedded PGlite or a real
 * server): bloated ones (many dead tuples) and one with stale statistics, plus a duplicate
 * index for insights. Idempotent: drops and recreates its own `demo_*` tables. Fixed SQL only.
 */
export interface DemoSeedResult {
  bloated: string[];
  stale: string[];
  healthy: string[];
}

export async function seedDemoTables(
  client: pg.ClientBase,
  options: { rows?: number; bloatedTables?: number } = {},
): Promise<DemoSeedResult> {
  const rows = options.rows ?? 20_000;
  const bloatedCount = options.bloatedTables ?? 2;
  const bloated: string[] = [];
  const stale: string[] = [];
  const healthy: string[] = [];

  for (let i = 1; i <= bloatedCount; i++) {
    const name = `demo_line_items_${i}`;
    await client.query(`DROP TABLE IF EXISTS ${name}`);
    await client.query(
      `CREATE TABLE ${name} (id bigint PRIMARY KEY, order_id bigint NOT NULL, sku text NOT NULL, qty int NOT NULL)`,
    );
    await client.query(
      `INSERT INTO ${name} SELECT g, g / 4, 'sku-' || (g % 500), 1 + g % 5 FROM generate_series(1, $1::int) g`,
      [rows],
    );
    await client.query(`ANALYZE ${name}`);
    // 60% of the rows updated: dead tuples far above autovacuum's 20% trigger.
    await client.query(`UPDATE ${name} SET qty = qty + 1 WHERE id % 5 < 3`);
    bloated.push(`public.${name}`);
  }

  await client.query('DROP TABLE IF EXISTS demo_orders');
  await client.query(
    'CREATE TABLE demo_orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, status text NOT NULL)',
  );
  await client.query(`INSERT INTO demo_orders SELECT g, g % 1000, 'new' FROM generate_series(1, $1::int) g`, [
    rows,
  ]);
  // Never analyzed, then many inserts: statistics stale (n_mod_since_analyze > analyze trigger).
  stale.push('public.demo_orders');
  await client.query('CREATE INDEX IF NOT EXISTS demo_orders_customer ON demo_orders (customer_id)');
  await client.query(
    'CREATE INDEX IF NOT EXISTS demo_orders_customer_status ON demo_orders (customer_id, status)',
  );

  await client.query('DROP TABLE IF EXISTS demo_customers');
  await client.query('CREATE TABLE demo_customers (id bigint PRIMARY KEY, email text NOT NULL)');
  await client.query(
    `INSERT INTO demo_customers SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 1000) g`,
  );
  // Flush this session's insert counts first, or they land after the ANALYZE and look stale.
  await client.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
  await client.query('VACUUM (ANALYZE) demo_customers');
  healthy.push('public.demo_customers');

  // Statistics are flushed lazily (PG15+): make them visible to the catalog reads now.
  await client.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
  return { bloated, stale, healthy };
}
