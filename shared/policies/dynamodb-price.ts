/**
 * Step 5 of the capacity decision: price a change at the table class's own rates. Standard-IA
 * tables pay more per capacity unit than Standard ones (shared/pricing.ts `dynamodb.ia.*`).
 *
 * Pure.
 */
import { HOURS_PER_MONTH, type PriceKey, type PriceTable, price } from '../pricing.ts';
import type { CapacityPair, TableClass } from './dynamodb-observation.ts';

export type DynamodbPriceItem = 'rcuHour' | 'wcuHour' | 'onDemandReadPerMillion' | 'onDemandWritePerMillion';

/** The price key of an item for a table class (`dynamodb.rcuHour` or `dynamodb.ia.rcuHour`). */
export function dynamodbPriceKey(item: DynamodbPriceItem, tableClass: TableClass = 'STANDARD'): PriceKey {
  return tableClass === 'STANDARD_INFREQUENT_ACCESS' ? `dynamodb.ia.${item}` : `dynamodb.${item}`;
}

export function monthlyCapacityCost(pair: CapacityPair, prices: PriceTable, tableClass?: TableClass): number {
  return (
    (pair.read * price(prices, dynamodbPriceKey('rcuHour', tableClass)) +
      pair.write * price(prices, dynamodbPriceKey('wcuHour', tableClass))) *
    HOURS_PER_MONTH
  );
}

/** Monthly cost change of moving from one capacity pair to another (negative = saving). */
export function priceChange(
  from: CapacityPair,
  to: CapacityPair,
  prices: PriceTable,
  tableClass?: TableClass,
): number {
  return monthlyCapacityCost({ read: to.read - from.read, write: to.write - from.write }, prices, tableClass);
}
