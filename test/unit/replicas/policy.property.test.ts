import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../../shared/core/model.ts';
import {
  isBroken,
  MAX_REPLICAS_PER_SOURCE,
  planReplicas,
  type ReaderObservation,
  type ReplicaObservation,
  type ReplicaPolicySettings,
} from '../../../shared/policies/replicas.ts';
import { priceTable } from '../../../shared/pricing.ts';
import { NOW, ROUTING } from './fixtures.ts';

const STATUSES = [
  'available',
  'available',
  'available',
  'creating',
  'modifying',
  'deleting',
  'rebooting',
  'failed',
  'storage-full',
  'incompatible-network',
];

const readerArb: fc.Arbitrary<ReaderObservation> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 12 }),
  status: fc.constantFrom(...STATUSES),
  instanceClass: fc.constantFrom('db.r6g.large', 'db.r6g.xlarge', 'db.t4g.medium'),
  // Edges included: idle, the pinned CPU (90 %) and the metric's ceiling.
  cpuPercent: fc.option(
    fc.oneof(fc.constantFrom(0, 89.9, 90, 100), fc.double({ min: 0, max: 100, noNaN: true })),
    {
      nil: null,
    },
  ),
  connections: fc.option(fc.double({ min: 0, max: 5000, noNaN: true }), { nil: null }),
  maxConnections: fc.option(fc.double({ min: 0, max: 5000, noNaN: true }), { nil: null }),
  // -1: not replicating; the constants are also maxReplicaLagSeconds values (lag exactly at it).
  replicaLagSeconds: fc.option(
    fc.oneof(fc.constantFrom(-1, 0, 30, 60, 300), fc.double({ min: 0, max: 3600, noNaN: true })),
    { nil: null },
  ),
  ownershipTag: fc.boolean(),
  recordedCreated: fc.boolean(),
  routed: fc.boolean(),
});

const obsArb: fc.Arbitrary<ReplicaObservation> = fc
  .record({
    family: fc.constantFrom<'aurora' | 'rds'>('aurora', 'rds'),
    readers: fc.uniqueArray(readerArb, { maxLength: 17, selector: (r) => r.id }),
    status: fc.constantFrom('available', 'available', 'modifying', 'backing-up'),
    backup: fc.integer({ min: 0, max: 35 }),
    used: fc.integer({ min: 0, max: 45 }),
    quota: fc.integer({ min: 1, max: 45 }),
    fallback: fc.boolean(),
    endpoint: fc.boolean(),
    stray: fc.boolean(),
  })
  .map((o) => ({
    family: o.family,
    source: {
      id: 'src-1',
      status: o.status,
      engine: o.family === 'aurora' ? 'aurora-mysql' : 'mysql',
      backupRetentionPeriod: o.backup,
      instanceClass: 'db.r6g.large',
      cpuPercent: 50,
      ...(o.endpoint ? { endpoint: 'src-1.abc' } : {}),
    },
    readers: o.readers.map((r) => ({ ...r, endpoint: `${r.id}.abc`, mismatches: [] })),
    ...(o.family === 'rds'
      ? {
          routes: [
            ...(o.fallback ? [{ setIdentifier: 'src-1', value: 'src-1.abc', weight: 1 }] : []),
            ...o.readers
              .filter((r) => r.routed)
              .map((r) => ({ setIdentifier: r.id, value: `${r.id}.abc`, weight: 100 })),
            ...(o.stray ? [{ setIdentifier: 'gone', value: 'gone.abc', weight: 100 }] : []),
          ],
        }
      : {}),
    account: { instancesUsed: o.used, instanceQuota: o.quota },
    window: { start: '2026-11-23T17:55:00.000Z', end: NOW.toISOString(), periodSeconds: 60 },
  }));

