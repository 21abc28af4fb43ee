import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../shared/config/schema.ts';
import type { TunerRunRequest } from '../../shared/core/contracts.ts';
import type { Decision } from '../../shared/core/model.ts';
import { MINUTE_MS, SimAccount, workload as w } from '../../shared/sim/index.ts';
import { putWeightedRecord, setReadRouting } from '../../shared/sim/rds-replica-rules.ts';
import { MemoryStateStore } from '../../shared/state/index.ts';
import { runReplicas } from '../../shared/tuners/replicas.ts';

/**
 * The replicas tuner end to end on the simulated account: real SDK clients with the simulator
 * beneath them, the real discovery, metrics, policy, executor, guards and adapters.
 */

const START = '2026-11-23T00:00:00.000Z';
const HOUR = 60 * MINUTE_MS;
const MANAGED = { 'db-autopilot:managed': 'true' };
const CREATED = { 'db-autopilot:created-by': 'db-autopilot' };
const ZONE = 'Z0SHOPINTERNAL';
const RECORD = 'reads.db.shop.internal';

function buildAccount(): SimAccount {
  const sim = new SimAccount({ start: START, historyStart: Date.parse(START) - 2 * HOUR, rateLimits: false });
  const startMs = Date.parse(START);
  // Aurora: reader CPU demand of 1.6 readers between 18:00 and 20:00, 0.3 otherwise.
  sim.rds.addCluster({
    id: 'catalog-aurora',
    engine: 'aurora-postgresql',
    tags: MANAGED,
    workload: {
      readerCpu: (t) => (t >= startMs + 18 * HOUR && t < startMs + 20 * HOUR ? 160 : 30),
      readerConnections: w.constant(10),
    },
  });
  sim.rds.addInstance({
    id: 'catalog-aurora-writer',
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
    clusterId: 'catalog-aurora',
    writer: true,
    tags: MANAGED,
  });
  sim.rds.addInstance({
    id: 'catalog-aurora-reader-1',
    engine: 'aurora-postgresql',
    instanceClass: 'db.r6g.large',
    clusterId: 'catalog-aurora',
    tags: MANAGED,
    workload: { cpu: w.constant(2), connections: w.constant(0) },
  });
  // MySQL: two idle replicas, one created by db-autopilot (tag + record), one by a person.
  sim.rds.addInstance({
    id: 'shop-mysql',
    engine: 'mysql',
    instanceClass: 'db.r6g.large',
    backupRetentionPeriod: 7,
    tags: MANAGED,
    workload: { cpu: w.constant(10), connections: w.constant(20) },
  });
  for (const [id, tags] of [
    ['dbap-shop-mysql-1', { ...MANAGED, ...CREATED }],
    ['shop-mysql-analytics', MANAGED],
  ] as const) {
    sim.rds.addInstance({
      id,
      engine: 'mysql',
      instanceClass: 'db.r6g.large',
      replicaSourceId: 'shop-mysql',
      tags,
      workload: { cpu: w.constant(2), connections: w.constant(0), replicaLagSeconds: w.constant(0.3) },
    });
  }
  sim.route53.addZone(ZONE, 'db.shop.internal.');
  return sim;
}

const config = configSchema.parse({
  version: 1,
  defaults: { mode: 'apply' },
  tuners: {
    replicas: {
      resources: { identifiers: ['catalog-aurora', 'shop-mysql'] },
      minReaders: 1,
      maxReaders: 4,
      targetCpuPercent: 60,
      scaleInStabilizationMinutes: 30,
      sources: {
        'catalog-aurora': { drainConnectionThreshold: 20 },
        'shop-mysql': {
          routing: { hostedZoneId: ZONE, recordName: RECORD, fallback: { setIdentifier: 'shop-mysql' } },
        },
      },
    },
  },
});

let sim: SimAccount;
let uninstall: () => void;
let store: MemoryStateStore;
let seq = 0;

function request(): TunerRunRequest {
  seq += 1;
  return { trigger: 'schedule', dryRun: false, override: false, idempotencyKey: `e2e-${seq}` };
}

