import {
  DescribeDBInstancesCommand,
  DescribeEventsCommand,
  DescribeValidDBInstanceModificationsCommand,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIopsAdapter } from '../../../shared/adapters/rds-iops.ts';
import {
  CLASS_EBS_LIMITS,
  classEbsLimit,
  nonStoragePending,
  type RdsStorageType,
  storagePending,
  validIopsRange,
} from '../../../shared/aws/rds-storage-limits.ts';
import type { Target, TunerSettings } from '../../../shared/core/contracts.ts';
import { executePlan } from '../../../shared/core/executor.ts';
import type { Action } from '../../../shared/core/model.ts';
import { decideIops } from '../../../shared/policies/iops.ts';
import { storageMonthlyCost } from '../../../shared/policies/iops-cost.ts';
import { buildStorageLedger } from '../../../shared/policies/iops-ledger.ts';
import { MemoryStateStore } from '../../../shared/state/memory-store.ts';
import { constant, emptyLedger, NOW, observation, PRICES, settings } from './fixtures.ts';

const classes = [...Object.keys(CLASS_EBS_LIMITS), 'db.unknown.large'];

const instanceArb = fc.record({
  storageType: fc.constantFrom<RdsStorageType>('io1', 'io2', 'gp3'),
  allocatedGiB: fc.integer({ min: 100, max: 20_000 }),
  instanceClass: fc.constantFrom(...classes),
  iopsFactor: fc.double({ min: 0.01, max: 1, noNaN: true }),
  multiAz: fc.boolean(),
});

const settingsArb = fc.record({
  targetUtilization: fc.double({ min: 0.3, max: 0.95, noNaN: true }),
  minIops: fc.integer({ min: 100, max: 5000 }),
  maxIops: fc.integer({ min: 1000, max: 256_000 }),
  ceiling: fc.option(fc.integer({ min: 10, max: 50_000 }), { nil: undefined }),
  allowStorageGrowthForIops: fc.boolean(),
});

const demandArb = fc.record({
  level: fc.integer({ min: 0, max: 300_000 }),
  shape: fc.array(fc.double({ min: 0, max: 1.5, noNaN: true }), { minLength: 60, maxLength: 60 }),
  latencyFactor: fc.double({ min: 1, max: 30, noNaN: true }),
  hourly: fc.array(fc.option(fc.integer({ min: 0, max: 300_000 }), { nil: null }), {
    minLength: 48,
    maxLength: 48,
  }),
});

