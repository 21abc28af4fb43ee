import { describe, expect, it } from 'vitest';
import { classifyReaders } from '../../../shared/policies/replica-readers.ts';
import { planReplicas, readerMonthlyCost, storageMonthlyCost } from '../../../shared/policies/replicas.ts';
import { priceTable } from '../../../shared/pricing.ts';
import {
  aurora,
  FALLBACK_RECORD,
  mysql,
  NOW,
  ours,
  ROUTING,
  reader,
  SOURCE_ENDPOINT,
  settings,
} from './fixtures.ts';

/** Issue 19: the policy steps that keep reads served, pure (the e2e tests run them on the simulated account). */
const noHistory = { recommendations: [] };
const withRouting = settings({ routing: ROUTING, scaleInStabilizationMinutes: 0 });
const kinds = (actions: Array<{ kind: string }>) => actions.map((a) => a.kind);

describe('routing upkeep', () => {
  it('adds the fallback record first when the record set has none', () => {
    const obs = mysql([ours('dbap-a', { cpuPercent: 50 })]);
    obs.routes = (obs.routes ?? []).filter((r) => r.setIdentifier !== FALLBACK_RECORD.setIdentifier);
    const { plan } = planReplicas(obs, withRouting, noHistory, NOW);
    const add = plan.actions.find((a) => a.kind === 'add-route' && a.resource.id === 'securecart-mysql');
    expect(add?.params).toMatchObject({
      setIdentifier: 'securecart-mysql',
      endpoint: SOURCE_ENDPOINT,
      weight: 1,
    });
  });

  it('reports a fallback record that does not point at the source', () => {
    const obs = mysql([ours('dbap-a')]);
    obs.routes = [{ ...FALLBACK_RECORD, value: 'elsewhere.example' }, ...(obs.routes ?? []).slice(1)];
    const { plan } = planReplicas(obs, withRouting, noHistory, NOW);
    expect(plan.actions.find((a) => a.kind === 'finding' && /fallback record/.test(a.reason))?.severity).toBe(
      'warning',
    );
  });

  for (const status of ['failed', 'storage-full', 'incompatible-network', 'deleting']) {
    it(`withdraws the record of a ${status} replica, whoever made it`, () => {
      const obs = mysql([reader('legacy'), ours('dbap-a', { status, cpuPercent: null })]);
      const theirs = mysql([ours('dbap-a'), reader('legacy', { status, cpuPercent: null })]);
      for (const [o, id] of [
        [obs, 'dbap-a'],
        [theirs, 'legacy'],
      ] as const) {
        const { plan } = planReplicas(o, withRouting, noHistory, NOW);
        const removal = plan.actions.find((a) => a.kind === 'remove-route' && a.params?.setIdentifier === id);
        expect(removal?.rules?.every((r) => r.verdict === 'ok')).toBe(true);
      }
    });
  }

  it('sweeps a record whose replica no longer exists', () => {
    const obs = mysql([ours('dbap-a')]);
    obs.routes?.push({ setIdentifier: 'dbap-gone', value: 'dbap-gone.abc', weight: 100 });
    const { plan } = planReplicas(obs, withRouting, noHistory, NOW);
    const sweep = plan.actions.find(
      (a) => a.kind === 'remove-route' && a.params?.setIdentifier === 'dbap-gone',
    );
    expect(sweep?.resource.id).toBe('securecart-mysql');
    expect(sweep?.reason).toMatch(/no live replica/);
  });

  it('never removes the last serving record: without a fallback, a lagging only replica keeps its record', () => {
    const obs = mysql([ours('dbap-a', { replicaLagSeconds: 900 })]);
    obs.routes = (obs.routes ?? []).filter((r) => r.setIdentifier === 'dbap-a');
    delete obs.source.endpoint; // the fallback cannot be added
    const { plan } = planReplicas(obs, withRouting, noHistory, NOW);
    const removal = plan.actions.find((a) => a.kind === 'remove-route');
    expect(removal?.rules?.[0]).toMatchObject({ rule: 'replicas:keeps-a-serving-record', verdict: 'skip' });
    expect(plan.actions.find((a) => a.kind === 'finding' && a.severity === 'critical')?.reason).toMatch(
      /no fallback record/,
    );
  });

  it('withdraws reads from a replica whose lag is not a number, as from a lagging one', () => {
    for (const lag of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const obs = mysql([ours('dbap-a'), ours('dbap-b', { replicaLagSeconds: lag })]);
      const classes = classifyReaders(obs, withRouting, NOW);
      expect(
        classes.lagging.map((r) => r.id),
        String(lag),
      ).toEqual(['dbap-b']);
      expect(
        classes.ready.map((r) => r.id),
        String(lag),
      ).toEqual(['dbap-a']);
      const { plan } = planReplicas(obs, withRouting, noHistory, NOW);
      expect(plan.actions.find((a) => a.kind === 'remove-route')?.params?.setIdentifier, String(lag)).toBe(
        'dbap-b',
      );
    }
  });

  it('on scale-in removes the record first and the replica only once no record routes to it', () => {
    const idle = { cpuPercent: 5, maxConnections: 0 };
    const routed = mysql([reader('legacy', idle), ours('dbap-a', idle)]);
    expect(kinds(planReplicas(routed, withRouting, noHistory, NOW).plan.actions)).toEqual(['remove-route']);
    const unrouted = mysql([reader('legacy', idle), ours('dbap-a', { ...idle, routed: false })]);
    const actions = planReplicas(unrouted, withRouting, noHistory, NOW).plan.actions;
    expect(
      actions.find((a) => a.kind === 'remove-replica' && a.resource.id === 'dbap-a')?.params,
    ).toMatchObject({
      routing: { hostedZoneId: ROUTING.hostedZoneId, recordName: ROUTING.recordName },
    });
  });

  it('does not route a replica it created until its settings match the source', () => {
    const obs = mysql([
      reader('legacy'),
      ours('dbap-a', { routed: false, mismatches: ['security groups sg-0default instead of sg-0app'] }),
    ]);
    const { plan } = planReplicas(obs, withRouting, noHistory, NOW);
    expect(kinds(plan.actions)).not.toContain('add-route');
    expect(plan.actions.find((a) => a.kind === 'finding')?.reason).toMatch(
      /security groups .* not routed until fixed/,
    );
  });
});

