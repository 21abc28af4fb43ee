import type {
  ReaderObservation,
  ReplicaObservation,
  ReplicaPolicySettings,
  RouteRecord,
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
    mismatches: [],
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

export const SOURCE_ENDPOINT = 'securecart-mysql.abc.us-east-1.rds.amazonaws.com';

/** The fallback record every routed record set keeps (the source's endpoint). */
export const FALLBACK_RECORD: RouteRecord = {
  setIdentifier: 'securecart-mysql',
  value: SOURCE_ENDPOINT,
  weight: 1,
};

/** The records a record set holds for these readers: the fallback and one per routed reader. */
export function recordsFor(readers: ReaderObservation[]): RouteRecord[] {
  return [
    FALLBACK_RECORD,
    ...readers
      .filter((r) => r.routed)
      .map((r) => ({ setIdentifier: r.id, value: r.endpoint ?? `${r.id}.abc`, weight: 100 })),
  ];
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
      endpoint: SOURCE_ENDPOINT,
    },
    routes: recordsFor(readers),
    ...overrides,
  };
}

export const ROUTING = {
  hostedZoneId: 'Z0123456789ABC',
  recordName: 'reads.securecart.internal',
  ttlSeconds: 30,
  weight: 100,
  fallback: { setIdentifier: 'securecart-mysql', weight: 1 },
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
