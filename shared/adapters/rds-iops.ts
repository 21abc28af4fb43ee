/**
 * How an IOPS (or storage-type) change is applied to an RDS instance. Thin: one Action in,
 * DescribeDBInstances / DescribeEvents / DescribeValidDBInstanceModifications / ModifyDBInstance
 * out, SDK errors turned into a typed ActResult.
 *
 * Defence in depth behind the executor's guards (a `revert` replays an undo without the policy's
 * rules, and the world may have moved since the plan), re-checked on live state:
 * - only `available` or `storage-full` instances (aws-facts.md, statuses);
 * - never while PendingModifiedValues holds anything but storage: ApplyImmediately=true would
 *   apply it too (aws-facts.md: a queued instance-class change reboots the database now);
 * - not while storage is optimizing, not within 6 h of a storage change, at most 4 per 24 h,
 *   counting RDS events (autoscaling, people) (aws-facts.md, RDS storage);
 * - AllocatedStorage and Iops together, StorageThroughput too on gp3 (aws-facts.md;
 *   cloud-custodian #6588, #8725), ApplyImmediately=true;
 * - validated against DescribeValidDBInstanceModifications before ModifyDBInstance;
 * - storage never grown only to unlock IOPS unless `allowStorageGrowthForIops` (aws-facts.md).
 */
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  DescribeEventsCommand,
  DescribeValidDBInstanceModificationsCommand,
  InsufficientDBInstanceCapacityFault,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  ProvisionedIopsNotAvailableInAZFault,
  type RDSClient,
  RDSServiceException,
  StorageQuotaExceededFault,
  StorageTypeNotSupportedFault,
  type ValidStorageOptions,
} from '@aws-sdk/client-rds';
import { z } from 'zod';
import { rdsClient } from '../aws/clients.ts';
import {
  asStorageType,
  gp3ThroughputFor,
  STORAGE_CHANGE_DAY_MS,
  STORAGE_CHANGE_WAIT_MS,
  stripingGiB,
} from '../aws/rds-storage-limits.ts';
import { clock } from '../core/clock.ts';
import type { Adapter } from '../core/contracts.ts';
import { publicMessage } from '../core/errors.ts';
import type { Action, ActResult } from '../core/model.ts';
import { type ValidStorageOption, validEdges } from '../policies/iops-bounds.ts';
import {
  buildStorageLedger,
  deferredUntil,
  type RdsEventLike,
  type RdsStorageStatus,
  storageChangeRules,
} from '../policies/iops-ledger.ts';

export interface IopsAdapterOptions {
  rds?: () => RDSClient;
  now?: () => Date;
  allowStorageGrowthForIops?: boolean;
}

/** When AWS says "not now" without saying until when: look again after this long. */
export const RETRY_STATE_MS = 30 * 60_000;
export const RETRY_CAPACITY_MS = 60 * 60_000;
export const RETRY_THROTTLE_MS = 5 * 60_000;

/** The parameters a set-iops / set-storage-type action (or its recorded undo) carries. */
const paramsSchema = z
  .object({
    AllocatedStorage: z.number().int().positive().optional(),
    Iops: z.number().int().positive().optional(),
    StorageThroughput: z.number().int().positive().optional(),
    StorageType: z.enum(['gp2', 'gp3', 'io1', 'io2']).optional(),
    growsStorage: z.boolean().optional(),
  })
  .passthrough();

