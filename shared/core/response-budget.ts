import { isNotable } from '../state/keys.ts';
import { storedForm } from '../state/slim.ts';
import type { Decision } from './model.ts';

/**
 * The size a function's answer may have, in bytes of its JSON (what Lambda serialises and returns).
 *
 * Lambda refuses a synchronous invocation's response over 6 MB (Lambda quotas, "Invocation
 * payload (request and response)"; docs/aws-facts in shared: the `Invoke` API, `osls invoke`, `aws
 * lambda invoke`): the run would have acted on every resource and then be reported as failed. A
 * tuner's answer carries each decision with its evidence (an IOPS no-op 4-5 KB), so at ~900
 * instances a run reaches 6 MB. 256 KiB is well under that, what a Step Functions state or an
 * EventBridge event can carry whole (256 KiB), and still readable in a terminal; every decision is
 * in the state table whatever the answer holds.
 */
export const RESPONSE_BUDGET_BYTES = 256 * 1024;

/** What an answer over budget left out, and where to read it. Absent when nothing was. */
export interface LeftOut {
  budgetBytes: number;
  /** Bytes the whole answer would have had. */
  fullBytes: number;
  /** Successful no-ops answered without their evidence (`evidence: []`, as the state table stores them). */
  noopEvidence: number;
  /** Notable decisions answered without their evidence (the oldest, when even they do not fit whole). */
  notableEvidence: number;
  /** Decisions not in the answer at all; by outcome and by action. */
  decisions: number;
  byOutcome: Record<string, number>;
  byAction: Record<string, number>;
  /** Notes not in the answer (the first MAX_NOTES are). */
  notes: number;
  readWith: string;
}

/** Notes an answer over budget keeps (a run's notes are a few lines; more is a long list of ids). */
export const MAX_NOTES = 20;

type Holder = { decisions: Decision[]; notes?: string[] };

/** Bytes of `value` as JSON (UTF-8), as Lambda returns it. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}

/**
 * The answer to return: `response` itself when it fits `budget`; otherwise, in order, until it
 * fits: (1) successful no-ops without their evidence; (2) no-ops left out (every notable decision
 * kept whole, no-ops kept in order while they fit); when the notable decisions alone do not fit,
 * (3) notes past MAX_NOTES left out, (4) every notable decision kept, the oldest without their
 * evidence, and when even that does not fit (5) notable decisions left out, the newest kept
 * (without evidence). What was left out is counted in `leftOut`, never silent. A response with no decision list (`decisions`,
 * or `run.decisions` for the alarm handler) is returned as it is.
 */
export function fitResponse<R>(response: R, budget: number = RESPONSE_BUDGET_BYTES): R {
  const fullBytes = jsonBytes(response);
  if (fullBytes <= budget) return response;
  const holder = decisionHolder(response);
  if (!holder) return response;
  const leftOut = emptyLeftOut(budget, fullBytes, readWith(response));

  const slim = slimNoops(holder.decisions, leftOut);
  const slimmed = withHolder(response, { ...holder, decisions: slim }, leftOut);
  if (jsonBytes(slimmed) <= budget) return slimmed;

  let part: Holder = { ...holder, decisions: slim };
  let kept = keepNotableThenNoops(slim, roomFor(response, part, leftOut, budget));
  if (kept === undefined) {
    part = fewerNotes(part, leftOut);
    const room = roomFor(response, part, leftOut, budget);
    kept = keepNotableNewestEvidence(slim, room) ?? keepNewestNotable(slim.map(withoutEvidence), room);
    leftOut.notableEvidence = countStripped(slim, kept);
  }
  countLeftOut(slim, kept, leftOut);
  return withHolder(response, { ...part, decisions: kept }, leftOut);
}

/**
 * Bytes left for the decision list's items: the budget less the answer with no decision kept and
 * `leftOut` counting every decision (the most its counts can read: fewer left out never writes
 * more digits or keys), so whatever is kept within it, the whole answer fits.
 */
function roomFor(response: unknown, part: Holder, leftOut: LeftOut, budget: number): number {
  const all = {
    ...leftOut,
    byOutcome: {},
    byAction: {},
    decisions: 0,
    notableEvidence: part.decisions.length,
  };
  countLeftOut(part.decisions, [], all);
  return budget - jsonBytes(withHolder(response, { ...part, decisions: [] }, all));
}

/** Bytes one decision adds to the list (its JSON and a comma). */
function itemBytes(decision: Decision): number {
  return jsonBytes(decision) + 1;
}

/** Step 1: the evidence of successful no-ops left out, the way the state table stores them (slim.ts). */
function slimNoops(decisions: Decision[], leftOut: LeftOut): Decision[] {
  return decisions.map((d) => {
    const slim = storedForm(d);
    if (slim !== d) leftOut.noopEvidence += 1;
    return slim;
  });
}

/**
 * Step 2: every notable decision, then the no-ops in order while they fit `room`; undefined when
 * the notable decisions alone do not fit. Order kept.
 */
