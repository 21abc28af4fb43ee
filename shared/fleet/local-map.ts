/**
 * Runs a fleet plan in one process with the state machine's own semantics (shared/fleet/state-machine.ts):
 * accounts at most `accounts` at a time (the Distributed Map's MaxConcurrency), inside each account
 * its units at most `perAccount` at a time (the inline Map's MaxConcurrency), every unit's failure
 * caught (ToleratedFailurePercentage 100 and the unit's Catch). The bench and the e2e tests use it;
 * in AWS, Step Functions does this.
 */
import type { FleetPlan, FleetUnit } from './plan.ts';
import type { UnitResult } from './unit.ts';

export interface FanOutLimits {
  accounts: number;
  perAccount: number;
}

/** Runs `work` over `items`, at most `limit` at once, keeping the results in the items' order. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      results[i] = await work(items[i] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}

export async function runPlanLocally(
  plan: FleetPlan,
  runUnit: (unit: FleetUnit) => Promise<UnitResult>,
  limits: FanOutLimits,
): Promise<UnitResult[]> {
  const perAccount = await pool(plan.accounts, limits.accounts, (account) =>
    pool(account.units, limits.perAccount, (unit) =>
      runUnit(unit).catch(
        (error: unknown): UnitResult => ({
          scope: `${unit.account}.${unit.region}`,
          account: unit.account,
          region: unit.region,
          tuner: unit.tuner,
          status: 'failed',
          outcomes: {},
          detail: `unit failed: ${(error as Error).message}`,
        }),
      ),
    ),
  );
  return perAccount.flat();
}
