import type { HistoryOptions, StateOwner } from '../core/contracts.ts';
import { type Decision, REPORTING_RECORDERS, TUNER_NAMES, type TunerName } from '../core/model.ts';
import { currentScopeKey, HOME_SCOPE } from '../core/scope.ts';

/**
 * # The state table's key layout (one table; every partition key begins with its owner)
 *
 *     pk = <owner>#<scope>#<kind>[#<name>]
 *
 * - owner: the tuner the item belongs to (`iops`, `replicas`, `dynamodb`, `dynamodb-mode`,
 *   `prewarm`, `maintenance`, `insights`, `alarms`, `control`) or a reporting function's own
 *   state and failed runs (`report`, `digest`). A name is always followed by `#`, so the IAM pattern `dynamodb#*`
 *   never matches `dynamodb-mode#...`.
 * - scope: the account and Region the item is about: `home` (the account and Region the
 *   deployment runs in) or, for a fleet's member account and Region (issue 27), `<account>.<region>`
 *   (e.g. `123456789012.eu-west-1`), written beside `home` without moving any item; the IAM
 *   patterns `<owner>#*` cover both. The scope is the one of the work in progress
 *   (`runInScope`, shared/core/scope.ts; `home` outside any), so the stores and every reader are
 *   scoped without passing it around: two accounts with the same resource names never share a key.
 *
 * | pk                                | sk                    | item                                     |
 * |-----------------------------------|-----------------------|------------------------------------------|
 * | `<tuner>#<scope>#res#<resource>`  | `d#<at>#<id>`         | a notable decision (audit log, TTL); its |
 * |                                   |                       | evidence apart (`evidenceApart`; before: |
 * |                                   |                       | its `evidence` attribute or inside)      |
 * | `<tuner>#<scope>#res#<resource>`  | `s#<at>#<id>`         | that decision's evidence (`evidence`,    |
 * |                                   |                       | `evidenceOf` = id; its byDay keys, TTL)  |
 * | `<tuner>#<scope>#res#<resource>`  | `n#<at>#<id>`         | a no-op decision, slim (audit log, TTL); |
 * |                                   |                       | a run's written 25 to a BatchWriteItem   |
 * | `<tuner>#<scope>#res#<resource>`  | `r#<at>#<id>`         | a repeated skip or deferral, slim,       |
 * |                                   |                       | counted on its first (`repeatedAt`,      |
 * |                                   |                       | `latestRepeat`; audit log, TTL)          |
 * | `<tuner>#<scope>#res#<resource>`  | `m#ledger`            | lastAppliedAt, appliedCount (cooldowns)  |
 * | `<tuner>#<scope>#res#<resource>`  | `m#last#<action>`     | newest applied decision of that kind     |
 * |                                   |                       | (without its evidence)                   |
 * | `<tuner>#<scope>#res#<resource>`  | `m#drift`             | drift back-off and baseline              |
 * | `<tuner>#<scope>#res#<resource>`  | `m#intent#<id>`       | an intended change not yet resolved      |
 * | `<tuner>#<scope>#intents`         | `<at>#<id>`           | the same, indexed per tuner (settled at  |
 * |                                   |                       | the start of every run of the tuner)     |
 * | `<owner>#<scope>#res#<resource>`  | `m#state`             | free-form tuner / report / digest state  |
 * | `<owner>#<scope>#res#<resource>`  | `m#state#<part>`      | a part of it kept on its own (large,     |
 * |                                   |                       | rewritten only when it changes)          |
 * | `<tuner>#<scope>#lock#<resource>` | `lock`                | lease lock (TTL)                         |
 * | `<tuner>#<scope>#idem#<key>`      | `idem`                | idempotency key of a run (TTL)           |
 * | `<tuner>#<scope>#created#<res>`   | `created`             | "db-autopilot created it" (no TTL)       |
 * | `<tuner>#<scope>#agg`             | `day#YYYY-MM-DD`      | counts and cost sums of a day (a month:  |
 * |                                   |                       | the sum of its days, one key range)      |
 * | `report#<scope>#reported`         | `<at>#<id>`           | a decision the report function posted    |
 *
 * Notable = every decision but a no-op that did not fail (see `isNotable`): what the reports,
 * the digest, revert and the tuners' own ledgers read. Notable decisions also carry the keys of two
 * sparse global secondary indexes (no-ops are in neither):
 * - `byDay`: dayPk = `<tuner>#<scope>#day#YYYY-MM-DD`, daySk = `<at>#<id>` (projection ALL; the
 *   evidence item of a decision carries the same keys, so a day's query returns both);
 * - `byId`:  decisionId = `<id>` (KEYS_ONLY; revert finds a decision by id; not on evidence items).
 *
 * A resource's history (getHistory) is one consistent query of `d#<24 h ago>` .. `m#\uffff`, newest
 * first: every `m#` item, then the notable decisions of the day, newest first, without evidence
 * (a notable decision's evidence is in its `s#` item, outside that range: a history reads ~1 KB
 * per decision, not its metric series). Every reader of evidence merges it back by id: a
 * resource's decisions (one more query of the `s#` range when any keeps it apart), a day's
 * (`byDay` returns both), the audit export (scan), a decision by id or the newest (a GetItem).
 *
 * Every read is bounded by key: a resource's decisions by a sort-key range of its own partition,
 * a window of notable decisions by one `byDay` query per tuner and day with a `daySk` range.
 *
 * ## Which function writes which partition keys (IAM `dynamodb:LeadingKeys`: `<owner>#*`)
 * See `STATE_WRITERS` below: the owners each function's role may write.
 */

