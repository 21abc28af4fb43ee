/**
 * The work of one fleet run (pure): every member account, and in each one unit per
 * (Region, tuner). The state machine (shared/fleet/state-machine.ts) maps over the accounts
 * (bounded by maxConcurrentAccounts) and, inside each, over its units (bounded by
 * maxConcurrentUnitsPerAccount), so one account's API quotas see a bounded number of callers and a
 * slow or failing account holds up only its own child execution.
 */
import { z } from 'zod';
import { accountIdSchema, FLEET_TUNERS, type FleetSection, regionSchema } from '../config/sections/fleet.ts';

export const fleetUnitSchema = z
  .object({
    runId: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[\w.:-]+$/, 'a run id of letters, digits and . : - _'),
    account: accountIdSchema,
    region: regionSchema,
    tuner: z.enum(FLEET_TUNERS),
  })
  .strict();

export type FleetUnit = z.infer<typeof fleetUnitSchema>;

export interface AccountWork {
  account: string;
  units: FleetUnit[];
}

export interface FleetPlan {
  runId: string;
  accounts: AccountWork[];
  /** Organizations answers that could not be read, and similar (reported, never fatal). */
  notes: string[];
}

/**
 * The accounts to tune: those listed and those of the organizational units, without the excluded
 * ones, each once, sorted (the same config always gives the same order).
 */
export function memberAccounts(section: FleetSection, unitAccounts: readonly string[]): string[] {
  const excluded = new Set(section.excludeAccounts);
  return [...new Set([...section.accounts, ...unitAccounts])].filter((a) => !excluded.has(a)).sort();
}

/**
 * Why `unit` is not one of this fleet's units (a hand-made or stale event: the configuration
 * changed since it was planned), naming the event's field; undefined when it is one. Its tuner
 * and Region must be the fleet's, its account not excluded and, with no organizational units,
 * listed (with units, another account may be one of theirs: the member role's trust decides).
 */
export function unitOutsideFleet(unit: FleetUnit, section: FleetSection): string | undefined {
  if (!section.tuners.includes(unit.tuner))
    return `event.tuner: ${unit.tuner} is not among fleet.tuners (${section.tuners.join(', ')})`;
  if (!section.regions.includes(unit.region))
    return `event.region: ${unit.region} is not among fleet.regions (${section.regions.join(', ')})`;
  if (section.excludeAccounts.includes(unit.account))
    return `event.account: ${unit.account} is in fleet.excludeAccounts`;
  if (section.organizationalUnits.length === 0 && !section.accounts.includes(unit.account))
    return `event.account: ${unit.account} is not among fleet.accounts (${section.accounts.join(', ')})`;
  return undefined;
}

/** One unit per (account, Region, tuner), grouped by account. */
export function planFleet(
  section: FleetSection,
  unitAccounts: readonly string[],
  runId: string,
  notes: string[] = [],
): FleetPlan {
  const accounts = memberAccounts(section, unitAccounts).map((account) => ({
    account,
    units: section.regions.flatMap((region) =>
      section.tuners.map((tuner) => ({ runId, account, region, tuner })),
    ),
  }));
  return { runId, accounts, notes };
}
