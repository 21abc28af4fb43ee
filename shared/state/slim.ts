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

/**
 * True when `next` repeats the skip `first` (the newest notable decision of its resource): the
 * same UTC day, and everything a report renders the same (tuner, resource, action, rule, reason,
 * values, cost, mode). Such a repeat is stored slim and counted on the first (`repeatedAt`).
 */
export function repeatsSkip(first: Decision | undefined, next: Decision): boolean {
  if (!first || !isSkip(first) || !isSkip(next) || next.at < first.at) return false;
  if (first.at.slice(0, 10) !== next.at.slice(0, 10)) return false;
  const same = (k: keyof Decision) => JSON.stringify(first[k] ?? null) === JSON.stringify(next[k] ?? null);
  return (
    [
      'tuner',
      'resource',
      'resourceKind',
      'action',
      'guard',
      'reason',
      'from',
      'to',
      'monthlyCostDelta',
      'undo',
      'mode',
      'dryRun',
      'override',
      'trigger',
      'severity',
    ] as const
  ).every(same);
}

/** A deferral of an action: what repeats run after run while AWS or a rule holds the action back. */
export function isDeferral(decision: Pick<Decision, 'action' | 'outcome'>): boolean {
  return decision.outcome === 'deferred' && decision.action !== 'noop';
}

/**
 * True when `next` repeats the deferral `first` (the newest notable decision of its resource): the
 * same UTC hour, the same tuner, resource, action, rule, mode and severity. Its values, reason and
 * `deferredUntil` may have moved on (a tuner re-plans every run): the first keeps the latest
 * repeat (`latestRepeat`), which is what the reports show. Bounded to an hour so the first's list
 * of times stays short (at most one entry per run of the hour).
 */
export function repeatsDeferral(first: Decision | undefined, next: Decision): boolean {
  if (!first || !isDeferral(first) || !isDeferral(next) || next.at < first.at) return false;
  if (first.at.slice(0, 13) !== next.at.slice(0, 13)) return false;
  const same = (k: keyof Decision) => JSON.stringify(first[k] ?? null) === JSON.stringify(next[k] ?? null);
  return (
    [
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
    ] as const
  ).every(same);
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
