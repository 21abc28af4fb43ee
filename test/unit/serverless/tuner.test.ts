import type { DBCluster } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config/load.ts';
import type { ResourceHistory } from '../../../shared/core/contracts.ts';
import type { Decision } from '../../../shared/core/model.ts';
import type { DiscoveredTarget } from '../../../shared/discovery/index.ts';
import { MemoryStateStore } from '../../../shared/state/index.ts';
import { personBoundsAfter, serverlessAlarms } from '../../../shared/tuners/serverless.ts';
import {
  CHANGED_INDEX,
  changedClusters,
  handBackAction,
  leftAloneNotice,
  malformedNotice,
} from '../../../shared/tuners/serverless-handback.ts';

const PERSON = { min: 8, max: 32 };
const OURS = { min: 4.5, max: 36 };

function applied(to: unknown, at = '2026-11-20T00:00:00.000Z'): Decision {
  return {
    id: `run:${at}`,
    runId: 'run',
    at,
    tuner: 'serverless',
    resource: 'accounts',
    resourceKind: 'aurora-cluster',
    action: 'set-serverless-bounds',
    outcome: 'applied',
    reason: 'test',
    evidence: [],
    monthlyCostDelta: 0,
    from: PERSON,
    to,
    undo: null,
    mode: 'apply',
    dryRun: false,
    override: false,
    trigger: 'schedule',
    severity: 'info',
  };
}

function history(recent: Decision[], personBounds?: unknown): ResourceHistory {
  return { recent, ...(personBounds ? { tunerState: { personBounds } } : {}) };
}

function cluster(bounds: { min: number; max: number }): DiscoveredTarget<DBCluster> {
  return {
    ref: { kind: 'aurora-cluster', id: 'accounts' },
    tags: {},
    managed: true,
    created: false,
    optedOut: false,
    raw: {
      DBClusterIdentifier: 'accounts',
      Status: 'available',
      ServerlessV2ScalingConfiguration: { MinCapacity: bounds.min, MaxCapacity: bounds.max },
    },
  };
}

describe('the person’s bounds', () => {
  it('are the observed bounds while db-autopilot has changed nothing', () => {
    expect(personBoundsAfter(history([]), PERSON, false)).toEqual(PERSON);
  });

  it('stay what the person set once db-autopilot has changed them', () => {
    expect(personBoundsAfter(history([applied(OURS)], PERSON), OURS, false)).toEqual(PERSON);
  });

  it('become a person’s newer bounds when they change them (drift)', () => {
    expect(personBoundsAfter(history([applied(OURS)], PERSON), { min: 10, max: 40 }, true)).toEqual({
      min: 10,
      max: 40,
    });
  });
});

describe('handing the bounds back', () => {
  it('restores the person’s bounds exactly, recording db-autopilot’s as the undo', () => {
    const action = handBackAction(cluster(OURS), history([applied(OURS)], PERSON), 'paused');
    expect(action).toMatchObject({
      kind: 'set-serverless-bounds',
      from: OURS,
      to: PERSON,
      params: { clusterId: 'accounts', bounds: PERSON },
      undo: { params: { bounds: OURS } },
    });
    // No numericTarget: the person's own maximum is restored even above today's ceiling.
    expect(action?.numericTarget).toBeUndefined();
  });

  it('leaves a person’s newer change alone, and does nothing when the person’s bounds are in effect', () => {
    expect(
      handBackAction(cluster({ min: 10, max: 40 }), history([applied(OURS)], PERSON), 'paused'),
    ).toBeUndefined();
    expect(handBackAction(cluster(PERSON), history([applied(PERSON)], PERSON), 'paused')).toBeUndefined();
    expect(handBackAction(cluster(OURS), history([], undefined), 'paused')).toBeUndefined();
  });

  it('tells the person their newer range stays, changing nothing; no notice while db-autopilot’s or their own is in effect', () => {
    const notice = leftAloneNotice(
      cluster({ min: 10, max: 40 }),
      history([applied(OURS)], PERSON),
      'cluster no longer managed',
    );
    expect(notice).toMatchObject({ kind: 'recommend', mutating: false, undo: null });
    expect(notice?.reason).toContain('range is 10-40 ACU, changed by a person since db-autopilot set 4.5-36');
    expect(leftAloneNotice(cluster(OURS), history([applied(OURS)], PERSON), 'x')).toBeUndefined();
    expect(leftAloneNotice(cluster(PERSON), history([applied(OURS)], PERSON), 'x')).toBeUndefined();
  });
});

