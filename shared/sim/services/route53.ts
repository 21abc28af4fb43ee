import {
  HealthCheckAlreadyExists,
  HealthCheckInUse,
  InvalidChangeBatch,
  NoSuchHealthCheck,
  NoSuchHostedZone,
} from '@aws-sdk/client-route-53';
import type { SimAccount } from '../engine.ts';
import { errorMetadata } from '../errors.ts';
import { arr, rec, str } from '../paging.ts';
import { registerOperations } from '../registry.ts';

/** Simulated Route 53: hosted zones holding record sets (for plain-RDS read routing, issue #9). */
export interface RecordSet {
  Name: string;
  Type: string;
  SetIdentifier?: string;
  Weight?: number;
  TTL?: number;
  ResourceRecords?: Array<{ Value: string }>;
  HealthCheckId?: string;
}

export interface HealthCheck {
  Id: string;
  CallerReference: string;
  HealthCheckConfig: Record<string, unknown>;
  HealthCheckVersion: number;
}

export class Route53State {
  readonly zones = new Map<string, { name: string; records: RecordSet[] }>();
  /** Health checks by id (CLOUDWATCH_METRIC checks for private zones). */
  readonly healthChecks = new Map<string, HealthCheck>();
  /**
   * CallerReferences of deleted health checks: Route 53 keeps them "a number of days" and answers
   * HealthCheckAlreadyExists to a create that reuses one, whatever its settings (Route 53 API
   * reference, CreateHealthCheck, CallerReference). Kept for the whole simulation (harsher end).
   */
  readonly deletedCallerReferences = new Set<string>();
  private changeSeq = 0;
  constructor(private readonly sim: SimAccount) {}

