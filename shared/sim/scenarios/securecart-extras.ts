import type { SimAccount } from '../engine.ts';
import { addPiProfile } from '../services/pi.ts';
import { addProxy } from '../services/rds-proxy.ts';
import { constant, diurnal, noisy } from '../workload.ts';

/**
 * SecureCart's RDS Proxy, Performance Insights data and a forgotten staging database (issue 25):
 *
 * - securecart-orders-proxy: the checkout service's RDS Proxy in front of securecart-orders
 *   (max_connections 400 in its parameter group); MaxConnectionsPercent 50 lets it open 200, while
 *   the evening peak wants about 230 connections, so clients wait for a pooled connection. A third
 *   of the borrowed connections are pinned (the ORM sets session variables).
 * - Performance Insights on securecart-mysql (turned on): two statements carry most of the DB load.
 * - securecart-staging: a PostgreSQL instance nobody has connected to for the whole history.
 */
export function addSecureCartExtras(sim: SimAccount): void {
  addProxy(sim, {
    name: 'securecart-orders-proxy',
    engineFamily: 'POSTGRESQL',
    targetInstanceId: 'securecart-orders',
    maxConnections: 400,
    pool: { MaxConnectionsPercent: 50, MaxIdleConnectionsPercent: 50, ConnectionBorrowTimeout: 120 },
    workload: {
      demand: noisy(diurnal({ base: 40, peak: 230, peakHourUtc: 19, widthHours: 2 }), 0.05, 'orders-proxy'),
      clients: diurnal({ base: 300, peak: 1400, peakHourUtc: 19, widthHours: 2 }),
      pinnedFraction: 0.3,
    },
  });
  // Performance Insights is on for the MySQL database (DescribeDBInstances PerformanceInsightsEnabled).
  const mysql = sim.rds.get('securecart-mysql');
  if (mysql) mysql.settings.performanceInsights = true;
  addPiProfile(sim, 'securecart-mysql', {
    load: diurnal({ base: 0.4, peak: 2.6, peakHourUtc: 19 }),
    statements: [
      {
        statement: 'SELECT * FROM order_items WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?',
        share: 0.46,
        waits: { CPU: 0.35, 'io/table/sql/handler': 0.55, 'synch/mutex/innodb/buf_pool_mutex': 0.1 },
      },
      {
        statement: 'UPDATE carts SET updated_at = ? , total = ? WHERE cart_id = ?',
        share: 0.21,
        waits: {
          CPU: 0.2,
          'io/aurora_redo_log_flush': 0.0,
          'io/file/innodb/innodb_log_file': 0.6,
          'synch/cond/innodb/row_lock_wait': 0.2,
        },
      },
      { statement: 'SELECT ? FROM dual', share: 0.02, waits: { CPU: 1 } },
    ],
  });
  sim.rds.addInstance({
    id: 'securecart-staging',
    engine: 'postgres',
    engineVersion: '16.4',
    instanceClass: 'db.m6g.large',
    storageType: 'gp3',
    allocatedStorage: 100,
    tags: { app: 'securecart', env: 'staging' },
    workload: { cpu: constant(2), connections: constant(0), iops: constant(3) },
  });
}