function keepNotableThenNoops(decisions: Decision[], room: number): Decision[] | undefined {
  let used = 0;
  for (const d of decisions) if (isNotable(d)) used += itemBytes(d);
  if (used > room) return undefined;
  const kept = new Set<Decision>();
  for (const d of decisions) {
    if (isNotable(d)) kept.add(d);
  }
  for (const d of decisions) {
    if (isNotable(d)) continue;
    const size = itemBytes(d);
    if (used + size > room) break;
    kept.add(d);
    used += size;
  }
  return decisions.filter((d) => kept.has(d));
}

/**
 * Step 4: every notable decision, the evidence of the oldest left out (`notableEvidence`) so that
 * the newest keep theirs; no no-op. Undefined when even without evidence they do not fit.
 */
function keepNotableNewestEvidence(decisions: Decision[], room: number): Decision[] | undefined {
  const notable = decisions.filter(isNotable);
  let used = notable.reduce((n, d) => n + itemBytes(withoutEvidence(d)), 0);
  if (used > room) return undefined;
  const whole = new Set<Decision>();
  for (let i = notable.length - 1; i >= 0; i -= 1) {
    const d = notable[i] as Decision;
    const extra = itemBytes(d) - itemBytes(withoutEvidence(d));
    if (used + extra > room) break;
    whole.add(d);
    used += extra;
  }
  return notable.map((d) => (whole.has(d) ? d : withoutEvidence(d)));
}

/** How many decisions of `kept` lost evidence their original in `all` had (same id). */
function countStripped(all: Decision[], kept: Decision[]): number {
  const had = new Map(all.map((d) => [d.id, d.evidence.length]));
  return kept.filter((d) => d.evidence.length === 0 && (had.get(d.id) ?? 0) > 0).length;
}

function withoutEvidence(decision: Decision): Decision {
  return decision.evidence.length === 0 ? decision : { ...decision, evidence: [] };
}

/** Step 5: the notable decisions (without evidence), newest (last) first, while they fit `room`; no no-op. Order kept. */
function keepNewestNotable(decisions: Decision[], room: number): Decision[] {
  const kept = new Set<Decision>();
  let used = 0;
  for (let i = decisions.length - 1; i >= 0; i -= 1) {
    const d = decisions[i] as Decision;
    if (!isNotable(d)) continue;
    const size = itemBytes(d);
    if (used + size > room) break;
    kept.add(d);
    used += size;
  }
  return decisions.filter((d) => kept.has(d));
}

/** Step 3: notes past MAX_NOTES left out (counted). */
function fewerNotes(part: Holder, leftOut: LeftOut): Holder {
  if (!part.notes || part.notes.length <= MAX_NOTES) return part;
  leftOut.notes = part.notes.length - MAX_NOTES;
  return { ...part, notes: part.notes.slice(0, MAX_NOTES) };
}

/** Counts the decisions of `all` that are not in `kept` (by id), by outcome and action. */
function countLeftOut(all: Decision[], kept: Decision[], leftOut: LeftOut): void {
  const keptIds = new Set(kept.map((d) => d.id));
  for (const d of all) {
    if (keptIds.has(d.id)) continue;
    leftOut.decisions += 1;
    leftOut.byOutcome[d.outcome] = (leftOut.byOutcome[d.outcome] ?? 0) + 1;
    leftOut.byAction[d.action] = (leftOut.byAction[d.action] ?? 0) + 1;
  }
}

function emptyLeftOut(budgetBytes: number, fullBytes: number, readWith: string): LeftOut {
  return {
    budgetBytes,
    fullBytes,
    noopEvidence: 0,
    notableEvidence: 0,
    decisions: 0,
    byOutcome: {},
    byAction: {},
    notes: 0,
    readWith,
  };
}

/** The object holding the answer's decision list: the answer, or its `run` (alarm handler). */
function decisionHolder(response: unknown): Holder | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const r = response as { decisions?: unknown; run?: unknown };
  if (Array.isArray(r.decisions)) return r as Holder;
  const run = r.run as { decisions?: unknown } | undefined;
  if (run && typeof run === 'object' && Array.isArray(run.decisions)) return run as Holder;
  return undefined;
}

function withHolder<R>(response: R, part: Holder, leftOut: LeftOut): R {
  const r = response as { decisions?: unknown; run?: object };
  if (Array.isArray(r.decisions)) return { ...response, ...part, leftOut };
  return { ...response, run: { ...r.run, ...part, leftOut } };
}

/** Where the decisions left out are read (README: control history, npm run history). */
function readWith(response: unknown): string {
  const r = response as { tuner?: unknown; run?: { tuner?: unknown }; command?: unknown };
  const tuner =
    typeof r.tuner === 'string' ? r.tuner : typeof r.run?.tuner === 'string' ? r.run.tuner : undefined;
  if (r.command === 'history')
    return 'narrow the window ("since", "resource", "tuner", "limit") or read it all with npm run history -- --table <state table>';
  const t = tuner ? `, "tuner": "${tuner}"` : '';
  const cli = tuner ? ` --tuner ${tuner}` : '';
  return `every decision is recorded in the state table: the notable ones with the control function's {"command": "history"${t}, "since": "1d"} or npm run history -- --table <state table>${cli}; no-ops (stored without evidence) are counted by day with {"command": "status"}`;
}