export function createIopsAdapter(options: IopsAdapterOptions = {}): Adapter {
  const rds = options.rds ?? (() => rdsClient());
  const now = options.now ?? (() => clock().now());
  return async (action: Action): Promise<ActResult> => {
    if (action.kind !== 'set-iops' && action.kind !== 'set-storage-type') {
      return { status: 'skipped', reason: `the IOPS adapter does not apply "${action.kind}" actions` };
    }
    const parsed = paramsSchema.safeParse(action.params ?? {});
    if (!parsed.success) {
      const where = parsed.error.issues.map((i) => `params.${i.path.join('.')}: ${i.message}`).join('; ');
      return { status: 'failed', reason: `invalid action parameters: ${where}` };
    }
    const params = parsed.data;
    const id = action.resource.id;
    const t = now();
    const later = (ms: number) => new Date(t.getTime() + ms).toISOString();
    try {
      const client = rds();
      const described = await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
      const instance = described.DBInstances?.[0];
      if (!instance) return { status: 'skipped', reason: `${id} no longer exists` };
      const cluster = clusterMember(instance);
      if (cluster) return { status: 'skipped', reason: cluster };

      const live = await liveRules(client, instance, t);
      if (live) return live;

      const planned = modification(action, params, instance, options.allowStorageGrowthForIops === true);
      if ('status' in planned) return planned;
      let plan = planned;

      const valid = await client.send(
        new DescribeValidDBInstanceModificationsCommand({ DBInstanceIdentifier: id }),
      );
      const validOptions = valid.ValidDBInstanceModificationsMessage?.Storage ?? [];
      // Out of range: capped at the valid edge, not skipped (aws-facts.md, "Learned from review").
      const capped = capAtValidEdge(validOptions, plan, instance);
      if ('status' in capped) return capped;
      const problem = checkValid(validOptions, capped.plan);
      plan = capped.plan;
      if (problem) {
        return {
          status: 'skipped',
          reason: `DescribeValidDBInstanceModifications does not allow it: ${problem}`,
        };
      }
      const note = capped.note;
      const result = await client.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: id,
          AllocatedStorage: plan.allocatedStorage,
          ...(plan.iops !== undefined ? { Iops: plan.iops } : {}),
          ...(plan.storageThroughput !== undefined ? { StorageThroughput: plan.storageThroughput } : {}),
          ...(plan.storageType !== instance.StorageType ? { StorageType: plan.storageType } : {}),
          ApplyImmediately: true,
        }),
      );
      const status = result.DBInstance?.DBInstanceStatus ?? 'modifying';
      const what = [
        `AllocatedStorage ${plan.allocatedStorage}`,
        plan.iops !== undefined ? `Iops ${plan.iops}` : '',
        plan.storageThroughput !== undefined ? `StorageThroughput ${plan.storageThroughput}` : '',
        plan.storageType !== instance.StorageType ? `StorageType ${plan.storageType}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      return {
        status: 'applied',
        detail: `ModifyDBInstance accepted (${what}, ApplyImmediately); status ${status}${note ? `; ${note}` : ''}`,
        // Capped: the decision records the IOPS AWS was asked for (drift compares with it).
        ...(action.kind === 'set-iops' && note && plan.iops !== undefined ? { appliedTo: plan.iops } : {}),
      };
    } catch (error) {
      return mapRdsError(error, later);
    }
  };
}

interface Modification {
  allocatedStorage: number;
  iops?: number;
  storageThroughput?: number;
  storageType: string;
}

/**
 * Why an instance's storage must not be modified here, or undefined. Aurora cluster members (and
 * Multi-AZ DB cluster members) have no per-instance provisioned storage: the cluster owns it, and
 * CreateDBInstance/ModifyDBInstance `Iops` "doesn't apply to Amazon Aurora DB instances. Storage is
 * managed by the DB cluster" (RDS API Reference). The tuner filters them out too; this catches a
 * recorded undo or an alarm run that names one.
 */
export function clusterMember(instance: DBInstance): string | undefined {
  const engine = instance.Engine ?? '';
  const storage = instance.StorageType ?? '';
  if (!instance.DBClusterIdentifier && !engine.startsWith('aurora') && !storage.startsWith('aurora')) {
    return undefined;
  }
  const cluster = instance.DBClusterIdentifier ? ` of DB cluster ${instance.DBClusterIdentifier}` : '';
  return `${instance.DBInstanceIdentifier ?? 'instance'} is a cluster member${cluster} (engine ${engine || 'unknown'}): its storage is the cluster's, not provisioned per instance; never modified by the IOPS tuner`;
}

