import { HOUR_MS, MINUTE_MS } from '../clock.ts';
import type { SimAccount } from '../engine.ts';
import { addServerlessCluster } from '../services/aurora-serverless.ts';
import { constant, diurnal, flashSale, noisy, spikes, sum } from '../workload.ts';

/**
 * SecureCart's Aurora Serverless v2 clusters (issue 24), named in the serverless section of
 * db-autopilot.yml by identifier (no managed tag: the replica scaler leaves them alone).
 *
 * - securecart-customer-accounts: Aurora PostgreSQL 16.4, a writer and a tier-1 reader (it scales
 *   with the writer and is billed alike). The person set 8-32 ACU: the minimum pays for 8 ACU all
 *   night while the accounts service idles near 2 ACU; it peaks at about 20 ACU at 19:00 UTC, a
 *   login storm (about +10 ACU for 20 minutes) hits every day at 08:00, and the flash sale at 12:00
 *   on the simulated day brings sign-ups above MaxCapacity 32 (ACUUtilization at 100%). A person's
 *   changes keep the cluster `modifying` from 00:00 to 00:08 and from 07:20 to 07:40, just when
 *   the minimum is due to rise ahead of the login storm.
 * - securecart-accounts-dev: the team's development copy (16.4, 2-8 ACU), nobody connected for
 *   the whole history: it pays for 2 ACU around the clock.
 */
export function addSecureCartServerless(sim: SimAccount, startMs: number): void {
  const flashStart = startMs + 12 * HOUR_MS;
  const accounts = addServerlessCluster(sim, {
    id: 'securecart-customer-accounts',
    engine: 'aurora-postgresql',
    engineVersion: '16.4',
    tags: { app: 'securecart', team: 'identity' },
    bounds: { min: 8, max: 32 },
    writerId: 'securecart-customer-accounts-writer',
    readers: [{ id: 'securecart-customer-accounts-reader-1', promotionTier: 1 }],
    workload: {
      acu: sum(
        noisy(diurnal({ base: 2, peak: 20, peakHourUtc: 19, widthHours: 2.5 }), 0.08, 'accounts-acu'),
        spikes({ everyMs: 24 * HOUR_MS, durationMs: 20 * MINUTE_MS, height: 10, offsetMs: 8 * HOUR_MS }),
        flashSale({ startMs: flashStart, durationMs: HOUR_MS, extra: 30, rampMs: 5 * MINUTE_MS }),
      ),
      connections: diurnal({ base: 40, peak: 400, peakHourUtc: 19, widthHours: 2.5 }),
    },
  });
  // A person's cluster changes being applied: at the start of the day (a parameter group change)
  // and 07:20-07:40 (the backup window).
  accounts.status = 'modifying';
  sim.at(startMs + 8 * MINUTE_MS, () => {
    accounts.status = 'available';
  });
  const busyFrom = startMs + 7 * HOUR_MS + 20 * MINUTE_MS;
  sim.at(busyFrom, () => {
    accounts.status = 'modifying';
    sim.rds.event(accounts, 'Updating the preferred backup window', ['configuration change'], 'db-cluster');
  });
  sim.at(busyFrom + 20 * MINUTE_MS, () => {
    accounts.status = 'available';
  });
  addServerlessCluster(sim, {
    id: 'securecart-accounts-dev',
    engine: 'aurora-postgresql',
    engineVersion: '16.4',
    tags: { app: 'securecart', env: 'dev' },
    bounds: { min: 2, max: 8 },
    writerId: 'securecart-accounts-dev-writer',
    workload: { acu: constant(0), connections: constant(0) },
  });
}
