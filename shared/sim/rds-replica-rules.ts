import { RDSServiceException } from '@aws-sdk/client-rds';
import type { SimAccount } from './engine.ts';
import { serviceError } from './errors.ts';
import { arr, num, rec, str } from './paging.ts';
import { findOperation, type Input, registerOperations, registerRule } from './registry.ts';
import type { RdsInstance } from './services/rds.ts';
// The RDS operations must be registered before they are wrapped below.
import './services/rds.ts';
import type { Workload } from './workload.ts';

/**
 * Read replica rules added by the replicas tuner (issue #9), on top of shared/sim/services/rds.ts
 * (which already has creation times, `creating` -> `available`, the Aurora reader-endpoint load
 * split, the 15-per-source limit, backup retention and the instance quota):
 *
 * - DescribeAccountAttributes: the DBInstances quota (used / max).
 * - CreateDBInstance in a cluster: the engine must be the cluster's.
 * - Plain RDS read routing: a source's read load goes to the members of a Route 53 weighted
 *   record set (SetIdentifier = DB instance id) in proportion to their weights, from the minute a
 *   record is added until it is removed. A replica that is not in the record set takes no read
 *   load (aws-facts.md, read replicas: "a new replica offloads nothing until the application
 *   reads from it"). Record changes are kept as a history so lazily computed metric minutes see
 *   the routing of their own time.
 */

// RDS API reference, DescribeAccountAttributes: AccountQuotas with AccountQuotaName "DBInstances",
// Used and Max (aws-facts.md: default 40).
registerOperations('rds', {
  DescribeAccountAttributes: (sim) => {
    let used = 0;
    for (const i of sim.rds.instances.values()) if (i.status !== 'deleting') used++;
    return {
      AccountQuotas: [{ AccountQuotaName: 'DBInstances', Used: used, Max: sim.rds.quotas.dbInstances }],
    };
  },
});

registerRule('rds', 'CreateDBInstance', 'aurora-engine-matches-cluster', (sim, input) => {
  const clusterId = str(input.DBClusterIdentifier);
  const engine = str(input.Engine);
  const cluster = clusterId ? sim.rds.clusters.get(clusterId) : undefined;
  if (!cluster || !engine || engine === cluster.engine) return;
  // RDS API reference, CreateDBInstance: "Engine ... must match the engine of the DB cluster";
  // message as RDS returns it for a mismatch (InvalidParameterCombination).
  throw serviceError(
    RDSServiceException,
    'InvalidParameterCombination',
    `The engine name requested for your DB instance (${engine}) doesn't match the engine name of your DB cluster (${cluster.engine}).`,
  );
});

// ---------------------------------------------------------------- read routing

export interface ReadRoutingSpec {
  /** The plain RDS source whose reads the application sends through the record set. */
  sourceId: string;
  zoneId: string;
  /** The record name the application's read DSN points to. */
  recordName: string;
  /** Read CPU demand in % of one instance of the source's class, spread over the record set. */
  readCpu: Workload;
  /** Read connections, spread the same way. */
  readConnections?: Workload;
}

interface RoutingModel {
  spec: ReadRoutingSpec;
  /** Weights by SetIdentifier from `at` on (oldest first). */
  history: Array<{ at: number; weights: Map<string, number> }>;
}

const models = new WeakMap<SimAccount, RoutingModel[]>();

const norm = (name: string) => (name.endsWith('.') ? name : `${name}.`).toLowerCase();

