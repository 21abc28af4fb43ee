import { SimAccount } from '../../shared/sim/engine.ts';
import { addProxy } from '../../shared/sim/services/rds-proxy.ts';
import { constant } from '../../shared/sim/workload.ts';

/** When the starved proxies' account starts (with three hours of history before it). */
export const PROXY_START = Date.parse('2026-11-20T18:00:00Z');

/**
 * An account (not installed) with two PostgreSQL instances, `orders` and `billing`, each behind
 * an RDS Proxy (`orders-proxy`, `billing-proxy`, carrying the given tags) whose clients wait for a
 * pooled connection: 1,200 clients, 260 connections' demand, a pool of 50 % of 400 connections.
 */
export function starvedProxies(
  tags: { orders?: Record<string, string>; billing?: Record<string, string> } = {},
): SimAccount {
  const sim = new SimAccount({
    start: new Date(PROXY_START).toISOString(),
    historyStart: PROXY_START - 3 * 3_600_000,
  });
  for (const id of ['orders', 'billing']) {
    sim.rds.addInstance({
      id,
      engine: 'postgres',
      instanceClass: 'db.r6g.large',
      storageType: 'gp3',
      allocatedStorage: 100,
    });
  }
  const starved = {
    engineFamily: 'POSTGRESQL' as const,
    maxConnections: 400,
    pool: { MaxConnectionsPercent: 50, MaxIdleConnectionsPercent: 50, ConnectionBorrowTimeout: 120 },
    workload: { demand: constant(260), clients: constant(1200) },
  };
  addProxy(sim, { ...starved, name: 'orders-proxy', targetInstanceId: 'orders', tags: tags.orders });
  addProxy(sim, { ...starved, name: 'billing-proxy', targetInstanceId: 'billing', tags: tags.billing });
  return sim;
}
