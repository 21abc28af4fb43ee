/**
 * Replays every AWS call a handler makes on the simulated account against the IAM role it would
 * run with in a real account (the generated roles of shared/deploy/iam.ts, or the fleet member
 * role), and lists each call the role would deny. See evaluate.ts for what is and is not modelled.
 */
import type { Config } from '../../../shared/config/schema.ts';
import { MEMBER_SERVICES } from '../../../shared/core/scope.ts';
import {
  type DeployOptions,
  type FunctionName,
  type Statement,
  statementsFor,
} from '../../../shared/deploy/iam.ts';
import { memberStatements } from '../../../shared/deploy/member-role.ts';
import type { SimAccount } from '../../../shared/sim/engine.ts';
import type { PolicyStatement } from '../../integration/deploy/iam-check.ts';
import { type AuthRequest, type EvaluateOptions, evaluate } from './evaluate.ts';
import { DEPLOY_OPTIONS } from './options.ts';
import { authorizationRequests } from './requests.ts';

export { DEPLOY_OPTIONS };

export interface Role {
  name: string;
  statements: PolicyStatement[];
  /** The calls this role signs (default: all of them). */
  signs?: (request: AuthRequest) => boolean;
}

/**
 * The clients a fleet worker builds from the member role's credentials (shared/fleet/credentials.ts
 * memberClientsFor); the pause flag, state table, secrets and reports stay with the central role.
 */
export const MEMBER_CLIENTS: readonly string[] = MEMBER_SERVICES;

/** The deployed roles of these functions for this configuration. */
export function functionRoles(
  fns: FunctionName[],
  config: Config,
  o: DeployOptions = DEPLOY_OPTIONS,
): Role[] {
  return fns.map((fn) => ({ name: fn, statements: statementsFor(fn, config, o) as PolicyStatement[] }));
}

/** The fleet member role (shared/deploy/member-role.ts) for this configuration. */
export function memberRole(config: Config): Role {
  return {
    name: 'db-autopilot-member',
    statements: memberStatements(config) as PolicyStatement[],
    signs: (r) => MEMBER_CLIENTS.includes(r.client),
  };
}

/** Statements as the generator types them, for tests that build one by hand. */
export const asPolicy = (s: Statement[]): PolicyStatement[] => s as PolicyStatement[];

/** Records the authorization requests of every call made until `stop()`. */
export function recordAuthorization(sim: SimAccount): { requests: AuthRequest[]; stop: () => void } {
  const requests: AuthRequest[] = [];
  const stop = sim.observeCalls((call) => requests.push(...authorizationRequests(sim, call)));
  return { requests, stop };
}

/** Runs `fn` while recording (the observation stops even when it throws). */
export async function recording<T>(
  sim: SimAccount,
  fn: () => Promise<T>,
): Promise<{ result: T; requests: AuthRequest[] }> {
  const rec = recordAuthorization(sim);
  try {
    return { result: await fn(), requests: rec.requests };
  } finally {
    rec.stop();
  }
}

/** "role: action on resource (call)" for every request a role would deny (deduplicated). */
export function denials(requests: AuthRequest[], roles: Role[], options: EvaluateOptions = {}): string[] {
  const out = new Set<string>();
  for (const role of roles) {
    for (const r of requests) {
      if (role.signs && !role.signs(r)) continue;
      if (!evaluate(role.statements, r, options).allowed)
        out.add(`${role.name}: ${r.action} on ${r.resource} (${r.call}) ${JSON.stringify(r.context)}`);
    }
  }
  return [...out].sort();
}
