import { describe, expect, it } from 'vitest';
import { effectiveStorageIops } from '../../../shared/aws/rds-storage-limits.ts';
import { decideIops } from '../../../shared/policies/iops.ts';
import { storageMonthlyCost } from '../../../shared/policies/iops-cost.ts';
import { constant, io1, NOW, observation, PRICES, settings } from './fixtures.ts';

/**
 * gp3 baselines differ by engine (aws-facts.md, "Learned from review"; RDS User Guide
 * CHAP_Storage, gp3 table): Oracle's 12,000 IOPS / 500 MiB/s baseline starts at 200 GiB, not
 * 400; SQL Server is not striped (3,000 IOPS / 125 MiB/s at every size, settable up to 16,000).
 */
describe('gp3 baselines by engine', () => {
  it('serves what an Oracle gp3 volume between 200 and 400 GiB is provisioned with', () => {
    expect(effectiveStorageIops('gp3', 300, 12_000, 'oracle-ee')).toBe(12_000);
    expect(effectiveStorageIops('gp3', 300, undefined, 'oracle-ee')).toBe(12_000);
    expect(effectiveStorageIops('gp3', 150, undefined, 'oracle-ee')).toBe(3000);
  });

  it('serves what a SQL Server gp3 volume is provisioned with at any size, 3,000 by default', () => {
    expect(effectiveStorageIops('gp3', 200, 6000, 'sqlserver-se')).toBe(6000);
    expect(effectiveStorageIops('gp3', 1000, undefined, 'sqlserver-se')).toBe(3000);
  });

  it('keeps the MySQL / MariaDB / PostgreSQL rows', () => {
    expect(effectiveStorageIops('gp3', 300, 12_000, 'postgres')).toBe(3000);
    expect(effectiveStorageIops('gp3', 500, undefined, 'mysql')).toBe(12_000);
  });

  it('does not take an Oracle gp3 volume on 300 GiB with 12,000 IOPS serving 8,000 for saturated', () => {
    const obs = observation({
      instance: io1({
        engine: 'oracle-ee',
        storageType: 'gp3',
        allocatedGiB: 300,
        iops: 12_000,
        throughputMibps: 500,
      }),
      recent: constant(8000, 30),
      hourly: constant(8000, 48),
      latencySec: constant(0.0012, 30),
      historyLatencySec: constant(0.001, 48),
    });
    const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
    const raise = plan.actions.find((a) => a.kind === 'set-iops' && Number(a.to) > 12_000);
    expect(raise).toBeUndefined();
    expect(plan.actions.map((a) => a.reason).join(' | ')).not.toMatch(/saturated|3000/);
  });

  it('prices the IOPS Oracle includes from 200 GiB as included', () => {
    const oracle = storageMonthlyCost(
      { storageType: 'gp3', allocatedGiB: 300, iops: 12_000, throughputMibps: 500, engine: 'oracle-ee' },
      PRICES,
    );
    const sizeOnly = storageMonthlyCost(
      { storageType: 'gp3', allocatedGiB: 300, engine: 'oracle-ee' },
      PRICES,
    );
    expect(oracle).toBeCloseTo(sizeOnly, 6);
  });
});
