import { afterEach, describe, expect, it } from 'vitest';
import { accountProvisioned, OTHER_TABLES_REFRESH_MS } from '../../../shared/discovery/account-capacity.ts';
import { discoverFleet } from '../../../shared/discovery/fleet.ts';
import { SimAccount } from '../../../shared/sim/index.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';

const tagKeys = {
  managed: { key: 'db-autopilot:managed', value: 'true' },
  optOut: { key: 'db-autopilot:opt-out', value: 'true' },
  createdBy: { key: 'db-autopilot:created-by', value: 'db-autopilot' },
};

let uninstall: (() => void) | undefined;
afterEach(() => uninstall?.());

function account(unmanaged: number) {
  const sim = new SimAccount({ start: '2026-11-23T10:00:00Z', historyStart: '2026-11-23T09:00:00Z' });
  sim.dynamodb.addTable({ name: 'orders', read: 100, write: 50, tags: { 'db-autopilot:managed': 'true' } });
  for (let i = 0; i < unmanaged; i++) sim.dynamodb.addTable({ name: `other-${i}`, read: 10, write: 5 });
  sim.dynamodb.addTable({ name: 'on-demand', billingMode: 'PAY_PER_REQUEST' });
  uninstall = sim.install();
  return sim;
}

const managedTables = async () =>
  (
    await discoverFleet({ kinds: ['dynamodb-table'], selector: { identifiers: [], tags: {} }, tagKeys })
  ).tables.map((t) => t.raw);

describe('the account quota without describing every table every run', () => {
  it('discovers and describes only the managed tables', async () => {
    const sim = account(30);
    sim.resetStats();
    const tables = await managedTables();
    expect(tables.map((t) => t.TableName)).toEqual(['orders']);
    expect(sim.stats().calls['dynamodb:ListTables']).toBeUndefined();
    expect(sim.stats().calls['dynamodb:DescribeTable']).toBe(1);
  });

  it('adds the other tables once an hour, from the sum kept in the state table in between', async () => {
    const sim = account(30);
    const store = new MemoryStateStore();
    const managed = await managedTables();
    sim.resetStats();
    const first = await accountProvisioned({ managed, store, now: sim.clock.now() });
    expect(first).toEqual({ read: 100 + 30 * 10, write: 50 + 30 * 5 });
    expect(sim.stats().calls['dynamodb:DescribeTable']).toBe(31); // 30 others + the on-demand one
    sim.resetStats();
    const later = new Date(sim.clock.now().getTime() + OTHER_TABLES_REFRESH_MS - 60_000);
    expect(await accountProvisioned({ managed, store, now: later })).toEqual(first);
    expect(sim.stats().total).toBe(0);
    const nextHour = new Date(sim.clock.now().getTime() + OTHER_TABLES_REFRESH_MS);
    await accountProvisioned({ managed, store, now: nextHour });
    expect(sim.stats().calls['dynamodb:ListTables']).toBe(1);
  });
});
