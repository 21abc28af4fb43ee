/**
 * The recorded notice of a hand-back db-autopilot did not make (a person's newer setting left as
 * it is, or a stored record not valid): a warning recommendation that changes nothing in AWS.
 * Recorded even on an opted-out resource: `restores` lets it through the opt-out guard
 * (shared/core/guards.ts).
 */
import type { Action, TunerName } from '../core/model.ts';

export function handBackNotice(
  tuner: TunerName,
  resource: Action['resource'],
  advice: string,
  reason: string,
): Action {
  return {
    tuner,
    resource,
    kind: 'recommend',
    from: null,
    to: { advice },
    reason,
    evidence: [],
    monthlyCostDelta: 0,
    undo: null,
    mutating: false,
    severity: 'warning',
    restores: true,
  };
}