function modification(
  action: Action,
  params: z.infer<typeof paramsSchema>,
  instance: DBInstance,
  allowGrowth: boolean,
): Modification | ActResult {
  const currentGiB = instance.AllocatedStorage ?? 0;
  const storageType = params.StorageType ?? instance.StorageType ?? 'io1';
  const iops =
    params.Iops ?? (action.kind === 'set-iops' && typeof action.to === 'number' ? action.to : undefined);
  if (action.kind === 'set-iops' && iops === undefined) {
    return { status: 'failed', reason: 'set-iops without an IOPS value (params.Iops)' };
  }
  // Storage never shrinks; autoscaling (or a person) may have grown it since the plan, or queued a
  // larger size in PendingModifiedValues (ApplyImmediately applies it now): send the largest.
  const pendingGiB = instance.PendingModifiedValues?.AllocatedStorage ?? 0;
  const planned = params.AllocatedStorage ?? currentGiB;
  if (planned > currentGiB && !allowGrowth) {
    return {
      status: 'skipped',
      reason: `would grow storage ${currentGiB} -> ${planned} GiB to unlock IOPS; allowStorageGrowthForIops is off (a one-way full data copy, aws-facts.md)`,
    };
  }
  // "each size increase is at least 10%" (aws-facts.md, RDS storage). The plan grew by >= 10% from
  // the size it saw; if the size moved since, the growth may now be too small (and was sized for
  // another starting point): let the next run plan again from the live size.
  if (planned > currentGiB && planned < Math.ceil(currentGiB * 1.1)) {
    return {
      status: 'skipped',
      reason: `storage is ${currentGiB} GiB now (changed since the plan); growing to ${planned} GiB would be less than the 10% minimum increase (aws-facts.md): the next run plans again`,
    };
  }
  const allocatedStorage = Math.max(planned, currentGiB, pendingGiB);
  const gp3 = storageType === 'gp3';
  // gp3 below the striping size (400 GiB; Oracle 200; SQL Server none): fixed 3,000 IOPS /
  // 125 MiB/s that cannot be set (aws-facts.md table); sending either is rejected ("You can't
  // specify IOPS ... storage size less than 400").
  const stripe = stripingGiB(instance.Engine ?? '');
  if (gp3 && stripe !== undefined && allocatedStorage < stripe) {
    if (action.kind === 'set-iops') {
      return {
        status: 'skipped',
        reason: `gp3 below ${stripe} GiB (${allocatedStorage} GiB) has a fixed 3,000 IOPS baseline that cannot be set`,
      };
    }
    return { allocatedStorage, storageType };
  }
  // io1/io2 (and gp3 >= 400 GiB) need AllocatedStorage and Iops together, gp3 with its
  // StorageThroughput (aws-facts.md; cloud-custodian #6588, #8725).
  const sendIops = storageType === 'io1' || storageType === 'io2' || (gp3 && iops !== undefined);
  const sentIops = sendIops ? (iops ?? instance.Iops) : undefined;
  let storageThroughput: number | undefined;
  if (gp3) {
    const current = instance.StorageThroughput !== undefined && instance.StorageThroughput > 0;
    storageThroughput =
      params.StorageThroughput ??
      (sentIops !== undefined
        ? gp3ThroughputFor(sentIops, current ? instance.StorageThroughput : undefined)
        : current
          ? instance.StorageThroughput
          : undefined);
  }
  return { allocatedStorage, iops: sentIops, storageThroughput, storageType };
}

/** DescribeEvents pages read at most (100 events a page): far more than a day of one instance. */
const MAX_EVENT_PAGES = 20;
/**
 * Pages of one account-wide DescribeEvents read at most (100 events a page). Past this the read
 * is incomplete and returns undefined: events come oldest first, so the newest would be missing.
 */
const MAX_ACCOUNT_EVENT_PAGES = 50;