/** Stored person's ranges that are not what the tuner writes (an older version's, or edited by hand). */
const MALFORMED: Array<[string, unknown, string]> = [
  ['a bound of the wrong type', { min: '8', max: 32 }, 'the record still says MaxCapacity 32 ACU'],
  ['a missing bound', { min: 8 }, 'the record still says MinCapacity 8 ACU'],
  ['an out-of-range bound', { min: 8, max: 512 }, 'the record still says MinCapacity 8 ACU'],
  ['a maximum below the minimum', { min: 32, max: 8 }, 'MinCapacity 32 and MaxCapacity 8'],
  ['not an object', 'eight to thirty-two', "the person's range is not known"],
];

describe('a malformed stored person’s range', () => {
  it.each(MALFORMED)(
    'is never handed back (%s): a recorded notice says why and what it still says',
    (_, bad, says) => {
      const h = history([applied(OURS)], bad);
      expect(handBackAction(cluster(OURS), h, 'paused')).toBeUndefined();
      expect(leftAloneNotice(cluster(OURS), h, 'paused')).toBeUndefined();
      const notice = malformedNotice(cluster(OURS), h, 'paused');
      expect(notice).toMatchObject({ kind: 'recommend', mutating: false, undo: null });
      expect(notice?.params).toBeUndefined();
      expect(notice?.reason).toContain(
        "did not hand back its range 4.5-36 ACU: the person's range kept in the state table is not valid (",
      );
      expect(notice?.reason).toContain(says);
    },
  );

  it.each(MALFORMED)(
    'is left as stored while db-autopilot’s range is in effect (%s), replaced once a person sets one',
    (_, bad) => {
      const h = history([applied(OURS)], bad);
      expect(personBoundsAfter(h, OURS, false)).toBeUndefined();
      expect(personBoundsAfter(h, { min: 10, max: 40 }, true)).toEqual({ min: 10, max: 40 });
      expect(personBoundsAfter(history([], bad), PERSON, false)).toEqual(PERSON);
    },
  );

  it('gives no notice when the stored range is valid, or db-autopilot’s is not in effect', () => {
    expect(malformedNotice(cluster(OURS), history([applied(OURS)], PERSON), 'x')).toBeUndefined();
    expect(
      malformedNotice(cluster({ min: 10, max: 40 }), history([applied(OURS)], { min: '8' }), 'x'),
    ).toBeUndefined();
  });
});

describe('the changed-clusters index', () => {
  it('names only DB cluster identifiers', async () => {
    const store = new MemoryStateStore();
    await store.putTunerState('serverless', CHANGED_INDEX, {
      clusters: ['accounts', 'not a cluster!', 7, '-dash-first', null, 'dev-1'],
    });
    expect(await changedClusters(store, new Date())).toEqual(['accounts', 'dev-1']);
  });
});

describe('serverless config section', () => {
  it('names the line and field of every bad value and changes nothing', () => {
    const yaml = [
      'version: 1',
      'tuners:',
      '  serverless:',
      '    maxCapacityCeiling: 300',
      '    minCapacityFloor: 0.25',
      '    bogus: 1',
    ].join('\n');
    expect(() => parseConfig(yaml, 'db-autopilot.yml')).toThrowError(
      /db-autopilot\.yml:4 tuners\.serverless\.maxCapacityCeiling[\s\S]*db-autopilot\.yml:5 tuners\.serverless\.minCapacityFloor: a capacity in 0\.5 ACU steps[\s\S]*Unrecognized key: "bogus"/,
    );
  });

  it('defaults to observe-friendly values: 5-minute cooldown, AWS’s 256 ACU ceiling, no auto-pause', () => {
    const s = parseConfig('version: 1\ntuners:\n  serverless: {}\n').tuners.serverless;
    expect(s).toMatchObject({
      cooldownMinutes: 5,
      maxCapacityCeiling: 256,
      minCapacityFloor: 0.5,
      allowAutoPause: false,
    });
    expect(s?.mode).toBeUndefined();
  });
});

describe('serverless alarms', () => {
  it('wants an ACUUtilization >= 99% alarm on each managed Serverless v2 cluster only', () => {
    const config = parseConfig('version: 1\ntuners:\n  serverless: {}\n');
    const provisioned = { ...cluster(PERSON), raw: { DBClusterIdentifier: 'catalog' } };
    const specs = serverlessAlarms([cluster(PERSON), provisioned], config);
    expect(specs).toHaveLength(1);
    expect(specs[0]).toMatchObject({
      resourceId: 'accounts',
      metricName: 'ACUUtilization',
      dimensions: { DBClusterIdentifier: 'accounts' },
      threshold: 99,
      comparison: 'GreaterThanOrEqualToThreshold',
    });
  });
});
