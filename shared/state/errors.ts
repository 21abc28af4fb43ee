import { DbAutopilotError } from '../core/errors.ts';

/** A decision id was recorded twice: ids must be unique (the audit log is append-only). */
export class DuplicateDecisionError extends DbAutopilotError {
  constructor(readonly decisionId: string) {
    super(`decision ${decisionId} is already recorded`);
  }
}