describe('failed and stuck replicas', () => {
  it('counts a failed replica against the per-source limit but not as capacity', () => {
    const failed = Array.from({ length: 14 }, (_, i) =>
      reader(`f${i}`, { status: 'failed', cpuPercent: null }),
    );
    const obs = aurora([reader('r1', { cpuPercent: 95 }), ...failed]);
    const add = planReplicas(obs, settings({ maxReaders: 15 }), noHistory, NOW).plan.actions.find(
      (a) => a.kind === 'add-replica',
    );
    expect(add?.rules?.find((r) => r.rule === 'replicas:per-source-limit')?.verdict).toBe('skip');
  });

  it('removes a failed replica it created and reports one it did not', () => {
    const obs = aurora([
      reader('r1'),
      ours('dbap-x', { status: 'failed', cpuPercent: null }),
      reader('theirs', { status: 'storage-full', cpuPercent: null }),
    ]);
    const { plan } = planReplicas(obs, settings(), noHistory, NOW);
    expect(
      plan.actions.find((a) => a.kind === 'remove-replica' && a.resource.id === 'dbap-x')?.rules,
    ).toEqual([{ rule: 'replicas:ownership', verdict: 'ok' }]);
    expect(plan.actions.find((a) => a.resource.id === 'theirs')?.kind).toBe('finding');
  });

  it('treats a replica creating for longer than stuckCreatingMinutes as stuck, not as a reader', () => {
    const obs = aurora([
      reader('r1', { cpuPercent: 70 }),
      ours('dbap-old', { status: 'creating', cpuPercent: null, createdAt: '2026-11-23T08:00:00.000Z' }),
    ]);
    const { plan } = planReplicas(obs, settings({ stuckCreatingMinutes: 360 }), noHistory, NOW);
    expect(plan.actions.find((a) => a.resource.id === 'dbap-old')?.reason).toMatch(/stuck creating/);
    expect(kinds(plan.actions)).toContain('add-replica');
  });
});

describe('Aurora Auto Scaling, costs and lag', () => {
  it('stands down for a cluster Aurora Auto Scaling manages, and says so', () => {
    const obs = aurora([reader('r1', { cpuPercent: 99 })], {
      autoScaling: { resourceId: 'cluster:securecart-aurora', minCapacity: 1, maxCapacity: 8 },
    });
    const result = planReplicas(obs, settings(), noHistory, NOW);
    expect(result.basis).toBe('aurora-auto-scaling');
    expect(result.plan.actions.every((a) => !a.mutating)).toBe(true);
    expect(result.plan.actions[0]?.reason).toMatch(/Aurora Auto Scaling manages the readers/);
  });

  it('prices a plain RDS replica with its storage and IOPS (io1 500 GiB, 10k IOPS: about +$1,062 a month)', () => {
    const prices = priceTable();
    const storage = { type: 'io1', allocatedGiB: 500, iops: 10_000 };
    expect(storageMonthlyCost(prices, storage)).toBeCloseTo(62.5 + 1000, 2);
    expect(readerMonthlyCost(prices, 'rds', 'db.r6g.large', storage)).toBeCloseTo(164.25 + 1062.5, 2);
    expect(readerMonthlyCost(prices, 'aurora', 'db.r6g.large', storage)).toBeCloseTo(0.26 * 730, 2);
  });

  it('names AuroraReplicaLag in milliseconds for a lagging Aurora reader', () => {
    const obs = aurora([reader('r1'), reader('r2', { replicaLagSeconds: 120 })]);
    const finding = planReplicas(obs, settings(), noHistory, NOW).plan.actions.find(
      (a) => a.kind === 'finding',
    );
    expect(finding?.evidence[0]).toMatchObject({
      metric: 'AuroraReplicaLag',
      unit: 'Milliseconds',
      value: 120_000,
    });
  });

  it('steps on every serving and coming reader while CPU is pinned, at most once per 5 minutes', () => {
    const fresh = aurora([
      reader('r1', { cpuPercent: 100 }),
      ours('dbap-new', { status: 'creating', cpuPercent: null, createdAt: '2026-11-23T17:58:00.000Z' }),
    ]);
    expect(planReplicas(fresh, settings(), noHistory, NOW).targetReaders).toBe(2);
    const older = aurora([
      reader('r1', { cpuPercent: 100 }),
      ours('dbap-new', { status: 'creating', cpuPercent: null, createdAt: '2026-11-23T17:54:00.000Z' }),
    ]);
    // ceil(2 x 100 / 60) = 4, as Aurora Auto Scaling would.
    expect(planReplicas(older, settings(), noHistory, NOW).targetReaders).toBe(4);
  });
});