const settingsArb: fc.Arbitrary<ReplicaPolicySettings> = fc
  .record({
    a: fc.integer({ min: 0, max: 15 }),
    b: fc.integer({ min: 0, max: 15 }),
    targetCpuPercent: fc.integer({ min: 10, max: 90 }),
    targetConnectionsPerReader: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
    tolerance: fc.double({ min: 0, max: 0.5, noNaN: true }),
    scaleInStabilizationMinutes: fc.integer({ min: 0, max: 120 }),
    maxReplicaLagSeconds: fc.oneof(fc.constantFrom(0, 30, 60, 300), fc.integer({ min: 0, max: 900 })),
    drainConnectionThreshold: fc.integer({ min: 0, max: 50 }),
    routing: fc.boolean(),
    schedule: fc.boolean(),
  })
  .map((s) => ({
    minReaders: Math.min(s.a, s.b),
    maxReaders: Math.max(s.a, s.b),
    targetCpuPercent: s.targetCpuPercent,
    ...(s.targetConnectionsPerReader !== undefined
      ? { targetConnectionsPerReader: s.targetConnectionsPerReader }
      : {}),
    tolerance: s.tolerance,
    scaleInStabilizationMinutes: s.scaleInStabilizationMinutes,
    maxReplicaLagSeconds: s.maxReplicaLagSeconds,
    drainConnectionThreshold: s.drainConnectionThreshold,
    instanceClasses: [],
    availabilityZones: [],
    ...(s.routing ? { routing: { ...ROUTING, fallback: { setIdentifier: 'src-1', weight: 1 } } } : {}),
    ...(s.schedule
      ? { schedule: [{ days: ['mon' as const], start: '17:00', end: '19:00', readers: s.b }] }
      : {}),
    prices: priceTable(),
  }));

const historyArb = fc.record({
  recommendations: fc.array(
    fc.record({
      at: fc.integer({ min: 0, max: 180 }).map((m) => new Date(NOW.getTime() - m * 60_000).toISOString()),
      readers: fc.integer({ min: 0, max: 15 }),
    }),
    { maxLength: 20 },
  ),
});

/** The actions that would reach an adapter: mutating and every declared rule ok. */
const passes = (a: Action) => a.mutating && (a.rules ?? []).every((r) => r.verdict === 'ok');
/** A scale-in removal (not the removal of a broken replica). */
const scaleIn = (obs: ReplicaObservation) => (a: Action) =>
  a.kind === 'remove-replica' && !isBroken(obs.readers.find((r) => r.id === a.resource.id)?.status ?? '');