export type { StateOwner };
/** The scope of a deployment's own account and Region. */
export { HOME_SCOPE };

/** Every tuner records decisions, and the reporting functions their failed runs (the report and digest read one `byDay` partition of each). */
export const DECISION_TUNERS = [...TUNER_NAMES, ...REPORTING_RECORDERS] as const;

/**
 * The owners whose items each function writes (its role's `dynamodb:LeadingKeys`, one
 * `<owner>#*` pattern per owner). Reads are not restricted by owner: the report, digest and
 * control read every tuner's decisions.
 */
export const STATE_WRITERS = {
  'iops-tuner': ['iops'],
  'replica-scaler': ['replicas'],
  'dynamodb-tuner': ['dynamodb', 'dynamodb-mode', 'prewarm'],
  'pg-maintenance': ['maintenance'],
  'pg-insights': ['insights'],
  'proxy-tuner': ['proxy'],
  rightsizing: ['rightsizing'],
  'serverless-tuner': ['serverless'],
  'alarm-reconciler': ['alarms'],
  // The fast path records its own routing decisions and runs the tuners the alarms belong to.
  'alarm-handler': ['alarms', 'iops', 'replicas', 'dynamodb', 'dynamodb-mode', 'prewarm', 'serverless'],
  // pause / resume are control decisions; revert records under the reverted decision's tuner
  // (only tuners that register an adapter can be reverted).
  control: ['control', 'iops', 'replicas', 'dynamodb', 'proxy', 'serverless'],
  report: ['report'],
  digest: ['digest'],
  // A fleet (issue 27): the worker runs the fleet tuners in member scopes; each step records
  // only its own failed runs under `fleet`.
  'fleet-planner': ['fleet'],
  'fleet-worker': [
    'iops',
    'replicas',
    'dynamodb',
    'dynamodb-mode',
    'prewarm',
    'proxy',
    'rightsizing',
    'serverless',
    'fleet',
  ],
  'fleet-report': ['fleet'],
} as const satisfies Record<string, readonly StateOwner[]>;

/**
 * The tuners whose decisions a run of a tuner records (the DynamoDB tuner also decides the capacity
 * mode and prewarms): the intent indexes that run settles first. Every other tuner: its own.
 */
const RECORDS_FOR: Partial<Record<TunerName, readonly TunerName[]>> = {
  dynamodb: ['dynamodb', 'dynamodb-mode', 'prewarm'],
};

