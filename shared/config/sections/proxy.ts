import { z } from 'zod';
import { tunerBase } from '../common.ts';

/**
 * RDS Proxy pool tuner (issue 25): the target group's ConnectionPoolConfig, within the
 * database's own connection headroom. The AWS ranges (MaxConnectionsPercent 1-100,
 * MaxIdleConnectionsPercent 0-MaxConnectionsPercent, ConnectionBorrowTimeout 0-3600 s) are in
 * shared/policies/proxy-pool.ts; these are the policy's thresholds.
 */
export const proxySection = z
  .object({
    ...tunerBase,
    /** Window of metrics a decision reads (60 s periods). */
    lookbackMinutes: z.number().int().min(15).max(1440).default(60),
    /** DatabaseConnectionsBorrowLatency (p95 over the window) above this means clients wait for a pooled connection. */
    borrowLatencyHighMs: z.number().gt(0).default(10),
    /** Borrowed connections at this fraction of MaxDatabaseConnectionsAllowed means the pool is full. */
    poolFullFraction: z.number().gt(0).max(1).default(0.8),
    /** Connections always left free on the database for direct clients, admins and replication (fraction of max_connections). */
    reservedFraction: z.number().min(0).max(0.5).default(0.1),
    /** Never set MaxConnectionsPercent above this. */
    maxConnectionsPercentCeiling: z.number().int().min(1).max(100).default(90),
    /** Never set MaxConnectionsPercent below this. */
    maxConnectionsPercentFloor: z.number().int().min(1).max(100).default(10),
    /** Keep idle connections for this many times the peak borrowed (warm pool for bursts). */
    idleHeadroomFactor: z.number().min(1).max(5).default(1.5),
    /** Lower MaxIdleConnectionsPercent only when it falls by at least this many points. */
    minIdleChangePoints: z.number().int().min(1).max(50).default(5),
    /** Memory one idle server connection holds (MB): PostgreSQL backends hold several MB each. */
    memoryPerConnectionMb: z.number().gt(0).default(10),
    /** Session pinning above this fraction of borrowed connections is reported. */
    pinnedFractionHigh: z.number().gt(0).max(1).default(0.2),
  })
  .strict()
  .refine((s) => s.maxConnectionsPercentFloor <= s.maxConnectionsPercentCeiling, {
    message: 'maxConnectionsPercentFloor must not exceed maxConnectionsPercentCeiling',
    path: ['maxConnectionsPercentFloor'],
  });

export type ProxySection = z.infer<typeof proxySection>;