describe('replica policy properties', () => {
  it('never lets a replica db-autopilot did not create be deleted, whatever the metrics', () => {
    fc.assert(
      fc.property(obsArb, settingsArb, historyArb, (obs, settings, history) => {
        const { plan } = planReplicas(obs, settings, history, NOW);
        for (const a of plan.actions.filter((x) => x.kind === 'remove-replica' && passes(x))) {
          const r = obs.readers.find((x) => x.id === a.resource.id);
          expect(r).toBeDefined();
          // Both halves of "created" consent, checked here independently of the policy's helper.
          expect(r?.ownershipTag).toBe(true);
          expect(r?.recordedCreated).toBe(true);
          expect(a.deletes).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the reader count within [min, max], 15 per source and the account quota', () => {
    fc.assert(
      fc.property(obsArb, settingsArb, historyArb, (obs, settings, history) => {
        const { plan } = planReplicas(obs, settings, history, NOW);
        const existing = obs.readers.filter((r) => r.status !== 'deleting' && !isBroken(r.status)).length;
        const adds = plan.actions.filter((a) => a.kind === 'add-replica' && passes(a));
        const removes = plan.actions.filter((a) => scaleIn(obs)(a) && passes(a));
        // Never both directions in one plan.
        expect(adds.length === 0 || removes.length === 0).toBe(true);
        if (adds.length > 0) {
          const after = existing + adds.length;
          expect(after).toBeLessThanOrEqual(settings.maxReaders);
          expect(after).toBeLessThanOrEqual(MAX_REPLICAS_PER_SOURCE);
          expect(obs.account.instancesUsed + adds.length).toBeLessThanOrEqual(obs.account.instanceQuota);
          expect(obs.source.status).toBe('available');
          expect(obs.source.backupRetentionPeriod).toBeGreaterThan(0);
          for (const a of adds) {
            expect(a.numericTarget).toBeLessThanOrEqual(settings.maxReaders);
            expect(a.numericTarget).toBeGreaterThan(0);
          }
        }
        if (removes.length > 0) {
          expect(existing - removes.length).toBeGreaterThanOrEqual(settings.minReaders);
          for (const a of removes) expect(a.numericTarget).toBeGreaterThanOrEqual(settings.minReaders);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never adds while a replica is being created when told to wait for it', () => {
    fc.assert(
      fc.property(obsArb, settingsArb, historyArb, (obs, settings, history) => {
        fc.pre(obs.readers.some((r) => r.status === 'creating'));
        const { plan } = planReplicas(obs, { ...settings, waitForCreatingReplicas: true }, history, NOW);
        expect(plan.actions.filter((a) => a.kind === 'add-replica')).toHaveLength(0);
      }),
      { numRuns: 500 },
    );
  });

  it('counts replicas being created: never adds more than the target beyond every existing reader', () => {
    fc.assert(
      fc.property(obsArb, settingsArb, historyArb, (obs, settings, history) => {
        const result = planReplicas(obs, settings, history, NOW);
        const existing = obs.readers.filter((r) => r.status !== 'deleting' && !isBroken(r.status)).length;
        const adds = result.plan.actions.filter((a) => a.kind === 'add-replica' && passes(a)).length;
        if (adds > 0) expect(existing + adds).toBeLessThanOrEqual(result.targetReaders);
      }),
      { numRuns: 1000 },
    );
  });

  /** `obs` with reader `pick` (mod the count) lagging: not replicating (-1), or past the limit. */
  const laggingArb = fc.constantFrom<'stopped' | 'over' | 'just-over'>('stopped', 'over', 'just-over');
  function withLag(obs: ReplicaObservation, settings: ReplicaPolicySettings, pick: number, how: string) {
    const max = settings.maxReplicaLagSeconds;
    const lag = how === 'stopped' ? -1 : how === 'over' ? max + 60 : max + 1e-6;
    const idx = pick % obs.readers.length;
    return { ...obs, readers: obs.readers.map((r, i) => (i === idx ? { ...r, replicaLagSeconds: lag } : r)) };
  }
  const addsPlanned = (
    obs: ReplicaObservation,
    settings: ReplicaPolicySettings,
    history: Parameters<typeof planReplicas>[2],
  ) => planReplicas(obs, settings, history, NOW).plan.actions.filter((a) => a.kind === 'add-replica').length;

  it('never adds more replicas because a replica lags', () => {
    fc.assert(
      fc.property(
        obsArb,
        settingsArb,
        historyArb,
        fc.nat(),
        laggingArb,
        (obs, settings, history, pick, how) => {
          fc.pre(obs.readers.length > 0);
          const lagged = withLag(obs, settings, pick, how);
          expect(addsPlanned(lagged, settings, history)).toBeLessThanOrEqual(
            addsPlanned(obs, settings, history),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  // Where the general generators rarely go: caught-up Aurora readers whose CPU sits at the edges of
  // the pinned step and the tolerance band (counterexamples in policy.counterexamples.test.ts).
  const edgeReaders = fc.uniqueArray(
    fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      cpuPercent: fc.option(fc.constantFrom(0, 10, 45, 60, 89, 90, 95, 100), { nil: null }),
      dbLoadCpu: fc.option(fc.constantFrom(0.5, 1, 2, 2.2), { nil: null }),
      connections: fc.option(fc.constantFrom(0, 1, 50, 200), { nil: null }),
      ownershipTag: fc.boolean(),
    }),
    { minLength: 1, maxLength: 5, selector: (r) => r.id },
  );
  const edgeSettings = fc.record({
    targetCpuPercent: fc.constantFrom(15, 50, 60, 90),
    tolerance: fc.constantFrom(0, 0.1, 0.5),
    targetConnectionsPerReader: fc.option(fc.constantFrom(1, 50, 100), { nil: undefined }),
    maxReaders: fc.integer({ min: 1, max: 15 }),
  });

  it('never adds more replicas because a replica lags (readers at the pinned CPU and the tolerance band)', () => {
    fc.assert(
      fc.property(edgeReaders, edgeSettings, fc.nat(), laggingArb, (readers, edge, pick, how) => {
        const obs: ReplicaObservation = {
          family: 'aurora',
          source: {
            id: 'src-1',
            status: 'available',
            engine: 'aurora-mysql',
            backupRetentionPeriod: 7,
            instanceClass: 'db.r6g.large',
          },
          readers: readers.map((r) => ({
            ...r,
            status: 'available',
            instanceClass: 'db.r6g.large',
            vcpus: 2,
            maxConnections: r.connections,
            replicaLagSeconds: 0.2,
            recordedCreated: r.ownershipTag,
            routed: false,
            endpoint: `${r.id}.abc`,
            mismatches: [],
          })),
          account: { instancesUsed: 0, instanceQuota: 40 },
          window: { start: '2026-11-23T17:55:00.000Z', end: NOW.toISOString(), periodSeconds: 60 },
        };
        const settings: ReplicaPolicySettings = {
          minReaders: 0,
          maxReaders: edge.maxReaders,
          targetCpuPercent: edge.targetCpuPercent,
          ...(edge.targetConnectionsPerReader !== undefined
            ? { targetConnectionsPerReader: edge.targetConnectionsPerReader }
            : {}),
          tolerance: edge.tolerance,
          scaleInStabilizationMinutes: 0,
          maxReplicaLagSeconds: 60,
          drainConnectionThreshold: 5,
          instanceClasses: [],
          availabilityZones: [],
          prices: priceTable(),
        };
        const history = { recommendations: [] };
        const lagged = withLag(obs, settings, pick, how);
        expect(addsPlanned(lagged, settings, history)).toBeLessThanOrEqual(
          addsPlanned(obs, settings, history),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('deletes only drained replicas', () => {
    fc.assert(
      fc.property(obsArb, settingsArb, historyArb, (obs, settings, history) => {
        const { plan } = planReplicas(obs, settings, history, NOW);
        for (const a of plan.actions.filter((x) => scaleIn(obs)(x) && passes(x))) {
          const r = obs.readers.find((x) => x.id === a.resource.id);
          expect(r?.maxConnections).not.toBeNull();
          expect(r?.maxConnections ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(
            settings.drainConnectionThreshold,
          );
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never leaves the read name without a serving record when it had one', () => {
    fc.assert(
      fc.property(obsArb, settingsArb, historyArb, (obs, settings, history) => {
        fc.pre(obs.family === 'rds' && settings.routing !== undefined);
        const { plan } = planReplicas(obs, settings, history, NOW);
        const lagging = (r: ReaderObservation) =>
          r.replicaLagSeconds !== null &&
          (r.replicaLagSeconds < 0 || r.replicaLagSeconds > settings.maxReplicaLagSeconds);
        const serving = (id: string) =>
          (id === 'src-1' && obs.source.status === 'available') ||
          obs.readers.some((r) => r.id === id && r.status === 'available' && !lagging(r));
        const before = (obs.routes ?? []).map((r) => r.setIdentifier);
        const removed = new Set(
          plan.actions
            .filter((a) => a.kind === 'remove-route' && passes(a))
            .map((a) => String(a.params?.setIdentifier)),
        );
        const added = plan.actions
          .filter((a) => a.kind === 'add-route' && passes(a))
          .map((a) => String(a.params?.setIdentifier));
        const after = [...before.filter((id) => !removed.has(id)), ...added];
        if (removed.size > 0 && before.some(serving)) expect(after.some(serving)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('never deletes a plain RDS replica whose record is still in the set', () => {
    fc.assert(
      fc.property(obsArb, settingsArb, historyArb, (obs, settings, history) => {
        fc.pre(obs.family === 'rds' && settings.routing !== undefined);
        const { plan } = planReplicas(obs, settings, history, NOW);
        for (const a of plan.actions.filter((x) => x.kind === 'remove-replica' && passes(x))) {
          expect(obs.readers.find((r) => r.id === a.resource.id)?.routed).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
