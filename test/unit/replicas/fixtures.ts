import type {
  ReaderObservation,
  ReplicaObservation,
  ReplicaPolicySettings,
} from '../../../shared/policies/replicas.ts';
import { priceTable } from '../../../shared/pricing.ts';

export const NOW = new Date('2026-11-23T18:00:00.000Z');

export function reader(id: string, overrides: Partial<ReaderObservation> = {}): ReaderObservation {
  return {
    id,
    status: 'available',
    instanceClass: 'db.r6g.large',
    cpuPercent: 50,
    connections: 40,
    maxConnections: 45,
    replicaLagSeconds: 0.2,
    ownershipTag: false,
    recordedCreated: false,
    routed: true,
    endpoint: `${id}.abc.us-east-1.rds.amazonaws.com`,
    ...overrides,
  };
}

export function ours(id: string, overrides: Partial<ReaderObservation> = {}): ReaderObservation {
  return reader(id, { ownershipTag: true, recordedCreated: true, ...overrides });
}

export function aurora(
  readers: ReaderObservation[],
  overrides: Partial<ReplicaObservation> = {},
): ReplicaObservation {
  return {
    family: 'aurora',
    source: {
      id: 'securecart-aurora',
      status: 'available',
      engine: 'aurora-postgresql',
      backupRetentionPeriod: 7,
      instanceClass: 'db.r6g.large',
    },
    readers,
    account: { instancesUsed: 10, instanceQuota: 40 },
    window: { start: '2026-11-23T17:55:00.000Z', end: NOW.toISOString(), periodSeconds: 60 },
    ...overrides,
  };
}

export function mysql(
  readers: ReaderObservation[],
  overrides: Partial<ReplicaObservation> = {},
): ReplicaObservation {
  return {
    ...aurora(readers),
    family: 'rds',
    source: {
      id: 'securecart-mysql',
      status: 'available',
      engine: 'mysql',
      backupRetentionPeriod: 7,
      instanceClass: 'db.m6g.large',
    },
    ...overrides,
  };
}

export const ROUTING = {
  hostedZoneId: 'Z0123456789ABC',
  recordName: 'reads.securecart.internal',
  ttlSeconds: 30,
  weight: 100,
};

export function settings(overrides: Partial<ReplicaPolicySettings> = {}): ReplicaPolicySettings {
  return {
    minReaders: 1,
    maxReaders: 5,
    targetCpuPercent: 60,
    tolerance: 0.1,
    scaleInStabilizationMinutes: 30,
    maxReplicaLagSeconds: 60,
    drainConnectionThreshold: 5,
    instanceClasses: [],
    availabilityZones: [],
    prices: priceTable(),
    ...overrides,
  };
}
