import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { stateTableClient } from '../aws/clients.ts';
import { clock } from '../core/clock.ts';
import type {
  DecisionQuery,
  DecisionTotals,
  DriftBaseline,
  HistoryOptions,
  ResourceHistory,
  StateOwner,
  StateStore,
  TunerStateWrite,
} from '../core/contracts.ts';
import type { Decision, TunerName } from '../core/model.ts';
import { currentScopeKey } from '../core/scope.ts';
import { DuplicateDecisionError } from './errors.ts';
import {
  backoffUntil,
  byTimeThenId,
  countsAsChange,
  DECISION_TUNERS,
  daysBetween,
  epochSeconds,
  evidenceSortKey,
  expiresAfter,
  inWindow,
  isExpired,
  isNotable,
  keys,
  RECENT_WINDOW_MS,
  REPORTED_TTL_SECONDS,
  recentDecisionsWanted,
  SK,
  statePartKey,
  timeKey,
} from './keys.ts';
import { isDeferral, mayRepeat, repeatForm, repeats, storedForm, withoutRepeatCount } from './slim.ts';
import {
  DEFAULT_AUDIT_TTL_DAYS,
  DEFAULT_NOOP_TTL_DAYS,
  DEFAULT_STATE_TABLE_NAME,
  parseTtlDays,
  STATE_TABLE,
} from './table-definition.ts';
import { addToTotals, emptyTotals, NoopTally, readTotalsItem, totalsUpdate } from './totals.ts';

export interface DynamoDbStateStoreOptions {
  /** Defaults to stateTableClient() (dynalite in the demo and integration tests). */
  client?: DynamoDBClient;
  /** Defaults to env STATE_TABLE, then "db-autopilot-state". */
  tableName?: string;
  /** How long audit records live (TTL); env AUDIT_TTL_DAYS, default 400. */
  auditTtlDays?: number;
  /** How long successful no-op decisions live (TTL); env NOOP_TTL_DAYS, default 30 (at most auditTtlDays). */
  noopTtlDays?: number;
}

type Item = Record<string, unknown>;
type BatchWriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

/** Items in one BatchWriteItem (DynamoDB's limit). */
const BATCH_WRITE_MAX = 25;
/** Attempts of a BatchWriteItem before what DynamoDB left unprocessed is an error. */
const BATCH_WRITE_ATTEMPTS = 5;