/** Every page of one DescribeEvents query, or undefined when more than `maxPages` pages remain. */
async function describeEventPages(
  client: RDSClient,
  query: { SourceIdentifier?: string; StartTime: Date; EndTime: Date },
  maxPages: number,
): Promise<{ events: RdsEventLike[]; ids: string[]; complete: boolean }> {
  const events: RdsEventLike[] = [];
  const ids: string[] = [];
  let marker: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const out = await client.send(
      new DescribeEventsCommand({
        ...query,
        SourceType: 'db-instance',
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    for (const e of out.Events ?? []) {
      events.push({
        date: (e.Date ?? query.EndTime).toISOString(),
        message: e.Message ?? '',
        categories: e.EventCategories,
      });
      ids.push(e.SourceIdentifier ?? '');
    }
    marker = out.Marker;
    if (!marker) return { events, ids, complete: true };
  }
  return { events, ids, complete: false };
}

/**
 * The instance's RDS events of the last 24 h, every page: DescribeEvents returns at most 100 per
 * call, oldest first, so a busy day's newest storage change (the one the 6 h wait counts from)
 * would be on a later page (aws-facts.md: the wait counts changes by autoscaling and people).
 */
export async function describeRecentEvents(
  client: RDSClient,
  id: string,
  t: Date,
  lookbackMs: number = STORAGE_CHANGE_DAY_MS,
): Promise<RdsEventLike[]> {
  const query = { SourceIdentifier: id, StartTime: new Date(t.getTime() - lookbackMs), EndTime: t };
  return (await describeEventPages(client, query, MAX_EVENT_PAGES)).events;
}

/**
 * Every DB instance's RDS events from `start` to `end` in one account-wide DescribeEvents (no
 * SourceIdentifier), every page, by instance id; undefined when the window holds more than
 * MAX_ACCOUNT_EVENT_PAGES pages (the caller then reads instance by instance).
 */
export async function describeAccountEvents(
  client: RDSClient,
  start: Date,
  end: Date,
): Promise<Map<string, RdsEventLike[]> | undefined> {
  const read = await describeEventPages(client, { StartTime: start, EndTime: end }, MAX_ACCOUNT_EVENT_PAGES);
  if (!read.complete) return undefined;
  const byId = new Map<string, RdsEventLike[]>();
  read.events.forEach((e, i) => {
    const id = read.ids[i] ?? '';
    const list = byId.get(id);
    if (list) list.push(e);
    else byId.set(id, [e]);
  });
  return byId;
}

/** DescribeValidDBInstanceModifications' storage options, as the policy reads them. */
export async function describeValidStorage(client: RDSClient, id: string): Promise<ValidStorageOption[]> {
  const out = await client.send(
    new DescribeValidDBInstanceModificationsCommand({ DBInstanceIdentifier: id }),
  );
  return (out.ValidDBInstanceModificationsMessage?.Storage ?? []).map(toValidOption);
}

function toValidOption(o: ValidStorageOptions): ValidStorageOption {
  const ranges = (rs: Array<{ From?: number; To?: number }> | undefined) =>
    (rs ?? []).map((r) => ({ from: r.From, to: r.To }));
  return {
    storageType: o.StorageType ?? '',
    storageSize: ranges(o.StorageSize),
    provisionedIops: ranges(o.ProvisionedIops),
    iopsToStorageRatio: ranges(o.IopsToStorageRatio),
  };
}

/** The storage-related facts of one DescribeDBInstances entry, as the storage ledger reads them. */
export function storageStatusOf(instance: DBInstance): RdsStorageStatus {
  return {
    status: instance.DBInstanceStatus ?? 'unknown',
    storageOperationStatus: instance.StorageOperationStatus,
    percentProgress:
      instance.StorageOperationPercentProgress ??
      (instance.PercentProgress !== undefined ? Number(instance.PercentProgress) : undefined),
    pendingModifiedValues: instance.PendingModifiedValues as Record<string, unknown> | undefined,
  };
}

/** The storage-change rules on live state: status, optimization, pending, 6 h, 4 per 24 h. */
async function liveRules(client: RDSClient, instance: DBInstance, t: Date): Promise<ActResult | undefined> {
  let events: RdsEventLike[] = [];
  try {
    events = await describeRecentEvents(client, instance.DBInstanceIdentifier ?? '', t);
  } catch {
    // DescribeEvents is a second source next to the state table's records and the policy's rules;
    // without it the status, optimization and pending checks below still hold.
  }
  const ledger = buildStorageLedger({ instance: storageStatusOf(instance), events, decisions: [] });
  const rules = storageChangeRules(ledger, t).filter((r) => r.verdict !== 'ok');
  if (rules.length === 0) return undefined;
  return {
    status: 'deferred',
    until: deferredUntil(rules) ?? new Date(t.getTime() + RETRY_STATE_MS).toISOString(),
    reason: rules.map((r) => `${r.rule}: ${r.reason ?? r.verdict}`).join('; '),
  };
}

/**
 * The plan with its IOPS moved inside what DescribeValidDBInstanceModifications allows for its
 * storage type and size (the valid edge), or why nothing is left to do.
 */
export function capAtValidEdge(
  options: ValidStorageOptions[],
  m: Modification,
  instance: DBInstance,
): { plan: Modification; note?: string } | ActResult {
  if (m.iops === undefined) return { plan: m };
  const type = asStorageType(m.storageType) ?? m.storageType;
  const edges = validEdges(
    options.map((o) => ({
      storageType: o.StorageType ?? '',
      storageSize: [],
      provisionedIops: (o.ProvisionedIops ?? []).map((r) => ({ from: r.From, to: r.To })),
      iopsToStorageRatio: (o.IopsToStorageRatio ?? []).map((r) => ({ from: r.From, to: r.To })),
    })),
    type,
    m.allocatedStorage,
  );
  if (!edges || (m.iops >= edges.lo && m.iops <= edges.hi)) return { plan: m };
  const iops = Math.min(edges.hi, Math.max(edges.lo, m.iops));
  if (iops === instance.Iops && m.allocatedStorage === instance.AllocatedStorage) {
    return {
      status: 'skipped',
      reason: `IOPS ${m.iops} is outside what DescribeValidDBInstanceModifications allows (${edges.lo}-${edges.hi} at ${m.allocatedStorage} GiB) and the instance is already at its edge (${iops})`,
    };
  }
  const storageThroughput =
    m.storageThroughput !== undefined ? gp3ThroughputFor(iops, m.storageThroughput) : undefined;
  return {
    plan: { ...m, iops, storageThroughput },
    note: `IOPS ${m.iops} capped at the valid edge ${iops} (DescribeValidDBInstanceModifications: ${edges.lo}-${edges.hi} at ${m.allocatedStorage} GiB)`,
  };
}

function inRanges(
  value: number,
  ranges: Array<{ From?: number; To?: number; Step?: number }> | undefined,
): boolean {
  if (!ranges || ranges.length === 0) return true;
  return ranges.some((r) => {
    const from = r.From ?? Number.NEGATIVE_INFINITY;
    const to = r.To ?? Number.POSITIVE_INFINITY;
    if (value < from || value > to) return false;
    return !r.Step || r.Step <= 1 || Number.isNaN(from) || (value - from) % r.Step === 0;
  });
}

/** Undefined when the modification is inside what DescribeValidDBInstanceModifications returned. */
export function checkValid(options: ValidStorageOptions[], m: Modification): string | undefined {
  const type = asStorageType(m.storageType) ?? m.storageType;
  const opts = options.filter((o) => o.StorageType === type);
  if (opts.length === 0) return `storage type ${type} is not offered for this instance`;
  const problems: string[] = [];
  for (const o of opts) {
    const p: string[] = [];
    if (!inRanges(m.allocatedStorage, o.StorageSize))
      p.push(`size ${m.allocatedStorage} GiB outside ${fmt(o.StorageSize)}`);
    if (m.iops !== undefined) {
      if (!inRanges(m.iops, o.ProvisionedIops)) p.push(`IOPS ${m.iops} outside ${fmt(o.ProvisionedIops)}`);
      const ratio = m.iops / m.allocatedStorage;
      if (
        !inRanges(
          ratio,
          o.IopsToStorageRatio?.map((r) => ({ From: r.From, To: r.To })),
        )
      )
        p.push(`IOPS/GiB ${ratio.toFixed(2)} outside ${fmt(o.IopsToStorageRatio)}`);
    }
    if (m.storageThroughput !== undefined) {
      if (!inRanges(m.storageThroughput, o.ProvisionedStorageThroughput))
        p.push(`throughput ${m.storageThroughput} MiB/s outside ${fmt(o.ProvisionedStorageThroughput)}`);
      if (m.iops !== undefined) {
        const tr = m.storageThroughput / m.iops;
        if (
          !inRanges(
            tr,
            o.StorageThroughputToIopsRatio?.map((r) => ({ From: r.From, To: r.To })),
          )
        )
          p.push(`throughput/IOPS ${tr.toFixed(3)} outside ${fmt(o.StorageThroughputToIopsRatio)}`);
      }
    }
    if (p.length === 0) return undefined;
    problems.push(...p);
  }
  return problems.join('; ');
}

function fmt(ranges: Array<{ From?: number; To?: number }> | undefined): string {
  return (ranges ?? []).map((r) => `${r.From ?? '?'}-${r.To ?? '?'}`).join(', ') || '(none)';
}

/**
 * RDS errors seen in the wild (aws-facts.md, RDS storage) and what each means for this change.
 * By class where the client defines one, else by `name` (InvalidParameterCombination has no
 * class); the InvalidParameterCombination variants only differ in their message, so those are
 * matched on the message (source: cloud-custodian #6588, #8725 and the RDS User Guide texts).
 * Steps: the error's code ({@link rdsErrorCode}), then its meaning ({@link BY_CODE},
 * {@link mapParameterCombination}).
 */
export function mapRdsError(error: unknown, later: (ms: number) => string): ActResult {
  const message = error instanceof Error ? error.message : String(error);
  const code = rdsErrorCode(error);
  if (code === undefined) return { status: 'failed', reason: publicMessage(error) };
  if (code === 'InvalidParameterCombination') return mapParameterCombination(message, later);
  const known = BY_CODE[code];
  return known ? known(message, later) : { status: 'failed', code, reason: publicMessage(error) };
}

/** The SDK's exception classes this adapter knows, by the wire code they stand for. */
const ERROR_CLASSES: Array<[string, new (...args: never[]) => Error]> = [
  ['InvalidDBInstanceState', InvalidDBInstanceStateFault],
  ['DBInstanceNotFound', DBInstanceNotFoundFault],
  ['InsufficientDBInstanceCapacity', InsufficientDBInstanceCapacityFault],
  ['StorageQuotaExceeded', StorageQuotaExceededFault],
  ['ProvisionedIopsNotAvailableInAZ', ProvisionedIopsNotAvailableInAZFault],
  ['StorageTypeNotSupported', StorageTypeNotSupportedFault],
];

/**
 * The wire code of an RDS error: its class where the client defines one; else its name. The SDK
 * names its classes after the wire code plus "Fault" (InvalidDBInstanceState ->
 * InvalidDBInstanceStateFault); an error from another copy of the SDK is not `instanceof` these
 * classes, so the name is matched with or without the suffix. Undefined: not an error at all.
 */
export function rdsErrorCode(error: unknown): string | undefined {
  for (const [code, cls] of ERROR_CLASSES) if (error instanceof cls) return code;
  if (error instanceof RDSServiceException || error instanceof Error) return error.name.replace(/Fault$/, '');
  return undefined;
}

type ErrorMeaning = (message: string, later: (ms: number) => string) => ActResult;

const throttled: ErrorMeaning = (message, later) => ({
  status: 'deferred',
  until: later(RETRY_THROTTLE_MS),
  reason: `RDS throttled the request: ${message}`,
});

/** What each known code means for a storage change. */
const BY_CODE: Record<string, ErrorMeaning> = {
  InvalidDBInstanceState: (message, later) => ({
    status: 'deferred',
    until: later(RETRY_STATE_MS),
    reason: `instance not in available state: ${message}`,
  }),
  DBInstanceNotFound: (message) => ({ status: 'skipped', reason: `instance not found: ${message}` }),
  InsufficientDBInstanceCapacity: (message, later) => ({
    status: 'deferred',
    until: later(RETRY_CAPACITY_MS),
    reason: `AWS lacks capacity now: ${message}`,
  }),
  StorageQuotaExceeded: (message) => ({
    status: 'failed',
    code: 'StorageQuotaExceeded',
    reason: `the account's storage quota is reached (raise it in Service Quotas): ${message}`,
  }),
  ProvisionedIopsNotAvailableInAZ: (message) => ({
    status: 'failed',
    code: 'ProvisionedIopsNotAvailableInAZ',
    reason: `Provisioned IOPS are not available in this instance's Availability Zone: ${message}`,
  }),
  StorageTypeNotSupported: (message) => ({
    status: 'skipped',
    reason: `storage type not supported for this instance: ${message}`,
  }),
  Throttling: throttled,
  ThrottlingException: throttled,
  RequestLimitExceeded: throttled,
};

/** InvalidParameterCombination: its variants differ only in their message. */
export function mapParameterCombination(message: string, later: (ms: number) => string): ActResult {
  if (/no modifications were requested/i.test(message)) {
    return { status: 'skipped', reason: `already at the requested storage settings: ${message}` };
  }
  if (/being optimized|optimiz/i.test(message)) {
    return {
      status: 'deferred',
      until: later(RETRY_STATE_MS),
      reason: `a previous storage change is still being optimized: ${message}`,
    };
  }
  if (/six hours|6 hours/i.test(message)) {
    // The message names the last modification ("... was at 2026-11-20T12:00:00.000Z"): retry
    // 6 h after it, else look again later.
    const at = message.match(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/)?.[0];
    const last = at ? Date.parse(at) : Number.NaN;
    const until = Number.isNaN(last) ? undefined : new Date(last + STORAGE_CHANGE_WAIT_MS).toISOString();
    return {
      status: 'deferred',
      until: until && until > later(0) ? until : later(RETRY_STATE_MS),
      reason: `the storage-change wait has not passed: ${message}`,
    };
  }
  if (/at most 4 storage|4 storage modifications|in 24 hours/i.test(message)) {
    // aws-facts.md, RDS storage: "at most 4 storage changes in any 24 hours": retry later.
    return {
      status: 'deferred',
      until: later(RETRY_CAPACITY_MS),
      reason: `the storage-change limit of 4 per 24 hours is reached: ${message}`,
    };
  }
  if (/less than 400|storage size less than/i.test(message)) {
    return { status: 'skipped', reason: `IOPS cannot be set at this storage size: ${message}` };
  }
  return { status: 'failed', code: 'InvalidParameterCombination', reason: `rejected by RDS: ${message}` };
}
