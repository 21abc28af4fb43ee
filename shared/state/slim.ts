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

/** A repeat as it is stored: slim (no evidence), pointing at nothing else (its first counts it). */
export function repeatForm(decision: Decision): Decision {
  return { ...decision, evidence: [] };
}

/**
 * Decisions with their repeats as decisions of their own (each at its own time, the first's
 * content, no evidence): what the reports render from (the digest lists the latest with its count).
 */
export function withRepeats(decisions: Decision[]): Decision[] {
  return decisions.flatMap((d) => {
    if (!d.repeatedAt?.length) return [d];
    const { repeatedAt, ...first } = d;
    return [first, ...repeatedAt.map((at) => ({ ...first, at, evidence: [] }))];
  });
}

/** A decision as the audit log shows it (each repeat is a record of its own, so no count). */
export function withoutRepeatCount(decision: Decision): Decision {
  if (decision.repeatedAt === undefined) return decision;
  const { repeatedAt: _, ...rest } = decision;
  return rest;
}
