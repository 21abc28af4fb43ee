import { describe, expect, it } from 'vitest';
import {
  planReplicas,
  type ReplicaObservation,
  type ReplicaPolicyHistory,
  type ReplicaPolicySettings,
} from '../../../shared/policies/replicas.ts';
import { priceTable } from '../../../shared/pricing.ts';
import { NOW } from './fixtures.ts';

// A counterexample fast-check found for "never adds more replicas because a replica lags": with
// connections averaged only over readers that had a datapoint, taking an idle lagging reader out
// of the count raised the mean and so the desired count. Connections are now summed.
const obs = {
  family: 'aurora',
  source: {
    id: 'src-1',
    status: 'available',
    engine: 'aurora-mysql',
    backupRetentionPeriod: 0,
    instanceClass: 'db.r6g.large',
    cpuPercent: 50,
  },
  readers: [
    {
      id: ' ',
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: null,
      connections: null,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
    {
      id: '!',
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: 0,
      connections: null,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
    {
      id: '"',
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: null,
      connections: null,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
    {
      id: '#',
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: null,
      connections: null,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
    {
      id: '$',
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: null,
      connections: null,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
    {
      id: '  ',
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: null,
      connections: null,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
    {
      id: '%',
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: 0,
      connections: 0,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
    {
      id: '&',
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: 0,
      connections: 18.000000002000004,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
    {
      id: "'",
      status: 'available',
      instanceClass: 'db.r6g.large',
      cpuPercent: null,
      connections: null,
      maxConnections: null,
      replicaLagSeconds: null,
      ownershipTag: false,
      recordedCreated: false,
      routed: false,
    },
  ],
  account: {
    instancesUsed: 0,
    instanceQuota: 1,
  },
  window: {
    start: '2026-11-23T17:55:00.000Z',
    end: '2026-11-23T18:00:00.000Z',
    periodSeconds: 60,
  },
} as ReplicaObservation;
const settings = {
  ...{
    minReaders: 0,
    maxReaders: 10,
    targetCpuPercent: 10,
    targetConnectionsPerReader: 4,
    tolerance: 0,
    scaleInStabilizationMinutes: 0,
    maxReplicaLagSeconds: 0,
    drainConnectionThreshold: 0,
    instanceClasses: [],
    availabilityZones: [],
  },
  prices: priceTable(),
} as ReplicaPolicySettings;
const history = { recommendations: [] } as ReplicaPolicyHistory;

describe('replica policy, pinned counterexamples', () => {
  it('does not add a replica when an idle reader starts lagging', () => {
    const idx = 24 % obs.readers.length;
    const lagged = {
      ...obs,
      readers: obs.readers.map((r, i) => (i === idx ? { ...r, replicaLagSeconds: -1 } : r)),
    };
    const adds = (o: ReplicaObservation) =>
      planReplicas(o, settings, history, NOW).plan.actions.filter((a) => a.kind === 'add-replica').length;
    expect(adds(lagged)).toBeLessThanOrEqual(adds(obs));
  });
});
