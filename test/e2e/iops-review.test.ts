import { DescribeDBInstancesCommand, ModifyDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { aws } from '../../shared/aws/clients.ts';
import { parseConfig } from '../../shared/config/load.ts';
import type { Decision } from '../../shared/core/model.ts';
import { SimAccount } from '../../shared/sim/engine.ts';
import type { RdsInstanceSpec } from '../../shared/sim/services/rds.ts';
import { constant } from '../../shared/sim/workload.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runIops } from '../../shared/tuners/iops.ts';

/**
 * Issue 20: one test per bullet of the review, each on the simulated account (the real tuner,
 * adapter and guards against simulated RDS and CloudWatch), each failing on the code the review
 * looked at.
 */
const START = Date.parse('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;

const CONFIG = parseConfig(`
version: 1
region: us-east-1
defaults: { mode: apply, cooldownMinutes: 30 }
tuners:
  iops:
    resources: { identifiers: [orders] }
    minIops: 1000
    maxIops: 64000
`);

let uninstall: (() => void) | undefined;
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
});

function account(spec: Partial<RdsInstanceSpec>): SimAccount {
  const sim = new SimAccount({
    start: new Date(START).toISOString(),
    latencyMs: 0,
    historyStart: START - 30 * HOUR,
  });
  sim.rds.addInstance({
    id: 'orders',
    engine: 'postgres',
    instanceClass: 'db.r6i.8xlarge',
    storageType: 'io1',
    allocatedStorage: 1000,
    iops: 20_000,
    ...spec,
  });
  uninstall = sim.install();
  return sim;
}

async function runOnce(sim: SimAccount, store = new MemoryStateStore()): Promise<Decision[]> {
  const summary = await runIops(
    { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `iops-${sim.nowMs()}` },
    { config: CONFIG, store, now: sim.clock.now() },
  );
  return summary.decisions;
}

async function iopsNow(): Promise<number | undefined> {
  const out = await aws().rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' }));
  return out.DBInstances?.[0]?.Iops;
}

function modifyCalls(sim: SimAccount): number {
  return sim.stats().calls['rds:ModifyDBInstance'] ?? 0;
}

describe('review: storage safety first', () => {
  it('does not lower IOPS while free space is falling toward the autoscaling threshold (autoscaling needs the slot)', async () => {
    // Over-provisioned (demand 2,000 of 20,000) but the disk fills: 30% free a day ago, 14% now.
    const sim = account({
      maxAllocatedStorage: 2000,
      workload: {
        iops: constant(2000),
        freeStorageFraction: (t) => 0.14 + (0.16 * (START - t)) / (30 * HOUR),
      },
    });
    const decisions = await runOnce(sim);
    expect(modifyCalls(sim)).toBe(0);
    expect(await iopsNow()).toBe(20_000);
    const reasons = decisions.map((d) => d.reason).join(' | ');
    expect(reasons).toMatch(/FreeStorageSpace .* (below|falling)/);
  });

  it('lowers the same over-provisioned instance when free space is ample', async () => {
    const sim = account({
      maxAllocatedStorage: 2000,
      workload: { iops: constant(2000), freeStorageFraction: 0.6 },
    });
    const decisions = await runOnce(sim);
    expect(decisions.find((d) => d.action === 'set-iops')?.outcome).toBe('applied');
    expect(modifyCalls(sim)).toBe(1);
  });
});

describe('review: the class sustains what it is sold', () => {
  it('lowers 14,000 io1 IOPS on a db.r6g.large whose EBS burst balance is gone to what it sustains (3,600)', async () => {
    const sim = account({
      instanceClass: 'db.r6g.large',
      allocatedStorage: 1000,
      iops: 14_000,
      workload: { iops: constant(12_000) },
    });
    const decisions = await runOnce(sim);
    const change = decisions.find((d) => d.action === 'set-iops');
    expect(change?.outcome).toBe('applied');
    expect(change?.to).toBe(3600);
    expect(change?.reason).toMatch(/db\.r6g\.large sustains 3600 IOPS/);
    expect(change?.monthlyCostDelta).toBeLessThan(-1000);
    expect(decisions.some((d) => d.action === 'finding' && /out of EBS burst/.test(d.reason))).toBe(true);
  });
});

describe('review: a storage change a person queued', () => {
  it('defers and reports instead of applying a queued io1 -> io2 conversion with ApplyImmediately', async () => {
    const sim = account({ workload: { iops: constant(19_800) } });
    // A person queues io2 for the maintenance window (ApplyImmediately=false).
    await aws().rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        StorageType: 'io2',
        AllocatedStorage: 1000,
        Iops: 20_000,
        ApplyImmediately: false,
      }),
    );
    const before = modifyCalls(sim);
    const decisions = await runOnce(sim);
    expect(modifyCalls(sim)).toBe(before);
    const change = decisions.find((d) => d.action === 'set-iops');
    expect(change?.outcome).toBe('deferred');
    expect(change?.reason).toMatch(/StorageType="io2".*not set by db-autopilot/);
    const described = await aws().rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders' }),
    );
    expect(described.DBInstances?.[0]?.StorageType).toBe('io1');
    expect(described.DBInstances?.[0]?.PendingModifiedValues?.StorageType).toBe('io2');
  });
});

describe('review: engine-specific ranges, capped at the valid edge', () => {
  it('raises a saturated SQL Server io1 instance on 60 GiB to the valid edge (50 IOPS per GiB) instead of skipping it', async () => {
    const sim = account({
      engine: 'sqlserver-se',
      allocatedStorage: 60,
      iops: 1000,
      workload: { iops: constant(2500) },
    });
    sim.advance(30 * 60_000);
    const decisions = await runOnce(sim);
    const change = decisions.find((d) => d.action === 'set-iops');
    expect(change?.outcome).toBe('applied');
    expect(change?.to).toBe(3000);
    expect(change?.reason).toMatch(/capped/);
    sim.advance(15 * 60_000);
    expect(await iopsNow()).toBe(3000);
  });

  it('tunes gp3 IOPS on a 300 GiB Oracle instance (Oracle stripes at 200 GiB, not 400)', async () => {
    const sim = account({
      engine: 'oracle-ee',
      storageType: 'gp3',
      allocatedStorage: 300,
      iops: 12_000,
      storageThroughput: 500,
      workload: { iops: constant(12_000) },
    });
    sim.advance(30 * 60_000);
    const decisions = await runOnce(sim);
    const change = decisions.find((d) => d.action === 'set-iops');
    if (process.env.DEBUG_IOPS) console.log(change?.reason);
    expect(change?.outcome).toBe('applied');
    expect(Number(change?.to)).toBeGreaterThan(12_000);
  });
});

describe('review: honest signals', () => {
  it('sees only noisy latency and queue depth: the simulator publishes no exact function of demand', async () => {
    const sim = account({ iops: 1000, allocatedStorage: 1000, workload: { iops: constant(3000) } });
    const row = sim.rds.get('orders');
    expect(row).toBeDefined();
    const lat: number[] = [];
    const first = Math.floor(START / 60_000) - 30;
    row?.series.ensure(first + 30);
    for (let m = 0; m < 30; m++) {
      const v = row?.series.get('ReadLatency', first + m);
      if (v !== undefined) lat.push(v.value);
    }
    expect(lat.length).toBe(30);
    expect(new Set(lat.map((v) => v.toFixed(7))).size).toBe(30);
    expect(Math.max(...lat) / Math.min(...lat)).toBeGreaterThan(1.3);
  });
});