  addZone(id: string, name: string): void {
    this.zones.set(id.replace(/^\/hostedzone\//, ''), { name, records: [] });
  }

  nextChangeId(): string {
    this.changeSeq += 1;
    return `/change/SIM${this.changeSeq}`;
  }

  now(): Date {
    return this.sim.clock.now();
  }
}

const meta = errorMetadata;
const norm = (name: string) => (name.endsWith('.') ? name : `${name}.`);
const same = (a: RecordSet, b: RecordSet) =>
  norm(a.Name) === norm(b.Name) && a.Type === b.Type && a.SetIdentifier === b.SetIdentifier;

function zoneOf(sim: SimAccount, id: string | undefined) {
  const key = (id ?? '').replace(/^\/hostedzone\//, '');
  const zone = sim.route53.zones.get(key);
  // Route 53 API reference, ChangeResourceRecordSets errors: NoSuchHostedZone.
  if (!zone)
    throw new NoSuchHostedZone({ message: `No hosted zone found with ID: ${key}`, $metadata: meta() });
  return zone;
}

registerOperations('route53', {
  ChangeResourceRecordSets: (sim, input) => {
    const zone = zoneOf(sim, str(input.HostedZoneId));
    const changes = arr(rec(input.ChangeBatch).Changes).map(rec);
    const next = [...zone.records];
    const messages: string[] = [];
    for (const c of changes) {
      const rs = rec(c.ResourceRecordSet) as unknown as RecordSet;
      const label = `[name='${norm(rs.Name)}', type='${rs.Type}'${rs.SetIdentifier ? `, set-identifier='${rs.SetIdentifier}'` : ''}]`;
      const idx = next.findIndex((r) => same(r, rs));
      // Route 53 API reference, ChangeResourceRecordSets: InvalidChangeBatch, messages as returned.
      if (c.Action === 'CREATE' && idx >= 0)
        messages.push(`Tried to create resource record set ${label} but it already exists`);
      else if (c.Action === 'DELETE' && idx < 0)
        messages.push(`Tried to delete resource record set ${label} but it was not found`);
      else if (c.Action === 'DELETE') next.splice(idx, 1);
      else if (idx >= 0) next[idx] = { ...rs, Name: norm(rs.Name) };
      else next.push({ ...rs, Name: norm(rs.Name) });
    }
    if (messages.length > 0)
      throw new InvalidChangeBatch({ message: messages.join('; '), messages, $metadata: meta() });
    zone.records = next;
    return {
      ChangeInfo: { Id: sim.route53.nextChangeId(), Status: 'INSYNC', SubmittedAt: sim.route53.now() },
    };
  },
  ListResourceRecordSets: (sim, input) => {
    const zone = zoneOf(sim, str(input.HostedZoneId));
    return { ResourceRecordSets: zone.records, IsTruncated: false, MaxItems: 300 };
  },
  // Route 53 API reference, CreateHealthCheck: the same CallerReference with the same config
  // returns the existing check; with another config, or as a deleted check's,
  // HealthCheckAlreadyExists.
  CreateHealthCheck: (sim, input) => {
    const ref = str(input.CallerReference) ?? '';
    const config = rec(input.HealthCheckConfig);
    if (sim.route53.deletedCallerReferences.has(ref)) {
      throw new HealthCheckAlreadyExists({
        message: `A health check with reference ${ref} was deleted: the reference cannot be reused yet`,
        $metadata: meta(),
      });
    }
    for (const hc of sim.route53.healthChecks.values()) {
      if (hc.CallerReference !== ref) continue;
      if (JSON.stringify(hc.HealthCheckConfig) === JSON.stringify(config)) return { HealthCheck: hc };
      throw new HealthCheckAlreadyExists({
        message: `A health check with reference ${ref} already exists`,
        $metadata: meta(),
      });
    }
    const hc = {
      Id: `hc-${sim.route53.nextChangeId().split('/').pop()}`,
      CallerReference: ref,
      HealthCheckConfig: config,
      HealthCheckVersion: 1,
    };
    sim.route53.healthChecks.set(hc.Id, hc);
    return { HealthCheck: hc, Location: `https://route53.amazonaws.com/2013-04-01/healthcheck/${hc.Id}` };
  },
  DeleteHealthCheck: (sim, input) => {
    const id = str(input.HealthCheckId) ?? '';
    if (!sim.route53.healthChecks.has(id)) {
      throw new NoSuchHealthCheck({
        message: `No health check exists with the specified ID ${id}`,
        $metadata: meta(),
      });
    }
    for (const zone of sim.route53.zones.values()) {
      if (zone.records.some((r) => r.HealthCheckId === id)) {
        throw new HealthCheckInUse({
          message: `Health check ${id} is still referenced by a record`,
          $metadata: meta(),
        });
      }
    }
    const deleted = sim.route53.healthChecks.get(id);
    if (deleted) sim.route53.deletedCallerReferences.add(deleted.CallerReference);
    sim.route53.healthChecks.delete(id);
    return {};
  },
  // Route 53 API reference, ListHealthChecks: every health check of the account, in pages
  // (MaxItems up to 1,000, default 100; Marker / NextMarker).
  ListHealthChecks: (sim, input) => {
    const all = [...sim.route53.healthChecks.values()];
    const max = Math.min(1000, Number(str(input.MaxItems) ?? input.MaxItems ?? 100) || 100);
    const marker = str(input.Marker);
    const from = marker
      ? Math.max(
          0,
          all.findIndex((hc) => hc.Id === marker),
        )
      : 0;
    const page = all.slice(from, from + max);
    const next = all[from + max];
    return {
      HealthChecks: page,
      Marker: marker ?? '',
      IsTruncated: next !== undefined,
      MaxItems: String(max),
      ...(next ? { NextMarker: next.Id } : {}),
    };
  },
  GetHealthCheck: (sim, input) => {
    const hc = sim.route53.healthChecks.get(str(input.HealthCheckId) ?? '');
    if (!hc)
      throw new NoSuchHealthCheck({
        message: 'No health check exists with the specified ID',
        $metadata: meta(),
      });
    return { HealthCheck: hc };
  },
});
