import { describe, expect, it } from 'vitest';
import type { Action } from '../../../shared/core/model.ts';
import { planReplicas, replicaName, scheduledReaders } from '../../../shared/policies/replicas.ts';
import { aurora, mysql, NOW, ours, ROUTING, reader, settings } from './fixtures.ts';

const noHistory = { recommendations: [] };
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();
const kinds = (actions: Action[]) => actions.map((a) => a.kind);
const blocking = (a: Action) => (a.rules ?? []).find((r) => r.verdict !== 'ok');

describe('replica policy (HPA-style)', () => {
  it('scales out at once to ceil(readers x CPU / target)', () => {
    // Prepare: 2 readers at 90% against a 60% target -> ceil(2 x 1.5) = 3.
    const obs = aurora([reader('r1', { cpuPercent: 90 }), reader('r2', { cpuPercent: 90 })]);
    // Act
    const { plan, targetReaders } = planReplicas(obs, settings(), noHistory, NOW);
    // Assess
    expect(targetReaders).toBe(3);
    const adds = plan.actions.filter((a) => a.kind === 'add-replica');
    expect(adds).toHaveLength(1);
    const add = adds[0];
    expect(add?.numericTarget).toBe(3);
    expect(add?.from).toBe(2);
    expect(add?.params).toMatchObject({
      family: 'aurora',
      sourceId: 'securecart-aurora',
      engine: 'aurora-postgresql',
      instanceClass: 'db.r6g.large',
    });
    expect(String(add?.params?.replicaId)).toMatch(/^dbap-securecart-aurora-/);
    // aurora.instance.db.r6g.large.hour = 0.26 x 730 h
    expect(add?.monthlyCostDelta).toBeCloseTo(189.8, 1);
    expect(add?.undo?.kind).toBe('remove-replica');
    expect(add?.evidence.find((e) => e.metric === 'CPUUtilization')?.value).toBe(90);
    expect(blocking(add as Action)).toBeUndefined();
  });

  it('adds several readers in one run when the load needs them', () => {
    const obs = aurora([reader('r1', { cpuPercent: 100 })]);
    const { plan } = planReplicas(obs, settings({ targetCpuPercent: 30, maxReaders: 10 }), noHistory, NOW);
    const adds = plan.actions.filter((a) => a.kind === 'add-replica');
    // ceil(1 x 100/30) = 4 -> 3 more readers, targets 2, 3, 4, distinct names.
    expect(adds.map((a) => a.numericTarget)).toEqual([2, 3, 4]);
    expect(new Set(adds.map((a) => a.params?.replicaId)).size).toBe(3);
  });

  it('changes nothing while the load ratio is within the tolerance band', () => {
    const obs = aurora([reader('r1', { cpuPercent: 64 }), reader('r2', { cpuPercent: 64 })]);
    const { plan, targetReaders } = planReplicas(obs, settings(), noHistory, NOW);
    expect(targetReaders).toBe(2);
    expect(plan.actions).toHaveLength(0);
    expect(plan.noopReason).toMatch(/tolerance/);
  });

  it('scales on connections when they are the higher ratio', () => {
    const obs = aurora([reader('r1', { cpuPercent: 20, connections: 300 })]);
    const { targetReaders } = planReplicas(
      obs,
      settings({ targetConnectionsPerReader: 100 }),
      noHistory,
      NOW,
    );
    expect(targetReaders).toBe(3);
  });

  it('never goes above maxReaders however hot the readers are', () => {
    const obs = aurora([reader('r1', { cpuPercent: 100 }), reader('r2', { cpuPercent: 100 })]);
    const { targetReaders, plan } = planReplicas(
      obs,
      settings({ maxReaders: 3, targetCpuPercent: 10 }),
      noHistory,
      NOW,
    );
    expect(targetReaders).toBe(3);
    expect(plan.actions.filter((a) => a.kind === 'add-replica')).toHaveLength(1);
  });

  it('holds a scale-in at the highest recommendation of the stabilization window', () => {
    const obs = aurora([
      reader('r1', { cpuPercent: 10 }),
      ours('dbap-a', { cpuPercent: 10, maxConnections: 0 }),
    ]);
    const history = { recommendations: [{ at: minutesAgo(10), readers: 2 }] };
    const held = planReplicas(obs, settings(), history, NOW);
    expect(held.targetReaders).toBe(2);
    expect(held.plan.actions.filter((a) => a.kind === 'remove-replica')).toHaveLength(0);
    // The same recommendation 40 minutes ago is outside the 30-minute window: scale in.
    const old = { recommendations: [{ at: minutesAgo(40), readers: 2 }] };
    const released = planReplicas(obs, settings(), old, NOW);
    expect(released.targetReaders).toBe(1);
    const removal = released.plan.actions.find(
      (a) => a.kind === 'remove-replica' && a.resource.id === 'dbap-a',
    );
    expect(removal?.deletes).toBe(true);
    expect(removal?.numericTarget).toBe(1);
    expect(removal?.monthlyCostDelta).toBeCloseTo(-189.8, 1);
    expect(blocking(removal as Action)).toBeUndefined();
  });

  it('keeps only the recommendations inside the window and adds the current one', () => {
    const obs = aurora([reader('r1', { cpuPercent: 50 })]);
    const history = {
      recommendations: [
        { at: minutesAgo(45), readers: 4 },
        { at: minutesAgo(5), readers: 2 },
      ],
    };
    const { tunerState } = planReplicas(obs, settings(), history, NOW);
    expect(tunerState.recommendations).toEqual([
      { at: minutesAgo(5), readers: 2 },
      { at: NOW.toISOString(), readers: 1 },
    ]);
  });

  it('does not count a lagging replica as capacity, reports it, and does not add for it', () => {
    // r2 is not replicating (-1); r1 runs at 90%: ceil(1 x 1.5) = 2 readers, which exist already.
    const obs = aurora([
      reader('r1', { cpuPercent: 90 }),
      reader('r2', { cpuPercent: 5, replicaLagSeconds: -1 }),
    ]);
    const { plan } = planReplicas(obs, settings(), noHistory, NOW);
    expect(kinds(plan.actions)).not.toContain('add-replica');
    const finding = plan.actions.find((a) => a.kind === 'finding');
    expect(finding?.resource.id).toBe('r2');
    expect(finding?.reason).toMatch(/not replicating/);
    expect(finding?.mutating).toBe(false);
  });

  it('reports a replica whose lag is above the threshold', () => {
    const obs = aurora([reader('r1'), reader('r2', { replicaLagSeconds: 600 })]);
    const { plan } = planReplicas(obs, settings(), noHistory, NOW);
    expect(plan.actions.find((a) => a.kind === 'finding')?.reason).toMatch(/lags 600 s/);
  });

  it('counts a replica being created, so its capacity is never added twice', () => {
    // 1 ready reader at 95% of a 60% target -> 2 readers; the second is being created: nothing to add.
    const obs = aurora([
      reader('r1', { cpuPercent: 95 }),
      ours('dbap-new', { status: 'creating', cpuPercent: null }),
    ]);
    const { plan } = planReplicas(obs, settings(), noHistory, NOW);
    expect(kinds(plan.actions)).not.toContain('add-replica');
  });

  it('adds only the readers the demand needs beyond those being created', () => {
    // ceil(1 x 95/30) = 4 readers: 2 exist (one creating) -> 2 more, targets 3 and 4.
    const obs = aurora([
      reader('r1', { cpuPercent: 95 }),
      ours('dbap-new', { status: 'creating', cpuPercent: null }),
    ]);
    const { plan } = planReplicas(obs, settings({ targetCpuPercent: 30 }), noHistory, NOW);
    expect(plan.actions.filter((a) => a.kind === 'add-replica').map((a) => a.numericTarget)).toEqual([3, 4]);
  });

  it('adds nothing while a replica is being created when told to wait for it', () => {
    const obs = aurora([
      reader('r1', { cpuPercent: 95 }),
      ours('dbap-new', { status: 'creating', cpuPercent: null }),
    ]);
    const { plan } = planReplicas(
      obs,
      settings({ targetCpuPercent: 30, waitForCreatingReplicas: true }),
      noHistory,
      NOW,
    );
    expect(kinds(plan.actions)).not.toContain('add-replica');
    expect(plan.noopReason).toMatch(/being created/);
  });

  it('sizes a scale-out on DBLoadCPU / vCPUs when CPUUtilization is pinned at 100%', () => {
    // DBLoadCPU 6 sessions on a 2-vCPU reader: 300% of its CPU is wanted: ceil(300 / 60) = 5 readers.
    const obs = aurora([reader('r1', { cpuPercent: 100, dbLoadCpu: 6, vcpus: 2 })]);
    const { targetReaders, plan } = planReplicas(obs, settings(), noHistory, NOW);
    expect(targetReaders).toBe(5);
    const add = plan.actions.find((a) => a.kind === 'add-replica');
    expect(add?.evidence.map((e) => e.metric)).toContain('DBLoadCPU');
  });

  it('without Performance Insights sizes on CPUUtilization alone (capped at 100%)', () => {
    const obs = aurora([reader('r1', { cpuPercent: 100, dbLoadCpu: null, vcpus: 2 })]);
    const { targetReaders } = planReplicas(obs, settings(), noHistory, NOW);
    expect(targetReaders).toBe(2);
  });

  it('defers a scale-out while the cluster is not available', () => {
    const obs = aurora([reader('r1', { cpuPercent: 95 })]);
    obs.source.status = 'modifying';
    const { plan } = planReplicas(obs, settings(), noHistory, NOW);
    const rule = blocking(plan.actions[0] as Action);
    expect(rule).toMatchObject({ rule: 'replicas:source-available', verdict: 'defer' });
    expect(rule?.until).toBe('2026-11-23T18:05:00.000Z');
  });

  it('skips a scale-out when the source keeps no backups', () => {
    const obs = mysql([reader('r1', { cpuPercent: 95 })]);
    obs.source.backupRetentionPeriod = 0;
    const { plan } = planReplicas(obs, settings({ routing: ROUTING }), noHistory, NOW);
    const add = plan.actions.find((a) => a.kind === 'add-replica');
    expect(blocking(add as Action)).toMatchObject({ rule: 'replicas:backup-retention', verdict: 'skip' });
  });

  it('stops at the account DB instance quota and says so', () => {
    const obs = aurora([reader('r1', { cpuPercent: 100 })], {
      account: { instancesUsed: 39, instanceQuota: 40 },
    });
    const { plan } = planReplicas(obs, settings({ targetCpuPercent: 20 }), noHistory, NOW);
    const adds = plan.actions.filter((a) => a.kind === 'add-replica');
    expect(adds).toHaveLength(1);
    const full = planReplicas(obs, settings({ targetCpuPercent: 20 }), noHistory, NOW);
    expect(full.plan.actions.filter((a) => a.kind === 'add-replica' && !blocking(a))).toHaveLength(1);
    const none = planReplicas(
      aurora([reader('r1', { cpuPercent: 100 })], { account: { instancesUsed: 40, instanceQuota: 40 } }),
      settings({ targetCpuPercent: 20 }),
      noHistory,
      NOW,
    );
    const only = none.plan.actions.filter((a) => a.kind === 'add-replica');
    expect(only).toHaveLength(1);
    expect(blocking(only[0] as Action)).toMatchObject({ rule: 'replicas:account-quota', verdict: 'skip' });
  });

  it('never plans more than 15 replicas for one source', () => {
    const readers = Array.from({ length: 15 }, (_, i) => reader(`r${i}`, { cpuPercent: 100 }));
    const { plan } = planReplicas(
      aurora(readers),
      settings({ maxReaders: 15, targetCpuPercent: 10 }),
      noHistory,
      NOW,
    );
    expect(plan.actions.filter((a) => a.kind === 'add-replica' && !blocking(a))).toHaveLength(0);
  });

  it('removes only replicas it created and names the ones it did not as skipped', () => {
    const obs = mysql([
      reader('legacy-replica', { cpuPercent: 1, maxConnections: 0, routed: false }),
      ours('dbap-securecart-mysql-1', { cpuPercent: 1, maxConnections: 0, routed: false }),
    ]);
    const { plan } = planReplicas(obs, settings({ minReaders: 0, routing: ROUTING }), noHistory, NOW);
    const removals = plan.actions.filter((a) => a.kind === 'remove-replica');
    const applied = removals.filter((a) => !blocking(a));
    expect(applied.map((a) => a.resource.id)).toEqual(['dbap-securecart-mysql-1']);
    const skipped = removals.find((a) => a.resource.id === 'legacy-replica');
    expect(blocking(skipped as Action)).toMatchObject({ rule: 'replicas:ownership', verdict: 'skip' });
    expect(skipped?.reason).toMatch(/did not create it/);
  });

  it('does not treat a tagged replica without a recorded create as its own', () => {
    const obs = aurora([
      reader('r1', { cpuPercent: 5 }),
      reader('dbap-x', { cpuPercent: 5, ownershipTag: true, recordedCreated: false, maxConnections: 0 }),
    ]);
    const { plan } = planReplicas(obs, settings(), noHistory, NOW);
    const removals = plan.actions.filter((a) => a.kind === 'remove-replica');
    expect(removals.every((a) => blocking(a)?.rule === 'replicas:ownership')).toBe(true);
    expect(removals.find((a) => a.resource.id === 'dbap-x')?.reason).toMatch(/no record of creating it/);
  });

  it('defers deleting a replica until its connections have drained', () => {
    const obs = aurora([
      reader('r1', { cpuPercent: 5 }),
      ours('dbap-a', { cpuPercent: 5, maxConnections: 12 }),
    ]);
    const { plan } = planReplicas(obs, settings(), noHistory, NOW);
    const removal = plan.actions.find((a) => a.resource.id === 'dbap-a');
    expect(blocking(removal as Action)).toMatchObject({ rule: 'replicas:drained', verdict: 'defer' });
    expect(blocking(removal as Action)?.reason).toMatch(/12 connections/);
  });

  it('never removes below minReaders', () => {
    const obs = aurora([
      ours('dbap-a', { cpuPercent: 1, maxConnections: 0 }),
      ours('dbap-b', { cpuPercent: 1, maxConnections: 0 }),
    ]);
    const { plan, targetReaders } = planReplicas(obs, settings({ minReaders: 2 }), noHistory, NOW);
    expect(targetReaders).toBe(2);
    expect(plan.actions.filter((a) => a.kind === 'remove-replica')).toHaveLength(0);
  });

  it('only recommends for plain RDS without routing or schedule', () => {
    const obs = mysql([reader('r1', { cpuPercent: 95, routed: false })]);
    const { plan, basis } = planReplicas(obs, settings(), noHistory, NOW);
    expect(basis).toBe('recommend-only');
    expect(plan.actions).toHaveLength(1);
    expect(plan.actions[0]).toMatchObject({ kind: 'recommend', mutating: false, to: 2 });
    expect(plan.actions[0]?.reason).toMatch(/routing/);
    // rds.instance.db.r6g.large.hour = 0.225 x 730
    expect(plan.actions[0]?.monthlyCostDelta).toBeCloseTo(164.25, 2);
  });

  it('follows the schedule for plain RDS without routing', () => {
    const schedule = [{ days: ['mon' as const], start: '17:00', end: '22:00', readers: 3 }];
    const obs = mysql([reader('r1', { cpuPercent: 5, routed: false })]);
    const { plan, basis, targetReaders } = planReplicas(obs, settings({ schedule }), noHistory, NOW);
    expect(basis).toBe('schedule');
    expect(targetReaders).toBe(3);
    expect(plan.actions.filter((a) => a.kind === 'add-replica')).toHaveLength(2);
  });

  it('stops routing to a replica before deleting it, then deletes it once drained', () => {
    const first = mysql([
      reader('legacy', { cpuPercent: 5, maxConnections: 3 }),
      ours('dbap-m', { cpuPercent: 5, maxConnections: 30, routed: true }),
    ]);
    const s = settings({ routing: ROUTING, scaleInStabilizationMinutes: 0 });
    const run1 = planReplicas(first, s, noHistory, NOW);
    const unroute = run1.plan.actions.find((a) => a.resource.id === 'dbap-m');
    expect(unroute?.kind).toBe('remove-route');
    expect(unroute?.deletes).toBeUndefined();
    expect(unroute?.params).toMatchObject({ hostedZoneId: ROUTING.hostedZoneId, replicaId: 'dbap-m' });
    // Next run: no longer routed and drained -> deleted.
    const second = mysql([
      reader('legacy', { cpuPercent: 8, maxConnections: 3 }),
      ours('dbap-m', { cpuPercent: 1, maxConnections: 0, routed: false }),
    ]);
    const run2 = planReplicas(second, s, noHistory, new Date(NOW.getTime() + 5 * 60_000));
    const del = run2.plan.actions.find((a) => a.resource.id === 'dbap-m');
    expect(del?.kind).toBe('remove-replica');
    expect(blocking(del as Action)).toBeUndefined();
  });

  it('routes reads to a replica it created once it is available and in sync', () => {
    const obs = mysql([
      reader('legacy', { cpuPercent: 70 }),
      ours('dbap-m', { routed: false, cpuPercent: 0 }),
    ]);
    const { plan } = planReplicas(obs, settings({ routing: ROUTING }), noHistory, NOW);
    const route = plan.actions.find((a) => a.kind === 'add-route');
    expect(route?.resource.id).toBe('dbap-m');
    expect(route?.params).toMatchObject({ endpoint: 'dbap-m.abc.us-east-1.rds.amazonaws.com', weight: 100 });
  });

  it('does not route reads to a replica whose ReplicaLag is not known yet', () => {
    const obs = mysql([
      reader('legacy', { cpuPercent: 70 }),
      ours('dbap-m', { routed: false, cpuPercent: 0, replicaLagSeconds: null }),
    ]);
    const { plan } = planReplicas(obs, settings({ routing: ROUTING }), noHistory, NOW);
    expect(plan.actions.find((a) => a.kind === 'add-route')).toBeUndefined();
  });

  it('does not count an unrouted plain RDS replica as capacity', () => {
    // legacy at 90%; dbap-m exists but is not routed: desired ceil(1 x 1.5) = 2 = existing -> no add.
    const obs = mysql([
      reader('legacy', { cpuPercent: 90 }),
      ours('dbap-m', { routed: false, cpuPercent: 0 }),
    ]);
    const { plan } = planReplicas(obs, settings({ routing: ROUTING }), noHistory, NOW);
    expect(kinds(plan.actions)).toEqual(['add-route']);
  });
});

describe('replica names and schedules', () => {
  it('names replicas dbap-<source>-<minute><n> within RDS identifier rules', () => {
    expect(replicaName('securecart-aurora', NOW, 1)).toBe('dbap-securecart-aurora-2026112318001');
    const long = replicaName(`a${'-b'.repeat(60)}`, NOW, 2);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^dbap-[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('matches schedule entries by UTC day and time, including windows across midnight', () => {
    const sched = [{ days: ['mon' as const], start: '22:00', end: '02:00', readers: 2 }];
    expect(scheduledReaders(sched, new Date('2026-11-23T23:00:00Z'))).toBe(2);
    expect(scheduledReaders(sched, new Date('2026-11-24T01:00:00Z'))).toBe(2);
    expect(scheduledReaders(sched, new Date('2026-11-24T03:00:00Z'))).toBeUndefined();
    expect(scheduledReaders(sched, new Date('2026-11-24T23:00:00Z'))).toBeUndefined();
  });
});