function currentWeights(sim: SimAccount, spec: ReadRoutingSpec): Map<string, number> {
  const zone = sim.route53.zones.get(spec.zoneId.replace(/^\/hostedzone\//, ''));
  const weights = new Map<string, number>();
  for (const r of zone?.records ?? []) {
    if (norm(r.Name) === norm(spec.recordName) && r.Type === 'CNAME' && r.SetIdentifier) {
      weights.set(r.SetIdentifier, r.Weight ?? 0);
    }
  }
  return weights;
}

/** The share of the source's reads that instance `id` serves at `tMs`. */
export function readShare(model: RoutingModel, id: string, tMs: number): number {
  let weights: Map<string, number> | undefined;
  let latest = Number.NEGATIVE_INFINITY;
  for (const h of model.history) {
    if (h.at <= tMs && h.at >= latest) {
      weights = h.weights;
      latest = h.at;
    }
  }
  if (!weights) return 0;
  let total = 0;
  for (const w of weights.values()) total += w;
  return total > 0 ? (weights.get(id) ?? 0) / total : 0;
}

function routeWorkload(model: RoutingModel, inst: RdsInstance): void {
  const base = inst.workload;
  // The RDS service's defaults when a workload leaves them out (services/rds.ts: CPU 10 %, 5 connections).
  const baseCpu = base.cpu ?? (() => 10);
  const baseConn = base.connections ?? (() => 5);
  inst.workload = {
    ...base,
    cpu: (t) => baseCpu(t) + model.spec.readCpu(t) * readShare(model, inst.id, t),
    connections: (t) => baseConn(t) + (model.spec.readConnections?.(t) ?? 0) * readShare(model, inst.id, t),
  };
}

/**
 * Routes a plain RDS source's reads through a weighted record set: the source and each of its
 * replicas (existing and created later) take the record set's share of `readCpu`.
 * Records present now count from the start of the history.
 */
export function setReadRouting(sim: SimAccount, spec: ReadRoutingSpec): void {
  const model: RoutingModel = {
    spec,
    history: [{ at: sim.historyStartMs, weights: currentWeights(sim, spec) }],
  };
  const list = models.get(sim) ?? [];
  list.push(model);
  models.set(sim, list);
  const source = sim.rds.instances.get(spec.sourceId);
  if (source) routeWorkload(model, source);
  for (const r of sim.rds.replicasOf(spec.sourceId)) routeWorkload(model, r);
}

/** Adds (or replaces) a weighted CNAME for an instance, as a person or Terraform would. */
export function putWeightedRecord(sim: SimAccount, spec: ReadRoutingSpec, id: string, weight: number): void {
  const zone = sim.route53.zones.get(spec.zoneId.replace(/^\/hostedzone\//, ''));
  if (!zone) throw new Error(`no hosted zone ${spec.zoneId} in the simulated account`);
  const inst = sim.rds.instances.get(id);
  zone.records = zone.records.filter(
    (r) => !(norm(r.Name) === norm(spec.recordName) && r.Type === 'CNAME' && r.SetIdentifier === id),
  );
  zone.records.push({
    Name: norm(spec.recordName),
    Type: 'CNAME',
    SetIdentifier: id,
    Weight: weight,
    TTL: 30,
    ResourceRecords: [{ Value: `${inst?.id ?? id}.sim.${sim.region}.rds.amazonaws.com` }],
  });
  for (const m of models.get(sim) ?? []) {
    if (m.spec === spec) m.history.push({ at: sim.nowMs(), weights: currentWeights(sim, spec) });
  }
}

// Keep the routing history: the weights a change leaves, from the minute it is made. The rule runs
// before the operation; it replays the change on a copy and records only one that will succeed.
registerRule('route53', 'ChangeResourceRecordSets', 'replica-read-routing-history', (sim, input) => {
  const list = models.get(sim);
  if (!list || list.length === 0) return;
  const zoneId = (str(input.HostedZoneId) ?? '').replace(/^\/hostedzone\//, '');
  for (const model of list) {
    if (model.spec.zoneId.replace(/^\/hostedzone\//, '') !== zoneId) continue;
    const weights = new Map(currentWeights(sim, model.spec));
    let valid = true;
    let ttlSeconds = 0;
    for (const c of arr(rec(input.ChangeBatch).Changes).map(rec)) {
      const rs = rec(c.ResourceRecordSet);
      if (norm(str(rs.Name) ?? '') !== norm(model.spec.recordName) || str(rs.Type) !== 'CNAME') continue;
      ttlSeconds = Math.max(ttlSeconds, num(rs.TTL) ?? 0);
      const id = str(rs.SetIdentifier);
      if (!id) continue;
      if (c.Action === 'DELETE') {
        if (!weights.has(id)) valid = false;
        weights.delete(id);
      } else if (c.Action === 'CREATE' && weights.has(id)) {
        valid = false;
      } else {
        weights.set(id, Number(rs.Weight ?? 0));
      }
    }
    // Resolvers cache the old answer for the record's TTL: a change reaches clients only then
    // (and a removed replica keeps its clients' connections meanwhile).
    if (valid) model.history.push({ at: sim.nowMs() + ttlSeconds * 1000, weights });
  }
});

// New read replicas of a routed source take their share once a record points at them.
const createReplica = findOperation('rds', 'CreateDBInstanceReadReplica');
if (createReplica) {
  registerOperations('rds', {
    CreateDBInstanceReadReplica: async (sim: SimAccount, input: Input) => {
      const out = await createReplica(sim, input);
      const sourceId = str(input.SourceDBInstanceIdentifier);
      const id = str(input.DBInstanceIdentifier);
      const model = (models.get(sim) ?? []).find((m) => m.spec.sourceId === sourceId);
      const inst = id ? sim.rds.instances.get(id) : undefined;
      if (model && inst) routeWorkload(model, inst);
      return out;
    },
  });
}
