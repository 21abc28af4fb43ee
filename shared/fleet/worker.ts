/**
 * What a fleet unit needs, wired once per run: the member credentials (one AssumeRole per account
 * and run, shared by the run's units in this process), the member clients per scope, the tuners
 * (the registry's own runs) and the state table. The Lambda function (functions/fleet-worker.ts)
 * uses the real STS and SDK clients; the bench and the tests pass the simulated fleet's.
 */
import type { STSClient } from '@aws-sdk/client-sts';
import type { StateStore } from '../core/contracts.ts';
import type { TunerName } from '../core/model.ts';
import type { FleetScope, MemberClients } from '../core/scope.ts';
import { loadTuner } from '../tuners/registry.ts';
import {
  MemberCredentialCache,
  type MemberCredentials,
  memberClientsFor,
  sessionName,
} from './credentials.ts';
import type { UnitDeps } from './unit.ts';

export interface UnitDepsInput {
  sts: STSClient;
  externalId: string;
  runId: string;
  store: StateStore;
  now: () => Date;
  /** Default: real SDK clients from the credentials, one set per (account, Region, credentials). */
  clientsFor?: (scope: FleetScope, credentials: MemberCredentials) => MemberClients;
  remainingMs?: () => number;
}

export interface RunUnitDeps extends UnitDeps {
  cache: MemberCredentialCache;
}

export async function tunerRun(name: TunerName) {
  const registration = await loadTuner(name);
  if (!registration) throw new Error(`no tuner named ${name} is registered`);
  return registration.run;
}

/** Member clients cached per scope and credentials (a renewed session gets new clients). */
function cachedRealClients(): (scope: FleetScope, credentials: MemberCredentials) => MemberClients {
  const cache = new Map<string, { credentials: MemberCredentials; clients: MemberClients }>();
  return (scope, credentials) => {
    const key = `${scope.account}.${scope.region}`;
    const hit = cache.get(key);
    if (hit && hit.credentials === credentials) return hit.clients;
    const clients = memberClientsFor(scope, credentials);
    cache.set(key, { credentials, clients });
    return clients;
  };
}

export function unitDeps(input: UnitDepsInput): RunUnitDeps {
  const cache = new MemberCredentialCache(input.sts, input.externalId, sessionName(input.runId), input.now);
  return {
    cache,
    credentials: (account) => cache.get(account),
    clientsFor: input.clientsFor ?? cachedRealClients(),
    tuner: tunerRun,
    store: input.store,
    now: input.now,
    ...(input.remainingMs ? { remainingMs: input.remainingMs } : {}),
  };
}