function isConditionFailure(error: unknown): boolean {
  // lib-dynamodb passes the client's modeled ConditionalCheckFailedException through.
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** A TTL in days from the environment variable `name` (a whole number >= 1), else `fallback`. */
function ttlDaysFromEnv(name: 'AUDIT_TTL_DAYS' | 'NOOP_TTL_DAYS', fallback: number): number {
  return parseTtlDays(name, process.env[name], fallback);
}

/** How long decisions are kept as the environment says (AUDIT_TTL_DAYS, NOOP_TTL_DAYS) or by default. */
export function decisionRetention(): { auditTtlDays: number; noopTtlDays: number } {
  return {
    auditTtlDays: ttlDaysFromEnv('AUDIT_TTL_DAYS', DEFAULT_AUDIT_TTL_DAYS),
    noopTtlDays: ttlDaysFromEnv('NOOP_TTL_DAYS', DEFAULT_NOOP_TTL_DAYS),
  };
}

/** Days a decision is kept: a successful no-op `noopTtlDays` (never more than the audit's), the rest `auditTtlDays`. */
export function decisionTtlDays(
  decision: Pick<Decision, 'action' | 'outcome'>,
  auditTtlDays: number,
  noopTtlDays: number = DEFAULT_NOOP_TTL_DAYS,
): number {
  return isNotable(decision) ? auditTtlDays : Math.min(noopTtlDays, auditTtlDays);
}

/**
 * The decision an item holds, with `apart` (the evidence its item of its own holds) when given.
 * A notable decision's evidence (its metric series, most of its size) is kept in an item of its own
 * beside it (`s#<at>#<id>`, keys.ts), outside the sort-key range getHistory reads; a decision item
 * written before keeps it in its `evidence` attribute or inside the decision, as does a no-op.
 */
function asDecision(item: Item | undefined, apart?: unknown): Decision | undefined {
  const decision = item?.decision;
  if (!decision || typeof decision !== 'object') return undefined;
  const evidence = Array.isArray(apart) ? apart : item?.[EVIDENCE];
  return Array.isArray(evidence) ? { ...(decision as Decision), evidence } : (decision as Decision);
}

/** Whether a decision item's evidence is in an item of its own. */
function hasEvidenceApart(item: Item | undefined): boolean {
  return item?.[EVIDENCE_APART] === true;
}

/**
 * The decisions of items read together with their evidence items (same partition; a `byDay`
 * query or a scan returns both), each with its evidence merged back by id.
 */
function decisionsOf(items: Item[]): Decision[] {
  const apart = new Map<string, unknown>();
  for (const item of items)
    if (typeof item[EVIDENCE_OF] === 'string') apart.set(`${item.pk}|${item[EVIDENCE_OF]}`, item[EVIDENCE]);
  const out: Decision[] = [];
  for (const item of items) {
    const id = (item.decision as Partial<Decision> | undefined)?.id;
    const d = asDecision(item, hasEvidenceApart(item) ? apart.get(`${item.pk}|${id}`) : undefined);
    if (d) out.push(d);
  }
  return out;
}

/** A decision as history shows it: no evidence (an item written before kept it inside). */
function withoutEvidence(decision: Decision): Decision {
  return decision.evidence.length === 0 ? decision : { ...decision, evidence: [] };
}

/**
 * An intended decision in a history's recent decisions is the one its `m#intent#` item holds, with
 * its evidence: it is resolved (shared/core/intent.ts) from what the history shows.
 */
function withPendingEvidence(history: ResourceHistory): void {
  if (!history.pending?.length || !history.recent.some((d) => d.outcome === 'intended')) return;
  const pending = new Map(history.pending.map((d) => [d.id, d]));
  history.recent = history.recent.map((d) => (d.outcome === 'intended' ? (pending.get(d.id) ?? d) : d));
}

/** The item attribute holding a decision's evidence (see asDecision). */
const EVIDENCE = 'evidence';
/** On a notable decision's item: its evidence is in an item of its own (`s#<at>#<id>`). */
const EVIDENCE_APART = 'evidenceApart';
/** On an evidence item: the id of the decision it belongs to. */
const EVIDENCE_OF = 'evidenceOf';

/**
 * What getHistory reads of an item: every attribute a meta item's reader uses (ledger, drift,
 * state and its parts, intents, newest applied changes) and the decision, never the `evidence`
 * attribute of a notable decision. A new meta attribute that getHistory reads must be named here.
 */
const HISTORY_ATTRIBUTES = [
  'sk',
  'decision',
  'lastAppliedAt',
  'detectedAt',
  'backoffUntil',
  'detail',
  'baseline',
  STATE_TABLE.ttlAttribute,
  'tunerState',
] as const;
const HISTORY_PROJECTION = {
  ProjectionExpression: HISTORY_ATTRIBUTES.map((_, i) => `#h${i}`).join(', '),
  ExpressionAttributeNames: Object.fromEntries(HISTORY_ATTRIBUTES.map((a, i) => [`#h${i}`, a])),
};

/** The meta items of a partition getHistory has not read before are guessed at this many (first page). */
const META_ITEMS_GUESS = 6;
/** Meta items asked for on each later page while there are more than guessed (a page per new item otherwise). */
const META_ITEMS_MORE = 3;

/** A decision without its evidence (`[]`), and the evidence to keep beside it. */
function apartFromEvidence(decision: Decision): { decision: Decision; evidence?: Decision['evidence'] } {
  if (decision.evidence.length === 0) return { decision };
  return { decision: { ...decision, evidence: [] }, evidence: decision.evidence };
}

/** When the items of a decision expire (TTL, epoch seconds). */
function decisionExpiry(decision: Decision, auditTtlDays: number, noopTtlDays: number): number {
  return expiresAfter(new Date(decision.at), decisionTtlDays(decision, auditTtlDays, noopTtlDays) * 86_400);
}

/** The byDay index keys of a notable decision (its evidence item carries them too). */
function dayIndexKeys(decision: Decision): Item {
  return { dayPk: keys.day(decision.tuner, decision.at), daySk: `${timeKey(decision.at)}#${decision.id}` };
}

/**
 * The item holding a notable decision's evidence: beside its decision (same partition, sort key
 * `s#<at>#<id>`), with the same `byDay` keys so that a day's query returns both, and the same TTL.
 */
function evidenceItem(decision: Decision, evidence: Decision['evidence'], expiresAt: number): Item {
  return {
    ...keys.evidence(decision),
    ...dayIndexKeys(decision),
    [EVIDENCE_OF]: decision.id,
    [EVIDENCE]: evidence,
    [STATE_TABLE.ttlAttribute]: expiresAt,
  };
}

/**
 * The items a decision is stored as: the decision (slim form, its keys, the sparse index keys when
 * notable, TTL) and, for a notable decision with evidence, the item holding its evidence (a no-op
 * keeps its slim evidence in its own item's `evidence` attribute).
 */
export function decisionItems(
  decision: Decision,
  auditTtlDays: number,
  noopTtlDays: number = DEFAULT_NOOP_TTL_DAYS,
): [Item] | [Item, Item] {
  const expiresAt = decisionExpiry(decision, auditTtlDays, noopTtlDays);
  const stored = apartFromEvidence(storedForm(decision));
  const base = {
    ...keys.decision(decision),
    decision: stored.decision,
    [STATE_TABLE.ttlAttribute]: expiresAt,
  };
  if (!isNotable(decision)) return [{ ...base, ...(stored.evidence ? { [EVIDENCE]: stored.evidence } : {}) }];
  const item = { ...base, ...dayIndexKeys(decision), decisionId: decision.id };
  if (!stored.evidence) return [item];
  return [{ ...item, [EVIDENCE_APART]: true }, evidenceItem(decision, stored.evidence, expiresAt)];
}

/**
 * The StateStore on the DynamoDB state table (see table-definition.ts for the item layout).
 * Every write that must not race is a conditional write: idempotency keys and locks are claimed
 * with a condition, decisions are append-only, the cooldown ledger only moves forward in time.
 */
export class DynamoDbStateStore implements StateStore {
  readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;
  private readonly auditTtlDays: number;
  private readonly noopTtlDays: number;
  /**
   * Per resource partition: its newest notable decision as this run knows it (getHistory read it,
   * then this store's own writes), and the run's time (`asOf`). A skip or deferral of the same run
   * (its `at` is the run's time) is checked for a repeat against it without a query; any other
   * decision queries the partition.
   */
  private readonly newestNotable = new Map<string, { decision: Decision | undefined; asOf: string }>();
  /** Successful no-ops counted, not yet written to the daily totals (see addToTotals). */
  private readonly heldNoops = new NoopTally();
  /**
   * Per resource partition: how many meta items it holds as far as this store knows (what
   * getHistory last read, then the intents this store marked or dropped since), which sizes the
   * first page of getHistory's query: a page of exactly the meta items and the decisions wanted.
   */
  private readonly metaItems = new Map<string, number>();
  /**
   * Unconditional puts held for BatchWriteItem (holdPut): successful no-op decisions and tuner
   * state a caller lets wait (`putTunerState(..., { held: true })`), by `pk` then `sk`. Written 25
   * at a time as they fill a batch, before any read of this store that could return one of them,
   * and when the run ends (flushTotals).
   */
  private readonly heldPuts = new Map<string, Map<string, Item>>();
  private heldCount = 0;

  constructor(options: DynamoDbStateStoreOptions = {}) {
    this.tableName = options.tableName ?? process.env.STATE_TABLE ?? DEFAULT_STATE_TABLE_NAME;
    this.auditTtlDays = options.auditTtlDays ?? ttlDaysFromEnv('AUDIT_TTL_DAYS', DEFAULT_AUDIT_TTL_DAYS);
    this.noopTtlDays = options.noopTtlDays ?? ttlDaysFromEnv('NOOP_TTL_DAYS', DEFAULT_NOOP_TTL_DAYS);
    this.doc = DynamoDBDocumentClient.from(options.client ?? stateTableClient(), {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    });
  }

  async recordDecision(decision: Decision): Promise<void> {
    const key = keys.decision(decision);
    // An intent is marked in its resource's meta items first (getHistory reads them all), so it
    // stays in sight until resolved however many decisions follow it.
    // It is also indexed under its tuner (`<tuner>#home#intents`), so every run of the tuner
    // settles it even when no later plan names its resource.
    // Both in one BatchWriteItem, written whole before the decision (and so before AWS is
    // called); a write that fails part-way throws here and the change is not made. Either item
    // left alone by a crash names no recorded decision and is dropped by the run that settles it
    // (resolveDecision finds no intended decision: forgetIntent).
    if (decision.outcome === 'intended') {
      const stored = storedForm(decision);
      await this.batchWriteAll([
        { PutRequest: { Item: { ...keys.intentIndex(decision), decision: stored } } },
        { PutRequest: { Item: { pk: key.pk, sk: `${SK.intent}${decision.id}`, decision: stored } } },
      ]);
      this.countMeta(key.pk, 1);
    }
    if (mayRepeat(decision) && (await this.recordedAsRepeat(decision))) return;
    const [item, evidence] = decisionItems(decision, this.auditTtlDays, this.noopTtlDays);
    if (!isNotable(decision)) {
      // A successful no-op (about 93% of decisions): written with the run's others (holdPut).
      this.holdPut(item, 'decision', decision.id);
      await this.addToTotals(decision);
      await this.writeHeldWhenFull();
      return;
    }
    const written = await this.putIf({
      TableName: this.tableName,
      Item: item,
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (!written) throw new DuplicateDecisionError(decision.id);
    // Written once the decision is (an id recorded twice never replaces the first one's evidence).
    if (evidence) await this.doc.send(new PutCommand({ TableName: this.tableName, Item: evidence }));
    this.rememberNewest(key.pk, decision);
    await this.addToTotals(decision);
    if (countsAsChange(decision)) await this.advanceLedger(decision);
  }

  /** The newest notable decision of a partition: from this run's history when known, else a query. */
  private async newestNotableOf(pk: string, runAt: string): Promise<Decision | undefined> {
    const known = this.newestNotable.get(pk);
    if (known?.asOf === runAt) return known.decision;
    const newest = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :notable)',
        ExpressionAttributeValues: { ':pk': pk, ':notable': SK.notable },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    // Without the evidence of an item of its own (a repeat is compared without it).
    return asDecision(newest.Items?.[0]);
  }

  /** A notable decision this store wrote (or resolved) becomes the newest its run knows of. */
  private rememberNewest(pk: string, decision: Decision): void {
    const known = this.newestNotable.get(pk);
    if (!isNotable(decision) || known?.asOf !== decision.at) return;
    if (!known.decision || known.decision.id === decision.id || byTimeThenId(known.decision, decision) <= 0)
      this.newestNotable.set(pk, { decision: storedForm(decision), asOf: known.asOf });
  }

  /**
   * A skip or a deferral that repeats its resource's newest notable decision (slim.ts `repeats`)
   * is stored slim under `r#`, out of both indexes, and counted on that first one (`repeatedAt`;
   * a deferral also keeps its latest repeat, `latestRepeat`): the reports read one item per run of
   * repeats.
   */
  private async recordedAsRepeat(decision: Decision): Promise<boolean> {
    const key = keys.decision(decision);
    const first = await this.newestNotableOf(key.pk, decision.at);
    if (!first || !repeats(first, decision)) return false;
    const written = await this.putIf({
      TableName: this.tableName,
      Item: {
        pk: key.pk,
        sk: `${SK.repeat}${timeKey(decision.at)}#${decision.id}`,
        decision: repeatForm(decision),
        repeatOf: first.id,
        [STATE_TABLE.ttlAttribute]: expiresAfter(new Date(decision.at), this.auditTtlDays * 86_400),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (!written) throw new DuplicateDecisionError(decision.id);
    const latest = isDeferral(decision);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.decision(first),
        UpdateExpression: `SET #d.#r = list_append(if_not_exists(#d.#r, :none), :at)${latest ? ', #d.#l = :latest' : ''}`,
        ExpressionAttributeNames: {
          '#d': 'decision',
          '#r': 'repeatedAt',
          ...(latest ? { '#l': 'latestRepeat' } : {}),
        },
        ExpressionAttributeValues: {
          ':none': [],
          ':at': [decision.at],
          ...(latest ? { ':latest': repeatForm(decision) } : {}),
        },
      }),
    );
    await this.addToTotals(decision);
    return true;
  }

  async resolveDecision(decision: Decision): Promise<boolean> {
    // The evidence is replaced only by evidence (a resolution without any keeps the intent's), in
    // its item of its own, written once the resolution is (a losing resolution changes nothing).
    const stored = apartFromEvidence(storedForm(decision));
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.decision(decision),
          UpdateExpression: stored.evidence ? 'SET #d = :d, #a = :apart' : 'SET #d = :d',
          ConditionExpression: 'attribute_exists(pk) AND #d.#o = :intended',
          ExpressionAttributeNames: {
            '#d': 'decision',
            '#o': 'outcome',
            ...(stored.evidence ? { '#a': EVIDENCE_APART } : {}),
          },
          ExpressionAttributeValues: {
            ':d': stored.decision,
            ':intended': 'intended',
            ...(stored.evidence ? { ':apart': true } : {}),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.forgetIntent(decision);
      return false;
    }
    if (stored.evidence) {
      const expiresAt = decisionExpiry(decision, this.auditTtlDays, this.noopTtlDays);
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: evidenceItem(decision, stored.evidence, expiresAt),
        }),
      );
    }
    await this.forgetIntent(decision);
    this.rememberNewest(keys.resource(decision.tuner, decision.resource), decision);
    // The intent was counted as `intended` (no outcome): now the outcome counts.
    await this.addToTotals(decision);
    if (countsAsChange(decision)) await this.advanceLedger(decision);
    return true;
  }

  /**
   * Drops the intent's marker in its resource partition and its entry in the tuner's index, in
   * one BatchWriteItem, once the decision is resolved. Should a crash leave one of them, it names
   * a decision no longer intended: the index entry is dropped by the tuner's next run
   * (listIntents), a marker by the next run that plans its resource (its history's pending intent
   * is settled: resolveDecision fails, then forgetIntent), after one check of AWS's state.
   */
  private async forgetIntent(decision: Decision): Promise<void> {
    const pk = keys.resource(decision.tuner, decision.resource);
    await this.batchWriteAll([
      { DeleteRequest: { Key: { pk, sk: `${SK.intent}${decision.id}` } } },
      { DeleteRequest: { Key: keys.intentIndex(decision) } },
    ]);
    // Counted gone (an intent dropped before, elsewhere: the next history query takes one page
    // more, and counts again).
    this.countMeta(pk, -1);
  }

  /**
   * Writes up to 25 unconditional puts or deletes in one BatchWriteItem, retrying what DynamoDB
   * leaves unprocessed (throttling) a few times with a short back-off; throws if some are still
   * left. Items of other owners than the function's are refused as a whole (IAM LeadingKeys).
   */
  private async batchWriteAll(requests: BatchWriteRequest[]): Promise<void> {
    let left = requests;
    for (let attempt = 0; left.length > 0; attempt++) {
      if (attempt === BATCH_WRITE_ATTEMPTS)
        throw new Error(`state table: ${left.length} write(s) still unprocessed after ${attempt} attempts`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
      const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: left } }));
      left = (result.UnprocessedItems?.[this.tableName] ?? []) as BatchWriteRequest[];
    }
  }

  /**
   * Holds an unconditional put for one BatchWriteItem of up to 25 (fewer requests: a run's no-ops
   * and per-run tuner state go out in a request or two instead of one each). A decision is
   * append-only: one already held under its key throws DuplicateDecisionError, as the conditional
   * put does (a decision id is its run's id and a sequence number, and a run's id is new for every
   * invocation: shared/core/executor.ts nextDecisionId, run.ts newRunId; a redelivered event never
   * gets past its idempotency claim, so no other run writes the same key). Tuner state replaces
   * what is held under its key (the newest wins, as consecutive puts would).
   */
  private holdPut(item: Item, kind: 'decision' | 'state', id?: string): void {
    const pk = String(item.pk);
    const sk = String(item.sk);
    let held = this.heldPuts.get(pk);
    if (!held) {
      held = new Map();
      this.heldPuts.set(pk, held);
    }
    if (held.has(sk)) {
      if (kind === 'decision') throw new DuplicateDecisionError(id ?? sk);
    } else this.heldCount += 1;
    held.set(sk, item);
  }

  /** Writes what is held once it fills a BatchWriteItem. */
  private async writeHeldWhenFull(): Promise<void> {
    if (this.heldCount >= BATCH_WRITE_MAX) await this.writeHeld();
  }

  /**
   * Writes every held put, 25 to a BatchWriteItem (what DynamoDB leaves unprocessed is retried:
   * batchWriteAll). A batch that still fails stays held (rewriting an item already written puts
   * the same item again) and the error is thrown.
   */
  private async writeHeld(): Promise<void> {
    while (this.heldCount > 0) {
      const batch: Array<{ pk: string; sk: string; item: Item }> = [];
      for (const [pk, held] of this.heldPuts) {
        for (const [sk, item] of held) {
          batch.push({ pk, sk, item });
          if (batch.length === BATCH_WRITE_MAX) break;
        }
        if (batch.length === BATCH_WRITE_MAX) break;
      }
      await this.batchWriteAll(batch.map(({ item }) => ({ PutRequest: { Item: item } })));
      // Each written item is forgotten, unless a newer put of its key was held meanwhile.
      for (const { pk, sk, item } of batch)
        if (this.heldPuts.get(pk)?.get(sk) === item) this.dropHeld(pk, sk);
    }
  }

  /** Forgets a held put (an unconditional put of the same key is written now instead). */
  private dropHeld(pk: string, sk: string): void {
    const held = this.heldPuts.get(pk);
    if (!held?.delete(sk)) return;
    this.heldCount -= 1;
    if (held.size === 0) this.heldPuts.delete(pk);
  }

  /** Before a read of `pk` (or of anything: no pk): writes what is held, when the read could return it. */
  private async settleHeld(pk?: string): Promise<void> {
    if (this.heldCount > 0 && (pk === undefined || this.heldPuts.has(pk))) await this.writeHeld();
  }

  /** A meta item this store wrote (+1) or deleted (-1) in a partition whose meta items it knows. */
  private countMeta(pk: string, delta: 1 | -1): void {
    const known = this.metaItems.get(pk);
    if (known !== undefined) this.metaItems.set(pk, Math.max(0, known + delta));
  }

  async listIntents(tuner: TunerName): Promise<Decision[]> {
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.intents(tuner) },
      ConsistentRead: true,
    });
    return items.map(asDecision).filter((d): d is Decision => d !== undefined);
  }

  /**
   * The day's totals of the decision's tuner (ADD: concurrent runs add up). A successful no-op is
   * held in memory (totals.ts NoopTally) and written later with the others of its item: by the
   * next notable decision's ADD on the same item, else by flushTotals when the run ends. An
   * intended decision counts nothing until it is resolved (totals count outcomes).
   */
  private async addToTotals(decision: Decision): Promise<void> {
    if (decision.outcome === 'intended') return;
    const day = timeKey(decision.at).slice(0, 10);
    const Key = keys.aggregate(decision.tuner, day);
    const expiresAt = expiresAfter(new Date(decision.at), this.auditTtlDays * 86_400);
    if (NoopTally.holds(decision)) {
      this.heldNoops.count(Key, day, decision, expiresAt);
      return;
    }
    const held = this.heldNoops.heldFor(Key);
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key,
        ...totalsUpdate(decision, held?.counts ?? {}, Math.min(expiresAt, held?.expiresAt ?? expiresAt)),
      }),
    );
    if (held) this.heldNoops.written(held);
  }

  async flushTotals(): Promise<number> {
    // The run's held puts first (its no-op records, then their counts).
    await this.writeHeld();
    let written = 0;
    for (const held of this.heldNoops.all()) {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: held.key,
          ...totalsUpdate(undefined, held.counts, held.expiresAt),
        }),
      );
      this.heldNoops.written(held);
      written += 1;
    }
    return written;
  }

  /** lastAppliedAt only moves forward (a late write of an older decision cannot roll it back). */
  private async advanceLedger(decision: Decision): Promise<void> {
    await this.rememberLastApplied(decision);
    const Key = { pk: keys.resource(decision.tuner, decision.resource), sk: SK.ledger };
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'SET lastAppliedAt = :at ADD appliedCount :one',
          ConditionExpression: 'attribute_not_exists(lastAppliedAt) OR lastAppliedAt < :at',
          ExpressionAttributeValues: { ':at': decision.at, ':one': 1 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: 'ADD appliedCount :one',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    }
  }

  /** The newest applied change of its kind (drift detection compares with it, however old). */
  private async rememberLastApplied(decision: Decision): Promise<void> {
    // Not written when a newer change of this kind is already kept.
    await this.putIf({
      TableName: this.tableName,
      Item: {
        pk: keys.resource(decision.tuner, decision.resource),
        sk: `${SK.lastApplied}${decision.action}`,
        at: decision.at,
        // Drift compares what was applied (`to`); the evidence stays with the decision's own record.
        decision: { ...decision, evidence: [] },
      },
      ConditionExpression: 'attribute_not_exists(pk) OR #at < :at',
      ExpressionAttributeNames: { '#at': 'at' },
      ExpressionAttributeValues: { ':at': decision.at },
    });
  }

  async listDecisions(query: DecisionQuery): Promise<Decision[]> {
    const since = timeKey(query.since);
    const until = timeKey(query.until ?? clock().now().toISOString());
    const tuners = query.tuner !== undefined ? [query.tuner] : DECISION_TUNERS;
    const found: Decision[] = [];
    for (const tuner of tuners) {
      const requests: QueryCommandInput[] =
        query.resource !== undefined
          ? [
              {
                TableName: this.tableName,
                KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
                ExpressionAttributeValues: {
                  ':pk': keys.resource(tuner, query.resource),
                  ':from': `${SK.notable}${since}`,
                  ':to': `${SK.notable}${until}`,
                },
              },
            ]
          : daysBetween(since, until).map((day) => ({
              TableName: this.tableName,
              IndexName: STATE_TABLE.byDayIndex,
              KeyConditionExpression: 'dayPk = :day AND daySk BETWEEN :from AND :to',
              ExpressionAttributeValues: { ':day': keys.day(tuner, day), ':from': since, ':to': until },
            }));
      for (const request of requests) {
        const items = await this.queryAll(request);
        // A day's query returns the evidence items with their decisions; a resource's range does not.
        if (query.resource !== undefined)
          items.push(...(await this.evidenceItemsOf(keys.resource(tuner, query.resource), items)));
        for (const d of decisionsOf(items)) if (inWindow(d, since, until)) found.push(d);
      }
    }
    return found.sort(byTimeThenId);
  }

  /**
   * The evidence items of a partition's decision items that keep their evidence apart: one query
   * of the `s#` range from the oldest to the newest of them (none when no item keeps it apart).
   */
  private async evidenceItemsOf(pk: string, items: Item[]): Promise<Item[]> {
    const times = items
      .filter(hasEvidenceApart)
      .map((i) => timeKey(String((i.decision as Partial<Decision>).at)))
      .sort();
    if (times.length === 0) return [];
    return this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': pk,
        ':from': `${SK.evidence}${times[0]}`,
        ':to': `${SK.evidence}${times[times.length - 1]}\uffff`,
      },
    });
  }

  async exportDecisions(query: { since: string; until?: string }): Promise<Decision[]> {
    await this.settleHeld();
    const items: Item[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          // The current scope's decisions and their evidence items only (shared/core/scope.ts), as every other read.
          FilterExpression:
            '(begins_with(sk, :notable) OR begins_with(sk, :noop) OR begins_with(sk, :repeat) OR begins_with(sk, :evidence)) AND contains(pk, :scope)',
          ExpressionAttributeValues: {
            ':notable': SK.notable,
            ':noop': SK.noop,
            ':repeat': SK.repeat,
            ':evidence': SK.evidence,
            ':scope': `#${currentScopeKey()}#res#`,
          },
          ExclusiveStartKey,
        }),
      );
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    // The audit log: each repeat is a record of its own, so the first carries no count.
    return decisionsOf(items)
      .filter((d) => inWindow(d, query.since, query.until))
      .map(withoutRepeatCount)
      .sort(byTimeThenId);
  }

  async totals(period: string): Promise<DecisionTotals[]> {
    if (period.length === 7) return this.monthTotals(period);
    const wanted = DECISION_TUNERS.map((tuner) => keys.aggregate(tuner, period));
    const items: Item[] = [];
    let pending: Record<string, unknown>[] = wanted;
    while (pending.length > 0) {
      const result = await this.doc.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending } } }),
      );
      items.push(...(result.Responses?.[this.tableName] ?? []));
      pending = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
    const out: DecisionTotals[] = [];
    for (const tuner of DECISION_TUNERS) {
      const key = keys.aggregate(tuner, period);
      const item = items.find((i) => i.pk === key.pk && i.sk === key.sk);
      if (item) out.push(addToTotals(emptyTotals(tuner, period), readTotalsItem(item)));
    }
    return out;
  }

  /** A month's totals: the sum of its days, one key range per tuner. */
  private async monthTotals(month: string): Promise<DecisionTotals[]> {
    const out: DecisionTotals[] = [];
    for (const tuner of DECISION_TUNERS) {
      const first = keys.aggregate(tuner, `${month}-01`);
      const days = await this.queryAll({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': first.pk, ':from': first.sk, ':to': `day#${month}-31` },
      });
      if (days.length === 0) continue;
      const totals = emptyTotals(tuner, month);
      for (const item of days) addToTotals(totals, readTotalsItem(item));
      out.push(totals);
    }
    return out;
  }

  async markReported(decisions: Array<Pick<Decision, 'id' | 'at'>>, at: string): Promise<void> {
    const expiresAt = expiresAfter(new Date(at), REPORTED_TTL_SECONDS);
    const puts = decisions.map((d) => ({
      PutRequest: { Item: { ...keys.reported(d), reportedId: d.id, reportedAt: at, expiresAt } },
    }));
    for (let i = 0; i < puts.length; i += 25) {
      let batch: unknown[] = puts.slice(i, i + 25);
      while (batch.length > 0) {
        const result = await this.doc.send(
          new BatchWriteCommand({
            RequestItems: { [this.tableName]: batch as { PutRequest: { Item: Item } }[] },
          }),
        );
        batch = result.UnprocessedItems?.[this.tableName] ?? [];
      }
    }
  }

  async reportedIn(query: { since: string; until: string }): Promise<Map<string, string>> {
    const pk = keys.reported({ at: query.since, id: '' }).pk;
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': pk, ':from': timeKey(query.since), ':to': timeKey(query.until) },
    });
    const out = new Map<string, string>();
    for (const item of items) {
      if (typeof item.reportedId === 'string' && typeof item.reportedAt === 'string')
        out.set(item.reportedId, item.reportedAt);
    }
    return out;
  }

  async claimIdempotencyKey(
    tuner: TunerName,
    key: string,
    runId: string,
    now: Date,
    ttlSeconds: number,
  ): Promise<boolean> {
    return this.putIf({
      TableName: this.tableName,
      Item: {
        ...keys.idempotency(tuner, key),
        runId,
        claimedAt: now.toISOString(),
        [STATE_TABLE.ttlAttribute]: expiresAfter(now, ttlSeconds),
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
      ExpressionAttributeValues: { ':now': epochSeconds(now) },
    });
  }

  async releaseIdempotencyKey(tuner: TunerName, key: string, runId: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.idempotency(tuner, key),
          ConditionExpression: 'runId = :me',
          ExpressionAttributeValues: { ':me': runId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // claimed by another run meanwhile: leave it
    }
  }

  async acquireLock(
    tuner: TunerName,
    resourceId: string,
    owner: string,
    now: Date,
    leaseSeconds: number,
  ): Promise<boolean> {
    return this.putIf({
      TableName: this.tableName,
      Item: {
        ...keys.lock(tuner, resourceId),
        owner,
        acquiredAt: now.toISOString(),
        [STATE_TABLE.ttlAttribute]: expiresAfter(now, leaseSeconds),
      },
      // Free, expired (a crashed run's lease) or already ours (re-entrant).
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now OR #owner = :me',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':now': epochSeconds(now), ':me': owner },
    });
  }

  async releaseLock(tuner: TunerName, resourceId: string, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.lock(tuner, resourceId),
          ConditionExpression: '#owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // someone else's (our lease expired): leave it
    }
  }

  async getHistory(
    owner: StateOwner,
    resourceId: string,
    now: Date,
    options?: HistoryOptions,
  ): Promise<ResourceHistory> {
    const pk = keys.resource(owner, resourceId);
    await this.settleHeld(pk);
    const { meta, recent } = await this.historyItems(pk, now, recentDecisionsWanted(options));
    const history: ResourceHistory = { recent };
    // A repeat needs the same UTC hour or day as its first: nothing notable in the last 24 h, no first.
    this.newestNotable.set(pk, { decision: recent[0], asOf: now.toISOString() });
    const parts: Record<string, unknown> = {};
    for (const item of meta) {
      if (item.sk === SK.ledger && typeof item.lastAppliedAt === 'string') {
        history.lastAppliedAt = item.lastAppliedAt;
      } else if (item.sk === SK.drift && !isExpired(item.expiresAt as number | undefined, now)) {
        history.drift = {
          detectedAt: String(item.detectedAt),
          backoffUntil: String(item.backoffUntil),
          detail: String(item.detail),
          ...(item.baseline && typeof item.baseline === 'object'
            ? { baseline: item.baseline as DriftBaseline }
            : {}),
        };
      } else if (item.sk === SK.state && item.tunerState && typeof item.tunerState === 'object') {
        history.tunerState = item.tunerState as Record<string, unknown>;
      } else if (typeof item.sk === 'string' && item.sk.startsWith(SK.statePart) && item.tunerState) {
        parts[item.sk.slice(SK.statePart.length)] = item.tunerState;
      } else if (typeof item.sk === 'string' && item.sk.startsWith(SK.intent)) {
        const d = asDecision(item);
        if (d) history.pending = [...(history.pending ?? []), d];
      } else if (typeof item.sk === 'string' && item.sk.startsWith(SK.lastApplied)) {
        const d = asDecision(item);
        if (d) history.lastApplied = { ...history.lastApplied, [d.action]: d };
      }
    }
    if (Object.keys(parts).length > 0) {
      history.tunerState = { ...history.tunerState, ...parts };
      history.tunerStateParts = Object.keys(parts);
    }
    withPendingEvidence(history);
    return history;
  }

  /**
   * A resource's meta items and its `wanted` newest notable decisions of the last
   * RECENT_WINDOW_MS (without evidence) in one consistent query of its sort keys from
   * `d#<24 h ago>` to the end of `m#`, newest first: `m#` sorts after `d#` and nothing sorts
   * between (keys.ts), so every meta item comes first, then the notable decisions, newest first.
   * Pages are limited to what is still wanted: the decisions missing, plus (until the first
   * decision is read) the meta items this partition had when last read here, so the query reads
   * few decisions past the last wanted (a decision's item is read whole: DynamoDB bills a query by
   * the items it reads). No-ops (`n#`) and repeats (`r#`) sort after `m#` and are not read.
   */
  private async historyItems(
    pk: string,
    now: Date,
    wanted: number,
  ): Promise<{ meta: Item[]; recent: Decision[] }> {
    const since = timeKey(new Date(now.getTime() - RECENT_WINDOW_MS).toISOString());
    const expectedMeta = this.metaItems.get(pk) ?? META_ITEMS_GUESS;
    const meta: Item[] = [];
    const recent: Decision[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      // More meta items than last read (a new part, kind of change, drift): a few more per page.
      const metaLeft =
        recent.length > 0
          ? 0
          : meta.length === 0
            ? expectedMeta
            : Math.max(expectedMeta - meta.length, META_ITEMS_MORE);
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': pk,
            ':from': `${SK.notable}${since}`,
            ':to': `${SK.meta}\uffff`,
          },
          ...HISTORY_PROJECTION,
          ConsistentRead: true,
          ScanIndexForward: false,
          Limit: wanted - recent.length + metaLeft,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (typeof item.sk === 'string' && item.sk.startsWith(SK.notable)) {
          const d = asDecision(item);
          if (d && recent.length < wanted) recent.push(withoutEvidence(d));
        } else meta.push(item);
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && recent.length < wanted);
    this.metaItems.set(pk, meta.length);
    return { meta, recent };
  }

  async newestDecision(owner: StateOwner, resourceId: string): Promise<Decision | undefined> {
    const pk = keys.resource(owner, resourceId);
    await this.settleHeld(pk);
    // Notable decisions, no-ops and repeats each sort by time under their own prefix.
    const found = [
      await this.newestUnder(pk, SK.notable),
      await this.newestUnder(pk, SK.noop),
      await this.newestUnder(pk, SK.repeat),
    ]
      .map((item) => ({ item, d: asDecision(item) }))
      .filter((x): x is { item: Item; d: Decision } => x.d !== undefined);
    const newest = found.sort((a, b) => byTimeThenId(b.d, a.d))[0];
    return newest && this.withEvidence(newest.item);
  }

  async settlingNoop(owner: StateOwner, resourceId: string, after: string): Promise<Decision | undefined> {
    const pk = keys.resource(owner, resourceId);
    await this.settleHeld(pk);
    // One query while no no-op came since `after` (the usual answer); else the newest of all three.
    const noop = asDecision(await this.newestUnder(pk, SK.noop));
    if (!noop || noop.at < after) return undefined;
    const newest = await this.newestDecision(owner, resourceId);
    return newest?.action === 'noop' ? newest : undefined;
  }

  private async newestUnder(pk: string, prefix: string): Promise<Item | undefined> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    return out.Items?.[0];
  }

  /** A decision item's decision with its evidence (read from its item of its own when kept apart). */
  private async withEvidence(item: Item | undefined): Promise<Decision | undefined> {
    const decision = asDecision(item);
    if (!decision || !hasEvidenceApart(item)) return decision;
    const apart = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: item?.pk, sk: evidenceSortKey(decision) },
        ConsistentRead: true,
      }),
    );
    return asDecision(item, apart.Item?.[EVIDENCE]);
  }

  async putTunerState(
    owner: StateOwner,
    resourceId: string,
    state: Record<string, unknown>,
    part?: string,
    options?: TunerStateWrite,
  ): Promise<void> {
    const sk = part === undefined ? SK.state : statePartKey(part);
    const Item = { pk: keys.resource(owner, resourceId), sk, tunerState: state };
    if (options?.held) {
      this.holdPut(Item, 'state');
      await this.writeHeldWhenFull();
      return;
    }
    // Written now: a put held before under the same key must not land after it.
    this.dropHeld(Item.pk, sk);
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item }));
  }

  async recordDrift(
    tuner: TunerName,
    resourceId: string,
    detail: string,
    now: Date,
    backoffMinutes: number,
    baseline?: DriftBaseline,
  ): Promise<void> {
    const until = backoffUntil(now, backoffMinutes);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: keys.resource(tuner, resourceId),
          sk: SK.drift,
          detectedAt: now.toISOString(),
          backoffUntil: until.toISOString(),
          detail,
          baseline,
          // Kept for the audit retention after the back-off so the baseline is remembered.
          [STATE_TABLE.ttlAttribute]: expiresAfter(until, this.auditTtlDays * 86_400),
        },
      }),
    );
  }

  async recordCreated(
    tuner: TunerName,
    resourceId: string,
    detail: Record<string, unknown>,
    now: Date,
  ): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keys.created(tuner, resourceId), detail, createdAt: now.toISOString() },
      }),
    );
  }

  async wasCreatedByUs(tuner: TunerName, resourceId: string): Promise<boolean> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.created(tuner, resourceId),
        ConsistentRead: true,
      }),
    );
    return result.Item !== undefined;
  }

  async forgetCreated(tuner: TunerName, resourceId: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.created(tuner, resourceId) }),
    );
  }

  async getDecision(id: string): Promise<Decision | undefined> {
    const found = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: STATE_TABLE.byIdIndex,
        KeyConditionExpression: 'decisionId = :id',
        ExpressionAttributeValues: { ':id': id },
      }),
    );
    const key = found.Items?.[0];
    if (!key) return undefined;
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
    );
    return this.withEvidence(result.Item);
  }

  /** A conditional put: true when written, false when its condition failed. */
  private async putIf(input: PutCommandInput): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand(input));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async queryAll(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(new QueryCommand({ ...input, ExclusiveStartKey }));
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }
}
