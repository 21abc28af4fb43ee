import { z } from 'zod';
import { getConfig } from '../shared/config/load.ts';
import { accountsOfUnits, organizationsPort } from '../shared/fleet/organizations.ts';
import { planFleet } from '../shared/fleet/plan.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';

/**
 * The first step of a fleet run (issue 27, shared/fleet/state-machine.ts): the member accounts
 * (listed, and the ACTIVE accounts of the organizational units) and in each one unit per
 * (Region, tuner). Invoked by the state machine with its execution's name as the run id.
 */
export const eventSchema = z
  .object({
    executionId: z
      .string()
      .min(1)
      .max(80)
      .regex(/^[\w.:-]+$/, 'an execution name of letters, digits and . : - _'),
    startedAt: z.string().optional(),
  })
  .strict();

export const handler = lambdaHandler('fleet-planner', eventSchema, async (event) => {
  const fleet = getConfig().fleet;
  if (!fleet)
    return { runId: event.executionId, accounts: [], notes: ['the configuration has no fleet section'] };
  const fromUnits =
    fleet.organizationalUnits.length > 0
      ? await accountsOfUnits(await organizationsPort(), fleet.organizationalUnits)
      : { accounts: [], notes: [] };
  return planFleet(fleet, fromUnits.accounts, event.executionId, fromUnits.notes);
});