export function tunersRecordedBy(tuner: TunerName): readonly TunerName[] {
  return RECORDS_FOR[tuner] ?? [tuner];
}

/** `<owner>#<scope>#`: the beginning of every partition key of an owner (scope: the current one). */
export function ownerPrefix(owner: StateOwner, scope: string = currentScopeKey()): string {
  return `${owner}#${scope}#`;
}

/** Everything but a no-op that did not fail: reported, indexed, kept with its evidence. */
export function isNotable(decision: Pick<Decision, 'action' | 'outcome'>): boolean {
  return decision.action !== 'noop' || decision.outcome === 'failed';
}

/**
 * Sort-key prefixes inside a resource partition. `m#` is the first prefix after `d#`: nothing may
 * sort between them, because getHistory reads a resource's meta items and its notable decisions
 * of the last day in one query of the range `d#<24 h ago>` .. `m#\uffff` (a kind of item that
 * getHistory must not read sorts before `d#` or after `m#`).
 */
export const SK = {
  notable: 'd#',
  noop: 'n#',
  /** A skip or deferral that repeats the resource's newest notable decision (shared/state/slim.ts). */
  repeat: 'r#',
  meta: 'm#',
  ledger: 'm#ledger',
  lastApplied: 'm#last#',
  drift: 'm#drift',
  state: 'm#state',
  /** A part of the free-form state kept in an item of its own: `m#state#<part>`. */
  statePart: 'm#state#',
  /** An intended change not yet resolved (shared/core/intent.ts), until its decision is resolved. */
  intent: 'm#intent#',
  /**
   * The evidence of a notable decision, in an item of its own beside it (`s#<at>#<id>`): after
   * `m#`, so getHistory never reads it (most of a decision's size: its metric series).
   */
  evidence: 's#',
} as const;

/** The sort key of the item holding a notable decision's evidence (in its resource partition). */
export function evidenceSortKey(d: Pick<Decision, 'at' | 'id'>): string {
  return `${SK.evidence}${timeKey(d.at)}#${d.id}`;
}

function utcDay(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

export const keys = {
  /** The partition of one resource of one tuner: its decisions, ledger, drift and state. */
  resource: (owner: StateOwner, resourceId: string, scope?: string) =>
    `${ownerPrefix(owner, scope)}res#${resourceId}`,
  /** Where a decision is stored (in its resource's partition). */
  decision: (
    d: Pick<Decision, 'tuner' | 'resource' | 'at' | 'id' | 'action' | 'outcome'>,
    scope?: string,
  ) => ({
    pk: keys.resource(d.tuner, d.resource, scope),
    sk: `${isNotable(d) ? SK.notable : SK.noop}${timeKey(d.at)}#${d.id}`,
  }),
  /** Where a notable decision's evidence is stored (beside it, in its resource's partition). */
  evidence: (d: Pick<Decision, 'tuner' | 'resource' | 'at' | 'id'>, scope?: string) => ({
    pk: keys.resource(d.tuner, d.resource, scope),
    sk: evidenceSortKey(d),
  }),
  /** byDay index partition of one tuner's notable decisions of one UTC day. */
  day: (tuner: TunerName, iso: string, scope?: string) => `${ownerPrefix(tuner, scope)}day#${utcDay(iso)}`,
  lock: (tuner: TunerName, resourceId: string, scope?: string) => ({
    pk: `${ownerPrefix(tuner, scope)}lock#${resourceId}`,
    sk: 'lock',
  }),
  idempotency: (tuner: TunerName, key: string, scope?: string) => ({
    pk: `${ownerPrefix(tuner, scope)}idem#${key}`,
    sk: 'idem',
  }),
  created: (tuner: TunerName, resourceId: string, scope?: string) => ({
    pk: `${ownerPrefix(tuner, scope)}created#${resourceId}`,
    sk: 'created',
  }),
  /**
   * The tuner's intent index: one item per intended change not yet resolved, whatever resource it
   * names (a removed replica, an alarm no reconcile touches again), so every run of the tuner
   * settles them all (shared/core/intent.ts `settleTunerIntents`). Inside `<tuner>#<scope>#`, so the
   * role's `dynamodb:LeadingKeys` pattern covers it.
   */
  intents: (tuner: TunerName, scope?: string) => `${ownerPrefix(tuner, scope)}intents`,
  /** Where one intent is indexed (oldest first by sort key). */
  intentIndex: (d: Pick<Decision, 'tuner' | 'at' | 'id'>, scope?: string) => ({
    pk: keys.intents(d.tuner, scope),
    sk: `${timeKey(d.at)}#${d.id}`,
  }),
  /** Daily totals of one tuner (YYYY-MM-DD); a month's are the key range of its days. */
  aggregate: (tuner: TunerName, day: string, scope?: string) => ({
    pk: `${ownerPrefix(tuner, scope)}agg`,
    sk: `day#${day}`,
  }),
  /** The report function's record of what it posted. */
  reported: (d: Pick<Decision, 'at' | 'id'>, scope?: string) => ({
    pk: `${ownerPrefix('report', scope)}reported`,
    sk: `${timeKey(d.at)}#${d.id}`,
  }),
} as const;

/** A time as sortable key text (canonical ISO-8601 UTC with milliseconds). */
export function timeKey(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`invalid time "${iso}"`);
  return new Date(t).toISOString();
}

