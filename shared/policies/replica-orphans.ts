/**
 * Replicas db-autopilot created that no longer are replicas: a person deleted their source (RDS
 * promotes a deleted source's same-Region read replicas to standalone DB instances: RDS User
 * Guide, USER_ReadRepl) or promoted them. No source lists them any more, so the replicas decision
 * never sees them again: without this step they would run, and be billed, unnoticed (design.md:
 * db-autopilot "never loses track of a resource it created").
 *
 * Such an instance may take writes now, so it is reported, never deleted: one warning finding per
 * instance, with what it costs. Pure: the tuner passes what DescribeDBInstances and the state
 * table say.
 */
import type { Action, Plan } from '../core/model.ts';
import type { PriceTable } from '../pricing.ts';
import { readerMonthlyCost } from './replica-cost.ts';
import type { SourceStorage } from './replica-types.ts';

export interface StandaloneReplica {
  id: string;
  arn?: string;
  status: string;
  instanceClass: string;
  /** The source it was created for (its `db-autopilot:source` tag), when known. */
  formerSource?: string;
  storage?: SourceStorage;
}

function dollars(n: number): string {
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** One plan per standalone instance: a warning finding that names it, its former source and its cost. */
export function planStandaloneReplicas(found: StandaloneReplica[], prices: PriceTable, now: Date): Plan[] {
  return found.map((r) => {
    const monthly = readerMonthlyCost(prices, 'rds', r.instanceClass, r.storage);
    const cost = monthly === null ? 'an unknown amount' : `about ${dollars(monthly)}/month`;
    const action: Action = {
      tuner: 'replicas',
      resource: { kind: 'rds-instance', id: r.id, ...(r.arn ? { arn: r.arn } : {}) },
      kind: 'finding',
      from: null,
      to: { standalone: r.id, formerSource: r.formerSource ?? null },
      reason: `${r.id} was created by db-autopilot as a read replica of ${r.formerSource ?? 'a source'} and is now a standalone DB instance (${r.status}): its source was deleted or it was promoted. db-autopilot no longer scales, routes or removes it, and it may take writes now, so it is never deleted automatically; it costs ${cost}: delete it by hand if nothing uses it, or remove its created-by tag to keep it (and this report)`,
      evidence: [],
      monthlyCostDelta: 0,
      undo: null,
      mutating: false,
      severity: 'warning',
    };
    return {
      tuner: 'replicas',
      resource: action.resource,
      observedAt: now.toISOString(),
      actions: [action],
    };
  });
}
