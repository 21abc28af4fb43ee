import { STSClient } from '@aws-sdk/client-sts';
import { getConfig } from '../shared/config/load.ts';
import { clock } from '../shared/core/clock.ts';
import { ValidationError } from '../shared/core/errors.ts';
import { fleetUnitSchema, unitOutsideFleet } from '../shared/fleet/plan.ts';
import { runFleetUnit } from '../shared/fleet/unit.ts';
import { type RunUnitDeps, unitDeps } from '../shared/fleet/worker.ts';
import { lambdaHandler } from '../shared/handler/wrap.ts';
import { stateStore } from '../shared/state/index.ts';

/**
 * One unit of a fleet run (issue 27): one tuner in one member account and Region, through the
 * `db-autopilot-member` role. A role that cannot be assumed is recorded and answered (status
 * `unavailable`), never thrown: the state machine's other units go on. Credentials are kept per
 * account for the run (a warm container serves many units of one run).
 * Event: `{ "runId": "...", "account": "111111111111", "region": "eu-west-1", "tuner": "iops" }`, one
 * of the fleet's units (its Region and tuner configured, its account listed or of a unit, not excluded).
 */
let sts: STSClient | undefined;
let current: { runId: string; deps: RunUnitDeps } | undefined;

export const handler = lambdaHandler('fleet-worker', fleetUnitSchema, async (unit, ctx) => {
  const fleet = getConfig().fleet;
  if (!fleet)
    throw new ValidationError('the configuration has no fleet section: no member account to run in');
  // Only a unit of this fleet runs: a stale or hand-made event changes nothing.
  const outside = unitOutsideFleet(unit, fleet);
  if (outside) throw new ValidationError(outside);
  sts ??= new STSClient({ region: process.env.AWS_REGION ?? 'us-east-1' });
  if (current?.runId !== unit.runId) {
    const deps = unitDeps({
      sts,
      externalId: fleet.externalId,
      runId: unit.runId,
      store: stateStore(),
      now: () => clock().now(),
    });
    current = { runId: unit.runId, deps };
  }
  return runFleetUnit(unit, { ...current.deps, remainingMs: ctx.remainingMs });
});
