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