/** A manual dry run naming `resourceIds`. */
function dryRunNaming(resourceIds: string[]): TunerRunRequest {
  seq += 1;
  return { trigger: 'manual', dryRun: true, override: false, idempotencyKey: `dry-${seq}`, resourceIds };
}

async function runAt(hourUtc: number, minute = 0): Promise<Decision[]> {
  const target = Date.parse(START) + hourUtc * HOUR + minute * MINUTE_MS;
  if (target > sim.nowMs()) sim.advanceTo(target);
  const summary = await runReplicas(request(), { config, store, now: sim.clock.now() });
  return summary.decisions;
}

const find = (ds: Decision[], action: string, outcome: string, resource?: string) =>
  ds.filter((d) => d.action === action && d.outcome === outcome && (!resource || d.resource === resource));

function never(): never {
  throw new Error('missing');
}

beforeEach(async () => {
  sim = buildAccount();
  uninstall = sim.install();
  store = new MemoryStateStore();
  await store.recordCreated('replicas', 'dbap-shop-mysql-1', { tuner: 'replicas' }, new Date(START));
});

afterEach(() => uninstall());

describe('replicas tuner on the simulated account', () => {
  it('scales the Aurora cluster out at the peak and back in after the window', async () => {
    // Prepare: the peak starts at 18:00; the tuner runs every 5 minutes.
    // Act: at 18:05 the one reader is pinned at 100% CPU: ceil(1 x 100/60) = 2 readers.
    const peak = await runAt(18, 5);
    expect(find(peak, 'add-replica', 'applied', 'catalog-aurora')).toHaveLength(1);
    const first = [...sim.rds.instances.values()].find((i) => i.id.startsWith('dbap-catalog-aurora'));
    expect(first?.status).toBe('creating');
    expect(first?.promotionTier).toBe(15);
    expect(first?.clusterId).toBe('catalog-aurora');
    expect(first?.tags.get('db-autopilot:created-by')).toBe('db-autopilot');
    expect(await store.wasCreatedByUs('replicas', first?.id ?? '')).toBe(true);
    // While it is created it counts: the same demand adds nothing more within 5 minutes (CPU pinned
    // at 100% hides how far demand is beyond, so after 5 minutes the policy steps again, as
    // Aurora Auto Scaling does after its cooldown).
    const during = await runAt(18, 8);

    expect(find(during, 'add-replica', 'applied')).toHaveLength(0);
    // Once available (Aurora: 12 minutes) the load spreads over 2 readers, one with a cold cache
    // (more CPU per query for its first 20 minutes): more readers are added for the peak.
    const rest: Decision[] = [];
    for (let m = 15; m < 120; m += 5) rest.push(...(await runAt(18 + Math.floor(m / 60), m % 60)));
    expect(first?.status).toBe('available');
    const created = () =>
      [...sim.rds.instances.values()].filter((i) => i.id.startsWith('dbap-catalog-aurora'));
    expect(created().length).toBeGreaterThanOrEqual(2);
    expect(created().every((i) => i.promotionTier === 15 && i.status === 'available')).toBe(true);
    // During the peak (1.6 readers of demand at 60% target) never fewer than 3 readers serve.
    expect(
      sim.rds.activeReaders(sim.rds.clusters.get('catalog-aurora') ?? never(), sim.nowMs()),
    ).toBeGreaterThanOrEqual(3);
    // After the peak (20:00) and the 30-minute stabilization window: back to one reader, ours removed.
    const remaining = created().map((i) => i.id);
    const evening: Decision[] = [];
    for (let m = 5; m <= 60; m += 5) evening.push(...(await runAt(20, m)));
    const removed = find(evening, 'remove-replica', 'applied');
    expect(removed.map((d) => d.resource).sort()).toEqual(remaining.sort());
    // Not before the stabilization window has passed the last peak recommendation (19:55 + 30 min).
    const earliest = Math.min(...removed.map((d) => Date.parse(d.at)));
    expect(earliest).toBeGreaterThanOrEqual(Date.parse(START) + 20 * HOUR + 25 * MINUTE_MS);
    // The reader it did not create is never removed, and named as left alone.
    expect(sim.rds.instances.get('catalog-aurora-reader-1')?.status).toBe('available');
    expect(find(evening, 'remove-replica', 'skipped', 'catalog-aurora-reader-1').length).toBeGreaterThan(0);
    expect(find(evening, 'remove-replica', 'applied', 'catalog-aurora-reader-1')).toHaveLength(0);
  });

  it('drains the idle MySQL replica it created through routing, then removes it, and leaves the other alone', async () => {
    const spec = { sourceId: 'shop-mysql', zoneId: ZONE, recordName: RECORD, readCpu: w.constant(20) };
    setReadRouting(sim, spec);
    putWeightedRecord(sim, spec, 'shop-mysql', 100);
    putWeightedRecord(sim, spec, 'dbap-shop-mysql-1', 100);
    sim.advance(10 * MINUTE_MS);
    // Run 1: its record is removed first (connections drain); nothing is deleted yet.
    const first = await runAt(3, 0);
    expect(find(first, 'remove-route', 'applied', 'dbap-shop-mysql-1')).toHaveLength(1);
    expect(find(first, 'remove-replica', 'applied')).toHaveLength(0);
    const zone = sim.route53.zones.get(ZONE);
    expect(zone?.records.map((r) => r.SetIdentifier)).toEqual(['shop-mysql']);
    // Run 2, later: drained, so deleted with SkipFinalSnapshot; the other replica is named and skipped.
    const second = await runAt(3, 10);
    expect(find(second, 'remove-replica', 'applied', 'dbap-shop-mysql-1')).toHaveLength(1);
    const skipped = find(second, 'remove-replica', 'skipped', 'shop-mysql-analytics');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.reason).toMatch(/db-autopilot (did not create|created may be deleted)/);
    expect(sim.rds.instances.get('dbap-shop-mysql-1')?.status).toBe('deleting');
    expect(sim.rds.instances.get('shop-mysql-analytics')?.status).toBe('available');
  });

  it('routes reads to a new MySQL replica only once it is available, and it then takes load', async () => {
    const spec = { sourceId: 'shop-mysql', zoneId: ZONE, recordName: RECORD, readCpu: w.constant(150) };
    setReadRouting(sim, spec);
    putWeightedRecord(sim, spec, 'shop-mysql', 100);
    // The analytics replica reads its own way and is busy; the primary serves all routed reads.
    const analytics = sim.rds.instances.get('shop-mysql-analytics');
    if (analytics) analytics.workload = { ...analytics.workload, cpu: w.constant(95) };
    const mine = sim.rds.instances.get('dbap-shop-mysql-1');
    if (mine) mine.workload = { ...mine.workload, cpu: w.constant(95) };
    putWeightedRecord(sim, spec, 'dbap-shop-mysql-1', 100);
    sim.advance(10 * MINUTE_MS);
    const out = await runAt(1, 0);
    const add = find(out, 'add-replica', 'applied', 'shop-mysql');
    expect(add.length).toBeGreaterThan(0);
    const created = [...sim.rds.instances.values()].find((i) => i.id.startsWith('dbap-shop-mysql-2'));
    expect(created?.replicaSourceId).toBe('shop-mysql');
    expect(created?.status).toBe('creating');
    // While it is created: no route to it.
    const waiting = await runAt(1, 10);
    expect(find(waiting, 'add-route', 'applied')).toHaveLength(0);
    // RDS creation time (20 min) later: routed, and it takes its share of the reads.
    sim.advance(20 * MINUTE_MS);
    const routed = await runAt(1, 35);
    expect(find(routed, 'add-route', 'applied', created?.id).length).toBe(1);
    expect(sim.route53.zones.get(ZONE)?.records.some((r) => r.SetIdentifier === created?.id)).toBe(true);
    // Its CPU: idle (3%) before its record, its equal share of the 150% of reads after it.
    const records = sim.route53.zones.get(ZONE)?.records.length ?? 0;
    expect(records).toBeGreaterThanOrEqual(3);
    const cpu = created?.workload.cpu;
    expect(cpu?.(Date.parse(START) + HOUR + 30 * MINUTE_MS)).toBeCloseTo(3, 5);
    expect(cpu?.(sim.nowMs() + MINUTE_MS)).toBeCloseTo(3 + 150 / records, 5);
  });

  it('in observe mode plans the scale-out, creates nothing and records the recommendation', async () => {
    const observe = configSchema.parse({ ...config, defaults: { ...config.defaults, mode: 'observe' } });
    sim.advanceTo(Date.parse(START) + 18 * HOUR + 5 * MINUTE_MS);
    const summary = await runReplicas(request(), { config: observe, store, now: sim.clock.now() });
    expect(find(summary.decisions, 'add-replica', 'planned', 'catalog-aurora')).toHaveLength(1);
    expect([...sim.rds.instances.keys()].some((id) => id.startsWith('dbap-catalog'))).toBe(false);
    const history = await store.getHistory('replicas', 'catalog-aurora', sim.clock.now());
    expect(history.tunerState?.recommendations).toEqual([{ at: sim.clock.now().toISOString(), readers: 2 }]);
  });

  it('in a dry run plans only and keeps no recommendation', async () => {
    sim.advanceTo(Date.parse(START) + 18 * HOUR + 5 * MINUTE_MS);
    const summary = await runReplicas(dryRunNaming(['catalog-aurora']), {
      config,
      store,
      now: sim.clock.now(),
    });
    expect(find(summary.decisions, 'add-replica', 'planned', 'catalog-aurora')).toHaveLength(1);
    expect(summary.decisions.every((d) => d.resource !== 'shop-mysql')).toBe(true);
    expect(
      (await store.getHistory('replicas', 'catalog-aurora', sim.clock.now())).tunerState,
    ).toBeUndefined();
  });

  it('runs the source a request names by one of its readers and notes an id it does not manage', async () => {
    sim.advanceTo(Date.parse(START) + 18 * HOUR + 5 * MINUTE_MS);
    const summary = await runReplicas(dryRunNaming(['catalog-aurora-reader-1', 'no-such-db']), {
      config,
      store,
      now: sim.clock.now(),
    });
    expect(find(summary.decisions, 'add-replica', 'planned', 'catalog-aurora')).toHaveLength(1);
    expect(summary.decisions.every((d) => d.resource !== 'shop-mysql')).toBe(true);
    expect(summary.notes).toContain(
      'no-such-db: not a managed Aurora cluster, RDS source or one of their replicas',
    );
  });
});