describe('IOPS policy properties', () => {
  it('never proposes IOPS outside the valid range, ratio, class limit, config bounds or cost ceiling', () => {
    fc.assert(
      fc.property(instanceArb, settingsArb, demandArb, (i, s, d) => {
        const first = validIopsRange('postgres', i.storageType, i.allocatedGiB);
        const current = first.settable
          ? Math.max(first.min, Math.round(first.min + (first.max - first.min) * i.iopsFactor))
          : undefined;
        const instance = {
          id: 'db',
          engine: 'postgres',
          instanceClass: i.instanceClass,
          storageType: i.storageType,
          allocatedGiB: i.allocatedGiB,
          iops: current,
          multiAz: i.multiAz,
        };
        const served = d.shape.map((x) => Math.min(x * d.level, current ?? 3000));
        const cfg = settings({
          targetUtilization: s.targetUtilization,
          minIops: Math.min(s.minIops, s.maxIops),
          maxIops: s.maxIops,
          monthlyCostCeilingUsd: s.ceiling,
          allowStorageGrowthForIops: s.allowStorageGrowthForIops,
        });
        const obs = observation({
          instance,
          recent: served,
          latencySec: served.map(() => 0.001 * d.latencyFactor),
          hourly: d.hourly,
        });
        const { plan } = decideIops({ observation: obs, settings: cfg, prices: PRICES, now: NOW });
        for (const action of plan.actions.filter((a) => a.kind === 'set-iops')) {
          const p = action.params as { AllocatedStorage: number; Iops: number; StorageThroughput?: number };
          const range = validIopsRange('postgres', i.storageType, p.AllocatedStorage);
          expect(range.settable).toBe(true);
          if (!range.settable) continue;
          expect(p.Iops).toBeGreaterThanOrEqual(range.min);
          expect(p.Iops).toBeLessThanOrEqual(range.max);
          expect(action.numericTarget).toBe(p.Iops);
          expect(p.Iops).toBeLessThanOrEqual(cfg.maxIops);
          expect(p.Iops).toBeGreaterThanOrEqual(Math.min(cfg.minIops, range.max));
          const limit = classEbsLimit(i.instanceClass);
          if (limit) expect(p.Iops).toBeLessThanOrEqual(limit.maxIops);
          if (!s.allowStorageGrowthForIops) expect(p.AllocatedStorage).toBe(i.allocatedGiB);
          if (i.storageType === 'gp3') {
            expect(p.StorageThroughput).toBeDefined();
            expect(p.StorageThroughput ?? 0).toBeLessThanOrEqual(0.25 * p.Iops);
          }
          if (s.ceiling !== undefined) {
            const after = storageMonthlyCost(
              {
                storageType: i.storageType,
                allocatedGiB: p.AllocatedStorage,
                iops: p.Iops,
                throughputMibps: p.StorageThroughput,
                multiAz: i.multiAz,
              },
              PRICES,
            );
            expect(after).toBeLessThanOrEqual(s.ceiling + 1e-6);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never applies two storage changes inside the wait window, nor more than 4 in 24 h (policy + real guards)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 200, max: 40_000 }), { minLength: 24, maxLength: 24 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 47 }), { maxLength: 4 }),
        async (hourlyDemand, outsideHours) => {
          const store = new MemoryStateStore();
          const target: Target = {
            ref: { kind: 'rds-instance', id: 'db' },
            tags: {},
            managed: true,
            created: false,
            optedOut: false,
          };
          const tunerSettings: TunerSettings = {
            mode: 'apply',
            min: 1000,
            max: 64_000,
            cooldownMinutes: 0,
            maxChangesPerRun: 10,
            driftBackoffMinutes: 0,
            lockLeaseSeconds: 60,
          };
          let iops = 3000;
          const applied: number[] = [];
          // Changes by storage autoscaling or people, seen only as RDS events.
          const outside = outsideHours.map((h) => NOW.getTime() + h * 3_600_000 + 7 * 60_000);
          const adapter = async (action: Action) => {
            iops = Number((action.params as { Iops: number }).Iops);
            return { status: 'applied' as const };
          };
          const start = NOW.getTime();
          for (let step = 0; step < 48 * 2; step++) {
            const now = new Date(start + step * 30 * 60_000);
            const demand = hourlyDemand[Math.floor(step / 2) % 24] ?? 1000;
            const decisions = await store.listDecisions({
              since: new Date(now.getTime() - 86_400_000).toISOString(),
            });
            const events = [...applied, ...outside.filter((t) => t <= now.getTime())].map((t) => ({
              date: new Date(t).toISOString(),
              message: 'Applying modification to allocated storage',
            }));
            const ledger = buildStorageLedger({ instance: { status: 'available' }, events, decisions });
            const obs = observation({
              instance: {
                id: 'db',
                engine: 'postgres',
                instanceClass: 'db.r6i.16xlarge',
                storageType: 'io1',
                allocatedGiB: 2000,
                iops,
              },
              recent: constant(Math.min(demand, iops), 60),
              latencySec: constant((0.001 * Math.max(demand, iops)) / iops, 60),
              ledger,
              now,
            });
            const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now });
            const before = iops;
            await executePlan({
              plan,
              target,
              settings: tunerSettings,
              adapter,
              run: {
                runId: `run-${step}`,
                tuner: 'iops',
                trigger: 'schedule',
                dryRun: false,
                override: false,
                idempotencyKey: `k-${step}`,
                now,
                paused: false,
                changesApplied: 0,
              },
              store,
            });
            if (iops !== before) applied.push(now.getTime());
          }
          const all = [...applied, ...outside].sort((a, b) => a - b);
          for (const t of applied) {
            const others = all.filter((o) => o !== t && o < t);
            for (const o of others) expect(t - o).toBeGreaterThanOrEqual(6 * 3_600_000);
            expect(all.filter((o) => o <= t && t - o < 86_400_000).length).toBeLessThanOrEqual(4);
          }
        },
      ),
      { numRuns: 12 },
    );
  });

  it('marks every storage change deferred while a non-storage modification is pending', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            'DBInstanceClass',
            'MultiAZ',
            'EngineVersion',
            'BackupRetentionPeriod',
            'Iops',
            'AllocatedStorage',
          ),
          fc.oneof(fc.constant('x'), fc.integer({ min: 1, max: 10 })),
        ),
        (pending) => {
          const ledger = buildStorageLedger({
            instance: { status: 'available', pendingModifiedValues: pending },
            events: [],
            decisions: [],
          });
          const obs = observation({ recent: constant(10_000, 60), latencySec: constant(0.004, 60), ledger });
          const { plan } = decideIops({ observation: obs, settings: settings(), prices: PRICES, now: NOW });
          const rule = plan.actions[0]?.rules?.find((r) => r.rule === 'aws:pending-non-storage');
          expect(rule?.verdict).toBe(nonStoragePending(pending).length > 0 ? 'defer' : 'ok');
        },
      ),
    );
  });
});

