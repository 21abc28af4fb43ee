import { type DynamodbConfig, dynamodbSection } from '../../../shared/config/sections/dynamodb.ts';
import type {
  CapacityResourceObservation,
  DimensionMetrics,
  TableObservation,
} from '../../../shared/policies/dynamodb-capacity.ts';

export const NOW = new Date('2026-03-10T12:00:00.000Z');

export function config(overrides: Partial<DynamodbConfig> = {}): DynamodbConfig {
  return { ...dynamodbSection.parse({}), ...overrides };
}

/** Per-minute metrics: `rate` units/s consumed every minute, `throttles` throttle events per minute. */
export function flat(
  minutes: number,
  rate: number,
  opts: { throttles?: number; keyRange?: number; account?: number; unitsPerRequest?: number } = {},
): DimensionMetrics {
  const upr = opts.unitsPerRequest ?? 1;
  return {
    periodSeconds: 60,
    consumedUnits: Array.from({ length: minutes }, () => rate * 60),
    successfulRequests: Array.from({ length: minutes }, () => (rate * 60) / upr),
    provisionedThrottleEvents: Array.from({ length: minutes }, () => opts.throttles ?? 0),
    keyRangeThrottleEvents: Array.from({ length: minutes }, () => opts.keyRange ?? 0),
    accountLimitThrottleEvents: Array.from({ length: minutes }, () => opts.account ?? 0),
  };
}

export function resource(
  indexName: string | null,
  read: number,
  write: number,
  metrics: { read: DimensionMetrics; write: DimensionMetrics },
  extra: Partial<CapacityResourceObservation> = {},
): CapacityResourceObservation {
  return {
    indexName,
    status: 'ACTIVE',
    provisioned: { read, write },
    decreases: { numberOfDecreasesToday: 0 },
    lastIncreaseAt: '2026-03-10T08:00:00.000Z',
    metrics,
    ...extra,
  };
}

export function table(
  t: CapacityResourceObservation,
  indexes: CapacityResourceObservation[] = [],
  extra: Partial<TableObservation> = {},
): TableObservation {
  const sum = (d: 'read' | 'write') => [t, ...indexes].reduce((s, r) => s + r.provisioned[d], 0);
  return {
    tableName: 'catalog',
    observedAt: NOW.toISOString(),
    billingMode: 'PROVISIONED',
    table: t,
    indexes,
    limits: {
      tableMax: { read: 40_000, write: 40_000 },
      accountMax: { read: 80_000, write: 80_000 },
      accountProvisioned: { read: sum('read'), write: sum('write') },
    },
    ...extra,
  };
}