describe("the replica scaler's state writes", () => {
  it("holds the write of a repeated recommendation for the run's batch, and writes a new count at once", async () => {
    const writes: Array<{ source: string; held: boolean; readers: number[] }> = [];
    const put = store.putTunerState.bind(store);
    store.putTunerState = async (owner, resourceId, state, part, options) => {
      if (owner === 'replicas') {
        const recs = (state.recommendations ?? []) as Array<{ readers: number }>;
        writes.push({
          source: resourceId,
          held: options?.held === true,
          readers: recs.map((r) => r.readers),
        });
      }
      return put(owner, resourceId, state, part, options);
    };
    // Quiet hours: the same count every 5 minutes; then the peak asks for a new count.
    for (let m = 0; m <= 20; m += 5) await runAt(16, m);
    await runAt(18, 5);
    const aurora = writes.filter((w) => w.source === 'catalog-aurora');
    expect(aurora.length).toBeGreaterThanOrEqual(5);
    // The first run stores its first recommendation at once; the quiet runs only repeat it: held.
    expect(aurora[0]?.held).toBe(false);
    expect(aurora.slice(1, 5).every((w) => w.held)).toBe(true);
    // At the peak the count changes: written at once.
    const peak = aurora[aurora.length - 1];
    expect(peak?.readers.at(-1)).not.toBe(aurora[3]?.readers.at(-1));
    expect(peak?.held).toBe(false);
  });
});
