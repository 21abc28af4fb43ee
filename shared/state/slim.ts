import type { Decision } from '../core/model.ts';
import { isNotable } from './keys.ts';

/**
 * The stored form of a decision. A no-op (93% of decisions) keeps everything but its evidence:
 * its metric series were most of the item (an IOPS no-op carried one 60-point series three
 * times, 4-5 KB), no report or digest shows a no-op's evidence, and no policy reads the evidence of
 * past decisions. Notable decisions are stored as they are.
 */
export function storedForm(decision: Decision): Decision {
  if (isNotable(decision) || decision.evidence.length === 0) return decision;
  return { ...decision, evidence: [] };
}

/** A skip of an action (not a no-op): what repeats run after run while its rule holds. */
export function isSkip(decision: Pick<Decision, 'action' | 'outcome'>): boolean {
  return decision.outcome === 'skipped' && decision.action !== 'noop';
}

/** A deferral of an action: what repeats run after run while AWS or a rule holds the action back. */
export function isDeferral(decision: Pick<Decision, 'action' | 'outcome'>): boolean {
  return decision.outcome === 'deferred' && decision.action !== 'noop';
}

/** The fields a repeat shares with its first, whatever it repeats. */
const SAME_ACTION = [
  'tuner',
  'resource',
  'resourceKind',
  'action',
  'guard',
  'mode',
  'dryRun',
  'override',
  'trigger',
  'severity',
] as const satisfies ReadonlyArray<keyof Decision>;

/** How a kind of repeat is recognised: the kind, the period both fall in, what else stays equal. */
interface RepeatRule {
  kind: (decision: Decision) => boolean;
  /** Length of the `at` prefix both share: 10 = the same UTC day, 13 = the same UTC hour. */
  periodChars: number;
  alsoSame: ReadonlyArray<keyof Decision>;
}

function repeatsBy(rule: RepeatRule, first: Decision | undefined, next: Decision): boolean {
  if (!first || !rule.kind(first) || !rule.kind(next) || next.at < first.at) return false;
  if (first.at.slice(0, rule.periodChars) !== next.at.slice(0, rule.periodChars)) return false;
  const same = (k: keyof Decision) => JSON.stringify(first[k] ?? null) === JSON.stringify(next[k] ?? null);
  return [...SAME_ACTION, ...rule.alsoSame].every(same);
}

/**
 * True when `next` repeats the skip `first` (the newest notable decision of its resource): the
 * same UTC day, and everything a report renders the same (tuner, resource, action, rule, reason,
 * values, cost, mode). Such a repeat is stored slim and counted on the first (`repeatedAt`).
 */
export function repeatsSkip(first: Decision | undefined, next: Decision): boolean {
  return repeatsBy(
    { kind: isSkip, periodChars: 10, alsoSame: ['reason', 'from', 'to', 'monthlyCostDelta', 'undo'] },
    first,
    next,
  );
}

/**
 * True when `next` repeats the deferral `first` (the newest notable decision of its resource): the
 * same UTC hour, the same tuner, resource, action, rule, mode and severity. Its values, reason and
 * `deferredUntil` may have moved on (a tuner re-plans every run): the first keeps the latest
 * repeat (`latestRepeat`), which is what the reports show. Bounded to an hour so the first's list
 * of times stays short (at most one entry per run of the hour).
 */
export function repeatsDeferral(first: Decision | undefined, next: Decision): boolean {
  return repeatsBy({ kind: isDeferral, periodChars: 13, alsoSame: [] }, first, next);
}

/** A skip or a deferral that may be stored as a repeat of its resource's newest notable decision. */
export function mayRepeat(decision: Pick<Decision, 'action' | 'outcome'>): boolean {
  return isSkip(decision) || isDeferral(decision);
}

/** True when `next` is stored as a repeat of `first` (a repeated skip or deferral). */
export function repeats(first: Decision | undefined, next: Decision): boolean {
  return repeatsSkip(first, next) || repeatsDeferral(first, next);
}

/** A repeat as it is stored: slim (no evidence), pointing at nothing else (its first counts it). */
export function repeatForm(decision: Decision): Decision {
  return { ...decision, evidence: [] };
}

/**
 * Decisions with their repeats as decisions of their own (each at its own time, the first's
 * content, no evidence; the last one as it was recorded when the first kept it, `latestRepeat`):
 * what the reports render from (the digest lists the latest with its count).
 */
export function withRepeats(decisions: Decision[]): Decision[] {
  return decisions.flatMap((d) => {
    if (!d.repeatedAt?.length) return [d];
    const { repeatedAt, latestRepeat, ...first } = d;
    const expanded: Decision[] = repeatedAt.map((at) => ({ ...first, at, evidence: [] }));
    if (latestRepeat && latestRepeat.at === repeatedAt[repeatedAt.length - 1])
      expanded[expanded.length - 1] = latestRepeat;
    return [first, ...expanded];
  });
}

/** A decision as the audit log shows it (each repeat is a record of its own, so no count). */
export function withoutRepeatCount(decision: Decision): Decision {
  if (decision.repeatedAt === undefined && decision.latestRepeat === undefined) return decision;
  const { repeatedAt: _, latestRepeat: __, ...rest } = decision;
  return rest;
}