export { countsAsChange } from '../core/guards.ts';

/** How long the report function remembers what it posted (longer than its 3-day lookback). */
export const REPORTED_TTL_SECONDS = 8 * 24 * 3600;

/** Newest notable decisions returned as a resource's history (no-ops are not history: they change nothing). */
export const RECENT_DECISIONS = 20;

/** How many of the newest notable decisions a getHistory returns (HistoryOptions, 1 to RECENT_DECISIONS). */
export function recentDecisionsWanted(options: HistoryOptions | undefined): number {
  const n = options?.recentDecisions;
  if (n === undefined || !Number.isInteger(n)) return RECENT_DECISIONS;
  return Math.min(Math.max(n, 1), RECENT_DECISIONS);
}

/** How far back a resource's history reaches (the longest any reader looks: a day of mode advice). */
export const RECENT_WINDOW_MS = 24 * 3_600_000;

export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** TTL value (epoch seconds) `seconds` after `now`, rounded up so a lease is never shorter than asked. */
export function expiresAfter(now: Date, seconds: number): number {
  return Math.ceil((now.getTime() + seconds * 1000) / 1000);
}

/** The end of a drift back-off of `minutes` from `now` (both stores and the drift check use it). */
export function backoffUntil(now: Date, minutes: number): Date {
  return new Date(now.getTime() + minutes * 60_000);
}

/** An item whose TTL has passed counts as gone, whether or not DynamoDB has deleted it yet. */
export function isExpired(expiresAt: number | undefined, now: Date): boolean {
  return expiresAt !== undefined && expiresAt <= epochSeconds(now);
}

/** Every UTC day (YYYY-MM-DD) from since to until inclusive, for the byDay index. */
export function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  const from = Date.parse(since);
  const end = Date.parse(until);
  if (Number.isNaN(from) || Number.isNaN(end)) throw new RangeError(`invalid time window ${since}..${until}`);
  // UTC days, whatever offset the caller wrote the window in.
  const start = Date.parse(`${new Date(from).toISOString().slice(0, 10)}T00:00:00.000Z`);
  for (let t = start; t <= end; t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** since inclusive, until exclusive, compared as times. */
export function inWindow(decision: Decision, since: string, until: string | undefined): boolean {
  const at = Date.parse(decision.at);
  return at >= Date.parse(since) && (until === undefined || at < Date.parse(until));
}

export function byTimeThenId(a: Decision, b: Decision): number {
  return Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A state part's name: a word (it is part of a sort key and a key of the merged state). */
export function statePartKey(part: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(part))
    throw new Error(`tuner state part "${part}" is not a word of letters, digits, _ or - (at most 64)`);
  return `${SK.statePart}${part}`;
}
