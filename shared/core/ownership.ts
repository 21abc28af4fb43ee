import type { StateStore } from './contracts.ts';
import type { Decision, TunerName } from './model.ts';

/**
 * Reconciliation of owned resources: an instance that carries db-autopilot's created-by tag but has
 * no creation record (the record was lost after the create) is adopted when db-autopilot's own
 * audit log shows it intended to create exactly that resource from that source before AWS created
 * it; otherwise it is left alone and reported (never deleted: deletion needs the record too).
 */
export interface TaggedResource {
  id: string;
  /** The cluster or source instance it belongs to. */
  sourceId: string;
  /** When AWS created it (InstanceCreateTime), ISO. */
  createdAt?: string;
}

export type AdoptVerdict =
  | { adopted: true; decisionId: string; detail: string }
  | { adopted: false; detail: string };

/** How far before the creation time an intent may be (a create is sent right after its intent). */
const INTENT_LEAD_MS = 24 * 3600_000;

/** Pure: the decision that intended to create `resource` from its source, if the log has one. */
export function creatingIntent(decisions: Decision[], resource: TaggedResource): Decision | undefined {
  const created = resource.createdAt ? Date.parse(resource.createdAt) : Number.POSITIVE_INFINITY;
  return decisions.find(
    (d) =>
      d.action === 'add-replica' &&
      d.params?.replicaId === resource.id &&
      d.params?.sourceId === resource.sourceId &&
      d.resource === resource.sourceId &&
      Date.parse(d.at) <= created,
  );
}

export async function adoptIfIntended(
  store: StateStore,
  tuner: TunerName,
  resource: TaggedResource,
  now: Date,
): Promise<AdoptVerdict> {
  const until = new Date(now.getTime() + 1).toISOString();
  const since = new Date(
    (resource.createdAt ? Date.parse(resource.createdAt) : now.getTime()) - INTENT_LEAD_MS,
  ).toISOString();
  const decisions = await store.listDecisions({ since, until, tuner, resource: resource.sourceId });
  const intent = creatingIntent(decisions, resource);
  if (!intent) {
    return {
      adopted: false,
      detail: `${resource.id} carries the created-by tag but no record or intent of db-autopilot created it: left alone and reported`,
    };
  }
  await store.recordCreated(
    tuner,
    resource.id,
    { tuner, sourceId: resource.sourceId, status: 'adopted', adoptedFrom: intent.id },
    now,
  );
  return {
    adopted: true,
    decisionId: intent.id,
    detail: `${resource.id} adopted: decision ${intent.id} intended to create it from ${resource.sourceId}`,
  };
}