describe('IOPS adapter properties', () => {
  it('never calls ModifyDBInstance (ApplyImmediately) while anything is pending that db-autopilot did not set', async () => {
    const rds = mockClient(RDSClient);
    const client = new RDSClient({ region: 'us-east-1' });
    const adapter = createIopsAdapter({ rds: () => client, now: () => NOW });
    const action: Action = {
      tuner: 'iops',
      resource: { kind: 'rds-instance', id: 'db' },
      kind: 'set-iops',
      from: 10_000,
      to: 20_000,
      reason: 'test',
      evidence: [],
      monthlyCostDelta: 0,
      undo: null,
      mutating: true,
      params: { AllocatedStorage: 500, Iops: 20_000 },
    };
    const target: Target = { ref: action.resource, tags: {}, managed: true, created: false, optedOut: false };
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom(
            'DBInstanceClass',
            'MultiAZ',
            'EngineVersion',
            'CACertificateIdentifier',
            'Iops',
            'AllocatedStorage',
            'StorageThroughput',
          ),
          fc.oneof(fc.constant('db.r6i.4xlarge'), fc.integer({ min: 1, max: 1000 }), fc.constant(undefined)),
        ),
        async (pending) => {
          rds.reset();
          rds.on(DescribeDBInstancesCommand).resolves({
            DBInstances: [
              {
                DBInstanceIdentifier: 'db',
                DBInstanceStatus: 'available',
                StorageType: 'io1',
                AllocatedStorage: 500,
                Iops: 10_000,
                PendingModifiedValues: pending,
              },
            ],
          });
          rds.on(DescribeEventsCommand).resolves({ Events: [] });
          rds.on(DescribeValidDBInstanceModificationsCommand).resolves({
            ValidDBInstanceModificationsMessage: {
              Storage: [
                {
                  StorageType: 'io1',
                  StorageSize: [{ From: 100, To: 65_536, Step: 1 }],
                  ProvisionedIops: [{ From: 1000, To: 256_000, Step: 1 }],
                  IopsToStorageRatio: [{ From: 0.5, To: 50 }],
                },
              ],
            },
          });
          rds.on(ModifyDBInstanceCommand).resolves({});
          const result = await adapter(action, target);
          // The adapter sees no records of its own: any pending value is someone else's.
          const blocked = nonStoragePending(pending).length > 0 || storagePending(pending).length > 0;
          if (blocked) {
            expect(result.status).toBe('deferred');
            expect(rds.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
          } else {
            expect(result.status).toBe('applied');
            expect(rds.commandCalls(ModifyDBInstanceCommand)[0]?.args[0].input.ApplyImmediately).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
    rds.restore();
  });

  it('the ledger counts a change once when both an RDS event and db-autopilot record it', () => {
    const ledger = buildStorageLedger({
      instance: { status: 'available' },
      events: [
        { date: '2026-11-20T12:03:00.000Z', message: 'Finished applying modification to allocated storage' },
      ],
      decisions: [],
    });
    expect(emptyLedger().changes).toHaveLength(0);
    expect(ledger.changes).toHaveLength(1);
  });
});
