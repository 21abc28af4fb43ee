import type { ActResult } from '../../core/model.ts';
import type { ChangeResult } from '../types.ts';

/** ISO time of a trace minute. */
export function minuteToIso(startTime: string, minute: number): string {
  return new Date(Date.parse(startTime) + minute * 60_000).toISOString();
}

/**
 * Turns the change-rules model's answer into the ActResult an adapter returns, so a tuner's
 * backtest Adapter (given to the shared executor) reports applied / deferred / skipped exactly
 * as its AWS adapter would.
 */
export function toActResult(result: ChangeResult, startTime: string): ActResult {
  switch (result.status) {
    case 'applied':
      return { status: 'applied', detail: `in effect at ${minuteToIso(startTime, result.effectiveAt)}` };
    case 'deferred':
      return { status: 'deferred', until: minuteToIso(startTime, result.until), reason: result.reason };
    case 'skipped':
      return { status: 'skipped', reason: result.reason };
  }
}
