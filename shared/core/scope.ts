import { AsyncLocalStorage } from 'node:async_hooks';
import type { AwsClients } from '../aws/clients.ts';

/**
 * The account and Region a piece of work is about (issue 27, fleets).
 *
 * A deployment tunes its own account and Region (scope `home`) and, with a `fleet` section in the
 * config, member accounts and Regions through the `db-autopilot-member` role (shared/fleet/). Work
 * for a member scope runs inside `runInScope`: for its duration, and only for the async calls it
 * makes, `aws()` returns the member's clients for the tuned services (the central account's own
 * SSM pause flags, SNS topic and state table stay), the state table's keys carry the scope
 * (`<owner>#<account>.<region>#...`, shared/state/keys.ts) and the pause flag of its account is
 * read besides the global one. Outside any scope everything is `home`, exactly as before.
 */
export interface FleetScope {
  /** 12-digit AWS account id. */
  account: string;
  region: string;
}

/** The scope of a deployment's own account and Region. */
export const HOME_SCOPE = 'home';

/** The services a member scope reaches in the member account; the others stay the central ones. */
export const MEMBER_SERVICES = [
  'rds',
  'dynamodb',
  'cloudwatch',
  'tagging',
  'autoscaling',
  'route53',
  'pi',
] as const satisfies ReadonlyArray<keyof AwsClients>;

export type MemberClients = Pick<AwsClients, (typeof MEMBER_SERVICES)[number]>;

interface ScopeContext {
  scope: FleetScope;
  key: string;
  clients: Partial<MemberClients>;
}

const current = new AsyncLocalStorage<ScopeContext>();

/** `<account>.<region>` (the scope part of the state table's keys). */
export function scopeKey(scope: FleetScope | undefined): string {
  return scope ? `${scope.account}.${scope.region}` : HOME_SCOPE;
}

const SCOPE_KEY = /^(\d{12})\.([a-z]{2}(?:-[a-z]+)+-\d)$/;

/** The scope a key names, or undefined for `home` (or anything that is not a scope key). */
export function parseScopeKey(key: string): FleetScope | undefined {
  const m = SCOPE_KEY.exec(key);
  return m ? { account: m[1] as string, region: m[2] as string } : undefined;
}

/** Runs `fn` for one member scope: its clients, its keys, its account's pause flag. */
export function runInScope<T>(
  scope: FleetScope,
  clients: Partial<MemberClients>,
  fn: () => Promise<T>,
): Promise<T> {
  const own = { account: scope.account, region: scope.region };
  return current.run({ scope: own, key: scopeKey(own), clients }, fn);
}

/** The member scope of the work in progress, or undefined at home. */
export function currentScope(): FleetScope | undefined {
  const ctx = current.getStore();
  return ctx ? { ...ctx.scope } : undefined;
}

/** The scope part of the state table's keys for the work in progress (`home` outside any scope). */
export function currentScopeKey(): string {
  return current.getStore()?.key ?? HOME_SCOPE;
}

/** The member clients of the work in progress (aws() lays them over the central ones). */
export function scopeClients(): Partial<MemberClients> | undefined {
  return current.getStore()?.clients;
}
